package dev.cowfs.engine.crash;

import dev.cowfs.engine.ReadTransaction;
import dev.cowfs.engine.Store;
import dev.cowfs.engine.StoreOptions;
import dev.cowfs.engine.WriteTransaction;
import dev.cowfs.engine.device.SimulatedDevice;
import dev.cowfs.engine.error.OutOfSpaceException;
import dev.cowfs.engine.error.ReadOnlyEngineException;
import org.junit.jupiter.api.Test;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** I/O errors and a full device during commit: the last durable commit always stays intact. */
class DeviceFailureTest {
    private static final StoreOptions OPTIONS = StoreOptions.builder().checkAfterCommit(false).build();

    private static Store storeWithOneCommit(SimulatedDevice device) throws IOException {
        Store store = Store.create(device, OPTIONS);
        try (WriteTransaction txn = store.beginWrite()) {
            for (int i = 0; i < 2000; i++) {
                txn.put(("durable" + i).getBytes(), ("v" + i).getBytes());
            }
            txn.commit();
        }
        return store;
    }

    @Test
    void anIoErrorAtAnyPointOfACommitLeavesTheLastDurableCommitAndTurnsTheStoreReadOnly() throws IOException {
        for (int failAt = 0; failAt < 60; failAt += 3) {
            SimulatedDevice device = new SimulatedDevice();
            try (Store store = storeWithOneCommit(device)) {
                long durable = store.generation();
                WriteTransaction txn = store.beginWrite();
                for (int i = 0; i < 3000; i++) {
                    txn.put(("lost" + i).getBytes(), new byte[i % 100 == 0 ? 5000 : 30]);
                }
                device.failAfter(failAt);
                IOException error = assertThrows(IOException.class, txn::commit, "fail after " + failAt);
                assertTrue(error.getMessage().contains("simulated I/O error"), error.getMessage());
                ReadOnlyEngineException readOnly = assertThrows(ReadOnlyEngineException.class, store::beginWrite);
                assertTrue(readOnly.getMessage().contains("reopen"), readOnly.getMessage());
                assertEquals(durable, store.generation());
                try (ReadTransaction read = store.beginRead()) {
                    assertArrayEquals("v7".getBytes(), read.get("durable7".getBytes()));
                    assertNull(read.get("lost1".getBytes()));
                }
            }
            device.failAfter(-1);
            try (Store reopened = Store.open(SimulatedDevice.ofImage(device.image()), OPTIONS)) {
                long generation = reopened.generation();
                assertTrue(generation == 2 || generation == 3, "generation " + generation);
                try (ReadTransaction read = reopened.beginRead()) {
                    assertArrayEquals("v1999".getBytes(), read.get("durable1999".getBytes()));
                    if (generation == 2) {
                        assertNull(read.get("lost1".getBytes()));
                    } else {
                        assertEquals(30, read.get("lost1".getBytes()).length); // the superblock landed before the error
                    }
                }
                assertTrue(reopened.check().isClean(), reopened.check().summary());
            }
        }
    }

    @Test
    void aFullDeviceFailsTheCommitCleanlyAndTheStoreStaysWritable() throws IOException {
        SimulatedDevice device = new SimulatedDevice();
        try (Store store = storeWithOneCommit(device)) {
            device.setCapacityBytes(device.lengthBytes() + 1024 * 1024);
            OutOfSpaceException full = assertThrows(OutOfSpaceException.class, () -> {
                try (WriteTransaction txn = store.beginWrite()) {
                    for (int i = 0; i < 40_000; i++) { // 80 MB: past the 64 MiB the image already spans
                        txn.put(("big" + i).getBytes(), new byte[2000]);
                    }
                    txn.commit();
                }
            });
            assertTrue(full.getMessage().contains("full"), full.getMessage());
            try (WriteTransaction txn = store.beginWrite()) {
                txn.delete("durable5".getBytes());
                txn.put("small".getBytes(), "fits".getBytes());
                txn.commit();
            }
            try (ReadTransaction read = store.beginRead()) {
                assertArrayEquals("fits".getBytes(), read.get("small".getBytes()));
                assertNull(read.get("big1".getBytes()));
                assertArrayEquals("v6".getBytes(), read.get("durable6".getBytes()));
            }
            assertTrue(store.check().isClean(), store.check().summary());
        }
    }
}
