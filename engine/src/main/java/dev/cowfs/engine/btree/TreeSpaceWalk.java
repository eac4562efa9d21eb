package dev.cowfs.engine.btree;

import dev.cowfs.engine.error.CorruptionException;
import dev.cowfs.engine.format.BlockRef;
import dev.cowfs.engine.format.Limits;
import dev.cowfs.engine.format.NodeLayout;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;

/**
 * What one committed tree holds: the blocks it references (nodes, out-of-line values, data extents, nested
 * trees; each once) and the blocks it holds exclusively, those dropping it alone would free. A block is
 * exclusive when every one of its references (its reference count) comes from an exclusive node of this tree;
 * the root is exclusive when nothing else references it. Two walks: one over everything reachable, one that
 * grants references from exclusive nodes and descends into a block once all its references are granted.
 */
public final class TreeSpaceWalk {
    /** Reference counts as of the walked generation. */
    public interface Counts {
        long count(long blockIndex) throws IOException;

        /** Nodes born after this generation are never shared. */
        long lastCloneGeneration();
    }

    /** Blocks referenced by a tree and blocks only it holds. */
    public record TreeSpace(long referencedBlocks, long exclusiveBlocks) {
        public long sharedBlocks() {
            return referencedBlocks - exclusiveBlocks;
        }
    }

    /**
     * A node to visit. {@code ranged}: the measured key range applies (the tree itself, not a nested tree, whose
     * keys are its own); {@code low}/{@code high}: the node's key bounds.
     */
    private record Frame(BlockRef ref, int level, boolean ranged, byte[] low, byte[] high) {
    }

    private TreeSpaceWalk() {
    }

    public static TreeSpace measure(NodeReader reader, long treeId, BlockRef root, Counts counts) throws IOException {
        return measure(reader, treeId, root, counts, null, null);
    }

    /**
     * The same for the entries with keys in [{@code from}, {@code to}) only (a file's items): the extents and
     * nested trees they reference, and what only they hold. Nodes of the tree itself are not counted: they hold
     * other entries too. Null bounds measure the whole tree.
     */
    public static TreeSpace measure(NodeReader reader, long treeId, BlockRef root, Counts counts, byte[] from,
                                    byte[] to) throws IOException {
        Walk referenced = new Walk(reader, treeId, counts, from, to, false);
        referenced.start(root);
        Walk exclusive = new Walk(reader, treeId, counts, from, to, true);
        exclusive.start(root);
        return new TreeSpace(referenced.blocks, exclusive.blocks);
    }

    private static final class Walk {
        final NodeReader reader;
        final long treeId;
        final Counts counts;
        final byte[] from;
        final byte[] to;
        final boolean whole;
        /** True: descend only into blocks all of whose references were granted (the exclusive walk). */
        final boolean exclusiveOnly;
        final BitSet reached = new BitSet();
        /** Blocks with several references: references granted so far. */
        final Map<Long, Long> granted = new HashMap<>();
        final Deque<Frame> stack = new ArrayDeque<>();
        final NodeView view = new NodeView();
        long blocks;
        long visited;

        Walk(NodeReader reader, long treeId, Counts counts, byte[] from, byte[] to, boolean exclusiveOnly) {
            this.reader = reader;
            this.treeId = treeId;
            this.counts = counts;
            this.from = from;
            this.to = to;
            this.whole = from == null && to == null;
            this.exclusiveOnly = exclusiveOnly;
        }

        void start(BlockRef root) throws IOException {
            if (reference(root, true)) {
                stack.push(new Frame(root, -1, true, null, null));
            }
            while (!stack.isEmpty()) {
                Frame frame = stack.pop();
                if (++visited > Limits.MAX_BLOCK_INDEX) {
                    throw new CorruptionException(frame.ref().blockIndex(), "tree " + treeId + ": walk does not end");
                }
                if (whole || !frame.ranged()) {
                    blocks++;
                }
                reader.read(frame.ref(), treeId, frame.level(), view);
                visitEntries(frame);
            }
        }

        /**
         * One reference to a block from a node being walked. True the first time the block is to be walked
         * (the plain walk), or once all its references are granted (the exclusive walk).
         */
        private boolean reference(BlockRef ref, boolean node) throws IOException {
            long first = ref.blockIndex();
            if (first < 0 || first + ref.blockCount() > Integer.MAX_VALUE) {
                throw new CorruptionException(first, "tree " + treeId + ": reference out of bounds");
            }
            if (!exclusiveOnly) {
                if (reached.get((int) first)) {
                    return false;
                }
                reached.set((int) first);
                return true;
            }
            long count = node && ref.birthGeneration() > counts.lastCloneGeneration() ? 1 : counts.count(first);
            if (count == 1) {
                return true;
            }
            long now = granted.merge(first, 1L, Long::sum);
            return now == count;
        }

        private void visitEntries(Frame frame) throws IOException {
            boolean ranged = frame.ranged() && !whole;
            int count = view.count();
            List<Frame> children = new ArrayList<>();
            List<BlockRef> extents = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                if (!view.isLeaf()) {
                    byte[] low = i == 0 ? frame.low() : view.key(i);
                    byte[] high = i + 1 < count ? view.key(i + 1) : frame.high();
                    boolean overlaps = !ranged || ((to == null || low == null || Arrays.compareUnsigned(low, to) < 0)
                            && (from == null || high == null || Arrays.compareUnsigned(high, from) > 0));
                    if (overlaps) {
                        children.add(new Frame(view.childRef(i), view.level() - 1, frame.ranged(), low, high));
                    }
                    continue;
                }
                if (ranged && ((from != null && view.compareKey(i, from) < 0)
                        || (to != null && view.compareKey(i, to) >= 0))) {
                    continue;
                }
                byte flags = view.flags(i);
                BlockRef target = BTree.referencedBlock(view.storedValue(i), flags);
                if (target == null) {
                    continue;
                }
                if (EntryValue.of(flags) == EntryValue.SUBTREE_ROOT) {
                    children.add(new Frame(target, -1, false, null, null)); // a nested tree: its keys are its own
                } else {
                    extents.add(target);
                }
            }
            // The node's view is reused by reads: decide on its children only after listing them.
            for (Frame child : children) {
                if (reference(child.ref(), true)) {
                    stack.push(child);
                }
            }
            for (BlockRef extent : extents) {
                if (reference(extent, false)) {
                    blocks += extent.blockCount();
                }
            }
        }
    }
}
