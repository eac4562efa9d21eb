package dev.cowfs.engine;

import dev.cowfs.engine.btree.BTree;
import dev.cowfs.engine.btree.TreeContext;
import dev.cowfs.engine.device.BlockDevice;
import dev.cowfs.engine.error.EngineBugError;
import dev.cowfs.engine.error.OutOfSpaceException;
import dev.cowfs.engine.format.BlockRef;
import dev.cowfs.engine.format.Limits;
import dev.cowfs.engine.format.SuperblockLayout;
import dev.cowfs.engine.format.TreeIds;
import dev.cowfs.engine.space.SpaceAllocator;
import dev.cowfs.engine.superblock.Superblock;
import dev.cowfs.engine.superblock.SuperblockRing;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.NoSuchElementException;

/**
 * The one open write transaction. Its changes are visible to its own reads at once and to other readers after
 * {@link #commit()}, which makes them durable. After any failed operation the transaction can only be aborted.
 */
public final class WriteTransaction implements AutoCloseable {
    private final Store store;
    private final CommittedState base;
    private final long generation;
    final SpaceAllocator allocator;
    final TreeContext ctx;
    final BTree catalog;
    final BTree space;
    final Map<Long, BTree> trees = new LinkedHashMap<>();
    private final long maxDirtyBytes;
    final SharedBlocks shared;
    /** Nested trees changed through handles in this transaction, by parent tree and entry key. */
    final Map<NestedKey, NestedTree> nestedTrees = new java.util.HashMap<>();
    final DropQueue drops;
    private boolean usesDataExtents;
    private boolean usesSharedTrees;
    private boolean finished;
    /** Set by a failed operation, read by the filesystem's readers and writer alike. */
    private volatile boolean broken;

    /** The superblock the commit writes into the far copy, and the checksum it records as its parent's. */
    private final Superblock previousSuperblock;
    private final int previousChecksum;

    WriteTransaction(Store store, CommittedState base) {
        this(store, base, base.generation() + 1, base.superblock(), base.superblockChecksum());
    }

    /**
     * A transaction under a writer permit its caller holds for longer (compaction's commits): ending it leaves
     * the permit with the caller.
     */
    static WriteTransaction underHeldPermit(Store store, CommittedState base) {
        WriteTransaction txn = new WriteTransaction(store, base);
        txn.ownsPermit = false;
        return txn;
    }

    /** False when the caller holds the writer permit across several transactions (see {@link #underHeldPermit}). */
    private boolean ownsPermit = true;

    /**
     * A transaction that starts from {@code base} but commits as {@code generation}, after {@code previous}
     * (whose superblock goes into the far copy): the roll-back of an image to a retained generation.
     */
    WriteTransaction(Store store, CommittedState base, long generation, Superblock previous, int previousChecksum) {
        this.store = store;
        this.base = base;
        this.generation = generation;
        this.previousSuperblock = previous;
        this.previousChecksum = previousChecksum;
        Superblock superblock = base.superblock();
        this.allocator = new SpaceAllocator(store.device(), store.blockSizeBytes(), generation, store.readers(),
                superblock);
        if (store.options().reuseFreedBlocksEarly()) {
            allocator.reuseFreedBlocksEarlyForTesting();
        }
        this.ctx = new TreeContext(generation, allocator, store.reader());
        this.catalog = BTree.open(TreeIds.CATALOG, superblock.catalogRoot(), ctx);
        this.space = BTree.open(TreeIds.SPACE, superblock.spaceRoot(), ctx);
        allocator.attach(space);
        trees.put(TreeIds.DEFAULT, BTree.open(TreeIds.DEFAULT, base.defaultTreeRoot(), ctx));
        this.maxDirtyBytes = store.options().dirtyCacheBytes();
        this.usesDataExtents = (superblock.incompatFeatures() & SuperblockLayout.INCOMPAT_DATA_EXTENTS) != 0;
        this.usesSharedTrees = (superblock.incompatFeatures() & SuperblockLayout.INCOMPAT_SHARED_TREES) != 0;
        this.shared = new SharedBlocks(catalog, ctx, trees);
        this.drops = new DropQueue(catalog, ctx);
        shared.drops(drops);
        ctx.references(shared);
    }

