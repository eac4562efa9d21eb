package dev.cowfs.fs;

import dev.cowfs.engine.StoreOptions;
import dev.cowfs.engine.device.SimulatedDevice;
import dev.cowfs.engine.space.SpaceAllocator;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static dev.cowfs.fs.SnapshotTest.readAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A capacity-bounded image filled up: ordinary writes get ENOSPC while the reserved pool is left, refused before
 * they change anything, and deleting files and snapshots always succeeds on the full image and makes room.
 */
class FullImageTest {
    private static final long ROOT = CowFileSystem.ROOT_INO;
    private static final long CAPACITY = 24L << 20;

    @Test
    void deletesSucceedOnAFullImageAndOrdinaryWritesStopFirst() throws Exception {
        FsOptions options = FsOptions.builder().commitIntervalMillis(0)
                .store(StoreOptions.builder().checkAfterCommit(true).capacityBytes(CAPACITY).build()).build();
        byte[] chunk = new byte[1 << 20];
        new Random(1).nextBytes(chunk);
        try (CowFileSystem fs = CowFileSystem.create(new SimulatedDevice(), options)) {
            assertEquals(CAPACITY / 4096, fs.statfs().totalBlocks());
            long kept = fs.mknod(ROOT, "kept", 0644, 0, 0, 0);
            fs.write(kept, 0, chunk, 0, 3 << 18);
            long shared = fs.mknod(ROOT, "shared", 0644, 0, 0, 0);
            for (int i = 0; i < 4; i++) {
                fs.write(shared, (long) i << 20, chunk, 0, chunk.length);
            }
            long snap = fs.createSnapshot(0, "snap", false);
            fs.truncate(shared, 0); // the snapshot alone holds those 4 MiB now
            List<Long> fillers = new ArrayList<>();
            FsException full = null;
            for (int i = 0; i < 40 && full == null; i++) {
                try {
                    long ino = fs.mknod(ROOT, "fill" + i, 0644, 0, 0, 0);
                    fillers.add(ino);
                    fs.write(ino, 0, chunk, 0, chunk.length);
                    fs.sync();
                } catch (FsException e) {
                    full = e;
                }
            }
            assertTrue(full != null, "24 MiB image took 40 MiB of writes");
            assertEquals(Errno.ENOSPC, full.errno(), full.getMessage());
            fs.sync(); // nothing already written was lost; the commit itself finds room in the pool
            assertArrayEquals(java.util.Arrays.copyOf(chunk, 3 << 18), readAll(fs, kept));

            // Deleting works on the full image: a snapshot, then files.
            fs.deleteSubvolume(snap);
            for (int i = 0; i < fillers.size() / 2; i++) {
                fs.unlink(ROOT, "fill" + i);
            }
            for (int i = 0; i < 200 && fs.isReleasingSpace(); i++) {
                fs.sync();
            }
            for (int i = 0; i < 6; i++) { // freed blocks become reusable once the ring has passed them
                fs.setTimes(ROOT, null, java.time.Instant.ofEpochSecond(i));
                fs.sync();
            }
            long again = fs.mknod(ROOT, "after-deletes", 0644, 0, 0, 0);
            fs.write(again, 0, chunk, 0, chunk.length);
            fs.sync();
            assertArrayEquals(chunk, readAll(fs, again));
            FsStat stat = fs.statfs();
            assertTrue(stat.usedBlocks() <= stat.totalBlocks() - SpaceAllocator.reservedPoolBlocks(stat.totalBlocks())
                    + 64, "used " + stat.usedBlocks() + " of " + stat.totalBlocks());
        }
    }

    @Test
    void aFullImageRefusesAWriteBeforeChangingAnything() throws Exception {
        FsOptions options = FsOptions.builder().commitIntervalMillis(0)
                .store(StoreOptions.builder().checkAfterCommit(true).capacityBytes(CAPACITY).build()).build();
        try (CowFileSystem fs = CowFileSystem.create(new SimulatedDevice(), options)) {
            long file = fs.mknod(ROOT, "file", 0644, 0, 0, 0);
            fs.write(file, 0, new byte[100], 0, 100);
            FsException refused = assertThrows(FsException.class,
                    () -> fs.write(file, 0, new byte[30 << 20], 0, 30 << 20));
            assertEquals(Errno.ENOSPC, refused.errno());
            fs.sync(); // the refused write did not break the transaction: the earlier write is committed
            assertEquals(100, fs.stat(file).size());
        }
    }

    /**
     * The hard case for the pool: a small image filled with many small files (many space records), a snapshot
     * of them, then the snapshot and every file deleted on the full image, every other file first (fragmented
     * free space): every commit must find room for its own records.
     */
    @Test
    void deletingThousandsOfSmallFilesAndTheirSnapshotOnAFullSmallImage() throws Exception {
        FsOptions options = FsOptions.builder().commitIntervalMillis(0)
                .store(StoreOptions.builder().checkAfterCommit(false).capacityBytes(8L << 20).build()).build();
        try (CowFileSystem fs = CowFileSystem.create(new SimulatedDevice(), options)) {
            byte[] data = new byte[3000];
            int created = 0;
            try {
                for (; created < 100_000; created++) {
                    long ino = fs.mknod(ROOT, "f" + created, 0644, 0, 0, 0);
                    fs.write(ino, 0, data, 0, 1000 + created % 2000);
                    if (created % 100 == 99) {
                        fs.sync();
                    }
                }
            } catch (FsException e) {
                assertEquals(Errno.ENOSPC, e.errno(), e.getMessage());
            }
            fs.sync();
            // Full to the last block writes may take: a snapshot needs a few, which deleting the newest files gives.
            for (int i = 0; i < 20; i++) {
                fs.unlink(ROOT, "f" + --created);
            }
            long snap = fs.createSnapshot(0, "snap", false);
            // While the snapshot holds every file, deleting live files frees nothing and copies shared metadata:
            // the snapshot goes first (that always works), then the files, every other one first.
            fs.deleteSubvolume(snap);
            for (int i = 0; i < created; i += 2) {
                fs.unlink(ROOT, "f" + i);
                if (i % 200 == 0) {
                    fs.sync();
                }
            }
            for (int i = 1; i < created; i += 2) {
                fs.unlink(ROOT, "f" + i);
                if (i % 200 == 1) {
                    fs.sync();
                }
            }
            for (int i = 0; i < 400 && fs.isReleasingSpace(); i++) {
                fs.sync();
            }
            for (int i = 0; i < 6; i++) {
                fs.setTimes(ROOT, null, java.time.Instant.ofEpochSecond(i));
                fs.sync();
            }
            assertEquals(0, fs.readdir(ROOT, 0, 10).size());
            assertTrue(FsChecker.check(fs.store()).isEmpty());
            assertTrue(fs.store().check().isClean(), fs.store().check().summary());
            System.out.println("full small image: " + created + " files made, all deleted; used "
                    + fs.statfs().usedBlocks() + " of " + fs.statfs().totalBlocks() + " blocks");
        }
    }
}
