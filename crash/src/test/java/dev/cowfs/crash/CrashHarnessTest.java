package dev.cowfs.crash;

import dev.cowfs.fs.InodeNumber;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The crash harness on the real engine: every seq-1 workload exhaustively and a seeded sample of seq-2 find
 * no violation; an engine broken on purpose (commit order, early reuse of freed blocks) is caught.
 */
class CrashHarnessTest {
    @Test
    void everySeq1WorkloadRecoversToTheModelInEveryCrashState() throws Exception {
        CrashHarness harness = CrashHarness.create(CrashHarness.Config.defaults());
        long count = AceWorkloads.count(1);
        for (long i = 0; i < count; i++) {
            harness.run(AceWorkloads.sequence(1, i, harness.startModel()));
        }
        CrashReport report = harness.report();
        System.out.println("seq-1, every workload:\n" + report.text());
        assertEquals(count, report.workloads());
        assertEquals(0, report.violationCount(), report::text);
        assertTrue(report.statesUnique() > 1000, report::text);
    }

    @Test
    void aSeededSampleOfSeq2WorkloadsRecoversToTheModel() throws Exception {
        CrashHarness harness = CrashHarness.create(CrashHarness.Config.defaults().withSeed(2));
        Random random = new Random(2);
        for (int i = 0; i < Integer.getInteger("cowfs.crash.seq2.sample", 60); i++) {
            harness.run(AceWorkloads.sequence(2, (long) (random.nextDouble() * AceWorkloads.count(2)),
                    harness.startModel()));
        }
        System.out.println("seq-2, seeded sample:\n" + harness.report().text());
        assertEquals(0, harness.report().violationCount(), harness.report()::text);
    }

    @Test
    void aCommitWithoutItsBarrierIsCaught() throws Exception {
        CrashHarness harness = CrashHarness.create(CrashHarness.Config.defaults()
                .withBug(InjectedBug.NO_BARRIER_BEFORE_SUPERBLOCK));
        List<CrashReport.Violation> found = harness.run(AceWorkloads.sequence(1, 0, harness.startModel()));
        assertFalse(found.isEmpty(), "a missing barrier went unnoticed");
        assertTrue(found.stream().anyMatch(v -> v.problem().contains("no barrier")), found::toString);
    }

    /**
     * The same workloads on the file device every user runs, over a real image file: the crash states come from the
     * writes, growth, truncations and fdatasyncs it asked of the file (recorded beneath it), judged by the same
     * oracle. Every third seq-1 workload and a random one, to bound the time (the CLI's --device file runs them all).
     */
    @Test
    void seq1OnTheFileDeviceRecoversEveryCrashStateToTheModel() throws Exception {
        CrashHarness harness = CrashHarness.create(CrashHarness.Config.defaults().withRealDevice(true));
        for (long i = 0; i < AceWorkloads.count(1); i += 3) {
            harness.run(AceWorkloads.sequence(1, i, harness.startModel()));
        }
        harness.run(AceWorkloads.random(8, 40, harness.startModel()));
        CrashReport report = harness.report();
        System.out.println("seq-1 on the file device, every third workload:\n" + report.text());
        assertEquals(0, report.violationCount(), report::text);
        assertTrue(report.statesUnique() > 300, report::text);
    }

    @Test
    void aFileDeviceThatLosesItsFdatasyncIsCaught() throws Exception {
        CrashHarness harness = CrashHarness.create(CrashHarness.Config.defaults().withRealDevice(true)
                .withBug(InjectedBug.FILE_DEVICE_LOSES_FDATASYNC));
        List<CrashReport.Violation> found = harness.run(AceWorkloads.sequence(1, 0, harness.startModel()));
        System.out.println("lost fdatasync: " + found);
        assertFalse(found.isEmpty(), "a file device without fdatasync went unnoticed");
    }

    @Test
    void freedBlocksReusedBeforeTheRingLetsGoAreCaughtOnlineAndByTheCrashStates() throws Exception {
        for (boolean online : new boolean[] {true, false}) {
            CrashHarness harness = CrashHarness.create(CrashHarness.Config.defaults()
                    .withBug(InjectedBug.REUSE_FREED_BLOCKS_EARLY).withOnlineChecks(online));
            long violations = 0;
            for (long i = 0; i < AceWorkloads.count(1) && violations == 0; i++) {
                violations += harness.run(AceWorkloads.sequence(1, i, harness.startModel())).size();
            }
            assertTrue(violations > 0, "early reuse of freed blocks went unnoticed (online checks " + online
                    + "):\n" + harness.report().text());
            CrashReport.Violation first = harness.report().violations().get(0);
            System.out.println("early reuse caught (online checks " + online + "): " + first);
            if (!online) {
                assertFalse(first.state().startsWith("("), "caught by a crash state: " + first);
            }
        }
    }