    /** The generation this transaction will have once committed. */
    public long generation() {
        return generation;
    }

    // ------------------------------------------------------------------ default tree

    public byte[] get(byte[] key) throws IOException {
        return get(TreeIds.DEFAULT, key);
    }

    public void put(byte[] key, byte[] value) throws IOException {
        put(TreeIds.DEFAULT, key, value);
    }

    public boolean delete(byte[] key) throws IOException {
        return delete(TreeIds.DEFAULT, key);
    }

    public Cursor cursor() throws IOException {
        return cursor(TreeIds.DEFAULT);
    }

    // ------------------------------------------------------------------ any tree

    public byte[] get(long treeId, byte[] key) throws IOException {
        checkUsable();
        requireUserTree(treeId);
        return guarded(() -> tree(treeId).get(key));
    }

    public void put(long treeId, byte[] key, byte[] value) throws IOException {
        checkUsable();
        requireUserTree(treeId);
        guardedRefusable(() -> {
            closeNested(treeId, key);
            tree(treeId).put(key, value);
            spillIfNeeded();
            return null;
        });
    }

    public boolean delete(long treeId, byte[] key) throws IOException {
        checkUsable();
        requireUserTree(treeId);
        return guarded(() -> {
            closeNested(treeId, key);
            boolean deleted = tree(treeId).delete(key);
            spillIfNeeded();
            return deleted;
        });
    }

    public Cursor cursor(long treeId) throws IOException {
        checkUsable();
        requireUserTree(treeId);
        return new Cursor(tree(treeId).cursor(), this::checkCursorUsable);
    }

    public boolean hasTree(long treeId) throws IOException {
        checkUsable();
        return trees.containsKey(treeId) || catalog.get(TreeIds.catalogKey(treeId)) != null;
    }

    /** Creates an empty tree under a new id (at least {@link Limits#FIRST_USER_TREE_ID}). */
    public void createTree(long treeId) throws IOException {
        checkUsable();
        if (treeId <= TreeIds.DEFAULT || treeId > Limits.MAX_TREE_ID) {
            throw new IllegalArgumentException("tree ids up to " + TreeIds.DEFAULT + " are reserved, and ids stay below "
                    + (Limits.MAX_TREE_ID + 1) + "; not " + treeId);
        }
        if (hasTree(treeId)) {
            throw new IllegalArgumentException("tree " + treeId + " exists");
        }
        guarded(() -> {
            trees.put(treeId, BTree.create(treeId, ctx));
            return null;
        });
    }

    /**
     * Removes a tree. Its blocks are released by this and later commits, a bounded number per commit (see
     * {@link #reclaim}); blocks it shares with other trees only lose its reference. The id is free at once.
     */
    public void dropTree(long treeId) throws IOException {
        checkUsable();
        if (treeId <= TreeIds.DEFAULT) {
            throw new IllegalArgumentException("tree " + treeId + " cannot be dropped");
        }
        guarded(() -> {
            BTree tree = tree(treeId);
            writeNested(treeId, true);
            BlockRef root = tree.flush();
            trees.remove(treeId);
            catalog.delete(TreeIds.catalogKey(treeId));
            drops.add(treeId, root);
            return null;
        });
    }

