package dev.cowfs.fs;

import dev.cowfs.engine.Cursor;
import dev.cowfs.engine.WriteTransaction;
import dev.cowfs.engine.error.CorruptionException;
import dev.cowfs.engine.format.BlockRef;
import dev.cowfs.engine.format.Bytes;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * File contents: small files inline in the tree, the rest in extents, with writes gathered per file so that
 * sequential writes make large extents.
 *
 * <p>An EXTENT item maps the file range [offset, offset + length) to bytes [from, from + length) of a data
 * extent's logical (uncompressed) contents. Writing never rewrites old data: the new bytes go to a new extent
 * and the items they cover are cut around them (a cut item keeps referencing the old extent, whose reference
 * count the engine keeps), so a write costs its own bytes plus the items it touches. Ranges no item covers are
 * holes and read as zeros.
 *
 * <p>Guarded by the filesystem's lock.
 */
final class FileData {
    /** Largest extent a write makes; compressed extents are at most {@link #MAX_COMPRESSED_EXTENT_BYTES}. */
    static final int MAX_EXTENT_BYTES = 1 << 20;
    /** A write at least this large that starts a buffer gets one of a whole extent's capacity. */
    private static final int STREAMING_WRITE_BYTES = 64 * 1024;
    static final int MAX_COMPRESSED_EXTENT_BYTES = 128 << 10;
    static final long MAX_FILE_BYTES = 1L << 50;
    /** Written data held in memory across all files before it is written out. */
    static final long MAX_BUFFERED_BYTES = 32L << 20;
    /**
     * Data written since the last commit that forces the next one. Overwritten data is freed only at a commit
     * and reused only once no retained root reaches it (four commits later), so this bounds how far the image
     * grows past its live data under a stream of overwrites.
     */
    static final long COMMIT_AFTER_BYTES = 128L << 20;

    static final byte COMPRESSION_NONE = ExtentItemLayout.COMPRESSION_NONE;
    static final byte COMPRESSION_LZ4 = ExtentItemLayout.COMPRESSION_LZ4;

    private static final LZ4Factory LZ4 = LZ4Factory.fastestInstance();

    private final InodeTable inodes;
    private final int inlineMax;
    private final Map<Long, Buffer> buffers = new HashMap<>();
    private long bufferedBytes;
    /** Bytes written into new extents since the last commit. */
    private long extentBytesSinceCommit;
    private final LZ4Compressor compressor = LZ4.fastCompressor();
    private final LZ4SafeDecompressor decompressor = LZ4.safeDecompressor();
    /** The last decompressed extent, for reads that walk through one extent in pieces. */
    /** The last compressed extent read, decompressed; replaced whole, so concurrent readers see a matching pair. */
    private volatile Decompressed lastDecompressed;

    private record Decompressed(BlockRef extent, byte[] contents) {
    }

    /**
     * Written bytes of one file not yet in an extent: [start, start + length). A buffer of a whole extent's
     * capacity is direct, so that it goes to the device without a copy, and is used again once written out.
     */
    private static final class Buffer {
        final long ino;
        long start;
        ByteBuffer bytes;
        int length;

        Buffer(long ino, long start, ByteBuffer bytes) {
            this.ino = ino;
            this.start = start;
            this.bytes = bytes;
        }
    }

    /** Whole-extent buffers written out and kept for the next ones (allocating and zeroing one costs more). */
    private final ArrayDeque<ByteBuffer> spareExtentBuffers = new ArrayDeque<>();
    private static final int MAX_SPARE_EXTENT_BUFFERS = 4;
    private static final byte[] ZEROS = new byte[64 * 1024];

