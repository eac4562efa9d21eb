package dev.cowfs.engine.space;

import dev.cowfs.engine.ReadTransaction;
import dev.cowfs.engine.Store;
import dev.cowfs.engine.StoreOptions;
import dev.cowfs.engine.WriteTransaction;
import dev.cowfs.engine.check.Checker;
import dev.cowfs.engine.device.SimulatedDevice;
import dev.cowfs.engine.format.Limits;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.BitSet;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The allocator's reuse rule at the ring's boundary (DESIGN invariant 4): blocks freed in the commit of generation
 * F stay pending through the commits of F + 1 and F + 2, are released by the commit of F + 3 (the last generation
 * that reached them, F - 1, has then left the four-slot ring) and are written again only from F + 4 on; an open
 * reader that reaches them holds them past that, and lets go when it ends.
 */
class ReuseRuleTest {
    private static final StoreOptions OPTIONS = StoreOptions.builder().checkAfterCommit(false).build();

    private static byte[] key(int i) {
        return String.format("key-%06d", i).getBytes(StandardCharsets.UTF_8);
    }

    /** Generation 2 holds 3,000 entries; generation 3 overwrites them all, freeing their nodes. */
    private static BitSet fillThenRewrite(Store store, SimulatedDevice device) throws IOException {
        for (int round = 0; round < 2; round++) {
            try (WriteTransaction txn = store.beginWrite()) {
                for (int i = 0; i < 3000; i++) {
                    txn.put(key(i), new byte[] {(byte) round, 1, 2, 3, 4, 5, 6, 7});
                }
                txn.commit();
            }
        }
        assertEquals(3, store.generation());
        BitSet before = reachable(device, store, 2);
        BitSet after = reachable(device, store, 3);
        before.andNot(after);
        assertTrue(before.cardinality() > 20, "the rewrite freed the old nodes: " + before.cardinality());
        return before;
    }

    private static BitSet reachable(SimulatedDevice device, Store store, long generation) throws IOException {
        var copy = dev.cowfs.engine.superblock.SuperblockRing.readCopies(device, new java.util.ArrayList<>())
                .stream().filter(c -> c.generation() == generation).findFirst().orElseThrow();
        return Checker.check(device, copy, List.of()).protectedBlocks();
    }

    /** One small commit; returns the blocks it wrote. */
    private static BitSet smallCommit(Store store, SimulatedDevice device, int i) throws IOException {
        int logged = device.log().size();
        try (WriteTransaction txn = store.beginWrite()) {
            txn.put(key(100_000 + i), new byte[64]);
            txn.commit();
        }
        BitSet written = new BitSet();
        int blockSize = store.blockSizeBytes();
        for (var op : device.log().subList(logged, device.log().size())) {
            if (op instanceof SimulatedDevice.Write write && write.offset() >= Limits.firstDataBlock(blockSize)
                    * (long) blockSize) {
                written.set((int) (write.offset() / blockSize),
                        (int) ((write.offset() + write.bytes().length + blockSize - 1) / blockSize));
            }
        }
        return written;
    }

    @Test
    void freedBlocksWaitThreeCommitsAndAreWrittenOnlyFromTheFourth() throws IOException {
        SimulatedDevice device = new SimulatedDevice();
        try (Store store = Store.create(device, OPTIONS)) {
            BitSet freed = fillThenRewrite(store, device);
            long pendingAtFree = store.superblock().pendingBlocks();
            assertTrue(pendingAtFree >= freed.cardinality(), "pending at generation 3: " + pendingAtFree);
            for (int commit = 4; commit <= 5; commit++) {
                BitSet written = smallCommit(store, device, commit);
                assertFalse(written.intersects(freed), "generation " + commit + " wrote a block freed at 3");
                assertTrue(store.superblock().pendingBlocks() >= freed.cardinality(), "still pending at " + commit);
            }
            BitSet written = smallCommit(store, device, 6); // F + 3 = 6: releases them, writes none of them
            assertFalse(written.intersects(freed), "generation 6 wrote a block it released");
            assertTrue(store.superblock().pendingBlocks() < freed.cardinality(), "released by the commit of 6: "
                    + store.superblock().pendingBlocks() + " still pending");
            assertEquals(3, RetentionWindow.releasableUpTo(6), "the commit of 6 releases what 3 freed");
            boolean reused = false;
            for (int commit = 7; commit <= 12 && !reused; commit++) {
                reused = smallCommit(store, device, commit).intersects(freed);
            }
            assertTrue(reused, "the released blocks are written again once free");
        }
    }

    @Test
    void aReaderThatReachesFreedBlocksHoldsThemUntilItEnds() throws IOException {
        SimulatedDevice device = new SimulatedDevice();
        try (Store store = Store.create(device, OPTIONS)) {
            ReadTransaction reader;
            try (WriteTransaction txn = store.beginWrite()) {
                for (int i = 0; i < 3000; i++) {
                    txn.put(key(i), new byte[8]);
                }
                txn.commit();
            }
            reader = store.beginRead(); // holds generation 2
            BitSet held = reachable(device, store, 2);
            try (WriteTransaction txn = store.beginWrite()) {
                for (int i = 0; i < 3000; i++) {
                    txn.put(key(i), new byte[] {9});
                }
                txn.commit();
            }
            held.andNot(reachable(device, store, 3));
            for (int commit = 4; commit <= 12; commit++) {
                assertFalse(smallCommit(store, device, commit).intersects(held), "generation " + commit
                        + " wrote a block the reader of generation 2 reaches");
            }
            assertEquals(held.cardinality(), store.spacePins().readerBlocks().getOrDefault(2L, 0L),
                    "the pins name the reader's generation and exactly what it holds");
            reader.close();
            smallCommit(store, device, 13); // releases what only the reader held
            boolean reused = false;
            for (int commit = 14; commit <= 20 && !reused; commit++) {
                reused = smallCommit(store, device, commit).intersects(held);
            }
            assertTrue(reused, "once the reader ends, its blocks are reused");
        }
    }
}
