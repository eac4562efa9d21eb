package dev.cowfs.engine;

import dev.cowfs.engine.btree.BTree;
import dev.cowfs.engine.btree.EntryValue;
import dev.cowfs.engine.btree.NodeReader;
import dev.cowfs.engine.btree.NodeView;
import dev.cowfs.engine.btree.TreeCursor;
import dev.cowfs.engine.btree.TreeRelocation;
import dev.cowfs.engine.btree.TreeSearch;
import dev.cowfs.engine.error.CorruptionException;
import dev.cowfs.engine.error.EngineBugError;
import dev.cowfs.engine.error.OutOfSpaceException;
import dev.cowfs.engine.format.BlockRef;
import dev.cowfs.engine.format.Bytes;
import dev.cowfs.engine.format.Limits;
import dev.cowfs.engine.format.NodeLayout;
import dev.cowfs.engine.format.SpaceKeys;
import dev.cowfs.engine.format.TreeIds;
import dev.cowfs.engine.superblock.Superblock;
import dev.cowfs.engine.superblock.SuperblockRing;

import java.io.IOException;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongConsumer;

/**
 * Moves blocks down and shrinks the image ({@link Store#compact}), as a sequence of ordinary commits, each
 * crash-safe like any other:
 * <ol>
 * <li>the image must check clean, and trees still being dropped are released first;</li>
 * <li>commits that change nothing release the blocks earlier commits freed, so the free space is all known;</li>
 * <li>a plan picks the shortest length whose free space below can take every block the trees reach past it,
 *     and every node above such a block (a walk of all trees counts them, shared ones once);</li>
 * <li>one commit moves those blocks below the limit ({@link WriteTransaction#relocateBelow}); should the free
 *     space prove too scattered for an extent, the commit is dropped and a longer length tried;</li>
 * <li>commits that allocate only below the limit wait out the superblock ring: the old blocks become free, the
 *     high-water mark falls over the free tail, and every superblock the image keeps comes to lie below it;</li>
 * <li>the file is cut, between barriers.</li>
 * </ol>
 * Power lost at any point leaves a committed image holding the same data; only the length and the block
 * addresses differ.
 */
final class Compaction {
    /** Lengths tried, shortest feasible first, before giving up. */
    private static final int ATTEMPTS = 4;

    private final Store store;
    private final LongConsumer progress;
    /** Move blocks down even where the file cannot be cut (below the far copy): the crash harness's small images. */
    private final boolean belowCut;
    private long commits;

    Compaction(Store store, LongConsumer progress, boolean belowCut) {
        this.store = store;
        this.progress = progress;
        this.belowCut = belowCut;
    }

    Store.Compacted run() throws IOException {
        long lengthBefore = store.device().lengthBytes();
        long highWaterBefore = store.superblock().highWaterBlock();
        dev.cowfs.engine.check.CheckReport report = store.check(progress);
        if (!report.isClean()) {
            throw new CorruptionException(-1, "the image does not check clean (" + report.problems().get(0)
                    + (report.problems().size() > 1 ? "; and " + (report.problems().size() - 1) + " more" : "")
                    + "); nothing was moved: run cowfs fsck, and --repair where it can");
        }
        releaseDrops();
        settle(Long.MAX_VALUE, 0, Limits.SUPERBLOCK_RING_SLOTS);
        Plan plan = plan();
        Moved moved = moveBelowACandidate(plan);
        String outcome = moved.outcome();
        long lengthAfter = lengthBefore;
        if (moved.limitBlock() != Long.MAX_VALUE) {
            // The far superblock region is never free: a high-water mark past it stays past it.
            long farEnd = Limits.farRegionEndBlock(plan.blockSize);
            long wanted = Math.max(moved.limitBlock(), highWaterBefore >= farEnd ? farEnd : 0) * plan.blockSize;
            // Old blocks turn free a ring's length after they were freed, the mark falls a commit later, and the
            // superblocks the image keeps follow a ring's length after that: about eight commits.
            for (int i = 0; i < 3 * Limits.SUPERBLOCK_RING_SLOTS && keptHighWater() * plan.blockSize > wanted; i++) {
                settle(moved.limitBlock(), 2 * plan.engineNodes + 64, 1);
            }
            long kept = keptHighWater() * plan.blockSize;
            if (kept > wanted) {
                outcome = "open readers still hold blocks past " + wanted + " bytes";
            }
            lengthAfter = store.device().shrink(kept);
        } else {
            long kept = keptHighWater() * plan.blockSize;
            if (kept < lengthBefore) {
                lengthAfter = store.device().shrink(kept); // the tail past every superblock's reach is cut anyway
            }
        }
        return new Store.Compacted(lengthBefore, lengthAfter, highWaterBefore, store.superblock().highWaterBlock(),
                moved.nodesWritten(), moved.extentBlocks(), moved.sharedMoved(), commits, outcome);
    }

