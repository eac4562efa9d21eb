package dev.cowfs.engine.space;

import dev.cowfs.engine.format.BlockExtent;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

/** Runs of consecutive blocks in a bit set of block indexes. */
final class BlockRuns {
    private BlockRuns() {
    }

    /** The runs of [start, end) whose blocks are ({@code set}) or are not in {@code bits}. */
    static List<BlockExtent> of(BitSet bits, long start, long end, boolean set) {
        List<BlockExtent> runs = new ArrayList<>();
        long block = start;
        while (block < end) {
            long next = set ? bits.nextSetBit((int) block) : bits.nextClearBit((int) block);
            if (next < 0 || next >= end) {
                break;
            }
            long stop = set ? bits.nextClearBit((int) next) : bits.nextSetBit((int) next);
            if (stop < 0 || stop > end) {
                stop = end;
            }
            runs.add(new BlockExtent(next, stop - next));
            block = stop;
        }
        return runs;
    }
}
