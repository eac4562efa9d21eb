package dev.cowfs.engine;

/** What a tree, or a key range of one, holds: blocks it references and blocks only it holds (freed with it alone). */
public record SpaceUse(long referencedBlocks, long exclusiveBlocks) {
    /** Blocks it shares with other trees (snapshots, clones). */
    public long sharedBlocks() {
        return referencedBlocks - exclusiveBlocks;
    }
}
