package dev.cowfs.engine.btree;

import dev.cowfs.engine.error.CorruptionException;
import dev.cowfs.engine.format.BlockRef;
import dev.cowfs.engine.format.Limits;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;

/**
 * The entries that differ between two committed trees, found by walking both in key order and skipping every
 * subtree both reach through the same block (shared since a clone: same block, same contents). Its cost follows
 * the parts that differ, not the trees' size: two snapshots of a large tree that differ in ten files cost about
 * ten root-to-leaf paths on each side.
 */
public final class TreeDiff {
    /** Receives each key whose entry differs: {@code before} null when added, {@code after} null when removed. */
    public interface Visitor {
        void entry(byte[] key, byte[] before, byte[] after) throws IOException;
    }

    private TreeDiff() {
    }

    /** Reports every difference from the tree at {@code before} to the tree at {@code after}, in key order. */
    public static void diff(NodeReader reader, long treeId, BlockRef before, BlockRef after, Visitor visitor)
            throws IOException {
        Side left = new Side(reader, treeId, before);
        Side right = new Side(reader, treeId, after);
        long steps = 0;
        while (!left.done() || !right.done()) {
            if (++steps > Limits.MAX_BLOCK_INDEX) {
                throw new CorruptionException(before.blockIndex(), "tree diff does not end");
            }
            if (left.done()) {
                right.emitOrDescend(visitor, false);
            } else if (right.done()) {
                left.emitOrDescend(visitor, true);
            } else if (left.isSubtree() && right.isSubtree()) {
                if (left.ref().blockIndex() == right.ref().blockIndex()) {
                    left.skip(); // the same block: the same entries on both sides
                    right.skip();
                } else if (left.level() > right.level()) {
                    left.descend();
                } else if (right.level() > left.level()) {
                    right.descend();
                } else {
                    left.descend();
                    right.descend();
                }
            } else if (left.isSubtree()) {
                left.descend();
            } else if (right.isSubtree()) {
                right.descend();
            } else {
                int order = Arrays.compareUnsigned(left.key(), right.key());
                if (order < 0) {
                    visitor.entry(left.key(), left.value(), null);
                    left.skip();
                } else if (order > 0) {
                    visitor.entry(right.key(), null, right.value());
                    right.skip();
                } else {
                    if (!Arrays.equals(left.value(), right.value()) || left.flags() != right.flags()) {
                        visitor.entry(left.key(), left.value(), right.value());
                    }
                    left.skip();
                    right.skip();
                }
            }
        }
    }

    /**
     * One tree's walk: a stack of nodes, each with the index of its next unvisited entry. The current item is
     * the entry at the top: a child subtree (in a branch) or a key and stored value (in a leaf).
     */
    private static final class Side {
        private final NodeReader reader;
        private final long treeId;
        private final Deque<NodeView> nodes = new ArrayDeque<>();
        private final Deque<int[]> positions = new ArrayDeque<>();

        Side(NodeReader reader, long treeId, BlockRef root) throws IOException {
            this.reader = reader;
            this.treeId = treeId;
            push(root, -1);
        }

        private void push(BlockRef ref, int level) throws IOException {
            if (nodes.size() > Limits.MAX_TREE_HEIGHT) {
                throw new CorruptionException(ref.blockIndex(), "tree " + treeId + " deeper than the limit");
            }
            NodeView view = new NodeView();
            reader.read(ref, treeId, level, view);
            nodes.push(view);
            positions.push(new int[] {0});
            settle();
        }

        /** Pops finished nodes so that the top has a current entry (or the walk is done). */
        private void settle() {
            while (!nodes.isEmpty() && positions.peek()[0] >= nodes.peek().count()) {
                nodes.pop();
                positions.pop();
            }
        }

        boolean done() {
            return nodes.isEmpty();
        }

        boolean isSubtree() {
            return !nodes.peek().isLeaf();
        }

        int level() {
            return nodes.peek().level();
        }

        BlockRef ref() {
            return nodes.peek().childRef(positions.peek()[0]);
        }

        byte[] key() {
            return nodes.peek().key(positions.peek()[0]);
        }

        byte[] value() {
            return nodes.peek().storedValue(positions.peek()[0]);
        }

        byte flags() {
            return nodes.peek().flags(positions.peek()[0]);
        }

        void skip() {
            positions.peek()[0]++;
            settle();
        }

        void descend() throws IOException {
            NodeView top = nodes.peek();
            BlockRef child = top.childRef(positions.peek()[0]);
            positions.peek()[0]++;
            push(child, top.level() - 1);
        }

        /** With the other side finished: every remaining entry of this side is added (or removed). */
        void emitOrDescend(Visitor visitor, boolean removed) throws IOException {
            if (isSubtree()) {
                descend();
                return;
            }
            visitor.entry(key(), removed ? value() : null, removed ? null : value());
            skip();
        }
    }
}
