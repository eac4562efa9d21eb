package dev.cowfs.engine.crash;

import dev.cowfs.engine.IntentLog;
import dev.cowfs.engine.ReadTransaction;
import dev.cowfs.engine.Store;
import dev.cowfs.engine.StoreOptions;
import dev.cowfs.engine.WriteTransaction;
import dev.cowfs.engine.check.CheckReport;
import dev.cowfs.engine.device.CrashStates;
import dev.cowfs.engine.device.SimulatedDevice;
import dev.cowfs.engine.format.BlockRef;
import dev.cowfs.engine.format.Bytes;
import dev.cowfs.engine.format.NodeLayout;
import dev.cowfs.engine.format.TreeIds;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The engine's intent log under power loss: groups logged between commits, each made durable by one barrier, come
 * back on open exactly when their barrier passed or their units all landed, whole, in order, never torn; a commit
 * folds the log; replaying a log (claiming the extents it names, storing them, committing) leaves the checker clean.
 * The groups here stand for the filesystem's: a key and a data extent written before the group that names it.
 */
class IntentLogCrashTest {
    private static final StoreOptions OPTIONS = StoreOptions.builder().checkAfterCommit(false)
            .dirtyCacheBytes(64 * 1024).intentLog(true).build();

    /** One logged group: a key, the extent its value's bytes were written to, and the base generation. */
    private record Logged(long base, String key, BlockRef extent, byte[] data, byte[] records, int marker) {
    }

    private static byte[] group(String key, BlockRef extent, int storedBytes, int padding) {
        byte[] name = key.getBytes(StandardCharsets.UTF_8);
        byte[] group = new byte[2 + name.length + 28 + padding];
        Bytes.putShort(group, 0, name.length);
        System.arraycopy(name, 0, group, 2, name.length);
        extent.encode(group, 2 + name.length);
        Bytes.putInt(group, 2 + name.length + 24, storedBytes);
        for (int i = 0; i < padding; i++) {
            group[2 + name.length + 28 + i] = (byte) (i * 31 + name.length);
        }
        return group;
    }

    private static String keyOf(byte[] group) {
        return new String(group, 2, Bytes.getUnsignedShort(group, 0), StandardCharsets.UTF_8);
    }

    private static BlockRef extentOf(byte[] group) {
        return BlockRef.decode(group, 2 + Bytes.getUnsignedShort(group, 0));
    }

    private static int storedOf(byte[] group) {
        return Bytes.getInt(group, 2 + Bytes.getUnsignedShort(group, 0) + 24);
    }

    private static byte[] extentValue(BlockRef extent, int storedBytes) {
        byte[] value = new byte[NodeLayout.DATA_EXTENT_HEADER_BYTES];
        extent.encode(value, NodeLayout.DATA_EXTENT_REF_OFFSET);
        Bytes.putInt(value, NodeLayout.DATA_EXTENT_STORED_BYTES_OFFSET, storedBytes);
        return value;
    }

    @Test
    void aTransactionLogsOnlyOnACommitMarkedForTheLog() throws IOException {
        Store store = Store.create(new SimulatedDevice(), OPTIONS);
        try (WriteTransaction txn = store.beginWrite()) {
            txn.put("a".getBytes(), "1".getBytes());
            assertFalse(txn.logDurably(new byte[] {1}, List.of()), "the format commit does not carry the feature");
            txn.commit();
        }
        try (WriteTransaction txn = store.beginWrite()) {
            assertTrue(txn.logDurably(new byte[] {1}, List.of()));
            txn.commit();
        }
        assertTrue(store.check().isClean(), store.check().summary());
        Store plain = Store.create(new SimulatedDevice(), StoreOptions.builder().build());
        try (WriteTransaction txn = plain.beginWrite()) {
            txn.put("a".getBytes(), "1".getBytes());
            txn.commit();
        }
        try (WriteTransaction txn = plain.beginWrite()) {
            assertFalse(txn.logDurably(new byte[] {1}, List.of()), "a store without the option never logs");
        }
    }

