package dev.cowfs.fs;

import dev.cowfs.engine.Store;
import dev.cowfs.engine.StoreOptions;
import dev.cowfs.engine.device.CrashStates;
import dev.cowfs.engine.device.SimulatedDevice;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Compaction: what the trees reach in the image's tail moves down into the free space below, the file is cut,
 * every file, link, xattr, snapshot and clone reads back the same with its sharing kept, both checkers stay
 * clean, work goes on; and power lost at any write of a compaction leaves a committed image holding the same
 * data.
 */
class CompactionTest {
    private static final long ROOT = CowFileSystem.ROOT_INO;
    /** Small mapping chunks, so that a test image can be cut in MiB steps past the far superblock region. */
    private static final FsOptions OPTIONS = FsOptions.builder().commitIntervalMillis(0)
            .store(StoreOptions.builder().checkAfterCommit(false).mappingChunkBytes(1 << 20)
                    .growthStepBytes(1 << 20).build()).build();

    @TempDir
    Path dir;

    /**
     * Fills the image past the far superblock region at 64 MiB with files that are then deleted, after writing
     * the files that stay (so those lie in the tail): plain, sparse, compressed, inline, a hard link, a symlink,
     * an xattr, a reflinked copy, a read-only snapshot and a writable clone that then diverge.
     */
    static void fillThenThin(CowFileSystem fs, int earlyMiB, Random random) throws Exception {
        long early = fs.mkdir(ROOT, "early", 0755, 0, 0);
        long kept = fs.mkdir(ROOT, "kept", 0755, 0, 0);
        byte[] chunk = new byte[1 << 20];
        for (int i = 0; i < earlyMiB; i++) { // files that go, and files that stay spread among them
            random.nextBytes(chunk);
            long ino = fs.mknod(early, "e" + i, 0644, 0, 0, 0);
            fs.write(ino, 0, chunk, 0, chunk.length);
            long stays = fs.mknod(kept, "k" + i, 0644, 0, 0, 0);
            fs.write(stays, 0, chunk, 0, 20_000 + 1000 * i);
            if (i % 8 == 7) {
                fs.sync();
            }
        }
        fs.sync();
        long late = fs.mkdir(ROOT, "late", 0755, 0, 0);
        long a = fs.mknod(late, "a", 0644, 0, 0, 0);
        byte[] bytes = new byte[300_000];
        random.nextBytes(bytes);
        fs.write(a, 0, bytes, 0, bytes.length);
        fs.setXattr(a, "user.note", "kept".getBytes(), true, false);
        fs.link(a, late, "a-link");
        fs.symlink(late, "s", "a", 0, 0);
        long sparse = fs.mknod(late, "sparse", 0644, 0, 0, 0);
        fs.write(sparse, 5 << 20, bytes, 0, 10_000);
        long packed = fs.mknod(late, "z", 0644, 0, 0, 0);
        fs.setCompression(packed, true);
        byte[] text = "compaction keeps compressed extents as they are\n".repeat(4000).getBytes();
        fs.write(packed, 0, text, 0, text.length);
        long copy = fs.mknod(late, "a-copy", 0644, 0, 0, 0);
        fs.reflink(a, copy);
        for (int i = 0; i < 300; i++) {
            long small = fs.mknod(late, "small" + i, 0644, 0, 0, 0);
            fs.write(small, 0, bytes, i, 100);
        }
        fs.sync();
        for (int i = 0; i < earlyMiB; i++) {
            fs.unlink(early, "e" + i);
        }
        fs.rmdir(ROOT, "early");
        fs.sync();
        fs.createSnapshot(0, "snap", false);
        long clone = fs.createSnapshot(0, "work", true);
        fs.write(a, 1000, bytes, 0, 5000); // the live tree and its snapshot diverge
        long cloneRoot = fs.listSubvolumes().stream().filter(info -> info.id() == clone).findFirst().orElseThrow()
                .rootIno();
        fs.mknod(cloneRoot, "only-in-clone", 0644, 0, 0, 0);
        for (int i = 0; i < 4; i++) {
            fs.sync(); // the deleted files' blocks leave the ring's reach
            fs.setTimes(a, null, java.time.Instant.ofEpochSecond(1_000 + i));
        }
        fs.sync();
    }

    private static void assertClean(CowFileSystem fs, String what) throws Exception {
        ImageRollbackTest.assertClean(fs, what);
    }

