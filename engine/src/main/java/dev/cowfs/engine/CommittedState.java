package dev.cowfs.engine;

import dev.cowfs.engine.format.BlockRef;
import dev.cowfs.engine.superblock.Superblock;

/** A durable commit as readers see it: its superblock, that superblock's checksum, the default tree's root. */
record CommittedState(Superblock superblock, int superblockChecksum, BlockRef defaultTreeRoot) {
    long generation() {
        return superblock.generation();
    }
}