    @Test
    void faultsOutsideThePowerLossModelAreExactOrDetectedNeverSilent() throws Exception {
        CrashHarness harness = CrashHarness.create(CrashHarness.Config.defaults()
                .withFaults(java.util.EnumSet.allOf(Fault.class), 6));
        for (long i = 0; i < AceWorkloads.count(1); i += 7) {
            harness.run(AceWorkloads.sequence(1, i, harness.startModel()));
        }
        CrashReport report = harness.report();
        System.out.println("faults:\n" + report.text());
        assertEquals(0, report.violationCount(), report::text);
        for (Fault fault : Fault.values()) {
            long[] tally = report.faultOutcomes.get(fault.label);
            assertTrue(tally != null && tally[0] + tally[1] > 50 && tally[2] == 0, fault.label);
            assertTrue(tally[1] > 0, fault.label + " never detected: the trials did not reach data in use");
        }
    }

    /** Every fifth seq1 workload and one random workload of 40 operations, under this configuration. */
    private static CrashReport runEveryFifthSeq1AndARandom(CrashHarness.Config config, long randomSeed, String title)
            throws Exception {
        CrashHarness harness = CrashHarness.create(config);
        for (long i = 0; i < AceWorkloads.count(1); i += 5) {
            harness.run(AceWorkloads.sequence(1, i, harness.startModel()));
        }
        harness.run(AceWorkloads.random(randomSeed, 40, harness.startModel()));
        System.out.println(title + ":\n" + harness.report().text());
        return harness.report();
    }

    @Test
    void anIoErrorAtAnyWriteOrBarrierFailsCleanlyAndLosesNoCommit() throws Exception {
        CrashReport report = runEveryFifthSeq1AndARandom(CrashHarness.Config.defaults().withIoFailures(24), 3,
                "I/O errors");
        assertEquals(0, report.violationCount(), report::text);
        assertTrue(report.faultOutcomes.get("io-error")[1] > 200, report::text);
    }

    @Test
    void outOfSpaceFailsCleanlyLosesNoCommitAndLeavesDeletesWorkingOnAFullHost() throws Exception {
        CrashReport report = runEveryFifthSeq1AndARandom(CrashHarness.Config.defaults().withNoSpace(12), 4,
                "Out of space");
        assertEquals(0, report.violationCount(), report::text);
        assertTrue(report.faultOutcomes.get("no-space")[1] > 200, report::text);
        assertTrue(report.faultOutcomes.get("host-full")[1] > 0, report::text);
        assertTrue(report.hostFullDeleteRuns > 100, report::text);
    }

    /** The full-host check bites: with no host reserve at all, the deletes on a full host fail and are reported. */
    @Test
    void withoutAHostReserveDeletesOnAFullHostAreReportedAsFailing() throws Exception {
        CrashHarness harness = CrashHarness.create(CrashHarness.Config.defaults().withNoSpace(16).withHostReserve(0));
        List<CrashReport.Violation> found = harness.run(AceWorkloads.sequence(1, 82, harness.startModel()));
        assertTrue(found.stream().anyMatch(v -> v.state().contains("host full")
                && v.problem().contains("where it must succeed")), found::toString);
    }

    @Test
    void aProcessKilledWhileCommittingReopensAtAnAcknowledgedCommit(@TempDir Path dir) throws Exception {
        CrashHarness harness = CrashHarness.create(CrashHarness.Config.defaults());
        KillHarness kills = new KillHarness(harness, dir, 4);
        List<CrashReport.Violation> found = kills.run(Integer.getInteger("cowfs.crash.kills", 6), 60, 1500);
        System.out.println("kill -9:\n" + harness.report().text());
        assertTrue(found.isEmpty(), harness.report()::text);
        assertEquals((long) Integer.getInteger("cowfs.crash.kills", 6), harness.report().kills);
        assertTrue(harness.report().killedAcknowledged > 0, "no child got as far as a commit before it was killed");
    }

    @Test
    void candidatesAreHashedAndExpectedExactlyAsTheStatesTheyBuild() throws Exception {
        CrashHarness harness = CrashHarness.create(CrashHarness.Config.defaults());
        dev.cowfs.engine.device.SimulatedDevice device = dev.cowfs.engine.device.SimulatedDevice.ofImage(harness.base);
        long baseGeneration;
        try (dev.cowfs.fs.CowFileSystem fs = dev.cowfs.fs.CowFileSystem.open(device, harness.options(false))) {
            baseGeneration = fs.store().generation();
            device.clearLog();
            for (CrashOp op : AceWorkloads.random(5, 25, harness.startModel()).ops()) {
                OpRunner.apply(fs, op);
            }
        }
        dev.cowfs.engine.device.CrashStates states = new dev.cowfs.engine.device.CrashStates(harness.base, device.log());
        int compared = 0;
        for (int start : states.epochStarts()) {
            long durable = states.durableGeneration(start, baseGeneration);
            for (dev.cowfs.engine.device.CrashStates.Candidate candidate
                    : states.candidatesInEpoch(start, new Random(1), 3, durable)) {
                dev.cowfs.engine.device.CrashStates.State built = states.build(candidate);
                assertEquals(built.device().contentDigest(), candidate.digest(), candidate.description());
                assertEquals(dev.cowfs.engine.device.CrashStates.expectedGeneration(built, durable),
                        candidate.expectedGeneration(), candidate.description());
                compared++;
            }
        }
        assertTrue(compared > 500, "only " + compared + " candidates");
    }

