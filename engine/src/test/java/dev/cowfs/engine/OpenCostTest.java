package dev.cowfs.engine;

import dev.cowfs.engine.device.SimulatedDevice;
import org.junit.jupiter.api.Test;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Opening reads the superblock copies and the roots they name, nothing more: open cost is independent of size. */
class OpenCostTest {
    private static SimulatedDevice.Image imageWithKeys(int keys) throws IOException {
        SimulatedDevice device = new SimulatedDevice();
        try (Store store = Store.create(device, StoreOptions.builder().checkAfterCommit(false).build());
             WriteTransaction txn = store.beginWrite()) {
            for (int i = 0; i < keys; i++) {
                txn.put(("key" + i).getBytes(), new byte[64]);
            }
            txn.commit();
        }
        return device.image();
    }

    private static long bytesReadToOpen(SimulatedDevice.Image image) throws IOException {
        SimulatedDevice device = SimulatedDevice.ofImage(image);
        try (Store store = Store.open(device, StoreOptions.builder().checkAfterCommit(false).readOnly(true).build())) {
            return device.bytesRead();
        }
    }

    @Test
    void openingASmallAndALargeImageReadsTheSameFewBlocks() throws IOException {
        long small = bytesReadToOpen(imageWithKeys(10));
        long large = bytesReadToOpen(imageWithKeys(200_000));
        assertEquals(small, large, "open read " + small + " bytes of a small image and " + large + " of a large one");
        // Five superblock copies, the catalog and space roots (verified twice: once to choose, once to use),
        // and the catalog lookup of the default tree.
        assertTrue(large <= 5 * 4096 + 8 * 4096, "open read " + large + " bytes");
    }
}
