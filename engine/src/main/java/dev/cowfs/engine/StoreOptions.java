package dev.cowfs.engine;

import dev.cowfs.engine.device.BlockDevice;
import dev.cowfs.engine.format.Limits;

import java.util.UUID;
import java.util.function.LongSupplier;
import java.util.function.UnaryOperator;

/** How to open or create a store. Immutable; made with {@link #builder()}. */
public final class StoreOptions {
    private final int blockSizeBytes;
    private final boolean readOnly;
    private final long openGeneration;
    private final boolean acceptOlderGeneration;
    private final long mappingChunkBytes;
    private final long growthStepBytes;
    private final long dirtyCacheBytes;
    private final boolean checkAfterCommit;
    private final long dropReferencesPerCommit;
    private final boolean intentLog;
    private final long capacityBytes;
    private final long hostReserveBytes;
    private final UUID imageUuid;
    private final LongSupplier clockMillis;
    private final UnaryOperator<BlockDevice> deviceWrapper;
    private final boolean reuseFreedBlocksEarly;

    private StoreOptions(Builder builder) {
        this.blockSizeBytes = builder.blockSizeBytes;
        this.readOnly = builder.readOnly;
        this.openGeneration = builder.openGeneration;
        this.acceptOlderGeneration = builder.acceptOlderGeneration;
        this.mappingChunkBytes = builder.mappingChunkBytes;
        this.growthStepBytes = builder.growthStepBytes;
        this.dirtyCacheBytes = builder.dirtyCacheBytes;
        this.checkAfterCommit = builder.checkAfterCommit;
        this.dropReferencesPerCommit = builder.dropReferencesPerCommit;
        this.intentLog = builder.intentLog;
        this.capacityBytes = builder.capacityBytes;
        this.hostReserveBytes = builder.hostReserveBytes;
        this.imageUuid = builder.imageUuid;
        this.clockMillis = builder.clockMillis;
        this.deviceWrapper = builder.deviceWrapper;
        this.reuseFreedBlocksEarly = builder.reuseFreedBlocksEarly;
    }

    public static Builder builder() {
        return new Builder();
    }

    public static StoreOptions defaults() {
        return builder().build();
    }

    public int blockSizeBytes() {
        return blockSizeBytes;
    }

    public boolean readOnly() {
        return readOnly;
    }

    /** The retained generation to open (read-only), or 0 for the newest that verifies. */
    public long openGeneration() {
        return openGeneration;
    }

    /** Whether a writable open may fall back past a newer generation that does not verify (and overwrite it). */
    public boolean acceptOlderGeneration() {
        return acceptOlderGeneration;
    }

    public long mappingChunkBytes() {
        return mappingChunkBytes;
    }

    public long growthStepBytes() {
        return growthStepBytes;
    }

    public long dirtyCacheBytes() {
        return dirtyCacheBytes;
    }

    public boolean checkAfterCommit() {
        return checkAfterCommit;
    }

    /** Capacity of a new image in bytes (0: none but the host filesystem's). */
    public long capacityBytes() {
        return capacityBytes;
    }

    /** Host space kept beside an image file for commits and deletes on a full host (0: none). */
    public long hostReserveBytes() {
        return hostReserveBytes;
    }

    /** References of dropped trees each commit releases. */
    public long dropReferencesPerCommit() {
        return dropReferencesPerCommit;
    }

    /** Whether this store may write an intent log ({@link Builder#intentLog}). */
    public boolean intentLog() {
        return intentLog;
    }

    public UUID imageUuid() {
        return imageUuid;
    }

    public LongSupplier clockMillis() {
        return clockMillis;
    }

    /** What the store wraps the device it writes through in (the identity but for fault injection in tests). */
    public UnaryOperator<BlockDevice> deviceWrapper() {
        return deviceWrapper;
    }

    /** The deliberate reuse bug of the crash harness's self-test ({@link Builder#reuseFreedBlocksEarlyForTesting}). */
    public boolean reuseFreedBlocksEarly() {
        return reuseFreedBlocksEarly;
    }

    public Builder toBuilder() {
        Builder builder = new Builder();
        builder.blockSizeBytes = blockSizeBytes;
        builder.readOnly = readOnly;
        builder.openGeneration = openGeneration;
        builder.acceptOlderGeneration = acceptOlderGeneration;
        builder.mappingChunkBytes = mappingChunkBytes;
        builder.growthStepBytes = growthStepBytes;
        builder.dirtyCacheBytes = dirtyCacheBytes;
        builder.checkAfterCommit = checkAfterCommit;
        builder.dropReferencesPerCommit = dropReferencesPerCommit;
        builder.intentLog = intentLog;
        builder.capacityBytes = capacityBytes;
        builder.hostReserveBytes = hostReserveBytes;
        builder.imageUuid = imageUuid;
        builder.clockMillis = clockMillis;
        builder.deviceWrapper = deviceWrapper;
        builder.reuseFreedBlocksEarly = reuseFreedBlocksEarly;
        return builder;
    }

    public static final class Builder {
        private int blockSizeBytes = Limits.DEFAULT_BLOCK_SIZE_BYTES;
        private boolean readOnly;
        private long openGeneration;
        private boolean acceptOlderGeneration;
        private long mappingChunkBytes = 64L << 20;
        private long growthStepBytes = 64L << 20;
        /** A quarter of the heap size, at most 256 MiB: bounded, and large enough to make spills rare. */
        private long dirtyCacheBytes = Math.max(1L << 20, Math.min(256L << 20, Runtime.getRuntime().maxMemory() / 4));
        private boolean checkAfterCommit = Boolean.getBoolean("cowfs.paranoid");
        /** About a leaf's worth of references per millisecond: a few milliseconds of work per commit. */
        private long dropReferencesPerCommit = 16_384;
        private boolean intentLog;
        private long capacityBytes;
        private long hostReserveBytes = 4L << 20;
        private UUID imageUuid;
        private LongSupplier clockMillis = System::currentTimeMillis;
        private UnaryOperator<BlockDevice> deviceWrapper = UnaryOperator.identity();
        private boolean reuseFreedBlocksEarly;

