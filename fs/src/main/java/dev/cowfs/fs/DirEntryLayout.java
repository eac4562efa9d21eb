package dev.cowfs.fs;

import dev.cowfs.engine.format.Bytes;

/**
 * A directory entry by name: the value of key (dir, DIR_NAME, name) in a subvolume's tree, for lookups. Little-endian;
 * docs/FORMAT.md.
 */
final class DirEntryLayout {
    /** The child's inode number within the subvolume. */
    static final int INO_OFFSET = 0;
    static final int INO_SIZE = 8;
    /** The entry's readdir position: its by-position key. */
    static final int POSITION_OFFSET = INO_OFFSET + INO_SIZE;
    static final int POSITION_SIZE = 8;
    /** The child's file type: mode >> 12. */
    static final int TYPE_OFFSET = POSITION_OFFSET + POSITION_SIZE;
    static final int TYPE_SIZE = 1;
    static final int BYTES = TYPE_OFFSET + TYPE_SIZE;

    private DirEntryLayout() {
    }

    static byte[] encodeByName(long localIno, long position, int type) {
        byte[] value = new byte[BYTES];
        Bytes.putLong(value, INO_OFFSET, localIno);
        Bytes.putLong(value, POSITION_OFFSET, position);
        value[TYPE_OFFSET] = (byte) (type >>> 12);
        return value;
    }
}
