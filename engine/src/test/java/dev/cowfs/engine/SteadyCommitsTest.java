package dev.cowfs.engine;

import dev.cowfs.engine.check.CheckReport;
import dev.cowfs.engine.device.SimulatedDevice;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Commit after commit of the same kind of work (random updates of existing keys) reaches a steady state: the
 * image holds the live tree plus what the last few generations freed (the ring keeps four roots, so their blocks
 * wait) and what the commit in hand writes, and freed blocks come back into use, so the high-water mark levels
 * off instead of rising with every commit.
 */
class SteadyCommitsTest {
    private static final int KEYS = 20_000;
    private static final int COMMITS = 2000;

    private static byte[] key(int index) {
        return String.format("key%012d", index * 7919L % 1_000_003L).getBytes();
    }

    @Test
    void randomUpdatesCommitAfterCommitLevelTheHighWaterMarkOff() throws IOException {
        Random random = new Random(3);
        byte[] value = new byte[100];
        try (Store store = Store.create(new SimulatedDevice(), StoreOptions.builder().checkAfterCommit(false).build())) {
            try (WriteTransaction txn = store.beginWrite()) {
                for (int i = 0; i < KEYS; i++) {
                    random.nextBytes(value);
                    txn.put(key(i), value);
                }
                txn.commit();
            }
            long loaded = store.check().highWaterBlock();
            long halfway = 0;
            StringBuilder marks = new StringBuilder();
            for (int commit = 1; commit <= COMMITS; commit++) {
                try (WriteTransaction txn = store.beginWrite()) {
                    for (int i = 0; i < 100; i++) {
                        random.nextBytes(value);
                        txn.put(key(random.nextInt(KEYS)), value);
                    }
                    txn.commit();
                }
                if (commit % 250 == 0) {
                    CheckReport report = store.check();
                    assertTrue(report.isClean(), report.summary());
                    marks.append(' ').append(report.highWaterBlock());
                    if (commit == COMMITS / 2) {
                        halfway = report.highWaterBlock();
                    }
                }
            }
            long end = store.check().highWaterBlock();
            System.out.println("high-water mark after loading: " + loaded + ", every 250 commits:" + marks);
            // Reaching the steady state takes the mark well above the loaded tree; after it, it barely moves.
            assertTrue(end <= halfway * 1.05, "high-water mark rose from block " + halfway + " to " + end
                    + " over the last " + COMMITS / 2 + " commits of 100 updates (every 250:" + marks + ")");
            assertTrue(end <= loaded * 4, "high-water mark " + end + " against " + loaded + " after loading");
        }
    }
}
