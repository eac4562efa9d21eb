package dev.cowfs.engine.btree;

import dev.cowfs.engine.device.Checksums;
import dev.cowfs.engine.device.RawMemory;
import dev.cowfs.engine.error.CorruptionException;
import dev.cowfs.engine.error.EngineBugError;
import dev.cowfs.engine.format.BlockRef;
import dev.cowfs.engine.format.Bytes;
import dev.cowfs.engine.format.NodeLayout;

import java.io.IOException;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;

/**
 * Compaction of committed user trees: every block at or past a limit (node, out-of-line value, data extent,
 * nested tree) is copied below it, and every node above a moved block is rewritten to point at the copy. The
 * trees keep their shape and their sharing: a block that several parents reference (a node of cloned trees, a
 * shared extent) is moved once, all its parents point at the one copy, and its reference count moves with it.
 * Whether a node is rewritten depends only on what lies below it, so every parent of a shared node makes the
 * same choice. Old blocks are freed to the allocator, which keeps them until no retained root reaches them.
 *
 * <p>The walk visits each distinct block once: shared nodes left in place are remembered in a bitmap, moved ones
 * in a map. Copies are verified on the way (nodes by the reader, extents by their checksums), so compaction never
 * spreads damage: it stops at the first block that does not verify.
 */
public final class TreeRelocation {
    /** The transaction's reference counts, as compaction needs them. */
    public interface Counts {
        long count(long blockIndex) throws IOException;

        /** Nodes born after this generation are never shared. */
        long lastCloneGeneration() throws IOException;

        /** A shared block moved: its count now belongs to its new address. */
        void move(long fromBlock, long toBlock) throws IOException;
    }

    private final TreeContext ctx;
    private final NodeReader reader;
    private final Counts counts;
    private final long limitBlock;
    private final int blockSize;
    /** Shared blocks already moved, by old address: every later reference takes the same copy. */
    private final Map<Long, BlockRef> movedShared = new HashMap<>();
    /** Shared nodes already walked and left in place. */
    private final BitSet keptShared = new BitSet();
    private long nodesWritten;
    private long extentBlocksMoved;
    private long sharedMoved;

    public TreeRelocation(TreeContext ctx, Counts counts, long limitBlock) {
        this.ctx = ctx;
        this.reader = ctx.reader();
        this.counts = counts;
        this.limitBlock = limitBlock;
        this.blockSize = ctx.blockSizeBytes();
    }

    /** The tree's root after the move: the same reference when nothing in it lies at or past the limit. */
    public BlockRef relocate(BlockRef root, long treeId) throws IOException {
        return relocateNode(root, treeId, -1, 0);
    }

    /** Nodes written (rewritten parents and moved nodes alike). */
    public long nodesWritten() {
        return nodesWritten;
    }

    /** Blocks of out-of-line values and data extents copied. */
    public long extentBlocksMoved() {
        return extentBlocksMoved;
    }

    /** Shared blocks moved: their counts moved too, and they are now born in this generation. */
    public long sharedMoved() {
        return sharedMoved;
    }

    private boolean isShared(BlockRef ref, boolean node) throws IOException {
        if (node && ref.birthGeneration() > counts.lastCloneGeneration()) {
            return false;
        }
        return counts.count(ref.blockIndex()) > 1;
    }

    private BlockRef relocateNode(BlockRef ref, long treeId, int level, int depth) throws IOException {
        if (depth > 4 * dev.cowfs.engine.format.Limits.MAX_TREE_HEIGHT) {
            throw new CorruptionException(ref.blockIndex(), "tree " + treeId + ": nested trees too deep");
        }
        BlockRef movedBefore = movedShared.get(ref.blockIndex()); // before the count: it moved with the block
        if (movedBefore != null) {
            return movedBefore;
        }
        boolean shared = isShared(ref, true);
        if (shared && ref.blockIndex() <= Integer.MAX_VALUE && keptShared.get((int) ref.blockIndex())) {
            return ref;
        }
        NodeView view = new NodeView();
        reader.read(ref, treeId, level, view);
        byte[] block = new byte[blockSize];
        RawMemory.copyToArray(view.memory, view.base, block, 0, blockSize);
        int count = view.count();
        int nodeLevel = view.level();
        boolean changed = ref.blockIndex() >= limitBlock;
        for (int i = 0; i < count; i++) {
            int entry = Bytes.getUnsignedShort(block, NodeLayout.HEADER_BYTES + i * NodeLayout.SLOT_BYTES);
            int keyLength = Bytes.getUnsignedShort(block, entry);
            if (nodeLevel > 0) {
                int at = entry + NodeLayout.BRANCH_ENTRY_HEADER_BYTES + keyLength;
                BlockRef child = BlockRef.decode(block, at);
                BlockRef moved = relocateNode(child, treeId, nodeLevel - 1, depth + 1);
                if (moved != child) {
                    moved.encode(block, at);
                    changed = true;
                }
                continue;
            }
            changed |= relocateLeafValue(block, entry, keyLength, treeId, depth);
        }
        if (!changed) {
            if (shared && ref.blockIndex() <= Integer.MAX_VALUE) {
                keptShared.set((int) ref.blockIndex());
            }
            return ref;
        }
        return writeCopy(ref, block, shared);
    }