    /**
     * Creates tree {@code newTreeId} as a copy of tree {@code sourceTreeId} in O(1): both share every node until
     * one of them changes it (the change copies the path above it, Rodeh's lazy reference counting). The source's
     * changes so far in this transaction are written out first, so the copy sees them.
     */
    public void cloneTree(long sourceTreeId, long newTreeId) throws IOException {
        checkUsable();
        requireUserTree(sourceTreeId);
        if (newTreeId <= TreeIds.DEFAULT || newTreeId > Limits.MAX_TREE_ID) {
            throw new IllegalArgumentException("tree id " + newTreeId + " is reserved or out of range");
        }
        if (hasTree(newTreeId)) {
            throw new IllegalArgumentException("tree " + newTreeId + " exists");
        }
        guarded(() -> {
            writeNested(sourceTreeId, false);
            BlockRef root = tree(sourceTreeId).flush();
            catalog.putSubtreeRoot(TreeIds.catalogKey(sourceTreeId), root);
            shared.add(root.blockIndex());
            shared.recordClone();
            trees.put(newTreeId, BTree.open(newTreeId, root, ctx));
            catalog.putSubtreeRoot(TreeIds.catalogKey(newTreeId), root);
            usesSharedTrees = true;
            return null;
        });
    }

    /**
     * Releases up to about {@code maxReferences} references of dropped trees (every commit also releases
     * {@link StoreOptions#dropReferencesPerCommit()}); returns true while dropped trees still hold blocks.
     */
    public boolean reclaim(long maxReferences) throws IOException {
        checkUsable();
        return guarded(() -> drops.reclaim(maxReferences));
    }

    /** This transaction's view of the image's space: what is used, available, waiting for reuse. */
    public TransactionSpace space() {
        return new TransactionSpace(allocator, store.device(), this::checkUsable);
    }

    /**
     * Makes {@link #commit()} write a new generation even when nothing changed: such a commit moves the superblock
     * ring on, so that blocks freed before it become reusable (and releases those whose time has come).
     */
    public void forceCommit() throws IOException {
        checkUsable();
        allocator.forceCommit();
    }

    /** True while dropped trees still hold blocks that later commits will release. */
    public boolean hasDroppedTrees() throws IOException {
        checkUsable();
        return drops.pending();
    }

    /**
     * The open tree, opened from the catalog on first use. Readers of the filesystem call this concurrently
     * (while no writer runs), so the lazy open is guarded; the writer alone iterates {@link #trees}.
     */
    private BTree tree(long treeId) throws IOException {
        synchronized (trees) {
            BTree tree = trees.get(treeId);
            if (tree == null) {
                byte[] ref = catalog.get(TreeIds.catalogKey(treeId));
                if (ref == null) {
                    throw new NoSuchElementException("no tree " + treeId);
                }
                tree = BTree.open(treeId, BlockRef.decode(ref, 0), ctx);
                trees.put(treeId, tree);
            }
            return tree;
        }
    }

    private void spillIfNeeded() throws IOException {
        if (ctx.memory().bytes() > maxDirtyBytes) {
            for (NestedTree handle : nestedTrees.values()) {
                handle.tree.spill();
            }
            for (BTree tree : trees.values()) {
                tree.spill();
            }
            catalog.spill();
            space.spill();
        }
    }

    // ------------------------------------------------------------------ nested trees

    private record NestedKey(long treeId, String key) {
        static NestedKey of(long treeId, byte[] key) {
            return new NestedKey(treeId, java.util.HexFormat.of().formatHex(key));
        }
    }

    /**
     * The nested tree stored under {@code key} in user tree {@code treeId}, or a new empty one that the entry
     * will hold from the next write-out; changes through the handle are visible at once. An entry holding
     * anything else is a {@code CorruptionException}. Replacing or deleting the entry drops the nested tree
     * (released over later commits once nothing else references it).
     */
    public NestedTree nestedTree(long treeId, byte[] key) throws IOException {
        checkUsable();
        requireUserTree(treeId);
        synchronized (nestedTrees) { // readers open existing nested trees concurrently, as with tree()
            return nestedTreeGuarded(treeId, key);
        }
    }