    /** One EXTENT item, decoded. */
    record Item(long offset, BlockRef extent, int storedBytes, int logicalBytes, int from, int length,
                byte compression) {
        long end() {
            return offset + length;
        }

        byte[] encode() {
            byte[] value = new byte[ExtentItemLayout.BYTES];
            extent.encode(value, ExtentItemLayout.EXTENT_REF_OFFSET);
            Bytes.putInt(value, ExtentItemLayout.STORED_BYTES_OFFSET, storedBytes);
            Bytes.putInt(value, ExtentItemLayout.LOGICAL_BYTES_OFFSET, logicalBytes);
            Bytes.putInt(value, ExtentItemLayout.FROM_OFFSET, from);
            Bytes.putInt(value, ExtentItemLayout.LENGTH_OFFSET, length);
            value[ExtentItemLayout.COMPRESSION_OFFSET] = compression;
            return value;
        }

        Item slice(long newOffset, long newEnd) {
            return new Item(newOffset, extent, storedBytes, logicalBytes, (int) (from + (newOffset - offset)),
                    (int) (newEnd - newOffset), compression);
        }

        static Item decode(long ino, long offset, byte[] value) throws FsException {
            if (value.length != ExtentItemLayout.BYTES) {
                throw new FsException(Errno.EIO, "inode " + ino + ": malformed extent item at offset " + offset
                        + "; run cowfs fsck");
            }
            Item item = new Item(offset, BlockRef.decode(value, ExtentItemLayout.EXTENT_REF_OFFSET),
                    Bytes.getInt(value, ExtentItemLayout.STORED_BYTES_OFFSET),
                    Bytes.getInt(value, ExtentItemLayout.LOGICAL_BYTES_OFFSET), Bytes.getInt(value, ExtentItemLayout.FROM_OFFSET),
                    Bytes.getInt(value, ExtentItemLayout.LENGTH_OFFSET), value[ExtentItemLayout.COMPRESSION_OFFSET]);
            boolean compressed = item.compression == COMPRESSION_LZ4;
            if (item.length <= 0 || item.from < 0 || (long) item.from + item.length > item.logicalBytes
                    || (!compressed && (item.compression != COMPRESSION_NONE || item.storedBytes != item.logicalBytes))
                    || item.storedBytes <= 0 || offset < 0 || offset + item.length < 0) {
                throw new FsException(Errno.EIO, "inode " + ino + ": extent item at offset " + offset
                        + " is inconsistent; run cowfs fsck");
            }
            return item;
        }
    }

    private final ExtentItems extents;

    FileData(InodeTable inodes) {
        this.inodes = inodes;
        this.extents = new ExtentItems(inodes);
        // An inline item must fit in a node with its 9-byte key.
        this.inlineMax = Math.min(2048, dev.cowfs.engine.format.Limits.maxInlineEntryBytes(inodes.blockSize()) - 64);
    }

    private WriteTransaction txn() {
        return inodes.txn();
    }

    long bufferedBytes() {
        return bufferedBytes;
    }

    long extentBytesSinceCommit() {
        return extentBytesSinceCommit;
    }

    void committed() {
        extentBytesSinceCommit = 0;
    }

    void discardBuffers() {
        buffers.clear();
        bufferedBytes = 0;
        lastDecompressed = null;
    }

    void discardBuffer(long ino) {
        Buffer buffer = buffers.remove(ino);
        if (buffer != null) {
            release(buffer.bytes);
        }
    }

    void flushAll() throws IOException {
        for (Iterator<Buffer> it = buffers.values().iterator(); it.hasNext(); ) {
            Buffer buffer = it.next();
            it.remove();
            writeOut(buffer);
        }
    }

    /** Writes the file's buffered data out (nothing when it has none). */
    void flushFile(long ino) throws IOException {
        flush(ino);
    }

    private void flush(long ino) throws IOException {
        Buffer buffer = buffers.remove(ino);
        if (buffer != null) {
            writeOut(buffer);
        }
    }

    /** Stores a buffer taken out of the map, then frees it. */
    private void writeOut(Buffer buffer) throws IOException {
        try {
            store(buffer.ino, buffer.start, buffer.bytes, 0, buffer.length);
        } finally {
            release(buffer.bytes);
        }
    }

    private ByteBuffer allocate(int capacity) {
        bufferedBytes += capacity;
        if (capacity < MAX_EXTENT_BYTES) {
            return ByteBuffer.allocate(capacity);
        }
        ByteBuffer spare = spareExtentBuffers.poll();
        return spare != null ? spare : ByteBuffer.allocateDirect(MAX_EXTENT_BYTES);
    }

