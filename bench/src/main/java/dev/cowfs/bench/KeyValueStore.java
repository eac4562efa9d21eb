package dev.cowfs.bench;

import java.io.IOException;

/** What each engine under comparison must do, in the same terms: byte[] keys and values, one writer. */
interface KeyValueStore extends AutoCloseable {
    /** Inserts all pairs in one transaction and makes it durable. */
    default void bulkInsert(byte[][] keys, byte[][] values) throws IOException {
        insert(keys, values, 0, keys.length);
    }

    /**
     * Inserts {@code count} pairs from {@code from} in one transaction and makes it durable. The caller may
     * overwrite the arrays once this returns (the point-read loader refills one batch of them), so a store that
     * keeps objects rather than bytes must keep copies.
     */
    void insert(byte[][] keys, byte[][] values, int from, int count) throws IOException;

    /** A read view kept open across calls, like a read transaction reused by one thread. */
    Reader reader() throws IOException;

    /** One transaction updating one key, made durable before returning. */
    default void durableUpdate(byte[] key, byte[] value) throws IOException {
        insert(new byte[][] {key}, new byte[][] {value}, 0, 1);
    }

    @Override
    void close() throws IOException;

    interface Reader extends AutoCloseable {
        /** The value (copied out into a byte[]), or null. */
        byte[] get(byte[] key) throws IOException;

        /** Visits every entry in key order; returns the number of entries. */
        long scan() throws IOException;

        @Override
        void close();
    }
}
