package dev.cowfs.engine;

import dev.cowfs.engine.device.SimulatedDevice;
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
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Trees nested in entries of user trees (a file's extent tree in a subvolume): an O(1) clone of one entry's
 * nested tree, snapshots (clones) of the parent tree sharing them, changes copying only their own path, and
 * deleting an entry releasing its nested tree over later commits. Strict mode: reference counts and space
 * figures checked after every commit.
 */
class NestedTreesTest {
    static byte[] key(int i) {
        return String.format("n%04d", i).getBytes();
    }

    static byte[] inner(int i) {
        return String.format("inner-%06d", i).getBytes();
    }

    @Test
    void cloningANestedTreeCostsTheSameForAnySize() throws Exception {
        long[] writes = new long[2];
        int[] sizes = {1, 100_000};
        for (int s = 0; s < 2; s++) {
            SimulatedDevice device = new SimulatedDevice();
            try (Store store = Store.create(device, StoreOptions.defaults())) {
                try (WriteTransaction txn = store.beginWrite()) {
                    txn.createTree(300);
                    NestedTree nested = txn.nestedTree(300, key(1));
                    for (int i = 0; i < sizes[s]; i++) {
                        nested.put(inner(i), new byte[30]);
                    }
                    txn.commit();
                }
                try (WriteTransaction txn = store.beginWrite()) {
                    txn.cloneNestedTree(300, key(1), 300, key(2));
                    device.clearLog();
                    device.setRecording(true);
                    txn.commit();
                    device.setRecording(false);
                    writes[s] = device.log().stream()
                            .filter(op -> op instanceof SimulatedDevice.Write write && !write.isGrowth()).count();
                }
                try (ReadTransaction read = store.beginRead()) {
                    Cursor cursor = read.nestedCursor(300, key(2));
                    int count = 0;
                    for (boolean ok = cursor.first(); ok; ok = cursor.next()) {
                        count++;
                    }
                    assertEquals(sizes[s], count);
                }
            }
        }
        assertEquals(writes[0], writes[1], "blocks written by a nested clone's commit, 1 vs 100k entries");
    }

    enum Kind { PUT, BULK_PUT, DELETE, CLONE_NESTED, DELETE_ENTRY, SNAPSHOT_PARENT, DROP_PARENT, COMMIT, REOPEN }

    record Op(Kind kind, int tree, int entry, int other, int key) {
    }

    @Provide
    Arbitrary<List<Op>> operations() {
        Arbitrary<Kind> kinds = Arbitraries.frequencyOf(
                Tuple.of(40, Arbitraries.just(Kind.PUT)),
                Tuple.of(4, Arbitraries.just(Kind.BULK_PUT)),
                Tuple.of(10, Arbitraries.just(Kind.DELETE)),
                Tuple.of(6, Arbitraries.just(Kind.CLONE_NESTED)),
                Tuple.of(4, Arbitraries.just(Kind.DELETE_ENTRY)),
                Tuple.of(3, Arbitraries.just(Kind.SNAPSHOT_PARENT)),
                Tuple.of(2, Arbitraries.just(Kind.DROP_PARENT)),
                Tuple.of(8, Arbitraries.just(Kind.COMMIT)),
                Tuple.of(2, Arbitraries.just(Kind.REOPEN)));
        Arbitrary<Op> op = Combinators.combine(kinds, Arbitraries.integers().between(0, 2),
                Arbitraries.integers().between(0, 3), Arbitraries.integers().between(0, 3),
                Arbitraries.integers().between(0, 400)).as(Op::new);
        return op.list().ofMinSize(10).ofMaxSize(250);
    }

    /** Model: tree -> entry -> nested contents. */
    @Property(tries = 60)
    void nestedTreesMatchTheirModel(@ForAll("operations") List<Op> ops) throws IOException {
        Run run = new Run();
        try {
            for (Op op : ops) {
                run.apply(op);
            }
            run.finish();
        } finally {
            run.txn.abort();
            run.store.close();
        }
    }

    /** A store driven by the operations beside its model. */
    private static final class Run {
        private final StoreOptions options = StoreOptions.builder().checkAfterCommit(true).dropReferencesPerCommit(50)
                .build();
        private final Random random = new Random(1);
        private SimulatedDevice device = new SimulatedDevice();
        private Map<Long, Map<Integer, TreeMap<String, Integer>>> model = new TreeMap<>();
        private Map<Long, Map<Integer, TreeMap<String, Integer>>> committed = new TreeMap<>();
        private Store store;
        private WriteTransaction txn;

        Run() throws IOException {
            store = Store.create(device, options);
            txn = store.beginWrite();
        }

        void apply(Op op) throws IOException {
            long tree = 500 + op.tree();
            switch (op.kind()) {
                case PUT, BULK_PUT, DELETE -> applyEntryChange(op, tree);
                case CLONE_NESTED, DELETE_ENTRY, SNAPSHOT_PARENT, DROP_PARENT -> applyTreeChange(op, tree);
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
                    store = Store.open(device, options);
                    model = copy(committed);
                    txn = store.beginWrite();
                    compare(txn, model);
                }
            }
        }

        private void applyEntryChange(Op op, long tree) throws IOException {
            switch (op.kind()) {
                case PUT -> {
                    ensureTree(tree);
                    int size = random.nextInt(10) == 0 ? 3000 : 20;
                    txn.nestedTree(tree, key(op.entry())).put(inner(op.key()), new byte[size]);
                    model.get(tree).computeIfAbsent(op.entry(), k -> new TreeMap<>())
                            .put(new String(inner(op.key())), size);
                }
                case BULK_PUT -> { // enough keys for nested trees of two or three levels
                    ensureTree(tree);
                    NestedTree nested = txn.nestedTree(tree, key(op.entry()));
                    var contents = model.get(tree).computeIfAbsent(op.entry(), k -> new TreeMap<>());
                    for (int i = 0; i < 400; i++) {
                        int k = (op.key() * 7 + i * 13) % 2000;
                        nested.put(inner(k), new byte[40]);
                        contents.put(new String(inner(k)), 40);
                    }
                }
                default -> { // DELETE
                    var entries = model.get(tree);
                    if (entries != null && entries.containsKey(op.entry())) {
                        boolean expected = entries.get(op.entry()).remove(new String(inner(op.key()))) != null;
                        assertEquals(expected, txn.nestedTree(tree, key(op.entry())).delete(inner(op.key())));
                    }
                }
            }
        }

        private void ensureTree(long tree) throws IOException {
            if (!model.containsKey(tree)) {
                txn.createTree(tree);
                model.put(tree, new TreeMap<>());
            }
        }

        private void applyTreeChange(Op op, long tree) throws IOException {
            var entries = model.get(tree);
            switch (op.kind()) {
                case CLONE_NESTED -> {
                    if (entries != null && entries.containsKey(op.entry()) && op.entry() != op.other()) {
                        txn.cloneNestedTree(tree, key(op.entry()), tree, key(op.other()));
                        entries.put(op.other(), new TreeMap<>(entries.get(op.entry())));
                    }
                }
                case DELETE_ENTRY -> {
                    if (entries != null && entries.remove(op.entry()) != null) {
                        assertTrue(txn.delete(tree, key(op.entry())));
                    }
                }
                case SNAPSHOT_PARENT -> {
                    long target = 500 + op.other() % 3;
                    if (model.containsKey(tree) && !model.containsKey(target)) {
                        txn.cloneTree(tree, target);
                        model.put(target, copyEntries(model.get(tree)));
                    }
                }
                default -> { // DROP_PARENT
                    if (model.remove(tree) != null) {
                        txn.dropTree(tree);
                    }
                }
            }
        }

        /** Commits, compares, drops every tree and drains the drops: the image ends empty and checked. */
        void finish() throws IOException {
            txn.commit();
            txn = store.beginWrite();
            compare(txn, model);
            for (long tree : model.keySet()) {
                txn.dropTree(tree);
            }
            txn.commit();
            txn = store.beginWrite();
            txn.abort();
            SharedTreesTest.drainDrops(store);
        }
    }

    private static Map<Integer, TreeMap<String, Integer>> copyEntries(Map<Integer, TreeMap<String, Integer>> e) {
        Map<Integer, TreeMap<String, Integer>> copy = new TreeMap<>();
        e.forEach((k, v) -> copy.put(k, new TreeMap<>(v)));
        return copy;
    }

    private static Map<Long, Map<Integer, TreeMap<String, Integer>>> copy(
            Map<Long, Map<Integer, TreeMap<String, Integer>>> model) {
        Map<Long, Map<Integer, TreeMap<String, Integer>>> copy = new TreeMap<>();
        model.forEach((tree, entries) -> copy.put(tree, copyEntries(entries)));
        return copy;
    }

    private static void compare(WriteTransaction txn, Map<Long, Map<Integer, TreeMap<String, Integer>>> model)
            throws IOException {
        for (long tree = 500; tree < 503; tree++) {
            var entries = model.get(tree);
            assertEquals(entries != null, txn.hasTree(tree), "tree " + tree);
            if (entries == null) {
                continue;
            }
            for (int entry = 0; entry < 4; entry++) {
                TreeMap<String, Integer> expected = entries.get(entry);
                assertEquals(expected != null, txn.hasNestedTree(tree, key(entry)), "tree " + tree + " entry " + entry);
                if (expected == null) {
                    continue;
                }
                TreeMap<String, Integer> found = new TreeMap<>();
                Cursor cursor = txn.nestedTree(tree, key(entry)).cursor();
                for (boolean ok = cursor.first(); ok; ok = cursor.next()) {
                    found.put(new String(cursor.key()), cursor.value().length);
                }
                assertEquals(expected, found, "tree " + tree + " entry " + entry);
            }
        }
    }
}
