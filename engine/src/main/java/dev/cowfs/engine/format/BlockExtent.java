package dev.cowfs.engine.format;

/** A run of {@code count} consecutive blocks from block {@code start}. */
public record BlockExtent(long start, long count) {
    /** The block after the run. */
    public long end() {
        return start + count;
    }
}