        /**
         * Wraps the device the store writes through, when it opens: how tests inject device faults (a dropped
         * barrier, failing writes) into the real engine. The identity by default.
         */
        public Builder deviceWrapper(UnaryOperator<BlockDevice> value) {
            this.deviceWrapper = java.util.Objects.requireNonNull(value);
            return this;
        }

        /**
         * Breaks deferred reuse on purpose, for the crash harness's self-test only: freed blocks become reusable
         * from the next commit on, while older ring roots still reach them.
         */
        public Builder reuseFreedBlocksEarlyForTesting(boolean value) {
            this.reuseFreedBlocksEarly = value;
            return this;
        }

        /** Block size of a new image: a power of two from 4 KiB to 64 KiB. Ignored when opening. */
        public Builder blockSizeBytes(int value) {
            if (!Limits.isValidBlockSize(value)) {
                throw new IllegalArgumentException("block size must be a power of two from 4096 to 65536 bytes, not "
                        + value);
            }
            this.blockSizeBytes = value;
            return this;
        }

        public Builder readOnly(boolean value) {
            this.readOnly = value;
            return this;
        }

        /**
         * Opens retained generation {@code value} (one of the superblock copies the image keeps, which
         * {@link dev.cowfs.engine.superblock.SuperblockRing#retainedGenerations} lists) instead of the newest; only read-only. 0: the newest.
         */
        public Builder openGeneration(long value) {
            if (value < 0) {
                throw new IllegalArgumentException("generation " + value + " is not a generation");
            }
            this.openGeneration = value;
            return this;
        }

        /**
         * When the newest generation does not verify, a writable open refuses (its first commit would overwrite
         * the damaged commit, which a repair might have saved) with {@link NewerGenerationDamagedException};
         * true accepts the older generation it falls back to, and the loss of the newer one. Read-only opens fall
         * back either way, with a warning.
         */
        public Builder acceptOlderGeneration(boolean value) {
            this.acceptOlderGeneration = value;
            return this;
        }

        /** Size of each mapping of the image file (a power of two, at least 64 KiB). */
        public Builder mappingChunkBytes(long value) {
            this.mappingChunkBytes = value;
            return this;
        }

        /** The image file grows by this much at a time (a multiple of the mapping chunk). */
        public Builder growthStepBytes(long value) {
            this.growthStepBytes = value;
            return this;
        }

        /**
         * Bytes of dirty tree nodes a write transaction keeps in memory before writing them out early. Dirty nodes
         * live in native memory outside the Java heap (the collector never copies them); this cap bounds it.
         */
        public Builder dirtyCacheBytes(long value) {
            if (value < 64 * 1024) {
                throw new IllegalArgumentException("dirty cache must be at least 64 KiB");
            }
            this.dirtyCacheBytes = value;
            return this;
        }

        /** Runs the full checker after every commit (slow; on in tests through -Dcowfs.paranoid=true). */
        public Builder checkAfterCommit(boolean value) {
            this.checkAfterCommit = value;
            return this;
        }

        /**
         * Lets {@link WriteTransaction#logDurably} write the intent log: every commit then marks the image with the
         * read-only-compatible feature {@code RO_COMPAT_INTENT_LOG} (a version without the log may only read it, as
         * it would not replay one), and a transaction on a commit so marked may log. Off by default.
         */
        public Builder intentLog(boolean value) {
            this.intentLog = value;
            return this;
        }

        /**
         * How many references of dropped trees (a deleted snapshot's nodes, values and extents) each commit
         * releases; the rest waits for later commits, so one drop never makes one commit long.
         */
        public Builder dropReferencesPerCommit(long value) {
            if (value < 1) {
                throw new IllegalArgumentException("a commit must release at least one reference of a dropped tree");
            }
            this.dropReferencesPerCommit = value;
            return this;
        }

        /**
         * The size a new image may grow to (recorded in it; 0, the default, bounds it only by the host
         * filesystem). Ordinary writes get {@code OutOfSpaceException} while a reserved pool of 1/32 of it (64 to
         * 32768 blocks) is left, so that deletes and commits always find room. At least 1 MiB. Ignored when opening.
         */
        public Builder capacityBytes(long value) {
            if (value != 0 && value < (1 << 20)) {
                throw new IllegalArgumentException("capacity must be 0 (none) or at least 1 MiB, not " + value);
            }
            this.capacityBytes = value;
            return this;
        }

        /**
         * Host space an image file keeps in a file beside it ({@code <image>.reserve}, 4 MiB by default; 0 for
         * none): on a full host filesystem, commits and deletes give it up and go on, so that freeing space always
         * works; it is taken back once the host has room again.
         */
        public Builder hostReserveBytes(long value) {
            if (value < 0) {
                throw new IllegalArgumentException("host reserve must not be negative");
            }
            this.hostReserveBytes = value;
            return this;
        }

        /** The UUID of a new image; random when not set. */
        public Builder imageUuid(UUID value) {
            this.imageUuid = value;
            return this;
        }

        /** The clock stamped into superblocks (tests fix it to make images reproducible). */
        public Builder clockMillis(LongSupplier value) {
            this.clockMillis = value;
            return this;
        }

        public StoreOptions build() {
            return new StoreOptions(this);
        }
    }
}
