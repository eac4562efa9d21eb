package dev.cowfs.engine.btree;

import dev.cowfs.engine.error.EngineBugError;
import net.openhft.chronicle.core.UnsafeMemory;
import sun.misc.Unsafe;

import java.util.Arrays;

/**
 * Native memory for the dirty nodes of one write transaction. Dirty nodes live off the Java heap: a large
 * transaction holds hundreds of megabytes of them, all alive until commit, which a generational collector would
 * copy again and again (measured: a third of a 1M-key bulk insert went to collection pauses). Every allocation
 * is recorded, so {@link #releaseAll()} frees what a failed or aborted transaction left behind, and
 * {@link #bytes()} is the exact figure the transaction's memory cap is checked against.
 *
 * <p>Single-threaded: used only by the writer.
 */
public final class NodeMemory {
    private static final Unsafe UNSAFE = UnsafeMemory.UNSAFE;
    private static final long EMPTY = 0;

    /** Open-addressing set of live addresses (never 0), with their sizes in a parallel array. */
    private long[] addresses = new long[1024];
    private int[] sizes = new int[1024];
    private int live;
    private long bytes;
    private boolean released;

    /** Allocates {@code size} bytes, not zeroed. */
    long allocate(int size) {
        EngineBugError.check(!released, "node memory used after its transaction ended");
        long address = UNSAFE.allocateMemory(size);
        if ((live + 1) * 2 > addresses.length) {
            rehash(addresses.length * 2);
        }
        int mask = addresses.length - 1;
        int i = mix(address) & mask;
        while (addresses[i] != EMPTY) {
            i = (i + 1) & mask;
        }
        addresses[i] = address;
        sizes[i] = size;
        live++;
        bytes += size;
        return address;
    }

    void free(long address) {
        int mask = addresses.length - 1;
        int i = mix(address) & mask;
        while (addresses[i] != address) {
            EngineBugError.check(addresses[i] != EMPTY, "freeing node memory that was not allocated");
            i = (i + 1) & mask;
        }
        bytes -= sizes[i];
        live--;
        UNSAFE.freeMemory(address);
        // Backward-shift deletion keeps probe chains intact without tombstones.
        int hole = i;
        for (int j = (i + 1) & mask; addresses[j] != EMPTY; j = (j + 1) & mask) {
            int home = mix(addresses[j]) & mask;
            boolean movable = hole <= j ? home <= hole || home > j : home <= hole && home > j;
            if (movable) {
                addresses[hole] = addresses[j];
                sizes[hole] = sizes[j];
                hole = j;
            }
        }
        addresses[hole] = EMPTY;
        sizes[hole] = 0;
    }

    /** Bytes allocated and not yet freed. */
    public long bytes() {
        return bytes;
    }

    /** Frees everything still allocated; the memory cannot be used afterwards. Idempotent. */
    public void releaseAll() {
        if (released) {
            return;
        }
        released = true;
        for (long address : addresses) {
            if (address != EMPTY) {
                UNSAFE.freeMemory(address);
            }
        }
        Arrays.fill(addresses, EMPTY);
        live = 0;
        bytes = 0;
    }

    private void rehash(int capacity) {
        long[] oldAddresses = addresses;
        int[] oldSizes = sizes;
        addresses = new long[capacity];
        sizes = new int[capacity];
        int mask = capacity - 1;
        for (int k = 0; k < oldAddresses.length; k++) {
            if (oldAddresses[k] != EMPTY) {
                int i = mix(oldAddresses[k]) & mask;
                while (addresses[i] != EMPTY) {
                    i = (i + 1) & mask;
                }
                addresses[i] = oldAddresses[k];
                sizes[i] = oldSizes[k];
            }
        }
    }

    private static int mix(long address) {
        long h = address * 0x9E3779B97F4A7C15L;
        return (int) (h >>> 32);
    }

    // ------------------------------------------------------------------ access (addresses from allocate only)

    static byte getByte(long address) {
        return UNSAFE.getByte(address);
    }

    static void putByte(long address, byte value) {
        UNSAFE.putByte(address, value);
    }

    static int getUnsignedShort(long address) {
        return UNSAFE.getShort(address) & 0xFFFF;
    }

    static void putShort(long address, int value) {
        UNSAFE.putShort(address, (short) value);
    }

    static long getLong(long address) {
        return UNSAFE.getLong(address);
    }

    static void putLong(long address, long value) {
        UNSAFE.putLong(address, value);
    }

    static int getInt(long address) {
        return UNSAFE.getInt(address);
    }

    static void putInt(long address, int value) {
        UNSAFE.putInt(address, value);
    }

    static void copy(long from, long to, long length) {
        UNSAFE.copyMemory(from, to, length);
    }

    static void copyFrom(Object base, long offset, long to, long length) {
        UNSAFE.copyMemory(base, offset, null, to, length);
    }

    static void copyToArray(long from, byte[] to, int toOffset, int length) {
        UNSAFE.copyMemory(null, from, to, Unsafe.ARRAY_BYTE_BASE_OFFSET + toOffset, length);
    }

    static void copyFromArray(byte[] from, int fromOffset, long to, int length) {
        UNSAFE.copyMemory(from, Unsafe.ARRAY_BYTE_BASE_OFFSET + fromOffset, null, to, length);
    }
}
