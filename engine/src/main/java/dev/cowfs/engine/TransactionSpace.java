package dev.cowfs.engine;

import dev.cowfs.engine.device.BlockDevice;
import dev.cowfs.engine.space.SpaceAllocator;

import java.io.IOException;

/**
 * A write transaction's view of the image's space, as of that transaction: its own allocations and frees count at
 * once. From {@link WriteTransaction#space()}; valid while the transaction is open.
 */
public final class TransactionSpace {
    /** Refuses a query once the transaction has ended or broken. */
    interface UsableCheck {
        void check() throws IOException;
    }

    private final SpaceAllocator allocator;
    private final BlockDevice device;
    private final UsableCheck usable;

    TransactionSpace(SpaceAllocator allocator, BlockDevice device, UsableCheck usable) {
        this.allocator = allocator;
        this.device = device;
        this.usable = usable;
    }

    /**
     * Lets the transaction's following operations use the reserved pool of a capacity-bounded image (true for
     * deletes, which must succeed on a full image), or not (false, the default: ordinary writes stop while the pool
     * is left).
     */
    public void useReservedSpace(boolean value) {
        allocator.privileged(value);
        device.allowHostReserve(value);
    }

    /** Blocks ordinary writes may still take before the image is full (Long.MAX_VALUE without a capacity). */
    public long availableBlocks() {
        return allocator.availableBlocks();
    }

    /** Blocks in use: this transaction's allocations and blocks waiting for reuse included. */
    public long usedBlocks() {
        return allocator.usedBlocks();
    }

    /** The block past the last one in use: the image spans the blocks below it. */
    public long highWaterBlock() {
        return allocator.highWaterBlock();
    }

    /**
     * How many blocks, up to {@code wanted}, one data extent can take as a single run now (at least one): where free
     * space is fragmented and the image cannot grow, data split into extents of this size still fits.
     */
    public int contiguousBlocks(int wanted) throws IOException {
        usable.check();
        return allocator.contiguousBlocks(wanted);
    }

    /**
     * Blocks that commits alone will make reusable (deferred reuse, DESIGN.md invariant 4): those this transaction
     * freed, and those freed by commits up to generation {@code freedAtOrBefore} that no open reader pins, so that
     * only the superblock ring keeps them. Open readers' blocks are left out: commits cannot release them.
     */
    public long blocksAwaitingReuse(long freedAtOrBefore) throws IOException {
        usable.check();
        return allocator.blocksAwaitingRing(freedAtOrBefore);
    }

    /** Blocks freed by commits that open readers keep from reuse until they end. */
    public long blocksPinnedByReaders() throws IOException {
        usable.check();
        return allocator.blocksPinnedByReaders();
    }
}
