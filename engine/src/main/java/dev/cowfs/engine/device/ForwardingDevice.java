package dev.cowfs.engine.device;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * A device that passes every call to the one it wraps: wrappers (auditing, fault injection) extend it and override
 * only what they change, so that a method added to {@link BlockDevice} later reaches the wrapped device instead of
 * silently falling back to the interface's default behind a wrapper.
 */
public abstract class ForwardingDevice implements BlockDevice {
    protected final BlockDevice inner;

    protected ForwardingDevice(BlockDevice inner) {
        this.inner = inner;
    }

    @Override
    public long lengthBytes() {
        return inner.lengthBytes();
    }

    @Override
    public void ensureLength(long lengthBytes) throws IOException {
        inner.ensureLength(lengthBytes);
    }

    @Override
    public void window(long offset, int length, BlockWindow window) throws IOException {
        inner.window(offset, length, window);
    }

    @Override
    public long windowAlignmentBytes() {
        return inner.windowAlignmentBytes();
    }

    @Override
    public void read(long offset, byte[] dst, int dstOffset, int length) throws IOException {
        inner.read(offset, dst, dstOffset, length);
    }

    @Override
    public void write(long offset, byte[] src, int srcOffset, int length) throws IOException {
        inner.write(offset, src, srcOffset, length);
    }

    @Override
    public void read(long offset, ByteBuffer dst, int dstIndex, int length) throws IOException {
        inner.read(offset, dst, dstIndex, length);
    }

    @Override
    public void write(long offset, ByteBuffer src, int srcIndex, int length) throws IOException {
        inner.write(offset, src, srcIndex, length);
    }

    @Override
    public long shrink(long minimumBytes) throws IOException {
        return inner.shrink(minimumBytes);
    }

    @Override
    public long shrinkUnitBytes() {
        return inner.shrinkUnitBytes();
    }

    @Override
    public void barrier() throws IOException {
        inner.barrier();
    }

    @Override
    public boolean isReadOnly() {
        return inner.isReadOnly();
    }

    @Override
    public void allowHostReserve(boolean allowed) {
        inner.allowHostReserve(allowed);
    }

    @Override
    public boolean hostReserveGivenUp() {
        return inner.hostReserveGivenUp();
    }

    @Override
    public boolean verifiedBefore(long offset, int length, long claim) {
        return inner.verifiedBefore(offset, length, claim);
    }

    @Override
    public void rememberVerified(long offset, int length, long claim) {
        inner.rememberVerified(offset, length, claim);
    }

    @Override
    public long growableBytes() throws IOException {
        return inner.growableBytes();
    }

    @Override
    public void marker(String label) {
        inner.marker(label);
    }

    @Override
    public void close() throws IOException {
        inner.close();
    }
}
