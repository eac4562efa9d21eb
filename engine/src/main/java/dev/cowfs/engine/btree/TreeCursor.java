package dev.cowfs.engine.btree;

import dev.cowfs.engine.error.CorruptionException;
import dev.cowfs.engine.format.BlockRef;
import dev.cowfs.engine.format.Limits;
import dev.cowfs.engine.format.NodeLayout;

import java.io.IOException;
import java.util.Arrays;

/**
 * An ordered position in a tree: seek to a key (ceiling or floor), step forward or backward. Over a committed
 * tree it reads blocks in place through one {@link NodeView} per level. Over a tree the open transaction is
 * changing, it notices each change and re-seeks from the key it stands on, so it never skips or repeats a key.
 */
public final class TreeCursor {
    private final NodeReader reader;
    private final long treeId;
    private final BTree tree;
    private final BlockRef committedRoot;
    private final Frame[] frames = new Frame[Limits.MAX_TREE_HEIGHT];
    private int leafDepth = -1;
    private long seenModCount;
    private byte[] currentKey;

    private static final class Frame {
        final NodeView view = new NodeView();
        DirtyNode dirty;
        int index;

        int count() {
            return dirty != null ? dirty.count : view.count();
        }
    }

    TreeCursor(NodeReader reader, long treeId, BTree tree) {
        this(reader, treeId, tree, null);
    }

    private TreeCursor(NodeReader reader, long treeId, BTree tree, BlockRef committedRoot) {
        this.reader = reader;
        this.treeId = treeId;
        this.tree = tree;
        this.committedRoot = committedRoot;
    }

    /** Frames are made on first use: most trees are a few levels deep, and cursors are made often. */
    private Frame frame(int depth) {
        Frame frame = frames[depth];
        if (frame == null) {
            frame = new Frame();
            frames[depth] = frame;
        }
        return frame;
    }

    /** A cursor over a committed tree. */
    public static TreeCursor overCommitted(NodeReader reader, long treeId, BlockRef root) {
        return new TreeCursor(reader, treeId, null, root);
    }

    public boolean isValid() {
        return leafDepth >= 0;
    }

    /** The key at the position; the cursor must be valid. */
    public byte[] key() {
        requireValid();
        return currentKey.clone();
    }

    /** The value at the position (out-of-line values read and checked); the cursor must be valid. */
    public byte[] value() throws IOException {
        requireValid();
        refreshIfChanged();
        Frame leaf = frame(leafDepth);
        if (leaf.dirty != null) {
            byte[] stored = leaf.dirty.storedValue(leaf.index);
            return EntryValue.of(leaf.dirty.flags(leaf.index)) != EntryValue.OUT_OF_LINE ? stored
                    : TreeSearch.readOutOfLine(reader, stored);
        }
        return TreeSearch.userValue(reader, leaf.view, leaf.index);
    }

    /** Stored flags of the entry at the position (out-of-line, subtree root). */
    public byte storedFlags() throws IOException {
        requireValid();
        refreshIfChanged();
        Frame leaf = frame(leafDepth);
        return leaf.dirty != null ? leaf.dirty.flags(leaf.index) : leaf.view.flags(leaf.index);
    }

    /** The stored bytes of the entry (the descriptor, for out-of-line values). */
    public byte[] storedValue() throws IOException {
        requireValid();
        refreshIfChanged();
        Frame leaf = frame(leafDepth);
        return leaf.dirty != null ? leaf.dirty.storedValue(leaf.index) : leaf.view.storedValue(leaf.index);
    }

    private void requireValid() {
        if (leafDepth < 0) {
            throw new IllegalStateException("cursor is not positioned on an entry");
        }
    }

    public boolean first() throws IOException {
        return edge(true);
    }

    public boolean last() throws IOException {
        return edge(false);
    }

    /** Positions on the smallest key &gt;= {@code key}. */
    public boolean seek(byte[] key) throws IOException {
        return seekTo(key, true);
    }

    /** Positions on the largest key &lt;= {@code key}. */
    public boolean seekFloor(byte[] key) throws IOException {
        return seekTo(key, false);
    }

    public boolean next() throws IOException {
        requireValid();
        if (changedSincePositioned()) {
            byte[] from = currentKey;
            if (seek(from) && Arrays.equals(currentKey, from)) {
                return step(true);
            }
            return isValid();
        }
        return step(true);
    }

    public boolean previous() throws IOException {
        requireValid();
        if (changedSincePositioned()) {
            byte[] from = currentKey;
            if (seekFloor(from) && Arrays.equals(currentKey, from)) {
                return step(false);
            }
            return isValid();
        }
        return step(false);
    }

    private boolean changedSincePositioned() {
        return tree != null && tree.modCount() != seenModCount;
    }

