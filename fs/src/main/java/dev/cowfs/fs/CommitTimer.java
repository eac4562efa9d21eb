package dev.cowfs.fs;

/**
 * What drives group commit: calls the filesystem's commit tick every {@link FsOptions#commitIntervalMillis()} until
 * stopped. The default is a daemon thread ({@link #daemonThread()}); a test can drive the ticks itself and so wait
 * for none.
 */
@FunctionalInterface
public interface CommitTimer {
    /** Starts calling {@code tick} every {@code intervalMillis}; the filesystem stops it on close. */
    Running start(Runnable tick, long intervalMillis);

    /** A started timer. */
    interface Running {
        /** Stops ticking, waiting for a tick in progress to end (a commit must never be interrupted). */
        void stop();
    }

    /** A daemon thread, "cowfs-commit", ticking at a fixed delay after each tick ends. */
    static CommitTimer daemonThread() {
        return GroupCommitter::startThread;
    }
}
