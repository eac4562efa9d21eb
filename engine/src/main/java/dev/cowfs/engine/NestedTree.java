package dev.cowfs.engine;

import dev.cowfs.engine.btree.BTree;
import dev.cowfs.engine.format.BlockRef;

import java.io.IOException;

/**
 * A tree stored in an entry of a user tree (for example a file's extent tree inside a subvolume tree), changed
 * through this handle while its write transaction lasts. Its root is written into the entry whenever the parent
 * tree is written out. Cloning the entry ({@link WriteTransaction#cloneNestedTree}) shares the whole nested tree
 * in O(1); snapshots of the parent share it too, and a change copies only the path it touches.
 */
public final class NestedTree {
    private final WriteTransaction txn;
    private final long treeId;
    private final byte[] key;
    final BTree tree;
    /** The parent's flush count when this handle last made the path to its entry dirty (-1: never). */
    private long touchedAtFlush = -1;
    private boolean entryWritten;

    NestedTree(WriteTransaction txn, long treeId, byte[] key, BTree tree, boolean entryExists) {
        this.txn = txn;
        this.treeId = treeId;
        this.key = key.clone();
        this.tree = tree;
        this.entryWritten = entryExists;
    }

    long treeId() {
        return treeId;
    }

    byte[] key() {
        return key;
    }

    public byte[] get(byte[] entryKey) throws IOException {
        return txn.nestedGet(this, entryKey);
    }

    public void put(byte[] entryKey, byte[] value) throws IOException {
        txn.nestedChange(this, () -> tree.put(entryKey, value));
    }

    /** As {@link WriteTransaction#putDataExtent}, in the nested tree. */
    public void putDataExtent(byte[] entryKey, byte[] value) throws IOException {
        txn.nestedChange(this, () -> tree.putDataExtent(entryKey, value));
    }

    public boolean delete(byte[] entryKey) throws IOException {
        boolean[] deleted = new boolean[1];
        txn.nestedChange(this, () -> deleted[0] = tree.delete(entryKey));
        return deleted[0];
    }

    public Cursor cursor() throws IOException {
        return txn.nestedCursor(this);
    }

    /** Before a change: the path to the entry must be dirty since the parent's last flush (see BTree.touch). */
    void beforeChange(BTree parent) throws IOException {
        if (touchedAtFlush != parent.flushCount()) {
            if (entryWritten) {
                parent.touch(key);
            }
            touchedAtFlush = parent.flushCount();
        }
    }

    /** Writes the nested tree and puts its root into the parent's entry (the parent must then be written). */
    void writeInto(BTree parent) throws IOException {
        if (tree.isDirty() || !entryWritten) {
            BlockRef root = tree.flush();
            parent.putSubtreeRoot(key, root);
            entryWritten = true;
        }
    }
}
