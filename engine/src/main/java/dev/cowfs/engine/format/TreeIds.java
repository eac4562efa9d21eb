package dev.cowfs.engine.format;

/** Well-known tree ids. */
public final class TreeIds {
    /** Maps tree id (u64 big-endian key) to the root reference of that tree. */
    public static final long CATALOG = 1;
    /** Free and pending-free extents. */
    public static final long SPACE = 2;
    /** The tree every image has from creation, used by the default key-value API. */
    public static final long DEFAULT = Limits.FIRST_USER_TREE_ID;

    private TreeIds() {
    }

    public static byte[] catalogKey(long treeId) {
        byte[] key = new byte[8];
        Bytes.putLongBigEndian(key, 0, treeId);
        return key;
    }
}
