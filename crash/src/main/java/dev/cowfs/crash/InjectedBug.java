package dev.cowfs.crash;

import dev.cowfs.engine.StoreOptions;

/**
 * Deliberate bugs for the harness's self-test: an engine broken on purpose must be caught. Each lives outside the
 * engine's commit path: in a device wrapper, or in the allocator's one test switch.
 */
public enum InjectedBug {
    NONE,
    /** The barrier between a commit's blocks and its superblock is dropped ({@link BarrierDroppingDevice}). */
    NO_BARRIER_BEFORE_SUPERBLOCK,
    /** Freed blocks are reused from the next commit on, while older ring roots still reach them. */
    REUSE_FREED_BLOCKS_EARLY,
    /**
     * On the real device path ({@link CrashHarness.Config#withRealDevice}): the file device's fdatasync never reaches
     * the file, as if {@code MappedFileDevice.barrier} had lost it (the recording layer beneath drops each force).
     */
    FILE_DEVICE_LOSES_FDATASYNC;

    /** The store options with this bug in them. */
    StoreOptions.Builder applyTo(StoreOptions.Builder options) {
        return switch (this) {
            case NONE -> options;
            case NO_BARRIER_BEFORE_SUPERBLOCK -> options.deviceWrapper(BarrierDroppingDevice::new);
            case REUSE_FREED_BLOCKS_EARLY -> options.reuseFreedBlocksEarlyForTesting(true);
            case FILE_DEVICE_LOSES_FDATASYNC -> options; // beneath the file device: see WorkloadRun.RealImage
        };
    }
}
