package dev.cowfs.fs;

import dev.cowfs.engine.StoreOptions;
import dev.cowfs.engine.block.CorruptionException;
import dev.cowfs.engine.crash.SimulatedDevice;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** File data details: compression, corruption of stored data, overwrite cost, and threads sharing a filesystem. */
class FsDataTest {
    private static final long ROOT = CowFileSystem.ROOT_INO;

    private static FsOptions options(boolean compress) {
        return FsOptions.builder().commitIntervalMillis(0).compress(compress)
                .store(StoreOptions.builder().checkAfterCommit(true).build()).build();
    }

    @Test
    void compressibleDataTakesFewerBlocksAndIncompressibleDataStaysRaw() throws Exception {
        byte[] text = "the same sentence, again and again. ".repeat(30_000).getBytes(); // ~1 MiB
        byte[] noise = new byte[text.length];
        new Random(1).nextBytes(noise);
        long[] used = new long[2];
        for (int round = 0; round < 2; round++) {
            boolean compress = round == 1;
            try (CowFileSystem fs = CowFileSystem.create(new SimulatedDevice(), options(compress))) {
                fs.sync();
                long before = fs.statfs().usedBlocks();
                long a = fs.mknod(ROOT, "text", 0644, 0, 0, 0);
                fs.write(a, 0, text, 0, text.length);
                fs.sync();
                used[round] = fs.statfs().usedBlocks() - before;
                long b = fs.mknod(ROOT, "noise", 0644, 0, 0, 0);
                fs.write(b, 0, noise, 0, noise.length);
                fs.sync();
                long noiseBlocks = fs.statfs().usedBlocks() - before - used[round];
                assertTrue(noiseBlocks >= noise.length / 4096, "random data is never smaller: " + noiseBlocks);
                byte[] back = new byte[text.length];
                assertEquals(text.length, fs.read(a, 0, back, 0, back.length));
                assertArrayEquals(text, back);
                byte[] piece = new byte[5000];
                fs.read(a, 300_001, piece, 0, piece.length); // a range inside a compressed extent
                assertArrayEquals(Arrays.copyOfRange(text, 300_001, 305_001), piece);
                assertTrue(FsChecker.check(fs.store()).isEmpty());
            }
        }
        assertTrue(used[1] * 10 < used[0], "compressed " + used[1] + " blocks against raw " + used[0]);
    }

    @Test
    void aCorruptCompressedExtentIsACorruptionErrorNeverWrongData() throws Exception {
        SimulatedDevice device = new SimulatedDevice();
        byte[] text = "compress me please ".repeat(20_000).getBytes();
        long ino;
        FileData.Item item;
        try (CowFileSystem fs = CowFileSystem.create(device, options(true))) {
            ino = fs.mknod(ROOT, "text", 0644, 0, 0, 0);
            fs.write(ino, 0, text, 0, text.length);
            fs.sync();
            try (var read = fs.store().beginRead()) {
                item = FileData.Item.decode(ino, 0, read.get(CowFileSystem.DEFAULT_SUBVOLUME_TREE,
                        FsKeys.of(ino, FsKeys.EXTENT, 0)));
            }
        }
        assertEquals(FileData.COMPRESSION_LZ4, item.compression(), "the first extent is compressed");
        SimulatedDevice damaged = SimulatedDevice.ofImage(device.image());
        long offset = item.extent().blockIndex() * 4096 + item.storedBytes() / 2;
        byte[] one = new byte[1];
        damaged.read(offset, one, 0, 1);
        one[0] ^= 0x55;
        damaged.write(offset, one, 0, 1);
        FsOptions readOnly = FsOptions.builder().commitIntervalMillis(0)
                .store(StoreOptions.builder().readOnly(true).checkAfterCommit(false).build()).build();
        try (CowFileSystem fs = CowFileSystem.open(damaged, readOnly)) {
            byte[] back = new byte[1000];
            FsException error = assertThrows(FsException.class, () -> fs.read(ino, 0, back, 0, back.length));
            assertEquals(Errno.EIO, error.errno());
            assertTrue(error.getCause() instanceof CorruptionException, "caused by a checksum mismatch: " + error);
            assertTrue(error.getMessage().contains("block " + item.extent().blockIndex())
                    || error.getMessage().contains("blocks " + item.extent().blockIndex()), error.getMessage());
        }
    }

