package dev.cowfs.engine.format;

/** Well-known tree ids. */
public final class TreeIds {
    /** Maps tree id (u64 big-endian key) to the root reference of that tree. */
    public static final long CATALOG = 1;
    /** Free and pending-free extents. */
    public static final long SPACE = 2;
    /**
     * Reference counts of data extents referenced more than once (u64 big-endian first block -> u64 count,
     * always at least 2). An extent referenced once has no record; created with the first shared extent.
     */
    public static final long REFS = 3;
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
