package dev.cowfs.engine.btree;

import dev.cowfs.engine.device.SimulatedDevice;
import dev.cowfs.engine.device.VerifiedBlocks;
import dev.cowfs.engine.format.BlockRef;
import dev.cowfs.engine.format.Limits;
import dev.cowfs.engine.space.ReaderRegistry;
import dev.cowfs.engine.space.SpaceAllocator;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The B-tree's shape under inserts and deletes, at the btree package's own level (an allocator, a context, no
 * store): leaves split and the root grows a level; deletes merge underfull nodes and the root shrinks back; every
 * node but the root stays at least a quarter full, and every key stays where a cursor finds it, in order.
 */
class BTreeShapeTest {
    private static final int BLOCK = 4096;
    private static final long TREE = Limits.FIRST_USER_TREE_ID;

    private final SimulatedDevice device = new SimulatedDevice();
    private final NodeReader reader = new NodeReader(device, BLOCK, new VerifiedBlocks());
    private final SpaceAllocator allocator = new SpaceAllocator(device, BLOCK, 1, new ReaderRegistry(), null);

    private static byte[] key(int i) {
        return String.format("key-%08d", i).getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] value(int i) {
        byte[] value = new byte[60];
        new Random(i).nextBytes(value);
        return value;
    }

    /** What a walk of the written tree finds: its height, its nodes' fill, and its entries in order. */
    private record Shape(int height, int nodes, int underfullNonRoot, List<byte[]> keys) {
    }

    private Shape walk(BlockRef root) throws IOException {
        NodeView view = new NodeView();
        reader.read(root, TREE, -1, view);
        int height = view.level() + 1;
        List<byte[]> keys = new ArrayList<>();
        int[] counts = new int[2];
        walk(root, view.level(), true, keys, counts);
        return new Shape(height, counts[0], counts[1], keys);
    }

    private void walk(BlockRef ref, int level, boolean isRoot, List<byte[]> keys, int[] counts) throws IOException {
        NodeView view = new NodeView();
        reader.read(ref, TREE, level, view);
        counts[0]++;
        int used = 0;
        for (int i = 0; i < view.count(); i++) {
            used += view.keyLength(i) + (view.isLeaf() ? view.storedValue(i).length : 24);
        }
        if (!isRoot && used < BLOCK / 4 - 200) {
            counts[1]++;
        }
        List<BlockRef> children = new ArrayList<>();
        for (int i = 0; i < view.count(); i++) {
            if (view.isLeaf()) {
                keys.add(view.key(i));
            } else {
                children.add(view.childRef(i));
            }
        }
        for (BlockRef child : children) {
            walk(child, level - 1, false, keys, counts);
        }
    }

    @Test
    void leavesSplitTheRootGrowsAndDeletesMergeItBack() throws IOException {
        TreeContext ctx = new TreeContext(1, allocator, reader);
        BTree tree = BTree.create(TREE, ctx);
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < 6000; i++) {
            order.add(i);
        }
        Collections.shuffle(order, new Random(42));
        TreeMap<String, Integer> model = new TreeMap<>();
        for (int i : order) {
            tree.put(key(i), value(i));
            model.put(new String(key(i), StandardCharsets.UTF_8), i);
        }
        Shape grown = walk(tree.flush());
        assertTrue(grown.height() >= 3, "6,000 entries of ~80 bytes need three levels of 4 KiB nodes: "
                + grown.height());
        assertEquals(0, grown.underfullNonRoot(), "random inserts leave no node but the root under a quarter full");
        assertTrue(grown.nodes() < 6000 * 90 / (BLOCK / 3), "nodes " + grown.nodes() + " for 6,000 entries");
        assertInOrder(model, grown.keys());

        for (int n = 0; n < 5990; n++) {
            int i = order.get(n);
            assertTrue(tree.delete(key(i)), "key " + i);
            model.remove(new String(key(i), StandardCharsets.UTF_8));
        }
        Shape shrunk = walk(tree.flush());
        assertEquals(1, shrunk.height(), "ten entries left: one leaf, the root");
        assertInOrder(model, shrunk.keys());
        for (var entry : model.entrySet()) {
            assertArrayEquals(value(entry.getValue()), tree.get(entry.getKey().getBytes(StandardCharsets.UTF_8)));
        }
    }

    @Test
    void deletingSevenKeysInEightMergesNodesButKeepsTheRest() throws IOException {
        TreeContext ctx = new TreeContext(1, allocator, reader);
        BTree tree = BTree.create(TREE, ctx);
        TreeMap<String, Integer> model = new TreeMap<>();
        for (int i = 0; i < 4000; i++) { // ascending: the append path splits leaves full
            tree.put(key(i), value(i));
            model.put(new String(key(i), StandardCharsets.UTF_8), i);
        }
        Shape full = walk(tree.flush());
        for (int i = 0; i < 4000; i++) {
            if (i % 8 != 0) {
                tree.delete(key(i));
                model.remove(new String(key(i), StandardCharsets.UTF_8));
            }
        }
        Shape thinned = walk(tree.flush());
        assertEquals(0, thinned.underfullNonRoot(), "underfull nodes are merged with or refilled from a sibling");
        assertTrue(thinned.nodes() < full.nodes() / 2, "seven eighths deleted: nodes " + full.nodes() + " -> "
                + thinned.nodes());
        assertInOrder(model, thinned.keys());
    }

    private static void assertInOrder(TreeMap<String, Integer> model, List<byte[]> keys) {
        List<String> found = new ArrayList<>();
        for (byte[] key : keys) {
            found.add(new String(key, StandardCharsets.UTF_8));
        }
        assertEquals(new ArrayList<>(model.keySet()), found, "every key, once, in order");
    }
}
