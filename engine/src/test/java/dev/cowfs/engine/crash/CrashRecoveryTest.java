package dev.cowfs.engine.crash;

import dev.cowfs.engine.Cursor;
import dev.cowfs.engine.ReadTransaction;
import dev.cowfs.engine.Store;
import dev.cowfs.engine.StoreOptions;
import dev.cowfs.engine.WriteTransaction;
import dev.cowfs.engine.check.CheckReport;
import dev.cowfs.engine.device.CrashStates;
import dev.cowfs.engine.device.SimulatedDevice;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Random;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Power loss at every point of a multi-commit workload: at every barrier, for every subset (or, for large
 * epochs, drop-one / keep-one / random subsets) of the writes since, and for torn superblock and data writes.
 * Every recovered image must equal exactly the last durable commit, or the in-flight commit exactly when its
 * superblock landed whole, and the checker must find it clean.
 */
class CrashRecoveryTest {
    private static final StoreOptions OPTIONS = StoreOptions.builder().checkAfterCommit(false)
            .dirtyCacheBytes(64 * 1024).build();

    /** Runs the workload, recording the committed contents of every generation. */
    private static Map<Long, NavigableMap<String, String>> runWorkload(Store store, NavigableMap<String, String> start,
                                                                      long seed, int commits) throws IOException {
        Map<Long, NavigableMap<String, String>> byGeneration = new HashMap<>();
        NavigableMap<String, String> model = new TreeMap<>(start);
        byGeneration.put(store.generation(), new TreeMap<>(model));
        Random random = new Random(seed);
        for (int commit = 0; commit < commits; commit++) {
            try (WriteTransaction txn = store.beginWrite()) {
                int operations = commit == 0 ? 700 : 5 + random.nextInt(120);
                for (int i = 0; i < operations; i++) {
                    String key = "key" + random.nextInt(commit == 0 ? 100_000 : 1500);
                    if (commit > 0 && random.nextInt(3) == 0 && !model.isEmpty()) {
                        String victim = model.ceilingKey(key);
                        if (victim != null) {
                            txn.delete(victim.getBytes());
                            model.remove(victim);
                        }
                    } else {
                        int size = random.nextInt(10) == 0 ? 1500 + random.nextInt(6000) : random.nextInt(60);
                        String value = "v" + commit + "-" + i + "-" + "x".repeat(size);
                        txn.put(key.getBytes(), value.getBytes());
                        model.put(key, value);
                    }
                }
                long generation = txn.commit();
                byGeneration.put(generation, new TreeMap<>(model));
            }
        }
        return byGeneration;
    }

    @Test
    void everyCrashStateRecoversExactlyOneCommittedStateWithACleanChecker() throws IOException {
        SimulatedDevice device = new SimulatedDevice();
        Store store = Store.create(device, OPTIONS);
        try (WriteTransaction warmup = store.beginWrite()) {
            for (int i = 0; i < 400; i++) {
                warmup.put(("aged" + i).getBytes(), new byte[80]); // a tree of height >= 2 before recording
            }
            warmup.commit();
        }
        SimulatedDevice.Image initial = device.image();
        long initialGeneration = store.generation();
        device.clearLog();
        Map<Long, NavigableMap<String, String>> models = runWorkload(store, agedModel(), 42, 10);
        store.close();

        CrashStates crashStates = new CrashStates(initial, device.log());
        Random random = new Random(1);
        int checked = crashStates.judgeEveryState(initialGeneration, random, 8,
                (state, expected) -> verifyRecovery(state, expected, models.get(expected)));
        assertTrue(checked > 200, "only " + checked + " crash states");
        System.out.println("crash states checked: " + checked);
    }

    private static NavigableMap<String, String> agedModel() {
        NavigableMap<String, String> aged = new TreeMap<>();
        for (int i = 0; i < 400; i++) {
            aged.put("aged" + i, new String(new byte[80]));
        }
        return aged;
    }

    private static void verifyRecovery(CrashStates.State state, long expectedGeneration,
                                       NavigableMap<String, String> expected) throws IOException {
        try (Store recovered = Store.open(state.device(), OPTIONS)) {
            assertEquals(expectedGeneration, recovered.generation(), state.description());
            try (ReadTransaction read = recovered.beginRead()) {
                List<String> mismatches = new ArrayList<>();
                Cursor cursor = read.cursor();
                var iterator = expected.entrySet().iterator();
                for (boolean ok = cursor.first(); ok; ok = cursor.next()) {
                    var entry = iterator.hasNext() ? iterator.next() : null;
                    if (entry == null || !entry.getKey().equals(new String(cursor.key()))
                            || !entry.getValue().equals(new String(cursor.value()))) {
                        mismatches.add(new String(cursor.key()));
                        break;
                    }
                }
                if (iterator.hasNext()) {
                    mismatches.add("missing " + iterator.next().getKey());
                }
                assertTrue(mismatches.isEmpty(), state.description() + ": " + mismatches);
            }
            CheckReport report = recovered.check();
            assertTrue(report.isClean(), state.description() + ": " + report.summary());
            // Recovery goes on: the next commit on the recovered image must succeed and stay clean.
            try (WriteTransaction txn = recovered.beginWrite()) {
                txn.put("after-crash".getBytes(), "1".getBytes());
                txn.commit();
            }
            assertTrue(recovered.check().isClean(), state.description() + " after a further commit");
        } catch (IOException | RuntimeException | Error e) {
            fail(state.description() + ": " + e, e);
        }
    }
}
