package dev.cowfs.engine;

import dev.cowfs.engine.device.SimulatedDevice;
import dev.cowfs.engine.error.CorruptionException;
import dev.cowfs.engine.format.BlockRef;
import dev.cowfs.engine.format.Bytes;
import dev.cowfs.engine.format.NodeLayout;
import dev.cowfs.engine.format.SuperblockLayout;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Reference-counted data extents (what file data is stored in): written once, shared by several entries,
 * freed with the last reference, verified on read, counted exactly by the checker (strict mode after every
 * commit), and marked in the superblock as an incompatible feature.
 */
class DataExtentTest {
    private static final long TREE = 300;

    static StoreOptions strict() {
        return StoreOptions.builder().checkAfterCommit(true).build();
    }

    static byte[] entryValue(BlockRef extent, int storedBytes, int tag) {
        byte[] value = new byte[NodeLayout.DATA_EXTENT_HEADER_BYTES + 4];
        extent.encode(value, NodeLayout.DATA_EXTENT_REF_OFFSET);
        Bytes.putInt(value, NodeLayout.DATA_EXTENT_STORED_BYTES_OFFSET, storedBytes);
        Bytes.putInt(value, NodeLayout.DATA_EXTENT_HEADER_BYTES, tag);
        return value;
    }

    static BlockRef refOf(byte[] value) {
        return BlockRef.decode(value, NodeLayout.DATA_EXTENT_REF_OFFSET);
    }

    static byte[] key(int i) {
        return ("entry-" + i).getBytes();
    }

    @Test
    void sharedExtentLivesUntilItsLastReferenceGoes() throws Exception {
        SimulatedDevice device = new SimulatedDevice();
        byte[] data = new byte[10_000];
        new Random(1).nextBytes(data);
        BlockRef extent;
        try (Store store = Store.create(device, strict())) {
            try (WriteTransaction txn = store.beginWrite()) {
                txn.createTree(TREE);
                extent = txn.writeDataExtent(data, 0, data.length);
                txn.putDataExtent(TREE, key(1), entryValue(extent, data.length, 1));
                txn.addDataExtentReference(extent);
                txn.putDataExtent(TREE, key(2), entryValue(extent, data.length, 2));
                assertEquals(2, txn.dataExtentReferences(extent));
                txn.commit();
            }
            assertTrue((store.superblock().incompatFeatures() & SuperblockLayout.INCOMPAT_DATA_EXTENTS) != 0);
            long freeBefore = store.superblock().freeBlocks() + store.superblock().pendingBlocks();
            try (WriteTransaction txn = store.beginWrite()) {
                assertTrue(txn.delete(TREE, key(1)));
                assertEquals(1, txn.dataExtentReferences(extent));
                txn.commit();
            }
            try (ReadTransaction read = store.beginRead()) {
                byte[] back = new byte[data.length];
                read.readDataExtent(refOf(read.get(TREE, key(2))), data.length, 0, back, 0, back.length);
                assertArrayEquals(data, back);
                byte[] middle = new byte[100];
                read.readDataExtent(extent, data.length, 5000, middle, 0, 100);
                assertArrayEquals(java.util.Arrays.copyOfRange(data, 5000, 5100), middle);
            }
            try (WriteTransaction txn = store.beginWrite()) {
                assertTrue(txn.delete(TREE, key(2)));
                txn.commit();
            }
            long freeAfter = store.superblock().freeBlocks() + store.superblock().pendingBlocks();
            assertTrue(freeAfter >= freeBefore + 3, "the extent's 3 blocks went back: " + freeBefore + " -> "
                    + freeAfter);
        }
    }

    @Test
    void aCorruptExtentIsReportedAndNeverReturned() throws Exception {
        SimulatedDevice device = new SimulatedDevice();
        byte[] data = new byte[6000];
        new Random(2).nextBytes(data);
        BlockRef extent;
        try (Store store = Store.create(device, strict())) {
            try (WriteTransaction txn = store.beginWrite()) {
                txn.createTree(TREE);
                extent = txn.writeDataExtent(data, 0, data.length);
                txn.putDataExtent(TREE, key(1), entryValue(extent, data.length, 1));
                txn.commit();
            }
        }
        SimulatedDevice.Image image = device.image();
        SimulatedDevice damaged = SimulatedDevice.ofImage(image);
        long offset = extent.blockIndex() * 4096 + 4500;
        byte[] one = new byte[1];
        damaged.read(offset, one, 0, 1);
        one[0] ^= 0x10;
        damaged.write(offset, one, 0, 1);
        try (Store store = Store.open(damaged, StoreOptions.builder().readOnly(true).checkAfterCommit(false).build());
             ReadTransaction read = store.beginRead()) {
            byte[] back = new byte[10];
            CorruptionException error = assertThrows(CorruptionException.class,
                    () -> read.readDataExtent(extent, data.length, 0, back, 0, back.length));
            assertTrue(error.getMessage().contains("checksum"), error.getMessage());
            String report = store.check().summary();
            assertTrue(report.contains("block " + extent.blockIndex()) || report.contains(extent.toString()),
                    report);
        }
    }

