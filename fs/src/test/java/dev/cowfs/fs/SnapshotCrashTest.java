package dev.cowfs.fs;

import dev.cowfs.engine.StoreOptions;
import dev.cowfs.engine.device.CrashStates;
import dev.cowfs.engine.device.SimulatedDevice;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Power loss during snapshot create, writes to both sides, writable clone, rollback and snapshot delete whose
 * release spans several commits (a small per-commit budget): every recovered image holds exactly one synced
 * state of every subvolume and snapshot, byte for byte, with both checkers clean (reference counts across all
 * trees, nothing leaked or freed twice), and work goes on, including the interrupted release.
 */
class SnapshotCrashTest {
    private static final FsOptions OPTIONS = FsOptions.builder().commitIntervalMillis(0)
            .store(StoreOptions.builder().checkAfterCommit(false).dirtyCacheBytes(64 * 1024)
                    .dropReferencesPerCommit(12).build()).build();

    @Test
    void everyCrashStateOfSnapshotWorkRecoversOneSyncedState() throws Exception {
        SimulatedDevice device = new SimulatedDevice();
        CowFileSystem fs = CowFileSystem.create(device, OPTIONS);
        Random random = new Random(11);
        long aged = fs.mkdir(CowFileSystem.ROOT_INO, "aged", 0755, 0, 0);
        for (int i = 0; i < 200; i++) {
            long ino = fs.mknod(aged, "f" + i, 0644, 0, 0, 0);
            byte[] bytes = new byte[random.nextInt(6000)];
            random.nextBytes(bytes);
            fs.write(ino, 0, bytes, 0, bytes.length);
        }
        fs.sync();
        SimulatedDevice.Image initial = device.image();
        long initialGeneration = fs.store().generation();
        Map<Long, Map<String, String>> states = new HashMap<>();
        states.put(initialGeneration, dumpAll(fs));
        device.clearLog();
        runWorkload(fs, random, states);
        fs.close();

        CrashStates crashStates = new CrashStates(initial, device.log());
        Random subsets = new Random(5);
        int checked = crashStates.judgeEveryState(initialGeneration, subsets, 3,
                (state, expected) -> verify(state, expected, states.get(expected)));
        assertTrue(checked > 150, "only " + checked + " crash states");
        System.out.println("snapshot crash states checked: " + checked);
    }

    private static void runWorkload(CowFileSystem fs, Random random, Map<Long, Map<String, String>> states)
            throws IOException {
        long root = CowFileSystem.ROOT_INO;
        long big = fs.mknod(root, "big", 0644, 0, 0, 0);
        byte[] data = new byte[400_000];
        random.nextBytes(data);
        fs.write(big, 0, data, 0, data.length);
        long fragmented = fs.mknod(root, "fragmented", 0644, 0, 0, 0);
        for (int i = 0; i < 40; i++) { // more items than a file keeps beside its inode: its own extent tree
            fs.write(fragmented, i * 8192L, data, i * 100, 3000);
            if (i % 8 == 7) {
                record(fs, states); // separate write-outs: separate items
            }
        }
        record(fs, states);

        long snap = fs.createSnapshot(0, "s1", false);
        recordCommitted(fs, states);

        byte[] patch = new byte[10_000];
        random.nextBytes(patch);
        fs.write(big, 123_457, patch, 0, patch.length); // shared data: only the touched part is copied
        fs.unlink(fs.lookup(root, "aged"), "f7");
        fs.mknod(root, "new-after-snapshot", 0644, 0, 0, 0);
        fs.write(fragmented, 20_000, patch, 0, 5000); // the shared extent tree: only its path is copied
        long fragmentedClone = fs.mknod(root, "fragmented-clone", 0644, 0, 0, 0);
        fs.reflink(fragmented, fragmentedClone); // O(1): the extent tree is shared
        record(fs, states);
        fs.write(fragmentedClone, 100, patch, 0, 3000);
        fs.unlink(root, "fragmented");
        record(fs, states);

        long clone = fs.createSnapshot(snap, "c1", true);
        recordCommitted(fs, states);
        long cloneBig = fs.lookup(InodeNumber.rootOf(clone), "big");
        long reflinked = fs.mknod(root, "reflinked", 0644, 0, 0, 0);
        fs.reflink(cloneBig, reflinked); // shares the snapshot's data across subvolumes
        fs.write(reflinked, 1000, patch, 0, 2000);
        fs.truncate(cloneBig, 5000);
        fs.mkdir(InodeNumber.rootOf(clone), "clone-dir", 0755, 0, 0);
        record(fs, states);

        fs.rollback(0, snap);
        recordCommitted(fs, states);

        fs.deleteSubvolume(snap);
        recordCommitted(fs, states);
        fs.deleteSubvolume(clone);
        recordCommitted(fs, states);
        assertTrue(fs.isReleasingSpace(), "the deleted snapshots were released in one commit");
        for (int i = 0; i < 100 && fs.isReleasingSpace(); i++) {
            record(fs, states); // each sync carries the release of the deleted trees on
        }
        assertTrue(!fs.isReleasingSpace());
    }

    private static void record(CowFileSystem fs, Map<Long, Map<String, String>> states) throws IOException {
        fs.sync();
        recordCommitted(fs, states);
    }

    /** Snapshot operations commit before they return: their generation holds the state as it is now. */
    private static void recordCommitted(CowFileSystem fs, Map<Long, Map<String, String>> states)
            throws IOException {
        states.put(fs.store().generation(), dumpAll(fs));
    }

    /** Every subvolume's tree as FsCrashTest dumps one, under "@name:" (the default one without prefix). */
    static Map<String, String> dumpAll(CowFileSystem fs) throws IOException {
        Map<String, String> out = new TreeMap<>();
        for (SubvolumeInfo info : fs.listSubvolumes()) {
            String prefix = info.id() == 0 ? "" : "@" + info.name() + ":";
            out.put(prefix + "#", "readOnly=" + info.readOnly() + " parent=" + info.parentId());
            for (Map.Entry<String, String> entry : FsCrashTest.dump(fs, info.rootIno()).entrySet()) {
                out.put(prefix + entry.getKey(), entry.getValue());
            }
        }
        return out;
    }

    private static void verify(CrashStates.State state, long expectedGeneration, Map<String, String> expected) {
        try (CowFileSystem recovered = CowFileSystem.open(state.device(), OPTIONS)) {
            assertTrue(expected != null, state.description() + ": no recorded state for generation "
                    + expectedGeneration);
            List<String> differences = FsCrashTest.differences(expected, dumpAll(recovered));
            assertTrue(differences.isEmpty(), state.description() + ": " + differences);
            List<String> problems = new ArrayList<>(FsChecker.check(recovered.store()));
            if (!recovered.store().check().isClean()) {
                problems.add(recovered.store().check().summary());
            }
            assertTrue(problems.isEmpty(), state.description() + ": " + problems);
            // Work goes on after recovery, and an interrupted release finishes.
            long ino = recovered.mknod(CowFileSystem.ROOT_INO, "after-crash", 0644, 0, 0, 0);
            recovered.write(ino, 0, new byte[5000], 0, 5000);
            for (int i = 0; i < 8; i++) {
                recovered.setTimes(ino, null, java.time.Instant.ofEpochSecond(i));
                recovered.sync();
            }
            assertTrue(FsChecker.check(recovered.store()).isEmpty(), state.description() + " after more work");
            assertTrue(recovered.store().check().isClean(), state.description() + " after more work");
        } catch (Exception | Error e) {
            fail(state.description() + ": " + e, e);
        }
    }
}
