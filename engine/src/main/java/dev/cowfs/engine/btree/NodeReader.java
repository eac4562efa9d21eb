package dev.cowfs.engine.btree;

import dev.cowfs.engine.device.BlockDevice;
import dev.cowfs.engine.device.Checksums;
import dev.cowfs.engine.device.RawMemory;
import dev.cowfs.engine.device.VerifiedBlocks;
import dev.cowfs.engine.error.CorruptionException;
import dev.cowfs.engine.format.BlockRef;
import dev.cowfs.engine.format.Limits;
import dev.cowfs.engine.format.NodeLayout;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * The only way tree blocks reach the engine: checks a reference against the block it points to. Cheap checks
 * (header checksum, own address, birth, tree, level) run on every read; the CRC32C of the whole block and the
 * structural check run on the first read after open, and the block is then remembered as verified.
 */
public final class NodeReader {
    /** Extents are verified through a buffer of this size (at least a block), one per reading thread. */
    private static final int VERIFY_PIECE_BYTES = 64 * 1024;
    /** Monitors that keep two threads from verifying the same extent at once (a power of two). */
    private static final int VERIFY_STRIPES = 64;

    private final BlockDevice device;
    private final int blockSizeBytes;
    private final VerifiedBlocks verified;
    private final ThreadLocal<byte[]> verifyPiece;
    /** Where extents are read to be verified: direct, so a device can fill it without an array in between. */
    private final ThreadLocal<ByteBuffer> verifyBuffer;
    private final Object[] verifyStripes = new Object[VERIFY_STRIPES];
    /** Extents verified whole (checksum over every byte, padding): once each per open until rewritten. */
    private final java.util.concurrent.atomic.LongAdder extentsVerified = new java.util.concurrent.atomic.LongAdder();