    @Test
    void overwritingFourKibOfALargeFileWritesAboutFourKib() throws Exception {
        SimulatedDevice device = new SimulatedDevice();
        try (CowFileSystem fs = CowFileSystem.create(device, options(false))) {
            long ino = fs.mknod(ROOT, "large", 0644, 0, 0, 0);
            byte[] data = new byte[8 << 20];
            new Random(3).nextBytes(data);
            fs.write(ino, 0, data, 0, data.length);
            fs.sync();
            device.clearLog();
            byte[] page = new byte[4096];
            new Random(4).nextBytes(page);
            fs.write(ino, 3_000_000, page, 0, page.length);
            fs.sync();
            long written = device.log().stream()
                    .filter(op -> op instanceof SimulatedDevice.Write write && !write.isGrowth())
                    .mapToLong(op -> ((SimulatedDevice.Write) op).bytes().length).sum();
            // The 4 KiB (two blocks when unaligned) plus a handful of tree nodes and the superblocks.
            assertTrue(written < 20 * 4096, "a 4 KiB overwrite wrote " + written + " bytes");
            byte[] back = new byte[data.length];
            fs.read(ino, 0, back, 0, back.length);
            System.arraycopy(page, 0, data, 3_000_000, page.length);
            assertArrayEquals(data, back);
        }
    }

    @Test
    void groupCommitMakesWorkDurableWithoutAnExplicitSync() throws Exception {
        SimulatedDevice device = new SimulatedDevice();
        FsOptions options = FsOptions.builder().commitIntervalMillis(50)
                .store(StoreOptions.builder().checkAfterCommit(true).build()).build();
        try (CowFileSystem fs = CowFileSystem.create(device, options)) {
            long before = fs.store().generation();
            long ino = fs.mknod(ROOT, "later", 0644, 0, 0, 0);
            fs.write(ino, 0, "soon durable".getBytes(), 0, 12);
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (fs.store().generation() == before && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertTrue(fs.store().generation() > before, "the interval commit ran on its own thread");
            // What a crash now would leave: the durable image holds the file.
            try (CowFileSystem copy = CowFileSystem.open(SimulatedDevice.ofImage(device.image()),
                    FsOptions.builder().commitIntervalMillis(0).store(StoreOptions.builder().readOnly(true)
                            .checkAfterCommit(false).build()).build())) {
                byte[] back = new byte[12];
                assertEquals(12, copy.read(copy.lookup(ROOT, "later"), 0, back, 0, 12));
                assertEquals("soon durable", new String(back));
            }
        }
    }

    @Test
    void threadsWorkingOnOneFilesystemSeeEachOthersFinishedOperations() throws Exception {
        try (CowFileSystem fs = CowFileSystem.create(new SimulatedDevice(), options(false))) {
            ExecutorService pool = Executors.newFixedThreadPool(4);
            List<Future<?>> tasks = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int thread = t;
                tasks.add(pool.submit(() -> {
                    long dir = fs.mkdir(ROOT, "t" + thread, 0755, 0, 0);
                    Random random = new Random(thread);
                    for (int i = 0; i < 200; i++) {
                        long ino = fs.mknod(dir, "f" + i, 0644, 0, 0, 0);
                        byte[] bytes = new byte[random.nextInt(20_000)];
                        random.nextBytes(bytes);
                        fs.write(ino, 0, bytes, 0, bytes.length);
                        byte[] back = new byte[bytes.length];
                        assertEquals(bytes.length, fs.read(fs.lookup(dir, "f" + i), 0, back, 0, back.length));
                        assertArrayEquals(bytes, back);
                        if (i % 50 == 0) {
                            fs.sync();
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> task : tasks) {
                task.get();
            }
            pool.shutdown();
            fs.sync();
            for (int t = 0; t < 4; t++) {
                assertEquals(200, fs.readdir(fs.lookup(ROOT, "t" + t), 0, 1000).size());
            }
            assertTrue(FsChecker.check(fs.store()).isEmpty());
        }
    }
}
