package dev.cowfs.engine.check;

import dev.cowfs.engine.device.BlockDevice;
import dev.cowfs.engine.device.ForwardingDevice;
import dev.cowfs.engine.error.EngineBugError;
import dev.cowfs.engine.format.Limits;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.BitSet;

/**
 * A device wrapper that fails at once on any write to a block a retained root can reach, or to the ring slot
 * holding the newest durable superblock (invariant 1). Used in strict mode, with the set the checker computes
 * after every commit.
 */
public final class AuditingDevice extends ForwardingDevice {
    private volatile BitSet protectedBlocks = new BitSet();
    private volatile int protectedSlot = -1;
    private volatile int blockSizeBytes = Limits.DEFAULT_BLOCK_SIZE_BYTES;

    public AuditingDevice(BlockDevice inner) {
        super(inner);
    }

    public void protect(BitSet blocks, int newestSlot, int blockSize) {
        this.protectedBlocks = blocks;
        this.protectedSlot = newestSlot;
        this.blockSizeBytes = blockSize;
    }

    @Override
    public void write(long offset, byte[] src, int srcOffset, int length) throws IOException {
        audit(offset, length);
        inner.write(offset, src, srcOffset, length);
    }

    @Override
    public void write(long offset, ByteBuffer src, int srcIndex, int length) throws IOException {
        audit(offset, length);
        inner.write(offset, src, srcIndex, length);
    }

    private void audit(long offset, int length) {
        if (protectedSlot >= 0 && offset == Limits.superblockSlotOffset(protectedSlot)) {
            throw new EngineBugError("write to superblock slot " + protectedSlot
                    + ", which holds the newest durable superblock");
        }
        if (offset >= Limits.HEADER_REGION_BYTES) {
            BitSet blocks = protectedBlocks;
            long first = offset / blockSizeBytes;
            long last = (offset + length - 1) / blockSizeBytes;
            for (long block = first; block <= last; block++) {
                if (block < Integer.MAX_VALUE && blocks.get((int) block)) {
                    throw new EngineBugError("write to block " + block + ", which a durable root can still reach");
                }
            }
        }
    }
}
