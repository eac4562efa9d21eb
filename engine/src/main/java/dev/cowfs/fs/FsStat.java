package dev.cowfs.fs;

/** Space figures of a filesystem for one committed-or-open generation, in blocks of {@code blockSize}. */
public record FsStat(int blockSize, long totalBlocks, long freeBlocks, long usedBlocks, long files,
                     long generation) {
}
