package dev.cowfs.bench;

import dev.cowfs.engine.StoreOptions;
import dev.cowfs.engine.device.SimulatedDevice;
import dev.cowfs.fs.CowFileSystem;
import dev.cowfs.fs.FsOptions;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The snapshot suite (single-shot timings, not JMH: each measured operation changes the image). Snapshot
 * creation against subvolume size, reflink clone against file size and against extent count, a snapshot's
 * exclusive bytes as the live tree diverges, open time against image size, diff against the amount of change,
 * and the blocks a 4 KiB overwrite of shared data writes in its commit. Times include the commit that makes the
 * snapshot or clone durable. Images live on tmpfs ({@code cowfs.bench.memdir}, /dev/shm by default); btrfs and
 * XFS, the peers, run on loop images in the same directory, each case on freshly made filesystems, and every
 * repetition measures cowfs and each peer in turn.
 */
final class SnapBench {
    private static final int REPETITIONS = 5;
    private static final long ROOT = CowFileSystem.ROOT_INO;

    private SnapBench() {
    }

    static void run(boolean quick) throws IOException {
        Path dir = Files.createTempDirectory(Path.of(System.getProperty("cowfs.bench.memdir", "/dev/shm")),
                "cowfs-snap");
        // Killed midway (interrupted run), neither the peers' loop mounts nor the images may keep their tmpfs memory.
        Thread unmount = new Thread(() -> {
            LoopVolume.unmountLeftovers(dir);
            deleteTree(dir);
        });
        Runtime.getRuntime().addShutdownHook(unmount);
        try {
            List<String> peers = new ArrayList<>();
            for (String kind : List.of("btrfs", "xfs")) {
                String reason = LoopVolume.unavailable(kind);
                if (reason == null) {
                    peers.add(kind);
                } else {
                    System.err.println("snap: " + reason);
                }
            }
            boolean btrfs = peers.contains("btrfs");
            if (!btrfs) {
                System.err.println("snap: btrfs skipped, so snapshotCreate and snapshotExclusive run for cowfs "
                        + "alone (btrfs is the peer with snapshots)");
            }
            int[] sizes = quick ? new int[] {10, 1_000, 100_000} : new int[] {10, 1_000, 100_000, 1_000_000};
            snapshotCreate(dir, 1_000, quick, false, false); // warm-up: the JIT compiles the paths, no figure
            for (int files : sizes) {
                snapshotCreate(dir, files, quick, true, btrfs);
            }
            long[] cloneSizes = quick ? new long[] {1L << 20, 64L << 20, 256L << 20}
                    : new long[] {1L << 20, 64L << 20, 1L << 30, 4L << 30};
            for (long bytes : cloneSizes) {
                cloneCase(dir, "cloneBySize", "size_bytes", bytes, sink -> writeBytes(sink, bytes), bytes, peers,
                        quick);
            }
            int[] extentCounts = quick ? new int[] {100, 1_000, 10_000} : new int[] {100, 1_000, 10_000, 100_000};
            for (int extents : extentCounts) {
                cloneCase(dir, "cloneByExtents", "extents", extents, sink -> writeScattered(sink, extents),
                        4096L * extents, peers, quick);
            }
            snapshotExclusive(dir, quick, btrfs);
            long[] imageSizes = quick ? new long[] {64L << 20, 512L << 20} : new long[] {64L << 20, 1L << 30, 4L << 30};
            for (long bytes : imageSizes) {
                openTime(dir, bytes, quick);
            }
            diff(dir, quick ? 100_000 : 1_000_000, quick);
            sharedOverwrite(quick);
        } finally {
            Runtime.getRuntime().removeShutdownHook(unmount);
            deleteTree(dir);
        }
    }

