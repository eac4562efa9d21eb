package dev.cowfs.engine;

import dev.cowfs.engine.block.BlockDevice;
import dev.cowfs.engine.block.CorruptionException;
import dev.cowfs.engine.block.VerifiedBlocks;
import dev.cowfs.engine.btree.NodeReader;
import dev.cowfs.engine.btree.NodeView;
import dev.cowfs.engine.format.Limits;
import dev.cowfs.engine.format.SuperblockLayout;
import dev.cowfs.engine.format.TreeIds;
import dev.cowfs.engine.txn.Superblock;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Chooses the superblock to open: the newest copy (ring slots and far copy) whose own checksum verifies and
 * whose root blocks verify. Reads nothing but the superblock copies and the root blocks.
 */
public final class Recovery {
    private Recovery() {
    }

    /** All superblock copies that decode, newest first (duplicates of one generation kept once). */
    public static List<Superblock> readCopies(BlockDevice device, List<String> problems) throws IOException {
        List<Superblock> copies = new ArrayList<>();
        for (int slot = 0; slot <= Limits.SUPERBLOCK_RING_SLOTS; slot++) {
            boolean far = slot == Limits.SUPERBLOCK_RING_SLOTS;
            long offset = far ? Limits.FAR_SUPERBLOCK_OFFSET_BYTES : Limits.superblockSlotOffset(slot);
            String where = far ? "far superblock copy" : "superblock slot " + slot;
            if (offset + SuperblockLayout.BYTES > device.lengthBytes()) {
                problems.add(where + ": beyond the end of the image");
                continue;
            }
            byte[] bytes = new byte[SuperblockLayout.BYTES];
            device.read(offset, bytes, 0, bytes.length);
            if (isAllZero(bytes)) {
                continue;
            }
            try {
                Superblock superblock = Superblock.decode(bytes, where);
                if (!far && superblock.ringSlot() != slot) {
                    problems.add(where + ": holds generation " + superblock.generation() + " of another slot");
                    continue;
                }
                if (copies.stream().noneMatch(c -> c.equals(superblock))) {
                    copies.add(superblock);
                }
            } catch (CorruptionException e) {
                problems.add(e.getMessage());
            }
        }
        copies.sort(Comparator.comparingLong(Superblock::generation).reversed());
        return copies;
    }

    /** How the warning of a fall-back to an older commit begins (its newer commit landed but did not verify). */
    static final String FELL_BACK = "opened generation ";

    /** A generation the image keeps a superblock of, and whether its roots verify (why not, otherwise). */
    public record Retained(long generation, long commitTimeMillis, String where, String failure) {
    }

    /**
     * The generations this image keeps superblock copies of, newest first: the ring and the far copy. Every one
     * whose roots verify can be opened read-only ({@link StoreOptions.Builder#openGeneration}): their blocks are
     * not reused while they are in the ring.
     */
    public static List<Retained> retainedGenerations(BlockDevice device) throws IOException {
        List<Retained> retained = new ArrayList<>();
        for (Superblock copy : readCopies(device, new ArrayList<>())) {
            String where = copy.ringSlot() >= 0 && ringSlotHolds(device, copy) ? "ring slot " + copy.ringSlot()
                    : "far copy";
            retained.add(new Retained(copy.generation(), copy.commitTimeMillis(), where, verifyRoots(device, copy)));
        }
        return retained;
    }

    static Superblock chooseSuperblock(BlockDevice device, StoreOptions options, List<String> warnings)
            throws IOException {
        if (options.openGeneration() != 0) {
            return chooseGeneration(device, options, warnings);
        }
        return chooseSuperblock(device, options.readOnly(), warnings);
    }

    private static Superblock chooseGeneration(BlockDevice device, StoreOptions options, List<String> warnings)
            throws IOException {
        long wanted = options.openGeneration();
        if (!options.readOnly()) {
            throw new IllegalArgumentException("an older generation opens read-only");
        }
        List<Superblock> copies = readCopies(device, new ArrayList<>());
        Superblock candidate = retainedCopy(copies, wanted);
        checkFeatures(candidate, true);
        String failure = verifyRoots(device, candidate);
        if (failure != null) {
            throw new CorruptionException(-1, "generation " + wanted + " is retained but does not verify ("
                    + failure + ")");
        }
        if (candidate != copies.get(0)) {
            warnings.add("opened generation " + wanted + " on request; the newest is " + copies.get(0).generation());
        }
        return candidate;
    }

