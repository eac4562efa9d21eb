package dev.cowfs.engine.crash;

import dev.cowfs.engine.block.BlockDevice;
import dev.cowfs.engine.block.BlockWindow;
import dev.cowfs.engine.block.CorruptionException;
import dev.cowfs.engine.block.OutOfSpaceException;
import dev.cowfs.engine.block.RawMemory;

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
    public sealed interface Op permits Write, Barrier, Marker {
        long sequence();
    }

    public record Write(long sequence, long offset, byte[] bytes) implements Op {
    }

    public record Barrier(long sequence) implements Op {
    }

    public record Marker(long sequence, String label) implements Op {
    }

    private final Map<Long, byte[]> sharedPages;
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

    /** The device's current contents as an immutable image (pages copied). */
    public Image image() {
        Map<Long, byte[]> pages = new HashMap<>(sharedPages);
        ownPages.forEach((page, bytes) -> pages.put(page, bytes.clone()));
        return new Image(Collections.unmodifiableMap(pages), lengthBytes);
    }

    /**
     * A 64-bit hash of the contents (length and every page; an all-zero page counts as absent), equal for equal
     * contents however the device was built: lets the crash harness check each distinct state once.
     */
    public long contentHash() {
        long hash = lengthBytes * LENGTH_FACTOR;
        java.util.Set<Long> pages = new java.util.HashSet<>(sharedPages.keySet());
        pages.addAll(ownPages.keySet());
        for (long index : pages) {
            hash += pageHash(index, page(index)); // a sum: independent of the order pages are visited in
        }
        return hash;
    }

    /**
     * {@link #contentHash} of a device made by {@link #ofImage}, from the image's hash and length: only the
     * pages this device wrote are hashed.
     */
    public long contentHashFrom(long imageHash, long imageLengthBytes) {
        long hash = imageHash - imageLengthBytes * LENGTH_FACTOR + lengthBytes * LENGTH_FACTOR;
        for (Map.Entry<Long, byte[]> own : ownPages.entrySet()) {
            hash += pageHash(own.getKey(), own.getValue()) - pageHash(own.getKey(), sharedPages.get(own.getKey()));
        }
        return hash;
    }

    private static final long LENGTH_FACTOR = 0x9E3779B97F4A7C15L;

    /** A {@link #contentHash} with the device length changed from {@code before} to {@code after}. */
    public static long withLength(long hash, long before, long after) {
        return hash - before * LENGTH_FACTOR + after * LENGTH_FACTOR;
    }

    /** A copy of a page's bytes (zeros when unwritten). */
    byte[] pageCopy(long index) {
        byte[] bytes = page(index);
        return bytes == null ? new byte[PAGE_BYTES] : bytes.clone();
    }

    static long pageHash(long index, byte[] bytes) {
        if (bytes == null || isZero(bytes)) {
            return 0;
        }
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(bytes);
        long mixed = (index + 1) * 0xBF58476D1CE4E5B9L ^ crc.getValue() * 0x94D049BB133111EBL;
        mixed ^= mixed >>> 31;
        return mixed * LENGTH_FACTOR;
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
        lengthBytes = Math.max(lengthBytes, wanted);
    }

    /** Makes growth beyond {@code bytes} fail with {@link OutOfSpaceException}, as a full disk would. */
    public void setCapacityBytes(long bytes) {
        this.capacityBytes = bytes;
    }

    /** The write or barrier after {@code operations} more of them fails with an I/O error, as a dying disk would. */
    public void failAfter(long operations) {
        this.operationsBeforeFailure = operations;
    }

    private void maybeFail(String what) throws IOException {
        if (operationsBeforeFailure == 0) {
            operationsBeforeFailure = -1;
            throw new IOException("simulated I/O error on " + what);
        }
        if (operationsBeforeFailure > 0) {
            operationsBeforeFailure--;
        }
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
        maybeFail("write at " + offset);
        lengthBytes = Math.max(lengthBytes, offset + length);
        if (recording) {
            log.add(new Write(log.size(), offset, java.util.Arrays.copyOfRange(src, srcOffset, srcOffset + length)));
        }
        apply(offset, src, srcOffset, length);
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
        maybeFail("barrier");
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