    private NestedTree nestedTreeGuarded(long treeId, byte[] key) throws IOException {
        NestedTree handle = nestedTrees.get(NestedKey.of(treeId, key));
        if (handle != null) {
            return handle;
        }
        return guarded(() -> {
            BTree parent = tree(treeId);
            BlockRef root = parent.nestedRoot(key);
            if (root == null) {
                // A new nested tree gets its entry at once (an empty leaf), so that the entry is there for whatever
                // walks or deletes the parent's entries before the next write-out.
                root = BTree.create(treeId, ctx).flush();
                parent.putSubtreeRoot(key, root);
            }
            NestedTree opened = new NestedTree(this, treeId, key, BTree.open(treeId, root, ctx), true);
            nestedTrees.put(NestedKey.of(treeId, key), opened);
            return opened;
        });
    }

    /** True when {@code key} in tree {@code treeId} holds a nested tree (or a handle made one). */
    public boolean hasNestedTree(long treeId, byte[] key) throws IOException {
        checkUsable();
        requireUserTree(treeId);
        return nestedTrees.containsKey(NestedKey.of(treeId, key)) || tree(treeId).nestedRoot(key) != null;
    }

    /**
     * Stores under {@code dstKey} of tree {@code dstTreeId} a nested tree sharing everything with the one under
     * {@code srcKey} of {@code srcTreeId}: O(1) whatever its size (one more reference to its root). Whatever
     * {@code dstKey} held before is released.
     */
    public void cloneNestedTree(long srcTreeId, byte[] srcKey, long dstTreeId, byte[] dstKey) throws IOException {
        checkUsable();
        requireUserTree(srcTreeId);
        requireUserTree(dstTreeId);
        guarded(() -> {
            closeNested(srcTreeId, srcKey);
            BlockRef root = tree(srcTreeId).nestedRoot(srcKey);
            if (root == null) {
                throw new java.util.NoSuchElementException("no nested tree under the key in tree " + srcTreeId);
            }
            closeNested(dstTreeId, dstKey);
            tree(dstTreeId).delete(dstKey);
            shared.add(root.blockIndex());
            shared.recordClone();
            tree(dstTreeId).putSubtreeRoot(dstKey, root);
            usesSharedTrees = true;
            spillIfNeeded();
            return null;
        });
    }

    byte[] nestedGet(NestedTree handle, byte[] key) throws IOException {
        checkUsable();
        requireOpenHandle(handle);
        return guarded(() -> handle.tree.get(key));
    }

    interface NestedChange {
        void run() throws IOException;
    }

    void nestedChange(NestedTree handle, NestedChange change) throws IOException {
        checkUsable();
        requireOpenHandle(handle);
        guardedRefusable(() -> {
            handle.beforeChange(tree(handle.treeId()));
            change.run();
            spillIfNeeded();
            return null;
        });
    }

    Cursor nestedCursor(NestedTree handle) throws IOException {
        checkUsable();
        requireOpenHandle(handle);
        return new Cursor(handle.tree.cursor(), this::checkCursorUsable);
    }

    private void requireOpenHandle(NestedTree handle) {
        if (nestedTrees.get(NestedKey.of(handle.treeId(), handle.key())) != handle) {
            throw new IllegalStateException("the nested tree handle was closed (its entry was changed or written)");
        }
    }

    /** Writes the nested trees of {@code treeId} into their entries (and forgets the handles, if asked). */
    private void writeNested(long treeId, boolean forget) throws IOException {
        for (var it = nestedTrees.values().iterator(); it.hasNext(); ) {
            NestedTree handle = it.next();
            if (handle.treeId() == treeId) {
                handle.writeInto(tree(treeId));
                if (forget) {
                    it.remove();
                }
            }
        }
    }

    /** The entry is about to change: a handle on it writes its tree into it first and is closed. */
    private void closeNested(long treeId, byte[] key) throws IOException {
        if (!nestedTrees.isEmpty()) {
            NestedTree handle = nestedTrees.remove(NestedKey.of(treeId, key));
            if (handle != null) {
                handle.writeInto(tree(treeId));
            }
        }
    }

    // ------------------------------------------------------------------ data extents

