package dev.cowfs.crash;

import dev.cowfs.engine.device.BlockWindow;
import dev.cowfs.engine.device.ForwardingDevice;
import dev.cowfs.engine.device.RawMemory;
import dev.cowfs.engine.device.SimulatedDevice;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * A device whose reads of one byte range fail: with an I/O error (a bad sector), or with one bit flipped in
 * what comes back (the media or the bus flipped it). Writes go through untouched. Every read goes through the fault,
 * and nothing read is vouched for as verified before (the faulty bytes must meet the checksums).
 */
final class FaultyReadDevice extends ForwardingDevice {
    private final long faultStart;
    private final long faultEnd;
    private final boolean flip;
    private final long flipOffset;
    private final int flipBit;

    /** Reads touching {@code [start, end)} fail with an I/O error. */
    static FaultyReadDevice readError(SimulatedDevice inner, long start, long end) {
        return new FaultyReadDevice(inner, start, end, false, 0, 0);
    }

    /** Reads covering byte {@code offset} come back with bit {@code bit} of it flipped. */
    static FaultyReadDevice bitFlip(SimulatedDevice inner, long offset, int bit) {
        return new FaultyReadDevice(inner, offset, offset + 1, true, offset, bit);
    }

    private FaultyReadDevice(SimulatedDevice inner, long faultStart, long faultEnd, boolean flip, long flipOffset,
                             int flipBit) {
        super(inner);
        this.faultStart = faultStart;
        this.faultEnd = faultEnd;
        this.flip = flip;
        this.flipOffset = flipOffset;
        this.flipBit = flipBit;
    }

    private boolean touches(long offset, int length) {
        return offset < faultEnd && offset + length > faultStart;
    }

    @Override
    public void window(long offset, int length, BlockWindow window) throws IOException {
        if (!touches(offset, length)) {
            inner.window(offset, length, window);
            return;
        }
        byte[] copy = new byte[length];
        read(offset, copy, 0, length);
        window.set(copy, RawMemory.BYTE_ARRAY_BASE);
    }

    @Override
    public void read(long offset, byte[] dst, int dstOffset, int length) throws IOException {
        inner.read(offset, dst, dstOffset, length);
        if (!touches(offset, length)) {
            return;
        }
        if (!flip) {
            throw new IOException("simulated read error in bytes " + faultStart + ".." + faultEnd);
        }
        dst[dstOffset + (int) (flipOffset - offset)] ^= (byte) (1 << flipBit);
    }

    @Override
    public void read(long offset, ByteBuffer dst, int dstIndex, int length) throws IOException {
        byte[] bytes = new byte[length];
        read(offset, bytes, 0, length); // through the fault
        dst.put(dstIndex, bytes);
    }

    @Override
    public boolean verifiedBefore(long offset, int length, long claim) {
        return false;
    }

    @Override
    public void rememberVerified(long offset, int length, long claim) {
    }
}
