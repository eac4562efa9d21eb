package dev.cowfs.engine;

import dev.cowfs.engine.device.SimulatedDevice;
import dev.cowfs.engine.error.CorruptionException;
import dev.cowfs.engine.format.Limits;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * A value too large for a leaf lives in blocks of its own: its bytes are checked against the reference's CRC32C
 * on every read, and the zero padding after it up to the end of its last block on the first read since open.
 */
class OutOfLineValueTest {
    private static final int BLOCK = Limits.DEFAULT_BLOCK_SIZE_BYTES;
    private static final StoreOptions OPTIONS = StoreOptions.builder().checkAfterCommit(false).build();
    private static final byte[] KEY = "big".getBytes();

    /** A store holding one 5,000-byte value (two blocks, 3,192 bytes of padding); returns the value's first block. */
    private static long storeOneValue(SimulatedDevice device, byte[] value) throws IOException {
        try (Store store = Store.create(device, OPTIONS); WriteTransaction txn = store.beginWrite()) {
            txn.put(KEY, value);
            txn.commit();
        }
        return blockOf(device, value);
    }

    /** The block whose first bytes are the value's (values here are random, so only the value's own block). */
    private static long blockOf(SimulatedDevice device, byte[] value) throws IOException {
        byte[] block = new byte[BLOCK];
        for (long at = Limits.firstDataBlock(BLOCK); at * BLOCK < device.lengthBytes(); at++) {
            device.read(at * BLOCK, block, 0, BLOCK);
            if (Arrays.equals(block, 0, 64, value, 0, 64)) {
                return at;
            }
        }
        throw new AssertionError("the value's blocks were not found on the device");
    }

    private static byte[] value() {
        return value(5000, 9);
    }

    private static byte[] value(int length, long seed) {
        byte[] value = new byte[length];
        new Random(seed).nextBytes(value);
        return value;
    }

    @Test
    void valueBytesDamagedAfterAFirstReadAreCaughtOnTheNextRead() throws IOException {
        SimulatedDevice device = new SimulatedDevice();
        byte[] value = value();
        long first = storeOneValue(device, value);
        try (Store store = Store.open(device, OPTIONS); ReadTransaction read = store.beginRead()) {
            assertArrayEquals(value, read.get(KEY));
            assertArrayEquals(value, read.get(KEY)); // the second read takes the path of a verified extent
            device.corrupt(first * BLOCK + 4200, 3); // in the value's second block, before its padding
            CorruptionException damaged = assertThrows(CorruptionException.class, () -> read.get(KEY));
            assertEquals(first, damaged.blockIndex());
        }
    }

    @Test
    void damagedPaddingIsCaughtOnTheFirstReadSinceOpen() throws IOException {
        SimulatedDevice device = new SimulatedDevice();
        byte[] value = value();
        long first = storeOneValue(device, value);
        device.corrupt(first * BLOCK + 5000 + 1000, 0); // after the value, inside its last block
        try (Store store = Store.open(device, OPTIONS); ReadTransaction read = store.beginRead()) {
            CorruptionException damaged = assertThrows(CorruptionException.class, () -> read.get(KEY));
            assertEquals(first, damaged.blockIndex());
            assertThrows(CorruptionException.class, () -> read.get(KEY)); // and on every read after it
        }
    }

    /**
     * Values read (each extent then counts as verified) and replaced, commit after commit, until a new value is
     * written where an earlier one was verified: the write clears that verification, so damaged padding of the
     * new value is caught on its first read.
     */
    @Test
    void aBlockRewrittenAfterItsExtentWasVerifiedIsVerifiedAgain() throws IOException {
        SimulatedDevice device = new SimulatedDevice();
        try (Store store = Store.create(device, OPTIONS)) {
            java.util.Set<Long> verifiedBlocks = new java.util.HashSet<>();
            for (int round = 1; round <= 500; round++) {
                byte[] value = value(3000, round); // one block, 1,096 bytes of padding
                try (WriteTransaction txn = store.beginWrite()) {
                    txn.put(KEY, value);
                    txn.commit();
                }
                long block = blockOf(device, value);
                if (verifiedBlocks.contains(block)) {
                    device.corrupt(block * BLOCK + 3500, 5);
                    try (ReadTransaction read = store.beginRead()) {
                        CorruptionException damaged = assertThrows(CorruptionException.class, () -> read.get(KEY));
                        assertEquals(block, damaged.blockIndex());
                    }
                    return;
                }
                try (ReadTransaction read = store.beginRead()) {
                    assertArrayEquals(value, read.get(KEY));
                }
                verifiedBlocks.add(block);
            }
            throw new AssertionError("no value was written where an earlier one was verified, in 500 commits");
        }
    }
}
