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

    /**
     * Range reflinks against a byte model: random ranges (block-aligned and not, same file and overlapping, across
     * holes, compressed and plain extents, past the end of the target) copy exactly what a byte copy would; the
     * shared ranges cost no data blocks; fsck finds every extent reference right afterwards.
     */
    @Test
    void rangeReflinksMatchAByteCopyAndShareTheirExtents() throws Exception {
        FsOptions options = FsOptions.builder().commitIntervalMillis(0)
                .store(StoreOptions.builder().checkAfterCommit(false).build()).build();
        Random random = new Random(24);
        try (CowFileSystem fs = CowFileSystem.create(new SimulatedDevice(), options)) {
            long[] files = new long[3];
            byte[][] model = new byte[3][];
            for (int i = 0; i < files.length; i++) {
                files[i] = fs.mknod(ROOT, "f" + i, 0644, 0, 0, 0);
                fs.setCompression(files[i], i == 2);
                byte[] data = new byte[(1 << 20) + random.nextInt(1 << 20)];
                for (int at = 0; at < data.length; at += 4096) { // half compressible, half random
                    if (random.nextBoolean()) {
                        byte[] page = new byte[Math.min(4096, data.length - at)];
                        random.nextBytes(page);
                        System.arraycopy(page, 0, data, at, page.length);
                    }
                }
                fs.write(files[i], 0, data, 0, data.length);
                fs.punchHole(files[i], 300_000, 200_000, 0);
                java.util.Arrays.fill(data, 300_000, 500_000, (byte) 0);
                model[i] = data;
            }
            for (int step = 0; step < 200; step++) {
                int a = random.nextInt(3);
                int b = random.nextInt(3);
                boolean aligned = random.nextInt(4) != 0;
                long srcOffset = random.nextInt(model[a].length);
                long dstOffset = random.nextInt(model[b].length + 100_000);
                if (aligned) {
                    srcOffset &= ~4095L;
                    dstOffset &= ~4095L;
                }
                long length = random.nextInt(600_000);
                long shared = fs.reflinkRange(files[a], srcOffset, files[b], dstOffset, length);
                long n = Math.max(0, Math.min(length, model[a].length - srcOffset));
                assertEquals(n, shared, "step " + step);
                byte[] source = java.util.Arrays.copyOfRange(model[a], (int) srcOffset, (int) (srcOffset + n));
                byte[] target = java.util.Arrays.copyOf(model[b], (int) Math.max(model[b].length, dstOffset + n));
                System.arraycopy(source, 0, target, (int) dstOffset, (int) n);
                model[b] = target;
                if (step % 5 == 0) { // writes between keep the shared extents honest
                    byte[] patch = new byte[random.nextInt(20_000) + 1];
                    random.nextBytes(patch);
                    int at = random.nextInt(model[b].length);
                    fs.write(files[b], at, patch, 0, patch.length);
                    model[b] = java.util.Arrays.copyOf(model[b], Math.max(model[b].length, at + patch.length));
                    System.arraycopy(patch, 0, model[b], at, patch.length);
                }
                if (step % 20 == 0) {
                    fs.sync();
                }
                for (int i = 0; i < files.length; i++) {
                    assertArrayEquals(model[i], readAll(fs, files[i]), "file " + i + " after step " + step);
                }
            }
            fs.sync();
            assertTrue(FsChecker.check(fs.store()).isEmpty(), FsChecker.check(fs.store()).toString());
            assertTrue(fs.store().check().isClean(), fs.store().check().summary());

            long big = fs.mknod(ROOT, "big", 0644, 0, 0, 0);
            byte[] chunk = new byte[1 << 20];
            random.nextBytes(chunk);
            for (int i = 0; i < 64; i++) {
                fs.write(big, (long) i << 20, chunk, 0, chunk.length);
            }
            long copy = fs.mknod(ROOT, "copy", 0644, 0, 0, 0);
            fs.sync();
            long before = fs.statfs().usedBlocks();
            assertEquals(60L << 20, fs.reflinkRange(big, 4096, copy, 4096, 60L << 20));
            fs.sync();
            long added = fs.statfs().usedBlocks() - before;
            assertTrue(added < 20, added + " blocks for a 60 MiB range reflink");
            assertEquals(-1, fs.reflinkRange(fs.lookup(ROOT, "f0"), 0, small(fs), 0, 4096),
                    "a file with inline data is copied, not shared");
            assertErrno(Errno.EISDIR, () -> fs.reflinkRange(ROOT, 0, copy, 0, 4096));
            assertErrno(Errno.EINVAL, () -> fs.reflinkRange(big, -1, copy, 0, 4096));
        }
    }

    private static long small(CowFileSystem fs) throws Exception {
        long ino = fs.mknod(ROOT, "small", 0644, 0, 0, 0);
        fs.write(ino, 0, new byte[100], 0, 100);
        return ino;
    }
}
