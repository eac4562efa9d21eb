package dev.cowfs.fs;

import dev.cowfs.engine.StoreOptions;
import dev.cowfs.engine.device.SimulatedDevice;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** POSIX details the random model test reaches rarely or not at all. */
class FsSemanticsTest {
    private static final long ROOT = CowFileSystem.ROOT_INO;

    static FsOptions options() {
        return FsOptions.builder().commitIntervalMillis(0)
                .store(StoreOptions.builder().checkAfterCommit(true).build()).build();
    }

    static void assertErrno(Errno expected, ThrowingRunnable action) {
        FsException error = assertThrows(FsException.class, action::run);
        assertEquals(expected, error.errno(), error.getMessage());
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    @Test
    void sparseTenGibFileCostsAFewBlocksAndSeeksFindItsData() throws Exception {
        SimulatedDevice device = new SimulatedDevice();
        try (CowFileSystem fs = CowFileSystem.create(device, options())) {
            long ino = fs.mknod(ROOT, "sparse", 0644, 0, 0, 0);
            fs.sync();
            long usedBefore = fs.statfs().usedBlocks();
            long tenGib = 10L << 30;
            fs.truncate(ino, tenGib);
            byte[] page = new byte[4096];
            new Random(1).nextBytes(page);
            long at = 5L << 30; // beyond 4 GiB: 64-bit offsets throughout
            fs.write(ino, at, page, 0, page.length);
            fs.sync();
            assertEquals(tenGib, fs.stat(ino).size());
            long used = fs.statfs().usedBlocks() - usedBefore;
            assertTrue(used < 16, "a 10 GiB sparse file with 4 KiB of data used " + used + " blocks");
            byte[] back = new byte[8192];
            assertEquals(8192, fs.read(ino, at - 4096, back, 0, back.length));
            assertArrayEquals(new byte[4096], Arrays.copyOf(back, 4096), "the hole before reads as zeros");
            assertArrayEquals(page, Arrays.copyOfRange(back, 4096, 8192));
            assertEquals(at, fs.seekData(ino, 0));
            assertEquals(0, fs.seekHole(ino, 0));
            assertEquals(at + 4096, fs.seekHole(ino, at));
            assertEquals(at + 100, fs.seekData(ino, at + 100));
            assertErrno(Errno.ENXIO, () -> fs.seekData(ino, at + 4096));
            assertErrno(Errno.ENXIO, () -> fs.seekHole(ino, tenGib));
            assertTrue(FsChecker.check(fs.store()).isEmpty());
        }
    }

    @Test
    void namesAndPathsAreCheckedWithTheRightErrors() throws Exception {
        try (CowFileSystem fs = CowFileSystem.create(new SimulatedDevice(), options())) {
            assertErrno(Errno.ENAMETOOLONG, () -> fs.mknod(ROOT, "x".repeat(256), 0644, 0, 0, 0));
            long ok = fs.mknod(ROOT, "é".repeat(127), 0644, 0, 0, 0); // 254 bytes of UTF-8
            assertEquals(ok, fs.lookup(ROOT, "é".repeat(127)));
            assertErrno(Errno.EINVAL, () -> fs.mkdir(ROOT, "a/b", 0755, 0, 0));
            assertErrno(Errno.EINVAL, () -> fs.mkdir(ROOT, "..", 0755, 0, 0));
            long file = fs.mknod(ROOT, "file", 0644, 0, 0, 0);
            assertErrno(Errno.ENOTDIR, () -> fs.mknod(file, "child", 0644, 0, 0, 0));
            assertErrno(Errno.ENOTDIR, () -> fs.resolve("/file/child", true));
            assertErrno(Errno.ENOENT, () -> fs.resolve("/missing/child", true));
            assertErrno(Errno.ENAMETOOLONG, () -> fs.resolve("/" + "a/".repeat(2048), true));
            fs.symlink(ROOT, "loop1", "loop2", 0, 0);
            fs.symlink(ROOT, "loop2", "loop1", 0, 0);
            assertErrno(Errno.ELOOP, () -> fs.resolve("/loop1", true));
            assertEquals(fs.lookup(ROOT, "loop1"), fs.resolve("/loop1", false));
            assertEquals(fs.lookup(ROOT, "loop1"), fs.lookupIfExists(ROOT, "loop1"));
            assertEquals(-1, fs.lookupIfExists(ROOT, "missing"), "a missing name without an exception");
            assertEquals(ROOT, fs.lookupIfExists(ROOT, ".."));
            assertErrno(Errno.ENOTDIR, () -> fs.lookupIfExists(file, "x"));
            long dir = fs.mkdir(ROOT, "dir", 0755, 0, 0);
            long sub = fs.mkdir(dir, "sub", 0755, 0, 0);
            fs.symlink(sub, "up", "../../file", 0, 0);
            assertEquals(file, fs.resolve("/dir/sub/up", true));
            assertEquals(dir, fs.resolve("/dir/sub/..", true));
            assertEquals(file, fs.resolve(sub, "up", true), "relative to a directory");
            assertEquals(sub, fs.resolve(dir, "sub/./", true));
            assertEquals(file, fs.resolve(sub, "/file", true), "an absolute path ignores the start");
            assertErrno(Errno.EISDIR, () -> fs.write(dir, 0, new byte[1], 0, 1));
            assertErrno(Errno.EISDIR, () -> fs.unlink(ROOT, "dir"));
            assertErrno(Errno.ENOTEMPTY, () -> fs.rmdir(ROOT, "dir"));
            assertErrno(Errno.ENOTDIR, () -> fs.rmdir(ROOT, "file"));
            assertErrno(Errno.EPERM, () -> fs.link(dir, ROOT, "dir-link"));
            assertErrno(Errno.EINVAL, () -> fs.rename(ROOT, "dir", sub, "inside", RenameMode.REPLACE));
            assertErrno(Errno.EINVAL, () -> fs.rename(ROOT, "dir", dir, "self", RenameMode.REPLACE));
            assertErrno(Errno.ENODATA, () -> fs.getXattr(file, "user.none"));
            assertErrno(Errno.E2BIG, () -> fs.setXattr(file, "user.big", new byte[65537], false, false));
            fs.setXattr(file, "user.max", new byte[65536], true, false);
            assertErrno(Errno.EEXIST, () -> fs.setXattr(file, "user.max", new byte[1], true, false));
            assertErrno(Errno.ENODATA, () -> fs.setXattr(file, "user.other", new byte[1], false, true));
            assertEquals(List.of("user.max"), fs.listXattrs(file));
            fs.sync();
            assertTrue(FsChecker.check(fs.store()).isEmpty(), FsChecker.check(fs.store()).toString());
        }
    }

    /** Setting or removing an extended attribute changes the inode's change time, and nothing else of it. */
    @Test
    void anAttributeChangeSetsTheChangeTime() throws Exception {
        java.util.concurrent.atomic.AtomicLong seconds = new java.util.concurrent.atomic.AtomicLong(1_000);
        java.time.Clock ticking = new java.time.Clock() {
            @Override
            public java.time.ZoneId getZone() {
                return java.time.ZoneOffset.UTC;
            }

            @Override
            public java.time.Clock withZone(java.time.ZoneId zone) {
                return this;
            }

            @Override
            public java.time.Instant instant() {
                return java.time.Instant.ofEpochSecond(seconds.get());
            }
        };
        try (CowFileSystem fs = CowFileSystem.create(new SimulatedDevice(),
                FsOptions.builder().commitIntervalMillis(0).clock(ticking).build())) {
            long file = fs.mknod(ROOT, "file", 0644, 0, 0, 0);
            seconds.set(2_000);
            fs.setXattr(file, "user.tag", new byte[] {1}, false, false);
            assertEquals(2_000, fs.stat(file).ctimeSeconds(), "setxattr");
            assertEquals(1_000, fs.stat(file).mtimeSeconds());
            seconds.set(3_000);
            fs.removeXattr(file, "user.tag");
            assertEquals(3_000, fs.stat(file).ctimeSeconds(), "removexattr");
        }
    }

    /**
     * POSIX ACLs are refused, not stored: an access ACL accepted as plain bytes would leave the mode unchanged
     * (cp -a sets a copy's final mode that way) and claim permissions nothing enforces.
     */
    @Test
    void systemNamespaceAttributesArePosixAclsAndAreRefusedNotStored() throws Exception {
        try (CowFileSystem fs = CowFileSystem.create(new SimulatedDevice(), options())) {
            long file = fs.mknod(ROOT, "file", 0100700, 0, 0, 0);
            byte[] minimalAcl = {2, 0, 0, 0, 1, 0, 6, 0, -1, -1, -1, -1, 4, 0, 4, 0, -1, -1, -1, -1, 32, 0, 4, 0,
                    -1, -1, -1, -1};
            for (String name : List.of("system.posix_acl_access", "system.posix_acl_default", "system.other")) {
                assertErrno(Errno.EOPNOTSUPP, () -> fs.setXattr(file, name, minimalAcl, false, false));
                assertErrno(Errno.EOPNOTSUPP, () -> fs.getXattr(file, name));
                assertErrno(Errno.EOPNOTSUPP, () -> fs.findXattr(file, name));
                assertErrno(Errno.EOPNOTSUPP, () -> fs.removeXattr(file, name));
            }
            assertEquals(List.of(), fs.listXattrs(file));
            assertEquals(0100700, fs.stat(file).mode(), "the mode is untouched");
            fs.setXattr(file, "user.systematic", new byte[1], false, false);
            assertEquals(List.of("user.systematic"), fs.listXattrs(file));
        }
    }

    @Test
    void anUnlinkedOpenFileKeepsItsDataUntilReleasedOrReclaimedAfterACrash() throws Exception {
        SimulatedDevice device = new SimulatedDevice();
        byte[] data = new byte[300_000];
        new Random(2).nextBytes(data);
        long ino;
        long usedWithFile;
        try (CowFileSystem fs = CowFileSystem.create(device, options())) {
            ino = fs.mknod(ROOT, "doomed", 0644, 0, 0, 0);
            fs.write(ino, 0, data, 0, data.length);
            fs.open(ino);
            fs.unlink(ROOT, "doomed");
            fs.sync();
            assertErrno(Errno.ENOENT, () -> fs.lookup(ROOT, "doomed"));
            byte[] back = new byte[data.length];
            assertEquals(data.length, fs.read(ino, 0, back, 0, back.length));
            assertArrayEquals(data, back, "still readable through the open handle");
            fs.write(ino, data.length, new byte[10], 0, 10); // and writable
            assertEquals(0, fs.stat(ino).nlink());
            assertTrue(FsChecker.check(fs.store()).isEmpty());
            usedWithFile = fs.statfs().usedBlocks();
            // The process dies here: no release.
        }
        try (CowFileSystem fs = CowFileSystem.open(SimulatedDevice.ofImage(device.image()), options())) {
            assertErrno(Errno.ENOENT, () -> fs.stat(ino));
            assertTrue(FsChecker.check(fs.store()).isEmpty());
            assertTrue(fs.store().check().isClean(), fs.store().check().summary());
            for (int i = 0; i < 4; i++) {
                fs.sync(); // freed blocks count as used until the superblock ring has passed them: syncs move it on
            }
            long used = fs.statfs().usedBlocks();
            assertTrue(used < usedWithFile - 70, "the orphan's 74 data blocks were freed at open: " + usedWithFile
                    + " -> " + used + " blocks used");
        }
        try (CowFileSystem fs = CowFileSystem.create(new SimulatedDevice(), options())) {
            long other = fs.mknod(ROOT, "released", 0644, 0, 0, 0);
            fs.write(other, 0, data, 0, data.length);
            fs.open(other);
            fs.open(other);
            fs.unlink(ROOT, "released");
            fs.release(other);
            assertEquals(0, fs.stat(other).nlink(), "one handle still open");
            fs.release(other);
            assertErrno(Errno.ENOENT, () -> fs.stat(other));
            assertErrno(Errno.EBADF, () -> fs.release(other));
            fs.sync();
            assertTrue(FsChecker.check(fs.store()).isEmpty());
        }
    }

    @Test
    void specialFilesKeepTheirTypeAndDeviceNumberAndCompressionIsChosenPerFile() throws Exception {
        SimulatedDevice device = new SimulatedDevice();
        try (CowFileSystem fs = CowFileSystem.create(device, options())) {
            long fifo = fs.mknod(ROOT, "fifo", Inode.S_IFIFO | 0600, 0, 0, 0);
            long chr = fs.mknod(ROOT, "null", Inode.S_IFCHR | 0666, (1L << 8) | 3, 0, 0);
            long sock = fs.mknod(ROOT, "sock", Inode.S_IFSOCK | 0755, 0, 0, 0);
            assertErrno(Errno.EINVAL, () -> fs.mknod(ROOT, "dir", Inode.S_IFDIR | 0755, 0, 0, 0));
            assertErrno(Errno.EINVAL, () -> fs.write(fifo, 0, new byte[1], 0, 1));
            long plain = fs.mknod(ROOT, "plain", 0644, 0, 0, 0);
            fs.setCompression(plain, true);
            byte[] text = "abcabcabc".repeat(10_000).getBytes();
            fs.write(plain, 0, text, 0, text.length);
            fs.sync();
            assertErrno(Errno.EINVAL, () -> fs.setCompression(fifo, true));
        }
        try (CowFileSystem fs = CowFileSystem.open(SimulatedDevice.ofImage(device.image()), options())) {
            assertEquals(Inode.S_IFIFO, fs.stat(fs.lookup(ROOT, "fifo")).type());
            Inode chr = fs.stat(fs.lookup(ROOT, "null"));
            assertEquals(Inode.S_IFCHR, chr.type());
            assertEquals((1L << 8) | 3, chr.rdev());
            assertEquals(0666, chr.mode() & 07777);
            assertEquals(Inode.S_IFSOCK, fs.stat(fs.lookup(ROOT, "sock")).type());
            Inode plain = fs.stat(fs.lookup(ROOT, "plain"));
            assertEquals(Inode.FLAG_COMPRESS, plain.flags() & Inode.FLAG_COMPRESS);
            try (var read = fs.store().beginRead()) {
                FileData.Item item = FileData.Item.decode(plain.ino(), 0, read.get(
                        CowFileSystem.DEFAULT_SUBVOLUME_TREE, FsKeys.of(plain.ino(), FsKeys.EXTENT, 0)));
                assertEquals(FileData.COMPRESSION_LZ4, item.compression());
            }
            assertTrue(FsChecker.check(fs.store()).isEmpty());
        }
    }

    @Test
    void hardLinksShareOneInodeAndReaddirPositionsStayStable() throws Exception {
        try (CowFileSystem fs = CowFileSystem.create(new SimulatedDevice(), options())) {
            long file = fs.mknod(ROOT, "one", 0644, 0, 0, 0);
            fs.link(file, ROOT, "two");
            fs.write(fs.lookup(ROOT, "two"), 0, "shared".getBytes(), 0, 6);
            byte[] back = new byte[6];
            fs.read(fs.lookup(ROOT, "one"), 0, back, 0, 6);
            assertEquals("shared", new String(back), "a write through one link shows through the other");
            assertEquals(2, fs.stat(file).nlink());
            long dir = fs.mkdir(ROOT, "listing", 0755, 0, 0);
            for (int i = 0; i < 100; i++) {
                fs.mknod(dir, "e" + i, 0644, 0, 0, 0);
            }
            List<DirEntry> first = fs.readdir(dir, 0, 40);
            long resume = first.get(first.size() - 1).nextPosition();
            // Changes while the listing is paused: entries already listed or not yet listed are removed or added.
            fs.unlink(dir, first.get(3).name());
            fs.unlink(dir, "e90");
            fs.mknod(dir, "late", 0644, 0, 0, 0);
            List<DirEntry> rest = fs.readdir(dir, resume, Integer.MAX_VALUE);
            java.util.Set<String> seen = new java.util.HashSet<>();
            for (DirEntry entry : first) {
                assertTrue(seen.add(entry.name()));
            }
            for (DirEntry entry : rest) {
                assertTrue(seen.add(entry.name()), "repeated " + entry.name());
            }
            for (int i = 0; i < 100; i++) {
                if (i != 90) {
                    assertTrue(seen.contains("e" + i), "skipped e" + i);
                }
            }
            assertTrue(!seen.contains("e90") && seen.contains("late"));
        }
    }
}
