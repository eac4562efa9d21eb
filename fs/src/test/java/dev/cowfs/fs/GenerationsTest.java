package dev.cowfs.fs;

import dev.cowfs.engine.StoreOptions;
import dev.cowfs.engine.error.NoRetainedGenerationException;
import dev.cowfs.engine.superblock.RetainedGeneration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Older generations the image keeps can be listed and opened read-only, each exactly as it was committed. */
class GenerationsTest {
    private static final long ROOT = CowFileSystem.ROOT_INO;

    @TempDir
    Path dir;

    private static FsOptions options(long generation) {
        return FsOptions.builder().commitIntervalMillis(0)
                .store(StoreOptions.builder().readOnly(generation != 0).openGeneration(generation).build()).build();
    }

    @Test
    void everyRetainedGenerationOpensReadOnlyAsCommitted() throws Exception {
        Path image = dir.resolve("gen.img");
        Map<Long, String> contents = new HashMap<>();
        try (CowFileSystem fs = CowFileSystem.create(image, options(0))) {
            long file = fs.mknod(ROOT, "f", 0644, 0, 0, 0);
            for (int i = 0; i < 8; i++) {
                byte[] text = ("version " + i).getBytes(StandardCharsets.UTF_8);
                fs.truncate(file, 0);
                fs.write(file, 0, text, 0, text.length);
                fs.sync();
                contents.put(fs.store().generation(), "version " + i);
            }
            List<RetainedGeneration> retained = fs.store().retainedGenerations();
            long newest = fs.store().generation();
            assertEquals(newest, retained.get(0).generation());
            assertEquals(List.of(newest, newest - 1, newest - 2, newest - 3),
                    retained.stream().map(RetainedGeneration::generation).toList(), "the ring's four generations");
            assertTrue(retained.stream().allMatch(r -> r.failure() == null), retained::toString);
        }
        for (long generation = contents.keySet().stream().mapToLong(Long::longValue).max().orElseThrow() - 3;
             contents.containsKey(generation); generation++) {
            try (CowFileSystem old = CowFileSystem.open(image, options(generation))) {
                assertEquals(generation, old.statfs().generation());
                long file = old.lookup(ROOT, "f");
                byte[] read = new byte[64];
                int n = old.read(file, 0, read, 0, read.length);
                assertEquals(contents.get(generation), new String(read, 0, n, StandardCharsets.UTF_8));
                assertEquals(List.of(), FsChecker.check(old.store()));
                assertErrno(Errno.EROFS, () -> old.mknod(ROOT, "g", 0644, 0, 0, 0));
            }
        }
        assertThrows(NoRetainedGenerationException.class, () -> CowFileSystem.open(image, options(2)));
        assertThrows(IllegalArgumentException.class, () -> CowFileSystem.open(image, FsOptions.builder()
                .store(StoreOptions.builder().openGeneration(5).build()).build()));
        try (CowFileSystem newest = CowFileSystem.open(image, options(0))) { // untouched by the reads
            assertEquals(List.of(), FsChecker.check(newest.store()));
        }
    }

    private static void assertErrno(Errno errno, FsSemanticsTest.ThrowingRunnable action) {
        FsSemanticsTest.assertErrno(errno, action);
    }
}
