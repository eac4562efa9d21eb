package dev.cowfs.engine;

import dev.cowfs.engine.device.SimulatedDevice;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The diff of a tree and its changed clone equals the brute-force comparison of their contents, whatever the
 * splits and merges in between; and it reads a number of nodes that follows the changes, not the tree size.
 */
class TreeDiffTest {
    private static final long BEFORE = 300;
    private static final long AFTER = 301;

    @Property(tries = 40)
    void diffEqualsTheComparisonOfContents(@ForAll @IntRange(min = 0, max = 20_000) int keys,
                                           @ForAll @IntRange(min = 0, max = 3_000) int changes,
                                           @ForAll long seed) throws IOException {
        Random random = new Random(seed);
        TreeMap<String, String> before = new TreeMap<>();
        TreeMap<String, String> after;
        try (Store store = Store.create(new SimulatedDevice(), StoreOptions.defaults())) {
            try (WriteTransaction txn = store.beginWrite()) {
                txn.createTree(BEFORE);
                for (int i = 0; i < keys; i++) {
                    String key = "k" + random.nextInt(100_000);
                    String value = "v" + i + (random.nextInt(20) == 0 ? "x".repeat(2000) : "");
                    txn.put(BEFORE, key.getBytes(), value.getBytes());
                    before.put(key, value);
                }
                txn.cloneTree(BEFORE, AFTER);
                after = new TreeMap<>(before);
                for (int i = 0; i < changes; i++) {
                    String key = "k" + random.nextInt(100_000);
                    if (random.nextInt(3) == 0) {
                        if (after.remove(key) != null) {
                            txn.delete(AFTER, key.getBytes());
                        }
                    } else {
                        String value = "w" + i;
                        txn.put(AFTER, key.getBytes(), value.getBytes());
                        after.put(key, value);
                    }
                }
                txn.commit();
            }
            List<String> expected = new ArrayList<>();
            TreeMap<String, Boolean> all = new TreeMap<>();
            before.keySet().forEach(k -> all.put(k, true));
            after.keySet().forEach(k -> all.put(k, true));
            for (String key : all.keySet()) {
                String a = before.get(key);
                String b = after.get(key);
                if (a == null || b == null || !a.equals(b)) {
                    expected.add(key + (a == null ? " added" : b == null ? " removed" : " changed"));
                }
            }
            List<String> found = new ArrayList<>();
            try (ReadTransaction read = store.beginRead()) {
                read.diff(BEFORE, AFTER, (key, was, is) -> found.add(new String(key)
                        + (was == null ? " added" : is == null ? " removed" : " changed")));
            }
            assertEquals(expected, found);
        }
    }

    @Property(tries = 1)
    void aFewChangesInALargeTreeReadAFewPaths() throws IOException {
        SimulatedDevice device = new SimulatedDevice();
        try (Store store = Store.create(device, StoreOptions.defaults())) {
            try (WriteTransaction txn = store.beginWrite()) {
                txn.createTree(BEFORE);
                for (int i = 0; i < 300_000; i++) {
                    txn.put(BEFORE, String.format("key%08d", i).getBytes(), new byte[40]);
                }
                txn.commit();
            }
            try (WriteTransaction txn = store.beginWrite()) {
                txn.cloneTree(BEFORE, AFTER);
                for (int i = 0; i < 10; i++) {
                    txn.put(AFTER, String.format("key%08d", i * 29_989).getBytes(), new byte[41]);
                }
                txn.commit();
            }
            long readBefore = device.bytesRead();
            int[] differences = new int[1];
            try (ReadTransaction read = store.beginRead()) {
                read.diff(BEFORE, AFTER, (key, was, is) -> differences[0]++);
            }
            assertEquals(10, differences[0]);
            long blocksRead = (device.bytesRead() - readBefore) / 4096;
            assertTrue(blocksRead < 10 * 2 * 4 + 10, "diff of 10 changes in 300k keys read " + blocksRead + " blocks");
        }
    }
}
