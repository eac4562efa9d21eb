package dev.cowfs.fs;

import dev.cowfs.engine.StoreOptions;
import dev.cowfs.engine.testing.SizeLimitedTmpfs;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A filesystem whose image lives on a host filesystem that fills up (a 24 MiB tmpfs mounted for the test): deleting
 * files still works, drawing on the host reserve beside the image if it needs new space, and the image checks clean.
 */
class FullHostFilesystemFsTest {
    @Test
    void deletingFilesOnAFullHostWorks() throws Exception {
        try (SizeLimitedTmpfs host = SizeLimitedTmpfs.mount("FullHostFilesystemFsTest", 24)) {
            deleteOnAFullHost(host);
        }
    }

    private static void deleteOnAFullHost(SizeLimitedTmpfs host) throws IOException {
        Path image = host.path().resolve("fs.img");
        FsOptions options = FsOptions.builder().commitIntervalMillis(0)
                .store(StoreOptions.builder().mappingChunkBytes(1 << 20).growthStepBytes(1 << 20)
                        .checkAfterCommit(true).hostReserveBytes(2 << 20).build())
                .build();
        try (var fs = CowFileSystem.create(image, options)) {
            long root = CowFileSystem.ROOT_INO;
            byte[] data = new byte[1 << 20];
            for (int i = 0; i < 3; i++) {
                long ino = fs.mknod(root, "file" + i, 0644, 0, 0, 0);
                fs.write(ino, 0, data, 0, data.length);
                fs.sync();
            }
            host.fill("filler");
            fs.unlink(root, "file0"); // must work on the full host (the reserve is there if it needs new space)
            fs.unlink(root, "file1");
            fs.sync();
            System.out.println("delete on a full host: the reserve " + (Files.exists(image.resolveSibling(
                    "fs.img.reserve")) ? "was not needed" : "was given up for it"));
            assertTrue(fs.store().check().isClean(), fs.store().check().summary());
            assertTrue(FsChecker.check(fs.store()).isEmpty());
            assertEquals(1, fs.readdir(root, 0, 10).size());
        }
    }
}
