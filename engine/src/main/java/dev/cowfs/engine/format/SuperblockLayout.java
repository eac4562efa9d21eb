package dev.cowfs.engine.format;

/** One superblock copy: a 4096-byte slot of the ring or the far copy. Little-endian. */
public final class SuperblockLayout {
    public static final int MAGIC_OFFSET = 0;
    public static final int MAGIC_SIZE = 8;
    public static final int FORMAT_VERSION_OFFSET = MAGIC_OFFSET + MAGIC_SIZE;
    public static final int FORMAT_VERSION_SIZE = 4;
    public static final int SUPERBLOCK_BYTES_OFFSET = FORMAT_VERSION_OFFSET + FORMAT_VERSION_SIZE;
    public static final int SUPERBLOCK_BYTES_SIZE = 4;
    public static final int COMPAT_FEATURES_OFFSET = SUPERBLOCK_BYTES_OFFSET + SUPERBLOCK_BYTES_SIZE;
    public static final int COMPAT_FEATURES_SIZE = 8;
    public static final int RO_COMPAT_FEATURES_OFFSET = COMPAT_FEATURES_OFFSET + COMPAT_FEATURES_SIZE;
    public static final int RO_COMPAT_FEATURES_SIZE = 8;
    public static final int INCOMPAT_FEATURES_OFFSET = RO_COMPAT_FEATURES_OFFSET + RO_COMPAT_FEATURES_SIZE;
    public static final int INCOMPAT_FEATURES_SIZE = 8;
    public static final int IMAGE_UUID_OFFSET = INCOMPAT_FEATURES_OFFSET + INCOMPAT_FEATURES_SIZE;
    public static final int IMAGE_UUID_SIZE = 16;
    public static final int BLOCK_SIZE_OFFSET = IMAGE_UUID_OFFSET + IMAGE_UUID_SIZE;
    public static final int BLOCK_SIZE_SIZE = 4;
    public static final int RING_SLOTS_OFFSET = BLOCK_SIZE_OFFSET + BLOCK_SIZE_SIZE;
    public static final int RING_SLOTS_SIZE = 4;
    public static final int GENERATION_OFFSET = RING_SLOTS_OFFSET + RING_SLOTS_SIZE;
    public static final int GENERATION_SIZE = 8;
    public static final int PARENT_CHECKSUM_OFFSET = GENERATION_OFFSET + GENERATION_SIZE;
    public static final int PARENT_CHECKSUM_SIZE = 4;
    public static final int RESERVED_A_OFFSET = PARENT_CHECKSUM_OFFSET + PARENT_CHECKSUM_SIZE;
    public static final int RESERVED_A_SIZE = 4;
    public static final int COMMIT_TIME_OFFSET = RESERVED_A_OFFSET + RESERVED_A_SIZE;
    public static final int COMMIT_TIME_SIZE = 8;
    public static final int HIGH_WATER_BLOCK_OFFSET = COMMIT_TIME_OFFSET + COMMIT_TIME_SIZE;
    public static final int HIGH_WATER_BLOCK_SIZE = 8;
    public static final int FREE_BLOCKS_OFFSET = HIGH_WATER_BLOCK_OFFSET + HIGH_WATER_BLOCK_SIZE;
    public static final int FREE_BLOCKS_SIZE = 8;
    public static final int PENDING_BLOCKS_OFFSET = FREE_BLOCKS_OFFSET + FREE_BLOCKS_SIZE;
    public static final int PENDING_BLOCKS_SIZE = 8;
    public static final int CATALOG_ROOT_OFFSET = PENDING_BLOCKS_OFFSET + PENDING_BLOCKS_SIZE;
    public static final int CATALOG_ROOT_SIZE = BlockRefLayout.BYTES;
    public static final int SPACE_ROOT_OFFSET = CATALOG_ROOT_OFFSET + CATALOG_ROOT_SIZE;
    public static final int SPACE_ROOT_SIZE = BlockRefLayout.BYTES;
    public static final int CAPACITY_BLOCKS_OFFSET = SPACE_ROOT_OFFSET + SPACE_ROOT_SIZE;
    public static final int CAPACITY_BLOCKS_SIZE = 8;
    public static final int RESERVED_B_OFFSET = CAPACITY_BLOCKS_OFFSET + CAPACITY_BLOCKS_SIZE;
    public static final int CHECKSUM_OFFSET = Limits.SUPERBLOCK_SLOT_BYTES - 4;
    public static final int RESERVED_B_SIZE = CHECKSUM_OFFSET - RESERVED_B_OFFSET;
    public static final int CHECKSUM_SIZE = 4;
    public static final int BYTES = CHECKSUM_OFFSET + CHECKSUM_SIZE;

    /** "cowfs-SB" in ASCII, read as a little-endian long. */
    public static final long MAGIC = 0x42532D73666F7763L;
    public static final int FORMAT_VERSION = 1;

    /** Feature flags known to this build; an image with an unknown incompatible flag is refused. */
    public static final long KNOWN_COMPAT_FEATURES = 0;
    /**
     * The image may hold an intent log extending its newest commit (docs/FORMAT.md, "Intent log"): a version that
     * does not replay it may only read the image.
     */
    public static final long RO_COMPAT_INTENT_LOG = 1L;
    public static final long KNOWN_RO_COMPAT_FEATURES = RO_COMPAT_INTENT_LOG;
    /** Leaf entries may reference reference-counted data extents ({@link NodeLayout#FLAG_DATA_EXTENT}). */
    public static final long INCOMPAT_DATA_EXTENTS = 1L;
    /** Trees share nodes (snapshots, clones): code unaware of reference-counted nodes would free shared ones. */
    public static final long INCOMPAT_SHARED_TREES = 2L;
    public static final long KNOWN_INCOMPAT_FEATURES = INCOMPAT_DATA_EXTENTS | INCOMPAT_SHARED_TREES;

    private SuperblockLayout() {
    }
}
