package dev.cowfs.fs;

/** The inode record: the value of key (ino, INODE) in a subvolume's tree. Little-endian; docs/FORMAT.md. */
final class InodeLayout {
    static final int VERSION_OFFSET = 0;
    static final int VERSION_SIZE = 1;
    static final int PAD_A_OFFSET = VERSION_OFFSET + VERSION_SIZE;
    static final int PAD_A_SIZE = 1;
    static final int FLAGS_OFFSET = PAD_A_OFFSET + PAD_A_SIZE;
    static final int FLAGS_SIZE = 2;
    static final int MODE_OFFSET = FLAGS_OFFSET + FLAGS_SIZE;
    static final int MODE_SIZE = 4;
    static final int UID_OFFSET = MODE_OFFSET + MODE_SIZE;
    static final int UID_SIZE = 4;
    static final int GID_OFFSET = UID_OFFSET + UID_SIZE;
    static final int GID_SIZE = 4;
    static final int NLINK_OFFSET = GID_OFFSET + GID_SIZE;
    static final int NLINK_SIZE = 4;
    static final int PAD_B_OFFSET = NLINK_OFFSET + NLINK_SIZE;
    static final int PAD_B_SIZE = 4;
    static final int SIZE_OFFSET = PAD_B_OFFSET + PAD_B_SIZE;
    static final int SIZE_SIZE = 8;
    static final int GENERATION_OFFSET = SIZE_OFFSET + SIZE_SIZE;
    static final int GENERATION_SIZE = 8;
    static final int RDEV_OFFSET = GENERATION_OFFSET + GENERATION_SIZE;
    static final int RDEV_SIZE = 8;
    static final int PARENT_OFFSET = RDEV_OFFSET + RDEV_SIZE;
    static final int PARENT_SIZE = 8;
    static final int NEXT_DIR_INDEX_OFFSET = PARENT_OFFSET + PARENT_SIZE;
    static final int NEXT_DIR_INDEX_SIZE = 8;
    /** Each time: seconds (i64), then nanoseconds (u32). */
    static final int ATIME_OFFSET = NEXT_DIR_INDEX_OFFSET + NEXT_DIR_INDEX_SIZE;
    static final int ATIME_SIZE = 12;
    static final int MTIME_OFFSET = ATIME_OFFSET + ATIME_SIZE;
    static final int MTIME_SIZE = 12;
    static final int CTIME_OFFSET = MTIME_OFFSET + MTIME_SIZE;
    static final int CTIME_SIZE = 12;
    static final int BTIME_OFFSET = CTIME_OFFSET + CTIME_SIZE;
    static final int BTIME_SIZE = 12;
    static final int BYTES = BTIME_OFFSET + BTIME_SIZE;

    static final byte VERSION = 1;

    private InodeLayout() {
    }
}
