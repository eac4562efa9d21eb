package dev.cowfs.engine.btree;

import dev.cowfs.engine.block.BlockDevice;
import dev.cowfs.engine.block.EngineBugError;

import java.io.IOException;

/** What the trees of one write transaction share: its generation, allocator, reader and the dirty-node count. */
public final class TreeContext {
    private final long generation;
    private final BlockAllocator allocator;
    private final NodeReader reader;
    private final byte[] blockBuffer;
    private final NodeMemory memory = new NodeMemory();
    private ExtentReferences extentReferences;

    /** Drops one reference to a data extent (freeing it with the last); the transaction supplies it. */
    public interface ExtentReferences {
        void drop(dev.cowfs.engine.block.BlockRef extent) throws IOException;
    }
    private long dirtyNodes;
    private long blocksWritten;

    public TreeContext(long generation, BlockAllocator allocator, NodeReader reader) {
        this.generation = generation;
        this.allocator = allocator;
        this.reader = reader;
        this.blockBuffer = new byte[reader.blockSizeBytes()];
    }

    public long generation() {
        return generation;
    }

    public BlockAllocator allocator() {
        return allocator;
    }

    public NodeReader reader() {
        return reader;
    }

    public int blockSizeBytes() {
        return reader.blockSizeBytes();
    }

    public void extentReferences(ExtentReferences references) {
        this.extentReferences = references;
    }

    void dropExtentReference(dev.cowfs.engine.block.BlockRef extent) throws IOException {
        if (extentReferences == null) {
            throw new EngineBugError("a data extent reference was dropped where none can exist");
        }
        extentReferences.drop(extent);
    }

    /** The native memory of this transaction's dirty nodes; released when the transaction ends. */
    public NodeMemory memory() {
        return memory;
    }

    /** Nodes held in memory now; the transaction spills when this passes its cap. */
    public long dirtyNodes() {
        return dirtyNodes;
    }

    public long blocksWritten() {
        return blocksWritten;
    }

    void nodeDirtied() {
        dirtyNodes++;
    }

    void nodeCleaned() {
        dirtyNodes--;
        EngineBugError.check(dirtyNodes >= 0, "dirty node count went negative");
    }

    byte[] blockBuffer() {
        return blockBuffer;
    }

    void writeBlocks(long blockIndex, byte[] bytes, int length) throws IOException {
        writeBlocks(blockIndex, bytes, 0, length);
    }

    /** Writes {@code length} bytes at the start of block {@code blockIndex}, zero-padding the last block. */
    public void writeBlocks(long blockIndex, byte[] bytes, int offset, int length) throws IOException {
        BlockDevice device = reader.device();
        int blockSize = reader.blockSizeBytes();
        int blocks = (length + blockSize - 1) / blockSize;
        reader.verified().forget(blockIndex, blocks);
        device.write(blockIndex * blockSize, bytes, offset, length);
        int tail = blocks * blockSize - length;
        if (tail > 0) {
            device.write(blockIndex * blockSize + length, new byte[tail], 0, tail);
        }
        blocksWritten += blocks;
    }
}
