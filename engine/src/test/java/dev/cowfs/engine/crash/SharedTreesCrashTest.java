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
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Power loss at every point of a workload that clones trees, changes both sides and drops trees whose release
 * spans several commits (a small per-commit budget): every recovered image holds exactly one committed state of
 * every tree, the drop resumes where its last commit left it, and the checker (reference counts against the
 * references it finds, nothing leaked or freed twice) is clean.
 */
class SharedTreesCrashTest {
    private static final StoreOptions OPTIONS = StoreOptions.builder().checkAfterCommit(false)
            .dirtyCacheBytes(64 * 1024).dropReferencesPerCommit(10).build();
    private static final long FIRST = 300;

    private record Step(String action, long tree, long other) {
    }

    private static final Step[] SCRIPT = {
        new Step("fill", FIRST, 0),
        new Step("clone", FIRST, FIRST + 1),
        new Step("clone", FIRST + 1, FIRST + 2),
        new Step("drop", FIRST, 0),
        new Step("change", FIRST + 1, 0),
        new Step("change", FIRST + 2, 0),
        new Step("drop", FIRST + 1, 0),
        new Step("clone", FIRST + 2, FIRST + 3),
        new Step("change", FIRST + 3, 0),
        new Step("change", FIRST + 2, 0),
        new Step("fill", FIRST + 4, 0),
        new Step("drop", FIRST + 4, 0), // nothing shared: its release takes many commits
    };

    private static Map<Long, Map<Long, TreeMap<String, String>>> runWorkload(Store store) throws IOException {
        Map<Long, Map<Long, TreeMap<String, String>>> byGeneration = new HashMap<>();
        Map<Long, TreeMap<String, String>> model = new TreeMap<>();
        byGeneration.put(store.generation(), copy(model));
        Random random = new Random(7);
        for (Step step : SCRIPT) {
            try (WriteTransaction txn = store.beginWrite()) {
                switch (step.action()) {
                    case "fill" -> {
                        txn.createTree(step.tree());
                        model.put(step.tree(), new TreeMap<>());
                        change(txn, step.tree(), model.get(step.tree()), random, 600);
                    }
                    case "clone" -> {
                        txn.cloneTree(step.tree(), step.other());
                        model.put(step.other(), new TreeMap<>(model.get(step.tree())));
                        change(txn, step.tree(), model.get(step.tree()), random, 20);
                        change(txn, step.other(), model.get(step.other()), random, 20);
                    }
                    case "drop" -> {
                        txn.dropTree(step.tree());
                        model.remove(step.tree());
                    }
                    default -> change(txn, step.tree(), model.get(step.tree()), random, 40);
                }
                byGeneration.put(txn.commit(), copy(model));
            }
        }
        return byGeneration;
    }

    private static void change(WriteTransaction txn, long tree, TreeMap<String, String> model, Random random,
                               int operations) throws IOException {
        for (int i = 0; i < operations; i++) {
            String key = "key" + random.nextInt(2000);
            if (random.nextInt(4) == 0) {
                if (model.remove(key) != null) {
                    txn.delete(tree, key.getBytes());
                }
            } else {
                String value = "v" + i + "x".repeat(random.nextInt(8) == 0 ? 1500 + random.nextInt(4000)
                        : random.nextInt(50));
                txn.put(tree, key.getBytes(), value.getBytes());
                model.put(key, value);
            }
        }
    }

    private static Map<Long, TreeMap<String, String>> copy(Map<Long, TreeMap<String, String>> model) {
        Map<Long, TreeMap<String, String>> copy = new TreeMap<>();
        model.forEach((tree, entries) -> copy.put(tree, new TreeMap<>(entries)));
        return copy;
    }

    @Test
    void everyCrashStateOfClonesAndResumableDropsRecoversOneCommittedState() throws IOException {
        SimulatedDevice device = new SimulatedDevice();
        Store store = Store.create(device, OPTIONS);
        SimulatedDevice.Image initial = device.image();
        long initialGeneration = store.generation();
        device.clearLog();
        Map<Long, Map<Long, TreeMap<String, String>>> models = runWorkload(store);
        // Commits that only carry on the drops, until the dropped trees are gone.
        int dropCommits = 0;
        for (int i = 0; i < 200; i++, dropCommits++) {
            try (WriteTransaction txn = store.beginWrite()) {
                if (!txn.hasDroppedTrees()) {
                    break;
                }
                long generation = txn.commit();
                models.put(generation, models.get(generation - 1));
            }
        }
        store.close();
        assertTrue(dropCommits >= 2, "the drops finished after " + dropCommits + " further commits");

        CrashStates crashStates = new CrashStates(initial, device.log());
        Random random = new Random(2);
        int checked = crashStates.judgeEveryState(initialGeneration, random, 4,
                (state, expected) -> verifyRecovery(state, expected, models.get(expected)));
        assertTrue(checked > 100, "only " + checked + " crash states");
        System.out.println("shared-tree crash states checked: " + checked);
    }

    private static void verifyRecovery(CrashStates.State state, long expectedGeneration,
                                       Map<Long, TreeMap<String, String>> expected) {
        try (Store recovered = Store.open(state.device(), OPTIONS)) {
            assertEquals(expectedGeneration, recovered.generation(), state.description());
            try (ReadTransaction read = recovered.beginRead()) {
                for (long tree = FIRST; tree < FIRST + 5; tree++) {
                    TreeMap<String, String> entries = expected.get(tree);
                    assertEquals(entries != null, read.hasTree(tree), state.description() + ": tree " + tree);
                    if (entries != null) {
                        TreeMap<String, String> found = new TreeMap<>();
                        Cursor cursor = read.cursor(tree);
                        for (boolean ok = cursor.first(); ok; ok = cursor.next()) {
                            found.put(new String(cursor.key()), new String(cursor.value()));
                        }
                        assertEquals(entries, found, state.description() + ": tree " + tree);
                    }
                }
            }
            CheckReport report = recovered.check();
            assertTrue(report.isClean(), state.description() + ": " + report.summary());
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
