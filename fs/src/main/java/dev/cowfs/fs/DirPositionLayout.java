package dev.cowfs.fs;

import dev.cowfs.engine.format.Bytes;

/**
 * A directory entry by position: the value of key (dir, DIR_INDEX, position) in a subvolume's tree, for readdir.
 * Little-endian; docs/FORMAT.md.
 */
final class DirPositionLayout {
    /** The child's inode number within the subvolume. */
    static final int INO_OFFSET = 0;
    static final int INO_SIZE = 8;
    /** The child's file type: mode >> 12. */
    static final int TYPE_OFFSET = INO_OFFSET + INO_SIZE;
    static final int TYPE_SIZE = 1;
    /** The name's bytes, to the end of the value. */
    static final int NAME_OFFSET = TYPE_OFFSET + TYPE_SIZE;

    private DirPositionLayout() {
    }

    static byte[] encode(long localIno, int type, byte[] name) {
        byte[] value = new byte[NAME_OFFSET + name.length];
        Bytes.putLong(value, INO_OFFSET, localIno);
        value[TYPE_OFFSET] = (byte) (type >>> 12);
        System.arraycopy(name, 0, value, NAME_OFFSET, name.length);
        return value;
    }
}
