package dev.cowfs.engine.btree;

import dev.cowfs.engine.block.BlockRef;
import dev.cowfs.engine.block.CorruptionException;
import dev.cowfs.engine.format.Limits;
import dev.cowfs.engine.format.NodeLayout;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;

/**
 * What one committed tree holds: the blocks it references (nodes, out-of-line values, data extents; each once)
 * and the blocks it holds exclusively, those dropping it alone would free. A node is exclusive when the path
 * from the root to it is unshared (every node on it has one reference); an extent when all its references come
 * from exclusive leaves of this tree. One walk of the tree, reading reference counts only for blocks that may
 * be shared.
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
     * A node to visit. {@code decided}: its exclusivity is {@code parentExclusive} as given (a nested tree's
     * root, decided from all its references). {@code ranged}: the measured key range applies (not inside a
     * nested tree, whose keys are its own).
     */
    private record Frame(BlockRef ref, int level, boolean parentExclusive, boolean decided, boolean ranged,
                         byte[] low, byte[] high) {
    }

    private TreeSpaceWalk() {
    }

    public static TreeSpace measure(NodeReader reader, long treeId, BlockRef root, Counts counts) throws IOException {
        return measure(reader, treeId, root, counts, null, null);
    }

    /**
     * The same for the entries with keys in [{@code from}, {@code to}) only (a file's items): the extents and
     * nested trees they reference, and what only they hold (every reference to it is one of them, in a leaf
     * unshared with any other tree). Nodes of the tree itself are not counted: they hold other entries too. Null
     * bounds measure the whole tree.
     */
    public static TreeSpace measure(NodeReader reader, long treeId, BlockRef root, Counts counts, byte[] from,
                                    byte[] to) throws IOException {
        Walk walk = new Walk(reader, treeId, counts, from, to);
        walk.stack.push(new Frame(root, -1, true, false, true, null, null));
        walk.run();
        // Nested trees: exclusive when every reference to their root comes from an exclusive leaf.
        while (!walk.nestedRoots.isEmpty()) {
            Map<Long, Shared> batch = new HashMap<>(walk.nestedRoots);
            walk.nestedRoots.clear();
            for (Shared nested : batch.values()) {
                walk.stack.push(new Frame(nested.ref, -1, nested.exclusiveReferences == nested.count, true, false,
                        null, null));
            }
            walk.run();
        }
        for (Shared shared : walk.sharedExtents.values()) {
            if (shared.exclusiveReferences == shared.count) {
                walk.exclusive += shared.ref.blockCount();
            }
        }
        return new TreeSpace(walk.referenced, walk.exclusive);
    }

    /** A block several entries may reference: its count and the references from exclusive leaves seen. */
    private static final class Shared {
        final BlockRef ref;
        final long count;
        long exclusiveReferences;

        Shared(BlockRef ref, long count) {
            this.ref = ref;
            this.count = count;
        }
    }

    private static final class Walk {
        final NodeReader reader;
        final long treeId;
        final Counts counts;
        final byte[] from;
        final byte[] to;
        final boolean whole;
        final BitSet reached = new BitSet();
        final Map<Long, Shared> sharedExtents = new HashMap<>();
        final Map<Long, Shared> nestedRoots = new HashMap<>();
        final Deque<Frame> stack = new ArrayDeque<>();
        final NodeView view = new NodeView();
        long referenced;
        long exclusive;
        long visited;

        Walk(NodeReader reader, long treeId, Counts counts, byte[] from, byte[] to) {
            this.reader = reader;
            this.treeId = treeId;
            this.counts = counts;
            this.from = from;
            this.to = to;
            this.whole = from == null && to == null;
        }

        void run() throws IOException {
            while (!stack.isEmpty()) {
                Frame frame = stack.pop();
                BlockRef ref = frame.ref();
                if (++visited > Limits.MAX_BLOCK_INDEX || ref.blockIndex() >= Integer.MAX_VALUE) {
                    throw new CorruptionException(ref.blockIndex(), "tree " + treeId + ": walk out of bounds");
                }
                if (reached.get((int) ref.blockIndex())) {
                    continue;
                }
                reached.set((int) ref.blockIndex());
                boolean nodeExclusive = frame.decided() ? frame.parentExclusive() : frame.parentExclusive()
                        && (ref.birthGeneration() > counts.lastCloneGeneration() || counts.count(ref.blockIndex()) == 1);
                if (whole || !frame.ranged()) {
                    referenced++;
                    exclusive += nodeExclusive ? 1 : 0;
                }
                reader.read(ref, treeId, frame.level(), view);
                visitEntries(frame, nodeExclusive);
            }
        }

        private void visitEntries(Frame frame, boolean nodeExclusive) throws IOException {
            boolean ranged = frame.ranged() && !whole;
            int count = view.count();
            for (int i = 0; i < count; i++) {
                if (!view.isLeaf()) {
                    byte[] low = i == 0 ? frame.low() : view.key(i);
                    byte[] high = i + 1 < count ? view.key(i + 1) : frame.high();
                    boolean overlaps = !ranged || ((to == null || low == null || Arrays.compareUnsigned(low, to) < 0)
                            && (from == null || high == null || Arrays.compareUnsigned(high, from) > 0));
                    if (overlaps) {
                        stack.push(new Frame(view.childRef(i), view.level() - 1, nodeExclusive, false, frame.ranged(),
                                low, high));
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
                if ((flags & NodeLayout.FLAG_SUBTREE_ROOT) != 0) {
                    Shared nested = nestedRoots.computeIfAbsent(target.blockIndex(),
                            k -> new Shared(target, countOf(k)));
                    nested.exclusiveReferences += nodeExclusive ? 1 : 0;
                    continue;
                }
                visitExtent(frame, target, nodeExclusive);
            }
        }

        private long countOf(long blockIndex) {
            try {
                return counts.count(blockIndex);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }

        private void visitExtent(Frame frame, BlockRef target, boolean leafExclusive) throws IOException {
            long first = target.blockIndex();
            if (first < 0 || first + target.blockCount() > Integer.MAX_VALUE) {
                throw new CorruptionException(frame.ref().blockIndex(), "tree " + treeId + ": extent out of bounds");
            }
            if (!reached.get((int) first)) {
                reached.set((int) first);
                referenced += target.blockCount();
                long references = counts.count(first);
                if (references == 1) {
                    exclusive += leafExclusive ? target.blockCount() : 0;
                    return;
                }
                sharedExtents.put(first, new Shared(target, references));
            }
            Shared shared = sharedExtents.get(first);
            if (shared != null && leafExclusive) {
                shared.exclusiveReferences++;
            }
        }
    }
}
