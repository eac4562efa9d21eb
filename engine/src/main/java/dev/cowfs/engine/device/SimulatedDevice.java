package dev.cowfs.engine.device;

import dev.cowfs.engine.error.CorruptionException;
import dev.cowfs.engine.error.OutOfSpaceException;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A device held in memory that records every write, barrier and marker in order, so that the image as it
 * would be after a power loss at any point can be rebuilt ({@link CrashStates}). Pages are kept sparsely, and a
 * device forked from an image shares that image's pages until it writes them.
 */
public final class SimulatedDevice implements BlockDevice {
    public static final int PAGE_BYTES = 4096;

    /** One recorded event. */
    public sealed interface Op permits Write, Barrier, Marker, Shrink {
        long sequence();
    }

    /**
     * A write. One of no bytes is the growth of the image to {@code offset} bytes, which a power loss before the
     * next barrier can undo like any write (a host filesystem makes a file's new size durable at a sync).
     */
    public record Write(long sequence, long offset, byte[] bytes) implements Op {
        public boolean isGrowth() {
            return bytes.length == 0;
        }
    }

    public record Barrier(long sequence) implements Op {
    }

    /**
     * The image cut to {@code lengthBytes}. Barriers come before and after it (see {@link #shrink}), so a crash
     * state has it whole or not at all.
     */
    public record Shrink(long sequence, long lengthBytes) implements Op {
    }

    public record Marker(long sequence, String label) implements Op {
    }

    /** Pages of immutable images: never written (a write copies the page into {@link #ownPages} first). */
    private Map<Long, byte[]> sharedPages;
    private final Map<Long, byte[]> ownPages = new HashMap<>();
    private long lengthBytes;
    private final List<Op> log = new ArrayList<>();
    private boolean recording = true;
    private boolean closed;
    private boolean readOnly;
    private long bytesRead;
    private long capacityBytes = Long.MAX_VALUE;
    /** Operations (writes and barriers) left before the injected I/O error; negative when none is armed. */
    private long operationsBeforeFailure = -1;

    public SimulatedDevice() {
        this(Map.of(), 0);
    }

    private SimulatedDevice(Map<Long, byte[]> sharedPages, long lengthBytes) {
        this.sharedPages = sharedPages;
        this.lengthBytes = lengthBytes;
    }

    /** A device holding exactly this image; the pages are shared, never modified. */
    public static SimulatedDevice ofImage(Image image) {
        return new SimulatedDevice(image.pages(), image.lengthBytes());
    }

    /** An immutable image: sparse pages plus a length. */
    public record Image(Map<Long, byte[]> pages, long lengthBytes) {
    }

    /**
     * The device's current contents as an immutable image, without copying: the pages this device wrote become
     * shared pages of the image (a later write copies them again). Pages that did not change keep their identity
     * from image to image, which lets {@link #verifiedBefore} recognise them.
     */
    public Image freeze() {
        if (!ownPages.isEmpty()) {
            Map<Long, byte[]> pages = new HashMap<>(sharedPages);
            pages.putAll(ownPages);
            ownPages.clear();
            sharedPages = Collections.unmodifiableMap(pages);
        }
        return new Image(sharedPages, lengthBytes);
    }

    /**
     * Verifications already made, by range and claim: the pages the bytes lay in, by identity. Pages of an
     * {@link Image} are never modified, so the same page objects at the same offsets are the same bytes, and the
     * verification holds again. Shared by all simulated devices; bounded, and emptied when full.
     */
    private static final Map<VerifiedRange, byte[][]> VERIFIED = new java.util.concurrent.ConcurrentHashMap<>();
    private static final int MAX_VERIFIED = 16_384;

    private record VerifiedRange(long offset, int length, long claim) {
    }

    @Override
    public boolean verifiedBefore(long offset, int length, long claim) {
        byte[][] pages = VERIFIED.get(new VerifiedRange(offset, length, claim));
        if (pages == null || offset < 0 || length <= 0 || offset + length > lengthBytes) {
            return false;
        }
        long first = offset / PAGE_BYTES;
        for (int i = 0; i < pages.length; i++) {
            if (immutablePage(first + i) != pages[i]) {
                return false;
            }
        }
        return true;
    }

