package dev.cowfs.fs;

import dev.cowfs.engine.StoreOptions;
import dev.cowfs.engine.device.SimulatedDevice;
import dev.cowfs.engine.format.Bytes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Failure paths: an I/O error or a full device in the middle of work, a group commit that fails with nobody
 * waiting, closing while a group commit runs, and metadata damage the checker must see. Nothing may hang,
 * report durability it did not reach, or hand a lost file's inode number to a new file.
 */
class FsFailureTest {
    private static final long ROOT = CowFileSystem.ROOT_INO;

    @TempDir
    Path dir;

    static FsOptions options(long intervalMillis) {
        return FsOptions.builder().commitIntervalMillis(intervalMillis)
                .store(StoreOptions.builder().checkAfterCommit(true).build()).build();
    }

    @Test
    void aFailedWriteOutOfBufferedDataNeitherHangsNorBreaksLaterOperations() throws Exception {
        SimulatedDevice device = new SimulatedDevice();
        CowFileSystem fs = CowFileSystem.create(device, options(0));
        long file = fs.mknod(ROOT, "f", 0644, 0, 0, 0);
        fs.sync();
        byte[] chunk = new byte[100_000];
        new Random(1).nextBytes(chunk);
        fs.write(file, 0, chunk, 0, chunk.length); // buffered
        device.failAfter(0);
        byte[] head = new byte[10];
        assertEquals(10, fs.read(file, 0, head, 0, 10), "a read is served from the buffer and writes nothing");
        assertArrayEquals(java.util.Arrays.copyOf(chunk, 10), head);
        assertFalse(device.failureInjected());
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            FsException error = assertThrows(FsException.class, fs::sync, "writing the buffer out fails");
            assertEquals(Errno.EIO, error.errno());
            assertThrows(FsException.class, fs::sync, "the lost write is reported by the next sync, not hidden");
            assertEquals(0, fs.stat(file).size(), "the last commit's state");
            fs.sync(); // reported once; nothing is pending now
            fs.close();
        });
    }

    @Test
    void aFailedGroupCommitIsReportedByTheNextFsync() throws Exception {
        SimulatedDevice device = new SimulatedDevice();
        ManualCommitTimer timer = new ManualCommitTimer();
        CowFileSystem fs = CowFileSystem.create(device, FsOptions.builder().commitIntervalMillis(50)
                .commitTimer(timer).store(StoreOptions.builder().checkAfterCommit(true).build()).build());
        long file = fs.mknod(ROOT, "f", 0644, 0, 0, 0);
        fs.sync();
        byte[] chunk = new byte[100_000];
        new Random(1).nextBytes(chunk);
        fs.write(file, 0, chunk, 0, chunk.length);
        device.failAfter(0);
        timer.tick(); // the group commit fails: the transaction is aborted, the write lost
        assertEquals(0, fs.stat(file).size(), "after the failed commit the file is as last committed");
        FsException error = assertThrows(FsException.class, () -> fs.fsync(file));
        assertTrue(error.getMessage().contains("lost"), error.getMessage());
        fs.close();
        try (CowFileSystem again = CowFileSystem.open(SimulatedDevice.ofImage(device.image()), options(0))) {
            assertEquals(0, again.stat(again.lookup(ROOT, "f")).size(), "the image holds the last commit");
        }
    }

    @Test
    void closingWhileAGroupCommitRunsLosesNothing() throws Exception {
        byte[] chunk = new byte[256 << 10];
        new Random(1).nextBytes(chunk);
        Random pause = new Random(2);
        for (int round = 0; round < 15; round++) {
            Path image = dir.resolve("image" + round);
            CowFileSystem fs = CowFileSystem.create(image, FsOptions.builder().commitIntervalMillis(20).build());
            long ino = fs.mknod(ROOT, "f", 0644, 0, 0, 0);
            long expected = 0;
            for (int i = 0; i < 32; i++) {
                fs.write(ino, expected, chunk, 0, chunk.length);
                expected += chunk.length;
            }
            Thread.sleep(pause.nextInt(25));
            fs.close();
            try (CowFileSystem again = CowFileSystem.open(image, FsOptions.builder().commitIntervalMillis(0).build())) {
                assertEquals(expected, again.stat(again.lookup(ROOT, "f")).size(), "round " + round);
            }
            java.nio.file.Files.delete(image);
        }
    }

    @Test
    void inodeNumbersOfLostFilesAreNotHandedOutAgain() throws Exception {
        SimulatedDevice device = new SimulatedDevice();
        try (CowFileSystem fs = CowFileSystem.create(device, options(0))) {
            long lost = fs.mknod(ROOT, "a", 0644, 0, 0, 0);
            fs.open(lost);
            device.setCapacityBytes(device.lengthBytes()); // the device is full
            byte[] big = new byte[64 << 20];
            FsException full = assertThrows(FsException.class, () -> fs.write(lost, 0, big, 0, big.length));
            assertEquals(Errno.ENOSPC, full.errno());
            device.setCapacityBytes(Long.MAX_VALUE);
            long fresh = fs.mknod(ROOT, "b", 0644, 0, 0, 0);
            assertNotEquals(lost, fresh, "a handle to the lost file must never reach the new one");
            assertThrows(FsException.class, () -> fs.stat(lost));
            fs.unlink(ROOT, "b");
            assertThrows(FsException.class, () -> fs.stat(fresh), "b had no open handle: freed, not orphaned");
            assertThrows(FsException.class, fs::sync, "the work lost to the full device is reported once");
            fs.sync();
            assertTrue(FsChecker.check(fs.store()).isEmpty());
        }
    }

    // ------------------------------------------------------------------ the checker sees metadata damage

    /** Damage is planted on purpose here, so the strict after-commit check is off and the checker is asked. */
    private static FsOptions lenient() {
        return FsOptions.builder().commitIntervalMillis(0)
                .store(StoreOptions.builder().checkAfterCommit(false).build()).build();
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void theCheckerReportsADetachedDirectoryCycle() throws Exception {
        try (CowFileSystem fs = CowFileSystem.create(new SimulatedDevice(), lenient())) {
            long a = fs.mkdir(ROOT, "a", 0755, 0, 0);
            long b = fs.mkdir(a, "b", 0755, 0, 0);
            fs.sync();
            var txn = fs.txn();
            long tree = InodeNumber.treeOf(ROOT);
            // Move a's entry from the root into its own child b, keeping counts and parent fields consistent.
            byte[] entry = txn.get(tree, FsKeys.of(ROOT, FsKeys.DIR_NAME, bytes("a")));
            txn.delete(tree, FsKeys.of(ROOT, FsKeys.DIR_NAME, bytes("a")));
            txn.delete(tree, FsKeys.of(ROOT, FsKeys.DIR_INDEX, Bytes.getLong(entry, 8)));
            fs.inodes().store(fs.inodes().load(ROOT).withNlink(2));
            Inode inB = fs.inodes().load(b);
            long position = inB.nextDirIndex();
            fs.inodes().store(inB.withNextDirIndex(position + 1).withNlink(3));
            byte[] byName = new byte[17];
            Bytes.putLong(byName, 0, a);
            Bytes.putLong(byName, 8, position);
            byName[16] = 4;
            txn.put(tree, FsKeys.of(b, FsKeys.DIR_NAME, bytes("a")), byName);
            byte[] byIndex = new byte[10];
            Bytes.putLong(byIndex, 0, a);
            byIndex[8] = 4;
            byIndex[9] = 'a';
            txn.put(tree, FsKeys.of(b, FsKeys.DIR_INDEX, position), byIndex);
            fs.inodes().store(fs.inodes().load(a).withParent(b));
            fs.sync();
            List<String> problems = FsChecker.check(fs.store());
            assertTrue(problems.stream().anyMatch(p -> p.contains("does not reach the root")), problems.toString());
        }
    }

    @Test
    void theCheckerReportsAMissingRootAndASymlinkWithoutTarget() throws Exception {
        try (CowFileSystem fs = CowFileSystem.create(new SimulatedDevice(), lenient())) {
            long link = fs.symlink(ROOT, "l", "target", 0, 0);
            fs.sync();
            fs.txn().delete(InodeNumber.treeOf(ROOT), FsKeys.of(link, FsKeys.SYMLINK));
            fs.sync();
            assertEquals(Errno.EIO, assertThrows(FsException.class, () -> fs.readlink(link)).errno());
            assertTrue(FsChecker.check(fs.store()).stream().anyMatch(p -> p.contains("has no target")));
            fs.txn().delete(InodeNumber.treeOf(ROOT), FsKeys.of(ROOT, FsKeys.INODE));
            fs.sync();
            assertTrue(FsChecker.check(fs.store()).stream().anyMatch(p -> p.contains("root directory")));
        }
    }
}
