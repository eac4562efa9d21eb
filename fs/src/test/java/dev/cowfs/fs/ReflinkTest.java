package dev.cowfs.fs;

import dev.cowfs.engine.StoreOptions;
import dev.cowfs.engine.device.SimulatedDevice;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

import static dev.cowfs.fs.FsSemanticsTest.assertErrno;
import static dev.cowfs.fs.SnapshotTest.readAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Reflink clones of files: shared data, isolated writes, the cost of writing into shared data. */
class ReflinkTest {
    private static final long ROOT = CowFileSystem.ROOT_INO;

    @Test
    void aCloneSharesDataButNotWritesWhileAHardLinkSharesBoth() throws Exception {
        byte[] data = new byte[3 << 20];
        new Random(1).nextBytes(data);
        try (CowFileSystem fs = CowFileSystem.create(new SimulatedDevice(), SnapshotTest.options())) {
            long src = fs.mknod(ROOT, "src", 0644, 0, 0, 0);
            fs.write(src, 0, data, 0, data.length);
            fs.write(src, 5_000_000, data, 0, 100); // a hole, then a tail
            long link = fs.lookup(ROOT, "src");
            fs.link(src, ROOT, "hard");
            long dst = fs.mknod(ROOT, "dst", 0600, 0, 0, 0);
            fs.write(dst, 0, new byte[10], 0, 10); // replaced by the clone
            fs.sync();
            long usedBefore = fs.statfs().usedBlocks();
            fs.reflink(src, dst);
            fs.sync();
            assertTrue(fs.statfs().usedBlocks() - usedBefore < 10, "a clone copied data");
            byte[] expected = readAll(fs, src);
            assertArrayEquals(expected, readAll(fs, dst));
            assertEquals(0600, fs.stat(dst).mode() & 07777, "the clone keeps its own attributes");

            byte[] patch = new byte[4096];
            Arrays.fill(patch, (byte) 9);
            fs.write(dst, 1_000_000, patch, 0, patch.length);
            fs.write(fs.lookup(ROOT, "hard"), 2_000_000, patch, 0, patch.length);
            byte[] srcNow = readAll(fs, src);
            byte[] dstNow = readAll(fs, dst);
            assertArrayEquals(Arrays.copyOfRange(patch, 0, 4096), Arrays.copyOfRange(srcNow, 2_000_000, 2_004_096),
                    "a hard link is the same inode");
            assertArrayEquals(Arrays.copyOfRange(expected, 1_000_000, 1_004_096),
                    Arrays.copyOfRange(srcNow, 1_000_000, 1_004_096), "the clone's write stays in the clone");
            assertArrayEquals(Arrays.copyOfRange(expected, 2_000_000, 2_004_096),
                    Arrays.copyOfRange(dstNow, 2_000_000, 2_004_096), "the original's write stays out of the clone");
            assertEquals(link, src);
            assertErrno(Errno.EISDIR, () -> fs.reflink(ROOT, dst));
        }
    }

    @Test
    void aCloneFromASnapshotIntoTheLiveTree() throws Exception {
        try (CowFileSystem fs = CowFileSystem.create(new SimulatedDevice(), SnapshotTest.options())) {
            long file = fs.mknod(ROOT, "file", 0644, 0, 0, 0);
            byte[] old = new byte[200_000];
            new Random(2).nextBytes(old);
            fs.write(file, 0, old, 0, old.length);
            long snap = fs.createSnapshot(0, "snap", false);
            fs.truncate(file, 0);
            long restored = fs.mknod(ROOT, "restored", 0644, 0, 0, 0);
            fs.reflink(fs.lookup(InodeNumber.rootOf(snap), "file"), restored);
            assertArrayEquals(old, readAll(fs, restored));
            assertErrno(Errno.EROFS, () -> fs.reflink(restored, fs.lookup(InodeNumber.rootOf(snap), "file")));
        }
    }