    private void release(ByteBuffer bytes) {
        bufferedBytes -= bytes.capacity();
        if (bytes.isDirect() && spareExtentBuffers.size() < MAX_SPARE_EXTENT_BUFFERS) {
            spareExtentBuffers.push(bytes);
        }
    }

    private Inode regularFile(long ino) throws IOException {
        Inode inode = inodes.load(ino);
        if (inode.isDirectory()) {
            throw new FsException(Errno.EISDIR, "inode " + ino + " is a directory");
        }
        if (!inode.isRegularFile()) {
            throw new FsException(Errno.EINVAL, "inode " + ino + " is not a regular file");
        }
        return inode;
    }

    // ------------------------------------------------------------------ writing

    /** Writes {@code length} bytes of {@code src} from {@code srcOffset}; its position and limit stay. */
    void write(long ino, long offset, ByteBuffer src, int srcOffset, int length) throws IOException {
        Inode inode = regularFile(ino);
        if (length == 0) {
            return;
        }
        Buffer buffer = buffers.get(ino);
        long end = offset + length;
        if (buffer == null && end <= inlineMax && inode.size() <= inlineMax) {
            store(ino, offset, src, srcOffset, length); // a small file: straight into its inline item
        } else if (buffer != null && offset >= buffer.start && offset <= buffer.start + buffer.length
                && end - buffer.start <= MAX_EXTENT_BYTES) {
            int at = (int) (offset - buffer.start);
            int newLength = Math.max(buffer.length, at + length);
            if (newLength > buffer.bytes.capacity()) {
                int capacity = (int) Math.min(MAX_EXTENT_BYTES, Math.max(newLength, 2L * buffer.bytes.capacity()));
                ByteBuffer grown = allocate(capacity);
                grown.put(0, buffer.bytes, 0, buffer.length);
                release(buffer.bytes);
                buffer.bytes = grown;
            }
            buffer.bytes.put(at, src, srcOffset, length);
            buffer.length = newLength;
        } else {
            if (buffer != null) {
                flush(ino);
            }
            long at = offset;
            int from = srcOffset;
            int left = length;
            while (left >= MAX_EXTENT_BYTES) {
                store(ino, at, src, from, MAX_EXTENT_BYTES);
                at += MAX_EXTENT_BYTES;
                from += MAX_EXTENT_BYTES;
                left -= MAX_EXTENT_BYTES;
            }
            if (left > 0) {
                // A large write is likely the start of a stream: room for a whole extent at once, not doublings
                int capacity = left >= STREAMING_WRITE_BYTES ? MAX_EXTENT_BYTES : Math.max(left, 4096);
                Buffer fresh = new Buffer(ino, at, allocate(capacity));
                fresh.bytes.put(0, src, from, left);
                fresh.length = left;
                buffers.put(ino, fresh);
            }
        }
        Buffer current = buffers.get(ino);
        if (current != null && current.length == MAX_EXTENT_BYTES) {
            flush(ino);
        }
        inodes.store(inodes.touch(inode.withSize(Math.max(inode.size(), end)), true, true));
    }

    /**
     * Puts {@code length} bytes of {@code bytes} from {@code at} into the file at {@code offset}: inline or as new
     * extents (written straight from the buffer: a large write is not copied first). Position and limit stay.
     */
    private void store(long ino, long offset, ByteBuffer bytes, int at, int length) throws IOException {
        Inode inode = inodes.load(ino);
        byte[] inline = inodes.get(ino, FsKeys.of(ino, FsKeys.INLINE_DATA));
        long end = offset + length;
        // An inline item means no extents; an empty file has none either (truncating to 0 removed them).
        if (Math.max(inode.size(), end) <= inlineMax && (inline != null || inode.size() == 0 || !hasExtents(ino))) {
            byte[] content = Arrays.copyOf(inline == null ? new byte[0] : inline,
                    (int) Math.max(inline == null ? 0 : inline.length, end));
            bytes.get(at, content, (int) offset, length);
            txn().put(InodeNumber.treeOf(ino), FsKeys.of(ino, FsKeys.INLINE_DATA), content);
            return;
        }
        if (inline != null) {
            // The file outgrew inline storage: its inline bytes become its first extent.
            txn().delete(InodeNumber.treeOf(ino), FsKeys.of(ino, FsKeys.INLINE_DATA));
            if (inline.length > 0) {
                putExtents(ino, inode, 0, ByteBuffer.wrap(inline), 0, inline.length);
            }
        }
        punch(ino, offset, end);
        putExtents(ino, inode, offset, bytes, at, length);
        extents.nestIfLarge(ino);
    }