    /**
     * What the move did: the block everything now lies below ({@code Long.MAX_VALUE} when nothing could move), what
     * it wrote, and why nothing moved (null when something did, or nothing had to).
     */
    private record Moved(long limitBlock, long nodesWritten, long extentBlocks, long sharedMoved, String outcome) {
    }

    /**
     * Moves what lies past the shortest candidate length below it, in one commit; a candidate whose free space
     * turns out too scattered changes nothing durable, and the next longer one is tried, up to {@link #ATTEMPTS}.
     */
    private Moved moveBelowACandidate(Plan plan) throws IOException {
        if (plan.shorterLengths == 0) {
            return new Moved(Long.MAX_VALUE, 0, 0, 0, "it is as short as the far superblock copy at 64 MiB and whole "
                    + (store.device().shrinkUnitBytes() >> 20) + " MiB steps allow");
        }
        if (plan.candidates.isEmpty()) {
            return new Moved(Long.MAX_VALUE, 0, 0, 0, "no shorter length has room below it for what lies past it");
        }
        List<String> failures = new ArrayList<>();
        for (Candidate candidate : plan.candidates) {
            if (failures.size() >= ATTEMPTS) {
                break;
            }
            long limitBlock = candidate.lengthBytes / plan.blockSize;
            if (candidate.blocksToWrite == 0) {
                return new Moved(limitBlock, 0, 0, 0, null); // nothing past it: the tail is free already
            }
            WriteTransaction txn = store.beginWriteUnderHeldPermit();
            try {
                Relocated moved = txn.relocateBelow(limitBlock, 2 * plan.engineNodes + 64);
                txn.commit();
                commits++;
                progress.accept(moved.nodesWritten() + moved.extentBlocksMoved());
                return new Moved(limitBlock, moved.nodesWritten(), moved.extentBlocksMoved(), moved.sharedMoved(),
                        null);
            } catch (OutOfSpaceException e) {
                failures.add(e.getMessage()); // nothing durable changed; try a longer length
            } finally {
                txn.abort(); // the writer permit goes back on every path (after a commit, nothing happens)
            }
        }
        return new Moved(Long.MAX_VALUE, 0, 0, 0, "the free space below every shorter length is too scattered ("
                + String.join("; ", failures) + ")");
    }

    /** Releases every tree still being dropped, over as many commits as that takes. */
    private void releaseDrops() throws IOException {
        while (true) {
            try (WriteTransaction txn = store.beginWriteUnderHeldPermit()) { // closing aborts whatever did not commit
                if (!txn.hasDroppedTrees()) {
                    return;
                }
                txn.reclaim(1 << 20);
                txn.commit();
                commits++;
            }
        }
    }

    /**
     * Commits {@code count} times, changing nothing but what commits release, allocating below {@code limit} (with
     * {@code reserveBlocks} to record each commit in).
     */
    private void settle(long limit, long reserveBlocks, int count) throws IOException {
        for (int i = 0; i < count; i++) {
            try (WriteTransaction txn = store.beginWriteUnderHeldPermit()) {
                txn.commitReleasing(limit, reserveBlocks);
                commits++;
            }
        }
    }

    /** The highest high-water mark of the superblocks the image keeps (ring and far copy) and open readers hold. */
    private long keptHighWater() throws IOException {
        long highWater = store.superblock().highWaterBlock();
        for (Superblock copy : SuperblockRing.readCopies(store.device(), new ArrayList<>())) {
            highWater = Math.max(highWater, copy.highWaterBlock());
        }
        for (Superblock held : store.readerSuperblocks()) {
            highWater = Math.max(highWater, held.highWaterBlock());
        }
        return highWater;
    }

    // ------------------------------------------------------------------ the plan

    /** A length to shrink to, and the blocks compaction would write to get there. */
    record Candidate(long lengthBytes, long blocksToWrite) {
    }

    /** Lengths worth trying, shortest first; engine-tree nodes to allow for besides. */
    record Plan(int blockSize, List<Candidate> candidates, long engineNodes, long shorterLengths) {
    }

    /**
     * Walks every tree of the newest commit once. A node must be rewritten for a limit L exactly when some block
     * below it (itself included) lies at or past L: its highest such block decides, so one histogram over the
     * unit the device cuts in gives, for every length, the blocks to write. Free space below each length comes
     * from the space tree.
     */
    private Plan plan() throws IOException {
        try (ReadTransaction pin = store.beginRead()) { // keeps the walked blocks from reuse meanwhile
            return plan(pin.superblock());
        }
    }

