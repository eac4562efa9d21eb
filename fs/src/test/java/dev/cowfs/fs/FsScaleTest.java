package dev.cowfs.fs;

import dev.cowfs.engine.StoreOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One million files in one directory of a mapped image: created, looked up by name at random, listed in
 * pages, checked by the filesystem checker, and found again after a reopen.
 */
class FsScaleTest {
    private static final int FILES = Integer.getInteger("cowfs.test.files", 1_000_000);

    @TempDir
    Path dir;

    @Test
    void aMillionFilesInOneDirectory() throws Exception {
        FsOptions options = FsOptions.builder().commitIntervalMillis(0)
                .store(StoreOptions.builder().checkAfterCommit(false).build()).build();
        Path image = dir.resolve("million.img");
        long started = System.nanoTime();
        long big;
        try (CowFileSystem fs = CowFileSystem.create(image, options)) {
            big = fs.mkdir(CowFileSystem.ROOT_INO, "big", 0755, 0, 0);
            byte[] content = new byte[40];
            for (int i = 0; i < FILES; i++) {
                long ino = fs.mknod(big, "file-" + i, 0644, 0, 0, 0);
                if (i % 10 == 0) {
                    content[0] = (byte) i;
                    fs.write(ino, 0, content, 0, content.length);
                }
                if (i % 200_000 == 199_999) {
                    fs.sync();
                }
            }
            fs.sync();
        }
        double createSeconds = (System.nanoTime() - started) / 1e9;
        try (CowFileSystem fs = CowFileSystem.open(image, options)) {
            Random random = new Random(5);
            for (int k = 0; k < 2000; k++) {
                int i = random.nextInt(FILES);
                long ino = fs.lookup(big, "file-" + i);
                assertEquals(i % 10 == 0 ? 40 : 0, fs.stat(ino).size(), "file-" + i);
            }
            long listed = 0;
            long position = 0;
            while (true) {
                List<DirEntry> page = fs.readdir(big, position, 4096);
                if (page.isEmpty()) {
                    break;
                }
                listed += page.size();
                position = page.get(page.size() - 1).nextPosition();
            }
            assertEquals(FILES, listed);
            assertEquals(2, fs.stat(big).nlink());
            List<String> problems = FsChecker.check(fs.store());
            assertTrue(problems.isEmpty(), problems.toString());
        }
        System.out.printf("%d files in one directory: created in %.1f s (%.0f files/s), listed and checked in %.1f s%n",
                FILES, createSeconds, FILES / createSeconds, (System.nanoTime() - started) / 1e9 - createSeconds);
    }
}
