package dev.cowfs.fs;

import java.util.ArrayList;
import java.util.List;

/**
 * A commit timer the test drives: each {@link #tick()} runs the group-commit tick of every filesystem open on it
 * once, on the calling thread, so that a test of what the timer does waits for no clock.
 */
final class ManualCommitTimer implements CommitTimer {
    private final List<Runnable> ticks = new ArrayList<>();

    @Override
    public Running start(Runnable tick, long intervalMillis) {
        ticks.add(tick);
        return () -> ticks.remove(tick);
    }

    /** One tick of every filesystem open on this timer. */
    void tick() {
        if (ticks.isEmpty()) {
            throw new IllegalStateException("no filesystem is open on this timer");
        }
        for (Runnable tick : List.copyOf(ticks)) {
            tick.run();
        }
    }
}
