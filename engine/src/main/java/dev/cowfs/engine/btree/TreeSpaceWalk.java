package dev.cowfs.engine.btree;

import dev.cowfs.engine.block.BlockRef;
import dev.cowfs.engine.block.CorruptionException;
import dev.cowfs.engine.format.Limits;

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

    private record Frame(BlockRef ref, int level, boolean parentExclusive, byte[] low, byte[] high) {
    }

    private TreeSpaceWalk() {
    }

    public static TreeSpace measure(NodeReader reader, long treeId, BlockRef root, Counts counts) throws IOException {
        return measure(reader, treeId, root, counts, null, null);
    }

    /**
     * The same for the entries with keys in [{@code from}, {@code to}) only (a file's extents): the extents they
     * reference, and those only they hold (every reference to the extent is one of them, in a leaf unshared
     * with any other tree). Nodes are not counted: they hold other entries too. Null bounds measure the tree.
     */
    public static TreeSpace measure(NodeReader reader, long treeId, BlockRef root, Counts counts, byte[] from,
                                    byte[] to) throws IOException {
        boolean whole = from == null && to == null;
        BitSet reached = new BitSet();
        Map<Long, long[]> sharedExtents = new HashMap<>(); // first block -> {count, references from exclusive leaves, blocks}
        long referenced = 0;
        long exclusive = 0;
        NodeView view = new NodeView();
        Deque<Frame> stack = new ArrayDeque<>();
        stack.push(new Frame(root, -1, true, null, null));
        long visited = 0;
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
            boolean nodeExclusive = frame.parentExclusive()
                    && (ref.birthGeneration() > counts.lastCloneGeneration() || counts.count(ref.blockIndex()) == 1);
            if (whole) {
                referenced++;
                exclusive += nodeExclusive ? 1 : 0;
            }
            reader.read(ref, treeId, frame.level(), view);
            int count = view.count();
            for (int i = 0; i < count; i++) {
                if (!view.isLeaf()) {
                    byte[] low = i == 0 ? frame.low() : view.key(i);
                    byte[] high = i + 1 < count ? view.key(i + 1) : frame.high();
                    boolean overlaps = (to == null || low == null || Arrays.compareUnsigned(low, to) < 0)
                            && (from == null || high == null || Arrays.compareUnsigned(high, from) > 0);
                    if (overlaps) {
                        stack.push(new Frame(view.childRef(i), view.level() - 1, nodeExclusive, low, high));
                    }
                    continue;
                }
                if ((from != null && view.compareKey(i, from) < 0) || (to != null && view.compareKey(i, to) >= 0)) {
                    continue;
                }
                BlockRef target = BTree.referencedBlock(view.storedValue(i), view.flags(i));
                if (target == null) {
                    continue;
                }
                long first = target.blockIndex();
                if (first < 0 || first + target.blockCount() > Integer.MAX_VALUE) {
                    throw new CorruptionException(ref.blockIndex(), "tree " + treeId + ": extent out of bounds");
                }
                if (!reached.get((int) first)) {
                    reached.set((int) first);
                    referenced += target.blockCount();
                    long references = counts.count(first);
                    if (references == 1) {
                        exclusive += nodeExclusive ? target.blockCount() : 0;
                        continue;
                    }
                    sharedExtents.put(first, new long[] {references, 0, target.blockCount()});
                }
                long[] shared = sharedExtents.get(first);
                if (shared != null && nodeExclusive) {
                    shared[1]++;
                }
            }
        }
        for (long[] shared : sharedExtents.values()) {
            if (shared[1] == shared[0]) {
                exclusive += shared[2];
            }
        }
        return new TreeSpace(referenced, exclusive);
    }
}
