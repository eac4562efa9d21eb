package dev.cowfs.engine.check;

import java.util.BitSet;
import java.util.List;

/**
 * What the checker found. {@code protectedBlocks} are the blocks that some retained root (newest superblock,
 * older ring superblocks, open readers) can reach: no write may touch them.
 */
public record CheckReport(long generation, long highWaterBlock, long reachableBlocks, long freeBlocks,
                          long pendingBlocks, long reservedBlocks, List<String> problems, BitSet protectedBlocks) {
    public boolean isClean() {
        return problems.isEmpty();
    }

    public String summary() {
        return "generation " + generation + ": " + reachableBlocks + " reachable, " + freeBlocks + " free, "
                + pendingBlocks + " pending-free, " + reservedBlocks + " reserved of " + highWaterBlock + " blocks; "
                + (problems.isEmpty() ? "clean" : problems.size() + " problem(s): " + String.join("; ",
                problems.subList(0, Math.min(problems.size(), 10))));
    }
}
