package dev.cowfs.engine.check;

import java.util.BitSet;
import java.util.List;

/**
 * What the checker found. {@code protectedBlocks} are the blocks that some retained root (newest superblock,
 * older ring superblocks, open readers) can reach: no write may touch them. {@code leakedBlocks} are the
 * blocks below the high-water mark that are neither reachable, free, pending-free nor reserved;
 * {@code countsWrong} says the superblock's free and pending totals disagree with the space tree (whose totals
 * {@code freeBlocks} and {@code pendingBlocks} are); {@code otherProblems} counts every problem besides these
 * two kinds, which only a repair that guesses could touch.
 */
public record CheckReport(long generation, long highWaterBlock, long reachableBlocks, long freeBlocks,
                          long pendingBlocks, long reservedBlocks, List<String> problems, BitSet protectedBlocks,
                          BitSet leakedBlocks, boolean countsWrong, long otherProblems) {
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
