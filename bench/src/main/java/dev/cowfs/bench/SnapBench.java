package dev.cowfs.bench;

import dev.cowfs.engine.StoreOptions;
import dev.cowfs.engine.crash.SimulatedDevice;
import dev.cowfs.fs.CowFileSystem;
import dev.cowfs.fs.FsOptions;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The snapshot suite (single-shot timings, not JMH: each measured operation changes the image). Snapshot
 * creation against subvolume size, diff against the amount of change, and the blocks a 4 KiB overwrite of
 * shared data writes in its commit. Times include the commit that makes the snapshot durable. Images live on
 * tmpfs ({@code cowfs.bench.memdir}, /dev/shm by default).
 */
final class SnapBench {
    private static final int REPETITIONS = 5;
    private static final long ROOT = CowFileSystem.ROOT_INO;

    private SnapBench() {
    }

    static void run(boolean quick) throws IOException {
        Path dir = Files.createTempDirectory(Path.of(System.getProperty("cowfs.bench.memdir", "/dev/shm")),
                "cowfs-snap");
        try {
            int[] sizes = quick ? new int[] {10, 1_000, 100_000} : new int[] {10, 1_000, 100_000, 1_000_000};
            snapshotCreate(dir, 1_000, quick, false); // warm-up: the JIT compiles the paths, not in a figure
            for (int files : sizes) {
                snapshotCreate(dir, files, quick, true);
            }
            clone(dir, quick);
            diff(dir, quick ? 100_000 : 1_000_000, quick);
            sharedOverwrite(quick);
            System.err.println("snap: btrfs and XFS rows skipped: mkfs.btrfs / mkfs.xfs are not installed here");
        } finally {
            try (var paths = Files.walk(dir)) {
                paths.sorted(java.util.Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
            }
        }
    }

    private static FsOptions options() {
        return FsOptions.builder().commitIntervalMillis(0)
                .store(StoreOptions.builder().checkAfterCommit(false).build()).build();
    }

    /** {@code files} small files, 1000 per directory. */
    private static void fill(CowFileSystem fs, int files, int from) throws IOException {
        byte[] contents = new byte[100];
        long dir = 0;
        for (int i = from; i < from + files; i++) {
            if (i % 1000 == 0 || dir == 0) {
                String name = "d" + (i / 1000);
                try {
                    dir = fs.lookup(ROOT, name);
                } catch (dev.cowfs.fs.FsException e) {
                    dir = fs.mkdir(ROOT, name, 0755, 0, 0);
                }
            }
            long ino = fs.mknod(dir, "f" + i, 0644, 0, 0, 0);
            contents[0] = (byte) i;
            fs.write(ino, 0, contents, 0, contents.length);
        }
        fs.sync();
    }

    private static void snapshotCreate(Path dir, int files, boolean quick, boolean report) throws IOException {
        Path image = dir.resolve("snapshot-" + files + ".img");
        try (CowFileSystem fs = CowFileSystem.create(image, options())) {
            fill(fs, files, 0);
            long[] micros = new long[REPETITIONS];
            for (int r = 0; r < REPETITIONS; r++) {
                long file = fs.resolve("/d0/f0", true);
                fs.write(file, 0, new byte[] {(byte) r}, 0, 1); // the source changed since the last snapshot
                long start = System.nanoTime();
                fs.createSnapshot(0, "s" + r, false);
                micros[r] = (System.nanoTime() - start) / 1000;
            }
            for (int r = 0; r < REPETITIONS && report; r++) { // one line a repetition: the report takes medians
                line("snapshotCreate", "\"files\":" + files + ",\"us\":" + micros[r] + ",\"rep\":" + r, quick);
            }
        } finally {
            Files.deleteIfExists(image);
        }
    }

    /** Reflink clone time (with its commit) of a 1 MiB file, a large file and a file of many extents. */
    private static void clone(Path dir, boolean quick) throws IOException {
        Path image = dir.resolve("clone.img");
        try (CowFileSystem fs = CowFileSystem.create(image, options())) {
            byte[] chunk = new byte[1 << 20];
            new java.util.Random(2).nextBytes(chunk);
            long small = fs.mknod(ROOT, "one-mib", 0644, 0, 0, 0);
            fs.write(small, 0, chunk, 0, chunk.length);
            long largeBytes = quick ? 256L << 20 : 4L << 30;
            long large = fs.mknod(ROOT, "large", 0644, 0, 0, 0);
            for (long at = 0; at < largeBytes; at += chunk.length) {
                fs.write(large, at, chunk, 0, chunk.length);
            }
            int extents = quick ? 10_000 : 100_000;
            long fragmented = fs.mknod(ROOT, "fragmented", 0644, 0, 0, 0);
            java.util.Random random = new java.util.Random(3);
            byte[] page = new byte[4096];
            int spanPages = 16 * extents; // random 4 KiB writes over a sparse span: about one extent item each
            for (int i = 0; i < extents; i++) {
                random.nextBytes(page);
                fs.write(fragmented, (long) random.nextInt(spanPages) * 4096, page, 0, page.length);
            }
            fs.sync();
            long[][] cases = {{small, 1, chunk.length}, {large, largeBytes >> 20, largeBytes},
                    {fragmented, extents, fs.stat(fragmented).size()}};
            int n = 0;
            for (long[] c : cases) {
                long[] micros = new long[REPETITIONS];
                for (int r = 0; r < REPETITIONS; r++) {
                    long dst = fs.mknod(ROOT, "clone-" + n++, 0644, 0, 0, 0);
                    fs.sync();
                    long start = System.nanoTime();
                    fs.reflink(c[0], dst);
                    fs.sync();
                    micros[r] = (System.nanoTime() - start) / 1000;
                }
                for (int r = 0; r < REPETITIONS; r++) {
                    line("clone", "\"extents\":" + c[1] + ",\"size_bytes\":" + c[2] + ",\"us\":" + micros[r]
                            + ",\"rep\":" + r, quick);
                }
            }
        } finally {
            Files.deleteIfExists(image);
        }
    }

    private static void diff(Path dir, int files, boolean quick) throws IOException {
        Path image = dir.resolve("diff.img");
        try (CowFileSystem fs = CowFileSystem.create(image, options())) {
            fill(fs, files, 0);
            long base = fs.createSnapshot(0, "base", false);
            int changed = 0;
            for (int target : new int[] {10, 10_000}) {
                for (; changed < target; changed++) {
                    int i = (int) ((long) changed * files / target) ;
                    long ino = fs.resolve("/d" + (i / 1000) + "/f" + i, true);
                    fs.write(ino, 50, "changed".getBytes(StandardCharsets.UTF_8), 0, 7);
                }
                fs.sync();
                long start = System.nanoTime();
                int found = fs.diff(base, 0).size();
                long micros = (System.nanoTime() - start) / 1000;
                line("diff", "\"files\":" + files + ",\"changed\":" + target + ",\"found\":" + found + ",\"us\":"
                        + micros + ",\"rep\":0", quick);
            }
        } finally {
            Files.deleteIfExists(image);
        }
    }

    /** Every block the commit after one 4 KiB overwrite writes: data, nodes, counts, free space, superblock. */
    private static void sharedOverwrite(boolean quick) throws IOException {
        SimulatedDevice device = new SimulatedDevice();
        try (CowFileSystem fs = CowFileSystem.create(device, options())) {
            long file = fs.mknod(ROOT, "big", 0644, 0, 0, 0);
            byte[] chunk = new byte[1 << 20];
            new java.util.Random(1).nextBytes(chunk);
            for (int i = 0; i < 64; i++) {
                fs.write(file, (long) i << 20, chunk, 0, chunk.length);
            }
            fill(fs, 20_000, 0); // a tree of some height around the file
            fs.createSnapshot(0, "snap", false);
            byte[] page = new byte[4096];
            for (String kind : new String[] {"shared", "unshared"}) {
                long offset = kind.equals("shared") ? 32L << 20 : (32L << 20) + 8192;
                fs.write(file, offset, page, 0, page.length);
                device.clearLog();
                device.setRecording(true);
                fs.sync();
                device.setRecording(false);
                long blocks = device.log().stream().filter(op -> op instanceof SimulatedDevice.Write)
                        .mapToLong(op -> (((SimulatedDevice.Write) op).bytes().length + 4095) / 4096).sum();
                line(kind.equals("shared") ? "sharedOverwrite" : "unsharedOverwrite",
                        "\"blocks_written\":" + blocks + ",\"rep\":0", quick);
            }
        }
    }

    private static void line(String bench, String fields, boolean quick) {
        System.out.println(String.format(Locale.ROOT, "{\"suite\":\"snap\",\"bench\":\"%s\",\"impl\":\"cowfs\",%s%s}",
                bench, fields, quick ? ",\"quick\":true" : ""));
    }
}
