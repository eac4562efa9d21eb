package dev.cowfs.crash;

import dev.cowfs.engine.device.BlockDevice;
import dev.cowfs.engine.device.ForwardingDevice;
import dev.cowfs.engine.format.Limits;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * A device that drops the barrier a commit issues between its blocks (the far superblock copy is the last of them)
 * and its ring superblock: the superblock can then land before blocks it names. The harness must catch it.
 */
final class BarrierDroppingDevice extends ForwardingDevice {
    /** The far copy was just written: the next barrier is the one before the superblock. */
    private boolean dropNextBarrier;

    BarrierDroppingDevice(BlockDevice inner) {
        super(inner);
    }

    @Override
    public void write(long offset, byte[] src, int srcOffset, int length) throws IOException {
        dropNextBarrier = offset == Limits.FAR_SUPERBLOCK_OFFSET_BYTES;
        super.write(offset, src, srcOffset, length);
    }

    @Override
    public void write(long offset, ByteBuffer src, int srcIndex, int length) throws IOException {
        dropNextBarrier = offset == Limits.FAR_SUPERBLOCK_OFFSET_BYTES;
        super.write(offset, src, srcIndex, length);
    }

    @Override
    public void barrier() throws IOException {
        if (dropNextBarrier) {
            dropNextBarrier = false;
            return;
        }
        super.barrier();
    }
}
