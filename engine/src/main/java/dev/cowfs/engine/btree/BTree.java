package dev.cowfs.engine.btree;

import dev.cowfs.engine.device.Checksums;
import dev.cowfs.engine.error.EngineBugError;
import dev.cowfs.engine.format.BlockRef;
import dev.cowfs.engine.format.Bytes;
import dev.cowfs.engine.format.Limits;
import dev.cowfs.engine.format.NodeLayout;

import java.io.IOException;
import java.util.Arrays;

/**
 * One tree as a write transaction sees it. Committed nodes are never modified: the first change below a node
 * shadows it (a dirty copy at a newly allocated block; the old block is freed to the allocator, which defers its
 * reuse). At commit, {@link #flush()} writes the dirty nodes bottom-up and returns the new root reference.
 * Under memory pressure {@link #spill()} writes every dirty node but the root early; such a node was born in
 * this generation, so changing it again rewrites it in place instead of allocating another block.
 */
public final class BTree {
    private static final byte[] EMPTY = new byte[0];

    private final long treeId;
    private final TreeContext ctx;
    /** User trees may share nodes and values with their snapshots and clones; the engine's own trees never do. */
    private final boolean shareable;
    private final int payloadBytes;
    private final int maxInlineEntryBytes;
    /** Heap bytes of a new dirty node: a full node plus the one entry that makes it split. */
    private final int nodeCapacity;
    private BlockRef rootRef;
    private DirtyNode root;
    private long modCount;
    private long flushCount;

    private BTree(long treeId, TreeContext ctx, BlockRef rootRef) {
        this.treeId = treeId;
        this.ctx = ctx;
        this.shareable = treeId >= Limits.FIRST_USER_TREE_ID;
        this.payloadBytes = NodeLayout.payloadBytes(ctx.blockSizeBytes());
        this.maxInlineEntryBytes = Limits.maxInlineEntryBytes(ctx.blockSizeBytes());
        this.nodeCapacity = payloadBytes + maxInlineEntryBytes;
        this.rootRef = rootRef;
    }

    /** The tree as committed at {@code rootRef}, to be changed by the transaction owning {@code ctx}. */
    public static BTree open(long treeId, BlockRef rootRef, TreeContext ctx) {
        return new BTree(treeId, ctx, rootRef);
    }

    /** A new empty tree (one empty leaf). */
    public static BTree create(long treeId, TreeContext ctx) throws IOException {
        BTree tree = new BTree(treeId, ctx, null);
        tree.root = tree.newNode(0);
        return tree;
    }

    public long treeId() {
        return treeId;
    }

    public boolean isDirty() {
        return root != null;
    }

    /** Changes since the tree was opened; cursors use it to notice they must re-seek. */
    public long modCount() {
        return modCount;
    }

    // ------------------------------------------------------------------ reads

    public byte[] get(byte[] key) throws IOException {
        DirtyNode node = root;
        if (node == null) {
            return TreeSearch.get(ctx.reader(), rootRef, treeId, key, new NodeView());
        }
        long prefix = DirtyNode.prefixOf(key);
        while (!node.isLeaf()) {
            int index = node.searchBranch(key, prefix);
            if (node.children[index] == null) {
                BlockRef ref = node.childRef(index);
                return TreeSearch.get(ctx.reader(), ref.blockIndex(), ref.birthGeneration(), ref.checksum(),
                        node.level - 1, treeId, key, new NodeView());
            }
            node = node.children[index];
        }
        int index = node.searchLeaf(key, prefix);
        if (index < 0) {
            return null;
        }
        byte[] stored = node.storedValue(index);
        return EntryValue.of(node.flags(index)) != EntryValue.OUT_OF_LINE ? stored
                : TreeSearch.readOutOfLine(ctx.reader(), stored);
    }

    public boolean containsKey(byte[] key) throws IOException {
        DirtyNode node = root;
        if (node == null) {
            return TreeSearch.contains(ctx.reader(), rootRef, -1, treeId, key, new NodeView());
        }
        while (!node.isLeaf()) {
            int index = node.searchBranch(key);
            if (node.children[index] == null) {
                return TreeSearch.contains(ctx.reader(), node.childRef(index), node.level - 1, treeId, key,
                        new NodeView());
            }
            node = node.children[index];
        }
        return node.searchLeaf(key) >= 0;
    }