    /** The copy of generation {@code generation} among {@code copies} ({@link #readCopies}), or why there is none. */
    static Superblock retainedCopy(List<Superblock> copies, long generation) throws NoRetainedGenerationException {
        for (Superblock copy : copies) {
            if (copy.generation() == generation) {
                return copy;
            }
        }
        throw new NoRetainedGenerationException("generation " + generation + " is not retained in this image (it "
                + "keeps " + copies.stream().map(c -> Long.toString(c.generation())).toList()
                + "; see cowfs info --generations)");
    }

    /** The generation asked for is not among those the image keeps. */
    public static final class NoRetainedGenerationException extends IOException {
        NoRetainedGenerationException(String message) {
            super(message);
        }
    }

    static Superblock chooseSuperblock(BlockDevice device, boolean readOnly, List<String> warnings)
            throws IOException {
        List<String> problems = new ArrayList<>();
        List<Superblock> copies = readCopies(device, problems);
        if (copies.isEmpty()) {
            throw new CorruptionException(-1, "no valid superblock in the image (" + String.join("; ", problems)
                    + "): not a cowfs image, or its header is destroyed");
        }
        Superblock newest = copies.get(0);
        if (newest.highWaterBlock() * newest.blockSizeBytes() > device.lengthBytes()) {
            // A crash cannot cause this (growth is durable before any superblock uses it): the file was cut.
            // Falling back would let the next commit overwrite what the cut-off tail still references elsewhere.
            throw new CorruptionException(-1, "image is truncated: generation " + newest.generation() + " uses "
                    + newest.highWaterBlock() * newest.blockSizeBytes() + " bytes but the file holds "
                    + device.lengthBytes() + "; restore the image from a copy");
        }
        if (!problems.isEmpty()) {
            warnings.add("damaged or torn superblock copies passed over: " + String.join("; ", problems));
        }
        for (Superblock candidate : copies) {
            checkFeatures(candidate, readOnly);
            String failure = verifyRoots(device, candidate);
            if (failure == null) {
                if (!readOnly && !ringSlotHolds(device, candidate)) {
                    SuperblockWriter.writeRingSlot(device, candidate);
                    device.barrier();
                    warnings.add("generation " + candidate.generation() + " survived only in the far superblock "
                            + "copy; rewrote ring slot " + candidate.ringSlot());
                }
                if (candidate != copies.get(0)) {
                    warnings.add(FELL_BACK + candidate.generation() + ": newer generation "
                            + copies.get(0).generation() + " did not verify (" + String.join("; ", problems) + ")");
                }
                return candidate;
            }
            problems.add("generation " + candidate.generation() + ": " + failure);
        }
        throw new CorruptionException(-1, "no superblock whose roots verify: " + String.join("; ", problems));
    }

    private static boolean ringSlotHolds(BlockDevice device, Superblock superblock) throws IOException {
        byte[] bytes = new byte[SuperblockLayout.BYTES];
        device.read(Limits.superblockSlotOffset(superblock.ringSlot()), bytes, 0, bytes.length);
        try {
            return Superblock.decode(bytes, "ring slot").equals(superblock);
        } catch (CorruptionException e) {
            return false;
        }
    }

    /** Null when the superblock's root blocks verify, else why not. */
    static String verifyRoots(BlockDevice device, Superblock superblock) {
        int blockSize = superblock.blockSizeBytes();
        if (superblock.highWaterBlock() * blockSize > device.lengthBytes()) {
            return "image is " + device.lengthBytes() + " bytes but the superblock uses "
                    + superblock.highWaterBlock() * blockSize + "; the image was truncated";
        }
        NodeReader reader = new NodeReader(device, blockSize, new VerifiedBlocks());
        NodeView view = new NodeView();
        try {
            reader.read(superblock.catalogRoot(), TreeIds.CATALOG, -1, view);
            reader.read(superblock.spaceRoot(), TreeIds.SPACE, -1, view);
            return null;
        } catch (IOException e) {
            return e.getMessage();
        }
    }

    static void checkFeatures(Superblock superblock, boolean readOnly) throws IncompatibleImageException {
        long unknownIncompat = superblock.incompatFeatures() & ~SuperblockLayout.KNOWN_INCOMPAT_FEATURES;
        if (unknownIncompat != 0) {
            throw new IncompatibleImageException(String.format("image uses incompatible features %x that this "
                    + "version of cowfs does not know; open it with a newer version", unknownIncompat));
        }
        long unknownRoCompat = superblock.roCompatFeatures() & ~SuperblockLayout.KNOWN_RO_COMPAT_FEATURES;
        if (unknownRoCompat != 0 && !readOnly) {
            throw new IncompatibleImageException(String.format("image uses features %x that this version can "
                    + "only read; open it read-only or with a newer version", unknownRoCompat));
        }
    }

    private static boolean isAllZero(byte[] bytes) {
        for (byte b : bytes) {
            if (b != 0) {
                return false;
            }
        }
        return true;
    }
}