    /** Deletes what is left under {@code dir} and the directory itself, as far as it can (never throws). */
    private static void deleteTree(Path dir) {
        try (var paths = Files.walk(dir)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        } catch (IOException | java.io.UncheckedIOException e) {
            System.err.println("snap: could not clear " + dir + ": " + e.getMessage());
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

    /** The same files as {@link #fill}, on a peer filesystem. */
    private static void fill(Path root, int files) throws IOException {
        byte[] contents = new byte[100];
        for (int i = 0; i < files; i++) {
            Path dir = root.resolve("d" + (i / 1000));
            if (i % 1000 == 0) {
                Files.createDirectories(dir);
            }
            contents[0] = (byte) i;
            Files.write(dir.resolve("f" + i), contents);
        }
    }

    private static void snapshotCreate(Path dir, int files, boolean quick, boolean report, boolean btrfs)
            throws IOException {
        Path image = dir.resolve("snapshot-" + files + ".img");
        // btrfs keeps about 1 KiB of metadata a small file, twice (DUP); the image is sparse on tmpfs
        try (CowFileSystem fs = CowFileSystem.create(image, options());
             LoopVolume peer = btrfs && report ? peer("btrfs", dir, (4L << 30) + files * 8192L, false,
                     "snapshotCreate", volume -> {
                         fill(volume.root(), files);
                         volume.sync();
                     }) : null) {
            fill(fs, files, 0);
            long[][] micros = new long[2][REPETITIONS];
            boolean peerFailed = false;
            for (int r = -1; r < REPETITIONS; r++) { // -1: one snapshot on each before the measured ones
                long file = fs.resolve("/d0/f0", true);
                fs.write(file, 0, new byte[] {(byte) r}, 0, 1); // the source changed since the last snapshot
                long start = System.nanoTime();
                fs.createSnapshot(0, "s" + r, false);
                long mine = (System.nanoTime() - start) / 1000;
                long theirs = 0;
                if (peer != null && !peerFailed) {
                    try {
                        try (FileChannel channel = FileChannel.open(peer.root().resolve("d0/f0"),
                                StandardOpenOption.WRITE)) {
                            channel.write(ByteBuffer.wrap(new byte[] {(byte) r}), 0);
                        }
                        theirs = peer.snapshot("s" + r);
                    } catch (IOException e) {
                        peerFailed = dropped("btrfs", "snapshotCreate", e);
                    }
                }
                if (r >= 0) {
                    micros[0][r] = mine;
                    micros[1][r] = theirs;
                }
            }
            for (int r = 0; r < REPETITIONS && report; r++) { // one line a repetition: the report takes medians
                line("snapshotCreate", "cowfs", "\"files\":" + files + ",\"us\":" + micros[0][r] + ",\"rep\":" + r,
                        quick);
                if (peer != null && !peerFailed) {
                    line("snapshotCreate", "btrfs", "\"files\":" + files + ",\"us\":" + micros[1][r] + ",\"rep\":"
                            + r, quick);
                }
            }
        } finally {
            Files.deleteIfExists(image);
        }
    }

    /**
     * A fresh peer volume with {@code fill} done on it, or null (the reason printed) when making or filling it
     * fails: the case goes on with cowfs and the other peers.
     */
    private static LoopVolume peer(String kind, Path dir, long bytes, boolean quotas, String bench, PeerFill fill) {
        LoopVolume volume = null;
        try {
            volume = LoopVolume.create(kind, dir, bytes, quotas);
            fill.fill(volume);
            return volume;
        } catch (IOException e) {
            System.err.println("snap: " + kind + " skipped for " + bench + ": " + e.getMessage());
            if (volume != null) {
                try {
                    volume.close();
                } catch (IOException closing) {
                    System.err.println("snap: " + closing.getMessage());
                }
            }
            return null;
        }
    }

    /**
     * Prints why a peer that failed in the middle of a case is left out of that case (its figures so far too), and
     * returns true: the case goes on with cowfs and the other peers, the suite with the next case.
     */
    private static boolean dropped(String kind, String bench, IOException e) {
        System.err.println("snap: " + kind + " skipped for the rest of " + bench + ": " + e.getMessage());
        return true;
    }

    interface PeerFill {
        void fill(LoopVolume volume) throws IOException;
    }

    /** Where a clone's source file is written: a cowfs inode or a peer's file. */
    interface Sink {
        void write(long offset, byte[] bytes) throws IOException;
    }

    interface Filler {
        void fill(Sink sink) throws IOException;
    }

    /** {@code bytes} of seeded random data, in 1 MiB writes. */
    private static void writeBytes(Sink sink, long bytes) throws IOException {
        byte[] chunk = new byte[(int) Math.min(bytes, 1 << 20)];
        new java.util.Random(2).nextBytes(chunk);
        for (long at = 0; at < bytes; at += chunk.length) {
            sink.write(at, chunk);
        }
    }

    /** {@code extents} seeded random 4 KiB writes over a sparse span 16 times larger: about one extent each. */
    private static void writeScattered(Sink sink, int extents) throws IOException {
        java.util.Random random = new java.util.Random(3);
        byte[] page = new byte[4096];
        int spanPages = 16 * extents;
        for (int i = 0; i < extents; i++) {
            random.nextBytes(page);
            sink.write((long) random.nextInt(spanPages) * 4096, page);
        }
    }

    /**
     * Reflink clone time (with the commit or fsync that makes it durable) of one source file, the same bytes in
     * cowfs and on each peer, every repetition cloning on each in turn.
     */
    private static void cloneCase(Path dir, String bench, String sizeField, long sizeValue, Filler filler,
                                  long dataBytes, List<String> peers, boolean quick) throws IOException {
        Path image = dir.resolve("clone.img");
        List<LoopVolume> volumes = new ArrayList<>();
        try (CowFileSystem fs = CowFileSystem.create(image, options())) {
            long source = fs.mknod(ROOT, "source", 0644, 0, 0, 0);
            filler.fill((offset, bytes) -> fs.write(source, offset, bytes, 0, bytes.length));
            fs.sync();
            for (String kind : peers) {
                LoopVolume volume = peer(kind, dir, (2L << 30) + 2 * dataBytes, false, bench, made -> {
                    try (FileChannel channel = FileChannel.open(made.root().resolve("source"),
                            StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                        filler.fill((offset, bytes) -> channel.write(ByteBuffer.wrap(bytes), offset));
                        channel.force(true);
                    }
                    made.sync();
                });
                if (volume != null) {
                    volumes.add(volume);
                }
            }
            long[][] micros = new long[1 + volumes.size()][REPETITIONS];
            boolean[] failed = new boolean[volumes.size()];
            for (int r = -1; r < REPETITIONS; r++) { // -1: one clone on each before the measured ones
                String name = r < 0 ? "clone-warm" : "clone-" + r;
                long target = fs.mknod(ROOT, name, 0644, 0, 0, 0);
                fs.sync();
                long start = System.nanoTime();
                fs.reflink(source, target);
                fs.sync();
                long mine = (System.nanoTime() - start) / 1000;
                if (r >= 0) {
                    micros[0][r] = mine;
                }
                for (int v = 0; v < volumes.size(); v++) {
                    if (failed[v]) {
                        continue;
                    }
                    Path root = volumes.get(v).root();
                    try {
                        long theirs = volumes.get(v).reflink(root.resolve("source"), root.resolve(name));
                        if (r >= 0) {
                            micros[1 + v][r] = theirs;
                        }
                    } catch (IOException e) {
                        failed[v] = dropped(volumes.get(v).kind, bench, e);
                    }
                }
            }
            for (int r = 0; r < REPETITIONS; r++) {
                for (int i = 0; i < micros.length; i++) {
                    if (i > 0 && failed[i - 1]) {
                        continue;
                    }
                    line(bench, i == 0 ? "cowfs" : volumes.get(i - 1).kind, "\"" + sizeField + "\":" + sizeValue
                            + ",\"us\":" + micros[i][r] + ",\"rep\":" + r, quick);
                }
            }
        } finally {
            closeAll(volumes, image);
        }
    }

    /** Closes every peer volume and deletes the image, then throws the last failure to close, if any. */
    private static void closeAll(List<LoopVolume> volumes, Path image) throws IOException {
        IOException failure = null;
        for (LoopVolume volume : volumes) {
            try {
                volume.close();
            } catch (IOException e) {
                failure = e;
            }
        }
        Files.deleteIfExists(image);
        if (failure != null) {
            throw failure;
        }
    }

    /**
     * A snapshot's exclusive bytes (what deleting it would free) as the live file it shares diverges under
     * seeded random 4 KiB overwrites (snapshotExclusive), and the bytes in use on the whole filesystem
     * (divergedUsed); beside btrfs (quotas on). Both share whole extents: an extent a live file still uses part
     * of stays shared, so the snapshot's exclusive bytes stay small while the bytes in use grow.
     */
    private static void snapshotExclusive(Path dir, boolean quick, boolean btrfs) throws IOException {
        long fileBytes = quick ? 64L << 20 : 256L << 20;
        int pages = (int) (fileBytes / 4096);
        double[] rounds = {0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0}; // overwrites so far, in files' worth of pages
        Path image = dir.resolve("exclusive.img");
        try (CowFileSystem fs = CowFileSystem.create(image, options());
             LoopVolume peer = btrfs ? peer("btrfs", dir, (2L << 30) + 4 * fileBytes, true, "snapshotExclusive",
                     made -> { }) : null;
             FileChannel channel = peer == null ? null : FileChannel.open(peer.root().resolve("file"),
                     StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            long file = fs.mknod(ROOT, "file", 0644, 0, 0, 0);
            Sink mine = (offset, bytes) -> fs.write(file, offset, bytes, 0, bytes.length);
            Sink theirs = channel == null ? null : (offset, bytes) -> channel.write(ByteBuffer.wrap(bytes), offset);
            writeBytes(mine, fileBytes);
            long snapshot = fs.createSnapshot(0, "snap", false);
            boolean peerFailed = theirs == null;
            if (!peerFailed) {
                try {
                    writeBytes(theirs, fileBytes);
                    channel.force(true);
                    peer.snapshot("snap");
                } catch (IOException e) {
                    peerFailed = dropped("btrfs", "snapshotExclusive", e);
                }
            }
            java.util.Random random = new java.util.Random(4);
            java.util.BitSet touched = new java.util.BitSet(pages);
            byte[] page = new byte[4096];
            long written = 0;
            for (double round : rounds) {
                for (; written < (long) (round * pages); written++) {
                    int at = random.nextInt(pages);
                    random.nextBytes(page);
                    touched.set(at);
                    mine.write((long) at * 4096, page);
                    if (!peerFailed) {
                        try {
                            theirs.write((long) at * 4096, page);
                        } catch (IOException e) {
                            peerFailed = dropped("btrfs", "snapshotExclusive", e);
                        }
                    }
                }
                String common = "\"written_bytes\":" + written * 4096 + ",\"distinct_bytes_overwritten\":"
                        + touched.cardinality() * 4096L;
                var usage = fs.space(snapshot);
                var stat = fs.statfs();
                line("snapshotExclusive", "cowfs", common + ",\"exclusive_bytes\":" + usage.exclusiveBytes()
                        + ",\"rep\":0", quick);
                line("divergedUsed", "cowfs", common + ",\"used_bytes\":" + stat.usedBlocks() * stat.blockSize()
                        + ",\"rep\":0", quick);
                if (!peerFailed) {
                    try {
                        channel.force(true);
                        peer.sync();
                        long exclusive = peer.exclusiveBytes(peer.snapshotPath("snap"));
                        long used = peer.usedBytes();
                        line("snapshotExclusive", "btrfs", common + ",\"exclusive_bytes\":" + exclusive
                                + ",\"rep\":0", quick);
                        line("divergedUsed", "btrfs", common + ",\"used_bytes\":" + used + ",\"rep\":0", quick);
                    } catch (IOException e) {
                        peerFailed = dropped("btrfs", "snapshotExclusive", e);
                    }
                }
            }
        } finally {
            Files.deleteIfExists(image);
        }
    }

    /** Time to open an image (the file system ready to serve) against its size: 64 KiB files filling it. */
    private static void openTime(Path dir, long dataBytes, boolean quick) throws IOException {
        Path image = dir.resolve("open.img");
        try {
            try (CowFileSystem fs = CowFileSystem.create(image, options())) {
                byte[] contents = new byte[64 << 10];
                new java.util.Random(6).nextBytes(contents);
                long parent = 0;
                for (int i = 0; (long) i * contents.length < dataBytes; i++) {
                    if (i % 1000 == 0) {
                        parent = fs.mkdir(ROOT, "d" + (i / 1000), 0755, 0, 0);
                    }
                    long ino = fs.mknod(parent, "f" + i, 0644, 0, 0, 0);
                    fs.write(ino, 0, contents, 0, contents.length);
                }
            }
            long imageBytes = Files.size(image);
            for (int r = -1; r < REPETITIONS; r++) { // -1: one open before the measured ones
                long start = System.nanoTime();
                CowFileSystem fs = CowFileSystem.open(image, options());
                long micros = (System.nanoTime() - start) / 1000;
                fs.close();
                if (r < 0) {
                    continue;
                }
                line("open", "cowfs", "\"dataset_bytes\":" + dataBytes + ",\"image_bytes\":" + imageBytes
                        + ",\"us\":" + micros + ",\"rep\":" + r, quick);
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
                    // spread over the tree; the later round's files are one past, never a file changed before
                    int i = (int) ((long) changed * files / target) + (target == 10 ? 0 : 1);
                    long ino = fs.resolve("/d" + (i / 1000) + "/f" + i, true);
                    fs.write(ino, 50, "changed".getBytes(StandardCharsets.UTF_8), 0, 7);
                }
                fs.sync();
                for (int r = -1; r < REPETITIONS; r++) { // -1: one diff before the measured ones
                    long start = System.nanoTime();
                    int found = fs.diff(base, 0).size();
                    long micros = (System.nanoTime() - start) / 1000;
                    if (r >= 0) {
                        line("diff", "cowfs", "\"files\":" + files + ",\"changed\":" + target + ",\"found\":"
                                + found + ",\"us\":" + micros + ",\"rep\":" + r, quick);
                    }
                }
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
                // the same block again: the first overwrite's commit made it the live file's own
                long offset = 32L << 20;
                fs.write(file, offset, page, 0, page.length);
                device.clearLog();
                device.setRecording(true);
                fs.sync();
                device.setRecording(false);
                long blocks = device.log().stream().filter(op -> op instanceof SimulatedDevice.Write)
                        .mapToLong(op -> (((SimulatedDevice.Write) op).bytes().length + 4095) / 4096).sum();
                line(kind.equals("shared") ? "sharedOverwrite" : "unsharedOverwrite", "cowfs",
                        "\"files\":20000,\"size_bytes\":" + (64L << 20) + ",\"blocks_written\":" + blocks
                                + ",\"rep\":0", quick);
            }
        }
    }

    private static void line(String bench, String impl, String fields, boolean quick) {
        System.out.println(String.format(Locale.ROOT, "{\"suite\":\"snap\",\"bench\":\"%s\",\"impl\":\"%s\",%s%s}",
                bench, impl, fields, quick ? ",\"quick\":true" : ""));
        System.out.flush();
    }
}
