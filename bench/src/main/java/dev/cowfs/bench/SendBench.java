package dev.cowfs.bench;

import dev.cowfs.engine.StoreOptions;
import dev.cowfs.fs.CowFileSystem;
import dev.cowfs.fs.FsOptions;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.Pipe;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.CompletableFuture;

/**
 * The send suite (single-shot timings, not JMH: each receive changes an image). Incremental send cost against
 * the number of changed files in a large snapshot (it must follow the change, not the size), and a whole
 * snapshot sent and received between two images beside {@code tar c | tar x} of the same tree between two
 * directories. Everything lives on tmpfs ({@code cowfs.bench.memdir}, /dev/shm by default). Repetitions of the
 * throughput bench alternate cowfs and tar.
 */
final class SendBench {
    private static final long ROOT = CowFileSystem.ROOT_INO;

    private SendBench() {
    }

    static void run(boolean quick) throws Exception {
        Path dir = Files.createTempDirectory(Path.of(System.getProperty("cowfs.bench.memdir", "/dev/shm")),
                "cowfs-send");
        try {
            incremental(dir, quick ? 100_000 : 1_000_000, quick);
            throughput(dir, quick);
        } finally {
            delete(dir);
        }
    }

    private static FsOptions options() {
        return FsOptions.builder().commitIntervalMillis(0)
                .store(StoreOptions.builder().checkAfterCommit(false).build()).build();
    }

    /** An output that only counts: the send's own cost, without a receiver. */
    private static final class Counting extends OutputStream {
        long bytes;

        @Override
        public void write(int b) {
            bytes++;
        }

        @Override
        public void write(byte[] b, int off, int len) {
            bytes += len;
        }
    }

    /** Incremental sends of 10 and of 10,000 changed files from a snapshot of {@code files} files. */
    private static void incremental(Path dir, int files, boolean quick) throws IOException {
        Path image = dir.resolve("incremental.img");
        try (CowFileSystem fs = CowFileSystem.create(image, options())) {
            byte[] contents = new byte[100];
            long parent = 0;
            for (int i = 0; i < files; i++) {
                if (i % 1000 == 0) {
                    parent = fs.mkdir(ROOT, "d" + (i / 1000), 0755, 0, 0);
                }
                long ino = fs.mknod(parent, "f" + i, 0644, 0, 0, 0);
                contents[0] = (byte) i;
                fs.write(ino, 0, contents, 0, contents.length);
            }
            fs.sync();
            long base = fs.createSnapshot(0, "base", false);
            int changed = 0;
            int round = 0;
            // the first two rounds untimed (the JIT compiles the paths), then three of each, alternating
            for (int target : new int[] {10, 10_000, 10, 10_000, 10, 10_000, 10, 10_000}) {
                // Each round starts from the base again: change `target` files spread over the whole tree.
                fs.rollback(0, base);
                for (changed = 0; changed < target; changed++) {
                    int i = (int) ((long) changed * files / target) + round;
                    long ino = fs.resolve("/d" + (i / 1000) + "/f" + i, true);
                    fs.write(ino, 50, "changed".getBytes(java.nio.charset.StandardCharsets.UTF_8), 0, 7);
                }
                long snapshot = fs.createSnapshot(0, "c" + round, false);
                Counting out = new Counting();
                long start = System.nanoTime();
                CowFileSystem.SendSummary sent = fs.send(snapshot, base, out, bytes -> { });
                long micros = (System.nanoTime() - start) / 1000;
                if (round >= 2) {
                    line("incrementalSend", "\"files\":" + files + ",\"changed\":" + target + ",\"us\":" + micros
                            + ",\"stream_bytes\":" + out.bytes + ",\"records\":" + sent.records() + ",\"rep\":"
                            + (round / 2 - 1), quick);
                }
                fs.deleteSubvolume(snapshot);
                round++;
            }
        } finally {
            Files.deleteIfExists(image);
        }
    }

    /** The same seeded tree: large files and many small ones. */
    private static long makeTree(Path root, int large, int small) throws IOException {
        Random random = new Random(17);
        byte[] chunk = new byte[4 << 20];
        long bytes = 0;
        Files.createDirectories(root.resolve("large"));
        for (int i = 0; i < large; i++) {
            random.nextBytes(chunk);
            Files.write(root.resolve("large/file" + i), chunk);
            bytes += chunk.length;
        }
        byte[] page = new byte[4096];
        for (int i = 0; i < small; i++) {
            Path sub = root.resolve("small/d" + (i / 1000));
            if (i % 1000 == 0) {
                Files.createDirectories(sub);
            }
            random.nextBytes(page);
            Files.write(sub.resolve("f" + i), page);
            bytes += page.length;
        }
        return bytes;
    }