    private void putExtents(long ino, Inode inode, long offset, ByteBuffer bytes, int at, int length)
            throws IOException {
        boolean compress = (inode.flags() & Inode.FLAG_COMPRESS) != 0;
        int piece = compress ? MAX_COMPRESSED_EXTENT_BYTES : MAX_EXTENT_BYTES;
        ExtentItems.Target target = extents.of(ino);
        int blockSize = inodes.blockSize();
        for (int done = 0; done < length; ) {
            int n = Math.min(piece, length - done);
            int blocks = (n + blockSize - 1) / blockSize;
            int fitting = txn().space().contiguousBlocks(blocks); // free space in pieces: extents to match
            if (fitting < blocks) {
                n = fitting * blockSize;
            }
            putExtent(target, offset + done, bytes, at + done, n, compress);
            done += n;
        }
    }

    private void putExtent(ExtentItems.Target target, long offset, ByteBuffer bytes, int at, int length,
                           boolean compress)
            throws IOException {
        int blockSize = inodes.blockSize();
        if (compress && length > blockSize) {
            byte[] packed = new byte[compressor.maxCompressedLength(length)];
            int packedLength = compressor.compress(bytes, at, length, ByteBuffer.wrap(packed), 0, packed.length);
            // Worth it only when it saves at least one block.
            if ((packedLength + blockSize - 1) / blockSize < (length + blockSize - 1) / blockSize) {
                BlockRef extent = txn().writeDataExtent(packed, 0, packedLength);
                extentBytesSinceCommit += packedLength;
                target.put(new Item(offset, extent, packedLength, length, 0, length, COMPRESSION_LZ4));
                return;
            }
        }
        BlockRef extent = txn().writeDataExtent(bytes, at, length);
        extentBytesSinceCommit += length;
        target.put(new Item(offset, extent, length, length, 0, length, COMPRESSION_NONE));
    }

    private boolean hasExtents(long ino) throws IOException {
        return extents.hasAny(ino);
    }

    /** The extent items overlapping [from, to), in file order. */
    private List<Item> items(long ino, long from, long to) throws IOException {
        return extents.items(ino, from, to);
    }

    /** Removes the file's data in [from, to): items inside go, items across the edges are cut. */
    private void punch(long ino, long from, long to) throws IOException {
        WriteTransaction txn = txn();
        ExtentItems.Target target = extents.of(ino);
        for (Item item : items(ino, from, to)) {
            long start = item.offset();
            long end = item.end();
            if (start >= from && end <= to) {
                target.delete(start);
            } else if (start < from && end > to) {
                txn.addDataExtentReference(item.extent());
                target.put(item.slice(to, end));
                txn.addDataExtentReference(item.extent());
                target.put(item.slice(start, from));
            } else if (start < from) {
                txn.addDataExtentReference(item.extent());
                target.put(item.slice(start, from));
            } else {
                txn.addDataExtentReference(item.extent());
                target.put(item.slice(to, end));
                target.delete(start);
            }
        }
    }