    /**
     * Writes {@code length} bytes into newly allocated contiguous blocks (the last one zero-padded) and returns
     * the extent's reference (CRC32C over the bytes). The caller owns one reference to it and must store it with
     * {@link #putDataExtent} in this transaction; until then nothing reaches it.
     */
    public BlockRef writeDataExtent(byte[] data, int offset, int length) throws IOException {
        return writeDataExtent(ByteBuffer.wrap(data), offset, length);
    }

    /**
     * As {@link #writeDataExtent(byte[], int, int)}, from {@code index} of a buffer (its position and limit stay):
     * a direct buffer is written without a copy.
     */
    public BlockRef writeDataExtent(ByteBuffer data, int offset, int length) throws IOException {
        checkUsable();
        if (length <= 0 || length > Limits.MAX_VALUE_BYTES) {
            throw new IllegalArgumentException("a data extent holds 1 to " + Limits.MAX_VALUE_BYTES + " bytes, not "
                    + length);
        }
        return guarded(() -> {
            int blocks = (length + store.blockSizeBytes() - 1) / store.blockSizeBytes();
            long start = allocator.allocate(blocks);
            ctx.writeBlocks(start, data, offset, length);
            usesDataExtents = true;
            return new BlockRef(start, generation, dev.cowfs.engine.device.Checksums.crc32c(data, offset, length),
                    blocks);
        });
    }

    /**
     * Inserts or replaces an entry whose value starts with a data extent reference the caller holds (from
     * {@link #writeDataExtent}, or after {@link #addDataExtentReference}); followed by owner-defined bytes. When
     * the entry is later replaced or deleted, its reference is dropped and the last one frees the extent.
     */
    public void putDataExtent(long treeId, byte[] key, byte[] value) throws IOException {
        checkUsable();
        requireUserTree(treeId);
        guardedRefusable(() -> {
            closeNested(treeId, key);
            tree(treeId).putDataExtent(key, value);
            spillIfNeeded();
            return null;
        });
    }

    /**
     * Repairs the space accounting of the generation this transaction starts from, as the checker found it:
     * {@code leaked} extents ({start, count}: unreachable, neither free nor pending) become free, and the
     * space tree's totals replace the superblock's. Only for what the checker proved, with nothing else wrong.
     */
    public void repairSpace(java.util.List<dev.cowfs.engine.format.BlockExtent> leaked, long freeTotal, long pendingTotal) throws IOException {
        checkUsable();
        allocator.repair(leaked, freeTotal, pendingTotal);
    }

    /**
     * Roll-back (see {@link Store#rollBack}): the blocks in {@code protect}, which generations other than this
     * transaction's base still reach, become pending-free at this generation, wherever the base's space tree
     * had them (free, pending since earlier, or past its high-water mark, which rises to {@code highWater}).
     */
    void protectForRollBack(java.util.BitSet protect, long highWater) throws IOException {
        checkUsable();
        // Like a commit, it must find room: an image filled by runaway writes is what one rolls back.
        allocator.privileged(true);
        store.device().allowHostReserve(true);
        try {
            guarded(() -> {
                allocator.protectForRollBack(protect, highWater);
                return null;
            });
        } finally {
            store.device().allowHostReserve(false);
            allocator.privileged(false);
        }
    }

    /** Compaction's move of every block at or past {@code limitBlock} below it: {@link Compaction#relocateBelow}. */
    Compaction.Relocated relocateBelow(long limitBlock, long spaceReserveBlocks) throws IOException {
        checkUsable();
        return guarded(() -> Compaction.relocateBelow(this, limitBlock, spaceReserveBlocks));
    }

    /**
     * Compaction: commits nothing but what the commit itself does (pending blocks released, the high-water mark
     * lowered over a free tail), allocating only below {@code limitBlock}.
     */
    long commitReleasing(long limitBlock, long persistReserveBlocks) throws IOException {
        checkUsable();
        allocator.limitTo(limitBlock, persistReserveBlocks);
        allocator.forceCommit();
        return commit();
    }