    /** Copies a host tree into the filesystem (directories, then files in 1 MiB writes). */
    private static void put(CowFileSystem fs, Path host, long dir) throws IOException {
        try (var entries = Files.list(host)) {
            for (Path entry : entries.sorted().toList()) {
                String name = entry.getFileName().toString();
                if (Files.isDirectory(entry)) {
                    put(fs, entry, fs.mkdir(dir, name, 0755, 0, 0));
                } else {
                    long ino = fs.mknod(dir, name, 0100644, 0, 0, 0);
                    byte[] bytes = Files.readAllBytes(entry);
                    for (int at = 0; at < bytes.length; at += 1 << 20) {
                        fs.write(ino, at, bytes, at, Math.min(1 << 20, bytes.length - at));
                    }
                }
            }
        }
    }

    private static void throughput(Path dir, boolean quick) throws Exception {
        int large = quick ? 64 : 256;
        int small = quick ? 5_000 : 20_000;
        int repetitions = quick ? 2 : 5;
        Path source = dir.resolve("tree");
        long bytes = makeTree(source, large, small);
        Path sourceImage = dir.resolve("source.img");
        try (CowFileSystem fs = CowFileSystem.create(sourceImage, options())) {
            put(fs, source, ROOT);
            fs.sync();
            long snapshot = fs.createSnapshot(0, "tree", false);
            String dataset = "\"files\":" + (large + small) + ",\"bytes\":" + bytes;
            Path target = dir.resolve("target.img");
            for (int warmUp = 0; warmUp < 2; warmUp++) {
                sendReceive(fs, snapshot, target); // the JIT compiles the paths before the first figure
            }
            tar(source, dir.resolve("copy")); // and one untimed tar before its first figure
            for (int rep = 0; rep < repetitions; rep++) {
                double seconds = sendReceive(fs, snapshot, target);
                line("sendReceive", dataset + String.format(Locale.ROOT, ",\"mib_per_s\":%.1f,\"seconds\":%.3f",
                        bytes / seconds / (1 << 20), seconds) + ",\"rep\":" + rep, quick);
                Files.deleteIfExists(target);
                double tarSeconds = tar(source, dir.resolve("copy"));
                lineAs("tar", "sendReceive", dataset + String.format(Locale.ROOT,
                        ",\"mib_per_s\":%.1f,\"seconds\":%.3f", bytes / tarSeconds / (1 << 20), tarSeconds)
                        + ",\"rep\":" + rep, quick);
            }
        } finally {
            Files.deleteIfExists(sourceImage);
        }
    }

    /** {@code tar c | tar x} of {@code source} into an empty {@code copy}, deleted after; the seconds it took. */
    private static double tar(Path source, Path copy) throws Exception {
        delete(copy);
        Files.createDirectories(copy);
        long start = System.nanoTime();
        Process tar = new ProcessBuilder("bash", "-c", "set -o pipefail; tar -C " + source
                + " -cf - . | tar -C " + copy + " -xf -").redirectError(ProcessBuilder.Redirect.INHERIT).start();
        if (tar.waitFor() != 0) {
            throw new IOException("tar c | tar x failed with status " + tar.exitValue());
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        delete(copy);
        return seconds;
    }

    /**
     * One whole snapshot through a pipe between two threads into a new image, until the receiver has committed
     * it; the seconds it took (making the empty target image is not counted).
     */
    private static double sendReceive(CowFileSystem fs, long snapshot, Path target) throws Exception {
        Files.deleteIfExists(target);
        try (CowFileSystem receiver = CowFileSystem.create(target, options())) {
            long start = System.nanoTime();
            Pipe pipe = Pipe.open();
            CompletableFuture<CowFileSystem.SendSummary> sending = CompletableFuture.supplyAsync(() -> {
                try (OutputStream out = Channels.newOutputStream(pipe.sink())) {
                    return fs.send(snapshot, -1, new java.io.BufferedOutputStream(out, 1 << 20), b -> { });
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            try (InputStream in = Channels.newInputStream(pipe.source())) {
                receiver.receive(new java.io.BufferedInputStream(in, 1 << 20), null, b -> { });
            }
            sending.join();
            receiver.sync();
            return (System.nanoTime() - start) / 1e9;
        } finally {
            Files.deleteIfExists(target);
        }
    }

    private static void delete(Path path) throws IOException {
        if (!Files.exists(path)) {
            return;
        }
        try (var paths = Files.walk(path)) {
            List<Path> all = new ArrayList<>(paths.toList());
            java.util.Collections.reverse(all);
            for (Path each : all) {
                Files.delete(each);
            }
        }
    }

    private static void line(String bench, String fields, boolean quick) {
        lineAs("cowfs", bench, fields, quick);
    }

    private static void lineAs(String impl, String bench, String fields, boolean quick) {
        System.out.println(String.format(Locale.ROOT, "{\"suite\":\"send\",\"bench\":\"%s\",\"impl\":\"%s\",%s%s}",
                bench, impl, fields, quick ? ",\"quick\":true" : ""));
        System.out.flush();
    }
}
