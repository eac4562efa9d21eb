package dev.cowfs.engine;

import dev.cowfs.engine.device.SimulatedDevice;
import dev.cowfs.engine.error.IncompatibleImageException;
import dev.cowfs.engine.format.Limits;
import dev.cowfs.engine.superblock.Superblock;
import org.junit.jupiter.api.Test;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Images from a newer version: unknown incompatible features are refused, read-only-compatible ones read. */
class FeatureFlagsTest {
    private static SimulatedDevice imageWithFeatures(long roCompat, long incompat) throws IOException {
        SimulatedDevice device = new SimulatedDevice();
        try (Store store = Store.create(device, StoreOptions.defaults())) {
            Superblock current = store.superblock();
            Superblock newer = new Superblock(current.generation(), current.imageUuid(), current.blockSizeBytes(), 0,
                    roCompat, incompat, current.parentChecksum(), current.commitTimeMillis(),
                    current.highWaterBlock(), current.freeBlocks(), current.pendingBlocks(), current.catalogRoot(),
                    current.spaceRoot(), current.capacityBlocks());
            byte[] bytes = newer.encode();
            device.write(Limits.superblockSlotOffset(newer.ringSlot()), bytes, 0, bytes.length);
            device.write(Limits.FAR_SUPERBLOCK_OFFSET_BYTES, bytes, 0, bytes.length);
        }
        return SimulatedDevice.ofImage(device.image());
    }

    @Test
    void anUnknownIncompatibleFeatureIsRefusedWithAClearMessage() throws IOException {
        SimulatedDevice device = imageWithFeatures(0, 1L << 40);
        IncompatibleImageException error = assertThrows(IncompatibleImageException.class,
                () -> Store.open(device, StoreOptions.builder().readOnly(true).build()));
        assertTrue(error.getMessage().contains("newer version"), error.getMessage());
    }

    @Test
    void anUnknownReadOnlyCompatibleFeatureOpensOnlyReadOnly() throws IOException {
        SimulatedDevice device = imageWithFeatures(1L << 3, 0);
        assertThrows(IncompatibleImageException.class, () -> Store.open(device, StoreOptions.defaults()));
        try (Store store = Store.open(device, StoreOptions.builder().readOnly(true).build())) {
            assertEquals(1, store.generation());
        }
    }
}
