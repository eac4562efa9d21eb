package dev.cowfs.fs;

import dev.cowfs.engine.StoreOptions;

import java.time.Clock;

/** How a filesystem image is created or opened. Immutable; start from {@link #builder()}. */
public final class FsOptions {
    private final StoreOptions store;
    private final boolean compress;
    private final long commitIntervalMillis;
    private final Clock clock;
    private final CommitTimer commitTimer;

    private FsOptions(Builder builder) {
        this.store = builder.store;
        this.compress = builder.compress;
        this.commitIntervalMillis = builder.commitIntervalMillis;
        this.clock = builder.clock;
        this.commitTimer = builder.commitTimer;
    }

    public static Builder builder() {
        return new Builder();
    }

    public static FsOptions defaults() {
        return builder().build();
    }

    public StoreOptions store() {
        return store;
    }

    /** New files compress their data with LZ4 (chosen at mkfs; stored in the image). */
    public boolean compress() {
        return compress;
    }

    /** Changes are committed at least this often (group commit); 0 commits only on sync, fsync and close. */
    public long commitIntervalMillis() {
        return commitIntervalMillis;
    }

    public Clock clock() {
        return clock;
    }

    /** What drives group commit every {@link #commitIntervalMillis()}: a daemon thread unless set otherwise. */
    public CommitTimer commitTimer() {
        return commitTimer;
    }

    public static final class Builder {
        private StoreOptions store = StoreOptions.defaults();
        private boolean compress;
        private long commitIntervalMillis = 5_000;
        private Clock clock = Clock.systemUTC();
        private CommitTimer commitTimer = CommitTimer.daemonThread();

        public Builder store(StoreOptions value) {
            this.store = value;
            return this;
        }

        public Builder compress(boolean value) {
            this.compress = value;
            return this;
        }

        public Builder commitIntervalMillis(long value) {
            if (value < 0) {
                throw new IllegalArgumentException("commit interval must be >= 0 ms");
            }
            this.commitIntervalMillis = value;
            return this;
        }

        public Builder clock(Clock value) {
            this.clock = value;
            return this;
        }

        public Builder commitTimer(CommitTimer value) {
            this.commitTimer = java.util.Objects.requireNonNull(value, "commitTimer");
            return this;
        }

        public FsOptions build() {
            return new FsOptions(this);
        }
    }
}
