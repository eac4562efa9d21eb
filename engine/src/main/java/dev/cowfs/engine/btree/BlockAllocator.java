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
}