    /** Takes one more reference to a committed or new data extent (a second entry will point at it). */
    public void addDataExtentReference(BlockRef extent) throws IOException {
        checkUsable();
        guarded(() -> {
            shared.add(extent.blockIndex());
            return null;
        });
    }

    /** References to the extent: 1 unless shared (0 is never answered: an unreferenced extent is free). */
    public long dataExtentReferences(BlockRef extent) throws IOException {
        checkUsable();
        return shared.count(extent.blockIndex());
    }

    /** Reads {@code length} bytes at {@code from} of a data extent of {@code storedBytes}, verified. */
    public void readDataExtent(BlockRef extent, int storedBytes, int from, byte[] dst, int dstOffset, int length)
            throws IOException {
        readDataExtent(extent, storedBytes, from, ByteBuffer.wrap(dst), dstOffset, length);
    }

    /** As {@link #readDataExtent(BlockRef, int, int, byte[], int, int)}, into {@code dst} at {@code dstIndex}. */
    public void readDataExtent(BlockRef extent, int storedBytes, int from, ByteBuffer dst, int dstIndex, int length)
            throws IOException {
        checkUsable();
        store.reader().readExtentRange(extent, storedBytes, from, dst, dstIndex, length);
    }

    /** As {@link ReadTransaction#locateDataExtent}: where a data extent's bytes lie, verified as for a read. */
    public long locateDataExtent(BlockRef extent, int storedBytes, int from, int length) throws IOException {
        checkUsable();
        return store.reader().locateExtentRange(extent, storedBytes, from, length);
    }

    private static void requireUserTree(long treeId) {
        if (treeId < TreeIds.DEFAULT) {
            throw new IllegalArgumentException("tree " + treeId + " belongs to the engine");
        }
    }

    // ------------------------------------------------------------------ intent log

    /** The intent log this transaction writes (null until its first group). */
    private IntentLog log;

    /**
     * Makes one group durable in the intent log without a commit: the owner's {@code records} and the data extents
     * they name (written in this transaction), in new log units, then one barrier, which also makes those extents
     * durable. After a crash before this transaction commits, {@link Store#pendingLog()} gives the group back on the
     * next open, when its units and its extents verify, to be replayed.
     * False, with nothing written, when the commit this transaction extends does not carry the intent-log feature
     * (the first commit of a store opened with {@link StoreOptions.Builder#intentLog} sets it): commit instead.
     */
    public boolean logDurably(byte[] records, java.util.List<IntentLog.Extent> extents) throws IOException {
        checkUsable();
        if (!store.options().intentLog()
                || (previousSuperblock.roCompatFeatures() & SuperblockLayout.RO_COMPAT_INTENT_LOG) == 0
                || previousSuperblock.generation() != generation - 1) {
            return false;
        }
        guarded(() -> {
            if (log == null) {
                allocator.holdFreesUntilCommit();
                log = new IntentLog(store.device(), store.blockSizeBytes(), generation - 1, allocator);
            }
            log.append(new IntentLog.Group(records, java.util.List.copyOf(extents)));
            store.device().barrier();
            return null;
        });
        return true;
    }

    /** Gives back an extent {@link #claimForReplay} claimed that the replayed state does not name. */
    public void freeClaimedExtent(IntentLog.Extent extent) throws IOException {
        checkUsable();
        allocator.free(extent.ref().blockIndex(), extent.ref().blockCount(), generation); // changes no tree
    }

    /** Units this transaction wrote to the intent log. */
    public long logUnitsWritten() {
        return log == null ? 0 : log.unitsWritten();
    }

