package dev.cowfs.engine;

import dev.cowfs.engine.device.BlockWindow;
import dev.cowfs.engine.device.MappedFileDevice;
import dev.cowfs.engine.error.CorruptionException;
import dev.cowfs.engine.error.ImageLockedException;
import dev.cowfs.engine.error.ReadOnlyEngineException;
import dev.cowfs.engine.testing.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The engine over a real memory-mapped image file. */
class MappedStoreTest {
    static final StoreOptions SMALL = StoreOptions.builder().mappingChunkBytes(1 << 20).growthStepBytes(1 << 20)
            .checkAfterCommit(true).build();

    @TempDir
    Path dir;

    @Test
    void committedDataSurvivesCloseAndReopenOfTheFile() throws Exception {
        Path image = dir.resolve("a.img");
        Random random = new Random(3);
        byte[][] values = new byte[3000][];
        try (Store store = Store.create(image, SMALL); WriteTransaction txn = store.beginWrite()) {
            for (int i = 0; i < values.length; i++) {
                values[i] = new byte[i % 50 == 0 ? 20_000 : 100];
                random.nextBytes(values[i]);
                txn.put(("key" + i).getBytes(), values[i]);
            }
            txn.commit();
        }
        try (Store store = Store.open(image, SMALL); ReadTransaction read = store.beginRead()) {
            for (int i = 0; i < values.length; i++) {
                assertArrayEquals(values[i], read.get(("key" + i).getBytes()));
            }
            assertTrue(store.check().isClean(), store.check().summary());
        }
    }

    @Test
    void aSecondWriterIsRefusedInThisProcessAndInAnother() throws Exception {
        Path image = dir.resolve("locked.img");
        try (Store store = Store.create(image, SMALL)) {
            ImageLockedException sameProcess = assertThrows(ImageLockedException.class, () -> Store.open(image, SMALL));
            assertTrue(sameProcess.getMessage().contains("locked.img"), sameProcess.getMessage());
            ChildJvm.Result other = ChildJvm.run(List.of("-Xmx128m"), 60, OpenImage.class, image.toString());
            assertEquals(3, other.exitCode(), other.output());
            assertTrue(other.output().contains("is open"), other.output());
        }
        ChildJvm.Result afterClose = ChildJvm.run(List.of("-Xmx128m"), 60, OpenImage.class, image.toString());
        assertEquals(0, afterClose.exitCode(), afterClose.output());
    }

    /** Child process: opens the image for writing; exit 3 when it is locked. */
    public static final class OpenImage {
        public static void main(String[] args) throws Exception {
            try (Store store = Store.open(Path.of(args[0]), StoreOptions.defaults())) {
                System.out.println("opened generation " + store.generation());
            } catch (ImageLockedException e) {
                System.out.println(e.getMessage());
                System.exit(3);
            }
        }
    }

    @Test
    void readOnlyOpenReadsButRefusesWrites() throws Exception {
        Path image = dir.resolve("ro.img");
        try (Store store = Store.create(image, SMALL); WriteTransaction txn = store.beginWrite()) {
            txn.put("k".getBytes(), "v".getBytes());
            txn.commit();
        }
        StoreOptions readOnly = SMALL.toBuilder().readOnly(true).build();
        try (Store first = Store.open(image, readOnly); Store second = Store.open(image, readOnly);
             ReadTransaction read = second.beginRead()) {
            assertArrayEquals("v".getBytes(), read.get("k".getBytes()));
            assertThrows(ReadOnlyEngineException.class, first::beginWrite);
        }
    }

    @Test
    void aTruncatedImageGivesACleanErrorNotACrash() throws Exception {
        Path image = dir.resolve("cut.img");
        try (Store store = Store.create(image, SMALL); WriteTransaction txn = store.beginWrite()) {
            for (int i = 0; i < 20_000; i++) {
                txn.put(("key" + i).getBytes(), new byte[100]);
            }
            txn.commit();
        }
        try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "rw")) {
            file.setLength(200 * 1024);
        }
        CorruptionException error = assertThrows(CorruptionException.class,
                () -> Store.open(image, SMALL.toBuilder().readOnly(true).build()));
        assertTrue(error.getMessage().contains("truncated") || error.getMessage().contains("beyond the end"),
                error.getMessage());
    }

    @Test
    void creatingOverAnExistingFileIsRefused() throws Exception {
        Path image = dir.resolve("exists.img");
        Files.writeString(image, "not an image");
        assertThrows(java.nio.file.FileAlreadyExistsException.class, () -> Store.create(image, SMALL));
        assertThrows(CorruptionException.class, () -> Store.open(image, SMALL.toBuilder().readOnly(true).build()));
    }

    @Test
    void dataIsReallyWrittenAndReadBackBeyondTwoAndFourGibibytes() throws Exception {
        Path image = dir.resolve("big.img");
        long[] offsets = {(1L << 31) - 4096, 1L << 31, (1L << 32) + 8192, (5L << 30) + 12288};
        byte[][] payloads = new byte[offsets.length][];
        Random random = new Random(9);
        try (MappedFileDevice device = MappedFileDevice.create(image, 64L << 20, 64L << 20)) {
            device.ensureLength((5L << 30) + (1 << 20));
            for (int i = 0; i < offsets.length; i++) {
                payloads[i] = new byte[4096];
                random.nextBytes(payloads[i]);
                device.write(offsets[i], payloads[i], 0, 4096);
            }
            device.barrier();
        }
        try (MappedFileDevice device = MappedFileDevice.open(image, true, 64L << 20, 64L << 20)) {
            assertTrue(device.lengthBytes() > (5L << 30));
            BlockWindow window = new BlockWindow();
            for (int i = 0; i < offsets.length; i++) {
                byte[] back = new byte[4096];
                device.read(offsets[i], back, 0, 4096);
                assertArrayEquals(payloads[i], back, "at offset " + offsets[i]);
                device.window(offsets[i], 4096, window);
                assertEquals(payloads[i][17], dev.cowfs.engine.device.RawMemory.getByte(window.base, window.offset + 17));
            }
            assertThrows(CorruptionException.class, () -> device.read(device.lengthBytes() - 100, new byte[4096], 0, 4096));
        }
    }
}