    @Test
    void compactionMovesTheTailDownAndCutsTheFile() throws Exception {
        Path image = dir.resolve("compact.img");
        Map<String, String> expected;
        try (CowFileSystem fs = CowFileSystem.create(image, OPTIONS)) {
            fillThenThin(fs, 72, new Random(1));
            expected = SnapshotCrashTest.dumpAll(fs);
        }
        long before = Files.size(image);
        Store.Compacted result;
        long[] progressed = new long[1];
        try (Store store = Store.open(image, OPTIONS.store())) {
            result = store.compact(blocks -> progressed[0] += blocks);
        }
        assertNull(result.limitedBy(), "compaction went as far as the free space allows: " + result);
        assertEquals(before, result.lengthBefore());
        assertEquals(result.lengthAfter(), Files.size(image));
        assertTrue(result.lengthAfter() <= (66L << 20), "cut to the far region's floor: " + result);
        assertTrue(result.highWaterAfter() < result.highWaterBefore(), result.toString());
        assertTrue(result.nodesWritten() > 0 && result.extentBlocksMoved() > 0 && result.sharedMoved() > 0,
                "nodes, extents and shared blocks moved: " + result);
        assertTrue(progressed[0] > 0);
        try (CowFileSystem fs = CowFileSystem.open(image, OPTIONS)) {
            assertEquals(expected, SnapshotCrashTest.dumpAll(fs));
            assertClean(fs, "after compaction");
            Random random = new Random(2);
            for (int i = 0; i < 6; i++) { // work goes on, over blocks the old tail used and past the ring's window
                long ino = fs.mknod(ROOT, "after" + i, 0644, 0, 0, 0);
                byte[] bytes = new byte[random.nextInt(2 << 20)];
                random.nextBytes(bytes);
                fs.write(ino, 0, bytes, 0, bytes.length);
                fs.sync();
                assertClean(fs, "commit " + i + " after compaction");
            }
        }
        try (Store store = Store.open(image, OPTIONS.store())) {
            Store.Compacted again = store.compact(blocks -> { });
            assertNotNull(again.limitedBy(), "nothing left to gain: " + again);
            assertEquals(0, again.extentBlocksMoved());
        }
    }

    @Test
    void smallImagesMoveBlocksDownBelowTheCutOnlyWhenAsked() throws Exception {
        SimulatedDevice device = new SimulatedDevice();
        try (CowFileSystem fs = CowFileSystem.create(device, OPTIONS)) {
            long dir = fs.mkdir(ROOT, "d", 0755, 0, 0);
            Random random = new Random(7);
            for (int i = 0; i < 120; i++) {
                byte[] bytes = new byte[random.nextInt(6000)];
                random.nextBytes(bytes);
                long ino = fs.mknod(dir, "f" + i, 0644, 0, 0, 0);
                fs.write(ino, 0, bytes, 0, bytes.length);
            }
            fs.sync();
            for (int i = 0; i < 120; i += 3) {
                fs.unlink(dir, "f" + i);
            }
            fs.sync();
            Map<String, String> expected = SnapshotCrashTest.dumpAll(fs);
            Store.Compacted plain = fs.compact(blocks -> { });
            assertEquals(0, plain.nodesWritten(), "the file cannot be cut below 64 MiB: nothing moves");
            assertNotNull(plain.limitedBy());
            Store.Compacted below = fs.compact(blocks -> { }, true);
            assertTrue(below.nodesWritten() > 0 && below.highWaterAfter() < below.highWaterBefore(),
                    below.toString());
            assertEquals(expected, SnapshotCrashTest.dumpAll(fs));
            assertClean(fs, "after compaction below the cut");
            long ino = fs.mknod(ROOT, "after", 0644, 0, 0, 0);
            fs.write(ino, 0, new byte[50_000], 0, 50_000);
            fs.sync();
            assertClean(fs, "after more work");
        }
    }

    @Test
    void powerLostDuringCompactionLeavesTheSameDataCommitted() throws Exception {
        SimulatedDevice device = new SimulatedDevice();
        Map<String, String> expected;
        try (CowFileSystem fs = CowFileSystem.create(device, OPTIONS)) {
            fillThenThin(fs, 68, new Random(3));
            expected = SnapshotCrashTest.dumpAll(fs);
        }
        SimulatedDevice.Image initial = device.image();
        SimulatedDevice compacting = SimulatedDevice.ofImage(initial);
        compacting.clearLog();
        compacting.setRecording(true);
        Store.Compacted result;
        try (Store store = Store.open(compacting, OPTIONS.store())) {
            result = store.compact(blocks -> { });
        }
        assertTrue(result.lengthAfter() < result.lengthBefore(), result.toString());
        assertTrue(compacting.log().stream().anyMatch(op -> op instanceof SimulatedDevice.Shrink));
        CrashStates crashStates = new CrashStates(initial, compacting.log());
        int checked = 0;
        java.util.Set<Long> lengths = new java.util.TreeSet<>();
        for (int start : crashStates.epochStarts()) {
            for (CrashStates.State state : crashStates.statesInEpoch(start, new Random(5), 2)) {
                try (CowFileSystem recovered = CowFileSystem.open(state.device(), OPTIONS)) {
                    lengths.add(state.device().lengthBytes());
                    assertEquals(expected, SnapshotCrashTest.dumpAll(recovered), state.description());
                    assertClean(recovered, state.description());
                    if (checked % 8 == 0) {
                        long ino = recovered.mknod(ROOT, "after", 0644, 0, 0, 0);
                        recovered.write(ino, 0, new byte[70_000], 0, 70_000);
                        recovered.sync();
                        assertClean(recovered, state.description() + " after more work");
                    }
                } catch (Exception | Error e) {
                    fail(state.description() + ": " + e, e);
                }
                checked++;
            }
        }
        assertTrue(lengths.contains(result.lengthBefore()) && lengths.contains(result.lengthAfter()),
                "states before and after the cut: " + lengths);
        System.out.println("compaction crash states checked: " + checked + " over " + crashStates.epochStarts().size()
                + " epochs; " + result);
    }
}