    /**
     * The value of the leaf entry at {@code entry}, if it refers to blocks (a nested tree, a data extent, an
     * out-of-line value): what it refers to moves below the limit and the reference in {@code block} follows. True
     * when it changed.
     */
    private boolean relocateLeafValue(byte[] block, int entry, int keyLength, long treeId, int depth)
            throws IOException {
        byte flags = block[entry + NodeLayout.LEAF_ENTRY_FLAGS_OFFSET];
        int value = entry + NodeLayout.LEAF_ENTRY_HEADER_BYTES + keyLength;
        EntryValue kind = EntryValue.of(flags);
        if (!kind.holdsReference()) {
            return false;
        }
        int at = value + kind.refOffset();
        BlockRef target = kind.target(block, value);
        BlockRef moved = kind.referencesExtent() ? relocateExtent(target, kind.extentBytes(block, value))
                : relocateNode(target, treeId, -1, depth + 1); // a nested tree: keys of its own
        if (moved == target) {
            return false;
        }
        moved.encode(block, at);
        return true;
    }

    /** Writes {@code block}, a changed copy of the node {@code ref}, to a new block below the limit. */
    private BlockRef writeCopy(BlockRef ref, byte[] block, boolean shared) throws IOException {
        long to = ctx.allocator().allocate(1);
        Bytes.putLong(block, NodeLayout.BLOCK_INDEX_OFFSET, to);
        Bytes.putLong(block, NodeLayout.BIRTH_OFFSET, ctx.generation());
        int checksum = Checksums.crc32c(block, NodeLayout.CHECKSUM_SIZE, blockSize - NodeLayout.CHECKSUM_SIZE);
        Bytes.putInt(block, NodeLayout.CHECKSUM_OFFSET, checksum);
        try {
            NodeValidator.validate(block, blockSize, to);
        } catch (CorruptionException e) {
            throw new EngineBugError("compaction made an invalid node from block " + ref.blockIndex() + ": "
                    + e.getMessage());
        }
        ctx.writeBlocks(to, block, blockSize);
        reader.verified().markVerified(to);
        nodesWritten++;
        BlockRef copy = new BlockRef(to, ctx.generation(), checksum, 1);
        released(ref, copy, shared);
        return copy;
    }

    /** An out-of-line value or data extent holding {@code storedBytes}: copied below the limit if it reaches it. */
    private BlockRef relocateExtent(BlockRef ref, int storedBytes) throws IOException {
        if (ref.blockIndex() + ref.blockCount() <= limitBlock) {
            return ref;
        }
        BlockRef done = movedShared.get(ref.blockIndex());
        if (done != null) {
            return done;
        }
        if (storedBytes <= 0 || (storedBytes + (long) blockSize - 1) / blockSize != ref.blockCount()) {
            throw new CorruptionException(ref.blockIndex(), "extent of " + ref.blockCount() + " blocks claims "
                    + storedBytes + " bytes");
        }
        byte[] bytes = reader.readExtent(ref, storedBytes); // verified: damage is not copied on
        long to = ctx.allocator().allocate(ref.blockCount());
        ctx.writeBlocks(to, bytes, 0, storedBytes);
        extentBlocksMoved += ref.blockCount();
        BlockRef copy = new BlockRef(to, ctx.generation(), ref.checksum(), ref.blockCount());
        released(ref, copy, isShared(ref, false));
        return copy;
    }

    /** Every reference to {@code old} now names {@code copy}: the old blocks go, a shared count moves. */
    private void released(BlockRef old, BlockRef copy, boolean shared) throws IOException {
        ctx.allocator().free(old.blockIndex(), old.blockCount(), old.birthGeneration());
        if (shared) {
            counts.move(old.blockIndex(), copy.blockIndex());
            movedShared.put(old.blockIndex(), copy);
            sharedMoved++;
        }
    }
}
