package dev.cowfs.engine.format;

/** Little- and big-endian integer access on byte arrays, and unsigned lexicographic comparison. */
public final class Bytes {
    private Bytes() {
    }

    public static void putLongBigEndian(byte[] dst, int offset, long value) {
        for (int i = 7; i >= 0; i--) {
            dst[offset + i] = (byte) value;
            value >>>= 8;
        }
    }

    public static long getLongBigEndian(byte[] src, int offset) {
        long value = 0;
        for (int i = 0; i < 8; i++) {
            value = (value << 8) | (src[offset + i] & 0xFF);
        }
        return value;
    }

    public static void putLong(byte[] dst, int offset, long value) {
        for (int i = 0; i < 8; i++) {
            dst[offset + i] = (byte) value;
            value >>>= 8;
        }
    }

    public static long getLong(byte[] src, int offset) {
        long value = 0;
        for (int i = 7; i >= 0; i--) {
            value = (value << 8) | (src[offset + i] & 0xFF);
        }
        return value;
    }

    public static void putInt(byte[] dst, int offset, int value) {
        for (int i = 0; i < 4; i++) {
            dst[offset + i] = (byte) value;
            value >>>= 8;
        }
    }

    public static int getInt(byte[] src, int offset) {
        return (src[offset] & 0xFF) | (src[offset + 1] & 0xFF) << 8 | (src[offset + 2] & 0xFF) << 16
                | (src[offset + 3] & 0xFF) << 24;
    }

    public static void putShort(byte[] dst, int offset, int value) {
        dst[offset] = (byte) value;
        dst[offset + 1] = (byte) (value >>> 8);
    }

    public static int getUnsignedShort(byte[] src, int offset) {
        return (src[offset] & 0xFF) | (src[offset + 1] & 0xFF) << 8;
    }

    /** Unsigned lexicographic order, the order of every tree. */
    public static int compare(byte[] a, byte[] b) {
        return java.util.Arrays.compareUnsigned(a, b);
    }
}
