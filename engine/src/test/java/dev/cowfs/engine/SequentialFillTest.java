package dev.cowfs.engine;

import dev.cowfs.engine.device.SimulatedDevice;
import dev.cowfs.engine.format.Limits;
import dev.cowfs.engine.format.NodeLayout;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Appending keys in order fills leaves completely (the split leaves the left node full); random order does not. */
class SequentialFillTest {
    private static final int KEYS = 50_000;
    private static final int VALUE_BYTES = 50;

    private static long reachableBlocks(boolean sequential) throws IOException {
        Random random = new Random(1);
        try (Store store = Store.create(new SimulatedDevice(), StoreOptions.builder().checkAfterCommit(false).build())) {
            try (WriteTransaction txn = store.beginWrite()) {
                for (int i = 0; i < KEYS; i++) {
                    int k = sequential ? i : random.nextInt(Integer.MAX_VALUE);
                    txn.put(String.format("k%010d", k).getBytes(), new byte[VALUE_BYTES]);
                }
                txn.commit();
            }
            return store.check().reachableBlocks();
        }
    }

    @Test
    void sequentialInsertsPackLeavesFull() throws IOException {
        int entryBytes = NodeLayout.leafEntryBytes(11, VALUE_BYTES);
        long perLeaf = NodeLayout.payloadBytes(Limits.DEFAULT_BLOCK_SIZE_BYTES) / entryBytes;
        long idealLeaves = (KEYS + perLeaf - 1) / perLeaf;
        long sequential = reachableBlocks(true);
        long random = reachableBlocks(false);
        // Leaves full to within one entry, plus branches (about 1 in 100), catalog and space tree.
        assertTrue(sequential <= idealLeaves * 1.05, "sequential used " + sequential + " blocks, ideal leaves " + idealLeaves);
        assertTrue(random > sequential * 1.2, "random used " + random + ", sequential " + sequential);
    }
}
