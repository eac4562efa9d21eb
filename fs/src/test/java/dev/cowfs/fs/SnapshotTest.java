package dev.cowfs.fs;

import dev.cowfs.engine.StoreOptions;
import dev.cowfs.engine.device.SimulatedDevice;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static dev.cowfs.fs.FsSemanticsTest.assertErrno;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Subvolumes, snapshots, writable clones, rollback and delete at the filesystem level. Strict mode: the engine
 * checker (reference counts across every tree) and the filesystem checker (every subvolume) after each commit.
 */
class SnapshotTest {
    private static final long ROOT = CowFileSystem.ROOT_INO;

    static FsOptions options() {
        return FsOptions.builder().commitIntervalMillis(0)
                .store(StoreOptions.builder().checkAfterCommit(true).dropReferencesPerCommit(64).build()).build();
    }

    static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    static byte[] readAll(CowFileSystem fs, long ino) throws Exception {
        byte[] buffer = new byte[(int) fs.stat(ino).size()];
        int read = fs.read(ino, 0, buffer, 0, buffer.length);
        assertEquals(buffer.length, read);
        return buffer;
    }

    static void write(CowFileSystem fs, long ino, byte[] data) throws Exception {
        fs.truncate(ino, 0);
        fs.write(ino, 0, data, 0, data.length);
    }

    @Test
    void aSnapshotKeepsWhatWasThereWhileTheLiveTreeChanges() throws Exception {
        byte[] large = new byte[300_000];
        new Random(1).nextBytes(large);
        try (CowFileSystem fs = CowFileSystem.create(new SimulatedDevice(), options())) {
            long dir = fs.mkdir(ROOT, "dir", 0755, 0, 0);
            long small = fs.mknod(dir, "small", 0644, 0, 0, 0);
            write(fs, small, bytes("before"));
            long big = fs.mknod(ROOT, "big", 0644, 0, 0, 0);
            write(fs, big, large);
            fs.symlink(ROOT, "link", "dir/small", 0, 0);
            fs.setXattr(small, "user.tag", bytes("one"), false, false);

            long snap = fs.createSnapshot(0, "snap", false);
            assertNotEquals(0, snap);

            write(fs, small, bytes("after, and longer"));
            byte[] patch = new byte[4096];
            Arrays.fill(patch, (byte) 7);
            fs.write(big, 8192, patch, 0, patch.length);
            fs.unlink(ROOT, "link");
            fs.rename(ROOT, "dir", ROOT, "moved", RenameMode.REPLACE);
            fs.setXattr(small, "user.tag", bytes("two"), false, false);
            fs.sync();

            long snapRoot = InodeNumber.rootOf(snap);
            long snapSmall = fs.resolve(snapRoot, "/dir/small", true);
            assertEquals(snap, InodeNumber.subvolumeOf(snapSmall));
            assertArrayEquals(bytes("before"), readAll(fs, snapSmall));
            assertArrayEquals(bytes("one"), fs.getXattr(snapSmall, "user.tag"));
            assertArrayEquals(large, readAll(fs, fs.lookup(snapRoot, "big")));
            assertEquals("dir/small", fs.readlink(fs.lookup(snapRoot, "link")));
            assertEquals(snapSmall, fs.resolve(snapRoot, "link", true));
            assertEquals(snapRoot, fs.lookup(fs.lookup(snapRoot, "dir"), ".."));

            assertArrayEquals(bytes("after, and longer"), readAll(fs, fs.resolve("/moved/small", true)));
            byte[] expected = large.clone();
            System.arraycopy(patch, 0, expected, 8192, patch.length);
            assertArrayEquals(expected, readAll(fs, fs.lookup(ROOT, "big")));
            assertErrno(Errno.ENOENT, () -> fs.lookup(ROOT, "link"));
            List<String> names = fs.readdir(snapRoot, 0, 100).stream().map(DirEntry::name).sorted().toList();
            assertEquals(List.of("big", "dir", "link"), names);
        }
    }

    @Test
    void snapshotsAreReadOnlyAndLinksOrRenamesNeverCrossSubvolumes() throws Exception {
        try (CowFileSystem fs = CowFileSystem.create(new SimulatedDevice(), options())) {
            long file = fs.mknod(ROOT, "file", 0644, 0, 0, 0);
            write(fs, file, bytes("x"));
            long snap = fs.createSnapshot(0, "ro", false);
            long snapRoot = InodeNumber.rootOf(snap);
            long snapFile = fs.lookup(snapRoot, "file");
            assertErrno(Errno.EROFS, () -> fs.write(snapFile, 0, bytes("y"), 0, 1));
            assertErrno(Errno.EROFS, () -> fs.truncate(snapFile, 0));
            assertErrno(Errno.EROFS, () -> fs.chmod(snapFile, 0600));
            assertErrno(Errno.EROFS, () -> fs.mknod(snapRoot, "new", 0644, 0, 0, 0));
            assertErrno(Errno.EROFS, () -> fs.unlink(snapRoot, "file"));
            assertErrno(Errno.EROFS, () -> fs.setXattr(snapFile, "user.a", bytes("b"), false, false));
            assertErrno(Errno.EXDEV, () -> fs.link(snapFile, ROOT, "alias"));
            long clone = fs.createSnapshot(snap, "rw", true);
            assertErrno(Errno.EXDEV, () -> fs.rename(InodeNumber.rootOf(clone), "file", ROOT, "stolen",
                    RenameMode.REPLACE));
            assertErrno(Errno.EEXIST, () -> fs.createSnapshot(0, "ro", false));
            assertErrno(Errno.EINVAL, () -> fs.createSnapshot(0, "a:b", false));
            assertErrno(Errno.ENOENT, () -> fs.createSnapshot(99, "none", false));
            assertErrno(Errno.EPERM, () -> fs.deleteSubvolume(0));
        }
    }

