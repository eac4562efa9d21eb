package dev.cowfs.fs;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Many reader threads and one writer on one filesystem at once, as the FUSE workers use it: readers read
 * files that do not change (plain, LZ4-compressed, and fragmented into a nested extent tree), list and stat
 * them, and must always see exactly their bytes; meanwhile the writer creates, rewrites, renames and deletes
 * other files and commits. Every reader result is checked, every thread's failure is reported, and the image
 * checks clean at the end.
 */
class FsConcurrencyTest {
    private static final int READERS = 6;
    private static final long RUN_MILLIS = 2_500;

    @TempDir
    Path dir;

    @Test
    void readersSeeStableFilesExactlyWhileAWriterChangesOthersAndCommits() throws Exception {
        FsOptions options = FsOptions.builder().commitIntervalMillis(50).build();
        try (CowFileSystem fs = CowFileSystem.create(dir.resolve("fs.img"), options)) {
            long stable = fs.mkdir(CowFileSystem.ROOT_INO, "stable", 0755, 0, 0);
            long busy = fs.mkdir(CowFileSystem.ROOT_INO, "busy", 0755, 0, 0);
            List<Long> files = new ArrayList<>();
            List<byte[]> contents = new ArrayList<>();
            writeStableFiles(fs, stable, files, contents);
            fs.sync();

            AtomicBoolean stop = new AtomicBoolean();
            ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
            AtomicLong readsChecked = new AtomicLong();
            CountDownLatch done = new CountDownLatch(READERS + 1);
            List<Thread> threads = new ArrayList<>();
            for (int r = 0; r < READERS; r++) {
                int seed = r;
                threads.add(new Thread(() -> readUntilStopped(fs, stable, files, contents, seed, stop, failures,
                        readsChecked, done), "reader-" + r));
            }
            threads.add(new Thread(() -> writeUntilStopped(fs, busy, stop, failures, done), "writer"));
            threads.forEach(Thread::start);
            Thread.sleep(RUN_MILLIS);
            stop.set(true);
            assertTrue(done.await(60, TimeUnit.SECONDS), "threads did not finish");
            if (!failures.isEmpty()) {
                AssertionError error = new AssertionError(failures.size() + " thread(s) failed; first: "
                        + failures.peek());
                failures.forEach(error::addSuppressed);
                throw error;
            }
            assertTrue(readsChecked.get() > 100, "only " + readsChecked.get() + " reads checked");
            fs.sync();
            assertEquals(List.of(), FsChecker.check(fs.store()));
            for (int i = 0; i < files.size(); i++) {
                byte[] back = new byte[contents.get(i).length];
                assertEquals(back.length, fs.read(files.get(i), 0, back, 0, back.length));
                assertArrayEquals(contents.get(i), back, "file " + i);
            }
        }
    }

    /** Six files of 200-500 KB under {@code stable}: raw, compressed, and written in small pieces from the end. */
    private static void writeStableFiles(CowFileSystem fs, long stable, List<Long> files, List<byte[]> contents)
            throws Exception {
        Random random = new Random(7);
        for (int i = 0; i < 6; i++) {
            long ino = fs.mknod(stable, "f" + i, Inode.S_IFREG | 0644, 0, 0, 0);
            if (i % 3 == 1) {
                fs.setCompression(ino, true);
            }
            byte[] bytes = new byte[200_000 + random.nextInt(300_000)];
            if (i % 3 == 1) {
                for (int b = 0; b < bytes.length; b++) {
                    bytes[b] = (byte) ("compressible text " + (b / 97)).charAt(b % 17);
                }
            } else {
                random.nextBytes(bytes);
            }
            if (i % 3 == 2) { // small writes from the end, committed often: many extents, a nested tree
                for (int from = (bytes.length - 1) / 4096 * 4096; from >= 0; from -= 4096) {
                    fs.write(ino, from, bytes, from, Math.min(4096, bytes.length - from));
                    if (from % (8 * 4096) == 0) {
                        fs.sync();
                    }
                }
            } else {
                fs.write(ino, 0, bytes, 0, bytes.length);
            }
            files.add(ino);
            contents.add(bytes);
        }
    }

    private static void readUntilStopped(CowFileSystem fs, long stable, List<Long> files, List<byte[]> contents,
                                         int seed, AtomicBoolean stop, ConcurrentLinkedQueue<Throwable> failures,
                                         AtomicLong readsChecked, CountDownLatch done) {
        try {
            Random own = new Random(seed);
            byte[] buffer = new byte[131_072];
            while (!stop.get()) {
                int which = own.nextInt(files.size());
                long ino = files.get(which);
                byte[] expected = contents.get(which);
                assertEquals(expected.length, fs.stat(ino).size());
                int offset = own.nextInt(expected.length);
                int length = Math.min(buffer.length, expected.length - offset);
                int read = fs.read(ino, offset, buffer, 0, length);
                assertEquals(length, read);
                assertArrayEquals(Arrays.copyOfRange(expected, offset, offset + length),
                        Arrays.copyOf(buffer, length), "inode " + ino + " at " + offset);
                assertEquals(ino, fs.resolve("/stable/f" + which, false));
                assertEquals(files.size(), fs.readdir(stable, 0, 100).size());
                readsChecked.incrementAndGet();
            }
        } catch (Throwable t) {
            failures.add(t);
        } finally {
            done.countDown();
        }
    }

    private static void writeUntilStopped(CowFileSystem fs, long busy, AtomicBoolean stop,
                                          ConcurrentLinkedQueue<Throwable> failures, CountDownLatch done) {
        try {
            Random own = new Random(99);
            byte[] data = new byte[65_536];
            for (int round = 0; !stop.get(); round++) {
                own.nextBytes(data);
                String name = "w" + (round % 20);
                long ino;
                try {
                    ino = fs.lookup(busy, name);
                } catch (FsException missing) {
                    ino = fs.mknod(busy, name, Inode.S_IFREG | 0644, 0, 0, 0);
                }
                fs.write(ino, own.nextInt(200_000), data, 0, 1 + own.nextInt(data.length));
                if (round % 7 == 0) {
                    fs.truncate(ino, own.nextInt(100_000));
                }
                if (round % 11 == 0) {
                    fs.rename(busy, name, busy, "renamed" + round, RenameMode.REPLACE);
                    fs.unlink(busy, "renamed" + round);
                }
                if (round % 13 == 0) {
                    fs.sync();
                }
            }
        } catch (Throwable t) {
            failures.add(t);
        } finally {
            done.countDown();
        }
    }
}
