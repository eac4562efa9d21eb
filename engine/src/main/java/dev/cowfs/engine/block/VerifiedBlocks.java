package dev.cowfs.engine.block;

import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Which blocks have had their checksum and structure verified since open. Committed blocks never change, so a
 * block verified once stays verified until the writer writes it again (it clears the bit first). Pages of bits
 * are allocated on first use, so the memory follows the blocks read, not the image size.
 */
public final class VerifiedBlocks {
    private static final int PAGE_SHIFT = 16; // 65536 blocks a page: 8 KiB of bits
    private static final int PAGE_BLOCKS = 1 << PAGE_SHIFT;
    private static final int DIRECTORY_SHIFT = 12; // 4096 pages a directory, 4096 directories: 2^40 blocks

    private final AtomicReferenceArray<AtomicReferenceArray<AtomicLongArray>> directories =
            new AtomicReferenceArray<>(1 << DIRECTORY_SHIFT);

    public boolean isVerified(long blockIndex) {
        AtomicLongArray page = existingPage(blockIndex);
        if (page == null) {
            return false;
        }
        int bit = (int) (blockIndex & (PAGE_BLOCKS - 1));
        return (page.get(bit >>> 6) & (1L << bit)) != 0;
    }

    public void markVerified(long blockIndex) {
        AtomicLongArray page = page(blockIndex);
        int bit = (int) (blockIndex & (PAGE_BLOCKS - 1));
        page.getAndUpdate(bit >>> 6, word -> word | (1L << bit));
    }

    public void forget(long blockIndex, int blockCount) {
        for (long block = blockIndex; block < blockIndex + blockCount; block++) {
            AtomicLongArray page = existingPage(block);
            if (page != null) {
                int bit = (int) (block & (PAGE_BLOCKS - 1));
                page.getAndUpdate(bit >>> 6, word -> word & ~(1L << bit));
            }
        }
    }

    private AtomicLongArray existingPage(long blockIndex) {
        long pageNumber = blockIndex >>> PAGE_SHIFT;
        AtomicReferenceArray<AtomicLongArray> directory = directories.get((int) (pageNumber >>> DIRECTORY_SHIFT));
        return directory == null ? null : directory.get((int) (pageNumber & ((1 << DIRECTORY_SHIFT) - 1)));
    }

    private AtomicLongArray page(long blockIndex) {
        long pageNumber = blockIndex >>> PAGE_SHIFT;
        int directoryIndex = (int) (pageNumber >>> DIRECTORY_SHIFT);
        AtomicReferenceArray<AtomicLongArray> directory = directories.get(directoryIndex);
        if (directory == null) {
            directories.compareAndSet(directoryIndex, null, new AtomicReferenceArray<>(1 << DIRECTORY_SHIFT));
            directory = directories.get(directoryIndex);
        }
        int pageIndex = (int) (pageNumber & ((1 << DIRECTORY_SHIFT) - 1));
        AtomicLongArray page = directory.get(pageIndex);
        if (page == null) {
            directory.compareAndSet(pageIndex, null, new AtomicLongArray(PAGE_BLOCKS / 64));
            page = directory.get(pageIndex);
        }
        return page;
    }
}
