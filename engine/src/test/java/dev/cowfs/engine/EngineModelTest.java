package dev.cowfs.engine;

import dev.cowfs.engine.device.SimulatedDevice;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Random;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Random operation sequences applied to the engine and to a TreeMap model: puts (small, large out-of-line,
 * sequential runs), deletes (single and ranges), commits, aborts, reopen from the image, readers pinned across
 * later commits, ranged forward and reverse scans. jqwik shrinks a failing sequence to a minimal one. Runs in
 * strict mode: the full checker after every commit and the write auditor.
 */
class EngineModelTest {
    enum Kind { PUT, PUT_LARGE, PUT_RUN, DELETE, DELETE_RUN, COMMIT, ABORT, REOPEN, OPEN_READER, CHECK_READERS,
        SCAN_FORWARD, SCAN_REVERSE }

    record Op(Kind kind, int key, int count, int seed) {
    }

    @Provide
    Arbitrary<List<Op>> operations() {
        Arbitrary<Kind> kinds = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(30, Arbitraries.just(Kind.PUT)),
                net.jqwik.api.Tuple.of(3, Arbitraries.just(Kind.PUT_LARGE)),
                net.jqwik.api.Tuple.of(4, Arbitraries.just(Kind.PUT_RUN)),
                net.jqwik.api.Tuple.of(12, Arbitraries.just(Kind.DELETE)),
                net.jqwik.api.Tuple.of(3, Arbitraries.just(Kind.DELETE_RUN)),
                net.jqwik.api.Tuple.of(6, Arbitraries.just(Kind.COMMIT)),
                net.jqwik.api.Tuple.of(2, Arbitraries.just(Kind.ABORT)),
                net.jqwik.api.Tuple.of(2, Arbitraries.just(Kind.REOPEN)),
                net.jqwik.api.Tuple.of(2, Arbitraries.just(Kind.OPEN_READER)),
                net.jqwik.api.Tuple.of(2, Arbitraries.just(Kind.CHECK_READERS)),
                net.jqwik.api.Tuple.of(2, Arbitraries.just(Kind.SCAN_FORWARD)),
                net.jqwik.api.Tuple.of(2, Arbitraries.just(Kind.SCAN_REVERSE)));
        Arbitrary<Op> op = Combinators.combine(kinds, Arbitraries.integers().between(0, 3000),
                Arbitraries.integers().between(1, 400), Arbitraries.integers()).as(Op::new);
        return op.list().ofMinSize(10).ofMaxSize(300).withSizeDistribution(net.jqwik.api.RandomDistribution.uniform());
    }

    static byte[] key(int k) {
        // Keys of varying length and shared prefixes, so separators and shortening are exercised.
        return ("key" + (k % 7 == 0 ? "/deep/prefix/" : "") + k).getBytes();
    }

    static byte[] value(int seed, int size) {
        byte[] value = new byte[size];
        new Random(seed).nextBytes(value);
        return value;
    }

    private static final class Harness implements AutoCloseable {
        SimulatedDevice device = new SimulatedDevice();
        Store store;
        WriteTransaction txn;
        NavigableMap<String, byte[]> committed = new TreeMap<>();
        NavigableMap<String, byte[]> pending = new TreeMap<>();
        List<Map.Entry<ReadTransaction, NavigableMap<String, byte[]>>> readers = new ArrayList<>();
        StoreOptions options = StoreOptions.builder().checkAfterCommit(true).dirtyCacheBytes(64 * 1024).build();

        Harness() throws IOException {
            store = Store.create(device, options);
        }

        WriteTransaction txn() throws IOException {
            if (txn == null) {
                txn = store.beginWrite();
                pending = new TreeMap<>(committed);
            }
            return txn;
        }

        void put(int k, byte[] value) throws IOException {
            WriteTransaction writer = txn();
            writer.put(key(k), value);
            pending.put(new String(key(k)), value);
        }

        void delete(int k) throws IOException {
            WriteTransaction writer = txn();
            boolean expected = pending.remove(new String(key(k))) != null;
            assertEquals(expected, writer.delete(key(k)), "delete " + k);
        }

        void apply(Op op) throws IOException {
            switch (op.kind()) {
                case PUT -> put(op.key(), value(op.seed(), Math.floorMod(op.seed(), 120)));
                case PUT_LARGE -> put(op.key(), value(op.seed(), 1000 + Math.floorMod(op.seed(), 9000)));
                case PUT_RUN -> {
                    for (int i = 0; i < op.count(); i++) {
                        put(100_000 + op.key() * 400 + i, value(op.seed() + i, 20));
                    }
                }
                case DELETE -> delete(op.key());
                case DELETE_RUN -> {
                    txn();
                    List<String> victims = new ArrayList<>(pending.keySet());
                    int from = victims.isEmpty() ? 0 : Math.floorMod(op.seed(), victims.size());
                    for (String k : victims.subList(from, Math.min(victims.size(), from + op.count()))) {
                        assertTrue(txn().delete(k.getBytes()));
                        pending.remove(k);
                    }
                }
                case COMMIT -> {
                    if (txn != null) {
                        txn.commit();
                        txn = null;
                        committed = pending;
                    }
                }
                case ABORT -> {
                    if (txn != null) {
                        txn.abort();
                        txn = null;
                    }
                }
                case REOPEN -> reopen();
                case OPEN_READER -> readers.add(Map.entry(store.beginRead(), committed));
                case CHECK_READERS -> checkAndCloseOldestReader();
                case SCAN_FORWARD -> scan(op, true);
                case SCAN_REVERSE -> scan(op, false);
            }
            if (txn != null) {
                assertArrayEquals(pending.get(new String(key(op.key()))), txn.get(key(op.key())));
            }
        }

        void reopen() throws IOException {
            if (txn != null) {
                txn.abort();
                txn = null;
            }
            for (var reader : readers) {
                reader.getKey().close();
            }
            readers.clear();
            store.close();
            device = SimulatedDevice.ofImage(device.image());
            store = Store.open(device, options);
            assertTrue(store.openWarnings().isEmpty(), store.openWarnings().toString());
            assertContents(committed, store.beginRead());
        }

        void checkAndCloseOldestReader() throws IOException {
            if (!readers.isEmpty()) {
                var reader = readers.remove(0);
                assertContents(reader.getValue(), reader.getKey());
            }
        }

        void scan(Op op, boolean forward) throws IOException {
            NavigableMap<String, byte[]> expected = txn != null ? pending : committed;
            String from = new String(key(op.key()));
            NavigableMap<String, byte[]> range = forward ? expected.tailMap(from, true) : expected.headMap(from, true).descendingMap();
            Cursor cursor = txn != null ? txn.cursor() : null;
            ReadTransaction read = txn == null ? store.beginRead() : null;
            try {
                if (cursor == null) {
                    cursor = read.cursor();
                }
                boolean ok = forward ? cursor.seek(from.getBytes()) : cursor.seekFloor(from.getBytes());
                int steps = 0;
                for (var entry : range.entrySet()) {
                    if (steps++ == op.count()) {
                        break;
                    }
                    assertTrue(ok, "cursor ended early before " + entry.getKey());
                    assertEquals(entry.getKey(), new String(cursor.key()));
                    assertArrayEquals(entry.getValue(), cursor.value());
                    ok = forward ? cursor.next() : cursor.previous();
                }
                if (steps <= op.count()) {
                    assertFalse(ok, "cursor went past the end");
                }
            } finally {
                if (read != null) {
                    read.close();
                }
            }
        }

        static void assertContents(NavigableMap<String, byte[]> expected, ReadTransaction read) throws IOException {
            try (read) {
                Cursor cursor = read.cursor();
                var iterator = expected.entrySet().iterator();
                for (boolean ok = cursor.first(); ok; ok = cursor.next()) {
                    assertTrue(iterator.hasNext(), "extra key " + new String(cursor.key()));
                    var entry = iterator.next();
                    assertEquals(entry.getKey(), new String(cursor.key()));
                    assertArrayEquals(entry.getValue(), cursor.value());
                }
                assertFalse(iterator.hasNext(), "missing keys");
                for (var entry : expected.entrySet()) {
                    assertTrue(Arrays.equals(entry.getValue(), read.get(entry.getKey().getBytes())), entry.getKey());
                }
                assertNull(read.get("absent".getBytes()));
            }
        }

        @Override
        public void close() throws IOException {
            if (txn != null) {
                txn.commit();
                committed = pending;
                txn = null;
            }
            for (var reader : readers) {
                assertContents(reader.getValue(), reader.getKey());
            }
            readers.clear();
            assertContents(committed, store.beginRead());
            assertTrue(store.check().isClean(), store.check().summary());
            store.close();
        }
    }

    @Property(tries = 200)
    void engineMatchesTreeMapModel(@ForAll("operations") List<Op> ops) throws IOException {
        try (Harness harness = new Harness()) {
            for (Op op : ops) {
                harness.apply(op);
            }
        }
    }
}
