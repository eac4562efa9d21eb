package dev.cowfs.fs;

import dev.cowfs.engine.ReadTransaction;
import dev.cowfs.engine.StoreOptions;
import dev.cowfs.engine.device.SimulatedDevice;
import dev.cowfs.engine.space.SpaceAllocator;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static dev.cowfs.fs.SnapshotTest.readAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Space freed by a delete waits for the superblock ring to pass it before it is reused (deferred reuse), but a
 * writer that needs it, an idle filesystem and a sync all move the ring on: ENOSPC comes only when the space is
 * truly held. And statfs tells the truth about it at every moment: what the open transaction took counts at once,
 * freed space counts as used until it is reusable.
 */
class FreedSpaceTest {
    private static final long ROOT = CowFileSystem.ROOT_INO;
    private static final long CAPACITY = 64L << 20;
    private static final int FILE_BYTES = 40 << 20;

    private static FsOptions options(long commitIntervalMillis) {
        return FsOptions.builder().commitIntervalMillis(commitIntervalMillis)
                .store(StoreOptions.builder().checkAfterCommit(true).capacityBytes(CAPACITY).build()).build();
    }

    private static void writeFile(CowFileSystem fs, long ino, byte[] data) throws Exception {
        for (int at = 0; at < data.length; at += 1 << 20) {
            fs.write(ino, at, data, at, Math.min(1 << 20, data.length - at));
        }
    }

    /** The cycle that failed with ENOSPC after 128 KiB: rm a committed 40 MiB file of a 64 MiB image, write again. */
    @Test
    void removeThenRewriteFortyOfSixtyFourMebibytesTwentyTimesInARow() throws Exception {
        byte[] data = new byte[FILE_BYTES];
        new Random(7).nextBytes(data);
        try (CowFileSystem fs = CowFileSystem.create(new SimulatedDevice(), options(0))) {
            long ino = fs.mknod(ROOT, "big", 0644, 0, 0, 0);
            writeFile(fs, ino, data);
            fs.fsync(ino);
            for (int cycle = 0; cycle < 20; cycle++) {
                fs.unlink(ROOT, "big");
                data[cycle] ^= 1;
                ino = fs.mknod(ROOT, "big", 0644, 0, 0, 0);
                writeFile(fs, ino, data); // no sync in between: the write itself makes the freed space reusable
                fs.fsync(ino);
            }
            assertArrayEquals(data, readAll(fs, ino));
        }
    }

    /** Open readers truly hold freed space: a write that needs it gets ENOSPC, and gets the space once they end. */
    @Test
    void spaceAnOpenReaderHoldsGivesEnospcUntilTheReaderEnds() throws Exception {
        byte[] data = new byte[FILE_BYTES];
        new Random(8).nextBytes(data);
        try (CowFileSystem fs = CowFileSystem.create(new SimulatedDevice(), options(0))) {
            long ino = fs.mknod(ROOT, "big", 0644, 0, 0, 0);
            writeFile(fs, ino, data);
            fs.sync();
            long again;
            try (ReadTransaction reader = fs.store().beginRead()) {
                fs.unlink(ROOT, "big");
                again = fs.mknod(ROOT, "again", 0644, 0, 0, 0);
                long target = again;
                FsException refused = assertThrows(FsException.class, () -> writeFile(fs, target, data));
                assertEquals(Errno.ENOSPC, refused.errno());
                assertTrue(refused.getMessage().contains("kept for open readers"), refused.getMessage());
                assertTrue(reader.generation() > 0);
            }
            fs.truncate(again, 0);
            writeFile(fs, again, data);
            fs.sync();
            assertArrayEquals(data, readAll(fs, again));
        }
    }

