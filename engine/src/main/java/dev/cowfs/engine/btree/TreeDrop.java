package dev.cowfs.engine.btree;

import dev.cowfs.engine.error.CorruptionException;
import dev.cowfs.engine.format.BlockRef;
import dev.cowfs.engine.format.Limits;
import dev.cowfs.engine.format.NodeLayout;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Releases a dropped tree's references a bounded amount at a time, in key order, so that dropping a large tree
 * (a snapshot) spreads over many commits and resumes after a crash from its saved progress key.
 *
 * <p>The progress key P means: every leaf entry and every subtree whose keys all lie below P has been released.
 * A node whose whole key range lies below P is gone (freed, or, if it was shared, it lost this tree's reference);
 * a node whose range reaches P or beyond is untouched and still holds its references. A shared node (more than
 * one reference) is never descended: the drop takes this tree's reference from it and moves past its range, so
 * dropping a snapshot costs what the snapshot alone holds, not its size. A leaf is released whole in one step.
 */
public final class TreeDrop {
    /** Progress of a drop that has released nothing yet: no key lies below the empty key. */
    public static final byte[] START = new byte[0];

    /** Where a drop stands after a step: the new progress key, or null once the whole tree is released. */
    public record Step(byte[] progress, long referencesReleased) {
        public boolean finished() {
            return progress == null;
        }
    }

    private TreeDrop() {
    }

    /**
     * Releases at least one and about {@code budget} references of the tree at {@code root} (nodes, values,
     * extents), starting at {@code progress}; returns where it stopped.
     */
    public static Step step(TreeContext ctx, long treeId, BlockRef root, byte[] progress, long budget)
            throws IOException {
        TreeContext.BlockReferences references = ctx.references();
        if (progress.length == 0 && references.count(root.blockIndex()) > 1) {
            references.drop(root, ctx.allocator()); // a snapshot of a tree still in use: O(1)
            return new Step(null, 1);
        }
        long released = 0;
        NodeView view = new NodeView();
        BlockRef[] ancestors = new BlockRef[Limits.MAX_TREE_HEIGHT];
        boolean[] lastChild = new boolean[Limits.MAX_TREE_HEIGHT];
        while (released < budget) {
            int depth = 0;
            BlockRef ref = root;
            byte[] high = null; // plus infinity
            int level = -1;
            byte[] finishedHigh;
            while (true) {
                ctx.reader().read(ref, treeId, level, view);
                if (view.isLeaf()) {
                    released += releaseLeaf(ctx, treeId, view, progress) + 1;
                    references.drop(ref, ctx.allocator());
                    finishedHigh = high;
                    break;
                }
                int count = view.count();
                int child = firstUnfinishedChild(view, high, progress);
                if (child == count) {
                    throw new CorruptionException(ref.blockIndex(), "dropped tree " + treeId
                            + ": node lies wholly below its drop progress but was not released");
                }
                if (depth == Limits.MAX_TREE_HEIGHT) {
                    throw new CorruptionException(ref.blockIndex(), "dropped tree " + treeId + " is too deep");
                }
                BlockRef childRef = view.childRef(child);
                byte[] childHigh = child + 1 < count ? view.key(child + 1) : high;
                int childLevel = view.level() - 1;
                ancestors[depth] = ref;
                lastChild[depth] = child == count - 1;
                depth++;
                if (references.count(childRef.blockIndex()) > 1) {
                    references.drop(childRef, ctx.allocator());
                    released++;
                    finishedHigh = childHigh;
                    break;
                }
                ref = childRef;
                high = childHigh;
                level = childLevel;
            }
            // Every ancestor whose last child just finished is finished too.
            for (int d = depth - 1; d >= 0 && lastChild[d]; d--) {
                references.drop(ancestors[d], ctx.allocator());
                released++;
            }
            if (finishedHigh == null) {
                return new Step(null, released);
            }
            progress = finishedHigh;
        }
        return new Step(progress, released);
    }

    /** The first child of a branch whose key range reaches {@code progress} or beyond. */
    private static int firstUnfinishedChild(NodeView view, byte[] high, byte[] progress) {
        int count = view.count();
        for (int i = 0; i < count; i++) {
            byte[] childHigh = i + 1 < count ? view.key(i + 1) : high;
            if (childHigh == null || Arrays.compareUnsigned(childHigh, progress) > 0) {
                return i;
            }
        }
        return count;
    }

    /** Drops the references a leaf's entries hold (those at or above the progress key). */
    private static long releaseLeaf(TreeContext ctx, long treeId, NodeView view, byte[] progress)
            throws IOException {
        List<BlockRef> targets = new ArrayList<>();
        List<BlockRef> nestedRoots = new ArrayList<>();
        for (int i = 0; i < view.count(); i++) {
            BlockRef target = BTree.referencedBlock(view.storedValue(i), view.flags(i));
            if (target != null && view.compareKey(i, progress) >= 0) {
                (EntryValue.of(view.flags(i)) == EntryValue.SUBTREE_ROOT ? nestedRoots : targets).add(target);
            }
        }
        for (BlockRef target : targets) {
            ctx.references().drop(target, ctx.allocator());
        }
        for (BlockRef nestedRoot : nestedRoots) {
            ctx.references().dropSubtree(nestedRoot, treeId);
        }
        return targets.size() + nestedRoots.size();
    }
}
