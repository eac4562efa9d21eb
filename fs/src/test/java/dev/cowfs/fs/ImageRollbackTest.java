package dev.cowfs.fs;

import dev.cowfs.engine.Store;
import dev.cowfs.engine.StoreOptions;
import dev.cowfs.engine.device.CrashStates;
import dev.cowfs.engine.device.SimulatedDevice;
import dev.cowfs.engine.error.NewerGenerationDamagedException;
import dev.cowfs.engine.error.NoRetainedGenerationException;
import dev.cowfs.engine.superblock.SuperblockRing;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Rolling the whole image back to a retained generation: the image then holds exactly what that generation
 * held, the fall-back window and the checker's invariants hold as after any commit, work goes on from it, and
 * power lost at any write of the roll-back leaves either the image as it was or the rolled-back image.
 */
class ImageRollbackTest {
    private static final long ROOT = CowFileSystem.ROOT_INO;
    private static final FsOptions OPTIONS = FsOptions.builder().commitIntervalMillis(0)
            .store(StoreOptions.builder().checkAfterCommit(false).build()).build();

    @TempDir
    Path dir;

    /** Eight commits changing files, directories and snapshots; the dump of every generation. */
    private static Map<Long, Map<String, String>> history(CowFileSystem fs, Random random) throws Exception {
        Map<Long, Map<String, String>> states = new HashMap<>();
        long file = fs.mknod(ROOT, "f", 0644, 0, 0, 0);
        for (int i = 0; i < 8; i++) {
            byte[] bytes = new byte[random.nextInt(200_000)];
            random.nextBytes(bytes);
            fs.truncate(file, 0);
            fs.write(file, 0, bytes, 0, bytes.length);
            fs.mkdir(ROOT, "d" + i, 0755, 0, 0);
            if (i % 3 == 2) {
                fs.createSnapshot(0, "s" + i, false); // a commit of its own
                states.put(fs.store().generation(), SnapshotCrashTest.dumpAll(fs));
            }
            if (i > 0 && i % 2 == 0) {
                fs.rmdir(ROOT, "d" + (i - 1));
            }
            fs.sync();
            states.put(fs.store().generation(), SnapshotCrashTest.dumpAll(fs));
        }
        return states;
    }

    /** Both checkers clean, the engine's over every retained root. */
    static void assertClean(CowFileSystem fs, String what) throws Exception {
        List<String> problems = new ArrayList<>(FsChecker.check(fs.store()));
        var report = fs.store().check(); // with every retained ring generation
        if (!report.isClean()) {
            problems.add(report.summary());
        }
        assertTrue(problems.isEmpty(), what + ": " + problems);
    }

    @Test
    void anImageRolledBackHoldsTheRetainedGenerationAndGoesOn() throws Exception {
        Path image = dir.resolve("roll.img");
        Map<Long, Map<String, String>> states;
        long newest;
        try (CowFileSystem fs = CowFileSystem.create(image, OPTIONS)) {
            states = history(fs, new Random(1));
            newest = fs.store().generation();
        }
        for (long target : new long[] {newest - 2, newest - 3}) {
            long before;
            try (Store store = Store.open(image, OPTIONS.store())) {
                before = store.generation();
                assertThrows(NoRetainedGenerationException.class, () -> store.rollBack(before - 9, b -> { }));
                assertThrows(IllegalArgumentException.class, () -> store.rollBack(before, b -> { }));
                if (target == newest - 3) {
                    continue; // only the first roll-back; the loop checks that the first one left no trace
                }
                assertEquals(before + 1, store.rollBack(target, b -> { }));
            }
            try (CowFileSystem fs = CowFileSystem.open(image, OPTIONS)) {
                assertEquals(before + 1, fs.store().generation());
                assertEquals(states.get(target), SnapshotCrashTest.dumpAll(fs));
                assertClean(fs, "after the roll-back");
                Random random = new Random(2);
                for (int i = 0; i < 8; i++) { // over blocks the lost generations used, past the ring's window
                    long ino = fs.mknod(ROOT, "after" + i, 0644, 0, 0, 0);
                    byte[] bytes = new byte[random.nextInt(300_000)];
                    random.nextBytes(bytes);
                    fs.write(ino, 0, bytes, 0, bytes.length);
                    fs.sync();
                    assertClean(fs, "commit " + i + " after the roll-back");
                }
            }
        }
    }