    @Override
    public void rememberVerified(long offset, int length, long claim) {
        if (offset < 0 || length <= 0) {
            return;
        }
        long first = offset / PAGE_BYTES;
        byte[][] pages = new byte[(int) ((offset + length - 1) / PAGE_BYTES - first + 1)][];
        for (int i = 0; i < pages.length; i++) {
            pages[i] = immutablePage(first + i);
            if (pages[i] == null) {
                return; // a page this device wrote may change again: nothing to remember
            }
        }
        if (VERIFIED.size() >= MAX_VERIFIED) {
            VERIFIED.clear();
        }
        VERIFIED.put(new VerifiedRange(offset, length, claim), pages);
    }

    /** The page as an immutable object (a shared page, or the zero page), or null when this device wrote it. */
    private byte[] immutablePage(long index) {
        if (ownPages.containsKey(index)) {
            return null;
        }
        byte[] shared = sharedPages.get(index);
        return shared == null ? ZERO_PAGE : shared;
    }

    /** The device's current contents as an immutable image (pages copied). */
    public Image image() {
        Map<Long, byte[]> pages = new HashMap<>(sharedPages);
        ownPages.forEach((page, bytes) -> pages.put(page, bytes.clone()));
        return new Image(Collections.unmodifiableMap(pages), lengthBytes);
    }

    /**
     * A 128-bit digest of contents: two independent 64-bit sums over pages. Sums, so that a state's digest can be
     * computed from the digest of the image it was made from and the pages it changed, in any order.
     */
    public record Digest(long first, long second) {
        public static final Digest ZERO = new Digest(0, 0);

        public Digest plus(Digest other) {
            return new Digest(first + other.first, second + other.second);
        }

        public Digest minus(Digest other) {
            return new Digest(first - other.first, second - other.second);
        }
    }

    private static final net.jpountz.xxhash.XXHash64 XXHASH =
            net.jpountz.xxhash.XXHashFactory.safeInstance().hash64();
    private static final long SEED_FIRST = 0x636f7766735f3131L;
    private static final long SEED_SECOND = 0x1d8e4e27c47d124fL;

    /**
     * The digest of the contents (length and every page; an all-zero page counts as absent), equal for equal
     * contents however the device was built: lets the crash harness check each distinct state once.
     */
    public Digest contentDigest() {
        Digest digest = lengthDigest(lengthBytes);
        java.util.Set<Long> pages = new java.util.HashSet<>(sharedPages.keySet());
        pages.addAll(ownPages.keySet());
        for (long index : pages) {
            digest = digest.plus(pageDigest(index, page(index)));
        }
        return digest;
    }

    /**
     * {@link #contentDigest} of a device made by {@link #ofImage}, from the image's digest and length: only the
     * pages this device wrote are hashed.
     */
    public Digest contentDigestFrom(Digest image, long imageLengthBytes) {
        Digest digest = withLength(image, imageLengthBytes, lengthBytes);
        for (Map.Entry<Long, byte[]> own : ownPages.entrySet()) {
            digest = digest.plus(pageDigest(own.getKey(), own.getValue()))
                    .minus(pageDigest(own.getKey(), sharedPages.get(own.getKey())));
        }
        return digest;
    }

    /** A {@link #contentDigest} with the device length changed from {@code before} to {@code after}. */
    public static Digest withLength(Digest digest, long before, long after) {
        return digest.minus(lengthDigest(before)).plus(lengthDigest(after));
    }

    private static Digest lengthDigest(long lengthBytes) {
        return new Digest(lengthBytes * 0x9E3779B97F4A7C15L, lengthBytes * 0xC2B2AE3D27D4EB4FL);
    }

    /** A copy of a page's bytes (zeros when unwritten). */
    byte[] pageCopy(long index) {
        byte[] bytes = page(index);
        return bytes == null ? new byte[PAGE_BYTES] : bytes.clone();
    }

    static Digest pageDigest(long index, byte[] bytes) {
        if (bytes == null || isZero(bytes)) {
            return Digest.ZERO;
        }
        long first = XXHASH.hash(bytes, 0, bytes.length, SEED_FIRST ^ index * 0xBF58476D1CE4E5B9L);
        long second = XXHASH.hash(bytes, 0, bytes.length, SEED_SECOND + index * 0x94D049BB133111EBL);
        return new Digest(first, second);
    }