    public TreeCursor cursor() {
        return new TreeCursor(ctx.reader(), treeId, this);
    }

    DirtyNode dirtyRootOrNull() {
        return root;
    }

    BlockRef committedRootRef() {
        return rootRef;
    }

    // ------------------------------------------------------------------ writes

    /** Inserts or replaces; values too large for a node go to an out-of-line extent. */
    public void put(byte[] key, byte[] value) throws IOException {
        checkKey(key);
        if (value.length > Limits.MAX_VALUE_BYTES) {
            throw new IllegalArgumentException("value of " + value.length + " bytes exceeds the limit of "
                    + Limits.MAX_VALUE_BYTES);
        }
        if (NodeLayout.leafEntryBytes(key.length, value.length) <= maxInlineEntryBytes) {
            putStored(key, value, EntryValue.INLINE.flag());
        } else {
            putStored(key, writeOutOfLine(value), EntryValue.OUT_OF_LINE.flag());
        }
    }

    /**
     * Stores a reference to the root of another tree: a catalog entry, or a nested tree inside a user tree (a
     * file's extent tree). The caller owns the reference: replacing an earlier root of the same tree (its new
     * root after changes) releases nothing, because shadowing that tree's root already released the old one.
     */
    public void putSubtreeRoot(byte[] key, BlockRef subtreeRoot) throws IOException {
        checkKey(key);
        putStored(key, subtreeRoot.toBytes(), EntryValue.SUBTREE_ROOT.flag());
    }

    /**
     * Makes the path to the entry under {@code key} (a nested tree's root) dirty without changing it. Copying a
     * shared leaf on the way adds a reference to the nested root, which must happen before the nested tree's
     * own root is shadowed. False when there is no such entry.
     */
    public boolean touch(byte[] key) throws IOException {
        if (!containsKey(key)) {
            return false;
        }
        DirtyNode node = dirtyRoot();
        while (!node.isLeaf()) {
            node = dirtyChild(node, node.searchBranch(key));
        }
        modCount++;
        return true;
    }

    /**
     * The root of the nested tree stored under {@code key}, or null when there is no entry; a
     * {@code CorruptionException} when the entry holds anything else.
     */
    public BlockRef nestedRoot(byte[] key) throws IOException {
        TreeCursor cursor = cursor();
        if (!cursor.seek(key) || !Arrays.equals(cursor.key(), key)) {
            return null;
        }
        if (EntryValue.of(cursor.storedFlags()) != EntryValue.SUBTREE_ROOT) {
            throw new dev.cowfs.engine.error.CorruptionException(0, "tree " + treeId
                    + ": the entry expected to hold a nested tree holds a value");
        }
        return BlockRef.decode(cursor.storedValue(), 0);
    }

    /**
     * Compaction, for the engine's own trees (never shared): shadows every committed node at or past
     * {@code limitBlock}, with the path above it, and stores again every out-of-line value that reaches it, so
     * that the allocator (which then places nothing at or past the limit) gives them new homes below it. Each pass
     * first lists one key per node to move, then dirties the paths to those keys from the root, so that changes
     * the allocator makes to the tree in between (the space tree's) never meet a stale node. Returns the number
     * of paths dirtied.
     */
    public long relocateAbove(long limitBlock) throws IOException {
        EngineBugError.check(!shareable, "tree " + treeId + ": user trees are relocated by TreeRelocation");
        long paths = 0;
        for (int pass = 0; pass < 16; pass++) {
            java.util.List<byte[]> keys = new java.util.ArrayList<>();
            java.util.List<byte[]> outOfLine = new java.util.ArrayList<>();
            boolean rootAlone;
            if (root == null) {
                rootAlone = collectCommitted(rootRef, -1, limitBlock, keys, outOfLine) && keys.isEmpty();
            } else {
                rootAlone = false;
                collectDirty(root, limitBlock, keys, outOfLine);
            }
            if (keys.isEmpty() && outOfLine.isEmpty() && !rootAlone) {
                return paths;
            }
            if (rootAlone) {
                dirtyRoot(); // an empty root leaf: no key leads to it
            }
            for (byte[] key : keys) {
                DirtyNode node = dirtyRoot();
                while (!node.isLeaf()) {
                    node = dirtyChild(node, node.searchBranch(key));
                }
                paths++;
            }
            for (byte[] key : outOfLine) {
                put(key, get(key)); // a new out-of-line extent; the old one is released
            }
            modCount++;
        }
        throw new EngineBugError("tree " + treeId + ": relocation above block " + limitBlock + " did not converge");
    }