    /**
     * Replay of {@code pending} (the log {@link Store#pendingLog()} found), first thing in a transaction on the commit it
     * extends: the blocks of its chain and the data extents its groups name (verified when the log was read) are
     * taken out of free space, so that nothing this transaction writes lands on them before it commits (a crash
     * meanwhile replays the same log again). The chain's blocks wait for the commit (pending-free at its
     * generation); each distinct extent ({@link IntentLog.Pending#extents()}) is the caller's, one reference, to store
     * with {@link #putDataExtent} (or {@link #addDataExtentReference} for more, or {@link #freeClaimedExtent} when the
     * replayed state no longer names it). Throws {@code CorruptionException}, with nothing changed, when a block is
     * in use in the commit.
     */
    public void claimForReplay(IntentLog.Pending pending) throws IOException {
        checkUsable();
        EngineBugError.check(pending.baseGeneration() == generation - 1, "replay of the log of generation %d in "
                + "generation %d", pending.baseGeneration(), generation);
        java.util.List<dev.cowfs.engine.format.BlockExtent> all = new java.util.ArrayList<>(pending.chainBlocks());
        java.util.List<IntentLog.Extent> extents = pending.extents();
        for (IntentLog.Extent extent : extents) {
            all.add(new dev.cowfs.engine.format.BlockExtent(extent.ref().blockIndex(), extent.ref().blockCount()));
        }
        allocator.checkClaimable(all); // a refusal before anything changed: the transaction goes on
        guarded(() -> {
            allocator.claim(all);
            allocator.holdFreesUntilCommit();
            for (dev.cowfs.engine.format.BlockExtent block : pending.chainBlocks()) {
                allocator.free(block.start(), (int) block.count(), generation);
            }
            usesDataExtents |= !extents.isEmpty();
            return null;
        });
    }

    // ------------------------------------------------------------------ end

    /**
     * Makes every change durable and visible: new blocks (and the previous superblock into the far copy), barrier,
     * superblock into the next ring slot (never the slot of the newest durable superblock), barrier. Returns the new generation, or the
     * current one when there was nothing to commit.
     */
    public long commit() throws IOException {
        if (broken && !finished) {
            abort(); // the writer permit is released on every path out of a commit
            throw new IOException("an earlier operation of this transaction failed; it was aborted, nothing "
                    + "was committed");
        }
        checkUsable();
        finished = true;
        try {
            allocator.privileged(true); // a commit must always find room: the reserved pool is there for it
            store.device().allowHostReserve(true);
            drops.reclaim(store.options().dropReferencesPerCommit());
            if (!hasChanges()) {
                return base.generation();
            }
            if (log != null) {
                // The log is folded into this commit; its chain waits for it like any block the log may name.
                for (dev.cowfs.engine.format.BlockExtent block : log.chainBlocks()) {
                    allocator.free(block.start(), (int) block.count(), generation);
                }
            }
            BlockRef catalogRoot = writeTrees();
            allocator.prepareForPersist();
            allocator.persist();
            BlockRef spaceRoot = space.flush();
            BlockDevice device = store.device();
            SuperblockRing.writeFarCopy(device, previousSuperblock);
            device.barrier();
            Superblock previous = base.superblock();
            // Features stay set once set, across a roll-back too (the previous superblock is then the newest's,
            // whose trees are still in the ring).
            long incompat = previous.incompatFeatures() | previousSuperblock.incompatFeatures()
                    | (usesDataExtents ? SuperblockLayout.INCOMPAT_DATA_EXTENTS : 0)
                    | (usesSharedTrees ? SuperblockLayout.INCOMPAT_SHARED_TREES : 0);
            Superblock superblock = new Superblock(generation, previous.imageUuid(),
                    store.blockSizeBytes(), previous.compatFeatures() | previousSuperblock.compatFeatures(),
                    previous.roCompatFeatures() | previousSuperblock.roCompatFeatures()
                            | (store.options().intentLog() ? SuperblockLayout.RO_COMPAT_INTENT_LOG : 0), incompat,
                    previousChecksum,
                    store.options().clockMillis().getAsLong(), allocator.highWaterBlock(), allocator.freeBlocks(),
                    allocator.pendingBlocks(), catalogRoot, spaceRoot, previous.capacityBlocks());
            int superblockChecksum = SuperblockRing.writeRingSlot(device, superblock);
            device.barrier();
            device.marker("commit " + generation + " acknowledged");
            store.publish(superblock, superblockChecksum);
            return generation;
        } catch (OutOfSpaceException e) {
            throw e; // nothing durable changed: the transaction is dropped, the store stays writable
        } catch (IOException e) {
            store.fail(e);
            throw e;
        } finally {
            store.device().allowHostReserve(false);
            ctx.memory().releaseAll();
            if (ownsPermit) {
                store.endWrite();
            }
        }
    }

