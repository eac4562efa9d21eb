package dev.cowfs.engine.format;

/**
 * One unit of the intent log (docs/FORMAT.md, "Intent log"): the anchor (4096 bytes at a fixed offset in the header
 * region) or a chained block. A 64-byte header, then payload: a slice of one group's bytes. Integers little-endian.
 */
public final class LogUnitLayout {
    /** CRC32C of bytes 4 .. unit bytes - 1. */
    public static final int CHECKSUM_OFFSET = 0;
    public static final int CHECKSUM_SIZE = 4;
    public static final int MAGIC_OFFSET = CHECKSUM_OFFSET + CHECKSUM_SIZE;
    public static final int MAGIC_SIZE = 2;
    public static final int VERSION_OFFSET = MAGIC_OFFSET + MAGIC_SIZE;
    public static final int VERSION_SIZE = 1;
    public static final int PAD_OFFSET = VERSION_OFFSET + VERSION_SIZE;
    public static final int PAD_SIZE = 1;
    /** The generation whose commit this log extends: the superblock the log is replayed on. */
    public static final int BASE_GENERATION_OFFSET = PAD_OFFSET + PAD_SIZE;
    public static final int BASE_GENERATION_SIZE = 8;
    /** 0 for the anchor, one more for each unit after it. */
    public static final int SEQUENCE_OFFSET = BASE_GENERATION_OFFSET + BASE_GENERATION_SIZE;
    public static final int SEQUENCE_SIZE = 8;
    /** Block index where the unit after this one is (or will be) written. */
    public static final int NEXT_BLOCK_OFFSET = SEQUENCE_OFFSET + SEQUENCE_SIZE;
    public static final int NEXT_BLOCK_SIZE = 8;
    /** Bytes this unit covers: 4096 for the anchor, the block size for a chained unit. */
    public static final int UNIT_BYTES_OFFSET = NEXT_BLOCK_OFFSET + NEXT_BLOCK_SIZE;
    public static final int UNIT_BYTES_SIZE = 4;
    public static final int PAYLOAD_BYTES_OFFSET = UNIT_BYTES_OFFSET + UNIT_BYTES_SIZE;
    public static final int PAYLOAD_BYTES_SIZE = 4;
    /** Length of the group this unit's payload belongs to. */
    public static final int GROUP_BYTES_OFFSET = PAYLOAD_BYTES_OFFSET + PAYLOAD_BYTES_SIZE;
    public static final int GROUP_BYTES_SIZE = 4;
    /** Where in that group this unit's payload starts. */
    public static final int GROUP_OFFSET_OFFSET = GROUP_BYTES_OFFSET + GROUP_BYTES_SIZE;
    public static final int GROUP_OFFSET_SIZE = 4;
    public static final int RESERVED_OFFSET = GROUP_OFFSET_OFFSET + GROUP_OFFSET_SIZE;
    public static final int RESERVED_SIZE = 16;
    public static final int HEADER_BYTES = RESERVED_OFFSET + RESERVED_SIZE;

    /** "Lg" in its first two bytes. */
    public static final int MAGIC = 0x674C;
    public static final byte VERSION = 1;
    /** The anchor: the first unit of every generation's log, at this fixed offset of the header region. */
    public static final long ANCHOR_OFFSET = 16384;
    public static final int ANCHOR_BYTES = 4096;
    /** Largest group: what one fsync may log. */
    public static final int MAX_GROUP_BYTES = 64 << 20;

    private LogUnitLayout() {
    }
}
