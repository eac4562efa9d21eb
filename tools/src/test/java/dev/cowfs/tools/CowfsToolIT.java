package dev.cowfs.tools;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The packaged tool end to end, each command a separate process as a user runs it: the control channel of a
 * held image, the bad inputs of the CLI issue, the JSON shapes, progress bars, the demo and the launcher.
 */
class CowfsToolIT {
    @TempDir
    Path dir;

    @BeforeAll
    static void jar() {
        ToolProcess.requireJar();
    }

    private ToolProcess.Result cowfs(String... args) {
        return ToolProcess.run(dir, args);
    }

    private ToolProcess.Result ok(String... args) {
        ToolProcess.Result result = cowfs(args);
        assertEquals(0, result.code(), () -> String.join(" ", args) + ": " + result);
        return result;
    }

    /** A failure is one line on standard error, never a stack trace, with the expected exit code. */
    private ToolProcess.Result fails(int code, String... args) {
        ToolProcess.Result result = cowfs(args);
        assertEquals(code, result.code(), () -> String.join(" ", args) + ": " + result);
        assertEquals(1, result.err().lines().count(), () -> "not one line: " + result);
        assertTrue(result.err().startsWith("cowfs: "), result::toString);
        assertFalse(result.err().contains("Exception") || result.err().contains("\tat "), result::toString);
        return result;
    }

    /**
     * A {@code cowfs serve} process, with the lines it logs. Its output goes to a file, read when asked: a pipe
     * loses what a process writes just before it exits when the reader races the exit.
     */
    private final class Server implements AutoCloseable {
        final Process process;
        final Path output;

        Server(String image) throws Exception {
            output = Files.createTempFile(dir, "serve", ".log");
            process = ToolProcess.builder(dir, Map.of(), List.of(), "serve", image)
                    .redirectErrorStream(true).redirectOutput(output.toFile()).start();
            process.getOutputStream().close();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!logged("serving ")) {
                if (!process.isAlive() || System.nanoTime() > deadline) {
                    throw new AssertionError("serve did not start serving: " + log());
                }
                Thread.sleep(20);
            }
        }

        /** Stops the server with a signal; returns its exit code. */
        int stop(boolean kill) throws Exception {
            if (kill) {
                process.destroyForcibly();
            } else {
                process.destroy(); // SIGTERM
            }
            assertTrue(process.waitFor(90, TimeUnit.SECONDS), "serve did not stop");
            return process.exitValue();
        }

        String log() {
            try {
                return Files.readString(output);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }

        boolean logged(String fragment) {
            return log().contains(fragment);
        }

        @Override
        public void close() {
            process.destroyForcibly();
        }
    }

    @Test
    void everyCommandOnAHeldImageRunsInTheHolderThroughItsChannel() throws Exception {
        ok("mkfs", "data.img", "--size", "512M");
        Files.writeString(dir.resolve("hello.txt"), "hello, channel\n");
        byte[] big = new byte[96 << 20];
        new Random(7).nextBytes(big);
        Files.write(dir.resolve("big.bin"), big);
        try (Server server = new Server("data.img")) {
            Path socket = dir.resolve("data.img.sock");
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));

            ok("mkdir", "-p", "data.img", "/docs/old");
            ok("put", "data.img", "hello.txt", "/docs/");
            assertEquals("hello, channel\n", ok("cat", "data.img", "/docs/hello.txt").out());
            ok("snapshot", "create", "data.img", "default", "monday");
            ok("rm", "-r", "data.img", "/docs/old");
            assertEquals("M /docs\n- /docs/old\n", ok("snapshot", "diff", "data.img", "monday", "default").out());
            assertTrue(server.logged("cowfs snapshot create data.img default monday: exit 0"), server::log);

            ok("put", "data.img", "big.bin", "/big.bin");
            ToolProcess.Result fsck = ok("fsck", "data.img", "--json");
            assertEquals(Boolean.TRUE, Json.object(fsck.out()).get("clean"));
            ok("get", "data.img", "/big.bin", "big.out");
            assertArrayEquals(big, Files.readAllBytes(dir.resolve("big.out")));

            fails(7, "serve", "data.img"); // never opened twice for writing
            fails(3, "ls", "data.img", "@tuesday:/");
            assertTrue(server.logged("ls data.img @tuesday:/: exit 3"), server::log);

