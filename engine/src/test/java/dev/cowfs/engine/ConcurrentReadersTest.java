package dev.cowfs.engine;

import dev.cowfs.engine.format.Bytes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One writer commits while reader threads read: every read view sees one commit whole (every key carries the
 * same commit number), keeps seeing it after later commits, and the space later commits reuse is never space
 * an open view reads.
 */
class ConcurrentReadersTest {
    private static final int KEYS = 3000;

    @TempDir
    Path dir;

    static byte[] key(int i) {
        return ("key-" + i).getBytes();
    }

    @Test
    void readersSeeFrozenConsistentCommitsWhileTheWriterCommits() throws Exception {
        StoreOptions options = MappedStoreTest.SMALL.toBuilder().checkAfterCommit(false).build();
        try (Store store = Store.create(dir.resolve("concurrent.img"), options)) {
            writeRound(store, 0);
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong viewsChecked = new AtomicLong();
            ExecutorService pool = Executors.newFixedThreadPool(3);
            List<Future<?>> readers = new ArrayList<>();
            for (int t = 0; t < 3; t++) {
                readers.add(pool.submit(() -> {
                    while (!stop.get()) {
                        try (ReadTransaction read = store.beginRead()) {
                            long round = roundOf(read.get(key(0)));
                            for (int pass = 0; pass < 2; pass++) { // the view must not move between passes
                                for (int i = 0; i < KEYS; i += 7) {
                                    assertEquals(round, roundOf(read.get(key(i))), "key " + i + " in generation "
                                            + read.generation());
                                }
                                awaitCommits(store, 2, stop); // the view must outlive later commits
                            }
                            viewsChecked.incrementAndGet();
                        }
                    }
                    return null;
                }));
            }
            // At least 60 commits, and on until the readers have checked enough views (the writer's speed varies).
            for (int round = 1; round <= 60 || (viewsChecked.get() <= 10 && round <= 100_000); round++) {
                writeRound(store, round);
            }
            stop.set(true);
            for (Future<?> reader : readers) {
                reader.get();
            }
            pool.shutdown();
            assertTrue(viewsChecked.get() > 10, "only " + viewsChecked.get() + " views checked");
            assertTrue(store.check().isClean(), store.check().summary());
        }
    }

    /** Waits until {@code count} more commits are durable (or the writer stops, or 10 s pass). */
    private static void awaitCommits(Store store, int count, AtomicBoolean stop) {
        long until = store.generation() + count;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (store.generation() < until && !stop.get() && System.nanoTime() < deadline) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
        }
    }

    private static long roundOf(byte[] value) {
        return Bytes.getLong(value, 0);
    }

    private static void writeRound(Store store, long round) throws Exception {
        try (WriteTransaction txn = store.beginWrite()) {
            for (int i = 0; i < KEYS; i++) {
                byte[] value = new byte[i % 97 == 0 ? 3000 : 40]; // some out-of-line values, rewritten every round
                Bytes.putLong(value, 0, round);
                txn.put(key(i), value);
            }
            txn.commit();
        }
    }
}