    public NodeReader(BlockDevice device, int blockSizeBytes, VerifiedBlocks verified) {
        this.device = device;
        this.blockSizeBytes = blockSizeBytes;
        this.verified = verified;
        int pieceBytes = Math.max(VERIFY_PIECE_BYTES, blockSizeBytes);
        this.verifyPiece = ThreadLocal.withInitial(() -> new byte[pieceBytes]);
        this.verifyBuffer = ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(pieceBytes));
        java.util.Arrays.setAll(verifyStripes, i -> new Object());
    }

    public int blockSizeBytes() {
        return blockSizeBytes;
    }

    public BlockDevice device() {
        return device;
    }

    public VerifiedBlocks verified() {
        return verified;
    }

    /**
     * Positions {@code into} on the node the reference names, after checking it.
     *
     * @param expectedLevel the level the parent implies, or -1 for a root (any level)
     */
    public void read(long blockIndex, long birth, int checksum, long treeId, int expectedLevel, NodeView into)
            throws IOException {
        checkExtentAddress(blockIndex, 1);
        device.window(blockIndex * blockSizeBytes, blockSizeBytes, into.window);
        Object memory = into.window.base;
        long base = into.window.offset;
        int storedChecksum = RawMemory.getInt(memory, base + NodeLayout.CHECKSUM_OFFSET);
        if (storedChecksum != checksum) {
            throw new CorruptionException(blockIndex, String.format(
                    "checksum mismatch: reference expects %08x, block header holds %08x", checksum, storedChecksum));
        }
        long storedAddress = RawMemory.getLong(memory, base + NodeLayout.BLOCK_INDEX_OFFSET);
        if (storedAddress != blockIndex) {
            throw new CorruptionException(blockIndex, "misdirected write: block header says block " + storedAddress);
        }
        long storedBirth = RawMemory.getLong(memory, base + NodeLayout.BIRTH_OFFSET);
        if (storedBirth != birth) {
            throw new CorruptionException(blockIndex, "birth generation " + storedBirth + " but reference expects "
                    + birth + " (stale or misdirected write)");
        }
        long storedTree = RawMemory.getLong(memory, base + NodeLayout.TREE_ID_OFFSET);
        if (storedTree != treeId && !(isUserTree(treeId) && isUserTree(storedTree))) {
            // User trees share nodes with their snapshots and clones: such a node names the tree that wrote it.
            throw new CorruptionException(blockIndex, "belongs to tree " + storedTree + ", expected tree " + treeId);
        }
        int level = RawMemory.getUnsignedByte(memory, base + NodeLayout.LEVEL_OFFSET);
        if (expectedLevel >= 0 && level != expectedLevel) {
            throw new CorruptionException(blockIndex, "level " + level + " where level " + expectedLevel
                    + " was expected");
        }
        if (!verified.isVerified(blockIndex)) {
            if (device.verifiedBefore(blockIndex * blockSizeBytes, blockSizeBytes, nodeClaim(checksum))) {
                verified.markVerified(blockIndex);
            } else {
                verifyWhole(blockIndex, checksum, memory, base);
            }
        }
        into.position(memory, base, blockIndex);
    }

    private static boolean isUserTree(long treeId) {
        return treeId >= Limits.FIRST_USER_TREE_ID && treeId <= Limits.MAX_TREE_ID;
    }

    public void read(BlockRef ref, long treeId, int expectedLevel, NodeView into) throws IOException {
        if (ref.blockCount() != 1) {
            throw new CorruptionException(ref.blockIndex(), "node reference spans " + ref.blockCount() + " blocks");
        }
        read(ref.blockIndex(), ref.birthGeneration(), ref.checksum(), treeId, expectedLevel, into);
    }

    private void verifyWhole(long blockIndex, int checksum, Object memory, long base) throws IOException {
        byte[] copy = new byte[blockSizeBytes];
        RawMemory.copyToArray(memory, base, copy, 0, blockSizeBytes);
        int actual = Checksums.crc32c(copy, NodeLayout.CHECKSUM_OFFSET + NodeLayout.CHECKSUM_SIZE,
                blockSizeBytes - NodeLayout.CHECKSUM_SIZE);
        if (actual != checksum) {
            throw new CorruptionException(blockIndex, String.format(
                    "checksum mismatch: expected %08x, block bytes give %08x", checksum, actual));
        }
        NodeValidator.validate(copy, blockSizeBytes, blockIndex);
        verified.markVerified(blockIndex);
        device.rememberVerified(blockIndex * blockSizeBytes, blockSizeBytes, nodeClaim(checksum));
    }

    /**
     * Reads and checks an out-of-line extent holding exactly {@code lengthBytes} bytes. The value is checked
     * against its reference's CRC32C on every read (it is in hand, being copied out); the zero padding after it,
     * which no read returns, is checked on the first read after the extent was written or the store
     * opened, like a node's structure.
     */
    public byte[] readExtent(BlockRef ref, int lengthBytes) throws IOException {
        long expectedBlocks = checkExtentShape(ref, lengthBytes);
        byte[] bytes = new byte[lengthBytes];
        device.read(ref.blockIndex() * blockSizeBytes, bytes, 0, lengthBytes);
        checkExtentChecksum(ref, Checksums.crc32c(bytes, 0, lengthBytes));
        if (!verified.isExtentVerified(ref.blockIndex())) {
            checkExtentPadding(ref, lengthBytes, expectedBlocks, verifyPiece.get());
            verified.markExtentVerified(ref.blockIndex());
            device.rememberVerified(ref.blockIndex() * blockSizeBytes, (int) (expectedBlocks * blockSizeBytes),
                    extentClaim(ref.checksum(), lengthBytes));
        }
        return bytes;
    }

    /**
     * Checks an extent as {@link #readExtent} does, piece by piece through a small per-thread buffer: verifying
     * a large extent on its first read costs no allocation of its size.
     */
    private void checkExtentInPieces(BlockRef ref, int lengthBytes) throws IOException {
        extentsVerified.increment();
        long expectedBlocks = checkExtentShape(ref, lengthBytes);
        byte[] piece = verifyPiece.get();
        ByteBuffer pieceBuffer = verifyBuffer.get();
        long base = ref.blockIndex() * blockSizeBytes;
        CRC32C crc = new CRC32C();
        for (int done = 0; done < lengthBytes; ) {
            int length = Math.min(pieceBuffer.capacity(), lengthBytes - done);
            device.read(base + done, pieceBuffer.clear(), 0, length);
            crc.update(pieceBuffer.limit(length));
            done += length;
        }
        checkExtentChecksum(ref, (int) crc.getValue());
        checkExtentPadding(ref, lengthBytes, expectedBlocks, piece);
        device.rememberVerified(base, (int) (expectedBlocks * blockSizeBytes), extentClaim(ref.checksum(),
                lengthBytes));
    }

    /** The extent's block count must fit its length, and its blocks lie in the data area; returns the count. */
    private long checkExtentShape(BlockRef ref, int lengthBytes) throws CorruptionException {
        long expectedBlocks = ((long) lengthBytes + blockSizeBytes - 1) / blockSizeBytes;
        if (lengthBytes < 0 || lengthBytes > Limits.MAX_VALUE_BYTES || ref.blockCount() != expectedBlocks) {
            throw new CorruptionException(ref.blockIndex(), "extent of " + ref.blockCount() + " blocks cannot hold "
                    + lengthBytes + " bytes");
        }
        checkExtentAddress(ref.blockIndex(), ref.blockCount());
        return expectedBlocks;
    }

    private static void checkExtentChecksum(BlockRef ref, int actual) throws CorruptionException {
        if (actual != ref.checksum()) {
            throw new CorruptionException(ref.blockIndex(), String.format(
                    "extent of blocks %d-%d: checksum mismatch: expected %08x, bytes give %08x", ref.blockIndex(),
                    ref.blockIndex() + ref.blockCount() - 1, ref.checksum(), actual));
        }
    }

    /** The bytes after the value up to the end of its last block must be zero ({@code scratch}: a block or more). */
    private void checkExtentPadding(BlockRef ref, int lengthBytes, long expectedBlocks, byte[] scratch)
            throws IOException {
        int paddingBytes = (int) (expectedBlocks * blockSizeBytes - lengthBytes);
        if (paddingBytes == 0) {
            return;
        }
        device.read(ref.blockIndex() * blockSizeBytes + lengthBytes, scratch, 0, paddingBytes);
        for (int i = 0; i < paddingBytes; i++) {
            if (scratch[i] != 0) {
                throw new CorruptionException(ref.blockIndex(), String.format("extent of blocks %d-%d: the "
                        + "padding after the value is not zero", ref.blockIndex(),
                        ref.blockIndex() + ref.blockCount() - 1));
            }
        }
    }

    /**
     * Copies {@code length} bytes from offset {@code from} of a data extent holding {@code storedBytes} bytes.
     * The whole extent is verified (checksum and zero padding) the first time any of it is read since open;
     * committed extents never change, so later reads copy only the range asked for.
     */
    public void readExtentRange(BlockRef ref, int storedBytes, int from, ByteBuffer dst, int dstIndex, int length)
            throws IOException {
        device.read(locateExtentRange(ref, storedBytes, from, length), dst, dstIndex, length);
    }

    /**
     * Where on the device bytes {@code from..from+length} of a data extent holding {@code storedBytes} bytes lie,
     * after the checks a read of them makes ({@link #readExtentRange}): for a caller that moves them without
     * copying (a FUSE reply spliced from the image file) while it holds off every writer.
     */
    public long locateExtentRange(BlockRef ref, int storedBytes, int from, int length) throws IOException {
        if (from < 0 || length < 0 || (long) from + length > storedBytes) {
            throw new IllegalArgumentException("range " + from + "+" + length + " outside an extent of "
                    + storedBytes + " bytes");
        }
        if (!verified.isExtentVerified(ref.blockIndex())) {
            // Concurrent readers of one extent (read-ahead asks for several pieces at once) verify it once.
            synchronized (verifyStripes[(int) (ref.blockIndex() & (VERIFY_STRIPES - 1))]) {
                if (!verified.isExtentVerified(ref.blockIndex())) {
                    verifyExtent(ref, storedBytes);
                    verified.markExtentVerified(ref.blockIndex());
                }
            }
        }
        return ref.blockIndex() * blockSizeBytes + from;
    }

    /**
     * Checks an out-of-line extent as {@link #readExtent} does, without returning it: skipped when the device
     * proves these very bytes verified before ({@link BlockDevice#verifiedBefore}).
     */
    public void verifyExtent(BlockRef ref, int lengthBytes) throws IOException {
        long extentBytes = ref.blockCount() * (long) blockSizeBytes;
        if (extentBytes <= Integer.MAX_VALUE && device.verifiedBefore(ref.blockIndex() * blockSizeBytes,
                (int) extentBytes, extentClaim(ref.checksum(), lengthBytes))) {
            checkExtentAddress(ref.blockIndex(), ref.blockCount());
            return;
        }
        checkExtentInPieces(ref, lengthBytes);
    }

    /** How many extents were verified whole so far: a small read of an extent verified before adds none. */
    public long extentsVerified() {
        return extentsVerified.sum();
    }

    /** What verifying a node proves: its checksum, over the block after the checksum field. */
    private static long nodeClaim(int checksum) {
        return 1L << 62 | (checksum & 0xFFFF_FFFFL);
    }

    /** What verifying an extent proves: its checksum over its first {@code lengthBytes}, the rest zeros. */
    private static long extentClaim(int checksum, int lengthBytes) {
        return (long) lengthBytes << 32 | (checksum & 0xFFFF_FFFFL);
    }

    /** A reference must name blocks inside the image and outside the superblock regions. */
    public void checkExtentAddress(long blockIndex, long blockCount) throws CorruptionException {
        long endBlock = blockIndex + blockCount;
        boolean inImage = blockIndex >= Limits.firstDataBlock(blockSizeBytes) && blockCount >= 1
                && blockIndex < Limits.MAX_BLOCK_INDEX && endBlock <= device.lengthBytes() / blockSizeBytes;
        boolean overlapsFar = blockIndex < Limits.farRegionEndBlock(blockSizeBytes)
                && endBlock > Limits.farRegionFirstBlock(blockSizeBytes);
        if (!inImage || overlapsFar) {
            throw new CorruptionException(blockIndex, "reference to " + blockCount + " block(s) outside the data area"
                    + " of the image (" + device.lengthBytes() / blockSizeBytes + " blocks)");
        }
    }
}