    private static boolean isZero(byte[] bytes) {
        for (byte b : bytes) {
            if (b != 0) {
                return false;
            }
        }
        return true;
    }

    /** Bytes read so far (copies and windows): lets tests bound what an operation reads. */
    public long bytesRead() {
        return bytesRead;
    }

    public List<Op> log() {
        return Collections.unmodifiableList(log);
    }

    public void clearLog() {
        log.clear();
    }

    public void setRecording(boolean recording) {
        this.recording = recording;
    }

    public void setReadOnly(boolean readOnly) {
        this.readOnly = readOnly;
    }

    @Override
    public long lengthBytes() {
        return lengthBytes;
    }

    @Override
    public void ensureLength(long wanted) throws OutOfSpaceException {
        if (wanted > capacityBytes) {
            throw new OutOfSpaceException("simulated device is full: " + wanted + " bytes wanted, capacity "
                    + capacityBytes);
        }
        if (wanted > lengthBytes) {
            if (recording) {
                log.add(new Write(log.size(), wanted, new byte[0])); // growth: sparse, it takes no host space
            }
            lengthBytes = wanted;
        }
    }

    /**
     * Cuts the image to whole pages, never below the far superblock region: a barrier, the cut, a barrier, as the
     * file device makes the cut durable on its own.
     */
    @Override
    public long shrink(long minimumBytes) throws IOException {
        if (closed) {
            throw new IOException("device closed");
        }
        if (readOnly) {
            throw new dev.cowfs.engine.error.ReadOnlyEngineException("simulated device is read-only");
        }
        long floor = dev.cowfs.engine.format.Limits.FAR_SUPERBLOCK_OFFSET_BYTES
                + dev.cowfs.engine.format.Limits.FAR_REGION_BYTES;
        long target = Math.max(floor, (Math.max(minimumBytes, 1) + PAGE_BYTES - 1) / PAGE_BYTES * PAGE_BYTES);
        if (target >= lengthBytes) {
            return lengthBytes;
        }
        barrier();
        if (failureKind == Failure.IO_ERROR && failureDue()) { // a cut needs no room: only an I/O error meets it
            failureInjected = true;
            throw new IOException("simulated I/O error cutting the image to " + target + " bytes");
        }
        if (recording) {
            log.add(new Shrink(log.size(), target));
        }
        applyShrink(target);
        barrier();
        return target;
    }

    @Override
    public long shrinkUnitBytes() {
        return PAGE_BYTES;
    }

    /**
     * Cuts the contents to {@code target} bytes (a whole number of pages) without recording it: pages past it are
     * gone, so growing again reads zeros there. The pages become this device's shared pages: a digest must then be
     * computed afresh ({@link #contentDigest}), not from an earlier one.
     */
    void applyShrink(long target) {
        Map<Long, byte[]> pages = new HashMap<>(sharedPages);
        pages.putAll(ownPages);
        ownPages.clear();
        pages.keySet().removeIf(index -> index * PAGE_BYTES >= target);
        sharedPages = Collections.unmodifiableMap(pages);
        lengthBytes = target;
    }

    @Override
    public long growableBytes() {
        return capacityBytes == Long.MAX_VALUE ? Long.MAX_VALUE : Math.max(0, capacityBytes - lengthBytes);
    }

    /** Makes growth beyond {@code bytes} fail with {@link OutOfSpaceException}, as a full disk would. */
    public void setCapacityBytes(long bytes) {
        this.capacityBytes = bytes;
    }

    /** Whether the failure armed by {@link #failAfter} has reached a caller (an exception was thrown). */
    public boolean failureInjected() {
        return failureInjected;
    }

    private boolean failureInjected;

