package dev.cowfs.crash;

import dev.cowfs.engine.device.CrashStates;
import dev.cowfs.engine.device.SimulatedDevice;
import dev.cowfs.engine.error.EngineBugError;
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
            // The sync's commit holds all of the work; commits after it in the same sync only move the superblock
            // ring on (so that what the work freed becomes reusable): every one of them holds the same state.
            List<Map<String, String>> after = List.of(FsDump.of(recovering));
            for (long generation = expectedGeneration + 1; generation <= recovering.store().generation(); generation++) {
                states.put(generation, after);
            }
        } catch (IOException | RuntimeException | EngineBugError e) {
            return "first recovery failed: " + CrashHarness.describe(e);
        }
        CrashStates again = new CrashStates(image, device.log());
        List<Integer> starts = again.epochStarts();
        // Every state is described, and only the ones drawn are built (an epoch of 10 writes has 1,024 subsets).
        List<RecoveryCrash> all = new ArrayList<>();
        try {
            for (int e = 0; e < starts.size(); e++) {
                int end = e + 1 < starts.size() ? starts.get(e + 1) : device.log().size();
                long durable = again.durableGeneration(starts.get(e), expectedGeneration);
                long acknowledged = CrashHarness.acknowledgedBefore(device.log(), end);
                for (CrashStates.Candidate candidate : again.candidatesInEpoch(starts.get(e), harness.random, 1,
                        durable)) {
                    all.add(new RecoveryCrash(() -> again.build(candidate), candidate.digest(),
                            candidate.expectedGeneration(), durable, acknowledged));
                }
                CrashStates.Durable base = again.durable(starts.get(e));
                for (CrashStates.State torn : again.tornStatesInEpoch(starts.get(e), harness.random)) {
                    all.add(new RecoveryCrash(() -> torn, torn.device().contentDigestFrom(base.digest(),
                            base.image().lengthBytes()), CrashStates.expectedGeneration(torn, durable), durable,
                            acknowledged));
                }
            }
        } catch (IOException e) {
            return "describing the crash states of recovery failed: " + CrashHarness.describe(e);
        }
        java.util.Collections.shuffle(all, harness.random);
        for (RecoveryCrash entry : all.subList(0, Math.min(all.size(), STATES))) {
            harness.report().recoveryCrashStates++;
            harness.report().statesGenerated++;
            long generation = entry.expectedGeneration();
            List<Map<String, String>> wanted = states.get(generation);
            // Distinct states are judged once, like a workload's: the same verdicts, the same count.
            String problem = generation < entry.acknowledged() ? "only generation " + generation + " can be "
                    + "recovered, but " + entry.acknowledged() + " was acknowledged"
                    : wanted == null ? "no state known for generation " + generation
                    : harness.judgeOnce(entry.state(), entry.digest(), generation, wanted, false);
            if (!problem.isEmpty()) {
                return "crash during recovery and the work after it (" + entry.state().get().description() + "): "
                        + problem;
            }
        }
        return "";
    }

    private record RecoveryCrash(java.util.function.Supplier<CrashStates.State> state,
                                 SimulatedDevice.Digest digest, long expectedGeneration, long durable,
                                 long acknowledged) {
    }
}
