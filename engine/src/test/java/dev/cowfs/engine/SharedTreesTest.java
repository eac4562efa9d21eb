package dev.cowfs.engine;

import dev.cowfs.engine.check.CheckReport;
import dev.cowfs.engine.device.SimulatedDevice;
import dev.cowfs.engine.format.SuperblockLayout;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Trees that share nodes (Rodeh's lazy reference counting): a clone costs O(1), a change to either side copies
 * only the path it touches, dropping either side keeps the other whole, and dropping a large tree spreads over
 * commits. Strict mode runs the checker after every commit: reference counts must equal the references the
 * walk finds, across all trees.
 */
class SharedTreesTest {
    private static final long SOURCE = 300;
    private static final long COPY = 301;

    static StoreOptions strict() {
        return StoreOptions.builder().checkAfterCommit(true).build();
    }

    static byte[] key(int i) {
        return String.format("key-%08d", i).getBytes();
    }

    static byte[] value(int i, int version) {
        return ("value-" + i + "-v" + version).getBytes();
    }

    private static void fill(Store store, long tree, int keys) throws IOException {
        try (WriteTransaction txn = store.beginWrite()) {
            txn.createTree(tree);
            for (int i = 0; i < keys; i++) {
                txn.put(tree, key(i), value(i, 0));
            }
            txn.commit();
        }
    }

    private static long writesOfNextCommit(SimulatedDevice device, WriteTransaction txn) throws IOException {
        device.clearLog();
        device.setRecording(true);
        txn.commit();
        device.setRecording(false);
        return device.log().stream()
                .filter(op -> op instanceof SimulatedDevice.Write write && !write.isGrowth()).count();
    }

    @Test
    void cloneCostsTheSameForAnySizeAndSharesEveryNode() throws Exception {
        long[] writes = new long[2];
        int[] sizes = {10, 100_000};
        for (int s = 0; s < sizes.length; s++) {
            SimulatedDevice device = new SimulatedDevice();
            try (Store store = Store.create(device, StoreOptions.defaults())) {
                fill(store, SOURCE, sizes[s]);
                try (WriteTransaction txn = store.beginWrite()) {
                    txn.cloneTree(SOURCE, COPY);
                    writes[s] = writesOfNextCommit(device, txn);
                }
                try (ReadTransaction read = store.beginRead()) {
                    for (int i = 0; i < sizes[s]; i += 997) {
                        assertArrayEquals(value(i, 0), read.get(COPY, key(i)));
                    }
                }
                assertTrue((store.superblock().incompatFeatures() & SuperblockLayout.INCOMPAT_SHARED_TREES) != 0);
            }
        }
        // Catalog, reference-count and space tree paths, far copy and superblock: no node of the tree itself.
        assertEquals(writes[0], writes[1], "blocks written by the clone's commit, 10 keys vs 100k keys");
        assertTrue(writes[1] <= 12, "clone commit wrote " + writes[1] + " blocks");
    }

    @Test
    void changesToEitherSideStayOnThatSide() throws Exception {
        try (Store store = Store.create(new SimulatedDevice(), strict())) {
            fill(store, SOURCE, 5_000);
            try (WriteTransaction txn = store.beginWrite()) {
                txn.cloneTree(SOURCE, COPY);
                txn.put(SOURCE, key(7), value(7, 1));
                txn.delete(COPY, key(8));
                txn.put(COPY, key(9_999), value(9_999, 2));
                assertArrayEquals(value(8, 0), txn.get(SOURCE, key(8)));
                assertArrayEquals(value(7, 0), txn.get(COPY, key(7)));
                txn.commit();
            }
            try (ReadTransaction read = store.beginRead()) {
                assertArrayEquals(value(7, 1), read.get(SOURCE, key(7)));
                assertArrayEquals(value(7, 0), read.get(COPY, key(7)));
                assertArrayEquals(value(8, 0), read.get(SOURCE, key(8)));
                assertNull(read.get(COPY, key(8)));
                assertNull(read.get(SOURCE, key(9_999)));
                assertArrayEquals(value(9_999, 2), read.get(COPY, key(9_999)));
            }
        }
    }

    @Test
    void aChangeToASharedTreeCopiesOnlyThePathAboveIt() throws Exception {
        SimulatedDevice device = new SimulatedDevice();
        try (Store store = Store.create(device, StoreOptions.defaults())) {
            fill(store, SOURCE, 200_000); // three levels
            try (WriteTransaction txn = store.beginWrite()) {
                txn.cloneTree(SOURCE, COPY);
                txn.commit();
            }
            long sharedWrites;
            try (WriteTransaction txn = store.beginWrite()) {
                txn.put(SOURCE, key(123_456), value(123_456, 1));
                sharedWrites = writesOfNextCommit(device, txn);
            }
            long unsharedWrites; // the same change once the path is the source's own
            try (WriteTransaction txn = store.beginWrite()) {
                txn.put(SOURCE, key(123_457), value(123_457, 1));
                unsharedWrites = writesOfNextCommit(device, txn);
            }
            // Copying a shared node raises the counts of its children: the reference-count tree's path changes
            // too, a few blocks more than the same change to an unshared path, and nothing in proportion to size.
            assertTrue(sharedWrites <= unsharedWrites + 4,
                    "shared path change wrote " + sharedWrites + " blocks, unshared " + unsharedWrites);
            try (ReadTransaction read = store.beginRead()) {
                assertArrayEquals(value(123_456, 0), read.get(COPY, key(123_456)));
                assertArrayEquals(value(123_456, 1), read.get(SOURCE, key(123_456)));
            }
        }
    }

    @Test
    void droppingEitherSideKeepsTheOtherWholeAndTheLastReleasesEverything() throws Exception {
        SimulatedDevice device = new SimulatedDevice();
        try (Store store = Store.create(device, strict())) {
            long emptyUsed = usedBlocks(store);
            fill(store, SOURCE, 30_000);
            try (WriteTransaction txn = store.beginWrite()) {
                txn.cloneTree(SOURCE, COPY);
                txn.put(COPY, key(1), value(1, 1));
                txn.commit();
            }
            try (WriteTransaction txn = store.beginWrite()) {
                txn.dropTree(SOURCE);
                assertFalse(txn.hasTree(SOURCE));
                txn.commit();
            }
            try (ReadTransaction read = store.beginRead()) {
                for (int i = 0; i < 30_000; i++) {
                    assertArrayEquals(value(i, i == 1 ? 1 : 0), read.get(COPY, key(i)));
                }
            }
            try (WriteTransaction txn = store.beginWrite()) {
                txn.dropTree(COPY);
                txn.commit();
            }
            drainDrops(store);
            assertEquals(emptyUsed, usedBlocks(store));
            assertFalse(hasReferenceTree(store), "nothing is shared: the reference-count tree is gone");
        }
    }

    @Test
    void aLargeDropSpreadsOverCommitsAndResumesAfterReopen() throws Exception {
        SimulatedDevice device = new SimulatedDevice();
        byte[] large = new byte[6000];
        new Random(3).nextBytes(large);
        StoreOptions options = strict().toBuilder().dropReferencesPerCommit(100).build();
        try (Store store = Store.create(device, options)) {
            try (WriteTransaction txn = store.beginWrite()) {
                txn.createTree(SOURCE);
                for (int i = 0; i < 40_000; i++) {
                    txn.put(SOURCE, key(i), i % 50 == 0 ? large : value(i, 0));
                }
                txn.commit();
            }
            try (WriteTransaction txn = store.beginWrite()) {
                txn.dropTree(SOURCE);
                txn.commit();
            }
            try (WriteTransaction txn = store.beginWrite()) {
                assertTrue(txn.hasDroppedTrees(), "one commit released the whole tree");
            }
        }
        // Reopen from the image mid-drop: the progress saved in the catalog carries on.
        try (Store store = Store.open(SimulatedDevice.ofImage(device.image()), options)) {
            int commits = drainDrops(store);
            assertTrue(commits >= 5, commits + " more commits");
        }
    }

    static int drainDrops(Store store) throws IOException {
        int commits = 0;
        while (true) {
            try (WriteTransaction txn = store.beginWrite()) {
                if (!txn.hasDroppedTrees()) {
                    break;
                }
                txn.commit();
                commits++;
            }
        }
        // Let the ring pass so that pending-free blocks become free.
        for (int i = 0; i < 6; i++) {
            try (WriteTransaction txn = store.beginWrite()) {
                txn.put(key(0), value(0, i));
                txn.commit();
            }
        }
        try (WriteTransaction txn = store.beginWrite()) {
            txn.delete(key(0));
            txn.commit();
        }
        return commits;
    }

    /** Blocks below the high-water mark that are neither free, pending-free nor reserved. */
    static long usedBlocks(Store store) throws IOException {
        CheckReport report = StoreAudit.check(store);
        assertTrue(report.isClean(), report.summary());
        return report.reachableBlocks();
    }

    static boolean hasReferenceTree(Store store) throws IOException {
        try (ReadTransaction read = store.beginRead()) {
            return read.hasTree(dev.cowfs.engine.format.TreeIds.REFS);
        }
    }

    // ------------------------------------------------------------------ model-based

    enum Kind { PUT, PUT_LARGE, DELETE, CLONE, DROP, COMMIT, REOPEN }

    record Op(Kind kind, int tree, int key, int seed) {
    }

    @Provide
    Arbitrary<List<Op>> operations() {
        Arbitrary<Kind> kinds = Arbitraries.frequencyOf(
                Tuple.of(40, Arbitraries.just(Kind.PUT)),
                Tuple.of(4, Arbitraries.just(Kind.PUT_LARGE)),
                Tuple.of(15, Arbitraries.just(Kind.DELETE)),
                Tuple.of(4, Arbitraries.just(Kind.CLONE)),
                Tuple.of(3, Arbitraries.just(Kind.DROP)),
                Tuple.of(8, Arbitraries.just(Kind.COMMIT)),
                Tuple.of(2, Arbitraries.just(Kind.REOPEN)));
        Arbitrary<Op> op = Combinators.combine(kinds, Arbitraries.integers().between(0, 5),
                Arbitraries.integers().between(0, 3000), Arbitraries.integers()).as(Op::new);
        return op.list().ofMinSize(10).ofMaxSize(200);
    }

    /** A put, delete, clone or drop, in the transaction and in the model. */
    private static void applyChange(WriteTransaction txn, Map<Long, TreeMap<String, byte[]>> model, long tree, String k,
                                    Op op) throws IOException {
        switch (op.kind()) {
            case PUT, PUT_LARGE -> {
                if (!model.containsKey(tree)) {
                    txn.createTree(tree);
                    model.put(tree, new TreeMap<>());
                }
                byte[] v = op.kind() == Kind.PUT ? value(op.key(), op.seed())
                        : new byte[5000 + Math.floorMod(op.seed(), 3000)];
                if (op.kind() == Kind.PUT_LARGE) {
                    new Random(op.seed()).nextBytes(v);
                }
                txn.put(tree, k.getBytes(), v);
                model.get(tree).put(k, v);
            }
            case DELETE -> {
                if (model.containsKey(tree)) {
                    assertEquals(model.get(tree).remove(k) != null, txn.delete(tree, k.getBytes()));
                }
            }
            case CLONE -> {
                long target = 1000 + Math.floorMod(op.seed(), 6);
                if (model.containsKey(tree) && !model.containsKey(target)) {
                    txn.cloneTree(tree, target);
                    model.put(target, new TreeMap<>(model.get(tree)));
                }
            }
            case DROP -> {
                if (model.remove(tree) != null) {
                    txn.dropTree(tree);
                }
            }
            default -> throw new IllegalArgumentException(op.kind() + " is no change");
        }
    }

    /**
     * Puts, deletes, clones and drops over up to six trees against one TreeMap per tree; after every commit and
     * at the end each tree matches its model; dropping every tree then releases every block they held.
     */
    @Property(tries = 60)
    void treesWithClonesAndDropsMatchTheirModels(@ForAll("operations") List<Op> ops) throws IOException {
        SimulatedDevice device = new SimulatedDevice();
        Map<Long, TreeMap<String, byte[]>> committed = new TreeMap<>();
        Map<Long, TreeMap<String, byte[]>> model = new TreeMap<>();
        Store store = Store.create(device, strict());
        long emptyUsed = usedBlocks(store);
        WriteTransaction txn = store.beginWrite();
        try {
            for (Op op : ops) {
                long tree = 1000 + op.tree();
                String k = new String(key(op.key()));
                switch (op.kind()) {
                    case PUT, PUT_LARGE, DELETE, CLONE, DROP -> applyChange(txn, model, tree, k, op);
                    case COMMIT -> {
                        txn.commit();
                        committed = copy(model);
                        txn = store.beginWrite();
                        compare(txn, model);
                    }
                    case REOPEN -> {
                        txn.abort();
                        store.close();
                        device = SimulatedDevice.ofImage(device.image());
                        store = Store.open(device, strict());
                        model = copy(committed);
                        txn = store.beginWrite();
                        compare(txn, model);
                    }
                }
            }
            txn.commit();
            txn = store.beginWrite();
            compare(txn, model);
            for (long tree : model.keySet()) {
                txn.dropTree(tree);
            }
            txn.commit();
            drainDrops(store);
            assertEquals(emptyUsed, usedBlocks(store), "blocks left after dropping all");
        } finally {
            txn.abort();
            store.close();
        }
    }

    private static Map<Long, TreeMap<String, byte[]>> copy(Map<Long, TreeMap<String, byte[]>> model) {
        Map<Long, TreeMap<String, byte[]>> copy = new TreeMap<>();
        model.forEach((tree, entries) -> copy.put(tree, new TreeMap<>(entries)));
        return copy;
    }

    private static void compare(WriteTransaction txn, Map<Long, TreeMap<String, byte[]>> model) throws IOException {
        for (long tree = 1000; tree < 1006; tree++) {
            TreeMap<String, byte[]> expected = model.get(tree);
            assertEquals(expected != null, txn.hasTree(tree), "tree " + tree);
            if (expected == null) {
                continue;
            }
            List<String> keys = new ArrayList<>();
            Cursor cursor = txn.cursor(tree);
            for (boolean more = cursor.first(); more; more = cursor.next()) {
                String k = new String(cursor.key());
                keys.add(k);
                assertTrue(Arrays.equals(expected.get(k), cursor.value()), "tree " + tree + " key " + k);
            }
            assertEquals(new ArrayList<>(expected.keySet()), keys, "keys of tree " + tree);
        }
    }

    @Test
    void cloneNeedsAnExistingSourceAndAFreeId() throws Exception {
        try (Store store = Store.create(new SimulatedDevice(), strict())) {
            fill(store, SOURCE, 3);
            try (WriteTransaction txn = store.beginWrite()) {
                txn.createTree(COPY);
                org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                        () -> txn.cloneTree(SOURCE, COPY));
                org.junit.jupiter.api.Assertions.assertThrows(java.util.NoSuchElementException.class,
                        () -> txn.cloneTree(999, 998));
                txn.abort();
            }
        }
    }
}
