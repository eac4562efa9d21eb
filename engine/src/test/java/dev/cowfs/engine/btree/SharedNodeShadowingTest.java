package dev.cowfs.engine.btree;

import dev.cowfs.engine.ReadTransaction;
import dev.cowfs.engine.SpaceUse;
import dev.cowfs.engine.Store;
import dev.cowfs.engine.StoreOptions;
import dev.cowfs.engine.WriteTransaction;
import dev.cowfs.engine.device.SimulatedDevice;
import dev.cowfs.engine.device.VerifiedBlocks;
import dev.cowfs.engine.format.BlockRef;
import dev.cowfs.engine.format.TreeIds;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Shadowing of shared nodes (DESIGN invariant 7): after a clone, a change to either tree copies exactly the path
 * from its root to the changed leaf; every other node stays shared, and each tree sees only its own changes. The
 * strict checker runs after every commit, so the reference counts behind the sharing are proved too.
 */
class SharedNodeShadowingTest {
    private static final long A = TreeIds.DEFAULT + 1;
    private static final long B = A + 1;

    private static byte[] key(int i) {
        return String.format("key-%06d", i).getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void aChangeAfterACloneCopiesOnlyItsPath() throws IOException {
        try (Store store = Store.create(new SimulatedDevice(), StoreOptions.builder().checkAfterCommit(true).build())) {
            try (WriteTransaction txn = store.beginWrite()) {
                txn.createTree(A);
                for (int i = 0; i < 20_000; i++) {
                    txn.put(A, key(i), new byte[40]);
                }
                txn.commit();
            }
            SpaceUse alone = space(store, A);
            int height = height(store, A);
            assertTrue(height >= 3, "20,000 entries need a root, branches and leaves: " + height);
            try (WriteTransaction txn = store.beginWrite()) {
                txn.cloneTree(A, B);
                txn.commit();
            }
            SpaceUse cloned = space(store, B);
            assertEquals(alone.referencedBlocks(), cloned.referencedBlocks());
            assertEquals(0, cloned.exclusiveBlocks(), "a fresh clone shares every node");

            try (WriteTransaction txn = store.beginWrite()) {
                txn.put(B, key(12_345), new byte[] {7});
                txn.commit();
            }
            SpaceUse a = space(store, A);
            SpaceUse b = space(store, B);
            assertEquals(height, b.exclusiveBlocks(), "the clone copied its root-to-leaf path, nothing else");
            assertEquals(height, a.exclusiveBlocks(), "the source alone holds the old path");
            assertEquals(alone.referencedBlocks() - height, b.sharedBlocks());

            try (WriteTransaction txn = store.beginWrite()) {
                txn.put(A, key(1), new byte[] {8});
                txn.commit();
            }
            try (ReadTransaction read = store.beginRead()) {
                assertArrayEquals(new byte[] {7}, read.get(B, key(12_345)));
                assertArrayEquals(new byte[40], read.get(A, key(12_345)), "the source does not see the clone's write");
                assertArrayEquals(new byte[] {8}, read.get(A, key(1)));
                assertArrayEquals(new byte[40], read.get(B, key(1)), "the clone does not see the source's write");
                SpaceUse bothChanged = read.treeSpace(A);
                assertTrue(bothChanged.exclusiveBlocks() <= 2 * height, "two paths at most: " + bothChanged);
            }
        }
    }

    /** Levels of the committed tree: its root's level plus one. */
    private static int height(Store store, long tree) throws IOException {
        NodeReader reader = new NodeReader(store.device(), store.blockSizeBytes(), new VerifiedBlocks());
        NodeView view = new NodeView();
        byte[] root = TreeSearch.get(reader, store.superblock().catalogRoot(), TreeIds.CATALOG,
                TreeIds.catalogKey(tree), view);
        reader.read(BlockRef.decode(root, 0), tree, -1, view);
        return view.level() + 1;
    }

    private static SpaceUse space(Store store, long tree) throws IOException {
        try (ReadTransaction read = store.beginRead()) {
            return read.treeSpace(tree);
        }
    }
}