    private void collectDirty(DirtyNode node, long limitBlock, java.util.List<byte[]> keys,
                              java.util.List<byte[]> outOfLine) throws IOException {
        if (node.isLeaf()) {
            for (int i = 0; i < node.count; i++) {
                if (EntryValue.of(node.flags(i)) == EntryValue.OUT_OF_LINE
                        && reaches(EntryValue.OUT_OF_LINE.target(node.storedValue(i)), limitBlock)) {
                    outOfLine.add(node.key(i));
                }
            }
            return;
        }
        for (int i = 0; i < node.count; i++) {
            if (node.children[i] != null) {
                collectDirty(node.children[i], limitBlock, keys, outOfLine);
            } else {
                collectCommitted(node.childRef(i), node.level - 1, limitBlock, keys, outOfLine);
            }
        }
    }

    /**
     * Lists a key leading to each committed node at or past the limit in this subtree, and the keys of
     * out-of-line values reaching it; true when the node itself must move.
     */
    private boolean collectCommitted(BlockRef ref, int level, long limitBlock, java.util.List<byte[]> keys,
                                     java.util.List<byte[]> outOfLine) throws IOException {
        NodeView view = new NodeView();
        ctx.reader().read(ref, treeId, level, view);
        int listedBefore = keys.size();
        int count = view.count();
        if (view.isLeaf()) {
            for (int i = 0; i < count; i++) {
                if (EntryValue.of(view.flags(i)) == EntryValue.OUT_OF_LINE
                        && reaches(EntryValue.OUT_OF_LINE.target(view.storedValue(i)), limitBlock)) {
                    outOfLine.add(view.key(i));
                }
            }
        } else {
            java.util.List<BlockRef> children = new java.util.ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                children.add(view.childRef(i));
            }
            for (BlockRef child : children) {
                collectCommitted(child, view.level() - 1, limitBlock, keys, outOfLine);
            }
        }
        boolean moves = ref.blockIndex() >= limitBlock;
        if (moves && keys.size() == listedBefore) {
            byte[] key = leftmostKey(ref, level);
            if (key != null) {
                keys.add(key);
            }
        }
        return moves;
    }

    /** The first key stored under the node, or null for an empty leaf. */
    private byte[] leftmostKey(BlockRef ref, int level) throws IOException {
        NodeView view = new NodeView();
        ctx.reader().read(ref, treeId, level, view);
        while (!view.isLeaf()) {
            ctx.reader().read(view.childRef(0), treeId, view.level() - 1, view);
        }
        return view.count() == 0 ? null : view.key(0);
    }

    private static boolean reaches(BlockRef extent, long limitBlock) {
        return extent.blockIndex() + extent.blockCount() > limitBlock;
    }

    /** Flushes so far: a nested tree whose parent flushed must touch its entry again before its next change. */
    public long flushCount() {
        return flushCount;
    }

    private void checkKey(byte[] key) {
        if (key.length > Limits.MAX_KEY_BYTES) {
            throw new IllegalArgumentException("key of " + key.length + " bytes exceeds the limit of "
                    + Limits.MAX_KEY_BYTES);
        }
    }

    private byte[] writeOutOfLine(byte[] value) throws IOException {
        int blocks = (value.length + ctx.blockSizeBytes() - 1) / ctx.blockSizeBytes();
        long blockIndex = ctx.allocator().allocate(blocks);
        ctx.writeBlocks(blockIndex, value, value.length);
        BlockRef ref = new BlockRef(blockIndex, ctx.generation(), Checksums.crc32c(value, 0, value.length), blocks);
        byte[] descriptor = new byte[NodeLayout.OUT_OF_LINE_DESCRIPTOR_BYTES];
        Bytes.putInt(descriptor, NodeLayout.OUT_OF_LINE_LENGTH_OFFSET, value.length);
        ref.encode(descriptor, NodeLayout.OUT_OF_LINE_REF_OFFSET);
        return descriptor;
    }

    private void putStored(byte[] key, byte[] stored, byte flags) throws IOException {
        DirtyNode top = dirtyRoot();
        Split split = insert(top, key, DirtyNode.prefixOf(key), stored, flags, true);
        if (split != null) {
            growRoot(split);
        }
        modCount++;
    }

    /** Removes the key; returns false (and dirties nothing) when it was absent. */
    public boolean delete(byte[] key) throws IOException {
        if (!containsKey(key)) {
            return false;
        }
        Split split = remove(dirtyRoot(), key);
        if (split != null) {
            growRoot(split);
        }
        while (!root.isLeaf() && root.count == 1) {
            DirtyNode only = dirtyChild(root, 0);
            discard(root);
            root = only;
        }
        modCount++;
        return true;
    }

    private record Split(byte[] separator, DirtyNode right, boolean appended) {
    }

    private Split insert(DirtyNode node, byte[] key, long prefix, byte[] stored, byte flags, boolean rightmost)
            throws IOException {
        if (node.isLeaf()) {
            int index = node.searchLeaf(key, prefix);
            boolean appended = false;
            if (index >= 0) {
                byte oldFlags = node.flags(index);
                if (!(EntryValue.of(oldFlags) == EntryValue.SUBTREE_ROOT
                        && EntryValue.of(flags) == EntryValue.SUBTREE_ROOT)) {
                    releaseStored(node.storedValue(index), oldFlags); // a new root of the same tree releases nothing
                }
                node.replaceLeafValue(index, stored, flags);
            } else {
                index = -index - 1;
                node.insertLeafEntry(index, key, stored, flags);
                appended = rightmost && index == node.count - 1;
            }
            return node.entryBytes() > payloadBytes ? split(node, appended) : null;
        }
        int index = node.searchBranch(key, prefix);
        Split below = insert(dirtyChild(node, index), key, prefix, stored, flags, rightmost && index == node.count - 1);
        return below == null ? null : absorbSplit(node, index, below);
    }

    private Split absorbSplit(DirtyNode node, int index, Split below) throws IOException {
        node.insertBranchEntry(index + 1, below.separator, null, below.right);
        boolean appended = below.appended && index + 1 == node.count - 1;
        return node.entryBytes() > payloadBytes ? split(node, appended) : null;
    }

    private Split split(DirtyNode node, boolean appendMode) throws IOException {
        int at;
        if (appendMode) {
            at = node.count - 1; // sequential inserts: leave the left node full
        } else {
            int half = node.entryBytes() / 2;
            int bytes = 0;
            at = 0;
            while (at < node.count - 1 && bytes + node.entrySize(at) <= half) {
                bytes += node.entrySize(at);
                at++;
            }
            at = Math.max(at, 1);
        }
        DirtyNode right = newNode(node.level);
        node.moveTailTo(at, right);
        byte[] separator;
        if (node.isLeaf()) {
            separator = shortestSeparator(node.key(node.count - 1), right.key(0));
        } else {
            separator = right.key(0);
            right.setBranchKey(0, EMPTY);
        }
        EngineBugError.check(node.entryBytes() <= payloadBytes && right.entryBytes() <= payloadBytes,
                "split left an overfull node");
        return new Split(separator, right, appendMode);
    }

    /** The shortest key s with left &lt; s &lt;= right (a prefix of right): keeps branch nodes small. */
    static byte[] shortestSeparator(byte[] left, byte[] right) {
        int common = Arrays.mismatch(left, right);
        EngineBugError.check(common >= 0 && common < right.length, "separator keys not ascending");
        return Arrays.copyOf(right, common + 1);
    }

    private void growRoot(Split split) throws IOException {
        DirtyNode newRoot = newNode(root.level + 1);
        if (newRoot.level >= Limits.MAX_TREE_HEIGHT) {
            throw new EngineBugError("tree " + treeId + " grew past " + Limits.MAX_TREE_HEIGHT + " levels");
        }
        newRoot.insertBranchEntry(0, EMPTY, null, root);
        newRoot.insertBranchEntry(1, split.separator, null, split.right);
        root = newRoot;
    }

    private Split remove(DirtyNode node, byte[] key) throws IOException {
        if (node.isLeaf()) {
            int index = node.searchLeaf(key);
            EngineBugError.check(index >= 0, "key vanished between lookup and removal");
            releaseStored(node.storedValue(index), node.flags(index));
            node.remove(index);
            return null;
        }
        int index = node.searchBranch(key);
        DirtyNode child = dirtyChild(node, index);
        Split below = remove(child, key);
        if (below != null) {
            return absorbSplit(node, index, below);
        }
        if (child.entryBytes() < payloadBytes / 4 && node.count > 1) {
            rebalance(node, index);
        }
        return node.entryBytes() > payloadBytes ? split(node, false) : null;
    }

    /** Merges the underfull child with a sibling, or moves entries over from the sibling when both can't fit. */
    private void rebalance(DirtyNode parent, int index) throws IOException {
        int leftIndex = index > 0 ? index - 1 : index;
        int rightIndex = leftIndex + 1;
        DirtyNode left = dirtyChild(parent, leftIndex);
        DirtyNode right = dirtyChild(parent, rightIndex);
        byte[] separator = parent.key(rightIndex);
        int separatorGrowth = left.isLeaf() ? 0 : separator.length;
        if (left.entryBytes() + right.entryBytes() + separatorGrowth <= payloadBytes) {
            if (!right.isLeaf()) {
                right.setBranchKey(0, separator);
            }
            right.moveTailTo(0, left);
            parent.remove(rightIndex);
            discard(right);
            return;
        }
        if (!left.isLeaf()) {
            right.setBranchKey(0, separator);
        }
        int total = left.entryBytes() + right.entryBytes();
        if (left.entryBytes() < right.entryBytes()) {
            int moved = 0;
            int bytes = left.entryBytes();
            while (moved < right.count - 1 && bytes + right.entrySize(moved) <= total / 2) {
                bytes += right.entrySize(moved);
                moved++;
            }
            right.moveHeadTo(Math.max(moved, 1), left);
        } else {
            int from = left.count;
            int bytes = right.entryBytes();
            while (from > 1 && bytes + left.entrySize(from - 1) <= total / 2) {
                bytes += left.entrySize(from - 1);
                from--;
            }
            left.moveTailToFrontOf(Math.min(from, left.count - 1), right);
        }
        byte[] newSeparator;
        if (left.isLeaf()) {
            newSeparator = shortestSeparator(left.key(left.count - 1), right.key(0));
        } else {
            newSeparator = right.key(0);
            right.setBranchKey(0, EMPTY);
        }
        parent.setBranchKey(rightIndex, newSeparator);
    }

    private void releaseStored(byte[] stored, byte flags) throws IOException {
        if (EntryValue.of(flags) == EntryValue.SUBTREE_ROOT) {
            if (shareable) {
                ctx.references().dropSubtree(BlockRef.decode(stored, 0), treeId); // a nested tree goes whole
            }
            return; // catalog entries: the transaction manages tree roots itself
        }
        BlockRef target = referencedBlock(stored, flags);
        if (target != null) {
            (shareable ? ctx.references() : TreeContext.BlockReferences.UNSHARED).drop(target, ctx.allocator());
        }
    }

    /**
     * The block a leaf entry of a user tree references (out-of-line value, data extent, nested tree root), or null
     * for a plain value.
     */
    public static BlockRef referencedBlock(byte[] stored, byte flags) {
        return EntryValue.of(flags).target(stored);
    }

    /**
     * Stores an entry whose value starts with a reference to a data extent the caller holds a reference for (one
     * just written, or one whose count it raised); replacing or deleting the entry later drops that reference.
     */
    public void putDataExtent(byte[] key, byte[] value) throws IOException {
        checkKey(key);
        if (value.length < NodeLayout.DATA_EXTENT_HEADER_BYTES
                || NodeLayout.leafEntryBytes(key.length, value.length) > maxInlineEntryBytes) {
            throw new IllegalArgumentException("a data extent entry needs a block reference and must fit inline");
        }
        putStored(key, value, EntryValue.DATA_EXTENT.flag());
    }

    // ------------------------------------------------------------------ shadowing

    private DirtyNode dirtyRoot() throws IOException {
        if (root == null) {
            root = shadow(rootRef, -1);
            rootRef = null;
        }
        return root;
    }

    private DirtyNode dirtyChild(DirtyNode parent, int index) throws IOException {
        DirtyNode child = parent.children[index];
        if (child == null) {
            child = shadow(parent.childRef(index), parent.level - 1);
            parent.children[index] = child;
        }
        return child;
    }

    /**
     * Makes a dirty copy of a committed node. A node other trees share (more than one reference, Rodeh's lazy
     * reference counting) keeps its block: the copy goes to a new block, the shared node loses this tree's
     * reference, and everything the copy points at gains one. An unshared node's block is freed (or, born in
     * this generation, rewritten in place: no durable root reaches it).
     */
    private DirtyNode shadow(BlockRef ref, int level) throws IOException {
        NodeView view = new NodeView();
        ctx.reader().read(ref, treeId, level, view);
        boolean shared = shareable && ref.birthGeneration() <= ctx.references().lastCloneGeneration()
                && ctx.references().count(ref.blockIndex()) > 1;
        long blockIndex;
        if (shared) {
            blockIndex = ctx.allocator().allocate(1);
        } else if (ref.birthGeneration() == ctx.generation()) {
            blockIndex = ref.blockIndex();
        } else {
            blockIndex = ctx.allocator().allocate(1);
            ctx.allocator().free(ref.blockIndex(), 1, ref.birthGeneration());
        }
        ctx.nodeDirtied();
        DirtyNode copy = DirtyNode.copyOf(view, blockIndex, ctx.blockSizeBytes(), nodeCapacity, ctx.memory());
        if (shared) {
            ctx.references().drop(ref, ctx.allocator()); // more than one reference: never frees
            addChildReferences(copy);
        }
        return copy;
    }

    private void addChildReferences(DirtyNode copy) throws IOException {
        TreeContext.BlockReferences references = ctx.references();
        for (int i = 0; i < copy.count; i++) {
            if (!copy.isLeaf()) {
                references.add(copy.childRef(i).blockIndex());
            } else {
                BlockRef target = referencedBlock(copy.storedValue(i), copy.flags(i));
                if (target != null) {
                    references.add(target.blockIndex());
                }
            }
        }
    }

    private DirtyNode newNode(int level) throws IOException {
        DirtyNode node = new DirtyNode(level, ctx.allocator().allocate(1), nodeCapacity, ctx.memory());
        ctx.nodeDirtied();
        return node;
    }

    private void discard(DirtyNode node) throws IOException {
        ctx.allocator().free(node.blockIndex, 1, ctx.generation());
        node.release();
        ctx.nodeCleaned();
    }

    // ------------------------------------------------------------------ writing out

    /** Writes every dirty node and returns the committed root; the tree is clean afterwards. */
    public BlockRef flush() throws IOException {
        if (root != null) {
            rootRef = write(root);
            root = null;
            modCount++;
        }
        flushCount++;
        return rootRef;
    }

    /** Writes every dirty node below the root, so that only the root stays in memory. */
    public void spill() throws IOException {
        if (root == null || root.isLeaf()) {
            return;
        }
        for (int i = 0; i < root.count; i++) {
            if (root.children[i] != null) {
                root.setChildRef(i, write(root.children[i]));
                root.children[i] = null;
            }
        }
        modCount++;
    }

    private BlockRef write(DirtyNode node) throws IOException {
        if (!node.isLeaf()) {
            for (int i = 0; i < node.count; i++) {
                if (node.children[i] != null) {
                    node.setChildRef(i, write(node.children[i]));
                    node.children[i] = null;
                }
            }
        }
        byte[] block = ctx.blockBuffer();
        int checksum = NodeCodec.encode(node, ctx.generation(), treeId, block);
        try {
            NodeValidator.validate(block, block.length, node.blockIndex);
        } catch (dev.cowfs.engine.error.CorruptionException e) {
            throw new EngineBugError("about to write an invalid node: " + e.getMessage());
        }
        node.release();
        ctx.writeBlocks(node.blockIndex, block, block.length);
        // These exact bytes were validated above and written by us: reading them back needs no second check.
        ctx.reader().verified().markVerified(node.blockIndex);
        ctx.nodeCleaned();
        return new BlockRef(node.blockIndex, ctx.generation(), checksum, 1);
    }

    /** True for trees whose nodes may be shared with other trees (user trees). */
    boolean isShareable() {
        return shareable;
    }
}
