package dev.cowfs.tools;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.PrintStream;
import java.time.Duration;

/**
 * A progress bar on the caller's standard error, for work that may take more than a second. It appears only
 * when standard error is a terminal (the launcher says so, with its width) and only once the work has run
 * for {@link #DELAY_NANOS}, so quick commands print nothing extra; it is cleared when the work ends.
 */
final class Progress implements AutoCloseable {
    static final long DELAY_NANOS = Long.getLong("cowfs.progress.delay.millis", 1000) * 1_000_000L;
    private static final Progress SILENT = new Progress(null, "", 0, "");

    private final Invocation invocation;
    private final String task;
    private final long total;
    private final boolean bytes;
    private final String unit;
    private final long startNanos = System.nanoTime();
    private long done;
    private ProgressBar bar;

    private Progress(Invocation invocation, String task, long total, String unit) {
        this.invocation = invocation;
        this.task = task;
        this.total = total;
        this.unit = unit;
        this.bytes = unit.equals("bytes");
    }

    /**
     * @param total the units the work comes to, or -1 when unknown (the bar then counts without an end)
     * @param unit "bytes" (shown in MiB with a rate) or a word for the items counted
     */
    static Progress start(Invocation invocation, String task, long total, String unit) {
        if (invocation.terminalColumns() <= 0) {
            return SILENT;
        }
        return new Progress(invocation, task, total, unit);
    }

    /** Counts {@code amount} more units done. Called by one thread at a time. */
    void step(long amount) {
        if (this == SILENT) {
            return;
        }
        done += amount;
        if (bar == null) {
            long elapsed = System.nanoTime() - startNanos;
            if (elapsed < DELAY_NANOS) {
                return;
            }
            show(elapsed);
        }
        bar.stepTo(total < 0 ? done : Math.min(done, total));
    }

    private void show(long elapsedNanos) {
        PrintStream err = invocation.errStream();
        ProgressBarBuilder builder = new ProgressBarBuilder().setTaskName(task)
                .setInitialMax(total < 0 ? -1 : Math.max(total, 1))
                .setStyle(ProgressBarStyle.ASCII).clearDisplayOnFinish().setUpdateIntervalMillis(200)
                .setConsumer(new ConsoleProgressBarConsumer(err, invocation.terminalColumns()))
                .startsFrom(0, Duration.ofNanos(elapsedNanos));
        if (bytes) {
            builder.setUnit(" MiB", 1 << 20).showSpeed();
        } else {
            builder.setUnit(" " + unit, 1);
        }
        bar = builder.build();
    }

    @Override
    public void close() {
        if (bar != null) {
            bar.close();
        }
    }
}