    @Test
    void aWritableCloneIsolatesWhileAHardLinkShares() throws Exception {
        try (CowFileSystem fs = CowFileSystem.create(new SimulatedDevice(), options())) {
            long file = fs.mknod(ROOT, "file", 0644, 0, 0, 0);
            write(fs, file, bytes("original"));
            fs.link(file, ROOT, "hardlink");
            long snap = fs.createSnapshot(0, "snap", false);
            long clone = fs.createSnapshot(snap, "clone", true);
            long cloneFile = fs.lookup(InodeNumber.rootOf(clone), "file");
            write(fs, cloneFile, bytes("changed in the clone"));
            fs.mknod(InodeNumber.rootOf(clone), "only-in-clone", 0644, 0, 0, 0);
            write(fs, file, bytes("changed live"));
            assertArrayEquals(bytes("changed live"), readAll(fs, fs.lookup(ROOT, "hardlink")));
            assertArrayEquals(bytes("original"), readAll(fs, fs.lookup(InodeNumber.rootOf(snap), "file")));
            assertArrayEquals(bytes("changed in the clone"), readAll(fs, cloneFile));
            assertArrayEquals(bytes("original"), readAll(fs, fs.lookup(InodeNumber.rootOf(snap), "hardlink")));
            assertArrayEquals(bytes("changed in the clone"),
                    readAll(fs, fs.lookup(InodeNumber.rootOf(clone), "hardlink")), "links share inside a clone too");
            assertErrno(Errno.ENOENT, () -> fs.lookup(InodeNumber.rootOf(snap), "only-in-clone"));
            SubvolumeInfo info = fs.subvolume(clone);
            assertEquals("clone", info.name());
            assertEquals(snap, info.parentId());
            assertTrue(info.snapshot() && !info.readOnly());
        }
    }

    @Test
    void rollbackRestoresTheSnapshotAndInodeNumbersNeverRepeat() throws Exception {
        try (CowFileSystem fs = CowFileSystem.create(new SimulatedDevice(), options())) {
            long a = fs.mknod(ROOT, "a", 0644, 0, 0, 0);
            write(fs, a, bytes("A1"));
            long snap = fs.createSnapshot(0, "base", false);
            write(fs, a, bytes("A2"));
            long b = fs.mknod(ROOT, "b", 0644, 0, 0, 0);
            long open = fs.mknod(ROOT, "held", 0644, 0, 0, 0);
            fs.open(open);
            assertErrno(Errno.EBUSY, () -> fs.rollback(0, snap));
            fs.release(open);
            fs.rollback(0, snap);
            assertArrayEquals(bytes("A1"), readAll(fs, fs.lookup(ROOT, "a")));
            assertErrno(Errno.ENOENT, () -> fs.lookup(ROOT, "b"));
            long c = fs.mknod(ROOT, "c", 0644, 0, 0, 0);
            assertTrue(c > b && c > open, "new inode " + c + " after rollback, handed out before: " + b + ", " + open);
            assertErrno(Errno.EROFS, () -> fs.rollback(snap, 0));
        }
    }

    @Test
    void filesOpenAndUnlinkedAreLeftOutOfSnapshots() throws Exception {
        try (CowFileSystem fs = CowFileSystem.create(new SimulatedDevice(), options())) {
            long ghost = fs.mknod(ROOT, "ghost", 0644, 0, 0, 0);
            write(fs, ghost, new byte[100_000]);
            fs.open(ghost);
            fs.unlink(ROOT, "ghost");
            long snap = fs.createSnapshot(0, "snap", false);
            assertErrno(Errno.ENOENT, () -> fs.stat(InodeNumber.inoOf(snap, InodeNumber.localIno(ghost))));
            assertEquals(100_000, fs.stat(ghost).size());
            fs.release(ghost);
        }
    }

