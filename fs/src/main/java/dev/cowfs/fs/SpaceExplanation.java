package dev.cowfs.fs;

import dev.cowfs.engine.SpacePins;

import java.util.List;

/**
 * What holds the space of a filesystem, exact for commit {@code generation}: each subvolume and snapshot with
 * the bytes only it holds (deleting it would free them) and the bytes it shares; freed bytes that cannot be
 * reused yet (waiting for the superblock ring to pass them, or kept for open readers); and whether deleted
 * subvolumes are still being released.
 */
public record SpaceExplanation(long generation, List<Holder> holders, long pendingBytes, long ringBytes,
                               java.util.Map<Long, Long> readerBytes, boolean releasing) {
    /** A subvolume or snapshot and its space. */
    public record Holder(SubvolumeInfo subvolume, SpaceUsage usage) {
    }

    static SpaceExplanation of(List<Holder> holders, SpacePins pins, int blockSize, boolean releasing) {
        java.util.Map<Long, Long> readers = new java.util.TreeMap<>();
        pins.readerBlocks().forEach((generation, blocks) -> readers.put(generation, blocks * blockSize));
        return new SpaceExplanation(pins.generation(), List.copyOf(holders), pins.pendingBlocks() * blockSize,
                pins.ringBlocks() * blockSize, readers, releasing);
    }
}
