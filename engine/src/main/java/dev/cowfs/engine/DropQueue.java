package dev.cowfs.engine;

import dev.cowfs.engine.btree.BTree;
import dev.cowfs.engine.btree.TreeContext;
import dev.cowfs.engine.btree.TreeCursor;
import dev.cowfs.engine.btree.TreeDrop;
import dev.cowfs.engine.error.CorruptionException;
import dev.cowfs.engine.error.EngineBugError;
import dev.cowfs.engine.format.BlockRef;
import dev.cowfs.engine.format.Bytes;
import dev.cowfs.engine.format.DropRecordLayout;

import java.io.IOException;
import java.util.Arrays;

/**
 * Trees being dropped, as records in the catalog: the tree's root and how far its release has come (a
 * {@link TreeDrop} progress key). Every commit releases a bounded part, so dropping a large tree never stalls
 * one commit, and a crash resumes from the last committed progress: nothing is leaked or freed twice.
 */
final class DropQueue {
    private final BTree catalog;
    private final TreeContext ctx;

    DropQueue(BTree catalog, TreeContext ctx) {
        this.catalog = catalog;
        this.ctx = ctx;
    }

    /** Drops queued by this transaction so far: the sequence number of the next one's record. */
    private int added;

    /**
     * Queues a tree nothing references any more (a dropped tree, or a nested tree whose last entry went); its
     * blocks are released by later steps.
     */
    void add(long treeId, BlockRef root) throws IOException {
        byte[] key = DropRecordLayout.key(ctx.generation(), treeId, added++);
        EngineBugError.check(catalog.get(key) == null, "drop record written twice");
        catalog.put(key, DropRecordLayout.value(root, TreeDrop.START));
    }

    /** True while some dropped tree still holds references. */
    boolean pending() throws IOException {
        return firstKey() != null;
    }

    /** Releases up to about {@code budget} references, oldest drop first; true when drops remain. */
    boolean reclaim(long budget) throws IOException {
        long left = budget;
        while (left > 0) {
            byte[] key = firstKey();
            if (key == null) {
                return false;
            }
            left -= reclaimOne(key, left);
        }
        return pending();
    }

    private long reclaimOne(byte[] key, long budget) throws IOException {
        byte[] value = catalog.get(key);
        if (value == null || !DropRecordLayout.isValidValue(value)) {
            throw new CorruptionException(0, "malformed drop record in the catalog: " + Arrays.toString(key));
        }
        TreeDrop.Step step = TreeDrop.step(ctx, DropRecordLayout.treeId(key), DropRecordLayout.root(value),
                DropRecordLayout.progress(value), budget);
        if (step.finished()) {
            catalog.delete(key);
        } else {
            catalog.put(key, DropRecordLayout.value(DropRecordLayout.root(value), step.progress()));
        }
        return Math.max(1, step.referencesReleased());
    }

    private byte[] firstKey() throws IOException {
        TreeCursor cursor = catalog.cursor();
        if (!cursor.seek(new byte[] {DropRecordLayout.KEY_PREFIX})) {
            return null;
        }
        byte[] key = cursor.key();
        return DropRecordLayout.isKey(key) ? key : null;
    }
}
