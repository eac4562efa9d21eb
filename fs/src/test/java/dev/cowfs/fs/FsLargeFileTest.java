package dev.cowfs.fs;

import dev.cowfs.engine.StoreOptions;
import dev.cowfs.engine.testing.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.zip.CRC32C;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A single 4 GiB write stream into one file, in a child JVM whose heap is 96 MiB (it asserts the limit): file
 * data goes straight to extents and metadata stays capped, so memory does not grow with the file. The file
 * is then read back whole after a reopen and compared, block by block, with what was written.
 */
class FsLargeFileTest {
    static final long FILE_BYTES = Long.getLong("cowfs.test.largeFileBytes", 4L << 30);
    static final int REQUEST = 1 << 20;

    @TempDir
    Path dir;

    @Test
    void aFourGibWriteStreamUnderASmallHeap() throws Exception {
        ChildJvm.Result result = ChildJvm.run(List.of("-Xmx96m"), 900, Stream.class,
                dir.resolve("large.img").toString(), Long.toString(FILE_BYTES));
        System.out.print(result.output());
        assertEquals(0, result.exitCode(), result.output());
        assertTrue(result.output().contains("verified " + FILE_BYTES + " bytes"), result.output());
    }

    /** Fills a request with bytes derived from its offset, so the reader can recompute them. */
    static void fill(byte[] request, long offset) {
        long x = offset * 0x9E3779B97F4A7C15L + 1;
        for (int i = 0; i < request.length; i += 8) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            for (int k = 0; k < 8; k++) {
                request[i + k] = (byte) (x >>> (8 * k));
            }
        }
    }

    /** The child: writes, syncs, reopens, verifies. */
    public static final class Stream {
        public static void main(String[] args) throws Exception {
            long max = Runtime.getRuntime().maxMemory();
            if (max > 128L << 20) {
                throw new IllegalStateException("heap limit not applied: " + max);
            }
            Path image = Path.of(args[0]);
            long bytes = Long.parseLong(args[1]);
            FsOptions options = FsOptions.builder().commitIntervalMillis(0)
                    .store(StoreOptions.builder().checkAfterCommit(false).build()).build();
            byte[] request = new byte[REQUEST];
            long started = System.nanoTime();
            long ino;
            try (CowFileSystem fs = CowFileSystem.create(image, options)) {
                ino = fs.mknod(CowFileSystem.ROOT_INO, "large", 0644, 0, 0, 0);
                for (long at = 0; at < bytes; at += REQUEST) {
                    fill(request, at);
                    fs.write(ino, at, request, 0, REQUEST);
                }
                fs.fsync(ino);
            }
            double writeSeconds = (System.nanoTime() - started) / 1e9;
            byte[] expected = new byte[REQUEST];
            try (CowFileSystem fs = CowFileSystem.open(image, options)) {
                if (fs.stat(ino).size() != bytes) {
                    throw new AssertionError("size " + fs.stat(ino).size());
                }
                for (long at = 0; at < bytes; at += REQUEST) {
                    fill(expected, at);
                    if (fs.read(ino, at, request, 0, REQUEST) != REQUEST) {
                        throw new AssertionError("short read at " + at);
                    }
                    if (!java.util.Arrays.equals(expected, request)) {
                        CRC32C crc = new CRC32C();
                        crc.update(request);
                        throw new AssertionError("bytes differ in the MiB at " + at + " (crc " + crc.getValue() + ")");
                    }
                }
                List<String> problems = FsChecker.check(fs.store());
                if (!problems.isEmpty()) {
                    throw new AssertionError(problems.toString());
                }
            }
            System.out.printf("wrote %d bytes in %.1f s under a %d MiB heap; verified %d bytes%n", bytes,
                    writeSeconds, max >> 20, bytes);
        }
    }
}