    private Plan plan(Superblock superblock) throws IOException {
        int blockSize = superblock.blockSizeBytes();
        long unit = belowCut ? blockSize : Math.max(store.device().shrinkUnitBytes(), blockSize);
        long highWater = superblock.highWaterBlock();
        long lengthNow = belowCut ? highWater * blockSize : store.device().lengthBytes();
        if (!belowCut && store.device().shrinkUnitBytes() == 0) {
            return new Plan(blockSize, List.of(), 0, 0);
        }
        int buckets = (int) Math.min(Integer.MAX_VALUE - 8, (Math.max(highWater, 1) * blockSize + unit - 1) / unit + 1);
        long[] writes = new long[buckets];
        long[] free = new long[buckets];
        NodeReader reader = store.reader();
        BlockRef catalogRoot = superblock.catalogRoot();
        Walk walk = new Walk(reader, catalogRoot, writes, blockSize, unit);
        long[] engineNodes = new long[1];
        walk.engineTree(catalogRoot, TreeIds.CATALOG, -1, engineNodes);
        walk.engineTree(superblock.spaceRoot(), TreeIds.SPACE, -1, engineNodes);
        if (walk.refsRoot != null) {
            walk.engineTree(walk.refsRoot, TreeIds.REFS, -1, engineNodes);
        }
        walkUserTrees(walk, reader, catalogRoot);
        countFree(reader, superblock, free, blockSize, unit);
        // For a length of k units: free below it, writes for everything at or past it.
        long floorBytes = belowCut ? 0 : Limits.FAR_SUPERBLOCK_OFFSET_BYTES + Limits.FAR_REGION_BYTES;
        long firstUnit = Math.max((floorBytes + unit - 1) / unit,
                (Limits.firstDataBlock(blockSize) * blockSize + unit - 1) / unit);
        long[] freeBelow = new long[buckets + 1];
        for (int b = 0; b < buckets; b++) {
            freeBelow[b + 1] = freeBelow[b] + free[b];
        }
        long[] writesFrom = new long[buckets + 1];
        for (int b = buckets - 1; b >= 0; b--) {
            writesFrom[b] = writesFrom[b + 1] + writes[b];
        }
        List<Candidate> candidates = new ArrayList<>();
        long shorter = 0;
        for (long k = firstUnit; k * unit < lengthNow; k++) {
            shorter++;
            int at = (int) Math.min(k, buckets); // lengths past the high-water mark: nothing lies past them
            long need = writesFrom[at];
            long slack = need == 0 ? 0 : engineNodes[0] + 64 + need / 16;
            if (freeBelow[at] >= need + slack) {
                candidates.add(new Candidate(k * unit, need));
            }
        }
        return new Plan(blockSize, candidates, engineNodes[0], shorter);
    }

    /** Walks every user tree the catalog names (each shared block counted once). */
    private static void walkUserTrees(Walk walk, NodeReader reader, BlockRef catalogRoot) throws IOException {
        TreeCursor catalog = TreeCursor.overCommitted(reader, TreeIds.CATALOG, catalogRoot);
        List<Long> treeIds = new ArrayList<>();
        List<BlockRef> roots = new ArrayList<>();
        for (boolean found = catalog.first(); found; found = catalog.next()) {
            byte[] key = catalog.key();
            if (key.length == 8 && EntryValue.of(catalog.storedFlags()) == EntryValue.SUBTREE_ROOT
                    && Bytes.getLongBigEndian(key, 0) >= Limits.FIRST_USER_TREE_ID) {
                treeIds.add(Bytes.getLongBigEndian(key, 0));
                roots.add(BlockRef.decode(catalog.storedValue(), 0));
            }
        }
        for (int i = 0; i < roots.size(); i++) {
            walk.maxBlock(roots.get(i), treeIds.get(i), -1, 0);
        }
    }

    /** Adds the free blocks of the space tree into {@code free}, by length unit ({@code unit} bytes each). */
    private static void countFree(NodeReader reader, Superblock superblock, long[] free, int blockSize, long unit)
            throws IOException {
        int buckets = free.length;
        TreeCursor space = TreeCursor.overCommitted(reader, TreeIds.SPACE, superblock.spaceRoot());
        for (boolean found = space.seek(new byte[] {SpaceKeys.FREE_BY_ADDRESS}); found; found = space.next()) {
            byte[] key = space.key();
            if (key[0] != SpaceKeys.FREE_BY_ADDRESS) {
                break;
            }
            long start = Bytes.getLongBigEndian(key, 1);
            long count = Bytes.getLong(space.value(), 0);
            for (long at = start; at < start + count; ) {
                int bucket = (int) (at * blockSize / unit);
                long bucketEnd = ((long) bucket + 1) * unit / blockSize;
                long piece = Math.min(start + count, bucketEnd) - at;
                free[Math.min(bucket, buckets - 1)] += piece;
                at += piece;
            }
        }
    }

