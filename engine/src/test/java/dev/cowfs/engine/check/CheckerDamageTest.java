package dev.cowfs.engine.check;

import dev.cowfs.engine.Store;
import dev.cowfs.engine.StoreOptions;
import dev.cowfs.engine.WriteTransaction;
import dev.cowfs.engine.btree.NodeReader;
import dev.cowfs.engine.btree.NodeView;
import dev.cowfs.engine.btree.TreeSearch;
import dev.cowfs.engine.device.SimulatedDevice;
import dev.cowfs.engine.device.VerifiedBlocks;
import dev.cowfs.engine.format.BlockRef;
import dev.cowfs.engine.format.TreeIds;
import dev.cowfs.engine.superblock.Superblock;
import dev.cowfs.engine.superblock.SuperblockRing;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The checker against each kind of damage it is there to find, made on purpose in an image that checks clean
 * first: a node whose bytes changed, blocks nothing accounts for, superblock totals the space tree contradicts, a
 * space tree that lists reachable blocks as free, and blocks reused while a retained generation still reaches them.
 */
class CheckerDamageTest {
    private static byte[] key(int i) {
        return String.format("key-%06d", i).getBytes(StandardCharsets.UTF_8);
    }

    /** An image with generations 2..6 of a default tree of 5,000 entries, each commit rewriting a tenth. */
    private static SimulatedDevice image(StoreOptions options) throws IOException {
        SimulatedDevice device = new SimulatedDevice();
        try (Store store = Store.create(device, options)) {
            for (int round = 0; round < 5; round++) {
                try (WriteTransaction txn = store.beginWrite()) {
                    for (int i = round == 0 ? 0 : round * 500; i < (round == 0 ? 5000 : round * 500 + 500); i++) {
                        txn.put(key(i), new byte[] {(byte) round, 1, 2, 3, 4, 5, 6, 7, 8, 9});
                    }
                    txn.commit();
                }
            }
        }
        return SimulatedDevice.ofImage(device.image());
    }

    private static List<Superblock> copies(SimulatedDevice device) throws IOException {
        return SuperblockRing.readCopies(device, new ArrayList<>());
    }

    private static CheckReport check(SimulatedDevice device, Superblock newest) {
        return Checker.check(device, newest, List.of());
    }

    private static Superblock with(Superblock s, long highWater, long free, BlockRef spaceRoot) {
        return new Superblock(s.generation(), s.imageUuid(), s.blockSizeBytes(), s.compatFeatures(),
                s.roCompatFeatures(), s.incompatFeatures(), s.parentChecksum(), s.commitTimeMillis(), highWater, free,
                s.pendingBlocks(), s.catalogRoot(), spaceRoot, s.capacityBlocks());
    }

    private static boolean mentions(CheckReport report, String text) {
        return report.problems().stream().anyMatch(p -> p.contains(text));
    }

    @Test
    void aCleanImageChecksClean() throws IOException {
        SimulatedDevice device = image(StoreOptions.defaults());
        CheckReport report = check(device, copies(device).get(0));
        assertTrue(report.isClean(), report.summary());
        assertEquals(0, report.leakedBlocks().cardinality());
        assertFalse(report.countsWrong());
    }

    @Test
    void aNodeWhoseBytesChangedIsNamed() throws IOException {
        SimulatedDevice device = image(StoreOptions.defaults());
        Superblock newest = copies(device).get(0);
        NodeReader reader = new NodeReader(device, newest.blockSizeBytes(), new VerifiedBlocks());
        byte[] rootBytes = TreeSearch.get(reader, newest.catalogRoot(), TreeIds.CATALOG,
                TreeIds.catalogKey(TreeIds.DEFAULT), new NodeView());
        BlockRef root = BlockRef.decode(rootBytes, 0);
        long offset = root.blockIndex() * newest.blockSizeBytes() + newest.blockSizeBytes() - 10;
        byte[] b = new byte[1];
        device.read(offset, b, 0, 1);
        b[0] ^= 0x40;
        device.write(offset, b, 0, 1);
        CheckReport report = check(device, newest);
        assertTrue(mentions(report, "block " + root.blockIndex()) && mentions(report, "checksum"),
                report.summary());
    }

    @Test
    void blocksNothingAccountsForAreLeaked() throws IOException {
        SimulatedDevice device = image(StoreOptions.defaults());
        Superblock newest = copies(device).get(0);
        Superblock raised = with(newest, newest.highWaterBlock() + 7, newest.freeBlocks(), newest.spaceRoot());
        device.ensureLength((raised.highWaterBlock() + 1) * raised.blockSizeBytes());
        CheckReport report = check(device, raised);
        assertEquals(7, report.leakedBlocks().cardinality(), report.summary());
        assertEquals(newest.highWaterBlock(), report.leakedBlocks().nextSetBit(0));
        assertFalse(report.isClean());
        assertEquals(0, report.otherProblems(), "leaked blocks alone: " + report.summary());
    }

    @Test
    void superblockTotalsTheSpaceTreeContradictsAreReported() throws IOException {
        SimulatedDevice device = image(StoreOptions.defaults());
        Superblock newest = copies(device).get(0);
        CheckReport report = check(device, with(newest, newest.highWaterBlock(), newest.freeBlocks() + 3,
                newest.spaceRoot()));
        assertTrue(report.countsWrong(), report.summary());
        assertEquals(0, report.otherProblems(), "wrong totals alone: " + report.summary());
    }

    @Test
    void aSpaceTreeListingReachableBlocksAsFreeIsReported() throws IOException {
        SimulatedDevice device = image(StoreOptions.defaults());
        List<Superblock> copies = copies(device);
        Superblock newest = copies.get(0);
        Superblock older = copies.get(copies.size() - 1);
        assertTrue(older.generation() < newest.generation() - 1, "copies " + copies);
        CheckReport report = check(device, with(newest, newest.highWaterBlock(), older.freeBlocks(),
                older.spaceRoot()));
        assertTrue(mentions(report, "is also reachable, free or pending") || mentions(report, "reachable but lies"),
                report.summary());
        assertTrue(report.otherProblems() > 0);
    }

    @Test
    void blocksReusedWhileARetainedGenerationReachesThemAreReported() throws IOException {
        SimulatedDevice device = image(StoreOptions.builder().checkAfterCommit(false).reuseFreedBlocksEarlyForTesting(true).build());
        List<Superblock> copies = copies(device);
        CheckReport report = Checker.check(device, copies.get(0), copies.subList(1, copies.size()));
        assertTrue(mentions(report, "reachable from retained generation"), report.summary());
        SimulatedDevice sound = image(StoreOptions.builder().checkAfterCommit(false).build());
        List<Superblock> soundCopies = copies(sound);
        CheckReport clean = Checker.check(sound, soundCopies.get(0), soundCopies.subList(1, soundCopies.size()));
        assertTrue(clean.isClean(), "the same work without the reuse bug: " + clean.summary());
    }
}
