package dev.cowfs.fs;

import dev.cowfs.engine.device.SimulatedDevice;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Referenced, exclusive and shared bytes of subvolumes, snapshots and files, as sharing is made and broken (the
 * storage version of shared and private pages after fork). The checker proves the subvolume figures against
 * reachability after every commit (strict mode); these tests pin what the figures mean.
 */
class SpaceAccountingTest {
    private static final long ROOT = CowFileSystem.ROOT_INO;
    private static final int MIB = 1 << 20;

    @Test
    void sharingIsVisibleInExclusiveAndSharedBytes() throws Exception {
        byte[] data = new byte[MIB];
        new Random(1).nextBytes(data);
        try (CowFileSystem fs = CowFileSystem.create(new SimulatedDevice(), SnapshotTest.options())) {
            long file = fs.mknod(ROOT, "file", 0644, 0, 0, 0);
            fs.write(file, 0, data, 0, data.length);
            SpaceUsage alone = fs.space(0);
            assertEquals(alone.referencedBytes(), alone.exclusiveBytes(), "nothing shared yet");
            SpaceUsage fileAlone = fs.fileSpace(file);
            assertEquals(MIB, fileAlone.referencedBytes());
            assertEquals(MIB, fileAlone.exclusiveBytes());

            long snap = fs.createSnapshot(0, "snap", false);
            SpaceUsage live = fs.space(0);
            SpaceUsage frozen = fs.space(snap);
            assertEquals(0, live.exclusiveBytes(), "a fresh snapshot shares everything");
            assertEquals(0, frozen.exclusiveBytes());
            assertEquals(live.referencedBytes(), frozen.referencedBytes());
            assertEquals(0, fs.fileSpace(file).exclusiveBytes());
            assertEquals(MIB, fs.fileSpace(file).sharedBytes());

            long second = fs.mknod(ROOT, "second", 0644, 0, 0, 0);
            fs.write(second, 0, data, 0, data.length);
            live = fs.space(0);
            frozen = fs.space(snap);
            assertTrue(live.exclusiveBytes() >= MIB, "the new file is the live tree's own: " + live);
            assertTrue(frozen.exclusiveBytes() > 0 && frozen.exclusiveBytes() < 16 * 4096,
                    "the snapshot alone holds the old versions of the changed path, no data: " + frozen);
            assertEquals(MIB, fs.fileSpace(second).exclusiveBytes());
            assertEquals(MIB, fs.fileSpace(file).sharedBytes(), "the unchanged file stays shared");

            fs.unlink(ROOT, "file");
            frozen = fs.space(snap);
            assertTrue(frozen.exclusiveBytes() >= MIB, "deleted live, the old file is the snapshot's own: " + frozen);
            long inSnapshot = fs.lookup(InodeNumber.rootOf(snap), "file");
            assertEquals(MIB, fs.fileSpace(inSnapshot).referencedBytes());
            SpaceUsage measured = fs.space(snap); // commits first: the figures are of the commit now newest
            assertEquals(generationNow(fs), measured.generation());
        }
    }

    @Test
    void splitExtentsOfOneFileCountOnceAndStayExclusive() throws Exception {
        byte[] data = new byte[MIB];
        new Random(2).nextBytes(data);
        try (CowFileSystem fs = CowFileSystem.create(new SimulatedDevice(), SnapshotTest.options())) {
            long file = fs.mknod(ROOT, "file", 0644, 0, 0, 0);
            fs.write(file, 0, data, 0, data.length);
            fs.sync();
            byte[] patch = new byte[4096];
            fs.write(file, 300_000, patch, 0, patch.length); // the old extent now backs two items of this file
            SpaceUsage usage = fs.fileSpace(file);
            assertEquals(MIB + 4096, usage.referencedBytes());
            assertEquals(MIB + 4096, usage.exclusiveBytes(), "both references to the old extent are this file's");
        }
    }

    @Test
    void explainNamesTheSnapshotsAndReadersThatHoldSpace() throws Exception {
        byte[] data = new byte[MIB];
        new Random(3).nextBytes(data);
        try (CowFileSystem fs = CowFileSystem.create(new SimulatedDevice(), SnapshotTest.options())) {
            long file = fs.mknod(ROOT, "file", 0644, 0, 0, 0);
            fs.write(file, 0, data, 0, data.length);
            long snap = fs.createSnapshot(0, "snap", false);
            fs.unlink(ROOT, "file");
            long other = fs.mknod(ROOT, "other", 0644, 0, 0, 0);
            fs.write(other, 0, data, 0, data.length);
            fs.sync();
            long readerGeneration;
            try (var reader = fs.store().beginRead()) { // an open reader of the state holding "other"
                readerGeneration = reader.generation();
                fs.unlink(ROOT, "other");
                for (int i = 0; i < 6; i++) {
                    fs.setTimes(ROOT, null, java.time.Instant.ofEpochSecond(i));
                    fs.sync();
                }
                SpaceExplanation explained = fs.explainSpace();
                var snapshot = explained.holders().stream().filter(h -> h.subvolume().id() == snap).findFirst()
                        .orElseThrow();
                assertTrue(snapshot.usage().exclusiveBytes() >= MIB, "the snapshot alone holds the deleted file");
                assertTrue(explained.readerBytes().getOrDefault(readerGeneration, 0L) >= MIB,
                        "the open reader keeps the second deleted file: " + explained);
                assertTrue(explained.pendingBytes() >= explained.ringBytes());
            }
            for (int i = 0; i < 6; i++) {
                fs.setTimes(ROOT, null, java.time.Instant.ofEpochSecond(100 + i));
                fs.sync();
            }
            assertTrue(fs.explainSpace().readerBytes().isEmpty(), "no reader pins anything once it closed");
        }
    }

    private static long generationNow(CowFileSystem fs) {
        return fs.store().generation();
    }
}