            assertEquals(0, server.stop(false), () -> "serve on SIGTERM: " + server.log());
            assertTrue(server.logged("stopped serving data.img"), server::log);
            assertFalse(Files.exists(socket), "the socket is removed on a clean stop");
        }
        assertTrue(ok("fsck", "data.img").out().contains("clean"));
        assertEquals("hello.txt\n", ok("ls", "data.img", "@monday:/docs").out().replace("old\n", ""));
        assertEquals("hello.txt\n", ok("ls", "data.img", "/docs").out());
    }

    /** A shell pipeline of cowfs commands, as {@code cowfs send ... | ssh host cowfs receive ...} runs them. */
    private ToolProcess.Result pipeline(String... commands) {
        String java = String.join(" ", ToolProcess.javaCommand(System.getProperty("java.home"))) + " -jar "
                + ToolProcess.JAR;
        List<String> stages = new ArrayList<>();
        for (String command : commands) {
            stages.add(java + " " + command);
        }
        ProcessBuilder builder = new ProcessBuilder("bash", "-c", "set -o pipefail; " + String.join(" | ", stages))
                .directory(dir.toFile());
        builder.environment().remove("COWFS_TERMINAL_COLUMNS");
        return ToolProcess.run(builder);
    }

    /** Every file, link and directory under a host directory, with contents and modes. */
    private static Map<String, String> tree(Path root) throws IOException {
        Map<String, String> out = new java.util.TreeMap<>();
        try (var paths = Files.walk(root)) {
            for (Path path : paths.toList()) {
                String name = root.relativize(path).toString();
                if (Files.isSymbolicLink(path)) {
                    out.put(name, "-> " + Files.readSymbolicLink(path));
                } else if (Files.isDirectory(path)) {
                    out.put(name, "dir " + PosixFilePermissions.toString(Files.getPosixFilePermissions(path)));
                } else {
                    out.put(name, PosixFilePermissions.toString(Files.getPosixFilePermissions(path)) + " "
                            + java.util.Arrays.hashCode(Files.readAllBytes(path)));
                }
            }
        }
        return out;
    }

    @Test
    void twoImagesStayReplicatedThroughPipedIncrementalStreams() throws Exception {
        ok("mkfs", "source.img");
        ok("mkfs", "copy.img");
        Path host = Files.createDirectories(dir.resolve("data/sub"));
        Random random = new Random(11);
        byte[] big = new byte[5 << 20];
        random.nextBytes(big);
        Files.write(dir.resolve("data/big.bin"), big);
        Files.writeString(host.resolve("small.txt"), "small\n");
        Files.createSymbolicLink(dir.resolve("data/link"), Path.of("sub/small.txt"));
        ok("put", "source.img", "data", "/data");
        ok("snapshot", "create", "source.img", "default", "s0");
        ToolProcess.Result first = pipeline("send source.img s0", "receive copy.img --json");
        assertEquals(0, first.code(), first::toString);
        assertEquals("s0", Json.object(first.out()).get("snapshot"));
        try (Server server = new Server("copy.img")) { // later rounds go into a held image, through its channel
            for (int round = 1; round <= 3; round++) {
                byte[] patch = new byte[100_000];
                random.nextBytes(patch);
                Files.write(dir.resolve("patch" + round), patch);
                ok("put", "source.img", "patch" + round, "/data/sub/patch" + round);
                ok("mv", "source.img", "/data/sub/small.txt", "/data/small" + round + ".txt");
                ok("ln", "source.img", "/data/small" + round + ".txt", "/data/sub/small.txt");
                ok("snapshot", "create", "source.img", "default", "s" + round);
                ToolProcess.Result sent = pipeline("send source.img s" + round + " --from s" + (round - 1),
                        "receive copy.img");
                assertEquals(0, sent.code(), sent::toString);
                assertTrue(sent.out().startsWith("received s" + round + " "), sent::toString);
                // The incremental stream carries the change (100 KB), not the 5 MiB file.
                ToolProcess.Result sizes = ok("send", "source.img", "s" + round, "--from", "s" + (round - 1),
                        "-o", "stream" + round, "--json");
                assertTrue(((Number) Json.object(sizes.out()).get("stream_bytes")).longValue() < 1 << 20,
                        sizes::toString);
            }
            assertTrue(server.logged("receive copy.img: exit 0"), server::log);
            assertEquals(0, server.stop(false), server::log);
        }
        for (int round = 0; round <= 3; round++) {
            ok("get", "source.img", "@s" + round + ":/data", "a" + round);
            ok("get", "copy.img", "@s" + round + ":/data", "b" + round);
            assertEquals(tree(dir.resolve("a" + round)), tree(dir.resolve("b" + round)), "snapshot s" + round);
        }
        assertTrue(ok("fsck", "copy.img").out().contains("clean"));
        badStreamsAreRefusedWithNothingKept();
    }

    /**
     * After the replication test: a stream cut short, damaged, or whose base the target lacks gets one line and a
     * distinct code, and nothing is kept; binary output is not written to a terminal; writable subvolumes are not sent.
     */
    private void badStreamsAreRefusedWithNothingKept() throws Exception {
        String before = ok("snapshot", "list", "copy.img", "--json").out();
        ok("put", "source.img", "patch1", "/data/again");
        ok("snapshot", "create", "source.img", "default", "s4");
        ok("send", "source.img", "s4", "--from", "s3", "-o", "stream4");
        byte[] whole = Files.readAllBytes(dir.resolve("stream4"));
        Files.write(dir.resolve("cut"), java.util.Arrays.copyOf(whole, whole.length / 2));
        fails(5, "receive", "copy.img", "-i", "cut");
        byte[] damaged = whole.clone();
        damaged[damaged.length / 2] ^= 4;
        Files.write(dir.resolve("damaged"), damaged);
        fails(5, "receive", "copy.img", "-i", "damaged");
        ok("mkfs", "empty.img");
        fails(3, "receive", "empty.img", "-i", "stream4");
        fails(4, "receive", "copy.img", "-i", "stream3");
        assertEquals(before, ok("snapshot", "list", "copy.img", "--json").out());
        assertTrue(ok("fsck", "copy.img").out().contains("clean"));
        // Binary output is not written to a terminal; writable subvolumes are not sent.
        ToolProcess.Result toTerminal = ToolProcess.run(ToolProcess.builder(dir, Map.of("COWFS_OUTPUT_TERMINAL",
                "1"), List.of(), "send", "source.img", "s1"));
        assertEquals(2, toTerminal.code(), toTerminal::toString);
        ToolProcess.Result fromTerminal = ToolProcess.run(ToolProcess.builder(dir, Map.of("COWFS_INPUT_TERMINAL",
                "1"), List.of(), "receive", "copy.img"));
        assertEquals(2, fromTerminal.code(), fromTerminal::toString);
        fails(2, "send", "source.img", "default", "-o", "never");
        assertFalse(Files.exists(dir.resolve("never")));
    }

    @Test
    void aChannelAnswersOnlyRootAndTheHoldersOwner() throws Exception {
        ok("mkfs", "data.img");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        try (Server server = new Server("data.img")) {
            // Let another user reach the channel past the file modes, so that the peer-credential check decides.
            Files.setPosixFilePermissions(dir.resolve("data.img.sock"), PosixFilePermissions.fromString("rw-rw-rw-"));
            Files.setPosixFilePermissions(dir.resolve("data.img.lock"), PosixFilePermissions.fromString("rw-rw-rw-"));
            List<String> command = new ArrayList<>(List.of("setpriv", "--reuid=65534", "--regid=65534",
                    "--clear-groups", "--"));
            command.addAll(ToolProcess.builder(dir, Map.of(), List.of(), "ls", "data.img").command());
            ToolProcess.Result other = ToolProcess.run(new ProcessBuilder(command).directory(dir.toFile()));
            assertEquals(Cowfs.ExitCode.READ_ONLY.code, other.code(), other::toString);
            assertTrue(other.err().contains("permission denied") && other.err().contains("data.img")
                    && other.err().contains("user nobody may not"), other::toString);
            assertTrue(server.logged("refused user"), server::log);
            ok("ls", "data.img"); // root may
            assertEquals(0, server.stop(false));
        }
    }

    @Test
    void aKilledHoldersSocketIsStaleAndNothingTrustsIt() throws Exception {
        ok("mkfs", "data.img");
        ok("mkdir", "data.img", "/kept");
        try (Server server = new Server("data.img")) {
            ok("mkdir", "data.img", "/made-through-the-channel");
            server.stop(true);
        }
        assertTrue(Files.exists(dir.resolve("data.img.sock")), "SIGKILL leaves the socket behind");
        assertEquals("kept\nmade-through-the-channel\n", ok("ls", "data.img", "/").out());
        try (Server again = new Server("data.img")) { // replaces the stale socket
            ok("mkdir", "data.img", "/again");
            assertEquals(0, again.stop(false));
        }
        assertTrue(ok("fsck", "data.img").out().contains("clean"));
    }

    @Test
    void badInputsEndWithOneLineAndADistinctExitCodeAndLoseNothing() throws Exception {
        ok("mkfs", "data.img", "--size", "16M");
        Files.writeString(dir.resolve("small.txt"), "committed before the failures");
        ok("put", "data.img", "small.txt", "/small.txt");

        fails(2, "ls", "data.img", "--no-such-option");
        fails(2, "mkfs", "other.img", "--size", "lots");
        fails(2, "ls", dir.toString(), "/");            // a directory given as the image
        fails(3, "ls", "missing.img", "/");
        fails(3, "ls", "data.img", "@nosuch:/");        // a missing snapshot name
        fails(3, "cat", "data.img", "/nosuch");
        fails(4, "mkfs", "data.img");
        fails(3, "put", "data.img", "no-such-host-file", "/x");

        byte[] large = new byte[32 << 20];
        new Random(1).nextBytes(large);                 // incompressible, twice the image's capacity
        Files.write(dir.resolve("large.bin"), large);
        ToolProcess.Result full = fails(6, "put", "data.img", "large.bin", "/large.bin");
        assertTrue(full.err().toLowerCase().contains("space"), full::toString);
        assertTrue(full.err().contains("nothing of this put was kept"), full::toString);
        assertEquals("committed before the failures", ok("cat", "data.img", "/small.txt").out());
        assertEquals("small.txt\n", ok("ls", "data.img", "/").out()); // the failed put removed what it wrote
        assertTrue(ok("fsck", "data.img").out().contains("clean"));

        Path truncated = dir.resolve("truncated.img");
        Files.copy(dir.resolve("data.img"), truncated);
        try (RandomAccessFile file = new RandomAccessFile(truncated.toFile(), "rw")) {
            file.setLength(3000);
        }
        fails(5, "ls", "truncated.img", "/");
        fails(5, "fsck", "truncated.img");

        Path garbage = dir.resolve("garbage.img");
        byte[] noise = new byte[1 << 20];
        new Random(2).nextBytes(noise);
        Files.write(garbage, noise);
        fails(5, "info", "garbage.img");
        assertEquals("committed before the failures", ok("cat", "data.img", "/small.txt").out());
    }

    /** The newest superblock copy in the image file, decoded from the ring as recovery reads it. */
    private static dev.cowfs.engine.superblock.Superblock newestSuperblock(Path image) throws IOException {
        dev.cowfs.engine.superblock.Superblock newest = null;
        try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "r")) {
            for (int slot = 0; slot < dev.cowfs.engine.format.Limits.SUPERBLOCK_RING_SLOTS; slot++) {
                byte[] bytes = new byte[dev.cowfs.engine.format.SuperblockLayout.BYTES];
                file.seek(dev.cowfs.engine.format.Limits.superblockSlotOffset(slot));
                file.readFully(bytes);
                try {
                    var copy = dev.cowfs.engine.superblock.Superblock.decode(bytes, "slot " + slot);
                    if (newest == null || copy.generation() > newest.generation()) {
                        newest = copy;
                    }
                } catch (dev.cowfs.engine.error.CorruptionException empty) {
                    // an unused slot
                }
            }
        }
        return newest;
    }

    private static void flipByte(Path image, long offset) throws IOException {
        try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "rw")) {
            file.seek(offset);
            int value = file.read();
            file.seek(offset);
            file.write(value ^ 0x5A);
        }
    }

    /**
     * A truncated image, and one whose newest generation does not verify, are refused for writing before
     * anything is written (exit 5, one line saying what to do); reading falls back with a warning; fsck and scrub
     * report the lost generation; rollback accepts the older generation explicitly.
     */
    @Test
    void damagedImagesAreRefusedForWritingAndTheirLossIsReported() throws Exception {
        Files.createDirectories(dir.resolve("tree/sub"));
        for (int i = 0; i < 20; i++) {
            byte[] bytes = new byte[200_000];
            new Random(i).nextBytes(bytes);
            Files.write(dir.resolve("tree/sub/f" + i), bytes);
        }
        ok("mkfs", "cut.img");
        ok("put", "cut.img", "tree", "/tree");
        long uses = newestSuperblock(dir.resolve("cut.img")).highWaterBlock() * 4096;
        try (RandomAccessFile file = new RandomAccessFile(dir.resolve("cut.img").toFile(), "rw")) {
            file.setLength(uses - 100_000);
        }
        byte[] cut = Files.readAllBytes(dir.resolve("cut.img"));
        Files.createDirectories(dir.resolve("mnt"));
        for (String[] writing : List.of(new String[] {"mkdir", "cut.img", "/x"},
                new String[] {"put", "cut.img", "tree/sub/f1", "/f1"},
                new String[] {"snapshot", "create", "cut.img", "default", "s"},
                new String[] {"fsck", "--repair", "cut.img"}, new String[] {"mount", "cut.img", "mnt"})) {
            ToolProcess.Result refused = fails(5, writing);
            assertTrue(refused.err().contains("cut.img: image is truncated"), refused::toString);
            assertArrayEquals(cut, Files.readAllBytes(dir.resolve("cut.img")), "written by " + writing[0]);
        }
        fails(5, "ls", "cut.img", "/");

        ok("mkfs", "older.img");
        ok("put", "older.img", "tree", "/tree");
        ok("mkdir", "older.img", "/newest");
        var newest = newestSuperblock(dir.resolve("older.img"));
        flipByte(dir.resolve("older.img"), newest.catalogRoot().blockIndex() * 4096 + 100);
        byte[] damaged = Files.readAllBytes(dir.resolve("older.img"));
        ToolProcess.Result refused = fails(5, "mkdir", "older.img", "/x");
        assertTrue(refused.err().contains("generation, " + newest.generation() + ", does not verify")
                && refused.err().contains("cowfs rollback older.img " + (newest.generation() - 1)), refused::toString);
        assertArrayEquals(damaged, Files.readAllBytes(dir.resolve("older.img")), "a refused write wrote");
        ToolProcess.Result read = ok("ls", "older.img", "/");
        assertEquals("tree\n", read.out()); // generation N-1, before /newest
        assertTrue(read.err().contains("opened generation " + (newest.generation() - 1)), read::toString);
        ToolProcess.Result fsck = cowfs("fsck", "older.img", "--json");
        assertEquals(5, fsck.code(), fsck::toString);
        assertEquals(false, Json.object(fsck.out()).get("clean"), fsck::toString);
        ok("rollback", "older.img", Long.toString(newest.generation() - 1));
        ok("mkdir", "older.img", "/after");
        assertEquals("tree\nafter\n", ok("ls", "older.img", "/").out());
        assertTrue(ok("fsck", "older.img").out().contains("clean"));

        ok("mkfs", "slot.img");
        ok("put", "slot.img", "tree", "/tree");
        var last = newestSuperblock(dir.resolve("slot.img"));
        flipByte(dir.resolve("slot.img"), dev.cowfs.engine.format.Limits.superblockSlotOffset(last.ringSlot()) + 300);
        ToolProcess.Result slotFsck = cowfs("fsck", "slot.img", "--json");
        assertEquals(5, slotFsck.code(), slotFsck::toString);
        assertTrue(slotFsck.out().contains("generation " + last.generation() + " is lost"), slotFsck::toString);
        ToolProcess.Result scrub = cowfs("scrub", "slot.img");
        assertEquals(5, scrub.code(), scrub::toString);
        assertTrue(scrub.out().contains("generation " + last.generation() + " is lost"), scrub::toString);
    }

    /**
     * put and get copy what files are: holes stay holes both ways (a 5 GiB sparse file takes almost nothing),
     * fifos and device nodes become inodes of their kind and come back as such, sockets are skipped with a
     * warning, set-id and sticky bits are kept. And images are their owner's alone unless asked otherwise.
     */
    @Test
    void putAndGetKeepHolesSpecialFilesAndFullModes() throws Exception {
        Path tree = Files.createDirectories(dir.resolve("special"));
        try (RandomAccessFile sparse = new RandomAccessFile(tree.resolve("sparse").toFile(), "rw")) {
            sparse.seek(1L << 30);
            sparse.write("in the middle".getBytes());
            sparse.setLength(5L << 30);
        }
        ToolProcess.Result made = ToolProcess.run(new ProcessBuilder("bash", "-c", """
                mkfifo fifo && mknod zero c 1 5 && touch setgid && chmod 2755 setgid && mkdir sticky && chmod 1777 sticky
                python3 -c 'import socket; s = socket.socket(socket.AF_UNIX); s.bind("sock")'
                """).directory(tree.toFile()));
        assertEquals(0, made.code(), made::toString);
        ok("mkfs", "data.img");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("data.img"))));
        ToolProcess.Result put = ok("put", "data.img", "special", "/special");
        assertTrue(put.err().contains("skipped") && put.err().contains("sock"), put::toString);
        long allocated = Long.parseLong(ToolProcess.run(new ProcessBuilder("stat", "-c", "%b", "data.img")
                .directory(dir.toFile())).out().trim()) * 512;
        assertTrue(allocated < 64L << 20, "the image holds " + allocated + " bytes for a 5 GiB sparse file");
        String listing = ok("ls", "-l", "data.img", "/special").out();
        assertTrue(listing.contains("prw") && listing.contains("crw") && listing.contains("rwxr-sr-x")
                && listing.contains("rwxrwxrwt") && !listing.contains("sock"), listing);
        ok("get", "data.img", "/special", "back");
        Path back = dir.resolve("back");
        assertEquals(5L << 30, Files.size(back.resolve("sparse")));
        ToolProcess.Result kinds = ToolProcess.run(new ProcessBuilder("bash", "-c",
                "stat -c '%n %F %a %t:%T %b' fifo zero setgid sticky sparse | sort; "
                        + "dd if=sparse bs=1 skip=$((1 << 30)) count=13 status=none").directory(back.toFile()));
        assertEquals(0, kinds.code(), kinds::toString);
        List<String> lines = kinds.out().lines().toList();
        assertEquals("fifo fifo 644 0:0 0", lines.get(0), kinds::toString);
        assertTrue(lines.get(1).startsWith("setgid regular empty file 2755"), kinds::toString);
        assertTrue(lines.get(2).startsWith("sparse regular file 644") && Long.parseLong(lines.get(2)
                .substring(lines.get(2).lastIndexOf(' ') + 1)) < 1024, "holes filled on the way out: " + kinds);
        assertTrue(lines.get(3).startsWith("sticky directory 1777"), kinds::toString);
        assertTrue(lines.get(4).startsWith("zero character special file 644 1:5"), kinds::toString);
        assertEquals("in the middle", lines.get(5), kinds::toString);
        assertFalse(Files.exists(back.resolve("sock"), java.nio.file.LinkOption.NOFOLLOW_LINKS));
    }

    @Test
    void jsonOutputsHaveTheDocumentedShapes() throws Exception {
        ok("mkfs", "data.img");
        Files.writeString(dir.resolve("a.txt"), "alpha");
        ok("put", "data.img", "a.txt", "/a.txt");
        ok("snapshot", "create", "data.img", "default", "s1");
        ok("mkdir", "data.img", "/new");
        assertTrue(Json.object(ok("info", "data.img", "--json").out()).keySet().containsAll(List.of("image",
                "image_bytes", "block_size", "total_blocks", "used_blocks", "free_blocks", "available_blocks", "grows",
                "generation", "files",
                "subvolumes", "snapshots", "open_readers", "reader_pinned_blocks", "pending_blocks")));
        List<?> entries = (List<?>) Json.parse(ok("ls", "data.img", "/", "--json").out());
        assertEquals(List.of("name", "mode", "links", "size", "ino"),
                new ArrayList<>(((Map<?, ?>) entries.get(0)).keySet()));
        assertEquals(List.of("path", "ino", "mode", "links", "size", "uid", "gid", "modified"),
                new ArrayList<>(Json.object(ok("stat", "data.img", "/a.txt", "--json").out()).keySet()));
        Map<String, Object> du = Json.object(ok("du", "data.img", "--json").out());
        assertTrue(du.keySet().containsAll(List.of("items", "pending_bytes", "ring_bytes", "reader_bytes",
                "releasing")), du::toString);
        List<?> snapshots = (List<?>) Json.parse(ok("snapshot", "list", "data.img", "--json").out());
        assertEquals(List.of("id", "name", "parent", "created_ms", "read_only", "snapshot", "referenced_bytes",
                "exclusive_bytes"), new ArrayList<>(((Map<?, ?>) snapshots.get(0)).keySet()));
        assertEquals(List.of(Map.of("id", 0L, "name", "default")),
                Json.parse(ok("subvolume", "list", "data.img", "--json").out()));
        assertEquals(List.of(Map.of("change", "modified", "path", "/"), Map.of("change", "added", "path", "/new")),
                Json.parse(ok("snapshot", "diff", "data.img", "s1", "default", "--json").out()));
        assertTrue(Json.object(ok("fsck", "data.img", "--json").out()).keySet().containsAll(List.of("clean",
                "generation", "reachable_blocks", "free_blocks", "pending_blocks", "problems")));
    }

    @Test
    void progressBarsAppearOnlyWhenStandardErrorIsATerminal() throws Exception {
        ok("mkfs", "data.img");
        byte[] data = new byte[8 << 20];
        new Random(3).nextBytes(data);
        Files.write(dir.resolve("data.bin"), data);
        List<String> immediately = List.of("-Dcowfs.progress.delay.millis=0");
        ToolProcess.Result quiet = ToolProcess.run(ToolProcess.builder(dir, Map.of(), immediately,
                "put", "data.img", "data.bin", "/quiet.bin"));
        assertEquals(0, quiet.code(), quiet::toString);
        assertEquals("", quiet.err(), "no bar when standard error is not a terminal");
        ToolProcess.Result shown = ToolProcess.run(ToolProcess.builder(dir,
                Map.of("COWFS_TERMINAL_COLUMNS", "100"), immediately, "put", "data.img", "data.bin", "/shown.bin"));
        assertEquals(0, shown.code(), shown::toString);
        assertTrue(shown.err().contains("put") && shown.err().contains("%") && shown.err().contains("\r"),
                shown::toString);
        ToolProcess.Result fsck = ToolProcess.run(ToolProcess.builder(dir,
                Map.of("COWFS_TERMINAL_COLUMNS", "100"), immediately, "fsck", "data.img"));
        assertEquals(0, fsck.code(), fsck::toString);
        assertTrue(fsck.err().contains("fsck"), fsck::toString);
    }

    @Test
    void crashtestKillsRealProcessesAndFuzzesRealImagesWithoutAViolation() {
        ToolProcess.Result run = ok("crashtest", "--count", "12", "--kill", "3", "--fuzz", "40", "--json");
        Map<String, Object> report = Json.object(run.out());
        assertEquals(0L, report.get("violations"), run::toString);
        assertEquals(12L, report.get("workloads"));
        assertEquals(3L, report.get("kills"));
        Map<?, ?> fuzz = (Map<?, ?>) report.get("fuzz");
        assertEquals(40L, fuzz.get("cases"));
        assertEquals(List.of(), fuzz.get("violations"));
        assertTrue((Long) fuzz.get("clean_errors") > 0 && (Long) fuzz.get("correct") > 0, fuzz::toString);
    }

    @Test
    void theDemoWalksThroughCopyOnWriteAndEndsWithTheMountCommand() {
        ToolProcess.Result demo = ok("demo", "--image", "demo.img");
        assertTrue(demo.out().contains("snapshot") && demo.out().contains("cowfs mount demo.img"), demo::toString);
        assertEquals("", demo.err());
        assertTrue(ok("fsck", "demo.img").out().contains("clean"));
    }

    @Test
    void theLauncherOnJava25PrintsNoJdkWarnings() throws Exception {
        Path java25 = Path.of("/usr/lib/jvm/temurin-25-jdk-amd64");
        Assumptions.assumeTrue(Files.isDirectory(java25), "no JDK 25 at " + java25 + " on this machine");
        ok("mkfs", "data.img");
        ProcessBuilder launcher = new ProcessBuilder(ToolProcess.ROOT.resolve("cowfs").toString(), "info",
                "data.img").directory(dir.toFile());
        launcher.environment().put("JAVA_HOME", java25.toString());
        launcher.environment().put("COWFS_JAR", ToolProcess.JAR.toString()); // the jar this build made, as it is
        ToolProcess.Result info = ToolProcess.run(launcher);
        assertEquals(0, info.code(), info::toString);
        assertEquals("", info.err(), "warnings reached the terminal");
        assertTrue(info.out().contains("generation"), info::toString);
    }
}
