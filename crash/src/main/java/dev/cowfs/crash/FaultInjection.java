package dev.cowfs.crash;

import dev.cowfs.engine.device.BlockDevice;
import dev.cowfs.engine.device.CrashStates;
import dev.cowfs.engine.device.SimulatedDevice;
import dev.cowfs.engine.error.EngineBugError;
import dev.cowfs.engine.format.BlockRefLayout;
import dev.cowfs.engine.format.Bytes;
import dev.cowfs.engine.format.SuperblockLayout;
import dev.cowfs.fs.CowFileSystem;
import dev.cowfs.fs.FsOptions;

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
        List<Integer> acknowledgedWrites = acknowledgedWrites(log);
        List<Long> pagesInUse = pagesInUse(finalImage);
        for (Fault fault : Fault.values()) {
            if (!harness.config().faults().contains(fault)) {
                continue;
            }
            for (int trial = 0; trial < harness.config().faultTrials(); trial++) {
                boolean onAWrite = fault == Fault.LOST_WRITE || fault == Fault.MISDIRECTED_WRITE;
                if (onAWrite && acknowledgedWrites.isEmpty()) {
                    break;
                }
                Injected injected = onAWrite ? injectIntoAWrite(fault, log, acknowledgedWrites, pagesInUse)
                        : fault == Fault.DAMAGED_NEWEST_ROOT ? injectIntoNewestRoot(finalImage)
                        : injectIntoReads(fault, finalImage, pagesInUse);
                if (injected == null) {
                    break; // the newest commit wrote no root of its own: nothing tells it apart from older ones
                }
                String outcome = classify(injected.device(), expected, finalGeneration);
                if (fault == Fault.DAMAGED_NEWEST_ROOT && !outcome.equals(FELL_BACK)) {
                    outcome = outcome.startsWith("S") || outcome.startsWith("U") ? outcome
                            : "F:the newest commit's root does not verify and the ring holds older generations intact, "
                            + "but a read-only open did not fall back to one (" + (outcome.equals("E")
                            ? "it opened the damaged generation as if whole" : "it failed" + outcome.substring(1)) + ")";
                }
                long[] tally = harness.report().faultOutcomes.computeIfAbsent(fault.label, key -> new long[3]);
                switch (outcome.charAt(0)) {
                    case 'E' -> tally[0]++;
                    case 'D', 'B' -> tally[1]++;
                    default -> {
                        if (outcome.startsWith("S")) {
                            tally[2]++;
                        }
                        found.add(harness.violation(workload, "(fault " + fault.label + ": " + injected.what() + ")",
                                outcome.substring(2)));
                    }
                }
            }
        }
    }

    /** A device with one fault in it, and what the fault is. */
    private record Injected(BlockDevice device, String what) {
    }

    /** The log's writes (data and nodes, not superblocks or growth) before its last acknowledged operation. */
    private static List<Integer> acknowledgedWrites(List<SimulatedDevice.Op> log) {
        int lastAcknowledgement = -1;
        for (int i = 0; i < log.size(); i++) {
            if (log.get(i) instanceof SimulatedDevice.Marker marker && marker.label().endsWith(" acknowledged")) {
                lastAcknowledgement = i;
            }
        }
        List<Integer> writes = new ArrayList<>();
        for (int i = 0; i < lastAcknowledgement; i++) {
            if (log.get(i) instanceof SimulatedDevice.Write write && !write.isGrowth()
                    && !CrashStates.isSuperblockWrite(write)) {
                writes.add(i);
            }
        }
        return writes;
    }

    /** The pages of the image past its header region, in order. */
    private static List<Long> pagesInUse(SimulatedDevice.Image image) {
        List<Long> pages = new ArrayList<>();
        image.pages().forEach((page, bytes) -> {
            if (page * SimulatedDevice.PAGE_BYTES >= dev.cowfs.engine.format.Limits.HEADER_REGION_BYTES) {
                pages.add(page);
            }
        });
        java.util.Collections.sort(pages);
        return pages;
    }

    /** The log replayed with one acknowledged write lost, or landed on another page in use. */
    private Injected injectIntoAWrite(Fault fault, List<SimulatedDevice.Op> log, List<Integer> acknowledgedWrites,
                                      List<Long> pagesInUse) throws IOException {
        int victim = acknowledgedWrites.get(harness.random.nextInt(acknowledgedWrites.size()));
        SimulatedDevice.Write write = (SimulatedDevice.Write) log.get(victim);
        long elsewhere = pagesInUse.get(harness.random.nextInt(pagesInUse.size())) * SimulatedDevice.PAGE_BYTES;
        SimulatedDevice replayed = SimulatedDevice.ofImage(harness.base);
        replayed.setRecording(false);
        for (int i = 0; i < log.size(); i++) {
            if (log.get(i) instanceof SimulatedDevice.Write other) {
                if (other.isGrowth()) {
                    replayed.ensureLength(other.offset());
                } else if (i != victim) {
                    replayed.write(other.offset(), other.bytes(), 0, other.bytes().length);
                } else if (fault == Fault.MISDIRECTED_WRITE && elsewhere != other.offset()) {
                    replayed.write(elsewhere, other.bytes(), 0, other.bytes().length);
                }
            }
        }
        return new Injected(replayed, fault == Fault.LOST_WRITE
                ? "write " + write.sequence() + " at " + write.offset() + " lost"
                : "write " + write.sequence() + " for " + write.offset() + " landed at " + elsewhere);
    }

    /**
     * The final image with one bit of a root block the newest commit wrote (catalog or space tree) flipping on every
     * read; null when it wrote neither. The newest generation and its roots are read from the ring by the layout,
     * not through the engine's decoding, which this judges.
     */
    private Injected injectIntoNewestRoot(SimulatedDevice.Image finalImage) throws IOException {
        SimulatedDevice image = SimulatedDevice.ofImage(finalImage);
        image.setRecording(false);
        byte[] newest = null;
        for (int slot = 0; slot < dev.cowfs.engine.format.Limits.SUPERBLOCK_RING_SLOTS; slot++) {
            byte[] bytes = new byte[SuperblockLayout.BYTES];
            image.read(dev.cowfs.engine.format.Limits.superblockSlotOffset(slot), bytes, 0, bytes.length);
            if (Bytes.getLong(bytes, SuperblockLayout.MAGIC_OFFSET) == SuperblockLayout.MAGIC && (newest == null
                    || Bytes.getLong(bytes, SuperblockLayout.GENERATION_OFFSET)
                    > Bytes.getLong(newest, SuperblockLayout.GENERATION_OFFSET))) {
                newest = bytes;
            }
        }
        if (newest == null) {
            throw new IllegalStateException("the final image holds no superblock in its ring");
        }
        long blockSize = Bytes.getInt(newest, SuperblockLayout.BLOCK_SIZE_OFFSET);
        long generation = Bytes.getLong(newest, SuperblockLayout.GENERATION_OFFSET);
        // Only a root the newest commit wrote tells it apart from the older ones (a commit that changed no tree
        // keeps the catalog root of the one before); the space root is written by nearly every commit.
        List<String> roots = new ArrayList<>();
        for (String name : List.of("catalog", "space")) {
            int at = name.equals("catalog") ? SuperblockLayout.CATALOG_ROOT_OFFSET : SuperblockLayout.SPACE_ROOT_OFFSET;
            if (Bytes.getLong(newest, at + BlockRefLayout.BIRTH_OFFSET) == generation) {
                roots.add(name);
            }
        }
        if (roots.isEmpty()) {
            return null;
        }
        String name = roots.get(harness.random.nextInt(roots.size()));
        long root = Bytes.getLong(newest, (name.equals("catalog") ? SuperblockLayout.CATALOG_ROOT_OFFSET
                : SuperblockLayout.SPACE_ROOT_OFFSET) + BlockRefLayout.BLOCK_INDEX_OFFSET);
        long at = root * blockSize + harness.random.nextInt((int) blockSize);
        int bit = harness.random.nextInt(8);
        return new Injected(FaultyReadDevice.bitFlip(image, at, bit), "bit " + bit + " of byte " + at + " (" + name
                + " root of generation " + generation + ") flips on read");
    }

    /** The final image with reads of one page failing, or one bit of it flipping on every read. */
    private Injected injectIntoReads(Fault fault, SimulatedDevice.Image finalImage, List<Long> pagesInUse) {
        long page = pagesInUse.get(harness.random.nextInt(pagesInUse.size()));
        SimulatedDevice image = SimulatedDevice.ofImage(finalImage);
        image.setRecording(false);
        long offset = page * SimulatedDevice.PAGE_BYTES;
        if (fault == Fault.READ_ERROR) {
            return new Injected(FaultyReadDevice.readError(image, offset, offset + SimulatedDevice.PAGE_BYTES),
                    "reads of bytes " + offset + "+4096 fail");
        }
        long at = offset + harness.random.nextInt(SimulatedDevice.PAGE_BYTES);
        int bit = harness.random.nextInt(8);
        return new Injected(FaultyReadDevice.bitFlip(image, at, bit), "bit " + bit + " of byte " + at
                + " flips on read");
    }

    /**
     * "E" exact (the final commit, as the model has it), "D" detected (an I/O or corruption error reached the
     * reader; damage the checker finds beside exact data counts here too), "B" detected by opening an older
     * commit, said so, and holding that commit exactly, "S:why" silently wrong (a reader got data that is not
     * the model's, with no error), "U:why" an unclean failure (a bug).
     */
    private String classify(BlockDevice device, Map<Long, List<Map<String, String>>> expected,
                            long finalGeneration) {
        String outcome = classify(device, expected, finalGeneration, harness.options(false));
        if (!outcome.equals(REFUSED_WRITABLE)) {
            return outcome;
        }
        // A writable open refuses to write over a newer commit that does not verify; a read-only open falls back,
        // and must hold the older commit exactly.
        FsOptions writable = harness.options(false);
        return classify(device, expected, finalGeneration, FsOptions.builder().commitIntervalMillis(0)
                .clock(writable.clock()).store(writable.store().toBuilder().readOnly(true).build()).build());
    }

    private static final String REFUSED_WRITABLE = "refused: a newer generation does not verify";
    /** Detected by falling back, reported, to an older commit held exactly. */
    private static final String FELL_BACK = "B";

    private String classify(BlockDevice device, Map<Long, List<Map<String, String>>> expected,
                            long finalGeneration, FsOptions options) {
        try (CowFileSystem fs = CowFileSystem.open(device, options)) {
            boolean fellBack = fs.store().openedOlderCommit();
            long generation = fs.store().generation();
            Map<String, String> dump = FsDump.of(fs);
            if (generation == finalGeneration && expected.get(finalGeneration).contains(dump)) {
                return CrashHarness.check(fs).isEmpty() ? "E" : "D";
            }
            List<Map<String, String>> older = expected.get(generation);
            if (fellBack && generation < finalGeneration
                    && (older != null ? older.contains(dump) : generation < java.util.Collections.min(
                    expected.keySet()))) {
                return FELL_BACK; // fell back, and said so, to an older commit it holds exactly (or one before the run)
            }
            return "S:silently wrong: opened generation " + generation + (fellBack ? " (reported as a fall-back)" : "")
                    + ", differences from the final state: "
                    + FsDump.differences(expected.get(finalGeneration).get(0), dump, 3);
        } catch (dev.cowfs.fs.FsException e) {
            return e.errno() == dev.cowfs.fs.Errno.EIO ? "D: " + CrashHarness.describe(e)
                    : "S:a read failed with " + e.errno() + " instead of an I/O error: " + CrashHarness.describe(e);
        } catch (dev.cowfs.engine.error.NewerGenerationDamagedException e) {
            return options.store().readOnly() ? "U:a read-only open refused: " + CrashHarness.describe(e)
                    : REFUSED_WRITABLE;
        } catch (IOException e) {
            return "D: " + CrashHarness.describe(e);
        } catch (RuntimeException | EngineBugError e) {
            return "U:unclean failure (not a reported error): " + CrashHarness.describe(e);
        }
    }
}
