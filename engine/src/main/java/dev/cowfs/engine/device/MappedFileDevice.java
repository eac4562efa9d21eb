package dev.cowfs.engine.device;

import dev.cowfs.engine.error.CorruptionException;
import dev.cowfs.engine.error.OutOfSpaceException;
import dev.cowfs.engine.error.ReadOnlyEngineException;
import dev.cowfs.engine.format.Limits;
import net.openhft.chronicle.bytes.MappedBytesStore;
import net.openhft.chronicle.bytes.MappedFile;
import net.openhft.chronicle.core.io.ReferenceOwner;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * An image file read through a Chronicle Bytes mapping and written with positional writes. Reads of verified
 * blocks go straight to the mapped memory; every write (blocks, superblock slots, the far copy) goes through
 * the {@link FileChannel} into the same page cache, so the mapping sees it at once, and the barrier is one
 * {@code fdatasync}, which writes back exactly the pages written since the last barrier and flushes the
 * device once. Writing through the mapping instead costs a write fault on the first store to each clean page
 * and a write-protect pass at every sync: measured on ext4, it made a one-key durable commit about 1.5 times
 * slower (see ARCHITECTURE.md). Growth extends the file sparsely. A full host filesystem surfaces as
 * {@link OutOfSpaceException} from the write that needs the space (blocks are written only where nothing
 * committed lives, so the failed write changes nothing durable), never as a SIGBUS: the mapping is read-only
 * and never reaches past the file's end.
 *
 * <p>Thread safety: any number of threads may call {@link #window} and {@link #read}; one thread writes.
 */
public final class MappedFileDevice implements BlockDevice {
    private static final ReferenceOwner OWNER = ReferenceOwner.temporary("cowfs-device");

    private final Path path;
    private final boolean readOnly;
    /** Reads of at least a page into a direct buffer (a mount's requests) use pread rather than the mapping. */
    private static final int PREAD_MIN_BYTES = 4096;
    /**
     * Whether an interrupted thread leaves the channel open; without it (the JVM flags of engine/jvm.args missing)
     * reads stay on the mapping, so that only writers could be hit by an interrupt, as before.
     */
    private final boolean uninterruptible;
    private final long chunkBytes;
    private final int chunkShift;
    private final long growthStepBytes;
    private final FileChannel channel;
    private final MappedFile mappedFile;
    /** Mapped chunks by index; grown and filled under {@code this}, read without a lock. */
    private volatile MappedBytesStore[] chunks = new MappedBytesStore[0];
    /** Native address of each mapped chunk's first byte, published together with {@link #chunks}. */
    private volatile long[] chunkAddresses = new long[0];
    private volatile long lengthBytes;
    /** Whether anything was written since the last barrier. Guarded by the single writer. */
    private boolean channelDirty;
    private boolean closed;
    /** A file beside the image holding host space for commits and deletes on a full host (null: none). */
    private Path reservePath;
    private long reserveBytes;
    /** True while the reserve file is gone (given up to a write, or not made yet for lack of room). */
    private boolean reserveMissing;
    private volatile boolean reserveAllowed;

    private MappedFileDevice(Path path, boolean readOnly, long chunkBytes, long growthStepBytes,
                             java.util.function.UnaryOperator<FileChannel> layer) throws IOException {
        if (Long.bitCount(chunkBytes) != 1 || chunkBytes < Limits.MAX_BLOCK_SIZE_BYTES) {
            throw new IllegalArgumentException("mapping chunk must be a power of two >= 64 KiB: " + chunkBytes);
        }
        if (growthStepBytes < (1 << 20) || growthStepBytes % (1 << 20) != 0) {
            throw new IllegalArgumentException("growth step must be a positive multiple of 1 MiB");
        }
        this.path = path;
        this.readOnly = readOnly;
        this.chunkBytes = chunkBytes;
        this.chunkShift = Long.numberOfTrailingZeros(chunkBytes);
        this.growthStepBytes = growthStepBytes;
        FileChannel file = readOnly ? FileChannel.open(path, StandardOpenOption.READ)
                : FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        this.uninterruptible = makeUninterruptible(file);
        this.channel = layer.apply(file);
        // The length as found, even for a writable open: recovery compares it with what the superblocks use, and a
        // truncated image must be refused before anything grows or writes it. The first growth rounds it up to
        // whole mapping chunks again (extendSparse).
        this.lengthBytes = channel.size();
        // Mapped read-only even for a writable image: the mapping only serves reads, so a stray store into it faults
        // instead of changing a block behind the checksums.
        this.mappedFile = MappedFile.of(path.toFile(), chunkBytes, 0, true);
    }

    /**
     * A file channel closes itself when a thread is interrupted in the middle of its I/O, which would fail every
     * later read and write of the image (the filesystem would turn read-only over a caller's interrupt). The JDK's
     * channel can be told not to; where its class is not reachable (the JVM flags in engine/jvm.args export it),
     * the channel stays as it is.
     */
    private static boolean makeUninterruptible(FileChannel channel) {
        try {
            channel.getClass().getMethod("setUninterruptible").invoke(channel);
            return true;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return false; // not the JDK's implementation, or not exported to us: interrupts keep their effect
        }
    }

    /** Opens an existing image. */
    public static MappedFileDevice open(Path path, boolean readOnly, long chunkBytes, long growthStepBytes)
            throws IOException {
        if (!Files.isRegularFile(path)) {
            throw new java.nio.file.NoSuchFileException(path.toString(), null, "no image file here");
        }
        return new MappedFileDevice(path, readOnly, chunkBytes, growthStepBytes, file -> file);
    }

    /**
     * Opens an existing image for writing with {@code layer} between the device and the file: every write, force
     * and truncation goes through the channel the layer returns (the crash harness records them with a
     * {@link RecordingFileChannel}; its markers are recorded there too).
     */
    public static MappedFileDevice openLayered(Path path, long chunkBytes, long growthStepBytes,
                                               java.util.function.UnaryOperator<FileChannel> layer)
            throws IOException {
        if (!Files.isRegularFile(path)) {
            throw new java.nio.file.NoSuchFileException(path.toString(), null, "no image file here");
        }
        return new MappedFileDevice(path, false, chunkBytes, growthStepBytes, layer);
    }

    /**
     * New image and reserve files are the owner's alone (mode 0600): anyone who can read an image can read every
     * file in it, whatever modes they have inside. {@code cowfs mkfs --mode} widens that on request.
     */
    private static final java.nio.file.attribute.FileAttribute<?> OWNER_ONLY =
            java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                    java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));

    /** Creates a new, empty image file (mode 0600); fails if one exists. */
    public static MappedFileDevice create(Path path, long chunkBytes, long growthStepBytes) throws IOException {
        Files.newByteChannel(path, java.util.Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                OWNER_ONLY).close();
        return new MappedFileDevice(path, false, chunkBytes, growthStepBytes, file -> file);
    }

    public Path path() {
        return path;
    }

    /**
     * Keeps {@code bytes} of host space in a file beside the image ({@code <image>.reserve}): when the host
     * filesystem is full, a write allowed to ({@link #allowHostReserve}) deletes that file and goes on, and the
     * file is made again once the host has room. Without it, a delete on a full host could need new space too.
     */
    public void keepHostReserve(long bytes) throws IOException {
        requireWritable();
        if (bytes > 0) {
            reservePath = path.resolveSibling(path.getFileName() + ".reserve");
            reserveBytes = bytes;
            fillReserve();
        }
    }

    /** Where the host reserve lives (null when the device keeps none). */
    public Path reservePath() {
        return reservePath;
    }

    @Override
    public void allowHostReserve(boolean allowed) {
        reserveAllowed = allowed;
    }

    /** Makes the reserve file whole; with no room for it on the host, it stays missing and is tried again later. */
    private void fillReserve() throws IOException {
        if (Files.exists(reservePath) && Files.size(reservePath) >= reserveBytes) {
            reserveMissing = false;
            return;
        }
        ByteBuffer zeros = ByteBuffer.allocate(1 << 20);
        try (FileChannel file = FileChannel.open(reservePath, java.util.Set.of(StandardOpenOption.CREATE,
                StandardOpenOption.WRITE), OWNER_ONLY)) {
            makeUninterruptible(file);
            long at = 0;
            while (at < reserveBytes) {
                zeros.clear().limit((int) Math.min(zeros.capacity(), reserveBytes - at));
                while (zeros.hasRemaining()) {
                    at += file.write(zeros, at);
                }
            }
            file.force(true);
            reserveMissing = false;
        } catch (IOException e) {
            if (!String.valueOf(e.getMessage()).contains("No space left on device")) {
                throw e;
            }
            Files.deleteIfExists(reservePath); // a partial reserve holds nothing useful; try again at a later barrier
            reserveMissing = true;
        }
    }

    @Override
    public boolean hostReserveGivenUp() {
        return reservePath != null && reserveMissing;
    }

    /** Gives the reserve's space back to the host for the write that needs it; false when there is none. */
    private boolean releaseReserve() throws IOException {
        if (reservePath == null || reserveMissing || !reserveAllowed) {
            return false;
        }
        Files.deleteIfExists(reservePath);
        reserveMissing = true;
        return true;
    }

    @Override
    public long lengthBytes() {
        return lengthBytes;
    }

    @Override
    public long windowAlignmentBytes() {
        return chunkBytes;
    }

    @Override
    public long growableBytes() throws IOException {
        return Files.getFileStore(path).getUsableSpace();
    }

    @Override
    public boolean isReadOnly() {
        return readOnly;
    }

    /** The file grows in steps of {@code growthStepBytes}, but never past this by a step (an image's capacity). */
    private volatile long growthLimitBytes = Long.MAX_VALUE;

    /**
     * Caps the growth steps at {@code bytes}: an image made with a capacity is a file of about that size, not the
     * next whole step. Growth to what is asked for still happens past it (the caller bounds its allocations).
     */
    public void limitGrowth(long bytes) {
        this.growthLimitBytes = bytes;
    }

    @Override
    public void ensureLength(long wantedBytes) throws IOException {
        requireWritable();
        if (wantedBytes <= lengthBytes) {
            return;
        }
        extendSparse(Math.max(wantedBytes, Math.min(roundUp(wantedBytes, growthStepBytes), growthLimitBytes)));
    }

    /**
     * Makes the file at least {@code bytes} long. The added tail is a hole: it reads as zeros, takes no space until
     * written, and is never written through the mapping (read-only, so mapping a chunk past the end of the file
     * never grows it; reads are checked against the length first, so no SIGBUS can come of it). Space is not
     * reserved in advance (fallocate made later writes into the reserved pages up to seven times slower on
     * tmpfs); a full host filesystem surfaces as {@link OutOfSpaceException} from the write that needs the space.
     */
    private void extendSparse(long bytes) throws IOException {
        long target = Math.max(bytes, 1);
        if (target <= lengthBytes) {
            return;
        }
        ByteBuffer zero = ByteBuffer.allocate(1);
        if (channel.read(zero, target - 1) <= 0) {
            zero.clear();
            zero.put(0, (byte) 0);
            writeFully(zero, target - 1);
        }
        lengthBytes = target;
    }

    /**
     * Truncates the file to whole mapping chunks, never below the far superblock region. Chunks past the cut
     * stay mapped: nothing reaches them (the caller guarantees it, and every address is checked against the
     * length, which falls first), so nothing reads them and no SIGBUS can come of it; growing again makes them
     * valid once more. The new size is made durable before this returns.
     */
    @Override
    public synchronized long shrink(long minimumBytes) throws IOException {
        requireWritable();
        long floor = roundUp(Limits.FAR_SUPERBLOCK_OFFSET_BYTES + Limits.FAR_REGION_BYTES, chunkBytes);
        long target = Math.max(floor, roundUp(Math.max(minimumBytes, 1), chunkBytes));
        if (target >= lengthBytes) {
            return lengthBytes;
        }
        channel.force(false);
        long before = lengthBytes;
        lengthBytes = target; // reads past it fail cleanly from now on, before the bytes go
        try {
            channel.truncate(target);
            channel.force(true);
        } catch (IOException | RuntimeException e) {
            try {
                lengthBytes = Math.min(before, channel.size()); // what the file holds, whatever the cut left
            } catch (IOException | RuntimeException unknown) {
                e.addSuppressed(unknown); // nothing the image keeps lies past the cut: the lower length is safe
            }
            throw e;
        }
        channelDirty = false;
        return target;
    }

    @Override
    public long shrinkUnitBytes() {
        return chunkBytes;
    }

    /** Writes the whole buffer at {@code offset}; a full host filesystem becomes {@link OutOfSpaceException}. */
    private void writeFully(ByteBuffer buffer, long offset) throws IOException {
        long start = offset - buffer.position();
        try {
            while (buffer.hasRemaining()) {
                try {
                    channel.write(buffer, start + buffer.position());
                } catch (IOException e) {
                    if (!String.valueOf(e.getMessage()).contains("No space left on device")) {
                        throw e;
                    }
                    if (!releaseReserve()) {
                        throw new OutOfSpaceException(path + ": no space left on the host filesystem to write bytes "
                                + offset + ".." + (start + buffer.limit()) + " of the image; free space there or "
                                + "delete data");
                    }
                }
            }
        } finally {
            channelDirty = true;
        }
    }

    @Override
    public void window(long offset, int length, BlockWindow window) throws IOException {
        checkRange(offset, length);
        window.set(null, chunkAddress((int) (offset >>> chunkShift)) + (offset & (chunkBytes - 1)));
    }

    private long chunkAddress(int index) throws IOException {
        long[] addresses = chunkAddresses;
        if (index < addresses.length && addresses[index] != 0) {
            return addresses[index];
        }
        acquireChunk(index);
        return chunkAddresses[index];
    }

    @Override
    public void read(long offset, byte[] dst, int dstOffset, int length) throws IOException {
        read(offset, ByteBuffer.wrap(dst), dstOffset, length); // an array buffer: copied from the mapping
    }

    @Override
    public void read(long offset, ByteBuffer dst, int dstIndex, int length) throws IOException {
        checkRange(offset, length);
        if (uninterruptible && length >= PREAD_MIN_BYTES && dst.isDirect() && !dst.isReadOnly()) {
            readThroughChannel(offset, dst.slice(dstIndex, length));
            return;
        }
        while (length > 0) {
            int chunkIndex = (int) (offset >>> chunkShift);
            int piece = (int) Math.min(length, ((long) (chunkIndex + 1) << chunkShift) - offset);
            RawMemory.copyToBuffer(chunkAddress(chunkIndex) + (offset & (chunkBytes - 1)), dst, dstIndex, piece);
            offset += piece;
            dstIndex += piece;
            length -= piece;
        }
    }

    /**
     * Reads of a page or more into direct buffers go through the file (pread), not the mapping: the kernel copies
     * from its page cache, so no page of the mapping has to be faulted in or kept mapped. Measured on a
     * paravirtualised machine, where a page fault is dear: reading an extent for the first time after it was
     * written ran several times faster this way; random 4 KiB reads through a mount started at a third of bindfs's
     * rate and took some 40 s of reads to reach it while they faulted the mapping in page by page, and run at its
     * rate from the second round this way, as fast as through the warmed mapping afterwards.
     */
    private void readThroughChannel(long offset, ByteBuffer into) throws IOException {
        long start = offset;
        while (into.hasRemaining()) {
            if (channel.read(into, start + into.position()) < 0) {
                throw new IOException(path + ": the image ends inside bytes " + offset + ".." + (start + into.limit())
                        + " it should hold");
            }
        }
    }

    @Override
    public void write(long offset, byte[] src, int srcOffset, int length) throws IOException {
        write(offset, ByteBuffer.wrap(src), srcOffset, length);
    }

    /** Writes through the file channel: a direct buffer goes to the kernel as it is, without a copy. */
    @Override
    public void write(long offset, ByteBuffer src, int srcIndex, int length) throws IOException {
        requireWritable();
        if (isSuperblockRegion(offset)) {
            extendSparse(offset + length);
        } else {
            checkRange(offset, length);
        }
        writeFully(src.slice(srcIndex, length), offset);
    }

    private static boolean isSuperblockRegion(long offset) {
        return offset < Limits.HEADER_REGION_BYTES || (offset >= Limits.FAR_SUPERBLOCK_OFFSET_BYTES
                && offset < Limits.FAR_SUPERBLOCK_OFFSET_BYTES + Limits.FAR_REGION_BYTES);
    }

    /**
     * Makes every earlier write durable: one fdatasync, which writes back only the pages written since the last
     * barrier (blocks, slots, growth) and is a single device flush. Nothing written means nothing to do.
     */
    @Override
    public void barrier() throws IOException {
        requireWritable();
        if (channelDirty) {
            channel.force(false);
            channelDirty = false;
        }
        if (reserveMissing && Files.getFileStore(path).getUsableSpace() > 4 * reserveBytes) {
            try {
                fillReserve(); // the host has room again: take the reserve back
            } catch (IOException e) {
                // Every write before this call is durable already: a reserve not made now is tried again at a
                // later barrier, and must not fail this one.
                Files.deleteIfExists(reservePath);
                reserveMissing = true;
            }
        }
    }

    private void checkRange(long offset, int length) throws IOException {
        if (offset < 0 || length < 0 || offset + length > lengthBytes) {
            throw new CorruptionException(-1, path + ": bytes " + offset + ".." + (offset + length)
                    + " lie beyond the end of the image (" + lengthBytes + " bytes); the image may be truncated");
        }
    }

    private synchronized MappedBytesStore acquireChunk(int index) throws IOException {
        if (closed) {
            throw new IOException(path + ": device is closed");
        }
        MappedBytesStore[] current = chunks;
        if (index < current.length && current[index] != null) {
            return current[index];
        }
        MappedBytesStore store = mappedFile.acquireByteStore(OWNER, (long) index << chunkShift);
        store.singleThreadedCheckDisabled(true);
        MappedBytesStore[] grown = index < current.length ? current.clone()
                : java.util.Arrays.copyOf(current, Math.max(index + 1, current.length * 2));
        grown[index] = store;
        long[] addresses = java.util.Arrays.copyOf(chunkAddresses, grown.length);
        addresses[index] = store.addressForRead((long) index << chunkShift);
        chunkAddresses = addresses;
        chunks = grown;
        return store;
    }

    private void requireWritable() throws IOException {
        if (readOnly) {
            throw new ReadOnlyEngineException(path + ": image is open read-only");
        }
    }

    private static long roundUp(long value, long multiple) {
        return (value + multiple - 1) / multiple * multiple;
    }

    /** A marker goes into the record of a recording layer beneath ({@link #openLayered}); else nowhere. */
    @Override
    public void marker(String label) {
        if (channel instanceof RecordingFileChannel recording) {
            recording.marker(label);
        }
    }

    @Override
    public synchronized void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        for (MappedBytesStore store : chunks) {
            if (store != null) {
                store.release(OWNER);
            }
        }
        chunks = new MappedBytesStore[0];
        chunkAddresses = new long[0];
        mappedFile.releaseLast();
        // Chronicle unmaps on a background thread; wait for it, so that a closed image is no longer mapped
        // (the file can be deleted, its filesystem unmounted, its space freed).
        net.openhft.chronicle.core.io.BackgroundResourceReleaser.releasePendingResources();
        channel.close();
    }
}
