package dev.cowfs.fs;

/**
 * Space figures of a filesystem as of now (the open transaction and data buffered for writing included), in blocks
 * of {@code blockSize}.
 *
 * @param totalBlocks     the capacity the image was made with, or for an image that grows as needed, the blocks it
 *                        spans plus what its host filesystem can still give it ({@code growing})
 * @param usedBlocks      blocks in use: data, metadata, and blocks freed but not reusable yet
 * @param freeBlocks      {@code totalBlocks - usedBlocks}
 * @param availableBlocks what ordinary writes may still take: free blocks less the pool kept so that deletes work
 *                        on a full image
 * @param waitingBlocks   of the used blocks, those freed by commits and waiting to become reusable (for the
 *                        superblock ring to pass them, or for open readers to end)
 * @param files           inode numbers handed out
 * @param generation      the last committed generation
 */
public record FsStat(int blockSize, long totalBlocks, long usedBlocks, long freeBlocks, long availableBlocks,
                     long waitingBlocks, boolean growing, long files, long generation) {
}