    @Test
    void entriesForDataExtentsAreRefusedInEngineTreesAndWhenMalformed() throws Exception {
        try (Store store = Store.create(new SimulatedDevice(), strict());
             WriteTransaction txn = store.beginWrite()) {
            assertThrows(IllegalArgumentException.class, () -> txn.put(3, key(1), new byte[8]));
            txn.createTree(TREE);
            assertThrows(IllegalArgumentException.class, () -> txn.putDataExtent(TREE, key(1), new byte[10]));
        }
    }

    /**
     * Random writes, shares, replacements and deletions against a model of which entry holds which bytes; every
     * commit runs the strict checker (reference counts exact, nothing leaked), and a reopen reads all back.
     */
    @Property(tries = 25)
    void randomSharingAgreesWithTheModel(@ForAll @IntRange(min = 1, max = 1_000_000) int seed) throws Exception {
        Random random = new Random(seed);
        SimulatedDevice device = new SimulatedDevice();
        Map<Integer, byte[]> model = new HashMap<>(); // entry -> the bytes its extent holds
        Map<Integer, byte[]> values = new HashMap<>(); // entry -> its stored value (the reference)
        try (Store store = Store.create(device, strict())) {
            try (WriteTransaction txn = store.beginWrite()) {
                txn.createTree(TREE);
                txn.commit();
            }
            for (int round = 0; round < 6; round++) {
                Map<Integer, byte[]> modelBefore = new HashMap<>(model);
                Map<Integer, byte[]> valuesBefore = new HashMap<>(values);
                try (WriteTransaction txn = store.beginWrite()) {
                    for (int op = 0; op < 12; op++) {
                        int entry = random.nextInt(16);
                        List<Integer> present = new ArrayList<>(values.keySet());
                        int choice = random.nextInt(10);
                        if (choice < 4 || present.isEmpty()) {
                            byte[] data = new byte[1 + random.nextInt(random.nextBoolean() ? 200 : 20_000)];
                            random.nextBytes(data);
                            BlockRef extent = txn.writeDataExtent(data, 0, data.length);
                            byte[] value = entryValue(extent, data.length, entry);
                            txn.putDataExtent(TREE, key(entry), value);
                            model.put(entry, data);
                            values.put(entry, value);
                        } else if (choice < 7) {
                            int from = present.get(random.nextInt(present.size()));
                            if (from == entry) {
                                continue;
                            }
                            byte[] value = values.get(from);
                            txn.addDataExtentReference(refOf(value));
                            txn.putDataExtent(TREE, key(entry), value);
                            model.put(entry, model.get(from));
                            values.put(entry, value);
                        } else {
                            int gone = present.get(random.nextInt(present.size()));
                            assertTrue(txn.delete(TREE, key(gone)));
                            model.remove(gone);
                            values.remove(gone);
                        }
                    }
                    if (random.nextInt(5) == 0) {
                        txn.abort(); // everything of this round is undone, extents written in it included
                        model.clear();
                        model.putAll(modelBefore);
                        values.clear();
                        values.putAll(valuesBefore);
                        continue;
                    }
                    txn.commit();
                }
            }
        }
        try (Store store = Store.open(SimulatedDevice.ofImage(device.image()), strict());
             ReadTransaction read = store.beginRead()) {
            assertTrue(store.check().isClean(), store.check().summary());
            for (var entry : model.entrySet()) {
                byte[] value = read.get(TREE, key(entry.getKey()));
                assertNotEquals(null, value, "entry " + entry.getKey());
                byte[] back = new byte[entry.getValue().length];
                read.readDataExtent(refOf(value), back.length, 0, back, 0, back.length);
                assertArrayEquals(entry.getValue(), back, "entry " + entry.getKey());
            }
        }
    }
}
