package dev.cowfs.fs;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Group commit: {@link Operations#periodicCommit} runs every {@code commitIntervalMillis}, driven by the
 * {@link FsOptions#commitTimer() commit timer} (a daemon thread unless a test drives it), so that finished operations
 * become durable at the latest one interval later. Started once the filesystem is loaded; stopping waits for a commit
 * in progress, whose file channel must not be closed under it.
 */
final class GroupCommitter {
    private GroupCommitter() {
    }

    /** Starts ticking; null where there is nothing to commit (read-only) or commits are only on request (0). */
    static CommitTimer.Running start(Operations ops, FsOptions options) {
        if (options.commitIntervalMillis() <= 0 || ops.txn() == null) {
            return null;
        }
        return options.commitTimer().start(ops::periodicCommit, options.commitIntervalMillis());
    }

    /** {@link CommitTimer#daemonThread()}. */
    static CommitTimer.Running startThread(Runnable tick, long intervalMillis) {
        ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "cowfs-commit");
            thread.setDaemon(true);
            return thread;
        });
        executor.scheduleWithFixedDelay(tick, intervalMillis, intervalMillis, TimeUnit.MILLISECONDS);
        return () -> {
            executor.shutdown();
            try {
                executor.awaitTermination(1, TimeUnit.MINUTES);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
    }
}
