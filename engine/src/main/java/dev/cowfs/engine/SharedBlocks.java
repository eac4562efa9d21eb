package dev.cowfs.engine;

import dev.cowfs.engine.btree.BTree;
import dev.cowfs.engine.btree.BlockAllocator;
import dev.cowfs.engine.btree.TreeContext;
import dev.cowfs.engine.error.CorruptionException;
import dev.cowfs.engine.error.EngineBugError;
import dev.cowfs.engine.format.BlockRef;
import dev.cowfs.engine.format.Bytes;
import dev.cowfs.engine.format.DropRecordLayout;
import dev.cowfs.engine.format.TreeIds;

import java.io.IOException;
import java.util.Map;

/**
 * Reference counts of shared blocks, kept sparsely in the reference-count tree (tree 3): a block with one
 * reference has no record, a shared one (a node of cloned trees, a value or data extent several entries point
 * at) has its exact count, at least 2. The tree is opened on first need and created with the first sharing.
 */
final class SharedBlocks implements TreeContext.BlockReferences {
    private final BTree catalog;
    private final TreeContext ctx;
    private final Map<Long, BTree> trees;
    private BTree refs;
    private DropQueue drops;
    /** True once the catalog was seen to have no reference-count tree (nothing shared yet). */
    private boolean knownAbsent;

    SharedBlocks(BTree catalog, TreeContext ctx, Map<Long, BTree> trees) {
        this.catalog = catalog;
        this.ctx = ctx;
        this.trees = trees;
    }

    /** Catalog key of the generation of the latest clone (one byte, after every tree key). */
    static final byte[] LAST_CLONE_KEY = {DropRecordLayout.LAST_CLONE_KEY_BYTE};
    private long lastCloneGeneration = -1;

    @Override
    public long lastCloneGeneration() throws IOException {
        if (lastCloneGeneration < 0) {
            byte[] value = catalog.get(LAST_CLONE_KEY);
            lastCloneGeneration = value == null ? 0 : Bytes.getLong(value, 0);
            if (value != null && (value.length != 8 || lastCloneGeneration > ctx.generation())) {
                throw new CorruptionException(0, "catalog: malformed last-clone record");
            }
        }
        return lastCloneGeneration;
    }

    /** Notes that this generation cloned a tree: its nodes may now be shared. */
    void recordClone() throws IOException {
        if (lastCloneGeneration() != ctx.generation()) {
            byte[] value = new byte[8];
            Bytes.putLong(value, 0, ctx.generation());
            catalog.put(LAST_CLONE_KEY, value);
            lastCloneGeneration = ctx.generation();
        }
    }

    void drops(DropQueue queue) {
        this.drops = queue;
    }

    @Override
    public void dropSubtree(BlockRef root, long treeId) throws IOException {
        if (count(root.blockIndex()) > 1) {
            drop(root, null); // another entry still holds the nested tree
        } else {
            drops.add(treeId, root);
        }
    }

    @Override
    public long count(long blockIndex) throws IOException {
        BTree tree = tree(false);
        byte[] count = tree == null ? null : tree.get(TreeIds.catalogKey(blockIndex));
        return count == null ? 1 : checkedCount(blockIndex, count);
    }

    @Override
    public void add(long blockIndex) throws IOException {
        BTree tree = tree(true);
        byte[] key = TreeIds.catalogKey(blockIndex);
        byte[] count = tree.get(key);
        byte[] value = new byte[8];
        Bytes.putLong(value, 0, count == null ? 2 : checkedCount(blockIndex, count) + 1);
        tree.put(key, value);
    }

    @Override
    public boolean drop(BlockRef ref, BlockAllocator allocator) throws IOException {
        BTree tree = tree(false);
        byte[] key = TreeIds.catalogKey(ref.blockIndex());
        byte[] count = tree == null ? null : tree.get(key);
        if (count == null) {
            allocator.free(ref.blockIndex(), ref.blockCount(), ref.birthGeneration());
            return true;
        }
        long references = checkedCount(ref.blockIndex(), count);
        if (references == 2) {
            tree.delete(key);
        } else {
            byte[] value = new byte[8];
            Bytes.putLong(value, 0, references - 1);
            tree.put(key, value);
        }
        return false;
    }

    /** Compaction moved a shared block: its count goes with it to its new address. */
    void move(long fromBlock, long toBlock) throws IOException {
        BTree tree = tree(false);
        byte[] count = tree == null ? null : tree.get(TreeIds.catalogKey(fromBlock));
        EngineBugError.check(count != null, "block %d moved as shared but has no count", fromBlock);
        checkedCount(fromBlock, count);
        tree.delete(TreeIds.catalogKey(fromBlock));
        EngineBugError.check(tree.get(TreeIds.catalogKey(toBlock)) == null, "block %d already counted", toBlock);
        tree.put(TreeIds.catalogKey(toBlock), count);
    }

    /** The reference-count tree as this transaction has it, or null when nothing is shared. */
    BTree refsTree() throws IOException {
        return tree(false);
    }

    private static long checkedCount(long blockIndex, byte[] count) throws CorruptionException {
        if (count.length != 8 || Bytes.getLong(count, 0) < 2) {
            throw new CorruptionException(blockIndex, "malformed reference-count record");
        }
        return Bytes.getLong(count, 0);
    }

    private BTree tree(boolean create) throws IOException {
        if (refs == null && !(knownAbsent && !create)) {
            BTree open = trees.get(TreeIds.REFS);
            if (open == null) {
                byte[] root = catalog.get(TreeIds.catalogKey(TreeIds.REFS));
                if (root != null) {
                    open = BTree.open(TreeIds.REFS, BlockRef.decode(root, 0), ctx);
                } else if (create) {
                    open = BTree.create(TreeIds.REFS, ctx);
                } else {
                    knownAbsent = true;
                    return null;
                }
                trees.put(TreeIds.REFS, open);
            }
            refs = open;
        }
        return refs;
    }
}
