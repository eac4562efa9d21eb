package dev.cowfs.engine.format;

/** A block reference as stored in branch entries, catalog values and superblocks (24 bytes, little-endian). */
public final class BlockRefLayout {
    public static final int BLOCK_INDEX_OFFSET = 0;
    public static final int BLOCK_INDEX_SIZE = 8;
    public static final int BIRTH_OFFSET = BLOCK_INDEX_OFFSET + BLOCK_INDEX_SIZE;
    public static final int BIRTH_SIZE = 8;
    public static final int CHECKSUM_OFFSET = BIRTH_OFFSET + BIRTH_SIZE;
    public static final int CHECKSUM_SIZE = 4;
    public static final int BLOCK_COUNT_OFFSET = CHECKSUM_OFFSET + CHECKSUM_SIZE;
    public static final int BLOCK_COUNT_SIZE = 4;
    public static final int BYTES = BLOCK_COUNT_OFFSET + BLOCK_COUNT_SIZE;

    private BlockRefLayout() {
    }
}
