package dev.cowfs.fs;

/** The filesystem record: the value of key {@code cowfs.fs} in tree 256. Little-endian; docs/FORMAT.md. */
final class FsRecordLayout {
    static final int VERSION_OFFSET = 0;
    static final int VERSION_SIZE = 4;
    /** Default inode flags for new regular files ({@link Inode#FLAG_COMPRESS}). */
    static final int DEFAULT_FLAGS_OFFSET = VERSION_OFFSET + VERSION_SIZE;
    static final int DEFAULT_FLAGS_SIZE = 4;
    static final int DEFAULT_TREE_OFFSET = DEFAULT_FLAGS_OFFSET + DEFAULT_FLAGS_SIZE;
    static final int DEFAULT_TREE_SIZE = 8;
    /** The next subvolume id (0 in images made before subvolumes: read as 1). */
    static final int NEXT_ID_OFFSET = DEFAULT_TREE_OFFSET + DEFAULT_TREE_SIZE;
    static final int NEXT_ID_SIZE = 8;
    static final int PAD_OFFSET = NEXT_ID_OFFSET + NEXT_ID_SIZE;
    static final int PAD_SIZE = 8;
    static final int BYTES = PAD_OFFSET + PAD_SIZE;

    static final int VERSION = 1;

    private FsRecordLayout() {
    }
}