    /** The walk behind the plan: the highest block below every node, each shared block counted once. */
    private static final class Walk {
        final NodeReader reader;
        final long[] writes;
        final int blockSize;
        final long unit;
        final BlockRef refsRoot;
        final long lastClone;
        final NodeView countView = new NodeView();
        /** Shared nodes walked: the highest block below each. */
        final Map<Long, Long> sharedNodes = new HashMap<>();
        /** Shared extents counted. */
        final BitSet sharedExtents = new BitSet();

        Walk(NodeReader reader, BlockRef catalogRoot, long[] writes, int blockSize, long unit) throws IOException {
            this.reader = reader;
            this.writes = writes;
            this.blockSize = blockSize;
            this.unit = unit;
            NodeView view = new NodeView();
            byte[] refs = TreeSearch.get(reader, catalogRoot, TreeIds.CATALOG, TreeIds.catalogKey(TreeIds.REFS), view);
            this.refsRoot = refs == null ? null : BlockRef.decode(refs, 0);
            byte[] clone = TreeSearch.get(reader, catalogRoot, TreeIds.CATALOG, SharedBlocks.LAST_CLONE_KEY, view);
            this.lastClone = clone == null ? 0 : Bytes.getLong(clone, 0);
        }

        long count(long blockIndex) throws IOException {
            if (refsRoot == null) {
                return 1;
            }
            byte[] count = TreeSearch.get(reader, refsRoot, TreeIds.REFS, TreeIds.catalogKey(blockIndex), countView);
            return count == null ? 1 : Bytes.getLong(count, 0);
        }

        void add(long lastBlock, long weight) {
            int bucket = (int) Math.min(writes.length - 1, lastBlock * blockSize / unit);
            writes[bucket] += weight;
        }

        /** The highest block index below {@code ref}, itself included; adds what moving each part would write. */
        long maxBlock(BlockRef ref, long treeId, int level, int depth) throws IOException {
            if (depth > 4 * Limits.MAX_TREE_HEIGHT) {
                throw new CorruptionException(ref.blockIndex(), "tree " + treeId + ": nested trees too deep");
            }
            boolean shared = ref.birthGeneration() <= lastClone && count(ref.blockIndex()) > 1;
            if (shared) {
                Long known = sharedNodes.get(ref.blockIndex());
                if (known != null) {
                    return known;
                }
            }
            NodeView view = new NodeView();
            reader.read(ref, treeId, level, view);
            long highest = ref.blockIndex();
            int count = view.count();
            List<BlockRef> nodes = new ArrayList<>();
            List<BlockRef> extents = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                if (!view.isLeaf()) {
                    nodes.add(view.childRef(i));
                    continue;
                }
                byte flags = view.flags(i);
                BlockRef target = dev.cowfs.engine.btree.BTree.referencedBlock(view.storedValue(i), flags);
                if (target == null) {
                    continue;
                }
                if (EntryValue.of(flags) == EntryValue.SUBTREE_ROOT) {
                    nodes.add(target);
                } else {
                    extents.add(target);
                }
            }
            int childLevel = view.isLeaf() ? -1 : view.level() - 1;
            for (BlockRef child : nodes) {
                highest = Math.max(highest, maxBlock(child, treeId, childLevel, depth + 1));
            }
            for (BlockRef extent : extents) {
                long last = extent.blockIndex() + extent.blockCount() - 1;
                highest = Math.max(highest, last);
                boolean sharedExtent = count(extent.blockIndex()) > 1;
                if (sharedExtent && extent.blockIndex() <= Integer.MAX_VALUE) {
                    if (sharedExtents.get((int) extent.blockIndex())) {
                        continue;
                    }
                    sharedExtents.set((int) extent.blockIndex());
                }
                add(last, extent.blockCount());
            }
            add(highest, 1);
            if (shared) {
                sharedNodes.put(ref.blockIndex(), highest);
            }
            return highest;
        }