    /**
     * A sync commits while freed blocks wait for the superblock ring to pass them: syncs until one commits nothing
     * (the ring's length of them at most), so that a later commit can only come from new work.
     */
    static void syncUntilNothingWaits(CowFileSystem fs) throws Exception {
        for (int i = 0; i <= dev.cowfs.engine.format.Limits.SUPERBLOCK_RING_SLOTS; i++) {
            long before = fs.store().generation();
            fs.sync();
            if (fs.store().generation() == before) {
                return;
            }
        }
        throw new AssertionError("syncs kept committing with nothing changed");
    }

    @Test
    void readingAWholeSnapshotWritesNothing() throws Exception {
        SimulatedDevice device = new SimulatedDevice();
        try (CowFileSystem fs = CowFileSystem.create(device, options())) {
            for (int i = 0; i < 50; i++) {
                long ino = fs.mknod(ROOT, "f" + i, 0644, 0, 0, 0);
                write(fs, ino, new byte[1000 * i]);
            }
            long snap = fs.createSnapshot(0, "snap", false);
            syncUntilNothingWaits(fs);
            long generation = fs.store().generation();
            device.clearLog();
            device.setRecording(true);
            for (DirEntry entry : fs.readdir(InodeNumber.rootOf(snap), 0, 1000)) {
                readAll(fs, entry.ino());
                fs.stat(entry.ino());
            }
            fs.sync();
            device.setRecording(false);
            assertEquals(generation, fs.store().generation(), "reading the snapshot made a commit");
            assertEquals(0, device.log().stream()
                    .filter(op -> op instanceof SimulatedDevice.Write write && !write.isGrowth()).count());
        }
    }

    @Test
    void deletingASnapshotReleasesWhatOnlyItHeldAndSurvivesReopen() throws Exception {
        SimulatedDevice device = new SimulatedDevice();
        byte[] data = new byte[1 << 20];
        new Random(5).nextBytes(data);
        long usedBefore;
        try (CowFileSystem fs = CowFileSystem.create(device, options())) {
            long file = fs.mknod(ROOT, "file", 0644, 0, 0, 0);
            write(fs, file, data);
            fs.sync();
            usedBefore = settledUsedBlocks(fs);
            long snap = fs.createSnapshot(0, "snap", false);
            byte[] other = new byte[1 << 20];
            new Random(6).nextBytes(other);
            write(fs, file, other); // the snapshot alone holds the old megabyte now
            long open = fs.lookup(InodeNumber.rootOf(snap), "file");
            fs.open(open);
            assertErrno(Errno.EBUSY, () -> fs.deleteSubvolume(snap));
            fs.release(open);
            fs.deleteSubvolume(snap);
            assertErrno(Errno.ENOENT, () -> fs.subvolume(snap));
            assertErrno(Errno.ENOENT, () -> fs.stat(open));
            assertEquals(1, fs.listSubvolumes().size());
        }
        try (CowFileSystem fs = CowFileSystem.open(SimulatedDevice.ofImage(device.image()), options())) {
            assertEquals(1, fs.listSubvolumes().size());
            long used = settledUsedBlocks(fs);
            // The file was rewritten whole: the same number of blocks as before the snapshot, give or take the
            // allocator's own records and the reference-count tree.
            assertTrue(Math.abs(used - usedBefore) <= 3, "used " + used + " blocks, before the snapshot " + usedBefore);
        }
    }

    /** Used blocks once dropped trees are released and pending-free blocks have passed the ring. */
    static long settledUsedBlocks(CowFileSystem fs) throws Exception {
        for (int i = 0; i < 200; i++) {
            fs.setTimes(ROOT, null, java.time.Instant.ofEpochSecond(i));
            fs.sync();
        }
        return fs.statfs().usedBlocks();
    }

    @Test
    void subvolumesAndSnapshotsSurviveReopenWithTheirRecords() throws Exception {
        SimulatedDevice device = new SimulatedDevice();
        long sub;
        long snap;
        try (CowFileSystem fs = CowFileSystem.create(device, options())) {
            sub = fs.createSubvolume("home");
            long file = fs.mknod(InodeNumber.rootOf(sub), "notes", 0600, 0, 0, 0);
            write(fs, file, bytes("in home"));
            snap = fs.createSnapshot(sub, "home@monday", false);
            write(fs, file, bytes("in home, later"));
        }
        try (CowFileSystem fs = CowFileSystem.open(SimulatedDevice.ofImage(device.image()), options())) {
            assertEquals(List.of(0L, sub, snap), fs.listSubvolumes().stream().map(SubvolumeInfo::id).toList());
            assertEquals(snap, fs.subvolumeId("home@monday"));
            assertArrayEquals(bytes("in home"), readAll(fs, fs.lookup(InodeNumber.rootOf(snap), "notes")));
            assertArrayEquals(bytes("in home, later"), readAll(fs, fs.lookup(InodeNumber.rootOf(sub), "notes")));
            assertTrue(fs.subvolume(snap).readOnly());
            long next = fs.mknod(InodeNumber.rootOf(sub), "more", 0644, 0, 0, 0);
            assertEquals(sub, InodeNumber.subvolumeOf(next));
        }
    }
}
