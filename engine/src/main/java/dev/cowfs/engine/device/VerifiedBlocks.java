package dev.cowfs.engine.device;

import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Which blocks have been verified since they were last written: as a node (its CRC32C and structure, by
 * {@code NodeReader.read}) or as the first block of an extent (the checksum of its bytes and the zero padding
 * after them). The two are kept apart, so that a block verified as one is never taken as verified as the other
 * where a damaged image references it both ways. Committed blocks never change, so a block verified once stays
 * verified until the writer writes it again (it clears both bits first). Pages of bits are allocated on first
 * use, so the memory follows the blocks read, not the image size.
 */
public final class VerifiedBlocks {
    private final Bits nodes = new Bits();
    private final Bits extents = new Bits();

    /** Whether the block was verified as a node. */
    public boolean isVerified(long blockIndex) {
        return nodes.isSet(blockIndex);
    }

    public void markVerified(long blockIndex) {
        nodes.set(blockIndex);
    }

    /** Whether the extent starting at this block was verified whole (checksum and padding). */
    public boolean isExtentVerified(long blockIndex) {
        return extents.isSet(blockIndex);
    }

    public void markExtentVerified(long blockIndex) {
        extents.set(blockIndex);
    }

    /** The writer is about to write these blocks: neither kind of verification holds for them any longer. */
    public void forget(long blockIndex, int blockCount) {
        nodes.clear(blockIndex, blockCount);
        extents.clear(blockIndex, blockCount);
    }

    /** One bit a block, in lazily allocated pages. */
    private static final class Bits {
        private static final int PAGE_SHIFT = 16; // 65536 blocks a page: 8 KiB of bits
        private static final int PAGE_BLOCKS = 1 << PAGE_SHIFT;
        private static final int DIRECTORY_SHIFT = 12; // 4096 pages a directory, 4096 directories: 2^40 blocks

        private final AtomicReferenceArray<AtomicReferenceArray<AtomicLongArray>> directories =
                new AtomicReferenceArray<>(1 << DIRECTORY_SHIFT);

        boolean isSet(long blockIndex) {
            AtomicLongArray page = existingPage(blockIndex);
            if (page == null) {
                return false;
            }
            int bit = (int) (blockIndex & (PAGE_BLOCKS - 1));
            return (page.get(bit >>> 6) & (1L << bit)) != 0;
        }

        void set(long blockIndex) {
            AtomicLongArray page = page(blockIndex);
            int bit = (int) (blockIndex & (PAGE_BLOCKS - 1));
            page.getAndUpdate(bit >>> 6, word -> word | (1L << bit));
        }

        void clear(long blockIndex, int blockCount) {
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
}
