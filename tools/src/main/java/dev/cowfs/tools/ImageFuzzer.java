package dev.cowfs.tools;

import dev.cowfs.fs.CowFileSystem;
import dev.cowfs.fs.FsOptions;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Damaged real images through the real commands: an image file with files, directories, a snapshot and a
 * multi-extent file is damaged (bits flipped, a region zeroed or filled with noise, the file cut short, two
 * blocks swapped) and {@code fsck}, {@code info}, {@code ls} and {@code cat} run on it. Each must end with a
 * clean error (one of the documented exit codes) or correct output; an internal error, a hang, output that
 * differs from what was stored while the command says it succeeded (unless it warned that it fell back to an
 * older commit, whose contents differ), or a clean fsck of an image a read then finds damaged is a violation.
 */
final class ImageFuzzer {
    private static final long COMMAND_TIMEOUT_SECONDS = 60;

    record Violation(String damage, String command, String problem) {
    }

    private final Path directory;
    private final Random random;
    private final Path pristine;
    private final Map<String, byte[]> files = new LinkedHashMap<>();
    private final Map<String, String> listings = new LinkedHashMap<>();
    private final ExecutorService runner = Executors.newSingleThreadExecutor(runnable -> {
        Thread thread = new Thread(runnable, "cowfs-fuzz");
        thread.setDaemon(true);
        return thread;
    });
    long cases;
    long cleanErrors;
    long correct;
    final List<Violation> violations = new ArrayList<>();

    ImageFuzzer(Path directory, long seed) throws IOException {
        this.directory = directory;
        this.random = new Random(seed);
        this.pristine = directory.resolve("pristine.img");
        build();
    }

    /** The image every case damages a copy of, and what it holds. */
    private void build() throws IOException {
        Files.deleteIfExists(pristine);
        try (CowFileSystem fs = CowFileSystem.create(pristine, FsOptions.builder().commitIntervalMillis(0).build())) {
            long docs = fs.mkdir(CowFileSystem.ROOT_INO, "docs", 0755, 0, 0);
            for (int i = 0; i < 12; i++) {
                byte[] bytes = new byte[random.nextInt(i % 3 == 0 ? 200_000 : 3000) + 1];
                random.nextBytes(bytes);
                long ino = fs.mknod(docs, "f" + i, 0100644, 0, 0, 0);
                fs.write(ino, 0, bytes, 0, bytes.length);
                files.put("/docs/f" + i, bytes);
            }
            byte[] big = new byte[3 << 20];
            random.nextBytes(big);
            long ino = fs.mknod(CowFileSystem.ROOT_INO, "big", 0100644, 0, 0, 0);
            for (int at = 0; at < big.length; at += 64 << 10) { // many extents
                fs.write(ino, at, big, at, 64 << 10);
                if (at % (1 << 20) == 0) {
                    fs.sync();
                }
            }
            files.put("/big", big);
            fs.sync();
            fs.createSnapshot(0, "snap", false);
            fs.unlink(docs, "f1");
            fs.sync();
        }
        files.remove("/docs/f1");
        for (String path : List.of("/", "/docs", "@snap:/docs")) {
            Result listing = run("ls", "-l", pristine.toString(), path);
            if (listing.code() != 0) {
                throw new IOException("the pristine image does not list " + path + ": " + listing.err());
            }
            listings.put(path, listing.out());
        }
    }

    record Result(int code, String out, byte[] bytes, String err) {
    }

    /** Runs one damaged copy through every command; returns the violations it found. */
    List<Violation> runCase() throws IOException {
        cases++;
        Path damaged = directory.resolve("damaged-" + cases + ".img"); // a hung command keeps its image open
        Files.copy(pristine, damaged, StandardCopyOption.REPLACE_EXISTING);
        String mutation = damage(damaged);
        try {
            return judgeCase(damaged, mutation);
        } finally {
            for (String suffix : List.of("", ".lock", ".reserve")) {
                Files.deleteIfExists(directory.resolve(damaged.getFileName() + suffix));
            }
        }
    }

    private List<Violation> judgeCase(Path damaged, String mutation) {
        List<Violation> found = new ArrayList<>();
        Result fsck = judge(mutation, found, "fsck", damaged.toString());
        judge(mutation, found, "info", damaged.toString());
        boolean readFoundDamage = false;
        for (Map.Entry<String, String> listing : listings.entrySet()) {
            Result ls = judge(mutation, found, "ls", "-l", damaged.toString(), listing.getKey());
            if (ls.code() == 0 && !ls.out().equals(listing.getValue()) && !fellBack(ls)) {
                found.add(new Violation(mutation, "ls -l " + listing.getKey(), "exit 0 with a listing that differs "
                        + "from the stored one"));
            }
            readFoundDamage |= ls.code() == Cowfs.ExitCode.DAMAGED.code;
        }
        for (Map.Entry<String, byte[]> file : files.entrySet()) {
            Result cat = judge(mutation, found, "cat", damaged.toString(), file.getKey());
            if (cat.code() == 0 && !java.util.Arrays.equals(cat.bytes(), file.getValue()) && !fellBack(cat)) {
                found.add(new Violation(mutation, "cat " + file.getKey(), "exit 0 with bytes that differ from the "
                        + "stored ones: silent corruption"));
            }
            readFoundDamage |= cat.code() == Cowfs.ExitCode.DAMAGED.code;
        }
        if (fsck.code() == 0 && readFoundDamage) {
            found.add(new Violation(mutation, "fsck", "reported the image clean, but reading it found damage"));
        }
        if (found.isEmpty()) {
            if (fsck.code() == 0) {
                correct++;
            } else {
                cleanErrors++;
            }
        }
        violations.addAll(found);
        return found;
    }

