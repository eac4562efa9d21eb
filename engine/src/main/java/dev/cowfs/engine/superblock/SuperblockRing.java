package dev.cowfs.engine.superblock;

import dev.cowfs.engine.btree.NodeReader;
import dev.cowfs.engine.btree.NodeView;
import dev.cowfs.engine.device.BlockDevice;
import dev.cowfs.engine.device.VerifiedBlocks;
import dev.cowfs.engine.error.CorruptionException;
import dev.cowfs.engine.error.IncompatibleImageException;
import dev.cowfs.engine.error.NewerGenerationDamagedException;
import dev.cowfs.engine.error.NoRetainedGenerationException;
import dev.cowfs.engine.format.Bytes;
import dev.cowfs.engine.format.Limits;
import dev.cowfs.engine.format.SuperblockLayout;
import dev.cowfs.engine.format.TreeIds;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The superblock ring on the device: where each copy is written, and which copy an open chooses.
 *
 * <p>Invariants, each enforced here:
 * <ul>
 * <li>A commit writes its superblock into ring slot {@code generation % SUPERBLOCK_RING_SLOTS}, never the slot of
 * the newest durable superblock ({@link #writeRingSlot}); the far copy holds the previous commit's superblock,
 * written before the commit's first barrier ({@link #writeFarCopy}).</li>
 * <li>An open takes the newest copy whose own checksum verifies, whose reserved bytes are zero, and whose root
 * blocks verify ({@link #choose}); an older copy is taken only when newer ones do not verify, and then only on a
 * read-only open or one that accepts giving the newer ones up, and always with a warning.</li>
 * <li>Copies of consecutive generations form a chain: each records its parent's checksum
 * ({@link #verifyParentChain}); a copy whose parent in the ring does not match is not of this image's history and
 * is passed over.</li>
 * </ul>
 */
public final class SuperblockRing {
    private SuperblockRing() {
    }

    /** Writes a commit's superblock into its ring slot; returns its checksum, which the next commit records. */
    public static int writeRingSlot(BlockDevice device, Superblock superblock) throws IOException {
        byte[] bytes = superblock.encode();
        device.write(Limits.superblockSlotOffset(superblock.ringSlot()), bytes, 0, bytes.length);
        return Bytes.getInt(bytes, SuperblockLayout.CHECKSUM_OFFSET);
    }

    /**
     * Writes the far copy: the previous commit's superblock, with the commit's data blocks before its first
     * barrier. The far copy therefore always holds a generation inside the retention window (its blocks are never
     * reused while it can be chosen), and the final flush of a commit writes a single page.
     */
    public static void writeFarCopy(BlockDevice device, Superblock superblock) throws IOException {
        byte[] bytes = superblock.encode();
        device.write(Limits.FAR_SUPERBLOCK_OFFSET_BYTES, bytes, 0, bytes.length);
    }

    /** All superblock copies that decode, newest first (duplicates of one generation kept once). */
    public static List<Superblock> readCopies(BlockDevice device, List<String> problems) throws IOException {
        List<Superblock> copies = new ArrayList<>();
        for (int slot = 0; slot <= Limits.SUPERBLOCK_RING_SLOTS; slot++) {
            boolean far = slot == Limits.SUPERBLOCK_RING_SLOTS;
            String where = far ? "far superblock copy" : "superblock slot " + slot;
            byte[] bytes = copyBytes(device, slot);
            if (bytes == null) {
                problems.add(where + ": beyond the end of the image");
                continue;
            }
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

    /**
     * The superblock copies that do not verify, as one problem each for the checker's report: a copy claiming a
     * generation newer than {@code openedGeneration} means that commit is lost (damaged, or cut off by a crash
     * before its superblock was whole), which the image's newest state then lacks; any other means a retained
     * generation (the fall-back window) is lost. All-zero slots, which an image younger than the ring has, are no
     * copies.
     */
    public static List<String> damagedCopies(BlockDevice device, long openedGeneration) throws IOException {
        List<String> damaged = new ArrayList<>();
        for (int slot = 0; slot <= Limits.SUPERBLOCK_RING_SLOTS; slot++) {
            boolean far = slot == Limits.SUPERBLOCK_RING_SLOTS;
            String where = far ? "far superblock copy" : "superblock ring slot " + slot;
            byte[] bytes = copyBytes(device, slot);
            if (bytes == null || isAllZero(bytes)) {
                continue; // past the end: the truncation check on open refuses such an image before any check
            }
            String failure;
            try {
                Superblock copy = Superblock.decode(bytes, where);
                if (far || copy.ringSlot() == slot) {
                    continue;
                }
                failure = where + " holds generation " + copy.generation() + ", which belongs in slot "
                        + copy.ringSlot();
            } catch (CorruptionException e) {
                failure = e.getMessage();
            }
            long claimed = Bytes.getLong(bytes, SuperblockLayout.MAGIC_OFFSET) == SuperblockLayout.MAGIC
                    ? Bytes.getLong(bytes, SuperblockLayout.GENERATION_OFFSET) : -1;
            boolean plausible = claimed > 0 && (far || claimed % Limits.SUPERBLOCK_RING_SLOTS == slot);
            if (plausible && claimed > openedGeneration) {
                damaged.add("generation " + claimed + " is lost: its superblock does not verify (" + failure
                        + "); the image opens at generation " + openedGeneration + ", without that commit's changes "
                        + "(damage, or a crash before the commit was whole)");
            } else {
                damaged.add((plausible ? "retained generation " + claimed : "a retained generation")
                        + " is lost: " + failure + "; the image can no longer fall back to it");
            }
        }
        List<Superblock> copies = readCopies(device, new ArrayList<>());
        for (Superblock copy : copies) {
            String broken = verifyParentChain(copies, copy);
            if (broken != null) {
                damaged.add("generation " + copy.generation() + ": " + broken);
            }
        }
        return damaged;
    }

    /**
     * Null when {@code superblock}'s parent checksum matches the copy of the generation before it among
     * {@code copies}, or when that generation has no copy (it left the ring, or the image starts there); else why
     * not: the two copies are not of one history (a slot restored or written from elsewhere).
     */
    public static String verifyParentChain(List<Superblock> copies, Superblock superblock) {
        Superblock mismatch = null;
        for (Superblock parent : copies) {
            if (parent.generation() == superblock.generation() - 1) {
                if (parent.checksum() == superblock.parentChecksum()) {
                    return null;
                }
                mismatch = parent;
            }
        }
        return mismatch == null ? null : String.format("its parent checksum %08x does not match generation %d's "
                + "superblock (%08x): the two copies are not of one history", superblock.parentChecksum(),
                mismatch.generation(), mismatch.checksum());
    }

    /** The bytes of ring slot {@code slot}, or of the far copy for the slot after the ring; null past the end. */
    private static byte[] copyBytes(BlockDevice device, int slot) throws IOException {
        long offset = slot == Limits.SUPERBLOCK_RING_SLOTS ? Limits.FAR_SUPERBLOCK_OFFSET_BYTES
                : Limits.superblockSlotOffset(slot);
        if (offset + SuperblockLayout.BYTES > device.lengthBytes()) {
            return null;
        }
        byte[] bytes = new byte[SuperblockLayout.BYTES];
        device.read(offset, bytes, 0, bytes.length);
        return bytes;
    }

    /** How the warning of a fall-back to an older commit begins (its newer commit landed but did not verify). */
    public static final String FELL_BACK = "opened generation ";

    /**
     * The generations this image keeps superblock copies of, newest first: the ring and the far copy. Every one
     * whose roots verify can be opened read-only (the store's {@code openGeneration} option): their blocks are
     * not reused while they are in the ring.
     */
    public static List<RetainedGeneration> retainedGenerations(BlockDevice device) throws IOException {
        List<RetainedGeneration> retained = new ArrayList<>();
        for (Superblock copy : readCopies(device, new ArrayList<>())) {
            String where = copy.ringSlot() >= 0 && ringSlotHolds(device, copy) ? "ring slot " + copy.ringSlot()
                    : "far copy";
            retained.add(new RetainedGeneration(copy.generation(), copy.commitTimeMillis(), where, verifyRoots(device, copy)));
        }
        return retained;
    }

    /** The retained generation {@code wanted}, opened read-only on request; it must verify. */
    public static Superblock chooseGeneration(BlockDevice device, long wanted, List<String> warnings)
            throws IOException {
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
    public static Superblock retainedCopy(List<Superblock> copies, long generation) throws NoRetainedGenerationException {
        for (Superblock copy : copies) {
            if (copy.generation() == generation) {
                return copy;
            }
        }
        throw new NoRetainedGenerationException("generation " + generation + " is not retained in this image (it "
                + "keeps " + copies.stream().map(c -> Long.toString(c.generation())).toList()
                + "; see cowfs info --generations)");
    }

    /**
     * The newest copy whose roots verify. {@code mayFallBack}: whether an older one may be chosen when newer ones
     * do not verify (read-only opens, or a writable open that accepts the loss); otherwise that is a
     * {@link NewerGenerationDamagedException}. {@code readOnly}: nothing may be written (a ring slot is rewritten
     * from the far copy only on writable opens).
     */
    public static Superblock choose(BlockDevice device, boolean mayFallBack, boolean readOnly,
                                    List<String> warnings) throws IOException {
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
            String failure = verifyParentChain(copies, candidate);
            if (failure == null) {
                failure = verifyRoots(device, candidate);
            }
            if (failure == null) {
                if (candidate != copies.get(0) && !mayFallBack) {
                    throw new NewerGenerationDamagedException(copies.get(0).generation(), candidate.generation(),
                            String.join("; ", problems), "IMAGE");
                }
                if (candidate != copies.get(0) && !readOnly) {
                    giveUpNewer(device, copies, candidate, warnings);
                }
                if (!readOnly && !ringSlotHolds(device, candidate)) {
                    writeRingSlot(device, candidate);
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

    /**
     * A writable open that accepts falling back to {@code candidate}: the newer copies, whose roots do not verify,
     * are given up. Their ring slots are cleared and a far copy among them is replaced by the candidate, so that
     * the next commit (numbered after the candidate, as deferred reuse requires) is the newest copy on the next
     * open. Durable before the open goes on; a crash meanwhile leaves the image opening at the candidate too.
     */
    private static void giveUpNewer(BlockDevice device, List<Superblock> copies, Superblock candidate,
                                    List<String> warnings) throws IOException {
        List<Long> givenUp = new ArrayList<>();
        for (Superblock newer : copies) {
            if (newer.generation() <= candidate.generation()) {
                break;
            }
            givenUp.add(newer.generation());
            if (ringSlotHolds(device, newer)) {
                byte[] zeros = new byte[SuperblockLayout.BYTES];
                device.write(Limits.superblockSlotOffset(newer.ringSlot()), zeros, 0, zeros.length);
            }
        }
        byte[] far = new byte[SuperblockLayout.BYTES];
        device.read(Limits.FAR_SUPERBLOCK_OFFSET_BYTES, far, 0, far.length);
        if (!isAllZero(far) && Bytes.getLong(far, SuperblockLayout.GENERATION_OFFSET) > candidate.generation()) {
            writeFarCopy(device, candidate);
        }
        device.barrier();
        warnings.add("gave up generation(s) " + givenUp + ", whose roots do not verify: the image goes on from "
                + "generation " + candidate.generation());
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
    public static String verifyRoots(BlockDevice device, Superblock superblock) {
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

    public static void checkFeatures(Superblock superblock, boolean readOnly) throws IncompatibleImageException {
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
        return Superblock.isZero(bytes, 0, bytes.length);
    }
}
