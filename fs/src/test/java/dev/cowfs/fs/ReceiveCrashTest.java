package dev.cowfs.fs;

import dev.cowfs.engine.StoreOptions;
import dev.cowfs.engine.device.CrashStates;
import dev.cowfs.engine.device.SimulatedDevice;
import dev.cowfs.fs.send.SendRecordLayout;
import dev.cowfs.fs.send.SendStreamReader;
import dev.cowfs.fs.send.SendStreamWriter;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
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
 * Power loss at every write of receives: a full stream, a stream refused after its tree was staged (its
 * content hash is wrong), and an incremental stream, into an aged image, with small write caches so that the
 * receives spill and commit in several steps. Every crash state recovers to exactly the state before or after
 * a receive (never a partly received snapshot), both checkers are clean (no staged tree left unnamed), and a
 * staged tree a crash left is dropped when the image is next opened for writing.
 */
class ReceiveCrashTest {
    private static final FsOptions OPTIONS = FsOptions.builder().commitIntervalMillis(0)
            .store(StoreOptions.builder().checkAfterCommit(false).dirtyCacheBytes(64 * 1024)
                    .dropReferencesPerCommit(12).build()).build();

    @Test
    void everyCrashStateOfAReceiveRecoversTheStateBeforeOrAfterIt() throws Exception {
        Random random = new Random(3);
        byte[][] streams = sourceStreams(random);
        SimulatedDevice device = new SimulatedDevice();
        CowFileSystem fs = CowFileSystem.create(device, OPTIONS);
        long aged = fs.mkdir(CowFileSystem.ROOT_INO, "aged", 0755, 0, 0);
        for (int i = 0; i < 150; i++) {
            long ino = fs.mknod(aged, "f" + i, 0644, 0, 0, 0);
            byte[] bytes = new byte[random.nextInt(6000)];
            random.nextBytes(bytes);
            fs.write(ino, 0, bytes, 0, bytes.length);
            if (i % 3 == 0) {
                fs.sync();
                fs.unlink(aged, "f" + i); // fragmented free space
            }
        }
        fs.sync();
        SimulatedDevice.Image initial = device.image();
        long initialGeneration = fs.store().generation();
        Map<Long, Map<String, String>> states = new HashMap<>();
        states.put(initialGeneration, SnapshotCrashTest.dumpAll(fs));
        device.clearLog();

        receive(fs, streams[0], states, true);
        byte[] wrongHash = withWrongContentHash(streams[1]);
        receive(fs, wrongHash, states, false);
        receive(fs, streams[1], states, true);
        fs.close();

        CrashStates crashStates = new CrashStates(initial, device.log());
        Random subsets = new Random(5);
        int[] staged = {0};
        int checked = crashStates.judgeEveryState(initialGeneration, subsets, 3,
                (state, expected) -> staged[0] += verify(state, expected, states.get(expected)) ? 1 : 0);
        assertTrue(checked > 100, "only " + checked + " crash states");
        assertTrue(staged[0] > 0, "no crash state caught a receive with its tree staged");
        System.out.println("receive crash states checked: " + checked + ", " + staged[0] + " with a staged tree");
    }

    /** A full stream of s1 and an incremental one of s2, from an image with every kind of file. */
    private static byte[][] sourceStreams(Random random) throws IOException {
        try (CowFileSystem a = CowFileSystem.create(new SimulatedDevice(), SnapshotTest.options())) {
            long root = CowFileSystem.ROOT_INO;
            long big = a.mknod(root, "big", 0644, 0, 0, 0);
            byte[] data = new byte[1_500_000];
            random.nextBytes(data);
            a.write(big, 0, data, 0, data.length);
            long fragmented = a.mknod(root, "fragmented", 0644, 0, 0, 0);
            for (int i = 0; i < 40; i++) {
                a.write(fragmented, i * 8192L, data, i * 100, 3000);
                if (i % 8 == 7) {
                    a.sync();
                }
            }
            long dir = a.mkdir(root, "dir", 0755, 0, 0);
            a.symlink(dir, "link", "../big", 0, 0);
            a.link(big, dir, "hard");
            a.setXattr(big, "user.note", new byte[3000], false, false);
            long clone = a.mknod(dir, "clone", 0644, 0, 0, 0);
            a.reflink(big, clone);
            long s1 = a.createSnapshot(0, "s1", false);
            a.write(big, 700_000, data, 0, 20_000);
            a.write(fragmented, 100_000, data, 0, 5000);
            a.unlink(dir, "link");
            a.rename(dir, "clone", root, "moved", RenameMode.REPLACE);
            a.mknod(dir, "new", 0600, 0, 0, 0);
            long s2 = a.createSnapshot(0, "s2", false);
            return new byte[][] {SendReceiveTest.send(a, s1, -1), SendReceiveTest.send(a, s2, s1)};
        }
    }

