package dev.cowfs.crash;

import dev.cowfs.engine.block.EngineBugError;
import dev.cowfs.engine.crash.SimulatedDevice;
import dev.cowfs.fs.CowFileSystem;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The device fails: a workload is run again with its N-th write or barrier failing with an I/O error, for
 * failure points spread over the whole run. The failing operation must end in a clean I/O error (never
 * another exception), what follows must either work or fail cleanly too (the engine turns read-only after a
 * failed commit), and the image must then open to a committed state of the model no older than the last
 * acknowledged commit, with both checkers clean.
 */
final class IoFailureSweep {
    private final CrashHarness harness;

    IoFailureSweep(CrashHarness harness) {
        this.harness = harness;
    }

    void judge(AceWorkloads.Workload workload, List<SimulatedDevice.Op> log,
               Map<Long, List<Map<String, String>>> expected, List<CrashReport.Violation> found) {
        long deviceOperations = log.stream().filter(op -> !(op instanceof SimulatedDevice.Marker)).count();
        List<Long> points = new ArrayList<>();
        int wanted = harness.config().ioFailurePoints();
        if (deviceOperations <= wanted) {
            for (long point = 0; point < deviceOperations; point++) {
                points.add(point);
            }
        } else {
            for (int i = 0; i < wanted; i++) {
                points.add((long) harness.random.nextInt((int) Math.min(Integer.MAX_VALUE, deviceOperations)));
            }
        }
        for (long point : points) {
            String problem = failAt(workload, point, expected);
            long[] tally = harness.report().faultOutcomes.computeIfAbsent("io-error", key -> new long[3]);
            if (problem.isEmpty()) {
                tally[1]++;
            } else {
                tally[2]++;
                found.add(harness.violation(workload, "(I/O error at device operation " + point + ")", problem));
                return;
            }
        }
    }

    private String failAt(AceWorkloads.Workload workload, long point, Map<Long, List<Map<String, String>>> expected) {
        SimulatedDevice device = SimulatedDevice.ofImage(harness.base);
        try {
            CowFileSystem fs = CowFileSystem.open(device, harness.options(false));
            device.clearLog();
            device.failAfter(point);
            boolean failed = false;
            for (CrashOp op : workload.ops()) {
                try {
                    OpRunner.apply(fs, op);
                } catch (dev.cowfs.fs.FsException e) {
                    if (e.errno() != dev.cowfs.fs.Errno.EIO && e.errno() != dev.cowfs.fs.Errno.EROFS) {
                        return op + " failed with " + e.errno() + " instead of an I/O error: "
                                + CrashHarness.describe(e);
                    }
                    failed = true;
                    break;
                } catch (IOException e) {
                    failed = true; // the clean outcome: an I/O error for the caller
                    break;
                }
            }
            if (device.failureInjected() && !failed) {
                return "the I/O error at device operation " + point + " reached no caller: it was swallowed";
            }
            if (failed) {
                try {
                    fs.sync(); // after a failed commit the engine is read-only: this fails cleanly or does nothing
                } catch (IOException e) {
                    // a clean refusal
                }
            }
            long acknowledged = 0;
            for (SimulatedDevice.Op op : device.log()) {
                if (op instanceof SimulatedDevice.Marker marker && marker.label().endsWith(" acknowledged")) {
                    acknowledged = Long.parseLong(marker.label().split(" ")[1]);
                }
            }
            device.setRecording(false);
            try {
                fs.close();
            } catch (IOException e) {
                // closing a filesystem the failure turned read-only may refuse to commit: a clean refusal
            }
            try (CowFileSystem reopened = CowFileSystem.open(SimulatedDevice.ofImage(device.image()),
                    harness.options(false))) {
                long generation = reopened.store().generation();
                if (generation < acknowledged) {
                    return "reopened at generation " + generation + " below the acknowledged " + acknowledged;
                }
                Map<String, String> dump = FsDump.of(reopened);
                List<Map<String, String>> states = expected.get(generation);
                if (states == null || !states.contains(dump)) {
                    return "reopened state is not the model's of generation " + generation + ": "
                            + (states == null ? "no model state" : FsDump.differences(states.get(0), dump, 3));
                }
                return CrashHarness.check(reopened);
            }
        } catch (IOException | RuntimeException | EngineBugError e) {
            return "not a clean I/O error: " + CrashHarness.describe(e);
        }
    }
}
