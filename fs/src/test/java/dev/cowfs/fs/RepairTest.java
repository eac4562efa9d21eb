package dev.cowfs.fs;

import dev.cowfs.engine.StoreOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What repair fixes: a subvolume tree no record names, and a receive marker that stages nothing. */
class RepairTest {
    private static final FsOptions OPTIONS = FsOptions.builder().commitIntervalMillis(0)
            .store(StoreOptions.builder().checkAfterCommit(false).build()).build();

    @TempDir
    Path dir;

    @Test
    void leakedSubvolumeTreesAndStrayMarkersAreRepairedAndTheirSpaceComesBack() throws Exception {
        Path image = dir.resolve("repair.img");
        long usedBefore;
        try (CowFileSystem fs = CowFileSystem.create(image, OPTIONS)) {
            long file = fs.mknod(CowFileSystem.ROOT_INO, "big", 0644, 0, 0, 0);
            fs.sync();
            usedBefore = fs.statfs().usedBlocks();
            long clone = fs.createSnapshot(0, "work", true);
            long inClone = fs.lookup(InodeNumber.rootOf(clone), "big");
            fs.write(inClone, 0, new byte[3 << 20], 0, 3 << 20); // the clone's own data: 3 MiB
            fs.sync();
            // Damage as a bug could: the clone's records go, its tree stays; and a marker for a tree that is not.
            fs.txn().delete(CowFileSystem.ROOT_TREE, Subvolumes.idKey(clone));
            fs.txn().delete(CowFileSystem.ROOT_TREE, Subvolumes.nameKey("work".getBytes(StandardCharsets.UTF_8)));
            fs.txn().put(CowFileSystem.ROOT_TREE, Subvolumes.receivingKey(77), new byte[0]);
            fs.sync();
            assertTrue(file > 0);
        }
        try (CowFileSystem readOnly = CowFileSystem.open(image, FsOptions.builder().commitIntervalMillis(0)
                .store(StoreOptions.builder().readOnly(true).build()).build())) {
            List<String> problems = FsChecker.check(readOnly.store());
            assertEquals(2, problems.size(), problems.toString());
            assertTrue(problems.toString().contains("(id 1) is named by no record"), problems.toString());
            assertTrue(problems.toString().contains("marker names subvolume 77"), problems.toString());
        }
        try (CowFileSystem fs = CowFileSystem.open(image, OPTIONS)) {
            // Opening for writing drops receive markers (a receive cut short); the leaked tree needs repair.
            List<String> problems = FsChecker.check(fs.store());
            assertEquals(1, problems.size(), problems.toString());
            List<String> changed = fs.repair();
            assertEquals(1, changed.size(), changed.toString());
            assertTrue(changed.get(0).startsWith("repaired: dropped subvolume tree 258 (id 1)"), changed.toString());
            assertEquals(List.of(), FsChecker.check(fs.store()));
            assertTrue(fs.store().check().isClean(), fs.store().check().summary());
            for (int i = 0; i < 100 && fs.isReleasingSpace(); i++) {
                fs.sync();
            }
            for (int i = 0; i < 4; i++) {
                fs.sync(); // freed blocks become reusable after the superblock ring lets go of them
            }
            assertTrue(fs.statfs().usedBlocks() < usedBefore + 64, fs.statfs().usedBlocks() + " blocks used, "
                    + usedBefore + " before the clone");
            assertEquals(List.of(), fs.repair(), "nothing left to repair");
        }
    }

