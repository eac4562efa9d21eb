package dev.cowfs.engine.crash;

import dev.cowfs.engine.Cursor;
import dev.cowfs.engine.ReadTransaction;
import dev.cowfs.engine.Store;
import dev.cowfs.engine.StoreOptions;
import dev.cowfs.engine.WriteTransaction;
import dev.cowfs.engine.check.CheckReport;
import dev.cowfs.engine.device.SimulatedDevice;
import dev.cowfs.engine.error.CorruptionException;
import dev.cowfs.engine.format.Limits;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A flipped bit anywhere in a committed image is reported, naming the block; no read returns wrong data. */
class CorruptionTest {
    private static final StoreOptions OPTIONS = StoreOptions.builder().checkAfterCommit(false).build();

    private final Map<Long, TreeMap<String, byte[]>> models = new HashMap<>();

    private SimulatedDevice.Image buildImage() throws IOException {
        SimulatedDevice device = new SimulatedDevice();
        TreeMap<String, byte[]> model = new TreeMap<>();
        Random random = new Random(5);
        try (Store store = Store.create(device, OPTIONS)) {
            for (int commit = 0; commit < 5; commit++) {
                try (WriteTransaction txn = store.beginWrite()) {
                    for (int i = 0; i < 300; i++) {
                        String key = "k" + random.nextInt(2000);
                        byte[] value = new byte[random.nextInt(12) == 0 ? 5000 : 50];
                        random.nextBytes(value);
                        txn.put(key.getBytes(), value);
                        model.put(key, value);
                    }
                    models.put(txn.commit(), new TreeMap<>(model));
                }
            }
        }
        return device.image();
    }

    @Test
    void aFlippedBitInAnyReachableBlockIsReportedAndNeverReadAsData() throws IOException {
        corruptEveryReachableBlock(11, false);
    }

    /**
     * Flips one bit in each block the newest commit reaches, one block per image, and checks every read and the
     * checker; {@code frozen}: in an image frozen from the damaged device, so that the damaged page is shared.
     * The intact image is checked in full first, so that every verification of it is remembered.
     */
    private void corruptEveryReachableBlock(long seed, boolean frozen) throws IOException {
        SimulatedDevice.Image image = buildImage();
        BitSet reachable;
        long newest;
        try (Store store = Store.open(SimulatedDevice.ofImage(image), OPTIONS.toBuilder().readOnly(true).build())) {
            CheckReport report = store.check();
            assertTrue(report.isClean(), report.summary());
            reachable = report.protectedBlocks();
            newest = store.generation();
        }
        Random random = new Random(seed);
        int corrupted = 0;
        for (int block = reachable.nextSetBit(0); block >= 0; block = reachable.nextSetBit(block + 1)) {
            SimulatedDevice device = SimulatedDevice.ofImage(image);
            device.corrupt((long) block * Limits.DEFAULT_BLOCK_SIZE_BYTES + random.nextInt(4096), random.nextInt(8));
            if (frozen) {
                device = SimulatedDevice.ofImage(device.freeze());
            }
            device.setReadOnly(true);
            assertDetectedNeverWrong(device, block, newest);
            corrupted++;
        }
        assertTrue(corrupted > 50, "only " + corrupted + " blocks");
    }

    /**
     * Crash states share the pages of immutable images, and the device skips verifying bytes it proves unchanged
     * since they were verified ({@code verifiedBefore}). A corrupted page in a later image, even one whose pages
     * are all shared, must still be verified and reported: every block of a fully verified image, corrupted in
     * an image frozen from it.
     */
    @Test
    void verificationsRememberedFromAnIntactImageNeverHideCorruptionInALaterOne() throws IOException {
        corruptEveryReachableBlock(13, true);
    }

