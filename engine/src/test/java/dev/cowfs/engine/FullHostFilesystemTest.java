package dev.cowfs.engine;

import dev.cowfs.engine.error.OutOfSpaceException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A real image file on a host filesystem that fills up (ordinary writes fail cleanly; commits and deletes draw on
 * the host reserve beside the image) (a 24 MiB tmpfs mounted for the test): the write that
 * finds no space fails its commit with {@link OutOfSpaceException}, never a JVM crash; everything committed
 * before stays readable; once space is freed on the host the same open store commits again; the image
 * reopens clean.
 */
class FullHostFilesystemTest {
    private Path mountPoint;
    private boolean mounted;

    @BeforeEach
    void mountSmallTmpfs() throws Exception {
        mountPoint = Files.createTempDirectory("cowfs-full-");
        Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=24m", "cowfs-full", mountPoint.toString())
                .redirectErrorStream(true).start();
        String output = new String(mount.getInputStream().readAllBytes()).trim();
        mounted = mount.waitFor() == 0;
        if (!mounted) {
            System.out.println("FullHostFilesystemTest skipped: cannot mount a size-limited tmpfs here (" + output
                    + "); it needs root and mount permission");
        }
        Assumptions.assumeTrue(mounted, "cannot mount a size-limited tmpfs: " + output);
    }

    @AfterEach
    void unmount() throws Exception {
        if (mounted) {
            new ProcessBuilder("umount", mountPoint.toString()).inheritIO().start().waitFor();
        }
        Files.deleteIfExists(mountPoint);
    }

    @Test
    void aFullHostFilesystemFailsTheCommitCleanly() throws IOException {
        Path image = mountPoint.resolve("image.img");
        Path ballast = Files.write(mountPoint.resolve("ballast"), new byte[4 << 20]);
        StoreOptions options = MappedStoreTest.SMALL.toBuilder().checkAfterCommit(false).build();
        try (Store store = Store.create(image, options)) {
            try (WriteTransaction txn = store.beginWrite()) {
                for (int i = 0; i < 1000; i++) {
                    txn.put(("kept" + i).getBytes(), ("v" + i).getBytes());
                }
                txn.commit();
            }
            assertThrows(OutOfSpaceException.class, () -> {
                try (WriteTransaction txn = store.beginWrite()) {
                    for (int i = 0; i < 20_000; i++) { // 40 MB of values: more than the 24 MiB filesystem
                        txn.put(("big" + i).getBytes(), new byte[2000]);
                    }
                    txn.commit();
                }
            });
            try (ReadTransaction read = store.beginRead()) {
                assertArrayEquals("v999".getBytes(), read.get("kept999".getBytes()), "committed data intact");
            }
            Files.delete(ballast); // the user frees space on the host
            try (WriteTransaction txn = store.beginWrite()) {
                txn.put("small".getBytes(), "fits".getBytes());
                txn.commit();
            }
            try (ReadTransaction read = store.beginRead()) {
                assertArrayEquals("v999".getBytes(), read.get("kept999".getBytes()));
                assertArrayEquals("fits".getBytes(), read.get("small".getBytes()));
                assertNull(read.get("big1".getBytes()));
            }
        }
        try (Store store = Store.open(image, options)) {
            assertTrue(store.check().isClean(), store.check().summary());
            try (ReadTransaction read = store.beginRead()) {
                assertArrayEquals("fits".getBytes(), read.get("small".getBytes()));
            }
        }
    }

    /** Fills the host filesystem with another file, as another program would; returns it. */
    private Path fillHost(String name) throws IOException {
        Path filler = mountPoint.resolve(name);
        byte[] chunk = new byte[1 << 20];
        try (var out = java.nio.channels.FileChannel.open(filler, java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.WRITE)) {
            long at = 0;
            while (true) {
                at += out.write(java.nio.ByteBuffer.wrap(chunk), at);
            }
        } catch (IOException e) {
            assertTrue(String.valueOf(e.getMessage()).contains("No space left"), e.toString());
        }
        return filler;
    }

    @Test
    void onAFullHostOnlyAWriteAllowedToUsesTheReserveAndTheReserveComesBack() throws IOException {
        Path image = mountPoint.resolve("device.img");
        try (var device = dev.cowfs.engine.device.MappedFileDevice.create(image, 1 << 20, 1 << 20)) {
            device.keepHostReserve(2 << 20);
            Path reserve = device.reservePath();
            assertTrue(Files.size(reserve) == 2 << 20, "the reserve file is made with the image");
            device.ensureLength(8 << 20); // sparse: its pages take host space only when written
            Path filler = fillHost("filler");
            byte[] block = new byte[1 << 20];
            assertThrows(OutOfSpaceException.class, () -> device.write(0, block, 0, block.length),
                    "an ordinary write on a full host");
            assertTrue(Files.exists(reserve), "an ordinary write leaves the reserve alone");
            device.allowHostReserve(true);
            device.write(0, block, 0, block.length); // a commit or a delete: the reserve makes room
            device.allowHostReserve(false);
            assertTrue(!Files.exists(reserve), "the reserve was given up for the write");
            Files.delete(filler);
            device.barrier();
            assertTrue(Files.exists(reserve) && Files.size(reserve) == 2 << 20, "the reserve is back once there is room");
        }
    }
}
