package dev.cowfs.engine;

import dev.cowfs.engine.device.SimulatedDevice;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.UUID;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Golden images pin format version 1: an image written by the version that introduced the format must open
 * and read the same forever, and today's writer must produce it byte for byte from the same operations. A
 * deliberate format change bumps the version and adds a new golden image (regenerate with
 * {@code -Dcowfs.golden.write=<dir>}); old golden images stay and must keep opening (or be refused clearly).
 */
class GoldenImageTest {
    private static final String RESOURCE = "/golden/format-v1.img.gz";
    private static final UUID UUID_V1 = UUID.fromString("c0f5c0f5-0000-4000-8000-000000000001");

    /** The operations behind the golden image; deterministic (fixed UUID, clock and random seed). */
    static SimulatedDevice.Image writeGoldenImage(TreeMap<String, byte[]> expectedDefault,
                                                  TreeMap<String, byte[]> expectedTree300) throws IOException {
        SimulatedDevice device = new SimulatedDevice();
        long[] clock = {1_790_000_000_000L};
        StoreOptions options = StoreOptions.builder().imageUuid(UUID_V1).clockMillis(() -> clock[0] += 1000)
                .checkAfterCommit(true).build();
        Random random = new Random(20261124);
        try (Store store = Store.create(device, options)) {
            for (int commit = 0; commit < 4; commit++) {
                try (WriteTransaction txn = store.beginWrite()) {
                    if (commit == 1) {
                        txn.createTree(300);
                    }
                    for (int i = 0; i < 400; i++) {
                        String key = "golden-" + random.nextInt(600);
                        byte[] value = new byte[random.nextInt(20) == 0 ? 2000 + random.nextInt(9000) : random.nextInt(90)];
                        random.nextBytes(value);
                        if (commit >= 2 && random.nextInt(4) == 0) {
                            txn.delete(key.getBytes());
                            expectedDefault.remove(key);
                        } else {
                            txn.put(key.getBytes(), value);
                            expectedDefault.put(key, value);
                        }
                        if (commit >= 1 && i % 10 == 0) {
                            txn.put(300, key.getBytes(), value);
                            expectedTree300.put(key, value);
                        }
                    }
                    txn.commit();
                }
            }
        }
        return device.image();
    }

    @Test
    void theVersionOneGoldenImageOpensAndReadsExactly() throws IOException {
        TreeMap<String, byte[]> expectedDefault = new TreeMap<>();
        TreeMap<String, byte[]> expectedTree300 = new TreeMap<>();
        writeGoldenImage(expectedDefault, expectedTree300);
        SimulatedDevice.Image golden = loadGolden();
        try (Store store = Store.open(SimulatedDevice.ofImage(golden), StoreOptions.builder().readOnly(true).build());
             ReadTransaction read = store.beginRead()) {
            assertEquals(5, store.generation());
            assertEquals(UUID_V1, store.imageUuid());
            assertTrue(store.openWarnings().isEmpty(), store.openWarnings().toString());
            for (var entry : expectedDefault.entrySet()) {
                assertArrayEquals(entry.getValue(), read.get(entry.getKey().getBytes()), entry.getKey());
            }
            for (var entry : expectedTree300.entrySet()) {
                assertArrayEquals(entry.getValue(), read.get(300, entry.getKey().getBytes()), entry.getKey());
            }
            assertTrue(store.check().isClean(), store.check().summary());
        }
    }

    @Test
    void todaysWriterReproducesTheGoldenImageByteForByte() throws IOException {
        SimulatedDevice.Image written = writeGoldenImage(new TreeMap<>(), new TreeMap<>());
        String target = System.getProperty("cowfs.golden.write");
        if (target != null) {
            saveGolden(written, Path.of(target).resolve("format-v1.img.gz"));
        }
        SimulatedDevice.Image golden = loadGolden();
        assertEquals(golden.lengthBytes(), written.lengthBytes());
        Map<Long, byte[]> goldenPages = nonZeroPages(golden);
        Map<Long, byte[]> writtenPages = nonZeroPages(written);
        assertEquals(goldenPages.keySet(), writtenPages.keySet(), "pages in use differ");
        for (var page : goldenPages.entrySet()) {
            assertArrayEquals(page.getValue(), writtenPages.get(page.getKey()), "page " + page.getKey() + " differs");
        }
    }

    private static Map<Long, byte[]> nonZeroPages(SimulatedDevice.Image image) {
        Map<Long, byte[]> pages = new HashMap<>();
        image.pages().forEach((index, bytes) -> {
            if (!Arrays.equals(bytes, new byte[bytes.length])) {
                pages.put(index, bytes);
            }
        });
        return pages;
    }

    /** Format of the resource: gzip of (length u64) then (page index u64, 4096 bytes)* for non-zero pages. */
    private static SimulatedDevice.Image loadGolden() throws IOException {
        try (InputStream resource = GoldenImageTest.class.getResourceAsStream(RESOURCE)) {
            assertNotNull(resource, RESOURCE + " is missing");
            DataInputStream in = new DataInputStream(new GZIPInputStream(resource));
            long length = in.readLong();
            Map<Long, byte[]> pages = new HashMap<>();
            while (true) {
                long index;
                try {
                    index = in.readLong();
                } catch (EOFException end) {
                    break;
                }
                byte[] page = new byte[SimulatedDevice.PAGE_BYTES];
                in.readFully(page);
                pages.put(index, page);
            }
            return new SimulatedDevice.Image(pages, length);
        }
    }

    private static void saveGolden(SimulatedDevice.Image image, Path file) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (OutputStream gzip = new GZIPOutputStream(bytes); DataOutputStream out = new DataOutputStream(gzip)) {
            out.writeLong(image.lengthBytes());
            for (var page : new TreeMap<>(nonZeroPages(image)).entrySet()) {
                out.writeLong(page.getKey());
                out.write(page.getValue());
            }
        }
        Files.createDirectories(file.getParent());
        Files.write(file, bytes.toByteArray());
    }
}