    @Test
    void aDeviceRemembersVerifiedBytesOnlyWhileTheyAreTheSamePages() throws IOException {
        SimulatedDevice.Image image = buildImage();
        long offset = 40L * Limits.DEFAULT_BLOCK_SIZE_BYTES;
        SimulatedDevice first = SimulatedDevice.ofImage(image);
        first.rememberVerified(offset, 8192, 77);
        assertTrue(SimulatedDevice.ofImage(image).verifiedBefore(offset, 8192, 77), "same pages, same claim");
        assertFalse(SimulatedDevice.ofImage(image).verifiedBefore(offset, 8192, 78), "another claim");
        assertFalse(SimulatedDevice.ofImage(image).verifiedBefore(offset, 4096, 77), "another range");
        SimulatedDevice written = SimulatedDevice.ofImage(image);
        written.write(offset + 5000, new byte[] {1}, 0, 1);
        assertFalse(written.verifiedBefore(offset, 8192, 77), "a page this device wrote");
        assertFalse(SimulatedDevice.ofImage(written.freeze()).verifiedBefore(offset, 8192, 77),
                "an image holding a changed page");
        byte[] range = new byte[8192];
        first.read(offset, range, 0, range.length);
        SimulatedDevice copy = new SimulatedDevice();
        copy.ensureLength(image.lengthBytes());
        copy.write(offset, range, 0, range.length);
        assertFalse(SimulatedDevice.ofImage(copy.freeze()).verifiedBefore(offset, 8192, 77),
                "equal bytes in other page objects: not proven");
        SimulatedDevice rewrittenSame = SimulatedDevice.ofImage(image);
        byte[] page = new byte[4096];
        rewrittenSame.read(offset, page, 0, 4096);
        rewrittenSame.write(offset, page, 0, 4096);
        assertFalse(rewrittenSame.verifiedBefore(offset, 8192, 77), "a rewritten page, even with the same bytes");
    }

    private void assertDetectedNeverWrong(SimulatedDevice device, int block, long newest) throws IOException {
        Store store;
        try {
            store = Store.open(device, OPTIONS.toBuilder().readOnly(true).build());
        } catch (CorruptionException e) {
            return; // refused to open: detected (no superblock's roots verify)
        }
        try (store) {
            TreeMap<String, byte[]> model = models.get(store.generation());
            if (store.generation() != newest) {
                assertFalse(store.openWarnings().isEmpty(), "fell back silently from block " + block);
            }
            boolean detected = false;
            try (ReadTransaction read = store.beginRead()) {
                for (var entry : model.entrySet()) {
                    try {
                        assertArrayEquals(entry.getValue(), read.get(entry.getKey().getBytes()),
                                "wrong data for " + entry.getKey() + " with block " + block + " corrupted");
                    } catch (CorruptionException e) {
                        detected = true;
                    }
                }
                try {
                    Cursor cursor = read.cursor();
                    for (boolean ok = cursor.first(); ok; ok = cursor.next()) {
                        assertTrue(Arrays.equals(model.get(new String(cursor.key())), cursor.value()),
                                "wrong data in scan with block " + block + " corrupted");
                    }
                } catch (CorruptionException e) {
                    detected = true;
                }
            }
            CheckReport report = store.check();
            boolean named = report.problems().stream().anyMatch(p -> names(p, block));
            assertTrue(named || (store.generation() != newest), "checker did not name block " + block + ": "
                    + report.summary() + (detected ? " (reads detected it)" : ""));
        }
    }

    /** True when the problem names the block, alone ("block 7:") or in a range ("blocks 6-8"). */
    private static boolean names(String problem, int block) {
        if (problem.contains("block " + block + ":") || problem.contains("block " + block + " ")) {
            return true;
        }
        var range = java.util.regex.Pattern.compile("blocks (\\d+)-(\\d+)").matcher(problem);
        while (range.find()) {
            if (Long.parseLong(range.group(1)) <= block && block <= Long.parseLong(range.group(2))) {
                return true;
            }
        }
        return false;
    }

    @Test
    void destroyedNewestSuperblockFallsBackToThePreviousCommitAndSaysSo() throws IOException {
        SimulatedDevice.Image image = buildImage();
        SimulatedDevice device = SimulatedDevice.ofImage(image);
        long newest = models.keySet().stream().mapToLong(Long::longValue).max().orElseThrow();
        device.corrupt(Limits.superblockSlotOffset((int) (newest % Limits.SUPERBLOCK_RING_SLOTS)) + 100, 3);
        device.corrupt(Limits.FAR_SUPERBLOCK_OFFSET_BYTES + 100, 3);
        try (Store store = Store.open(device, OPTIONS)) {
            assertEquals(newest - 1, store.generation());
            assertFalse(store.openWarnings().isEmpty());
            try (ReadTransaction read = store.beginRead()) {
                for (var entry : models.get(newest - 1).entrySet()) {
                    assertArrayEquals(entry.getValue(), read.get(entry.getKey().getBytes()));
                }
            }
            assertTrue(store.check().isClean(), store.check().summary());
        }
    }

    @Test
    void anImageWithNoValidSuperblockIsRefusedWithAClearError() throws IOException {
        SimulatedDevice device = new SimulatedDevice();
        device.ensureLength(1 << 20);
        CorruptionException error = assertThrows(CorruptionException.class, () -> Store.open(device, OPTIONS));
        assertTrue(error.getMessage().contains("no valid superblock"), error.getMessage());
    }
}
