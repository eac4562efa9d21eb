package dev.cowfs.engine;

import java.util.Map;

/**
 * Why freed blocks are not reusable yet, as of commit {@code generation}: {@code ringBlocks} wait for the
 * superblock ring to pass them (at most four commits), and {@code readerBlocks} are kept for open read
 * transactions, by the oldest reader generation that can still reach them.
 */
public record SpacePins(long generation, long pendingBlocks, long ringBlocks, Map<Long, Long> readerBlocks) {
}