    /** How the device fails, from the operation {@link #failAfter} names. */
    public enum Failure {
        /** That write or barrier fails with an I/O error, as a dying disk would. */
        IO_ERROR,
        /**
         * The first write from there on fails for lack of space (as a thin-provisioned or copy-on-write host may
         * refuse any write), after half of its whole pages landed; later writes work again.
         */
        NO_SPACE,
        /**
         * From there on the host filesystem is full: a write into a page the image never held (a hole of the
         * sparse file) fails for lack of space, after the pages before it landed, unless the host reserve
         * ({@link #setHostReserveBytes}) is allowed ({@link #allowHostReserve}): the first such write releases it
         * for every later one. Pages the image holds can be written again.
         */
        HOST_FULL
    }

    private Failure failureKind = Failure.IO_ERROR;
    private boolean hostFull;
    private long hostFreePages;
    private long hostReservePages;
    private boolean hostReserveAllowed;
    private boolean hostReserveReleased;

    /** The write or barrier after {@code operations} more of them fails with an I/O error, as a dying disk would. */
    public void failAfter(long operations) {
        failAfter(operations, Failure.IO_ERROR);
    }

    /** Arms a failure of this kind at the device operation (write or barrier) after {@code operations} more. */
    public void failAfter(long operations, Failure kind) {
        this.operationsBeforeFailure = operations;
        this.failureKind = kind;
    }

    /** Host space kept aside for the engine's commits and deletes once the host is full ({@link Failure#HOST_FULL}). */
    public void setHostReserveBytes(long bytes) {
        this.hostReservePages = (bytes + PAGE_BYTES - 1) / PAGE_BYTES;
    }

    /** Whether the host filesystem has run full ({@link Failure#HOST_FULL}). */
    public boolean hostFull() {
        return hostFull;
    }

    @Override
    public void allowHostReserve(boolean allowed) {
        hostReserveAllowed = allowed;
    }

    @Override
    public boolean hostReserveGivenUp() {
        return hostReserveReleased; // the host never frees space here, so the reserve is never made again
    }

    /** Counts one device operation; true when the armed failure is due at this one. */
    private boolean failureDue() {
        if (operationsBeforeFailure == 0) {
            operationsBeforeFailure = -1;
            return true;
        }
        if (operationsBeforeFailure > 0) {
            operationsBeforeFailure--;
        }
        return false;
    }

    /**
     * How many bytes of a write of {@code length} at {@code offset} find room once the host is full: up to the
     * first page that is a hole and for which no free host page is left.
     */
    private int bytesWithRoom(long offset, int length) {
        long firstPage = offset / PAGE_BYTES;
        long lastPage = (offset + length - 1) / PAGE_BYTES;
        for (long index = firstPage; index <= lastPage && length > 0; index++) {
            if (page(index) != null) {
                continue;
            }
            if (hostFreePages == 0 && hostReserveAllowed && !hostReserveReleased) {
                hostReserveReleased = true;
                hostFreePages += hostReservePages;
            }
            if (hostFreePages == 0) {
                return (int) Math.max(0, index * PAGE_BYTES - offset);
            }
            hostFreePages--;
        }
        return length;
    }

    @Override
    public long windowAlignmentBytes() {
        return 1L << 30;
    }

    @Override
    public void window(long offset, int length, BlockWindow window) throws IOException {
        int inPage = (int) (offset % PAGE_BYTES);
        if (inPage + length <= PAGE_BYTES && offset >= 0 && length >= 0) {
            checkRange(offset, length);
            bytesRead += length;
            byte[] bytes = page(offset / PAGE_BYTES);
            // Like the mapped device, a window looks at the stored bytes themselves; pages shared with other
            // devices are never written (apply copies them first).
            window.set(bytes == null ? ZERO_PAGE : bytes, RawMemory.BYTE_ARRAY_BASE + inPage);
            return;
        }
        byte[] copy = new byte[length];
        read(offset, copy, 0, length);
        window.set(copy, RawMemory.BYTE_ARRAY_BASE);
    }

    /** What an unwritten page reads as; never written. */
    private static final byte[] ZERO_PAGE = new byte[PAGE_BYTES];

    @Override
    public void read(long offset, byte[] dst, int dstOffset, int length) throws IOException {
        checkRange(offset, length);
        bytesRead += length;
        while (length > 0) {
            long page = offset / PAGE_BYTES;
            int inPage = (int) (offset % PAGE_BYTES);
            int piece = Math.min(length, PAGE_BYTES - inPage);
            byte[] bytes = page(page);
            if (bytes == null) {
                java.util.Arrays.fill(dst, dstOffset, dstOffset + piece, (byte) 0);
            } else {
                System.arraycopy(bytes, inPage, dst, dstOffset, piece);
            }
            offset += piece;
            dstOffset += piece;
            length -= piece;
        }
    }

