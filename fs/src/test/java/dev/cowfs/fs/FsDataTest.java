package dev.cowfs.fs;

import dev.cowfs.engine.StoreOptions;
import dev.cowfs.engine.device.SimulatedDevice;
import dev.cowfs.engine.error.CorruptionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.file.Path;
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

    /**
     * Reads and writes through buffers of every kind (direct, heap, read-only, at an offset inside a larger
     * buffer) give the bytes the array calls give, on a mapped image and on the simulated device, with and without
     * compression: holes, inline files, partial extents, data still in a write buffer, and several files streaming
     * at once so that whole-extent buffers are written out and used again.
     */
    /**
     * The first read of an extent since open verifies it whole; small reads after that (4 KiB, as a mount's random
     * reads) verify nothing again, into arrays and into direct buffers alike. Each other extent once, on its own
     * first read.
     */
    @Test
    void aSmallReadOfAnExtentVerifiedSinceOpenVerifiesNothingAgain(@TempDir Path dir) throws Exception {
        Path image = dir.resolve("verify.img");
        byte[] data = new byte[4 << 20]; // four extents of 1 MiB
        new Random(11).nextBytes(data);
        long ino;
        FsOptions options = FsOptions.builder().commitIntervalMillis(0).build();
        try (CowFileSystem fs = CowFileSystem.create(image, options)) {
            ino = fs.mknod(CowFileSystem.ROOT_INO, "f", 0644, 0, 0, 0);
            fs.write(ino, 0, data, 0, data.length);
        }
        try (CowFileSystem fs = CowFileSystem.open(image, options)) {
            long before = fs.store().extentsVerified();
            byte[] small = new byte[4096];
            ByteBuffer direct = ByteBuffer.allocateDirect(4096);
            fs.read(ino, 8192, small, 0, small.length);
            assertEquals(before + 1, fs.store().extentsVerified(), "the first read verifies its extent");
            assertArrayEquals(Arrays.copyOfRange(data, 8192, 8192 + 4096), small);
            for (int i = 0; i < 100; i++) {
                long offset = (long) (i * 37 % 256) * 4096; // all over the first extent
                fs.read(ino, offset, small, 0, small.length);
                fs.read(ino, offset, direct.clear());
            }
            assertEquals(before + 1, fs.store().extentsVerified(), "4 KiB reads of a verified extent verify again");
            fs.read(ino, (3L << 20) + 4096, direct.clear());
            assertEquals(before + 2, fs.store().extentsVerified(), "another extent: verified on its first read");
            fs.read(ino, (3L << 20) + 8192, small, 0, small.length);
            assertEquals(before + 2, fs.store().extentsVerified());
        }
    }

    @Test
    void buffersOfEveryKindReadAndWriteWhatArraysDo(@TempDir Path dir) throws Exception {
        for (int round = 0; round < 4; round++) {
            boolean compress = round % 2 == 1;
            try (CowFileSystem fs = round < 2 ? CowFileSystem.create(dir.resolve("image" + round), options(compress))
                    : CowFileSystem.create(new SimulatedDevice(), options(compress))) {
                Random random = new Random(round);
                int files = 3;
                long[] inos = new long[files];
                byte[][] model = new byte[files][];
                for (int f = 0; f < files; f++) {
                    inos[f] = fs.mknod(ROOT, "f" + f, 0644, 0, 0, 0);
                    model[f] = new byte[0];
                }
                for (int step = 0; step < 300; step++) {
                    int f = random.nextInt(files);
                    long size = model[f].length;
                    int choice = random.nextInt(10);
                    if (choice < 6) {
                        // streams mostly append; some writes land inside, past the end (a hole) or are large
                        long offset = choice < 4 ? size : choice == 4 ? random.nextInt((int) size + 1)
                                : size + random.nextInt(3 << 20);
                        int length = random.nextInt(4) == 0 ? random.nextInt(3 << 20) : random.nextInt(200_000);
                        byte[] bytes = new byte[length];
                        random.nextBytes(bytes);
                        if (compress && random.nextBoolean()) {
                            Arrays.fill(bytes, length / 3, length, (byte) step); // compressible
                        }
                        ByteBuffer src = kindOf(random.nextInt(4), bytes, random.nextInt(100));
                        int position = src.position();
                        fs.write(inos[f], offset, src);
                        assertEquals(position + length, src.position(), "the source moves past what was written");
                        if (offset + length > model[f].length) {
                            model[f] = Arrays.copyOf(model[f], (int) (offset + length));
                        }
                        System.arraycopy(bytes, 0, model[f], (int) offset, length);
                    } else if (choice < 9 && size > 0) {
                        long offset = random.nextInt((int) size);
                        int length = random.nextInt((int) Math.min(size - offset + 5000, 3 << 20)) + 1;
                        int expected = (int) Math.min(length, size - offset);
                        byte[] array = new byte[length];
                        assertEquals(expected, fs.read(inos[f], offset, array, 0, length));
                        ByteBuffer dst = random.nextBoolean() ? ByteBuffer.allocateDirect(length + 64)
                                : ByteBuffer.allocate(length + 64);
                        dst.position(32).limit(32 + length);
                        dst.put(32, new byte[length]);
                        assertEquals(expected, fs.read(inos[f], offset, dst));
                        assertEquals(32 + expected, dst.position());
                        byte[] viaBuffer = new byte[expected];
                        dst.get(32, viaBuffer);
                        byte[] want = Arrays.copyOfRange(model[f], (int) offset, (int) offset + expected);
                        assertArrayEquals(want, Arrays.copyOf(array, expected), "array read at " + offset);
                        assertArrayEquals(want, viaBuffer, "buffer read at " + offset);
                    } else if (random.nextInt(4) == 0) {
                        fs.sync();
                    }
                }
                fs.sync();
                for (int f = 0; f < files; f++) {
                    ByteBuffer all = ByteBuffer.allocateDirect(model[f].length + 1);
                    assertEquals(model[f].length, fs.read(inos[f], 0, all));
                    byte[] back = new byte[model[f].length];
                    all.get(0, back);
                    assertArrayEquals(model[f], back, "file " + f + " after the last commit");
                }
                assertThrows(java.nio.ReadOnlyBufferException.class,
                        () -> fs.read(inos[0], 0, ByteBuffer.allocate(10).asReadOnlyBuffer()));
                assertTrue(FsChecker.check(fs.store()).isEmpty());
            }
        }
    }

    /** {@code bytes} as a buffer of kind 0 heap, 1 direct, 2 read-only, 3 a slice at an offset of a larger one. */
    private static ByteBuffer kindOf(int kind, byte[] bytes, int pad) {
        return switch (kind) {
            case 0 -> ByteBuffer.wrap(bytes);
            case 1 -> ByteBuffer.allocateDirect(bytes.length).put(0, bytes);
            case 2 -> ByteBuffer.wrap(bytes).asReadOnlyBuffer();
            default -> {
                ByteBuffer larger = ByteBuffer.allocate(bytes.length + 2 * pad);
                larger.put(pad, bytes);
                yield larger.position(pad / 2).slice().position(pad - pad / 2).limit(pad - pad / 2 + bytes.length);
            }
        };
    }

    /** An interrupted caller does not close the image's file: its write and read work, and so does everything after. */
    @Test
    void anInterruptedThreadNeitherFailsNorBreaksTheImage(@TempDir Path dir) throws Exception {
        try (CowFileSystem fs = CowFileSystem.create(dir.resolve("image"), options(false))) {
            long ino = fs.mknod(ROOT, "f", 0644, 0, 0, 0);
            byte[] bytes = new byte[3 << 20];
            new Random(7).nextBytes(bytes);
            ByteBuffer back = ByteBuffer.allocateDirect(bytes.length);
            Thread.currentThread().interrupt();
            try {
                fs.write(ino, 0, bytes, 0, bytes.length); // whole extents: written through the file at once
                fs.sync();
                assertEquals(bytes.length, fs.read(ino, 0, back)); // large reads go through the file too
            } finally {
                assertTrue(Thread.interrupted(), "the interrupt stays for the caller to see");
            }
            byte[] read = new byte[bytes.length];
            back.get(0, read);
            assertArrayEquals(bytes, read);
            fs.write(ino, bytes.length, bytes, 0, 4096);
            fs.sync();
            assertTrue(FsChecker.check(fs.store()).isEmpty());
        }
    }
}
