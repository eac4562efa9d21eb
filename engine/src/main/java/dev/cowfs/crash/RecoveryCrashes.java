package dev.cowfs.crash;

import dev.cowfs.engine.block.EngineBugError;
import dev.cowfs.engine.crash.CrashStates;
import dev.cowfs.engine.crash.SimulatedDevice;
import dev.cowfs.fs.CowFileSystem;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Recovery is idempotent: power lost again while recovering, and during the first work after it. */
final class RecoveryCrashes {
    /** Crash states drawn (at random) from each recovery-and-work log that is cut again. */
    static final int STATES = 16;

    private final CrashHarness harness;

    RecoveryCrashes(CrashHarness harness) {
        this.harness = harness;
    }

    /**
     * Power lost again while recovering and during the first work after it (a commit): each such state is
     * judged as the workload's are: the durable generation or the in-flight one exactly when its superblock
     * landed, never below an acknowledged one, holding exactly the state of that generation.
     */
    String judge(SimulatedDevice.Image image, long expectedGeneration, List<Map<String, String>> expected) {
        SimulatedDevice device = SimulatedDevice.ofImage(image);
        Map<Long, List<Map<String, String>>> states = new HashMap<>();
        states.put(expectedGeneration, expected);
        try (CowFileSystem recovering = CowFileSystem.open(device, harness.options(false))) {
            OpRunner.apply(recovering, new CrashOp.Mkdir("/after-crash"));
            OpRunner.apply(recovering, new CrashOp.Create("/after-crash/f"));
            OpRunner.apply(recovering, new CrashOp.Write("/after-crash/f", 0, 10_000, 98, "after"));
            recovering.sync();
            states.put(recovering.store().generation(), List.of(FsDump.of(recovering)));
        } catch (IOException | RuntimeException | EngineBugError e) {
            return "first recovery failed: " + CrashHarness.describe(e);
        }
        CrashStates again = new CrashStates(image, device.log());
        List<Integer> starts = again.epochStarts();
        List<RecoveryCrash> all = new ArrayList<>();
        for (int e = 0; e < starts.size(); e++) {
            int end = e + 1 < starts.size() ? starts.get(e + 1) : device.log().size();
            long durable = again.durableGeneration(starts.get(e), expectedGeneration);
            long acknowledged = CrashHarness.acknowledgedBefore(device.log(), end);
            for (CrashStates.State state : again.statesInEpoch(starts.get(e), harness.random, 1)) {
                all.add(new RecoveryCrash(state, durable, acknowledged));
            }
        }
        java.util.Collections.shuffle(all, harness.random);
        for (RecoveryCrash entry : all.subList(0, Math.min(all.size(), STATES))) {
            harness.report().recoveryCrashStates++;
            CrashStates.State state = entry.state();
            String problem;
            try {
                long generation = CrashStates.expectedGeneration(state, entry.durable());
                List<Map<String, String>> wanted = states.get(generation);
                problem = generation < entry.acknowledged() ? "only generation " + generation + " can be "
                        + "recovered, but " + entry.acknowledged() + " was acknowledged"
                        : wanted == null ? "no state known for generation " + generation
                        : harness.judge(state.device(), generation, wanted, false);
            } catch (IOException e) {
                problem = "reading the crash state failed: " + CrashHarness.describe(e);
            }
            if (!problem.isEmpty()) {
                return "crash during recovery and the work after it (" + state.description() + "): " + problem;
            }
        }
        return "";
    }

    private record RecoveryCrash(CrashStates.State state, long durable, long acknowledged) {
    }
}