    /** The same stream, framed anew, with a content hash that does not match what it carries. */
    private static byte[] withWrongContentHash(byte[] stream) throws IOException {
        SendStreamReader reader = new SendStreamReader(new ByteArrayInputStream(stream));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        SendStreamWriter writer = new SendStreamWriter(out, reader.header());
        for (SendStreamReader.Record record = reader.next(); record != null; record = reader.next()) {
            byte[] payload = record.payload().clone();
            if (record.type() == SendRecordLayout.CONTENT_HASH) {
                payload[0] ^= 1;
            }
            writer.write(record.type(), payload, 0, payload.length);
        }
        writer.end();
        return out.toByteArray();
    }

    /**
     * Receives, then records the state of every generation the receive committed: the commits before the
     * last one (what others had done, the staged tree) leave the visible state as it was.
     */
    private static void receive(CowFileSystem fs, byte[] stream, Map<Long, Map<String, String>> states,
                                boolean succeeds) throws IOException {
        long before = fs.store().generation();
        Map<String, String> visibleBefore = SnapshotCrashTest.dumpAll(fs);
        if (succeeds) {
            SendReceiveTest.receive(fs, stream);
        } else {
            FsException refused = assertThrows(FsException.class, () -> SendReceiveTest.receive(fs, stream));
            assertEquals(Errno.EBADMSG, refused.errno(), refused.getMessage());
        }
        long after = fs.store().generation();
        assertTrue(after > before + 1, "the receive committed once only");
        for (long generation = before + 1; generation < after; generation++) {
            states.put(generation, visibleBefore);
        }
        states.put(after, succeeds ? SnapshotCrashTest.dumpAll(fs) : visibleBefore);
    }

    /** Receive markers in the newest commit of the image. */
    private static int markers(CowFileSystem fs) throws IOException {
        int found = 0;
        try (dev.cowfs.engine.ReadTransaction read = fs.store().beginRead()) {
            dev.cowfs.engine.Cursor cursor = read.cursor(CowFileSystem.ROOT_TREE);
            for (boolean ok = cursor.seek(new byte[] {Subvolumes.RECEIVING}); ok && cursor.key()[0]
                    == Subvolumes.RECEIVING; ok = cursor.next()) {
                found++;
            }
        }
        return found;
    }

    /** Judges one crash state; true when it held a staged receive (which opening for writing must drop). */
    private static boolean verify(CrashStates.State state, long expectedGeneration, Map<String, String> expected) {
        boolean staged;
        FsOptions readOnlyOptions = FsOptions.builder().commitIntervalMillis(0)
                .store(StoreOptions.builder().readOnly(true).build()).build();
        try (CowFileSystem readOnly = CowFileSystem.open(SimulatedDevice.ofImage(state.device().image()),
                readOnlyOptions)) {
            staged = markers(readOnly) > 0;
        } catch (Exception | Error e) {
            fail(state.description() + ": read-only open: " + e, e);
            return false;
        }
        try (CowFileSystem recovered = CowFileSystem.open(state.device(), OPTIONS)) {
            assertTrue(expected != null, state.description() + ": no recorded state for generation "
                    + expectedGeneration);
            List<String> differences = FsCrashTest.differences(expected, SnapshotCrashTest.dumpAll(recovered));
            assertTrue(differences.isEmpty(), state.description() + ": " + differences);
            recovered.sync(); // the staged tree a crash left is gone with this commit
            List<String> problems = new ArrayList<>(FsChecker.check(recovered.store()));
            if (!recovered.store().check().isClean()) {
                problems.add(recovered.store().check().summary());
            }
            assertTrue(problems.isEmpty(), state.description() + ": " + problems);
            assertEquals(0, markers(recovered), state.description() + ": a staged receive outlived the open");
        } catch (Exception | Error e) {
            fail(state.description() + ": " + e, e);
        }
        return staged;
    }
}
