package dev.cowfs.engine.superblock;

import dev.cowfs.engine.Store;
import dev.cowfs.engine.StoreOptions;
import dev.cowfs.engine.WriteTransaction;
import dev.cowfs.engine.device.Checksums;
import dev.cowfs.engine.device.SimulatedDevice;
import dev.cowfs.engine.error.NewerGenerationDamagedException;
import dev.cowfs.engine.format.Bytes;
import dev.cowfs.engine.format.Limits;
import dev.cowfs.engine.format.SuperblockLayout;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The ring's checks on open: the parent chain between copies, and reserved bytes that must be zero. */
class SuperblockRingTest {
    private static final StoreOptions READ_ONLY = StoreOptions.builder().readOnly(true).build();

    /** An image committed up to generation {@code generations}, one key per commit. */
    private static SimulatedDevice imageAt(int generations) throws IOException {
        SimulatedDevice device = new SimulatedDevice();
        try (Store store = Store.create(device, StoreOptions.defaults())) {
            while (store.generation() < generations) {
                try (WriteTransaction txn = store.beginWrite()) {
                    txn.put(("key-" + store.generation()).getBytes(StandardCharsets.UTF_8), new byte[] {1});
                    txn.commit();
                }
            }
        }
        return SimulatedDevice.ofImage(device.image());
    }

    private static Superblock newest(SimulatedDevice device) throws IOException {
        return SuperblockRing.readCopies(device, new ArrayList<>()).get(0);
    }

    /** Rewrites the newest superblock's ring slot through {@code edit}, with a valid checksum over the result. */
    private static void rewriteNewest(SimulatedDevice device, java.util.function.Consumer<byte[]> edit)
            throws IOException {
        Superblock newest = newest(device);
        byte[] bytes = newest.encode();
        edit.accept(bytes);
        Bytes.putInt(bytes, SuperblockLayout.CHECKSUM_OFFSET,
                Checksums.crc32c(bytes, 0, SuperblockLayout.CHECKSUM_OFFSET));
        device.write(Limits.superblockSlotOffset(newest.ringSlot()), bytes, 0, bytes.length);
    }

    @Test
    void copiesOfOneHistoryChainThroughCommitsAndARollBack() throws IOException {
        SimulatedDevice device = imageAt(9);
        try (Store store = Store.open(device, StoreOptions.defaults())) {
            assertEquals(List.of(), store.damagedSuperblockCopies());
            store.rollBack(7, blocks -> { });
            assertEquals(List.of(), store.damagedSuperblockCopies(), "the roll-back commit chains to the newest");
        }
        List<Superblock> copies = SuperblockRing.readCopies(device, new ArrayList<>());
        for (Superblock copy : copies) {
            assertEquals(null, SuperblockRing.verifyParentChain(copies, copy), "generation " + copy.generation());
        }
    }

    @Test
    void aCopyThatDoesNotChainToItsParentIsPassedOver() throws IOException {
        SimulatedDevice device = imageAt(6);
        rewriteNewest(device, bytes -> Bytes.putInt(bytes, SuperblockLayout.PARENT_CHECKSUM_OFFSET,
                Bytes.getInt(bytes, SuperblockLayout.PARENT_CHECKSUM_OFFSET) ^ 0x5a5a));
        assertEquals(6, newest(device).generation(), "the rewritten copy still decodes");
        NewerGenerationDamagedException refused = assertThrows(NewerGenerationDamagedException.class,
                () -> Store.open(device, StoreOptions.defaults()));
        assertTrue(refused.getMessage().contains("not of one history"), refused.getMessage());
        try (Store store = Store.open(device, READ_ONLY)) {
            assertEquals(5, store.generation(), "falls back to the parent");
            assertTrue(store.openWarnings().stream().anyMatch(w -> w.contains("parent checksum")),
                    store.openWarnings().toString());
            List<String> damaged = store.damagedSuperblockCopies();
            assertEquals(1, damaged.size(), damaged.toString());
            assertTrue(damaged.get(0).startsWith("generation 6: its parent checksum"), damaged.get(0));
        }
    }

    @Test
    void aCopyWhoseReservedBytesAreNotZeroIsNoSuperblock() throws IOException {
        for (int offset : new int[] {SuperblockLayout.RESERVED_A_OFFSET, SuperblockLayout.RESERVED_B_OFFSET,
                SuperblockLayout.CHECKSUM_OFFSET - 1}) {
            SimulatedDevice device = imageAt(6);
            rewriteNewest(device, bytes -> bytes[offset] = 1);
            List<String> problems = new ArrayList<>();
            List<Superblock> copies = SuperblockRing.readCopies(device, problems);
            assertEquals(5, copies.get(0).generation(), "offset " + offset);
            assertTrue(problems.stream().anyMatch(p -> p.contains("reserved superblock bytes are not zero")),
                    problems.toString());
            try (Store store = Store.open(device, READ_ONLY)) {
                assertEquals(5, store.generation());
            }
        }
    }
}