    private String damage(Path file) throws IOException {
        try (RandomAccessFile image = new RandomAccessFile(file.toFile(), "rw")) {
            long length = image.length();
            long used = Math.min(length, 8L << 20); // the part that holds data (the rest is sparse growth room)
            switch (random.nextInt(5)) {
                case 0 -> {
                    int flips = 1 + random.nextInt(8);
                    StringBuilder where = new StringBuilder();
                    for (int i = 0; i < flips; i++) {
                        long at = (long) (random.nextDouble() * used);
                        image.seek(at);
                        int b = image.read();
                        image.seek(at);
                        image.write(b ^ (1 << random.nextInt(8)));
                        where.append(i > 0 ? "," : "").append(at);
                    }
                    return flips + " bit flip(s) at " + where;
                }
                case 1 -> {
                    long at = (long) (random.nextDouble() * used);
                    int size = 512 << random.nextInt(8);
                    image.seek(at);
                    image.write(new byte[size]);
                    return "zeroed " + size + " bytes at " + at;
                }
                case 2 -> {
                    long at = (long) (random.nextDouble() * used);
                    byte[] noise = new byte[512 << random.nextInt(6)];
                    random.nextBytes(noise);
                    image.seek(at);
                    image.write(noise);
                    return "noise over " + noise.length + " bytes at " + at;
                }
                case 3 -> {
                    long cut = (long) (random.nextDouble() * used);
                    image.setLength(cut);
                    return "cut to " + cut + " bytes";
                }
                default -> {
                    long blocks = used / 4096;
                    long a = random.nextInt((int) Math.max(1, blocks));
                    long b = random.nextInt((int) Math.max(1, blocks));
                    byte[] first = new byte[4096];
                    byte[] second = new byte[4096];
                    image.seek(a * 4096);
                    image.readFully(first);
                    image.seek(b * 4096);
                    image.readFully(second);
                    image.seek(a * 4096);
                    image.write(second);
                    image.seek(b * 4096);
                    image.write(first);
                    return "blocks " + a + " and " + b + " swapped";
                }
            }
        }
    }

    /** Whether the command said it opened an older commit because the newest did not verify. */
    private static boolean fellBack(Result result) {
        return result.err().lines().anyMatch(line -> line.startsWith("cowfs: warning:")
                && line.contains(": opened generation "));
    }

    /** Runs a command; an internal error, a hang, or an error that is not one line (warnings aside) is a violation. */
    private Result judge(String mutation, List<Violation> found, String... args) {
        Result result = run(args);
        String command = String.join(" ", args);
        if (result.code() == Cowfs.ExitCode.BUG.code) {
            found.add(new Violation(mutation, command, "internal error: " + result.err().strip()));
        } else if (result.code() < 0) {
            found.add(new Violation(mutation, command, result.err()));
        } else if (result.code() != 0 && (errorLines(result) > 1
                || errorLines(result) == 0 && result.out().isBlank())) { // fsck lists its problems on stdout
            found.add(new Violation(mutation, command, "exit " + result.code() + " without a one-line error: "
                    + result.err().strip()));
        }
        return result;
    }

    private static long errorLines(Result result) {
        return result.err().lines().filter(line -> !line.startsWith("cowfs: warning:")).count();
    }

    private Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Invocation invocation = new Invocation(java.io.InputStream.nullInputStream(), out, err, Path.of(""), 0, false,
                Images.LOCAL);
        Future<Integer> running = runner.submit(() -> Cowfs.execute(invocation, args));
        try {
            int code = running.get(COMMAND_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            return new Result(code, out.toString(StandardCharsets.UTF_8), out.toByteArray(),
                    err.toString(StandardCharsets.UTF_8));
        } catch (TimeoutException e) {
            running.cancel(true);
            return new Result(-1, "", new byte[0], "no answer in " + COMMAND_TIMEOUT_SECONDS + " s: a hang");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(-1, "", new byte[0], "interrupted");
        } catch (ExecutionException e) {
            return new Result(-1, "", new byte[0], "threw " + e.getCause());
        }
    }
}