    /**
     * With nothing else to commit, the group committer moves the ring on until freed space is reusable, then stops
     * committing. The test drives the timer's ticks itself.
     */
    @Test
    void anIdleFilesystemMakesFreedSpaceReusableOnItsTimer() throws Exception {
        byte[] data = new byte[FILE_BYTES];
        new Random(9).nextBytes(data);
        ManualCommitTimer timer = new ManualCommitTimer();
        FsOptions options = FsOptions.builder().commitIntervalMillis(50).commitTimer(timer)
                .store(StoreOptions.builder().checkAfterCommit(true).capacityBytes(CAPACITY).build()).build();
        try (CowFileSystem fs = CowFileSystem.create(new SimulatedDevice(), options)) {
            long ino = fs.mknod(ROOT, "big", 0644, 0, 0, 0);
            writeFile(fs, ino, data);
            fs.fsync(ino);
            FsStat full = fs.statfs();
            fs.unlink(ROOT, "big");
            FsStat afterRemove = fs.statfs();
            assertTrue(afterRemove.usedBlocks() >= full.usedBlocks() - 64,
                    "freed blocks are not free yet: used " + afterRemove.usedBlocks() + ", " + full.usedBlocks()
                            + " before the rm");
            timer.tick(); // commits the removal
            timer.tick(); // idle: moves the ring past what the removal freed
            FsStat now = fs.statfs();
            assertTrue(now.usedBlocks() <= full.usedBlocks() - FILE_BYTES / 4096,
                    "two ticks and freed space still waits: used " + now.usedBlocks() + " blocks, waiting "
                            + now.waitingBlocks());
            assertTrue(now.waitingBlocks() < 64, "waiting " + now.waitingBlocks());
            long generation = now.generation();
            for (int i = 0; i < 10; i++) {
                timer.tick(); // once nothing is left to release, an idle tick commits nothing
            }
            assertTrue(fs.statfs().generation() <= generation + 1,
                    "idle commits went on: " + generation + " -> " + fs.statfs().generation());
        }
    }

    /**
     * statfs counts the open transaction's allocations and buffered data at once, counts freed blocks as used until
     * they are reusable (each sync on a clean tree moves the superblock ring on, the ring's length of them makes
     * them so), keeps the pool for deletes out of what is available, and reports the capacity the image was made
     * with.
     */
    @Test
    void statfsCountsUncommittedWritesAndWaitingBlocksAsUsed() throws Exception {
        byte[] data = new byte[16 << 20];
        new Random(10).nextBytes(data);
        try (CowFileSystem fs = CowFileSystem.create(new SimulatedDevice(), options(0))) {
            FsStat empty = fs.statfs();
            assertEquals(CAPACITY / 4096, empty.totalBlocks());
            assertEquals(empty.totalBlocks() - empty.usedBlocks(), empty.freeBlocks());
            assertEquals(empty.freeBlocks() - SpaceAllocator.reservedPoolBlocks(empty.totalBlocks()),
                    empty.availableBlocks());
            long ino = fs.mknod(ROOT, "f", 0644, 0, 0, 0);
            writeFile(fs, ino, data);
            FsStat written = fs.statfs(); // nothing committed yet
            assertTrue(written.usedBlocks() - empty.usedBlocks() >= data.length / 4096,
                    "used " + empty.usedBlocks() + " -> " + written.usedBlocks() + " after 16 MiB not yet committed");
            fs.sync();
            fs.unlink(ROOT, "f");
            fs.fsync(ROOT); // one commit: the file's blocks are pending, not free
            FsStat pending = fs.statfs();
            assertTrue(pending.waitingBlocks() >= data.length / 4096, "waiting " + pending.waitingBlocks());
            assertTrue(pending.usedBlocks() >= written.usedBlocks() - 16, "used " + pending.usedBlocks());
            long generation = pending.generation();
            for (int i = 0; i < dev.cowfs.engine.format.Limits.SUPERBLOCK_RING_SLOTS; i++) {
                fs.sync();
                assertEquals(generation + i + 1, fs.statfs().generation(), "a sync of a clean tree with freed "
                        + "blocks waiting commits once");
                if (fs.statfs().waitingBlocks() < 64) {
                    break;
                }
            }
            FsStat released = fs.statfs();
            assertTrue(released.waitingBlocks() < 64, "waiting after syncs " + released.waitingBlocks());
            fs.sync();
            assertEquals(released.generation(), fs.statfs().generation(), "with nothing waiting, sync has no work");
            assertTrue(released.usedBlocks() <= empty.usedBlocks() + 64,
                    "used " + released.usedBlocks() + " after sync, " + empty.usedBlocks() + " when empty");
        }
    }

    /** An image without a capacity reports what it spans plus what its host can still give it. */
    @Test
    void aGrowingImageReportsItsHostsRoomAsItsSize() throws Exception {
        SimulatedDevice device = new SimulatedDevice();
        device.setCapacityBytes(256L << 20);
        FsOptions options = FsOptions.builder().commitIntervalMillis(0).build();
        try (CowFileSystem fs = CowFileSystem.create(device, options)) {
            FsStat stat = fs.statfs();
            assertTrue(stat.growing());
            long spanned = fs.store().superblock().highWaterBlock();
            assertEquals(spanned + (256L << 20) / 4096 - device.lengthBytes() / 4096, stat.totalBlocks());
            assertEquals(stat.freeBlocks(), stat.availableBlocks());
        }
    }
}