    private void refreshIfChanged() throws IOException {
        if (changedSincePositioned()) {
            byte[] at = currentKey;
            if (!seek(at) || !Arrays.equals(currentKey, at)) {
                throw new IllegalStateException("the entry under the cursor was removed");
            }
        }
    }

    private boolean loadRoot() throws IOException {
        Frame top = frame(0);
        top.index = 0;
        seenModCount = tree != null ? tree.modCount() : 0;
        DirtyNode dirtyRoot = tree != null ? tree.dirtyRootOrNull() : null;
        if (dirtyRoot != null) {
            top.dirty = dirtyRoot;
        } else {
            BlockRef root = tree != null ? tree.committedRootRef() : committedRoot;
            top.dirty = null;
            reader.read(root, treeId, -1, top.view);
        }
        return true;
    }

    private int level(Frame frame) {
        return frame.dirty != null ? frame.dirty.level : frame.view.level();
    }

    /** Loads the child at {@code parent.index} into the next frame. */
    private void descend(int depth) throws IOException {
        if (depth + 1 >= frames.length) {
            throw new CorruptionException(-1, "tree " + treeId + " deeper than " + Limits.MAX_TREE_HEIGHT);
        }
        Frame parent = frame(depth);
        Frame child = frame(depth + 1);
        int index = parent.index;
        if (parent.dirty != null) {
            DirtyNode dirtyChild = parent.dirty.children[index];
            if (dirtyChild != null) {
                child.dirty = dirtyChild;
                return;
            }
            child.dirty = null;
            reader.read(parent.dirty.childRef(index), treeId, parent.dirty.level - 1, child.view);
        } else {
            child.dirty = null;
            NodeView view = parent.view;
            reader.read(view.childBlockIndex(index), view.childBirth(index), view.childChecksum(index), treeId,
                    view.level() - 1, child.view);
        }
    }

    private boolean edge(boolean leftmost) throws IOException {
        loadRoot();
        int depth = 0;
        while (level(frame(depth)) > 0) {
            frame(depth).index = leftmost ? 0 : frame(depth).count() - 1;
            descend(depth);
            depth++;
        }
        Frame leaf = frame(depth);
        leafDepth = depth;
        if (leaf.count() == 0) {
            leafDepth = -1; // only an empty root leaf can be empty
            return false;
        }
        leaf.index = leftmost ? 0 : leaf.count() - 1;
        return settle();
    }

    private boolean seekTo(byte[] key, boolean ceiling) throws IOException {
        loadRoot();
        int depth = 0;
        while (level(frame(depth)) > 0) {
            Frame frame = frame(depth);
            frame.index = frame.dirty != null ? frame.dirty.searchBranch(key) : frame.view.searchBranch(key);
            descend(depth);
            depth++;
        }
        Frame leaf = frame(depth);
        leafDepth = depth;
        int found = leaf.dirty != null ? leaf.dirty.searchLeaf(key) : leaf.view.searchLeaf(key);
        if (found >= 0) {
            leaf.index = found;
            return settle();
        }
        int insertion = -found - 1;
        if (ceiling) {
            leaf.index = insertion - 1; // step forward onto the insertion point, crossing leaves if needed
            return insertion < leaf.count() ? settleAt(insertion) : step(true);
        }
        if (insertion > 0) {
            return settleAt(insertion - 1);
        }
        leaf.index = 0;
        return step(false);
    }

    private boolean settleAt(int index) throws IOException {
        frame(leafDepth).index = index;
        return settle();
    }

    private boolean settle() throws IOException {
        Frame leaf = frame(leafDepth);
        currentKey = leaf.dirty != null ? leaf.dirty.key(leaf.index) : leaf.view.key(leaf.index);
        return true;
    }

    /** Moves one entry forward or backward, crossing to the neighbouring leaf when needed. */
    private boolean step(boolean forward) throws IOException {
        int depth = leafDepth;
        Frame leaf = frame(depth);
        int nextIndex = leaf.index + (forward ? 1 : -1);
        if (nextIndex >= 0 && nextIndex < leaf.count()) {
            return settleAt(nextIndex);
        }
        while (depth > 0) {
            depth--;
            Frame frame = frame(depth);
            int candidate = frame.index + (forward ? 1 : -1);
            if (candidate >= 0 && candidate < frame.count()) {
                frame.index = candidate;
                while (level(frame(depth)) > 0) {
                    descend(depth);
                    depth++;
                    Frame below = frame(depth);
                    below.index = forward ? 0 : below.count() - 1;
                }
                if (frame(depth).count() == 0) {
                    throw new CorruptionException(-1, "empty non-root leaf in tree " + treeId);
                }
                return settle();
            }
        }
        leafDepth = -1;
        return false;
    }
}
