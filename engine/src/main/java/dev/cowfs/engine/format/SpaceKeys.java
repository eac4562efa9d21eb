package dev.cowfs.engine.format;

/**
 * Keys of the space tree (tree id {@link TreeIds#SPACE}). Integers in keys are big-endian so that byte
 * order is numeric order; values are little-endian.
 * <ul>
 * <li>free by address: 0x01, start block (u64) -&gt; block count (u64)</li>
 * <li>free by size: 0x02, block count (u64), start block (u64) -&gt; empty</li>
 * <li>pending free: 0x03, freeing generation (u64), start block (u64) -&gt; block count (u64), birth (u64)</li>
 * </ul>
 */
public final class SpaceKeys {
    public static final byte FREE_BY_ADDRESS = 0x01;
    public static final byte FREE_BY_SIZE = 0x02;
    public static final byte PENDING = 0x03;
    public static final int FREE_BY_ADDRESS_KEY_BYTES = 9;
    public static final int FREE_BY_SIZE_KEY_BYTES = 17;
    public static final int PENDING_KEY_BYTES = 17;
    public static final int FREE_VALUE_BYTES = 8;
    public static final int PENDING_VALUE_BYTES = 16;

    private SpaceKeys() {
    }

    public static byte[] freeByAddress(long start) {
        byte[] key = new byte[FREE_BY_ADDRESS_KEY_BYTES];
        key[0] = FREE_BY_ADDRESS;
        Bytes.putLongBigEndian(key, 1, start);
        return key;
    }

    public static byte[] freeBySize(long count, long start) {
        byte[] key = new byte[FREE_BY_SIZE_KEY_BYTES];
        key[0] = FREE_BY_SIZE;
        Bytes.putLongBigEndian(key, 1, count);
        Bytes.putLongBigEndian(key, 9, start);
        return key;
    }

    public static byte[] pending(long freeGeneration, long start) {
        byte[] key = new byte[PENDING_KEY_BYTES];
        key[0] = PENDING;
        Bytes.putLongBigEndian(key, 1, freeGeneration);
        Bytes.putLongBigEndian(key, 9, start);
        return key;
    }
}
