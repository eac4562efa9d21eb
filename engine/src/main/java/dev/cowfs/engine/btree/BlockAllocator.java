package dev.cowfs.engine.btree;

import java.io.IOException;

/** Hands out block extents to a transaction and takes back the ones it stops using. */
public interface BlockAllocator {
    /** Returns the first block of {@code blockCount} contiguous blocks that no durable root can reach. */
    long allocate(int blockCount) throws IOException;

    /**
     * Returns an extent that the transaction no longer references. One born in this transaction's generation
     * is reusable at once; an older one becomes pending-free and is reused only when no retained root can reach it.
     */
    void free(long blockIndex, int blockCount, long birthGeneration) throws IOException;

    /**
     * Whether every block of the extent was handed to this transaction and not given back: the only blocks it may
     * write (DESIGN.md invariant 1; checked at every write, {@link TreeContext#writeBlocks}).
     */
    boolean isAllocatedNow(long blockIndex, int blockCount);
}
