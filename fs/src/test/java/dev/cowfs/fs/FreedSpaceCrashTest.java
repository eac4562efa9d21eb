package dev.cowfs.fs;

import dev.cowfs.engine.StoreOptions;
import dev.cowfs.engine.device.CrashStates;
import dev.cowfs.engine.device.SimulatedDevice;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Power lost at any write of the commits that make freed space reusable (the ones a write short of space makes, a
 * sync on a clean tree, and the ordinary ones around them), on a capacity-bounded image rewriting a file that
 * takes most of it: every crash state opens at a generation no older than the last acknowledged one, holds exactly
 * the state of an operation boundary that generation can hold, and checks clean with more work after it.
 */
class FreedSpaceCrashTest {
    private static final long ROOT = CowFileSystem.ROOT_INO;
    private static final int FILE_BYTES = 5 << 20;

    private static FsOptions options(boolean reuseFreedBlocksEarly) {
        return FsOptions.builder().commitIntervalMillis(0).store(StoreOptions.builder().checkAfterCommit(false)
                .capacityBytes(8L << 20).dirtyCacheBytes(64 * 1024).reuseFreedBlocksEarlyForTesting(reuseFreedBlocksEarly).build()).build();
    }

    /** What each generation may hold: the states of the operation it was made in, before it or after it. */
    private static final class Expected {
        final Map<Long, List<Map<String, String>>> byGeneration = new HashMap<>();
        long generation;
        Map<String, String> state;

        Expected(CowFileSystem fs) throws Exception {
            generation = fs.store().generation();
            state = SnapshotCrashTest.dumpAll(fs);
            byGeneration.put(generation, List.of(state));
        }

        /** After an operation: its commits hold the state before it (a write's, for room) or after it (a sync's). */
        void operation(CowFileSystem fs) throws Exception {
            long now = fs.store().generation();
            Map<String, String> after = SnapshotCrashTest.dumpAll(fs);
            for (long g = generation + 1; g <= now; g++) {
                byGeneration.put(g, List.of(state, after));
            }
            generation = now;
            state = after;
        }
    }

    private interface Step {
        void run() throws Exception;
    }

    private static List<Long> workload(CowFileSystem fs, Expected expected) throws Exception {
        List<Long> acknowledged = new ArrayList<>();
        byte[] data = new byte[FILE_BYTES];
        new Random(3).nextBytes(data);
        long[] ino = {fs.mknod(ROOT, "big", 0644, 0, 0, 0)};
        expected.operation(fs);
        for (int cycle = 0; cycle < 3; cycle++) {
            int round = cycle;
            for (int at = 0; at < data.length; at += 1 << 20) {
                int from = at;
                data[from] ^= (byte) (round + 1);
                step(fs, expected, () -> fs.write(ino[0], from, data, from, 1 << 20));
            }
            step(fs, expected, () -> fs.fsync(ino[0]));
            acknowledged.add(fs.store().generation());
            step(fs, expected, () -> fs.unlink(ROOT, "big"));
            step(fs, expected, () -> ino[0] = fs.mknod(ROOT, "big", 0644, 0, 0, 0));
        }
        step(fs, expected, fs::sync); // a clean tree with freed blocks waiting: one commit moves the ring
        step(fs, expected, fs::sync);
        acknowledged.add(fs.store().generation());
        return acknowledged;
    }

    private static void step(CowFileSystem fs, Expected expected, Step step) throws Exception {
        step.run();
        expected.operation(fs);
    }

    @Test
    void everyCrashStateOfTheReleasingCommitsIsACommittedStateAndChecksClean() throws Exception {
        int checked = check(false);
        assertTrue(checked > 20, "crash states checked: " + checked);
        System.out.println("freed-space crash states checked: " + checked);
    }

    /** The same check catches freed blocks reused while an older ring root still reaches them. */
    @Test
    void freedBlocksReusedEarlyAreCaught() {
        AssertionError caught = null;
        try {
            check(true);
        } catch (AssertionError e) {
            caught = e;
        } catch (Exception e) {
            caught = new AssertionError(e);
        }
        assertTrue(caught != null, "a crash state with reused blocks went unnoticed");
        assertTrue(caught.getMessage().contains("reachable from retained generation"), caught::getMessage);
    }

    private static int check(boolean reuseFreedBlocksEarly) throws Exception {
        SimulatedDevice device = new SimulatedDevice();
        Expected expected;
        List<Long> acknowledged;
        SimulatedDevice.Image initial;
        try (CowFileSystem fs = CowFileSystem.create(device, options(reuseFreedBlocksEarly))) {
            fs.sync();
            initial = device.image();
            device.clearLog();
            device.setRecording(true);
            expected = new Expected(fs);
            acknowledged = workload(fs, expected);
            device.setRecording(false);
        }
        if (!reuseFreedBlocksEarly) {
            assertTrue(expected.generation - acknowledged.get(0) > 8, "the workload made too few commits to test");
        }
        CrashStates states = new CrashStates(initial, device.log());
        int checked = 0;
        long initialGeneration = expected.byGeneration.keySet().stream().min(Long::compare).orElseThrow();
        for (int start : states.epochStarts()) {
            long durable = states.durableGeneration(start, initialGeneration);
            for (CrashStates.State state : states.statesInEpoch(start, new Random(start), 2)) {
                long wanted = CrashStates.expectedGeneration(state, durable);
                try (CowFileSystem recovered = CowFileSystem.open(state.device(), options(false))) {
                    long generation = recovered.store().generation();
                    assertEquals(wanted, generation, state.description());
                    List<Map<String, String>> allowed = expected.byGeneration.get(generation);
                    assertTrue(allowed != null && allowed.contains(SnapshotCrashTest.dumpAll(recovered)),
                            state.description() + ": generation " + generation + " holds no state it may hold");
                    ImageRollbackTest.assertClean(recovered, state.description());
                    long ino = recovered.mknod(ROOT, "after", 0644, 0, 0, 0);
                    recovered.write(ino, 0, new byte[300_000], 0, 300_000);
                    recovered.sync();
                    ImageRollbackTest.assertClean(recovered, state.description() + " after more work");
                } catch (AssertionError e) {
                    throw e;
                } catch (Exception e) {
                    fail(state.description() + ": " + e, e);
                }
                checked++;
            }
        }
        return checked;
    }
}
