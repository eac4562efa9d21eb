package dev.cowfs.engine.space;

import dev.cowfs.engine.btree.BTree;
import dev.cowfs.engine.btree.BlockAllocator;
import dev.cowfs.engine.btree.TreeCursor;
import dev.cowfs.engine.device.BlockDevice;
import dev.cowfs.engine.error.CorruptionException;
import dev.cowfs.engine.error.EngineBugError;
import dev.cowfs.engine.error.OutOfSpaceException;
import dev.cowfs.engine.format.BlockExtent;
import dev.cowfs.engine.format.Bytes;
import dev.cowfs.engine.format.Limits;
import dev.cowfs.engine.format.SpaceKeys;
import dev.cowfs.engine.superblock.Superblock;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The allocator of one write transaction, over the space tree. Free space lives in the space tree as extents
 * (indexed by address and by size); blocks freed by a commit are recorded as pending under that commit's
 * generation and become free only once no retained superblock root or open reader can reach them.
 *
 * <p>The transaction allocates from an in-memory reserve of extents already taken out of the space tree, so
 * that changing the space tree never has to allocate from the space tree while it is being changed. At commit,
 * {@link #persist()} writes the transaction's effect into the space tree: released pending extents become free,
 * this commit's frees become pending, and the unused reserve goes back as free. Each of those changes may shadow
 * space-tree nodes, which allocates and frees again; the loop runs until nothing is left to record.
 */
public final class SpaceAllocator implements BlockAllocator {
    private static final int REFILL_TARGET_BLOCKS = 64;
    /** What recording a commit in the space tree typically needs: a few shadowed space-tree nodes. */
    private static final int PERSIST_RESERVE_BLOCKS = 8;
    private static final int REFILL_MAX_RECORDS = 16;
    /** Refills prefer free extents at least this long, so that a commit's blocks land in one run. */
    private static final int LOCALITY_BLOCKS = 16;
    private static final int PERSIST_MAX_ROUNDS = 64;
    /** Space-tree nodes one refill may shadow (two changes, each down a path of a few levels). */
    private static final int REFILL_SHADOW_SLACK_BLOCKS = 16;

    final BlockDevice device;
    final int blockSizeBytes;
    private final long generation;
    private final ReaderRegistry readers;
    BTree space;
    long highWaterBlock;
    private long freeBlocks;
    long pendingBlocks;
    /** Free extents taken out of the space tree (or past the high-water mark) and not used yet: start to count. */
    private final TreeMap<Long, Long> reserve = new TreeMap<>();
    /** Committed extents freed by this transaction, as {start, count, birth}: pending-free at this generation. */
    final List<Freed> freedCommitted = new ArrayList<>();
    /** True while the space tree is being changed: allocations then come only from the reserve or the tail. */
    boolean spaceTreeBusy;
    long blocksAllocated;
    /** What this transaction was handed and has not given back: the blocks it may write. */
    final ExtentSet allocatedNow = new ExtentSet();
    /** Largest high-water mark the image may reach (0: no limit but the host's). */
    private final long capacityBlocks;
    /** Blocks ordinary allocations leave alone, so that deletes and commits always find room. */
    private final long reservedPoolBlocks;
    /** True while allocations may use the reserved pool (deletes, commits). */
    private boolean privileged;
    /** A deliberate bug for the crash harness's self-test: freed blocks skip the superblock ring's wait. */
    private boolean reuseFreedEarly;

    public SpaceAllocator(BlockDevice device, int blockSizeBytes, long generation, ReaderRegistry readers,
                          Superblock committed) {
        this.device = device;
        this.blockSizeBytes = blockSizeBytes;
        this.generation = generation;
        this.readers = readers;
        this.highWaterBlock = committed == null ? Limits.firstDataBlock(blockSizeBytes) : committed.highWaterBlock();
        this.freeBlocks = committed == null ? 0 : committed.freeBlocks();
        this.pendingBlocks = committed == null ? 0 : committed.pendingBlocks();
        this.capacityBlocks = committed == null ? 0 : committed.capacityBlocks();
        this.reservedPoolBlocks = reservedPoolBlocks(capacityBlocks);
    }

    /** The pool kept for deletes: 1/32 of the capacity (as ZFS keeps slop space), from 64 to 32768 blocks. */
    public static long reservedPoolBlocks(long capacityBlocks) {
        return capacityBlocks == 0 ? 0 : Math.max(64, Math.min(32_768, capacityBlocks / 32));
    }

    /** Compaction: no block at or past this one is handed out (Long.MAX_VALUE: no limit). */
    private long limitBlock = Long.MAX_VALUE;

    /**
     * Compaction: from now on every allocation lies below {@code block} (or fails with
     * {@link OutOfSpaceException}), so that the blocks at and past it can empty out. Set before any allocation.
     * Recording the commit cannot grow the image then, so it starts with {@code persistReserveBlocks} and what
     * its records need in the reserve (the space tree's nodes are a fair bound).
     */
    public void limitTo(long block, long persistReserveBlocks) {
        EngineBugError.check(reserve.isEmpty() && blocksAllocated == 0, "allocation limit set after allocations");
        this.limitBlock = block;
        this.limitedPersistReserveBlocks = persistReserveBlocks;
    }

    /** Under a limit: the reserve recording the commit starts from, besides what its records need. */
    private long limitedPersistReserveBlocks;

    /**
     * Compaction: fills the reserve with at least {@code blocks} blocks below the limit (fewer when the space
     * tree has no more), so that changing the space tree itself ({@link #whileSpaceTreeBusy}) finds room.
     */
    public void fillReserve(long blocks) throws IOException {
        while (true) {
            long reserved = reserve.values().stream().mapToLong(Long::longValue).sum();
            if (reserved >= blocks || !refill(1, (int) Math.min(Integer.MAX_VALUE, blocks - reserved))) {
                return;
            }
        }
    }

    /** The work that changes the space tree: meanwhile allocations come only from the reserve (or the tail). */
    public interface SpaceTreeWork {
        void run() throws IOException;
    }

    /** Runs work that changes the space tree itself: allocations meanwhile take only the reserve or the tail. */
    public void whileSpaceTreeBusy(SpaceTreeWork work) throws IOException {
        spaceTreeBusy = true;
        try {
            work.run();
        } finally {
            spaceTreeBusy = false;
        }
    }

    /** Forces a commit even with nothing changed: compaction's commits that only release pending blocks. */
    private boolean forced;

    public void forceCommit() {
        this.forced = true;
    }

    /** Breaks deferred reuse on purpose (crash harness self-test only). */
    public void reuseFreedBlocksEarlyForTesting() {
        this.reuseFreedEarly = true;
    }

    /** Lets allocations use the reserved pool (deletes and commits) or not (everything else). */
    public void privileged(boolean value) {
        this.privileged = value;
    }

    /** Blocks in use now: neither free nor unused in this transaction's reserve (pending-free ones count). */
    public long usedBlocks() {
        long unused = 0;
        for (long count : reserve.values()) {
            unused += count;
        }
        return highWaterBlock - freeBlocks - unused;
    }

    /** Blocks ordinary allocations may still take (Long.MAX_VALUE without a capacity). */
    public long availableBlocks() {
        return capacityBlocks == 0 ? Long.MAX_VALUE : Math.max(0, capacityBlocks - reservedPoolBlocks - usedBlocks());
    }

    private void checkCapacity(int blockCount) throws OutOfSpaceException {
        if (capacityBlocks != 0 && !privileged && usedBlocks() + blockCount > capacityBlocks - reservedPoolBlocks) {
            throw new OutOfSpaceException("the image is full: " + usedBlocks() + " of " + capacityBlocks
                    + " blocks in use, " + reservedPoolBlocks + " kept for deletes; delete files or snapshots");
        }
    }

    public void attach(BTree spaceTree) {
        this.space = spaceTree;
    }

    public long highWaterBlock() {
        return highWaterBlock;
    }

    public long freeBlocks() {
        return freeBlocks;
    }

    public long pendingBlocks() {
        return pendingBlocks;
    }

    /** Blocks freed in this transaction that an earlier one wrote (born at {@code birth}): pending from this commit. */
    record Freed(long start, long count, long birth) {
    }

    /** Leaked extents a repair returns to free space when this transaction persists. */
    private final List<BlockExtent> leakedToReturn = new ArrayList<>();
    private boolean totalsRepaired;

    /**
     * Repair (the checker proved these, and nothing else, wrong): the space tree's own totals replace the
     * superblock's, and the leaked extents become free in this commit.
     */
    public void repair(List<BlockExtent> leaked, long freeTotal, long pendingTotal) {
        this.freeBlocks = freeTotal;
        this.pendingBlocks = pendingTotal;
        this.totalsRepaired = true;
        leakedToReturn.addAll(leaked);
    }

    /** Roll-back: blocks to make pending-free at this generation, and the high-water mark to raise to. */
    private java.util.BitSet rollBackProtect;
    private long rollBackHighWater;

    /**
     * Roll-back, before anything is allocated: the blocks of {@code protect} leave the free extents and the older
     * pending ones they are in (or come from past the high-water mark, which rises to {@code highWater}; blocks
     * between that are not protected become free), so that nothing this transaction writes can land on them,
     * and become pending-free at this generation when it persists.
     */
    public void protectForRollBack(java.util.BitSet protect, long highWater) throws IOException {
        EngineBugError.check(blocksAllocated == 0 && reserve.isEmpty(), "roll-back protection after allocations");
        this.rollBackProtect = (java.util.BitSet) protect.clone();
        this.rollBackHighWater = highWater;
        spaceTreeBusy = true;
        try {
            applyRollBackProtection();
        } finally {
            spaceTreeBusy = false;
        }
    }

    /** True when this transaction has allocated or freed anything. */
    public boolean hasChanges() {
        return blocksAllocated > 0 || !freedCommitted.isEmpty() || !reserve.isEmpty() || totalsRepaired
                || rollBackProtect != null || forced;
    }

    @Override
    public long allocate(int blockCount) throws IOException {
        long start = allocateExtent(blockCount);
        allocatedNow.add(start, blockCount);
        return start;
    }

    @Override
    public boolean isAllocatedNow(long blockIndex, int blockCount) {
        return allocatedNow.contains(blockIndex, blockCount);
    }

    private long allocateExtent(int blockCount) throws IOException {
        EngineBugError.check(blockCount >= 1, "allocation of %d blocks", blockCount);
        checkCapacity(blockCount);
        blocksAllocated += blockCount;
        long start = takeFromReserve(blockCount);
        if (start >= 0) {
            return start;
        }
        if (!spaceTreeBusy && space != null && refill(blockCount)) {
            start = takeFromReserve(blockCount);
            if (start >= 0) {
                return start;
            }
            // Recording the refill in the space tree took blocks from the reserve. The tail is there for that
            // otherwise; under a compaction's limit, or on an image grown to its capacity, it is not, so refill
            // again (the slack covers it, see below).
            for (int again = 0; tailClosedFor(blockCount) && again < 2 && refill(blockCount); again++) {
                start = takeFromReserve(blockCount);
                if (start >= 0) {
                    return start;
                }
            }
        }
        return growHighWater(blockCount);
    }

    /**
     * The most blocks, up to {@code wanted}, one allocation can take as a single run now: all of them while the tail
     * takes them; otherwise the longest run of the reserve, of free space (less what recording a refill may take from
     * it) or of the tail's room under the capacity, at least one block. A writer that can split its data (file
     * extents) asks first, so that fragmented free space is used rather than refused.
     */
    public int contiguousBlocks(int wanted) throws IOException {
        if (!tailClosedFor(wanted)) {
            return wanted;
        }
        long longest = 0;
        for (long count : reserve.values()) {
            longest = Math.max(longest, count);
        }
        TreeCursor cursor = space.cursor();
        if (cursor.seekFloor(SpaceKeys.freeBySize(Long.MAX_VALUE, Long.MAX_VALUE))
                && cursor.key()[0] == SpaceKeys.FREE_BY_SIZE) {
            long count = Bytes.getLongBigEndian(cursor.key(), 1);
            long start = Bytes.getLongBigEndian(cursor.key(), 9);
            longest = Math.max(longest, Math.min(count, Math.max(0, limitBlock - start)) - REFILL_SHADOW_SLACK_BLOCKS);
        }
        if (limitBlock == Long.MAX_VALUE && capacityBlocks != 0) {
            long farBlocks = Limits.farRegionEndBlock(blockSizeBytes) - Limits.farRegionFirstBlock(blockSizeBytes);
            longest = Math.max(longest, capacityBlocks - highWaterBlock - farBlocks);
        }
        return (int) Math.max(1, Math.min(wanted, longest));
    }

    /**
     * True when {@code blockCount} blocks cannot come from past the high-water mark: under a compaction's limit, or
     * when the image has grown to its capacity. Free space is then all there is, for the blocks and for recording
     * the refill that finds them.
     */
    private boolean tailClosedFor(int blockCount) {
        return limitBlock != Long.MAX_VALUE || (capacityBlocks != 0 && highWaterBlock + blockCount > capacityBlocks);
    }

    @Override
    public void free(long blockIndex, int blockCount, long birthGeneration) {
        EngineBugError.check(birthGeneration <= generation, "free of a block born in the future");
        if (birthGeneration == generation) {
            allocatedNow.remove(blockIndex, blockCount);
            if (!holdFrees) {
                addToReserve(blockIndex, blockCount); // never reachable from a durable root: reusable at once
                return;
            }
        }
        freedCommitted.add(new Freed(blockIndex, blockCount, birthGeneration));
    }

    /** True once this transaction wrote to the intent log: see {@link #holdFreesUntilCommit}. */
    private boolean holdFrees;

    /**
     * From now on, blocks this transaction wrote and then frees are not reused before it commits: they become
     * pending-free at this generation (birth equal to it) like committed blocks it frees. A durable group of the intent
     * log may name them, and a crash before the commit replays that group over the committed state, where they must
     * still hold what it names.
     */
    public void holdFreesUntilCommit() {
        this.holdFrees = true;
    }

    /**
     * Intent log replay, before anything else is allocated: {@code extents} (blocks the log names, which the commit this
     * transaction starts from has free or past its high-water mark) become allocated to this transaction
     * ({@link BlockClaims}). Nothing changes when a block is in use in that commit, or reserved: that is a
     * {@link CorruptionException}.
     */
    public void claim(List<BlockExtent> extents) throws IOException {
        EngineBugError.check(reserve.isEmpty() && freedCommitted.isEmpty(), "claim after allocations or frees");
        BlockClaims.claim(this, extents);
    }

    /** The extents sorted by address when {@link #claim} can take them all; else a {@link CorruptionException}. */
    public List<BlockExtent> checkClaimable(List<BlockExtent> extents) throws IOException {
        return BlockClaims.checkClaimable(this, extents);
    }

    private long takeFromReserve(int blockCount) {
        int looked = 0;
        for (Map.Entry<Long, Long> extent : reserve.entrySet()) {
            if (extent.getValue() >= blockCount) {
                long start = extent.getKey();
                long remaining = extent.getValue() - blockCount;
                reserve.remove(start);
                if (remaining > 0) {
                    reserve.put(start + blockCount, remaining);
                }
                return start;
            }
            if (++looked > 64) {
                break;
            }
        }
        return -1;
    }

    private void addToReserve(long start, long count) {
        Map.Entry<Long, Long> before = reserve.floorEntry(start);
        if (before != null) {
            EngineBugError.check(before.getKey() + before.getValue() <= start, "block %d freed twice", start);
            if (before.getKey() + before.getValue() == start) {
                reserve.remove(before.getKey());
                start = before.getKey();
                count += before.getValue();
            }
        }
        Map.Entry<Long, Long> after = reserve.ceilingEntry(start);
        if (after != null) {
            EngineBugError.check(start + count <= after.getKey(), "block %d freed twice", after.getKey());
            if (start + count == after.getKey()) {
                reserve.remove(after.getKey());
                count += after.getValue();
            }
        }
        reserve.put(start, count);
    }

    private long growHighWater(int blockCount) throws IOException {
        long start = highWaterBlock;
        if (start + blockCount > limitBlock) {
            throw new OutOfSpaceException("compaction found no room below block " + limitBlock + " for "
                    + blockCount + " blocks");
        }
        long farStart = Limits.farRegionFirstBlock(blockSizeBytes);
        long farEnd = Limits.farRegionEndBlock(blockSizeBytes);
        if (start < farEnd && start + blockCount > farStart) {
            if (start < farStart) {
                addToReserve(start, farStart - start);
            }
            start = farEnd;
        }
        if (start + blockCount > Limits.MAX_BLOCK_INDEX) {
            throw new OutOfSpaceException("image reached its largest size (" + Limits.MAX_BLOCK_INDEX + " blocks)");
        }
        if (start + blockCount > limitBlock) {
            throw new OutOfSpaceException("compaction found no room below block " + limitBlock + " for "
                    + blockCount + " blocks");
        }
        if (capacityBlocks != 0 && start + blockCount > capacityBlocks) {
            throw new OutOfSpaceException("the image is full: its capacity of " + capacityBlocks + " blocks is used up"
                    + " (" + usedBlocks() + " in use or waiting to be reused)");
        }
        if (!privileged && device.hostReserveGivenUp()) {
            // What the reserve gave back to the host is kept for commits and deletes, or a stream of writes
            // would take it and leave a full host where nothing can be deleted.
            throw new OutOfSpaceException("the host filesystem is full and the space kept for deletes is in use; "
                    + "delete files or snapshots, or free space on the host");
        }
        device.ensureLength((start + blockCount) * blockSizeBytes);
        highWaterBlock = start + blockCount;
        return start;
    }

    /** Moves free extents from the space tree into the reserve; false when the tree has none large enough. */
    private boolean refill(int blockCount) throws IOException {
        return refill(blockCount, REFILL_TARGET_BLOCKS);
    }

    private boolean refill(int blockCount, int targetBlocks) throws IOException {
        return refillFrom(Math.max(blockCount, LOCALITY_BLOCKS), blockCount, targetBlocks)
                || refillFrom(blockCount, blockCount, targetBlocks);
    }

    /** Moves free extents of at least {@code minimumExtent} blocks from the space tree into the reserve. */
    private boolean refillFrom(int minimumExtent, int blockCount, int targetBlocks) throws IOException {
        record Found(long start, long count, long usable) {
        }
        List<Found> taken = new ArrayList<>();
        long wanted = Math.max(blockCount, targetBlocks);
        long got = 0;
        TreeCursor cursor = space.cursor();
        boolean found = cursor.seek(SpaceKeys.freeBySize(minimumExtent, 0));
        while (found && got < wanted && taken.size() < REFILL_MAX_RECORDS) {
            byte[] key = cursor.key();
            if (key[0] != SpaceKeys.FREE_BY_SIZE) {
                break;
            }
            long count = Bytes.getLongBigEndian(key, 1);
            long start = Bytes.getLongBigEndian(key, 9);
            long usable = Math.min(count, Math.max(0, limitBlock - start)); // compaction: nothing at or past it
            if (usable >= blockCount) {
                taken.add(new Found(start, count, usable));
                got += usable;
            }
            found = cursor.next();
        }
        if (taken.isEmpty()) {
            return false;
        }
        spaceTreeBusy = true;
        try {
            long stillWanted = wanted;
            long[] takes = new long[taken.size()];
            for (int i = 0; i < takes.length; i++) {
                Found extent = taken.get(i);
                // Every extent found holds at least blockCount blocks (the size index was sought from there).
                // Where the tail cannot take them, some room besides for the space-tree nodes this refill shadows.
                long slack = tailClosedFor(blockCount) ? REFILL_SHADOW_SLACK_BLOCKS : 0;
                takes[i] = Math.min(extent.usable(), Math.max(blockCount + slack, stillWanted));
                stillWanted -= takes[i];
                addToReserve(extent.start(), takes[i]);
            }
            // Only then the records go: their removal shadows space-tree nodes, which the whole of what was taken
            // pays for (on a full image of small free extents, one extent's blocks are fewer than one path).
            for (int i = 0; i < takes.length; i++) {
                Found extent = taken.get(i);
                removeFreeRecord(extent.start(), extent.count());
                if (takes[i] < extent.count()) {
                    putFreeRecord(extent.start() + takes[i], extent.count() - takes[i]);
                }
            }
        } finally {
            spaceTreeBusy = false;
        }
        return true;
    }

    /** Refills the reserve before commit so that recording the commit rarely needs to grow the image. */
    public void prepareForPersist() throws IOException {
        if (limitBlock != Long.MAX_VALUE) {
            // Nothing may grow past the limit: what recording the commit needs must be in the reserve beforehand,
            // a leaf for about every 16 records changed (a leaf holds some 90), with room for splits up the tree.
            long records = freedCommitted.size() + leakedToReturn.size() + releasableRecords();
            fillReserve(limitedPersistReserveBlocks + records / 16 + 4L * Limits.MAX_TREE_HEIGHT);
            return;
        }
        long reserved = reserve.values().stream().mapToLong(Long::longValue).sum();
        if (reserved < PERSIST_RESERVE_BLOCKS && freeBlocks > 0) {
            refill(1, PERSIST_RESERVE_BLOCKS);
        }
    }

    /**
     * Writes this transaction's allocation state into the space tree. After it, the space tree is exactly the
     * free and pending-free state of the new generation; the caller then flushes the space tree.
     */
    public void persist() throws IOException {
        spaceTreeBusy = true;
        persisting = true;
        try {
            lowerOverFreeTail();
            releaseReusable();
            for (BlockExtent extent : leakedToReturn) {
                insertFree(extent.start(), extent.count());
            }
            leakedToReturn.clear();
            for (int round = 0; ; round++) {
                if (round > PERSIST_MAX_ROUNDS) {
                    throw new EngineBugError("space tree update did not converge");
                }
                if (!freedCommitted.isEmpty()) {
                    recordPendingFrees();
                } else if (!reserve.isEmpty()) {
                    returnReserve();
                } else {
                    break;
                }
            }
        } finally {
            spaceTreeBusy = false;
            persisting = false;
        }
    }

    /**
     * True while a commit is recorded: a free extent reaching the high-water mark then stays a free record. Blocks
     * released by this commit are free only from the next commit on, so the mark must not fall over them while
     * this commit may still grow the image from it (the next commit lowers it: {@link #lowerOverFreeTail}).
     */
    boolean persisting;

    /** Pending records a commit now would release (readers aside): what recording it may need room for. */
    private long releasableRecords() throws IOException {
        long[] records = {0};
        forEachPending(RetentionWindow.releasableUpTo(generation), (freeGeneration, start, count, pinned) ->
                records[0]++);
        return records[0];
    }

    /**
     * A free extent an earlier commit left ending at the high-water mark (see {@link #persisting}) lowers it now:
     * its blocks have been free since that commit.
     */
    private void lowerOverFreeTail() throws IOException {
        TreeCursor cursor = space.cursor();
        if (!cursor.seekFloor(SpaceKeys.freeByAddress(highWaterBlock))) {
            return;
        }
        byte[] key = cursor.key();
        if (key[0] != SpaceKeys.FREE_BY_ADDRESS) {
            return;
        }
        long start = Bytes.getLongBigEndian(key, 1);
        long count = Bytes.getLong(cursor.value(), 0);
        if (start + count != highWaterBlock) {
            return;
        }
        removeFreeRecord(start, count);
        if (highWaterBlock == start + count) {
            highWaterBlock = start;
        } else {
            putFreeRecord(start, count); // recording the removal grew the image: the extent stays free below it
        }
    }

    /**
     * Makes every protected block pending-free at this generation: each lies in a free extent, in a pending
     * extent of an earlier generation, or past the base's high-water mark; anything else would be a block the
     * base reaches or leaked, which a roll-back never protects.
     */
    private void applyRollBackProtection() throws IOException {
        java.util.BitSet protect = rollBackProtect;
        // A free extent may end at the base's mark (see persisting): merging the raised blocks into it must not
        // lower the mark and take the extent away before its protected blocks are split out below.
        persisting = true;
        try {
            raiseForRollBack(protect);
        } finally {
            persisting = false;
        }
        BlockClaims.splitProtectedOut(this, protect);
    }

    /** Roll-back: the blocks between the base's mark and the raised one; protected ones wait, the rest are free. */
    private void raiseForRollBack(java.util.BitSet protect) throws IOException {
        if (rollBackHighWater > highWaterBlock) {
            long from = highWaterBlock;
            highWaterBlock = rollBackHighWater;
            // Blocks between the old and the new mark: protected ones are made pending below, the rest are free.
            for (long block = from; block < rollBackHighWater; ) {
                if (protect.get((int) block)) {
                    long end = protect.nextClearBit((int) block);
                    end = Math.min(end, rollBackHighWater);
                    freedCommitted.add(new Freed(block, end - block, 1));
                    protect.clear((int) block, (int) end);
                    block = end;
                } else {
                    long end = Math.min(protect.nextSetBit((int) block) < 0 ? rollBackHighWater
                            : protect.nextSetBit((int) block), rollBackHighWater);
                    BlockClaims.insertFreeRuns(this, block, end);
                    block = end;
                }
            }
        }
    }

    /** Pending extents freed at least a ring's length of commits ago, and pinned by no reader, become free. */
    private void releaseReusable() throws IOException {
        long lastReusableFreeGeneration = reuseFreedEarly ? generation - 1
                : RetentionWindow.releasableUpTo(generation);
        if (lastReusableFreeGeneration < 1) {
            return;
        }
        record Releasable(long freeGeneration, long start, long count) {
        }
        List<Releasable> releasable = new ArrayList<>();
        forEachPending(lastReusableFreeGeneration, (freeGeneration, start, count, pinned) -> {
            if (!pinned) {
                releasable.add(new Releasable(freeGeneration, start, count));
            }
        });
        // Free from the next commit on, not in this one: until this commit's superblock lands, the ring still
        // holds the generation these blocks were last reachable from.
        for (Releasable record : releasable) {
            space.delete(SpaceKeys.pending(record.freeGeneration(), record.start()));
            pendingBlocks -= record.count();
            insertFree(record.start(), record.count());
        }
    }

    /**
     * Blocks that commits alone will make reusable: this transaction's frees (pending from its commit on), and
     * pending extents freed at or before generation {@code freedAtOrBefore} that no open reader pins: what
     * {@link #releaseReusable} releases once the ring has passed them.
     */
    public long blocksAwaitingRing(long freedAtOrBefore) throws IOException {
        long[] blocks = {0};
        for (Freed extent : freedCommitted) {
            blocks[0] += extent.count();
        }
        forEachPending(freedAtOrBefore, (freeGeneration, start, count, pinned) -> blocks[0] += pinned ? 0 : count);
        return blocks[0];
    }

    /** Pending blocks open readers keep from reuse: no number of commits releases them while the readers last. */
    public long blocksPinnedByReaders() throws IOException {
        long[] blocks = {0};
        forEachPending(Long.MAX_VALUE, (freeGeneration, start, count, pinned) -> blocks[0] += pinned ? count : 0);
        return blocks[0];
    }

    private void forEachPending(long freedAtOrBefore, PendingFrees.Visitor visitor) throws IOException {
        PendingFrees.forEach(space, readers, freedAtOrBefore, visitor);
    }

    private void recordPendingFrees() throws IOException {
        List<Freed> batch = new ArrayList<>(freedCommitted);
        freedCommitted.clear();
        batch.sort((a, b) -> Long.compare(a.start(), b.start()));
        List<Freed> merged = new ArrayList<>();
        for (Freed extent : batch) {
            Freed last = merged.isEmpty() ? null : merged.get(merged.size() - 1);
            if (last != null && last.start() + last.count() == extent.start() && last.birth() == extent.birth()) {
                merged.set(merged.size() - 1, new Freed(last.start(), last.count() + extent.count(), last.birth()));
            } else {
                merged.add(extent);
            }
        }
        for (Freed extent : merged) {
            byte[] value = new byte[SpaceKeys.PENDING_VALUE_BYTES];
            Bytes.putLong(value, 0, extent.count());
            Bytes.putLong(value, 8, extent.birth());
            EngineBugError.check(space.get(SpaceKeys.pending(generation, extent.start())) == null,
                    "block %d freed twice in generation %d", extent.start(), generation);
            space.put(SpaceKeys.pending(generation, extent.start()), value);
            pendingBlocks += extent.count();
        }
    }

    /** Returns unused reserve to the space tree, highest extent first; what recording it needs comes from the rest. */
    private void returnReserve() throws IOException {
        while (!reserve.isEmpty()) {
            Map.Entry<Long, Long> extent = reserve.pollLastEntry();
            insertFree(extent.getKey(), extent.getValue());
        }
    }

    /** Adds a free extent, merging with free neighbours; an extent reaching the high-water mark lowers it instead. */
    void insertFree(long start, long count) throws IOException {
        long end = start + count;
        byte[] beforeValue = null;
        TreeCursor cursor = space.cursor();
        if (cursor.seekFloor(SpaceKeys.freeByAddress(start))) {
            byte[] key = cursor.key();
            if (key[0] == SpaceKeys.FREE_BY_ADDRESS) {
                long beforeStart = Bytes.getLongBigEndian(key, 1);
                beforeValue = cursor.value();
                long beforeCount = Bytes.getLong(beforeValue, 0);
                checkNoOverlap(beforeStart, beforeStart + beforeCount, start, end);
                if (beforeStart + beforeCount == start) {
                    removeFreeRecord(beforeStart, beforeCount);
                    start = beforeStart;
                    count += beforeCount;
                }
            }
        }
        byte[] afterValue = space.get(SpaceKeys.freeByAddress(end));
        if (afterValue != null) {
            long afterCount = Bytes.getLong(afterValue, 0);
            removeFreeRecord(end, afterCount);
            count += afterCount;
        }
        if (start + count == highWaterBlock && !persisting) {
            highWaterBlock = start;
            return;
        }
        putFreeRecord(start, count);
    }

    private static void checkNoOverlap(long aStart, long aEnd, long bStart, long bEnd) throws CorruptionException {
        if (aStart < bEnd && bStart < aEnd) {
            throw new CorruptionException(bStart, "freeing blocks " + bStart + ".." + bEnd
                    + " that the space tree already lists free (" + aStart + ".." + aEnd + ")");
        }
    }

    void putFreeRecord(long start, long count) throws IOException {
        byte[] value = new byte[SpaceKeys.FREE_VALUE_BYTES];
        Bytes.putLong(value, 0, count);
        space.put(SpaceKeys.freeByAddress(start), value);
        space.put(SpaceKeys.freeBySize(count, start), new byte[0]);
        freeBlocks += count;
    }

    void removeFreeRecord(long start, long count) throws IOException {
        boolean byAddress = space.delete(SpaceKeys.freeByAddress(start));
        boolean bySize = space.delete(SpaceKeys.freeBySize(count, start));
        EngineBugError.check(byAddress && bySize, "free extent %d+%d missing from an index", start, count);
        freeBlocks -= count;
    }
}