    /** Growing the image file is logged as a write of no bytes, which a crash before the next barrier can lose. */
    @Test
    void growthOfTheImageIsAWriteACrashCanLose() throws Exception {
        CrashHarness harness = CrashHarness.create(CrashHarness.Config.defaults());
        // A new image grows as it is made (past 64 MiB, where the far superblock lives, an image grows by steps).
        dev.cowfs.engine.device.SimulatedDevice device = new dev.cowfs.engine.device.SimulatedDevice();
        try (dev.cowfs.fs.CowFileSystem fs = dev.cowfs.fs.CowFileSystem.create(device, harness.options(false))) {
            long ino = fs.mknod(dev.cowfs.fs.CowFileSystem.ROOT_INO, "big", 0100644, 0, 0, 0);
            byte[] data = new byte[300_000];
            new Random(9).nextBytes(data);
            fs.write(ino, 0, data, 0, data.length);
            fs.sync();
        }
        List<dev.cowfs.engine.device.SimulatedDevice.Op> log = device.log();
        dev.cowfs.engine.device.CrashStates states = new dev.cowfs.engine.device.CrashStates(
                new dev.cowfs.engine.device.SimulatedDevice().image(), log);
        int growths = 0;
        for (int start : states.epochStarts()) {
            List<dev.cowfs.engine.device.SimulatedDevice.Write> writes = states.epochWrites(start);
            for (dev.cowfs.engine.device.SimulatedDevice.Write write : writes) {
                if (!write.isGrowth() || write.offset() <= states.durableImage(start).lengthBytes()) {
                    continue;
                }
                growths++;
                boolean shorter = false;
                boolean grown = false;
                for (dev.cowfs.engine.device.CrashStates.Candidate candidate
                        : states.candidatesInEpoch(start, new Random(2), 3, 0)) {
                    long length = states.build(candidate).device().lengthBytes();
                    shorter |= length < write.offset();
                    grown |= length >= write.offset();
                }
                assertTrue(shorter && grown, "growth to " + write.offset() + ": lost " + shorter + ", kept " + grown);
            }
        }
        assertTrue(growths > 0, "making an image grew it with no logged growth");
        assertTrue(harness.run(AceWorkloads.random(6, 30, harness.startModel())).isEmpty(), harness.report()::text);
    }

    @Test
    void workloadsStartFromAnAgedImageWhoseTreeHasTwoLevelsOrMore() throws Exception {
        CrashHarness harness = CrashHarness.create(CrashHarness.Config.defaults());
        try (dev.cowfs.fs.CowFileSystem fs = dev.cowfs.fs.CowFileSystem.open(
                dev.cowfs.engine.device.SimulatedDevice.ofImage(harness.base), harness.options(false));
             dev.cowfs.engine.ReadTransaction read = fs.store().beginRead()) {
            int height = read.treeHeight(dev.cowfs.fs.InodeNumber.treeOfSubvolume(0));
            assertTrue(height >= 2, "height " + height);
            assertTrue(fs.statfs().freeBlocks() > 0, "deleted files left free space between blocks in use");
        }
    }

    @Test
    void operationsReadBackFromTheirText() throws Exception {
        CrashHarness harness = CrashHarness.create(CrashHarness.Config.defaults());
        for (long seed = 0; seed < 20; seed++) {
            for (CrashOp op : AceWorkloads.random(seed, 30, harness.startModel()).ops()) {
                assertEquals(op, CrashOp.parse(op.toString()));
            }
        }
    }

    @Test
    void workloadsAreReplayableByTheNameAReportGives() throws Exception {
        CrashHarness harness = CrashHarness.create(CrashHarness.Config.defaults());
        AceWorkloads.Workload workload = AceWorkloads.sequence(2, 12_345, harness.startModel());
        AceWorkloads.Workload again = harness.workloadNamed("seq2 #12345");
        assertEquals(workload.text(), again.text());
        AceWorkloads.Workload random = AceWorkloads.random(9, 40, harness.startModel());
        assertEquals(random.text(), harness.workloadNamed("random seed 9 length 40").text());
    }
}
