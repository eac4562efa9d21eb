package dev.cowfs.engine.format;

/**
 * Every limit of the engine in one place. Each loop over on-disk data is bounded by one of these,
 * so a corrupt image can make an operation fail but never hang it.
 */
public final class Limits {
    /** Default block size: one page of the usual hardware and kernel. */
    public static final int DEFAULT_BLOCK_SIZE_BYTES = 4096;
    public static final int MIN_BLOCK_SIZE_BYTES = 4096;
    public static final int MAX_BLOCK_SIZE_BYTES = 65536;

    /** Longest key of any tree. Chosen so that at least four entries fit in every node of the smallest block. */
    public static final int MAX_KEY_BYTES = 512;
    /** Longest value; values that do not fit in a node go to an out-of-line extent. */
    public static final int MAX_VALUE_BYTES = 64 << 20;

    /** Height bound of every tree: a fan-out of at least 4 makes 32 levels far beyond any image. */
    public static final int MAX_TREE_HEIGHT = 32;

    /** Superblock ring length; the commit of generation g writes slot g mod this. */
    public static final int SUPERBLOCK_RING_SLOTS = 4;
    public static final int SUPERBLOCK_SLOT_BYTES = 4096;
    /** Bytes at the start of the image kept for the superblock ring; no tree block lives here. */
    public static final int HEADER_REGION_BYTES = 64 * 1024;
    /** The far superblock copy survives a clobbered image start (btrfs keeps its first mirror here too). */
    public static final long FAR_SUPERBLOCK_OFFSET_BYTES = 64L << 20;
    public static final int FAR_REGION_BYTES = 64 * 1024;

    /** Tree ids below this are the engine's own; user trees take ids from here up. */
    public static final long FIRST_USER_TREE_ID = 256;
    /** Largest tree id: catalog keys of trees start with a zero byte, leaving room for the engine's own records. */
    public static final long MAX_TREE_ID = (1L << 56) - 1;

    /** Largest image the engine addresses: block indexes must stay below 2^40. */
    public static final long MAX_BLOCK_INDEX = 1L << 40;

    private Limits() {
    }

    public static boolean isValidBlockSize(int blockSizeBytes) {
        return blockSizeBytes >= MIN_BLOCK_SIZE_BYTES && blockSizeBytes <= MAX_BLOCK_SIZE_BYTES
                && Integer.bitCount(blockSizeBytes) == 1;
    }

    /** Largest entry (slot included) a node of this block size holds inline: a quarter of its payload. */
    public static int maxInlineEntryBytes(int blockSizeBytes) {
        return (blockSizeBytes - NodeLayout.HEADER_BYTES) / 4;
    }

    /** First block index after the header region. */
    public static long firstDataBlock(int blockSizeBytes) {
        return HEADER_REGION_BYTES / blockSizeBytes;
    }

    public static long farRegionFirstBlock(int blockSizeBytes) {
        return FAR_SUPERBLOCK_OFFSET_BYTES / blockSizeBytes;
    }

    public static long farRegionEndBlock(int blockSizeBytes) {
        return (FAR_SUPERBLOCK_OFFSET_BYTES + FAR_REGION_BYTES) / blockSizeBytes;
    }

    /** True when the block is in a region no tree block may occupy (header, far superblock copy). */
    public static boolean isReservedBlock(long blockIndex, int blockSizeBytes) {
        return blockIndex < firstDataBlock(blockSizeBytes)
                || (blockIndex >= farRegionFirstBlock(blockSizeBytes) && blockIndex < farRegionEndBlock(blockSizeBytes));
    }

    public static long superblockSlotOffset(int slot) {
        return (long) slot * SUPERBLOCK_SLOT_BYTES;
    }
}