    /**
     * Makes [from, to) a hole, the size unchanged (FALLOC_FL_PUNCH_HOLE): reads there give zeros and the data there
     * is no longer held, extents across the edges cut; bytes of an inline file are zeroed.
     */
    void punchHole(long ino, long from, long to) throws IOException {
        Inode inode = regularFile(ino);
        flush(ino);
        long end = Math.min(to, inode.size());
        if (from < end) {
            byte[] inline = inodes.get(ino, FsKeys.of(ino, FsKeys.INLINE_DATA));
            if (inline != null) {
                byte[] zeroed = inline.clone();
                Arrays.fill(zeroed, (int) Math.min(from, zeroed.length), (int) Math.min(end, zeroed.length), (byte) 0);
                txn().put(InodeNumber.treeOf(ino), FsKeys.of(ino, FsKeys.INLINE_DATA), zeroed);
            } else {
                punch(ino, from, end);
            }
        }
        inodes.store(inodes.touch(inode, true, true));
    }

    void truncate(long ino, long size) throws IOException {
        Inode inode = regularFile(ino);
        flush(ino);
        if (size < inode.size()) {
            punch(ino, size, Long.MAX_VALUE);
            byte[] inline = inodes.get(ino, FsKeys.of(ino, FsKeys.INLINE_DATA));
            if (inline != null && inline.length > size) {
                txn().put(InodeNumber.treeOf(ino), FsKeys.of(ino, FsKeys.INLINE_DATA),
                        Arrays.copyOf(inline, (int) size));
            }
        }
        inodes.store(inodes.touch(inode.withSize(size), true, true));
    }

    /**
     * Replaces {@code dst}'s data with {@code src}'s, sharing every data extent (one more reference each): no data
     * is copied, and a later write to either file copies only what it touches. Sets dst's size.
     */
    void cloneData(long src, long dst) throws IOException {
        Inode source = regularFile(src);
        Inode target = regularFile(dst);
        flush(src);
        flush(dst);
        WriteTransaction txn = txn();
        long dstTree = InodeNumber.treeOf(dst);
        punch(dst, 0, Long.MAX_VALUE);
        txn.delete(dstTree, FsKeys.of(dst, FsKeys.INLINE_DATA));
        byte[] inline = inodes.get(src, FsKeys.of(src, FsKeys.INLINE_DATA));
        if (inline != null) {
            txn.put(dstTree, FsKeys.of(dst, FsKeys.INLINE_DATA), inline);
        }
        extents.cloneInto(src, dst);
        inodes.store(inodes.touch(target.withSize(source.size()), true, true));
    }

    /**
     * Makes dst's [dstOffset, dstOffset + length) share src's data at [srcOffset, srcOffset + length): each source
     * item in the range sliced to it and stored for dst with one more reference to its extent, holes staying holes,
     * nothing copied; what dst had there is punched first. Both files may be the same, the ranges overlapping. dst
     * grows to the range's end when shorter. Returns false, having changed nothing, when either file keeps its data
     * inline (a small file; the caller copies its bytes instead).
     */
    boolean cloneRange(long src, long srcOffset, long dst, long dstOffset, long length) throws IOException {
        regularFile(src);
        regularFile(dst);
        flush(src);
        flush(dst);
        if (inodes.get(src, FsKeys.of(src, FsKeys.INLINE_DATA)) != null
                || inodes.get(dst, FsKeys.of(dst, FsKeys.INLINE_DATA)) != null) {
            return false;
        }
        WriteTransaction txn = txn();
        long shift = dstOffset - srcOffset;
        List<Item> shared = new ArrayList<>();
        for (Item item : items(src, srcOffset, srcOffset + length)) {
            Item slice = item.slice(Math.max(item.offset(), srcOffset), Math.min(item.end(), srcOffset + length));
            // Referenced before the punch, which may drop the last reference an overlapping range held
            txn.addDataExtentReference(slice.extent());
            shared.add(new Item(slice.offset() + shift, slice.extent(), slice.storedBytes(), slice.logicalBytes(),
                    slice.from(), slice.length(), slice.compression()));
        }
        punch(dst, dstOffset, dstOffset + length);
        ExtentItems.Target target = extents.of(dst);
        for (Item item : shared) {
            target.put(item);
        }
        extents.nestIfLarge(dst);
        Inode inode = inodes.load(dst);
        inodes.store(inodes.touch(inode.withSize(Math.max(inode.size(), dstOffset + length)), true, true));
        return true;
    }

