package dev.cowfs.engine.superblock;

import dev.cowfs.engine.device.Checksums;
import dev.cowfs.engine.error.CorruptionException;
import dev.cowfs.engine.format.BlockRef;
import dev.cowfs.engine.format.Bytes;
import dev.cowfs.engine.format.Limits;
import dev.cowfs.engine.format.SuperblockLayout;

import java.util.UUID;

/**
 * One commit's superblock: what {@link SuperblockLayout} lays out, as a value.
 *
 * <p>Invariants, each checked by {@link #decode} (a slot failing one is no superblock): the magic, the format
 * version, the slot size and ring length are this format's; the CRC32C over everything before it matches; the
 * reserved bytes are zero (a field added later comes with a feature flag, never in reserved bytes unannounced);
 * the generation is at least 1 and the high-water mark and capacity lie within {@link Limits}. Where the copies
 * live, which one an open takes and how they chain: {@link SuperblockRing}.
 */
public record Superblock(long generation, UUID imageUuid, int blockSizeBytes, long compatFeatures,
                         long roCompatFeatures, long incompatFeatures, int parentChecksum, long commitTimeMillis,
                         long highWaterBlock, long freeBlocks, long pendingBlocks, BlockRef catalogRoot,
                         BlockRef spaceRoot, long capacityBlocks) {

    public int ringSlot() {
        return (int) (generation % Limits.SUPERBLOCK_RING_SLOTS);
    }

    public byte[] encode() {
        byte[] slot = new byte[SuperblockLayout.BYTES];
        Bytes.putLong(slot, SuperblockLayout.MAGIC_OFFSET, SuperblockLayout.MAGIC);
        Bytes.putInt(slot, SuperblockLayout.FORMAT_VERSION_OFFSET, SuperblockLayout.FORMAT_VERSION);
        Bytes.putInt(slot, SuperblockLayout.SUPERBLOCK_BYTES_OFFSET, SuperblockLayout.BYTES);
        Bytes.putLong(slot, SuperblockLayout.COMPAT_FEATURES_OFFSET, compatFeatures);
        Bytes.putLong(slot, SuperblockLayout.RO_COMPAT_FEATURES_OFFSET, roCompatFeatures);
        Bytes.putLong(slot, SuperblockLayout.INCOMPAT_FEATURES_OFFSET, incompatFeatures);
        Bytes.putLongBigEndian(slot, SuperblockLayout.IMAGE_UUID_OFFSET, imageUuid.getMostSignificantBits());
        Bytes.putLongBigEndian(slot, SuperblockLayout.IMAGE_UUID_OFFSET + 8, imageUuid.getLeastSignificantBits());
        Bytes.putInt(slot, SuperblockLayout.BLOCK_SIZE_OFFSET, blockSizeBytes);
        Bytes.putInt(slot, SuperblockLayout.RING_SLOTS_OFFSET, Limits.SUPERBLOCK_RING_SLOTS);
        Bytes.putLong(slot, SuperblockLayout.GENERATION_OFFSET, generation);
        Bytes.putInt(slot, SuperblockLayout.PARENT_CHECKSUM_OFFSET, parentChecksum);
        Bytes.putLong(slot, SuperblockLayout.COMMIT_TIME_OFFSET, commitTimeMillis);
        Bytes.putLong(slot, SuperblockLayout.HIGH_WATER_BLOCK_OFFSET, highWaterBlock);
        Bytes.putLong(slot, SuperblockLayout.FREE_BLOCKS_OFFSET, freeBlocks);
        Bytes.putLong(slot, SuperblockLayout.PENDING_BLOCKS_OFFSET, pendingBlocks);
        catalogRoot.encode(slot, SuperblockLayout.CATALOG_ROOT_OFFSET);
        spaceRoot.encode(slot, SuperblockLayout.SPACE_ROOT_OFFSET);
        Bytes.putLong(slot, SuperblockLayout.CAPACITY_BLOCKS_OFFSET, capacityBlocks);
        Bytes.putInt(slot, SuperblockLayout.CHECKSUM_OFFSET, Checksums.crc32c(slot, 0, SuperblockLayout.CHECKSUM_OFFSET));
        return slot;
    }

    /** The CRC32C the next superblock records as its parent's. */
    public int checksum() {
        return Bytes.getInt(encode(), SuperblockLayout.CHECKSUM_OFFSET);
    }

    /**
     * Decodes a slot, checking magic, own checksum and field sanity; a slot that fails any of these is not a
     * superblock. Feature flags are checked separately, so that an image from a newer version is refused clearly.
     */
    public static Superblock decode(byte[] slot, String where) throws CorruptionException {
        if (Bytes.getLong(slot, SuperblockLayout.MAGIC_OFFSET) != SuperblockLayout.MAGIC) {
            throw new CorruptionException(-1, where + ": no superblock magic");
        }
        int stored = Bytes.getInt(slot, SuperblockLayout.CHECKSUM_OFFSET);
        int actual = Checksums.crc32c(slot, 0, SuperblockLayout.CHECKSUM_OFFSET);
        if (stored != actual) {
            throw new CorruptionException(-1, String.format("%s: superblock checksum mismatch (stored %08x, "
                    + "computed %08x)", where, stored, actual));
        }
        int version = Bytes.getInt(slot, SuperblockLayout.FORMAT_VERSION_OFFSET);
        int size = Bytes.getInt(slot, SuperblockLayout.SUPERBLOCK_BYTES_OFFSET);
        int blockSize = Bytes.getInt(slot, SuperblockLayout.BLOCK_SIZE_OFFSET);
        int ringSlots = Bytes.getInt(slot, SuperblockLayout.RING_SLOTS_OFFSET);
        if (version != SuperblockLayout.FORMAT_VERSION || size != SuperblockLayout.BYTES
                || !Limits.isValidBlockSize(blockSize) || ringSlots != Limits.SUPERBLOCK_RING_SLOTS) {
            throw new CorruptionException(-1, where + ": unsupported superblock (format version " + version
                    + ", block size " + blockSize + ")");
        }
        if (!isZero(slot, SuperblockLayout.RESERVED_A_OFFSET, SuperblockLayout.RESERVED_A_SIZE)
                || !isZero(slot, SuperblockLayout.RESERVED_B_OFFSET, SuperblockLayout.RESERVED_B_SIZE)) {
            throw new CorruptionException(-1, where + ": reserved superblock bytes are not zero (written by a "
                    + "version that does not follow this format)");
        }
        Superblock superblock = new Superblock(Bytes.getLong(slot, SuperblockLayout.GENERATION_OFFSET),
                new UUID(Bytes.getLongBigEndian(slot, SuperblockLayout.IMAGE_UUID_OFFSET),
                        Bytes.getLongBigEndian(slot, SuperblockLayout.IMAGE_UUID_OFFSET + 8)),
                blockSize,
                Bytes.getLong(slot, SuperblockLayout.COMPAT_FEATURES_OFFSET),
                Bytes.getLong(slot, SuperblockLayout.RO_COMPAT_FEATURES_OFFSET),
                Bytes.getLong(slot, SuperblockLayout.INCOMPAT_FEATURES_OFFSET),
                Bytes.getInt(slot, SuperblockLayout.PARENT_CHECKSUM_OFFSET),
                Bytes.getLong(slot, SuperblockLayout.COMMIT_TIME_OFFSET),
                Bytes.getLong(slot, SuperblockLayout.HIGH_WATER_BLOCK_OFFSET),
                Bytes.getLong(slot, SuperblockLayout.FREE_BLOCKS_OFFSET),
                Bytes.getLong(slot, SuperblockLayout.PENDING_BLOCKS_OFFSET),
                BlockRef.decode(slot, SuperblockLayout.CATALOG_ROOT_OFFSET),
                BlockRef.decode(slot, SuperblockLayout.SPACE_ROOT_OFFSET),
                Bytes.getLong(slot, SuperblockLayout.CAPACITY_BLOCKS_OFFSET));
        if (superblock.generation < 1 || superblock.highWaterBlock < Limits.firstDataBlock(blockSize)
                || superblock.highWaterBlock > Limits.MAX_BLOCK_INDEX || superblock.capacityBlocks < 0
                || superblock.capacityBlocks > Limits.MAX_BLOCK_INDEX) {
            throw new CorruptionException(-1, where + ": superblock fields out of range");
        }
        return superblock;
    }

    private static final byte[] ZEROS = new byte[SuperblockLayout.BYTES];

    /**
     * Word-wise (Arrays.mismatch), so that every open checking every copy costs microseconds, not a byte loop; also
     * how the ring tells an empty slot ({@link SuperblockRing}).
     */
    static boolean isZero(byte[] bytes, int offset, int length) {
        return java.util.Arrays.mismatch(bytes, offset, offset + length, ZEROS, 0, length) < 0;
    }
}
