package dev.cowfs.engine.format;


import java.util.Arrays;

/**
 * A catalog record of a tree being dropped. Key (21 bytes, big-endian): {@code FF}, the generation that dropped
 * it (u64), its tree id (u64; for a nested tree, the tree that held it), a sequence number within that
 * generation (u32); tree keys of the catalog start with a zero byte, so drop records sort after them.
 * Value: the tree's root reference (24 bytes) then the drop's progress key (0..512 bytes; empty at first).
 */
public final class DropRecordLayout {
    public static final byte KEY_PREFIX = (byte) 0xFF;
    /**
     * Key of the catalog record holding the generation of the latest tree clone (u64 little-endian): nodes
     * born after it are never shared. One byte, so it sorts between tree keys and drop records.
     */
    public static final byte LAST_CLONE_KEY_BYTE = (byte) 0xFE;
    public static final int KEY_BYTES = 21;
    public static final int ROOT_OFFSET = 0;
    public static final int ROOT_SIZE = BlockRefLayout.BYTES;
    public static final int PROGRESS_OFFSET = ROOT_OFFSET + ROOT_SIZE;

    private DropRecordLayout() {
    }

    public static byte[] key(long generation, long treeId, int sequence) {
        byte[] key = new byte[KEY_BYTES];
        key[0] = KEY_PREFIX;
        Bytes.putLongBigEndian(key, 1, generation);
        Bytes.putLongBigEndian(key, 9, treeId);
        key[17] = (byte) (sequence >>> 24);
        key[18] = (byte) (sequence >>> 16);
        key[19] = (byte) (sequence >>> 8);
        key[20] = (byte) sequence;
        return key;
    }

    public static boolean isKey(byte[] key) {
        return key.length == KEY_BYTES && key[0] == KEY_PREFIX;
    }

    public static long treeId(byte[] key) {
        return Bytes.getLongBigEndian(key, 9);
    }

    public static byte[] value(BlockRef root, byte[] progress) {
        byte[] value = new byte[PROGRESS_OFFSET + progress.length];
        root.encode(value, ROOT_OFFSET);
        System.arraycopy(progress, 0, value, PROGRESS_OFFSET, progress.length);
        return value;
    }

    public static boolean isValidValue(byte[] value) {
        return value.length >= PROGRESS_OFFSET && value.length - PROGRESS_OFFSET <= Limits.MAX_KEY_BYTES;
    }

    public static BlockRef root(byte[] value) {
        return BlockRef.decode(value, ROOT_OFFSET);
    }

    public static byte[] progress(byte[] value) {
        return Arrays.copyOfRange(value, PROGRESS_OFFSET, value.length);
    }
}
