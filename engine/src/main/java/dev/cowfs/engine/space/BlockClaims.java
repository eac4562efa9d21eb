package dev.cowfs.engine.space;

import dev.cowfs.engine.btree.TreeCursor;
import dev.cowfs.engine.error.CorruptionException;
import dev.cowfs.engine.error.EngineBugError;
import dev.cowfs.engine.format.BlockExtent;
import dev.cowfs.engine.format.Bytes;
import dev.cowfs.engine.format.Limits;
import dev.cowfs.engine.format.SpaceKeys;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Blocks the allocator takes out of free space on purpose, before a transaction allocates anything, so that nothing
 * it writes lands on them: a roll-back's protected blocks (they wait, pending-free, from its commit on:
 * {@link SpaceAllocator#protectForRollBack}) and the blocks an intent log names when it is replayed (free in the
 * commit it extends or past that commit's high-water mark; they become the transaction's: {@link
 * SpaceAllocator#claim}).
 */
final class BlockClaims {
    private BlockClaims() {
    }

    /** Roll-back: protected blocks leave the free and older pending extents they lie in, and wait from now. */
    static void splitProtectedOut(SpaceAllocator a, java.util.BitSet protect) throws IOException {
        // Protected blocks inside free extents: the extent is split around them.
        List<BlockExtent> frees = new ArrayList<>();
        TreeCursor cursor = a.space.cursor();
        for (boolean found = cursor.seek(new byte[] {SpaceKeys.FREE_BY_ADDRESS}); found; found = cursor.next()) {
            byte[] key = cursor.key();
            if (key[0] != SpaceKeys.FREE_BY_ADDRESS) {
                break;
            }
            long start = Bytes.getLongBigEndian(key, 1);
            long count = Bytes.getLong(cursor.value(), 0);
            int hit = protect.nextSetBit((int) start);
            if (hit >= 0 && hit < start + count) {
                frees.add(new BlockExtent(start, count));
            }
        }
        for (BlockExtent extent : frees) {
            a.removeFreeRecord(extent.start(), extent.count());
            for (BlockExtent run : BlockRuns.of(protect, extent.start(), extent.end(), false)) {
                a.putFreeRecord(run.start(), run.count());
            }
            for (BlockExtent run : BlockRuns.of(protect, extent.start(), extent.end(), true)) {
                a.freedCommitted.add(new SpaceAllocator.Freed(run.start(), run.count(), 1));
                protect.clear((int) run.start(), (int) run.end());
            }
        }
        // Protected blocks inside pending extents of earlier generations: they wait again, from this one.
        record Pending(long freeGeneration, long start, long count, long birth) {
        }
        List<Pending> pendings = new ArrayList<>();
        cursor = a.space.cursor();
        for (boolean found = cursor.seek(new byte[] {SpaceKeys.PENDING}); found; found = cursor.next()) {
            byte[] key = cursor.key();
            if (key[0] != SpaceKeys.PENDING || key.length != SpaceKeys.PENDING_KEY_BYTES) {
                break;
            }
            long start = Bytes.getLongBigEndian(key, 9);
            long count = Bytes.getLong(cursor.value(), 0);
            int hit = protect.nextSetBit((int) start);
            if (hit >= 0 && hit < start + count) {
                pendings.add(new Pending(Bytes.getLongBigEndian(key, 1), start, count,
                        Bytes.getLong(cursor.value(), 8)));
            }
        }
        for (Pending pending : pendings) {
            a.space.delete(SpaceKeys.pending(pending.freeGeneration(), pending.start()));
            a.pendingBlocks -= pending.count();
            long end = pending.start() + pending.count();
            for (BlockExtent run : BlockRuns.of(protect, pending.start(), end, false)) {
                byte[] value = new byte[SpaceKeys.PENDING_VALUE_BYTES];
                Bytes.putLong(value, 0, run.count());
                Bytes.putLong(value, 8, pending.birth());
                a.space.put(SpaceKeys.pending(pending.freeGeneration(), run.start()), value);
                a.pendingBlocks += run.count();
            }
            for (BlockExtent run : BlockRuns.of(protect, pending.start(), end, true)) {
                a.freedCommitted.add(new SpaceAllocator.Freed(run.start(), run.count(), 1));
                protect.clear((int) run.start(), (int) run.end());
            }
        }
        EngineBugError.check(protect.isEmpty(), "roll-back: blocks " + protect + " are neither free, pending nor "
                + "past the high-water mark of the generation rolled back to");
    }

    /**
     * The claimed extents become allocated to the transaction, as if it had allocated them; blocks between the old and
     * a raised high-water mark that are not claimed become free.
     */
    static void claim(SpaceAllocator a, List<BlockExtent> extents) throws IOException {
        List<BlockExtent> sorted = checkClaimable(a, extents);
        long mark = a.highWaterBlock;
        long newMark = mark;
        for (BlockExtent extent : sorted) {
            newMark = Math.max(newMark, extent.end());
        }
        a.spaceTreeBusy = true;
        a.persisting = true; // a free extent reaching the mark must not lower it under blocks claimed past it
        try {
            if (newMark > mark) {
                // The mark goes up first, so that space-tree nodes the changes below shadow land past every claimed
                // block; the blocks passed over that are not claimed (or reserved) become free.
                a.device.ensureLength(newMark * a.blockSizeBytes);
                a.highWaterBlock = newMark;
                long at = mark;
                for (BlockExtent extent : sorted) {
                    if (extent.end() > mark) {
                        insertFreeRuns(a, at, Math.max(at, extent.start()));
                        at = Math.max(at, extent.end());
                    }
                }
                insertFreeRuns(a, at, newMark);
            }
            for (BlockExtent extent : sorted) {
                if (extent.start() < mark) {
                    takeOutOfFree(a, new BlockExtent(extent.start(), Math.min(extent.end(), mark) - extent.start()));
                }
                a.allocatedNow.add(extent.start(), (int) extent.count());
                a.blocksAllocated += extent.count();
            }
        } finally {
            a.spaceTreeBusy = false;
            a.persisting = false;
        }
    }

    /** The blocks in [from, to) outside reserved regions become free. */
    static void insertFreeRuns(SpaceAllocator a, long from, long to) throws IOException {
        for (long at = from; at < to; ) {
            if (Limits.isReservedBlock(at, a.blockSizeBytes)) {
                at++;
                continue;
            }
            long runEnd = at;
            while (runEnd < to && !Limits.isReservedBlock(runEnd, a.blockSizeBytes)) {
                runEnd++;
            }
            a.insertFree(at, runEnd - at);
            at = runEnd;
        }
    }

    /**
     * The extents sorted by address, when {@link #claim} can take them all: each lies in free space or past the
     * high-water mark, in no reserved region, none twice; else a {@link CorruptionException} saying which does not.
     */
    static List<BlockExtent> checkClaimable(SpaceAllocator a, List<BlockExtent> extents) throws IOException {
        List<BlockExtent> sorted = new ArrayList<>(extents);
        sorted.sort(java.util.Comparator.comparingLong(BlockExtent::start));
        for (int i = 0; i < sorted.size(); i++) {
            BlockExtent extent = sorted.get(i);
            if (extent.count() < 1 || extent.start() < 0 || extent.end() > Limits.MAX_BLOCK_INDEX
                    || (i > 0 && sorted.get(i - 1).end() > extent.start())) {
                throw new CorruptionException(extent.start(), "the intent log names blocks " + extent.start() + ".."
                        + extent.end() + " twice or out of range");
            }
            for (long block = extent.start(); block < extent.end(); block++) {
                if (Limits.isReservedBlock(block, a.blockSizeBytes)) {
                    throw new CorruptionException(block, "the intent log names block " + block
                            + ", which lies in a reserved region");
                }
            }
            // The part below the mark must lie in one free extent (free extents never touch); the part past it is
            // the tail (an allocation may have run from a free extent ending at the mark on into the tail).
            if (extent.start() < a.highWaterBlock
                    && !isFree(a, new BlockExtent(extent.start(), Math.min(extent.end(), a.highWaterBlock) - extent.start()))) {
                throw new CorruptionException(extent.start(), "the intent log names blocks " + extent.start() + ".."
                        + extent.end() + ", which the commit it extends does not have free");
            }
        }
        return sorted;
    }

    /** Whether the extent lies inside one free extent of the space tree. */
    private static boolean isFree(SpaceAllocator a, BlockExtent extent) throws IOException {
        TreeCursor cursor = a.space.cursor();
        if (!cursor.seekFloor(SpaceKeys.freeByAddress(extent.start())) || cursor.key()[0] != SpaceKeys.FREE_BY_ADDRESS) {
            return false;
        }
        long start = Bytes.getLongBigEndian(cursor.key(), 1);
        long count = Bytes.getLong(cursor.value(), 0);
        return start <= extent.start() && extent.end() <= start + count;
    }

    /** Splits the free extent holding {@code extent} around it. */
    private static void takeOutOfFree(SpaceAllocator a, BlockExtent extent) throws IOException {
        TreeCursor cursor = a.space.cursor();
        EngineBugError.check(cursor.seekFloor(SpaceKeys.freeByAddress(extent.start())), "claimed blocks not free");
        long start = Bytes.getLongBigEndian(cursor.key(), 1);
        long count = Bytes.getLong(cursor.value(), 0);
        a.removeFreeRecord(start, count);
        if (start < extent.start()) {
            a.putFreeRecord(start, extent.start() - start);
        }
        if (extent.end() < start + count) {
            a.putFreeRecord(extent.end(), start + count - extent.end());
        }
    }
}
