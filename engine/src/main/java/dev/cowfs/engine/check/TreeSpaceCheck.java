package dev.cowfs.engine.check;

import dev.cowfs.engine.btree.EntryValue;
import dev.cowfs.engine.btree.NodeReader;
import dev.cowfs.engine.btree.NodeView;
import dev.cowfs.engine.btree.TreeSpaceWalk;
import dev.cowfs.engine.format.BlockRef;
import dev.cowfs.engine.format.Limits;
import dev.cowfs.engine.format.NodeLayout;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Proves the space figures of every user tree by a second, independent method: the blocks each tree reaches
 * (a full walk per tree, shared nodes walked again for every tree reaching them), and the blocks no other tree
 * or unfinished drop reaches. These must equal what {@link TreeSpaceWalk} computes from reference counts.
 */
final class TreeSpaceCheck {
    /** A tree holding blocks: a live user tree (measured) or one being dropped (it only holds). */
    record Holder(long treeId, BlockRef root, byte[] dropProgress) {
        boolean live() {
            return dropProgress == null;
        }
    }

    private TreeSpaceCheck() {
    }

    static void check(NodeReader reader, List<Holder> holders, TreeSpaceWalk.Counts counts,
                      Consumer<String> problem) {
        Map<Holder, BitSet> reached = new LinkedHashMap<>();
        BitSet once = new BitSet();
        BitSet many = new BitSet();
        for (Holder holder : holders) {
            BitSet blocks = new BitSet();
            try {
                reach(reader, holder, blocks);
            } catch (IOException e) {
                problem.accept("tree " + holder.treeId() + ": " + e.getMessage());
                return;
            }
            BitSet both = (BitSet) blocks.clone();
            both.and(once);
            many.or(both);
            once.or(blocks);
            reached.put(holder, blocks);
        }
        for (var entry : reached.entrySet()) {
            Holder holder = entry.getKey();
            if (!holder.live()) {
                continue;
            }
            BitSet only = (BitSet) entry.getValue().clone();
            only.andNot(many);
            try {
                TreeSpaceWalk.TreeSpace measured = TreeSpaceWalk.measure(reader, holder.treeId(), holder.root(),
                        counts);
                if (measured.referencedBlocks() != entry.getValue().cardinality()
                        || measured.exclusiveBlocks() != only.cardinality()) {
                    problem.accept("tree " + holder.treeId() + ": reference counts give " + measured
                            + ", reachability gives " + entry.getValue().cardinality() + " referenced / "
                            + only.cardinality() + " exclusive blocks");
                }
            } catch (IOException e) {
                problem.accept("tree " + holder.treeId() + ": " + e.getMessage());
            }
        }
    }

    /** {@code progress}: the drop progress that applies inside this node (null in live and nested trees). */
    private record Frame(BlockRef ref, int level, byte[] high, byte[] progress) {
    }

    /** Every block the tree reaches; for a tree being dropped, what its drop has not released yet. */
    private static void reach(NodeReader reader, Holder holder, BitSet blocks) throws IOException {
        Deque<Frame> stack = new ArrayDeque<>();
        stack.push(new Frame(holder.root(), -1, null, holder.dropProgress()));
        NodeView view = new NodeView();
        long visited = 0;
        while (!stack.isEmpty()) {
            Frame frame = stack.pop();
            BlockRef ref = frame.ref();
            byte[] progress = frame.progress();
            if (++visited > Limits.MAX_BLOCK_INDEX || blocks.get((int) ref.blockIndex())) {
                continue;
            }
            blocks.set((int) ref.blockIndex());
            reader.read(ref, holder.treeId(), frame.level(), view);
            for (int i = 0; i < view.count(); i++) {
                if (!view.isLeaf()) {
                    byte[] high = i + 1 < view.count() ? view.key(i + 1) : frame.high();
                    if (progress == null || high == null || Arrays.compareUnsigned(high, progress) > 0) {
                        stack.push(new Frame(view.childRef(i), view.level() - 1, high, progress));
                    }
                    continue;
                }
                if (progress != null && view.compareKey(i, progress) < 0) {
                    continue;
                }
                byte flags = view.flags(i);
                byte[] stored = view.storedValue(i);
                EntryValue kind = EntryValue.of(flags);
                if (kind == EntryValue.SUBTREE_ROOT) {
                    stack.push(new Frame(kind.target(stored), -1, null, null)); // a nested tree: walked whole
                    continue;
                }
                BlockRef target = kind.target(stored);
                if (target != null) {
                    blocks.set((int) target.blockIndex(), (int) (target.blockIndex() + target.blockCount()));
                }
            }
        }
    }
}