    /** True when a commit now would write a new generation (something changed, or a commit was forced). */
    public boolean hasChanges() {
        if (allocator.hasChanges() || catalog.isDirty()) {
            return true;
        }
        return trees.values().stream().anyMatch(BTree::isDirty);
    }

    private BlockRef writeTrees() throws IOException {
        for (NestedTree handle : nestedTrees.values()) {
            handle.writeInto(tree(handle.treeId()));
        }
        nestedTrees.clear();
        for (Map.Entry<Long, BTree> entry : trees.entrySet()) {
            BTree tree = entry.getValue();
            if (tree.isDirty()) {
                BlockRef root = tree.flush();
                if (entry.getKey() == TreeIds.REFS && isEmptyLeaf(root)) {
                    // Nothing is shared any more: the reference-count tree goes until the next sharing.
                    allocator.free(root.blockIndex(), 1, root.birthGeneration());
                    catalog.delete(TreeIds.catalogKey(TreeIds.REFS));
                    continue;
                }
                catalog.putSubtreeRoot(TreeIds.catalogKey(entry.getKey()), root);
            }
        }
        return catalog.flush();
    }

    private boolean isEmptyLeaf(BlockRef root) throws IOException {
        dev.cowfs.engine.btree.NodeView view = new dev.cowfs.engine.btree.NodeView();
        store.reader().read(root, TreeIds.REFS, -1, view);
        return view.isLeaf() && view.count() == 0;
    }

    /** Discards every change. Blocks written so far were free in the last commit and stay free. */
    public void abort() {
        if (!finished) {
            finished = true;
            ctx.memory().releaseAll();
            if (ownsPermit) {
                store.endWrite();
            }
        }
    }

    @Override
    public void close() {
        abort();
    }

    /** Cursors read dirty nodes in place: once the transaction ended, their memory is gone. */
    private void checkCursorUsable() {
        if (finished) {
            throw new IllegalStateException("the cursor's transaction was already committed or aborted");
        }
    }

    /** True once an operation failed: the transaction can then only be aborted. */
    public boolean isBroken() {
        return broken;
    }

    private void checkUsable() throws IOException {
        if (finished) {
            throw new IllegalStateException("transaction already committed or aborted");
        }
        if (broken) {
            throw new IOException("an earlier operation of this transaction failed; abort it");
        }
    }

    // ------------------------------------------------------------------ the guard

    /** A change to the transaction's trees: if it fails part way, they are in a state nobody can name. */
    private interface Change<T> {
        T run() throws IOException;
    }

    /**
     * Runs a change; any failure in it breaks the transaction, which can then only be aborted (nothing half done is
     * ever committed): the one place that rule is applied.
     */
    private <T> T guarded(Change<T> change) throws IOException {
        try {
            return change.run();
        } catch (IOException | RuntimeException | Error e) {
            broken = true;
            throw e;
        }
    }

    /**
     * As {@link #guarded}, except that an {@link IllegalArgumentException} is a refusal made before anything changed
     * (a value too large, a key of the wrong form): the transaction goes on.
     */
    private <T> T guardedRefusable(Change<T> change) throws IOException {
        try {
            return change.run();
        } catch (IllegalArgumentException refused) {
            throw refused;
        } catch (IOException | RuntimeException | Error e) {
            broken = true;
            throw e;
        }
    }
}
