package dev.cowfs.engine.space;

import dev.cowfs.engine.format.Limits;

/**
 * The reuse rule (DESIGN invariant 4), written once: a block born at generation B and freed at generation F may be
 * reused once no retained superblock root and no open reader has a generation in [B, F).
 *
 * <p>The superblock ring retains the newest {@link Limits#SUPERBLOCK_RING_SLOTS} generations (the far copy holds
 * one of them), so a block freed at F is out of the ring's reach once generation F - 1 has left it: the commit of
 * generation F + SUPERBLOCK_RING_SLOTS - 1 releases it, and it is reusable from the commit after (until that
 * commit's superblock lands, the ring still holds the generation the block was last reachable from). Open readers
 * hold one generation each and pin exactly the blocks that generation reaches. The allocator
 * ({@link SpaceAllocator}), the store's account of what pins space and the strict-mode audit's retained roots all
 * ask this class.
 */
public final class RetentionWindow {
    private RetentionWindow() {
    }

    /** Whether the ring, whose newest generation is {@code newest}, still retains {@code generation}. */
    public static boolean ringRetains(long newest, long generation) {
        return generation <= newest && generation > newest - Limits.SUPERBLOCK_RING_SLOTS;
    }

    /**
     * The newest free generation whose pending extents the commit of generation {@code committing} may release:
     * every generation that could reach them is then out of the ring.
     */
    public static long releasableUpTo(long committing) {
        return committing + 1 - Limits.SUPERBLOCK_RING_SLOTS;
    }

    /** Whether a reader holding generation {@code held} can reach a block born at {@code birth}, freed at {@code freed}. */
    public static boolean readerReaches(long held, long birth, long freed) {
        return held >= birth && held < freed;
    }
}
