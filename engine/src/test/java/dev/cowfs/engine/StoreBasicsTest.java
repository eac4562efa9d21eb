package dev.cowfs.engine;

import dev.cowfs.engine.device.SimulatedDevice;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StoreBasicsTest {
    static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    static StoreOptions strict() {
        return StoreOptions.builder().checkAfterCommit(true).build();
    }

    @Test
    void putGetCommitReopenSeesCommittedValues() throws Exception {
        SimulatedDevice device = new SimulatedDevice();
        try (Store store = Store.create(device, strict())) {
            try (WriteTransaction txn = store.beginWrite()) {
                txn.put(bytes("alpha"), bytes("1"));
                txn.put(bytes("beta"), bytes("2"));
                assertArrayEquals(bytes("1"), txn.get(bytes("alpha")));
                assertEquals(2, txn.commit());
            }
        }
        try (Store store = Store.open(SimulatedDevice.ofImage(device.image()), strict());
             ReadTransaction read = store.beginRead()) {
            assertEquals(2, read.generation());
            assertArrayEquals(bytes("2"), read.get(bytes("beta")));
            assertNull(read.get(bytes("gamma")));
        }
    }

    @Test
    void cursorsStopWhenTheirTransactionEnds() throws Exception {
        try (Store store = Store.create(new SimulatedDevice(), strict())) {
            WriteTransaction txn = store.beginWrite();
            for (int i = 0; i < 500; i++) {
                txn.put(bytes("key-" + i), bytes("value-" + i));
            }
            Cursor writeCursor = txn.cursor();
            assertTrue(writeCursor.first());
            txn.commit();
            // Its dirty nodes were freed with the transaction: reading through the cursor must be refused.
            assertThrows(IllegalStateException.class, writeCursor::next);
            assertThrows(IllegalStateException.class, writeCursor::value);

            WriteTransaction aborted = store.beginWrite();
            aborted.put(bytes("key-1"), bytes("changed"));
            Cursor abortedCursor = aborted.cursor();
            assertTrue(abortedCursor.seek(bytes("key-1")));
            aborted.abort();
            assertThrows(IllegalStateException.class, abortedCursor::value);

            ReadTransaction read = store.beginRead();
            Cursor readCursor = read.cursor();
            assertTrue(readCursor.first());
            read.close();
            assertThrows(IllegalStateException.class, readCursor::next);
        }
    }

    @Test
    void manyRandomKeysSplitMergeAndMatchTreeMapAcrossCommits() throws Exception {
        SimulatedDevice device = new SimulatedDevice();
        TreeMap<String, String> model = new TreeMap<>();
        Random random = new Random(7);
        try (Store store = Store.create(device, strict())) {
            for (int round = 0; round < 8; round++) {
                try (WriteTransaction txn = store.beginWrite()) {
                    for (int i = 0; i < 1500; i++) {
                        String key = "k" + random.nextInt(4000);
                        if (random.nextInt(3) == 0) {
                            assertEquals(model.remove(key) != null, txn.delete(bytes(key)));
                        } else {
                            String value = "v" + random.nextInt() + "x".repeat(random.nextInt(random.nextInt(8) == 0 ? 3000 : 40));
                            model.put(key, value);
                            txn.put(bytes(key), bytes(value));
                        }
                    }
                    txn.commit();
                }
                try (ReadTransaction read = store.beginRead()) {
                    Cursor cursor = read.cursor();
                    var expected = model.entrySet().iterator();
                    for (boolean ok = cursor.first(); ok; ok = cursor.next()) {
                        var entry = expected.next();
                        assertEquals(entry.getKey(), new String(cursor.key(), StandardCharsets.UTF_8));
                        assertEquals(entry.getValue(), new String(cursor.value(), StandardCharsets.UTF_8));
                    }
                    assertFalse(expected.hasNext());
                }
            }
            try (WriteTransaction txn = store.beginWrite()) {
                for (String key : model.keySet()) {
                    assertTrue(txn.delete(bytes(key)));
                }
                txn.commit();
            }
            assertTrue(store.check().isClean(), store.check().summary());
        }
    }
}
