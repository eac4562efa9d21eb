package dev.cowfs.fs;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Group commit: a daemon thread that runs {@link Operations#periodicCommit} every {@code commitIntervalMillis}, so
 * that finished operations become durable at the latest one interval later. Started once the filesystem is loaded;
 * never interrupted ({@link #stop} waits for a commit in progress, whose file channel must not be closed under it).
 */
final class GroupCommitter {
    private final ScheduledExecutorService executor;

    private GroupCommitter(ScheduledExecutorService executor) {
        this.executor = executor;
    }

    /** Starts ticking; null where there is nothing to commit (read-only) or commits are only on request (0). */
    static GroupCommitter start(Operations ops, long intervalMillis) {
        if (intervalMillis <= 0 || ops.txn() == null) {
            return null;
        }
        ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "cowfs-commit");
            thread.setDaemon(true);
            return thread;
        });
        executor.scheduleWithFixedDelay(ops::periodicCommit, intervalMillis, intervalMillis, TimeUnit.MILLISECONDS);
        return new GroupCommitter(executor);
    }

    /** Stops ticking, waiting up to a minute for a commit in progress to end. */
    void stop() {
        executor.shutdown();
        try {
            executor.awaitTermination(1, TimeUnit.MINUTES);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