    @Override
    public void write(long offset, byte[] src, int srcOffset, int length) throws IOException {
        if (readOnly) {
            throw new IOException("simulated device is read-only");
        }
        int landing = length;
        IOException failure = null;
        if (failureDue()) {
            switch (failureKind) {
                case IO_ERROR -> {
                    failureInjected = true;
                    throw new IOException("simulated I/O error on write at " + offset);
                }
                case NO_SPACE -> {
                    operationsBeforeFailure = -1;
                    landing = (length / PAGE_BYTES / 2) * PAGE_BYTES;
                    failure = new OutOfSpaceException("simulated device: no space left for bytes " + offset + ".."
                            + (offset + length));
                }
                case HOST_FULL -> hostFull = true;
            }
        }
        if (hostFull && failure == null) {
            landing = bytesWithRoom(offset, length);
            if (landing < length) {
                failure = new OutOfSpaceException("simulated host filesystem is full: no room for bytes "
                        + (offset + landing) + ".." + (offset + length));
            }
        }
        if (landing > 0) {
            lengthBytes = Math.max(lengthBytes, offset + landing);
            if (recording) {
                log.add(new Write(log.size(), offset,
                        java.util.Arrays.copyOfRange(src, srcOffset, srcOffset + landing)));
            }
            apply(offset, src, srcOffset, landing);
        }
        if (failure != null) {
            failureInjected = true;
            throw failure;
        }
    }

    /** Writes bytes without recording them: how crash states are built. */
    void apply(long offset, byte[] src, int srcOffset, int length) {
        lengthBytes = Math.max(lengthBytes, offset + length);
        while (length > 0) {
            long page = offset / PAGE_BYTES;
            int inPage = (int) (offset % PAGE_BYTES);
            int piece = Math.min(length, PAGE_BYTES - inPage);
            byte[] bytes = ownPages.get(page);
            if (bytes == null) {
                byte[] shared = sharedPages.get(page);
                bytes = shared == null ? new byte[PAGE_BYTES] : shared.clone();
                ownPages.put(page, bytes);
            }
            System.arraycopy(src, srcOffset, bytes, inPage, piece);
            offset += piece;
            srcOffset += piece;
            length -= piece;
        }
    }

    private byte[] page(long page) {
        byte[] bytes = ownPages.get(page);
        return bytes != null ? bytes : sharedPages.get(page);
    }

    private void checkRange(long offset, int length) throws CorruptionException {
        if (offset < 0 || length < 0 || offset + length > lengthBytes) {
            throw new CorruptionException(-1, "bytes " + offset + ".." + (offset + length)
                    + " lie beyond the end of the image (" + lengthBytes + " bytes)");
        }
    }

    @Override
    public void barrier() throws IOException {
        if (closed) {
            throw new IOException("device closed");
        }
        if (failureDue()) {
            switch (failureKind) {
                case IO_ERROR -> {
                    failureInjected = true;
                    throw new IOException("simulated I/O error on barrier");
                }
                case NO_SPACE -> operationsBeforeFailure = 0; // a barrier asks for no space: the next write fails
                case HOST_FULL -> hostFull = true;
            }
        }
        if (recording) {
            log.add(new Barrier(log.size()));
        }
    }

    @Override
    public void marker(String label) {
        if (recording) {
            log.add(new Marker(log.size(), label));
        }
    }

    @Override
    public boolean isReadOnly() {
        return readOnly;
    }

    @Override
    public void close() {
        closed = true;
    }

    /** Test hook for corruption tests: the bytes currently stored, writable. */
    public void corrupt(long offset, int bitIndex) {
        byte[] one = new byte[1];
        try {
            read(offset, one, 0, 1);
        } catch (IOException e) {
            throw new IllegalArgumentException(e);
        }
        one[0] ^= (byte) (1 << bitIndex);
        apply(offset, one, 0, 1);
    }
}
