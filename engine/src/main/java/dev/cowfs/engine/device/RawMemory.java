package dev.cowfs.engine.device;

import net.openhft.chronicle.core.UnsafeMemory;
import sun.misc.Unsafe;

import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ReadOnlyBufferException;

/**
 * Reads and copies at an (object, offset) address: a mapped block is (null, native address), a heap block is
 * (byte[], array base + index). Used only on bytes whose bounds were checked before (a verified block, or a
 * range the device checked), so no check is repeated on the hot path.
 */
public final class RawMemory {
    private static final Unsafe UNSAFE = UnsafeMemory.UNSAFE;
    public static final long BYTE_ARRAY_BASE = Unsafe.ARRAY_BYTE_BASE_OFFSET;

    static {
        if (!UnsafeMemory.IS_LITTLE_ENDIAN) {
            throw new ExceptionInInitializerError("cowfs reads its little-endian format in place: needs a "
                    + "little-endian machine");
        }
    }

    private RawMemory() {
    }

    public static byte getByte(Object base, long offset) {
        return UNSAFE.getByte(base, offset);
    }

    public static int getUnsignedByte(Object base, long offset) {
        return UNSAFE.getByte(base, offset) & 0xFF;
    }

    public static int getUnsignedShort(Object base, long offset) {
        return UNSAFE.getShort(base, offset) & 0xFFFF;
    }

    public static int getInt(Object base, long offset) {
        return UNSAFE.getInt(base, offset);
    }

    public static long getLong(Object base, long offset) {
        return UNSAFE.getLong(base, offset);
    }

    public static void copyToArray(Object base, long offset, byte[] dst, int dstOffset, int length) {
        UNSAFE.copyMemory(base, offset, dst, BYTE_ARRAY_BASE + dstOffset, length);
    }

    public static void copyFromArray(byte[] src, int srcOffset, Object base, long offset, int length) {
        UNSAFE.copyMemory(src, BYTE_ARRAY_BASE + srcOffset, base, offset, length);
    }

    /**
     * Copies mapped bytes at {@code address} into {@code dst} at {@code dstIndex} (its position and limit stay):
     * straight into a direct or array-backed buffer, through an array into any other.
     */
    public static void copyToBuffer(long address, ByteBuffer dst, int dstIndex, int length) {
        java.util.Objects.checkFromIndexSize(dstIndex, length, dst.limit());
        if (dst.isReadOnly()) {
            throw new ReadOnlyBufferException();
        }
        if (dst.isDirect()) {
            UNSAFE.copyMemory(null, address, null, UNSAFE.getLong(dst, BUFFER_ADDRESS) + dstIndex, length);
        } else if (dst.hasArray()) {
            copyToArray(null, address, dst.array(), dst.arrayOffset() + dstIndex, length);
        } else {
            byte[] bytes = new byte[length];
            copyToArray(null, address, bytes, 0, length);
            dst.put(dstIndex, bytes);
        }
    }

    private static final long BUFFER_ADDRESS;

    static {
        try {
            BUFFER_ADDRESS = UNSAFE.objectFieldOffset(Buffer.class.getDeclaredField("address"));
        } catch (NoSuchFieldException e) {
            throw new ExceptionInInitializerError("java.nio.Buffer has no address field: " + e);
        }
    }
}
