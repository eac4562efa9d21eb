package dev.cowfs.engine;

import dev.cowfs.engine.btree.EntryValue;
import dev.cowfs.engine.btree.NodeView;
import dev.cowfs.engine.btree.TreeCursor;
import dev.cowfs.engine.btree.TreeDiff;
import dev.cowfs.engine.btree.TreeSearch;
import dev.cowfs.engine.btree.TreeSpaceWalk;
import dev.cowfs.engine.format.BlockRef;
import dev.cowfs.engine.format.Bytes;
import dev.cowfs.engine.format.TreeIds;
import dev.cowfs.engine.superblock.Superblock;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.NoSuchElementException;

/**
 * A frozen view of one commit. Later commits do not change what it reads, and the blocks it can reach are not
 * reused until it is closed. Use it from one thread at a time; open one per thread for parallel reads.
 */
public final class ReadTransaction implements AutoCloseable {
    private final Store store;
    private final CommittedState state;
    private final NodeView view = new NodeView();
    private final Map<Long, BlockRef> treeRoots = new HashMap<>();
    private boolean closed;

    ReadTransaction(Store store, CommittedState state) {
        this.store = store;
        this.state = state;
        treeRoots.put(TreeIds.DEFAULT, state.defaultTreeRoot());
    }

    Superblock superblock() {
        return state.superblock();
    }

    BlockRef spaceRoot() {
        return state.superblock().spaceRoot();
    }

    /** The identity of the image this view reads. */
    public java.util.UUID imageUuid() {
        return store.imageUuid();
    }

    /** The generation (commit sequence number) this view reads. */
    public long generation() {
        return state.generation();
    }

    public byte[] get(byte[] key) throws IOException {
        checkOpen();
        return TreeSearch.get(store.reader(), state.defaultTreeRoot(), TreeIds.DEFAULT, key, view);
    }

    public byte[] get(long treeId, byte[] key) throws IOException {
        checkOpen();
        return TreeSearch.get(store.reader(), root(treeId), treeId, key, view);
    }

    public Cursor cursor() throws IOException {
        return cursor(TreeIds.DEFAULT);
    }

    public Cursor cursor(long treeId) throws IOException {
        checkOpen();
        return new Cursor(TreeCursor.overCommitted(store.reader(), treeId, root(treeId)), this::checkCursorUsable);
    }

    /** Reads {@code length} bytes at {@code from} of a data extent of {@code storedBytes}, verified. */
    public void readDataExtent(BlockRef extent, int storedBytes, int from, byte[] dst, int dstOffset, int length)
            throws IOException {
        readDataExtent(extent, storedBytes, from, ByteBuffer.wrap(dst), dstOffset, length);
    }

    /** As {@link #readDataExtent(BlockRef, int, int, byte[], int, int)}, into {@code dst} at {@code dstIndex}. */
    public void readDataExtent(BlockRef extent, int storedBytes, int from, ByteBuffer dst, int dstIndex, int length)
            throws IOException {
        checkOpen();
        store.reader().readExtentRange(extent, storedBytes, from, dst, dstIndex, length);
    }

    /**
     * Where on the device bytes {@code from..from+length} of a data extent of {@code storedBytes} lie, verified as
     * for a read; valid while no writer runs.
     */
    public long locateDataExtent(BlockRef extent, int storedBytes, int from, int length) throws IOException {
        checkOpen();
        return store.reader().locateExtentRange(extent, storedBytes, from, length);
    }

    /**
     * What tree {@code treeId} holds in this generation: blocks it references and blocks only it holds (freed if
     * it alone were dropped). One walk of the tree.
     */
    public SpaceUse treeSpace(long treeId) throws IOException {
        return rangeSpace(treeId, null, null);
    }

    /**
     * What the entries of tree {@code treeId} with keys in [{@code from}, {@code to}) hold: the extents they
     * reference and those only they hold (null bounds: the whole tree, nodes included).
     */
    public SpaceUse rangeSpace(long treeId, byte[] from, byte[] to) throws IOException {
        checkOpen();
        byte[] refsRoot = TreeSearch.get(store.reader(), state.superblock().catalogRoot(), TreeIds.CATALOG,
                TreeIds.catalogKey(TreeIds.REFS), view);
        byte[] lastClone = TreeSearch.get(store.reader(), state.superblock().catalogRoot(), TreeIds.CATALOG,
                SharedBlocks.LAST_CLONE_KEY, view);
        long lastCloneGeneration = lastClone == null ? 0 : Bytes.getLong(lastClone, 0);
        NodeView countView = new NodeView();
        TreeSpaceWalk.Counts counts = new TreeSpaceWalk.Counts() {
            @Override
            public long count(long blockIndex) throws IOException {
                if (refsRoot == null) {
                    return 1;
                }
                byte[] count = TreeSearch.get(store.reader(), BlockRef.decode(refsRoot, 0), TreeIds.REFS,
                        TreeIds.catalogKey(blockIndex), countView);
                return count == null ? 1 : Bytes.getLong(count, 0);
            }

            @Override
            public long lastCloneGeneration() {
                return lastCloneGeneration;
            }
        };
        TreeSpaceWalk.TreeSpace measured = TreeSpaceWalk.measure(store.reader(), treeId, root(treeId), counts, from,
                to);
        return new SpaceUse(measured.referencedBlocks(), measured.exclusiveBlocks());
    }

