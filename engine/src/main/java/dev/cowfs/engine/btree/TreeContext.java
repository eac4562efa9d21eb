package dev.cowfs.engine.btree;

import dev.cowfs.engine.device.BlockDevice;
import dev.cowfs.engine.error.EngineBugError;
import dev.cowfs.engine.format.BlockRef;

import java.io.IOException;
import java.nio.ByteBuffer;

/** What the trees of one write transaction share: its generation, allocator, reader and the dirty-node count. */
public final class TreeContext {
    private final long generation;
    private final BlockAllocator allocator;
    private final NodeReader reader;
    private final byte[] blockBuffer;
    private final NodeMemory memory = new NodeMemory();
    private BlockReferences references = BlockReferences.UNSHARED;

    /**
     * Reference counts of blocks that user trees may share (nodes of cloned trees, out-of-line values, data
     * extents): a block has one reference unless the transaction's reference-count tree records more.
     */
    public interface BlockReferences {
        /** For a context whose trees never share a block: every block has exactly one reference. */
        BlockReferences UNSHARED = new BlockReferences() {
            @Override
            public long count(long blockIndex) {
                return 1;
            }

            @Override
            public long lastCloneGeneration() {
                return 0;
            }

            @Override
            public void add(long blockIndex) {
                throw new EngineBugError("a block reference was added where no block can be shared");
            }

            @Override
            public boolean drop(BlockRef ref, BlockAllocator allocator) throws IOException {
                allocator.free(ref.blockIndex(), ref.blockCount(), ref.birthGeneration());
                return true;
            }

            @Override
            public void dropSubtree(BlockRef root, long treeId) {
                throw new EngineBugError("a nested tree was dropped where none can exist");
            }
        };

        /** References to the block starting at {@code blockIndex}: 1 unless recorded as shared. */
        long count(long blockIndex) throws IOException;

        /**
         * The generation of the latest tree clone (0 if none). Only clones share nodes, so a node born after it
         * has a single reference without asking the reference-count tree.
         */
        long lastCloneGeneration() throws IOException;

        /** Takes one more reference to the block starting at {@code blockIndex}. */
        void add(long blockIndex) throws IOException;

        /** Drops one reference; the last frees the blocks through {@code allocator}. True when they were freed. */
        boolean drop(BlockRef ref, BlockAllocator allocator) throws IOException;

        /**
         * Drops one reference to the root of a nested tree (an entry of tree {@code treeId} held it); with the
         * last, the whole nested tree is queued for release over the following commits.
         */
        void dropSubtree(BlockRef root, long treeId) throws IOException;
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

    public void references(BlockReferences references) {
        this.references = references;
    }

    public BlockReferences references() {
        return references;
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
        writeBlocks(blockIndex, ByteBuffer.wrap(bytes), offset, length);
    }

    /**
     * As {@link #writeBlocks(long, byte[], int, int)}, from {@code index} of a buffer (position and limit stay). Only
     * blocks the allocator handed to this transaction are written: a write to any other could reach a block a
     * durable root, a retained root or a reader still holds (DESIGN.md invariant 1), so it is refused as a bug.
     */
    public void writeBlocks(long blockIndex, ByteBuffer bytes, int index, int length) throws IOException {
        BlockDevice device = reader.device();
        int blockSize = reader.blockSizeBytes();
        int blocks = (length + blockSize - 1) / blockSize;
        if (!allocator.isAllocatedNow(blockIndex, blocks)) {
            throw new EngineBugError("write to blocks " + blockIndex + ".." + (blockIndex + blocks - 1)
                    + ", which the allocator did not hand to generation " + generation);
        }
        reader.verified().forget(blockIndex, blocks);
        device.write(blockIndex * blockSize, bytes, index, length);
        int tail = blocks * blockSize - length;
        if (tail > 0) {
            device.write(blockIndex * blockSize + length, new byte[tail], 0, tail);
        }
        blocksWritten += blocks;
    }
}
