package dev.cowfs.crash;

import dev.cowfs.engine.device.SimulatedDevice;
import dev.cowfs.engine.error.EngineBugError;
import dev.cowfs.fs.CowFileSystem;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The device fails: a workload is run again with a failure armed at one of its device operations (writes and
 * barriers), for failure points spread over the whole run: an I/O error ({@code --io-errors}), one write
 * refused for lack of space, or the host filesystem running full ({@code --no-space}). {@link WorkloadRun}
 * checks each operation's outcome; then the image must open to a committed state of the model no older than the
 * last acknowledged commit, with both checkers clean, and every crash state of the failing run's log is
 * judged like those of any run.
 */
final class IoFailureSweep {
    private final CrashHarness harness;

    IoFailureSweep(CrashHarness harness) {
        this.harness = harness;
    }

    /** Sweeps one failure kind over {@code wanted} points of the workload's run. */
    void judge(AceWorkloads.Workload workload, List<SimulatedDevice.Op> log, SimulatedDevice.Failure kind, int wanted,
               List<CrashReport.Violation> found) {
        long deviceOperations = log.stream().filter(op -> !(op instanceof SimulatedDevice.Marker)
                && !(op instanceof SimulatedDevice.Write write && write.isGrowth())).count();
        List<Long> points = new ArrayList<>();
        if (deviceOperations <= wanted) {
            for (long point = 0; point < deviceOperations; point++) {
                points.add(point);
            }
        } else {
            for (int i = 0; i < wanted; i++) {
                points.add((long) harness.random.nextInt((int) Math.min(Integer.MAX_VALUE, deviceOperations)));
            }
        }
        String label = switch (kind) {
            case IO_ERROR -> "io-error";
            case NO_SPACE -> "no-space";
            case HOST_FULL -> "host-full";
        };
        for (long point : points) {
            WorkloadRun.DeviceFailure failure = new WorkloadRun.DeviceFailure(kind, point);
            List<CrashReport.Violation> problems = new ArrayList<>();
            boolean failed = failAt(workload, failure, problems);
            long[] tally = harness.report().faultOutcomes.computeIfAbsent(label, key -> new long[3]);
            if (!problems.isEmpty()) {
                tally[2]++;
                found.addAll(problems);
                return;
            }
            tally[failed ? 1 : 0]++;
        }
    }

    /** One run with the failure armed; true when an operation failed (cleanly). */
    private boolean failAt(AceWorkloads.Workload workload, WorkloadRun.DeviceFailure failure,
                           List<CrashReport.Violation> found) {
        String where = "(" + failure.describe() + ")";
        try {
            long recordStart = System.nanoTime();
            WorkloadRun.Recording recording = WorkloadRun.record(harness, workload, failure, found);
            harness.report().recordNanos += System.nanoTime() - recordStart;
            if (recording == null) {
                return true;
            }
            if (recording.hostFullDeletes()) {
                harness.report().hostFullDeleteRuns++;
            }
            String reopened = reopen(recording);
            if (!reopened.isEmpty()) {
                found.add(harness.violation(workload, where, reopened));
                return true;
            }
            List<CrashReport.Violation> states = new ArrayList<>();
            harness.judgeStates(workload, recording, states);
            for (CrashReport.Violation violation : states) {
                found.add(new CrashReport.Violation(violation.workload(), violation.operations(),
                        where + " " + violation.state(), violation.problem()));
            }
            return recording.failed();
        } catch (IOException | RuntimeException | EngineBugError e) {
            found.add(harness.violation(workload, where, "not a clean failure: " + CrashHarness.describe(e)));
            return true;
        }
    }

    /** The image as the run left it must open to a committed, acknowledged state of the model. */
    private String reopen(WorkloadRun.Recording recording) throws IOException {
        SimulatedDevice device = SimulatedDevice.ofImage(harness.base);
        device.setRecording(false);
        for (SimulatedDevice.Op op : recording.log()) {
            if (op instanceof SimulatedDevice.Write write) {
                if (write.isGrowth()) {
                    device.ensureLength(write.offset());
                } else {
                    device.write(write.offset(), write.bytes(), 0, write.bytes().length);
                }
            } else if (op instanceof SimulatedDevice.Shrink shrink) {
                device.shrink(shrink.lengthBytes());
            }
        }
        long acknowledged = CrashHarness.acknowledgedBefore(recording.log(), recording.log().size());
        try (CowFileSystem reopened = CowFileSystem.open(device, harness.options(false))) {
            long generation = reopened.store().generation();
            if (generation < acknowledged) {
                return "reopened at generation " + generation + " below the acknowledged " + acknowledged;
            }
            Map<String, String> dump = FsDump.of(reopened);
            List<Map<String, String>> states = recording.expected().get(generation);
            if (states == null || !states.contains(dump)) {
                return "reopened state is not the model's of generation " + generation + ": "
                        + (states == null ? "no model state" : FsDump.differences(states.get(0), dump, 3));
            }
            return CrashHarness.check(reopened);
        } catch (IOException | RuntimeException | EngineBugError e) {
            return "reopening after the failure: " + CrashHarness.describe(e);
        }
    }
}