    /**
     * Reports every entry that differs between tree {@code beforeTreeId} and tree {@code afterTreeId} (a
     * snapshot and a later state of it), in key order, with stored values (an out-of-line value's descriptor,
     * a data extent entry's reference). Subtrees the two share are skipped, so the cost follows the changes.
     */
    public void diff(long beforeTreeId, long afterTreeId, TreeDiff.Visitor visitor) throws IOException {
        checkOpen();
        TreeDiff.diff(store.reader(), afterTreeId, root(beforeTreeId), root(afterTreeId), visitor);
    }

    /** A cursor over the nested tree stored under {@code key} in tree {@code treeId}, or null when none is. */
    public Cursor nestedCursor(long treeId, byte[] key) throws IOException {
        checkOpen();
        BlockRef nestedRoot = nestedRoot(treeId, key);
        if (nestedRoot == null) {
            return null;
        }
        return new Cursor(TreeCursor.overCommitted(store.reader(), treeId, nestedRoot), this::checkCursorUsable);
    }

    /**
     * As {@link #diff(long, long, TreeDiff.Visitor)}, between the nested trees stored under {@code beforeKey} in
     * tree {@code beforeTreeId} and under {@code afterKey} in tree {@code afterTreeId} (both must exist).
     */
    public void diffNested(long beforeTreeId, byte[] beforeKey, long afterTreeId, byte[] afterKey,
                           TreeDiff.Visitor visitor) throws IOException {
        checkOpen();
        BlockRef before = nestedRoot(beforeTreeId, beforeKey);
        BlockRef after = nestedRoot(afterTreeId, afterKey);
        if (before == null || after == null) {
            throw new NoSuchElementException("no nested tree to compare under the given keys");
        }
        TreeDiff.diff(store.reader(), afterTreeId, before, after, visitor);
    }

    private BlockRef nestedRoot(long treeId, byte[] key) throws IOException {
        TreeCursor parent = TreeCursor.overCommitted(store.reader(), treeId, root(treeId));
        if (!parent.seek(key) || !java.util.Arrays.equals(parent.key(), key)) {
            return null;
        }
        if (EntryValue.of(parent.storedFlags()) != EntryValue.SUBTREE_ROOT) {
            throw new dev.cowfs.engine.error.CorruptionException(0, "tree " + treeId
                    + ": the entry expected to hold a nested tree holds a value");
        }
        return BlockRef.decode(parent.storedValue(), 0);
    }

    /** The levels of tree {@code treeId} in this generation: 1 when its root is a leaf. */
    public int treeHeight(long treeId) throws IOException {
        checkOpen();
        NodeView root = new NodeView();
        store.reader().read(root(treeId), treeId, -1, root);
        return root.level() + 1;
    }

    public boolean hasTree(long treeId) throws IOException {
        checkOpen();
        return treeRoots.containsKey(treeId) || TreeSearch.get(store.reader(), state.superblock().catalogRoot(),
                TreeIds.CATALOG, TreeIds.catalogKey(treeId), view) != null;
    }

    private BlockRef root(long treeId) throws IOException {
        BlockRef root = treeRoots.get(treeId);
        if (root == null) {
            byte[] ref = TreeSearch.get(store.reader(), state.superblock().catalogRoot(), TreeIds.CATALOG,
                    TreeIds.catalogKey(treeId), view);
            if (ref == null) {
                throw new NoSuchElementException("no tree " + treeId + " in generation " + state.generation());
            }
            root = BlockRef.decode(ref, 0);
            treeRoots.put(treeId, root);
        }
        return root;
    }

    /** A closed reader's blocks may be reused and its mapping released: its cursors stop with it. */
    private void checkCursorUsable() {
        if (closed) {
            throw new IllegalStateException("the cursor's read transaction is closed");
        }
    }

    private void checkOpen() throws IOException {
        if (closed) {
            throw new IOException("read transaction is closed");
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            store.endRead(state);
        }
    }
}