    // ------------------------------------------------------------------ reading

    /**
     * Reads what is stored and lays the file's unwritten buffer over it: a read never writes (a read that had to
     * write the buffer out first could fail for lack of space, which read(2) never does).
     */
    int read(long ino, long offset, ByteBuffer dst, int dstOffset, int length) throws IOException {
        Inode inode = regularFile(ino);
        if (offset >= inode.size() || length == 0) {
            return 0;
        }
        int n = (int) Math.min(length, inode.size() - offset);
        long end = offset + n;
        long covered = offset; // below this, dst holds the file's bytes; holes are zeroed as they are passed
        byte[] inline = inodes.get(ino, FsKeys.of(ino, FsKeys.INLINE_DATA));
        if (inline != null && offset < inline.length) {
            int count = (int) Math.min(inline.length, end) - (int) offset;
            dst.put(dstOffset, inline, (int) offset, count);
            covered = offset + count;
        }
        for (Item item : items(ino, offset, end)) {
            long from = Math.max(offset, item.offset());
            long to = Math.min(end, item.end());
            if (from > covered) {
                zero(dst, dstOffset + (int) (covered - offset), (int) (from - covered));
            }
            int inExtent = (int) (item.from() + (from - item.offset()));
            copyFromExtent(ino, item, inExtent, dst, dstOffset + (int) (from - offset), (int) (to - from));
            covered = Math.max(covered, to);
        }
        if (covered < end) {
            zero(dst, dstOffset + (int) (covered - offset), (int) (end - covered));
        }
        Buffer buffer = inodes.txn() != null ? buffers.get(ino) : null;
        if (buffer != null) { // newer than everything stored: every other change to the file writes it out first
            long from = Math.max(offset, buffer.start);
            long to = Math.min(end, buffer.start + buffer.length);
            if (from < to) {
                dst.put(dstOffset + (int) (from - offset), buffer.bytes, (int) (from - buffer.start),
                        (int) (to - from));
            }
        }
        return n;
    }

    /**
     * A read as pieces of the image (uncompressed extents, verified as a read verifies them) and of zeros (holes),
     * handed to {@code sink} at once; -1, with nothing handed over, when part of the range is held elsewhere (inline
     * data, a compressed extent, the file's unwritten buffer), for the caller to {@link #read} instead.
     */
    int readPieces(long ino, long offset, int length, ReadPieces sink) throws IOException {
        Inode inode = regularFile(ino);
        if (offset >= inode.size() || length == 0) {
            sink.send(0, new long[0], 0);
            return 0;
        }
        int n = (int) Math.min(length, inode.size() - offset);
        long end = offset + n;
        Buffer buffer = inodes.txn() != null ? buffers.get(ino) : null;
        if (buffer != null && buffer.start < end && buffer.start + buffer.length > offset
                || inodes.get(ino, FsKeys.of(ino, FsKeys.INLINE_DATA)) != null) {
            return -1;
        }
        List<Item> items = items(ino, offset, end);
        for (Item item : items) {
            if (item.compression() != COMPRESSION_NONE) {
                return -1;
            }
        }
        if (inodes.txn() != null) {
            return sendPieces(inodes.txn()::locateDataExtent, items, offset, end, sink);
        }
        try (var read = inodes.store().beginRead()) { // open until the pieces are sent: their blocks stay pinned
            return sendPieces(read::locateDataExtent, items, offset, end, sink);
        }
    }

    private interface Locator {
        long locate(BlockRef extent, int storedBytes, int from, int length) throws IOException;
    }