    /** A file of thousands of extents has its own extent tree: its clone writes what a one-extent clone does. */
    @Test
    void cloningAFileOfManyExtentsCostsWhatCloningOneExtentCosts() throws Exception {
        SimulatedDevice device = new SimulatedDevice();
        FsOptions options = FsOptions.builder().commitIntervalMillis(0)
                .store(StoreOptions.builder().checkAfterCommit(false).build()).build();
        long[] writes = new long[2];
        try (CowFileSystem fs = CowFileSystem.create(device, options)) {
            long one = fs.mknod(ROOT, "one", 0644, 0, 0, 0);
            fs.write(one, 0, new byte[1 << 20], 0, 1 << 20);
            long many = fs.mknod(ROOT, "many", 0644, 0, 0, 0);
            fs.truncate(many, 64L << 20);
            Random random = new Random(5);
            byte[] page = new byte[4096];
            for (int i = 0; i < 5000; i++) {
                random.nextBytes(page);
                fs.write(many, (long) random.nextInt(16384) * 4096, page, 0, page.length);
                if (i % 500 == 0) {
                    fs.sync();
                }
            }
            fs.sync();
            int k = 0;
            for (long src : new long[] {one, many}) {
                long dst = fs.mknod(ROOT, "clone-" + k, 0644, 0, 0, 0);
                fs.sync();
                fs.reflink(src, dst);
                device.clearLog();
                device.setRecording(true);
                fs.sync();
                device.setRecording(false);
                writes[k++] = device.log().stream()
                        .filter(op -> op instanceof SimulatedDevice.Write write && !write.isGrowth()).count();
                assertArrayEquals(readAll(fs, src), readAll(fs, dst));
            }
            assertTrue(FsChecker.check(fs.store()).isEmpty(), FsChecker.check(fs.store()).toString());
            assertTrue(fs.store().check().isClean(), fs.store().check().summary());
        }
        System.out.println("clone commit writes: 1 extent " + writes[0] + " blocks, ~5000 extents " + writes[1]);
        assertTrue(writes[1] <= writes[0] + 3, "clone of ~5000 extents wrote " + writes[1] + " blocks, of one "
                + writes[0]);
    }

    /** A file whose items moved into its own extent tree and that is deleted before any commit leaves nothing. */
    @Test
    void aFragmentedFileDeletedBeforeItsCommitLeavesNothingBehind() throws Exception {
        try (CowFileSystem fs = CowFileSystem.create(new SimulatedDevice(), SnapshotTest.options())) {
            fs.sync();
            long usedBefore = held(fs.statfs());
            long file = fs.mknod(ROOT, "fragmented", 0644, 0, 0, 0);
            byte[] page = new byte[4096];
            for (int i = 0; i < 40; i++) { // each write apart from the last: 40 items, so its own extent tree
                fs.write(file, i * 16_384L, page, 0, page.length);
            }
            fs.read(file, 0, new byte[1], 0, 1); // the last buffer goes out too, all in this transaction
            fs.unlink(ROOT, "fragmented"); // deleted before the extent tree was ever committed
            for (int i = 0; i < 8; i++) {
                fs.setTimes(ROOT, null, java.time.Instant.ofEpochSecond(i));
                fs.sync();
            }
            assertTrue(held(fs.statfs()) - usedBefore <= 2, "blocks left behind: "
                    + (held(fs.statfs()) - usedBefore));
        }
    }

    /** Blocks in use less those freed and waiting for reuse (statfs counts those as used until they are reusable). */
    private static long held(FsStat stat) {
        return stat.usedBlocks() - stat.waitingBlocks();
    }

    /** Seed lesson: a 4 KiB write into a 1 GiB cloned file adds one data block plus the tree path. */
    @Test
    void aPageWrittenIntoAClonedGibibyteCostsOneBlockAndAPath(@TempDir Path dir) throws Exception {
        FsOptions options = FsOptions.builder().commitIntervalMillis(0)
                .store(StoreOptions.builder().checkAfterCommit(false).build()).build();
        try (CowFileSystem fs = CowFileSystem.create(dir.resolve("image"), options)) {
            long src = fs.mknod(ROOT, "big", 0644, 0, 0, 0);
            byte[] chunk = new byte[1 << 20];
            new Random(3).nextBytes(chunk);
            for (int i = 0; i < 1024; i++) {
                fs.write(src, (long) i << 20, chunk, 0, chunk.length);
            }
            long dst = fs.mknod(ROOT, "clone", 0644, 0, 0, 0);
            fs.reflink(src, dst);
            fs.sync();
            for (int i = 0; i < 6; i++) { // let pending frees pass the ring so that used is settled
                fs.setTimes(ROOT, null, java.time.Instant.ofEpochSecond(i));
                fs.sync();
            }
            long before = fs.statfs().usedBlocks();
            fs.write(dst, 512L << 20, new byte[4096], 0, 4096);
            fs.sync();
            long added = fs.statfs().usedBlocks() - before;
            System.out.println("4 KiB write into a cloned 1 GiB file: " + added + " more blocks in use");
            assertTrue(added >= 1 && added <= 8, added + " blocks for one 4 KiB write");
            assertTrue(FsChecker.check(fs.store()).isEmpty(), FsChecker.check(fs.store()).toString());
            assertTrue(fs.store().check().isClean(), fs.store().check().summary());
        }
    }
}
