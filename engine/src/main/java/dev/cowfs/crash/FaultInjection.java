package dev.cowfs.crash;

import dev.cowfs.engine.block.BlockDevice;
import dev.cowfs.engine.block.EngineBugError;
import dev.cowfs.engine.crash.CrashStates;
import dev.cowfs.engine.crash.SimulatedDevice;
import dev.cowfs.fs.CowFileSystem;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The harness's faults outside the power-loss model ({@link Fault}), injected into a workload's final image. */
final class FaultInjection {
    private final CrashHarness harness;

    FaultInjection(CrashHarness harness) {
        this.harness = harness;
    }

    /**
     * Injects each configured fault into the workload's final image and classifies what a reader then meets:
     * the exact final state, a detected and reported error (an I/O or corruption error, a checker problem,
     * or a reported fall-back to an older commit), or silently wrong data, which is a violation.
     */
    void judge(AceWorkloads.Workload workload, List<SimulatedDevice.Op> log,
               Map<Long, List<Map<String, String>>> expected, List<CrashReport.Violation> found)
            throws IOException {
        if (harness.config().faults().isEmpty() || harness.config().faultTrials() == 0) {
            return;
        }
        SimulatedDevice.Image finalImage = new CrashStates(harness.base, log).durable(log.size()).image();
        long finalGeneration = java.util.Collections.max(expected.keySet());
        List<Integer> acknowledgedWrites = new ArrayList<>();
        int lastAcknowledgement = -1;
        for (int i = 0; i < log.size(); i++) {
            if (log.get(i) instanceof SimulatedDevice.Marker marker && marker.label().endsWith(" acknowledged")) {
                lastAcknowledgement = i;
            }
        }
        for (int i = 0; i < lastAcknowledgement; i++) {
            if (log.get(i) instanceof SimulatedDevice.Write write && !CrashStates.isSuperblockWrite(write)) {
                acknowledgedWrites.add(i);
            }
        }
        List<Long> pagesInUse = new ArrayList<>();
        finalImage.pages().forEach((page, bytes) -> {
            if (page * SimulatedDevice.PAGE_BYTES >= dev.cowfs.engine.format.Limits.HEADER_REGION_BYTES) {
                pagesInUse.add(page);
            }
        });
        java.util.Collections.sort(pagesInUse);
        for (Fault fault : Fault.values()) {
            if (!harness.config().faults().contains(fault)) {
                continue;
            }
            for (int trial = 0; trial < harness.config().faultTrials(); trial++) {
                BlockDevice device;
                String what;
                if (fault == Fault.LOST_WRITE || fault == Fault.MISDIRECTED_WRITE) {
                    if (acknowledgedWrites.isEmpty()) {
                        break;
                    }
                    int victim = acknowledgedWrites.get(harness.random.nextInt(acknowledgedWrites.size()));
                    SimulatedDevice.Write write = (SimulatedDevice.Write) log.get(victim);
                    long elsewhere = pagesInUse.get(harness.random.nextInt(pagesInUse.size()))
                            * SimulatedDevice.PAGE_BYTES;
                    SimulatedDevice replayed = SimulatedDevice.ofImage(harness.base);
                    replayed.setRecording(false);
                    for (int i = 0; i < log.size(); i++) {
                        if (log.get(i) instanceof SimulatedDevice.Write other) {
                            if (i != victim) {
                                replayed.write(other.offset(), other.bytes(), 0, other.bytes().length);
                            } else if (fault == Fault.MISDIRECTED_WRITE && elsewhere != other.offset()) {
                                replayed.write(elsewhere, other.bytes(), 0, other.bytes().length);
                            }
                        }
                    }
                    device = replayed;
                    what = fault == Fault.LOST_WRITE ? "write " + write.sequence() + " at " + write.offset() + " lost"
                            : "write " + write.sequence() + " for " + write.offset() + " landed at " + elsewhere;
                } else {
                    long page = pagesInUse.get(harness.random.nextInt(pagesInUse.size()));
                    SimulatedDevice image = SimulatedDevice.ofImage(finalImage);
                    image.setRecording(false);
                    long offset = page * SimulatedDevice.PAGE_BYTES;
                    if (fault == Fault.READ_ERROR) {
                        device = FaultyReadDevice.readError(image, offset, offset + SimulatedDevice.PAGE_BYTES);
                        what = "reads of bytes " + offset + "+4096 fail";
                    } else {
                        long at = offset + harness.random.nextInt(SimulatedDevice.PAGE_BYTES);
                        int bit = harness.random.nextInt(8);
                        device = FaultyReadDevice.bitFlip(image, at, bit);
                        what = "bit " + bit + " of byte " + at + " flips on read";
                    }
                }
                String outcome = classify(device, expected, finalGeneration);
                long[] tally = harness.report().faultOutcomes.computeIfAbsent(fault.label, key -> new long[3]);
                switch (outcome.charAt(0)) {
                    case 'E' -> tally[0]++;
                    case 'D' -> tally[1]++;
                    default -> {
                        if (outcome.startsWith("S")) {
                            tally[2]++;
                        }
                        found.add(harness.violation(workload, "(fault " + fault.label + ": " + what + ")",
                                outcome.substring(2)));
                    }
                }
            }
        }
    }

    /** "E" exact, "D" detected, "S:why" silently wrong, "U:why" an unclean failure (a bug). */
    private String classify(BlockDevice device, Map<Long, List<Map<String, String>>> expected,
                                 long finalGeneration) {
        try (CowFileSystem fs = CowFileSystem.open(device, harness.options(false))) {
            boolean warned = fs.store().openedOlderCommit();
            Map<String, String> dump = FsDump.of(fs);
            if (!CrashHarness.check(fs).isEmpty()) {
                return "D";
            }
            if (expected.get(finalGeneration).contains(dump)) {
                return "E";
            }
            long generation = fs.store().generation();
            for (long opened : new long[] {generation, generation - 1}) { // opening may commit once
                List<Map<String, String>> older = expected.get(opened);
                if (warned && older != null && older.contains(dump)) {
                    return "D"; // fell back to an older commit, and said so
                }
            }
            if (warned && generation < java.util.Collections.min(expected.keySet())) {
                return "D"; // fell back, and said so, to a commit older than the workload (no model to compare)
            }
            return "S:silently wrong: recovered generation " + generation + (warned ? " (with warnings)" : "")
                    + ", differences from the final state: "
                    + FsDump.differences(expected.get(finalGeneration).get(0), dump, 3);
        } catch (IOException e) {
            return "D";
        } catch (RuntimeException | EngineBugError e) {
            return "U:unclean failure (not a reported error): " + CrashHarness.describe(e);
        }
    }
}