    private static int sendPieces(Locator locator, List<Item> items, long offset, long end, ReadPieces sink)
            throws IOException {
        long[] pieces = new long[2 * (2 * items.size() + 1)];
        int count = 0;
        long covered = offset;
        for (Item item : items) {
            long from = Math.max(offset, item.offset());
            long to = Math.min(end, item.end());
            if (from < covered) {
                return -1; // items never overlap; if they did, the copying read lays the later over the earlier
            }
            if (from > covered) {
                pieces[2 * count] = -1;
                pieces[2 * count++ + 1] = from - covered;
            }
            int inExtent = (int) (item.from() + (from - item.offset()));
            pieces[2 * count] = locator.locate(item.extent(), item.storedBytes(), inExtent, (int) (to - from));
            pieces[2 * count++ + 1] = to - from;
            covered = Math.max(covered, to);
        }
        if (covered < end) {
            pieces[2 * count] = -1;
            pieces[2 * count++ + 1] = end - covered;
        }
        sink.send((int) (end - offset), pieces, count);
        return (int) (end - offset);
    }

    private static void zero(ByteBuffer dst, int index, int length) {
        if (dst.hasArray()) {
            Arrays.fill(dst.array(), dst.arrayOffset() + index, dst.arrayOffset() + index + length, (byte) 0);
            return;
        }
        for (int done = 0; done < length; done += ZEROS.length) {
            dst.put(index + done, ZEROS, 0, Math.min(ZEROS.length, length - done));
        }
    }

    private void copyFromExtent(long ino, Item item, int from, ByteBuffer dst, int dstOffset, int length)
            throws IOException {
        if (item.compression() == COMPRESSION_NONE) {
            readStored(item.extent(), item.storedBytes(), from, dst, dstOffset, length);
            return;
        }
        Decompressed cached = lastDecompressed;
        if (cached == null || !item.extent().equals(cached.extent())) {
            byte[] packed = new byte[item.storedBytes()];
            readStored(item.extent(), item.storedBytes(), 0, ByteBuffer.wrap(packed), 0, packed.length);
            byte[] contents = new byte[item.logicalBytes()];
            int produced;
            try {
                produced = decompressor.decompress(packed, 0, packed.length, contents, 0, contents.length);
            } catch (LZ4Exception e) {
                produced = -1;
            }
            if (produced != contents.length) {
                throw new CorruptionException(item.extent().blockIndex(), "inode " + ino
                        + ": compressed extent does not decompress to its " + contents.length + " bytes");
            }
            cached = new Decompressed(item.extent(), contents);
            lastDecompressed = cached;
        }
        dst.put(dstOffset, cached.contents(), from, length);
    }

    private void readStored(BlockRef extent, int storedBytes, int from, ByteBuffer dst, int dstOffset, int length)
            throws IOException {
        if (inodes.txn() != null) {
            inodes.txn().readDataExtent(extent, storedBytes, from, dst, dstOffset, length);
        } else {
            try (var read = inodes.store().beginRead()) {
                read.readDataExtent(extent, storedBytes, from, dst, dstOffset, length);
            }
        }
    }

    /** SEEK_DATA ({@code data}) or SEEK_HOLE from {@code offset}. */
    long seek(long ino, long offset, boolean data) throws IOException {
        if (inodes.txn() != null) {
            flush(ino);
        }
        Inode inode = regularFile(ino);
        if (offset < 0 || offset >= inode.size()) {
            throw new FsException(Errno.ENXIO, "offset " + offset + " is at or past the end of inode " + ino);
        }
        List<long[]> regions = new ArrayList<>();
        byte[] inline = inodes.get(ino, FsKeys.of(ino, FsKeys.INLINE_DATA));
        if (inline != null && inline.length > 0) {
            regions.add(new long[] {0, inline.length});
        }
        for (Item item : items(ino, offset, inode.size())) {
            long[] last = regions.isEmpty() ? null : regions.get(regions.size() - 1);
            if (last != null && last[1] == item.offset()) {
                last[1] = item.end();
            } else {
                regions.add(new long[] {item.offset(), item.end()});
            }
        }
        long position = offset;
        for (long[] region : regions) {
            if (region[1] <= position) {
                continue;
            }
            if (data) {
                return Math.max(position, region[0]);
            }
            if (region[0] > position) {
                return position;
            }
            position = region[1];
        }
        if (data) {
            throw new FsException(Errno.ENXIO, "no data at or after offset " + offset + " in inode " + ino);
        }
        return Math.min(position, inode.size());
    }
}