    @Test
    void everyCrashStateGivesBackTheGroupsWhoseBarrierPassedWholeAndInOrderAndReplaysClean() throws IOException {
        SimulatedDevice device = new SimulatedDevice();
        Store store = Store.create(device, OPTIONS);
        try (WriteTransaction warmup = store.beginWrite()) {
            for (int i = 0; i < 300; i++) {
                warmup.put(("aged" + i).getBytes(), new byte[80]);
            }
            warmup.commit();
        }
        SimulatedDevice.Image initial = device.image();
        long initialGeneration = store.generation();
        device.clearLog();
        List<Logged> logged = new ArrayList<>();
        Random random = new Random(7);
        int next = 0;
        for (int round = 0; round < 3; round++) {
            try (WriteTransaction txn = store.beginWrite()) {
                long base = store.generation();
                for (int g = 0; g < 4; g++) {
                    String key = "file" + next++;
                    // Small and multi-block extents; a group that spans several units now and then.
                    byte[] data = new byte[g == 2 ? 20_000 : 1 + random.nextInt(3000)];
                    random.nextBytes(data);
                    BlockRef extent = txn.writeDataExtent(data, 0, data.length);
                    txn.putDataExtent(TreeIds.DEFAULT, key.getBytes(), extentValue(extent, data.length));
                    txn.put(("other" + next).getBytes(), new byte[200]); // unlogged work beside it
                    byte[] records = group(key, extent, data.length, g == 1 ? 9000 : 10);
                    assertTrue(txn.logDurably(records, List.of(new IntentLog.Extent(extent, data.length))));
                    device.marker("logged " + key); // logDurably returned
                    logged.add(new Logged(base, key, extent, data, records, device.log().size() - 1));
                }
                if (round < 2) {
                    txn.commit(); // folds the log
                }
            }
        }
        List<SimulatedDevice.Op> log = device.log();
        CrashStates states = new CrashStates(initial, log);
        int judged = 0;
        int replayed = 0;
        List<Integer> starts = states.epochStarts();
        for (int e = 0; e < starts.size(); e++) {
            int start = starts.get(e);
            // A crash in this epoch may come after everything logged in it returned: all of that must be back.
            int end = e + 1 < starts.size() ? starts.get(e + 1) : log.size();
            long durable = states.durableGeneration(start, initialGeneration);
            for (CrashStates.State state : states.statesInEpoch(start, new Random(start), 4)) {
                judged++;
                replayed += judge(state, end, logged, CrashStates.expectedGeneration(state, durable));
            }
            for (CrashStates.State torn : states.tornStatesInEpoch(start, new Random(start))) {
                judged++;
                replayed += judge(torn, end, logged, CrashStates.expectedGeneration(torn, durable));
            }
        }
        System.out.println("intent log: " + judged + " crash states judged, " + replayed + " with a log replayed");
        assertTrue(judged > 100, "only " + judged + " states");
        assertTrue(replayed > 20, "only " + replayed + " states had a log to replay");
    }

    /** Opens one crash state, checks its log against what was logged, replays it and checks the result. */
    private static int judge(CrashStates.State state, int end, List<Logged> logged, long generation)
            throws IOException {
        Store recovered = Store.open(state.device(), OPTIONS);
        assertEquals(generation, recovered.generation(), state.description());
        IntentLog.Pending pending = recovered.pendingLog();
        List<Logged> onBase = logged.stream().filter(l -> l.base() == generation).toList();
        long required = onBase.stream().filter(l -> l.marker() < end).count();
        assertTrue(pending.groups().size() >= required && pending.groups().size() <= onBase.size(),
                state.description() + ": " + pending.groups().size() + " groups back, " + required + " to "
                        + onBase.size() + " expected");
        Map<String, Logged> byKey = new HashMap<>();
        for (int i = 0; i < pending.groups().size(); i++) {
            IntentLog.Group logGroup = pending.groups().get(i);
            byte[] group = logGroup.records();
            Logged expected = onBase.get(i);
            assertArrayEquals(expected.records(), group, state.description() + ": group " + i);
            assertEquals(List.of(new IntentLog.Extent(expected.extent(), expected.data().length)), logGroup.extents(),
                    state.description());
            byKey.put(expected.key(), expected);
        }
        if (pending.isEmpty()) {
            return 0;
        }
        try (WriteTransaction txn = recovered.beginWrite()) {
            txn.claimForReplay(pending);
            for (IntentLog.Group logGroup : pending.groups()) {
                byte[] group = logGroup.records();
                Logged expected = byKey.get(keyOf(group));
                byte[] read = new byte[storedOf(group)];
                txn.readDataExtent(extentOf(group), read.length, 0, read, 0, read.length);
                assertArrayEquals(expected.data(), read, state.description() + ": extent of " + expected.key());
                txn.putDataExtent(TreeIds.DEFAULT, expected.key().getBytes(), extentValue(extentOf(group), read.length));
            }
            txn.commit();
        }
        CheckReport report = recovered.check();
        assertTrue(report.isClean(), state.description() + ": " + report.summary());
        assertTrue(recovered.pendingLog().isEmpty(), "the replay's commit folds the log");
        try (ReadTransaction read = recovered.beginRead()) {
            for (String key : byKey.keySet()) {
                assertTrue(read.get(TreeIds.DEFAULT, key.getBytes()) != null, key);
            }
        }
        return 1;
    }

    @Test
    void aCommitFoldsTheLogAndItsChainWaitsLikeAnyFreedBlock() throws IOException {
        SimulatedDevice device = new SimulatedDevice();
        Store store = Store.create(device, OPTIONS);
        try (WriteTransaction txn = store.beginWrite()) {
            txn.put("a".getBytes(), "1".getBytes());
            txn.commit();
        }
        try (WriteTransaction txn = store.beginWrite()) {
            for (int i = 0; i < 5; i++) {
                byte[] group = new byte[6000];
                Arrays.fill(group, (byte) i);
                assertTrue(txn.logDurably(group, List.of()));
            }
            assertTrue(txn.logUnitsWritten() >= 5);
            txn.commit();
        }
        Store reopened = Store.open(SimulatedDevice.ofImage(device.image()), OPTIONS);
        assertTrue(reopened.pendingLog().isEmpty(), "a folded log is not replayed again");
        CheckReport report = reopened.check();
        assertTrue(report.isClean(), report.summary());
    }
}