    @Test
    void powerLostDuringARollBackLeavesTheImageBeforeOrAfterIt() throws Exception {
        SimulatedDevice device = new SimulatedDevice();
        Map<Long, Map<String, String>> states;
        long newest;
        try (CowFileSystem fs = CowFileSystem.create(device, OPTIONS)) {
            states = history(fs, new Random(3));
            newest = fs.store().generation();
        }
        SimulatedDevice.Image initial = device.image();
        SimulatedDevice rolling = SimulatedDevice.ofImage(initial);
        rolling.clearLog();
        rolling.setRecording(true);
        long target = newest - 3;
        try (Store store = Store.open(rolling, OPTIONS.store())) {
            assertEquals(newest + 1, store.rollBack(target, b -> { }));
        }
        states.put(newest + 1, states.get(target));
        CrashStates crashStates = new CrashStates(initial, rolling.log());
        int checked = 0;
        java.util.Set<Long> seen = new java.util.HashSet<>();
        for (int start : crashStates.epochStarts()) {
            long durable = crashStates.durableGeneration(start, newest);
            for (CrashStates.State state : crashStates.statesInEpoch(start, new Random(5), 4)) {
                long expected = CrashStates.expectedGeneration(state, durable);
                try (CowFileSystem recovered = CowFileSystem.open(state.device(), OPTIONS)) {
                    long generation = recovered.store().generation();
                    seen.add(generation);
                    assertEquals(expected, generation, state.description());
                    assertEquals(states.get(generation), SnapshotCrashTest.dumpAll(recovered), state.description());
                    assertClean(recovered, state.description());
                    long ino = recovered.mknod(ROOT, "after", 0644, 0, 0, 0);
                    recovered.write(ino, 0, new byte[70_000], 0, 70_000);
                    recovered.sync();
                    assertClean(recovered, state.description() + " after more work");
                } catch (Exception | Error e) {
                    fail(state.description() + " (expected generation " + expected + "): " + e, e);
                }
                checked++;
            }
        }
        assertEquals(java.util.Set.of(newest, newest + 1), seen, "states before and after the roll-back");
        System.out.println("roll-back crash states checked: " + checked);
    }

    /**
     * The newest generation's root damaged: a writable open refuses before writing anything; accepting the older
     * generation clears the newer slots durably, and power lost at any write of that leaves an image that opens
     * (read-only, or writable with the acceptance) at the older generation exactly, never at a mix, and that takes
     * more work and checks clean.
     */
    @Test
    void acceptingAnOlderGenerationRefusesFirstAndSurvivesPowerLoss() throws Exception {
        SimulatedDevice device = new SimulatedDevice();
        Map<Long, Map<String, String>> states;
        long newest;
        try (CowFileSystem fs = CowFileSystem.create(device, OPTIONS)) {
            states = history(fs, new Random(4));
            newest = fs.store().generation();
        }
        dev.cowfs.engine.superblock.Superblock last = SuperblockRing.readCopies(device, new ArrayList<>()).get(0);
        assertEquals(newest, last.generation());
        byte[] one = new byte[1];
        long offset = last.catalogRoot().blockIndex() * 4096 + 100;
        device.read(offset, one, 0, 1);
        one[0] ^= 0x5A;
        device.write(offset, one, 0, 1);
        SimulatedDevice.Image damaged = device.image();
        SimulatedDevice refusing = SimulatedDevice.ofImage(damaged);
        refusing.clearLog();
        refusing.setRecording(true);
        assertThrows(NewerGenerationDamagedException.class, () -> CowFileSystem.open(refusing, OPTIONS));
        assertEquals(0, refusing.log().stream().filter(op -> op instanceof SimulatedDevice.Write).count(),
                "a refused open wrote");
        FsOptions accepting = FsOptions.builder().commitIntervalMillis(0)
                .store(OPTIONS.store().toBuilder().acceptOlderGeneration(true).build()).build();
        FsOptions readOnly = FsOptions.builder().commitIntervalMillis(0)
                .store(OPTIONS.store().toBuilder().readOnly(true).build()).build();
        SimulatedDevice accepted = SimulatedDevice.ofImage(damaged);
        accepted.clearLog();
        accepted.setRecording(true);
        try (CowFileSystem fs = CowFileSystem.open(accepted, accepting)) {
            assertEquals(newest - 1, fs.store().generation());
        }
        CrashStates crashStates = new CrashStates(damaged, accepted.log());
        int checked = 0;
        for (int start : crashStates.epochStarts()) {
            for (CrashStates.State state : crashStates.statesInEpoch(start, new Random(6), 4)) {
                SimulatedDevice.Image cut = state.device().image();
                for (FsOptions options : List.of(readOnly, accepting)) {
                    try (CowFileSystem recovered = CowFileSystem.open(SimulatedDevice.ofImage(cut), options)) {
                        assertEquals(newest - 1, recovered.store().generation(), state.description());
                        assertEquals(states.get(newest - 1), SnapshotCrashTest.dumpAll(recovered),
                                state.description());
                        if (options == accepting) {
                            recovered.mkdir(ROOT, "after", 0755, 0, 0);
                            recovered.sync();
                            assertClean(recovered, state.description() + " after more work");
                        }
                    } catch (Exception | Error e) {
                        fail(state.description() + ": " + e, e);
                    }
                }
                checked++;
            }
        }
        try (CowFileSystem fs = CowFileSystem.open(SimulatedDevice.ofImage(accepted.image()), OPTIONS)) {
            assertEquals(newest - 1, fs.store().generation(), "once accepted, a plain writable open goes on");
        }
        assertTrue(checked > 0);
        System.out.println("accept-older crash states checked: " + checked);
    }
}