        /**
         * An engine tree (never shared): counts its nodes into {@code nodes}, adds each to the histogram like a
         * user tree's node, and returns the highest block below the node.
         */
        long engineTree(BlockRef ref, long treeId, int level, long[] nodes) throws IOException {
            NodeView view = new NodeView();
            reader.read(ref, treeId, level, view);
            nodes[0]++;
            long highest = ref.blockIndex();
            List<BlockRef> below = new ArrayList<>();
            for (int i = 0; i < view.count(); i++) {
                if (!view.isLeaf()) {
                    below.add(view.childRef(i));
                } else if (EntryValue.of(view.flags(i)) == EntryValue.OUT_OF_LINE) {
                    BlockRef value = EntryValue.OUT_OF_LINE.target(view.storedValue(i));
                    long last = value.blockIndex() + value.blockCount() - 1;
                    highest = Math.max(highest, last);
                    add(last, value.blockCount());
                }
            }
            int childLevel = view.level() - 1;
            for (BlockRef child : below) {
                highest = Math.max(highest, engineTree(child, treeId, childLevel, nodes));
            }
            add(highest, 1);
            return highest;
        }
    }

    /** What one compaction commit moved (see {@link Store#compact}). */
    record Relocated(long nodesWritten, long extentBlocksMoved, long sharedMoved, long enginePaths) {
    }

    /**
     * Every block the transaction writes lies below {@code limitBlock}, and every block the trees
     * reach at or past it moves below it: user trees by {@link TreeRelocation} (their shape and sharing kept),
     * the engine's own trees by shadowing. The old blocks become pending-free in this commit, as any freed block
     * does. Only for a transaction that has changed nothing, with no tree being dropped. {@code spaceReserveBlocks}:
     * room to take from the space tree before it is itself relocated.
     */
    static Relocated relocateBelow(WriteTransaction txn, long limitBlock, long spaceReserveBlocks)
            throws IOException {
        {
            txn.allocator.limitTo(limitBlock, spaceReserveBlocks);
            txn.allocator.forceCommit();
            EngineBugError.check(!txn.drops.pending(), "compaction while trees are being dropped");
            EngineBugError.check(txn.nestedTrees.isEmpty() && txn.trees.values().stream().noneMatch(BTree::isDirty)
                    && !txn.catalog.isDirty(), "compaction in a transaction with changes");
            TreeRelocation relocation = new TreeRelocation(txn.ctx, new TreeRelocation.Counts() {
                @Override
                public long count(long blockIndex) throws IOException {
                    return txn.shared.count(blockIndex);
                }

                @Override
                public long lastCloneGeneration() throws IOException {
                    return txn.shared.lastCloneGeneration();
                }

                @Override
                public void move(long fromBlock, long toBlock) throws IOException {
                    txn.shared.move(fromBlock, toBlock);
                }
            }, limitBlock);
            java.util.List<byte[]> keys = new java.util.ArrayList<>();
            java.util.List<BlockRef> roots = new java.util.ArrayList<>();
            dev.cowfs.engine.btree.TreeCursor cursor = txn.catalog.cursor();
            for (boolean found = cursor.first(); found; found = cursor.next()) {
                byte[] key = cursor.key();
                if (key.length == 8 && EntryValue.of(cursor.storedFlags()) == EntryValue.SUBTREE_ROOT
                        && Bytes.getLongBigEndian(key, 0) >= Limits.FIRST_USER_TREE_ID) {
                    keys.add(key);
                    roots.add(BlockRef.decode(cursor.storedValue(), 0));
                }
            }
            txn.trees.keySet().removeIf(id -> id >= Limits.FIRST_USER_TREE_ID); // reopened from the catalog on use
            for (int i = 0; i < keys.size(); i++) {
                BlockRef root = roots.get(i);
                BlockRef moved = relocation.relocate(root, Bytes.getLongBigEndian(keys.get(i), 0));
                if (moved != root) {
                    txn.catalog.putSubtreeRoot(keys.get(i), moved);
                }
            }
            if (relocation.sharedMoved() > 0) {
                txn.shared.recordClone(); // moved shared nodes are born now, and nodes born after the last clone never are
            }
            long paths = 0;
            BTree refs = txn.shared.refsTree();
            if (refs != null) {
                paths += refs.relocateAbove(limitBlock);
            }
            paths += txn.catalog.relocateAbove(limitBlock);
            txn.allocator.fillReserve(spaceReserveBlocks);
            long[] spacePaths = new long[1];
            txn.allocator.whileSpaceTreeBusy(() -> spacePaths[0] = txn.space.relocateAbove(limitBlock));
            return new Relocated(relocation.nodesWritten(), relocation.extentBlocksMoved(), relocation.sharedMoved(),
                    paths + spacePaths[0]);
        }
    }
}