    @Test
    void leakedBlocksGoBackToFreeSpace() throws Exception {
        Path image = dir.resolve("leak.img");
        try (CowFileSystem fs = CowFileSystem.create(image, OPTIONS)) {
            long file = fs.mknod(CowFileSystem.ROOT_INO, "kept", 0644, 0, 0, 0);
            byte[] data = new byte[50_000];
            new java.util.Random(1).nextBytes(data);
            fs.write(file, 0, data, 0, data.length);
            // As a bug could: an extent written and never referenced. Its 4 blocks leak with the commit.
            fs.txn().writeDataExtent(new byte[3 * 4096 + 10], 0, 3 * 4096 + 10);
            fs.sync();
            var report = fs.store().check();
            assertEquals(4, report.leakedBlocks().cardinality(), report.summary());
            assertEquals(0, report.otherProblems(), report.summary());
            List<String> changed = fs.repair();
            assertEquals(1, changed.size(), changed.toString());
            assertTrue(changed.get(0).startsWith("repaired: returned 4 leaked block(s) in 1 extent(s)"),
                    changed.toString());
            assertTrue(fs.store().check().isClean(), fs.store().check().summary());
            assertEquals(List.of(), FsChecker.check(fs.store()));
            byte[] read = new byte[data.length];
            assertEquals(data.length, fs.read(file, 0, read, 0, read.length));
            org.junit.jupiter.api.Assertions.assertArrayEquals(data, read, "repair touched no data");
            for (int i = 0; i < 6; i++) { // the returned blocks are used again, and all stays consistent
                long more = fs.mknod(CowFileSystem.ROOT_INO, "more" + i, 0644, 0, 0, 0);
                fs.write(more, 0, data, 0, data.length);
                fs.sync();
                assertTrue(fs.store().check().isClean(), fs.store().check().summary());
            }
            assertEquals(List.of(), fs.repair());
        }
    }

    /** Power lost at any write of a repair: the image is as before it (the leak reported) or as after it. */
    @Test
    void powerLostDuringARepairLeavesTheImageBeforeOrAfterIt() throws Exception {
        dev.cowfs.engine.device.SimulatedDevice device = new dev.cowfs.engine.device.SimulatedDevice();
        Map<String, String> contents;
        long leakedGeneration;
        dev.cowfs.engine.device.SimulatedDevice.Image imageBefore;
        try (CowFileSystem fs = CowFileSystem.create(device, OPTIONS)) {
            java.util.Random random = new java.util.Random(9);
            for (int i = 0; i < 40; i++) {
                long ino = fs.mknod(CowFileSystem.ROOT_INO, "f" + i, 0644, 0, 0, 0);
                byte[] bytes = new byte[random.nextInt(20_000)];
                random.nextBytes(bytes);
                fs.write(ino, 0, bytes, 0, bytes.length);
                fs.txn().writeDataExtent(new byte[5000], 0, 5000); // leaks two blocks each time
                fs.sync();
            }
            contents = SnapshotCrashTest.dumpAll(fs);
            leakedGeneration = fs.store().generation();
            imageBefore = device.image();
            device.clearLog();
            assertTrue(fs.repair().get(0).startsWith("repaired: returned 80 leaked block(s)"));
        }
        dev.cowfs.engine.device.CrashStates states = new dev.cowfs.engine.device.CrashStates(imageBefore,
                device.log());
        int checked = 0;
        java.util.Set<Boolean> repairedSeen = new java.util.HashSet<>();
        for (int start : states.epochStarts()) {
            for (dev.cowfs.engine.device.CrashStates.State state : states.statesInEpoch(start,
                    new java.util.Random(2), 4)) {
                try (CowFileSystem recovered = CowFileSystem.open(state.device(), OPTIONS)) {
                    assertEquals(contents, SnapshotCrashTest.dumpAll(recovered), state.description());
                    var report = recovered.store().check();
                    assertEquals(0, report.otherProblems(), state.description() + ": " + report.summary());
                    boolean repaired = report.leakedBlocks().isEmpty();
                    repairedSeen.add(repaired);
                    assertTrue(repaired || report.leakedBlocks().cardinality() == 80, report.summary());
                    assertTrue(recovered.store().generation() >= leakedGeneration);
                    List<String> again = recovered.repair(); // a repair cut short is simply done again
                    assertEquals(repaired ? 0 : 1, again.size(), again.toString());
                    assertTrue(recovered.store().check().isClean(), state.description());
                } catch (Exception | Error e) {
                    org.junit.jupiter.api.Assertions.fail(state.description() + ": " + e, e);
                }
                checked++;
            }
        }
        assertEquals(java.util.Set.of(false, true), repairedSeen, "states before and after the repair");
        System.out.println("repair crash states checked: " + checked);
    }
}
