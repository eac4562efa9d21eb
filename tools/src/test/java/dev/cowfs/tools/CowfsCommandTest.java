package dev.cowfs.tools;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.channels.FileChannel;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The cowfs command line end to end on real image files: outputs, one-line errors and exit codes. */
class CowfsCommandTest {
    @TempDir
    Path dir;

    record Result(int code, String out, String err) {
    }

    static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Cowfs.execute(new Invocation(java.io.InputStream.nullInputStream(), out, err, Path.of(""), 0, false,
                Images.LOCAL), args);
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static String cat(String image, String path) {
        Result result = run("cat", image, path);
        assertEquals(0, result.code(), result.err());
        return result.out();
    }

    @Test
    void olderGenerationsAreListedAndReadAsTheyWereCommitted() throws Exception {
        String image = dir.resolve("gen.img").toString();
        assertEquals(0, run("mkfs", image).code());
        for (int i = 0; i < 5; i++) { // each command commits: the file removed, then put back newer
            if (i > 0) {
                assertEquals(0, run("rm", image, "/v.txt").code());
            }
            Files.writeString(dir.resolve("v.txt"), "version " + i);
            Result put = run("put", image, dir.resolve("v.txt").toString(), "/v.txt");
            assertEquals(0, put.code(), put.err());
        }
        Result listed = run("info", image, "--generations", "--json");
        assertEquals(0, listed.code(), listed.err());
        java.util.List<?> generations = (java.util.List<?>) Json.parse(listed.out());
        assertEquals(4, generations.size(), listed.out());
        java.util.Map<?, ?> newest = (java.util.Map<?, ?>) generations.get(0);
        assertEquals(Boolean.TRUE, newest.get("current"));
        long newestGeneration = ((Number) newest.get("generation")).longValue();
        assertEquals("version 4", cat(image, "/v.txt"));
        Result older = run("cat", image, "/v.txt", "--generation", Long.toString(newestGeneration - 2));
        assertEquals(0, older.code(), older.err());
        assertEquals("version 3", older.out());
        assertEquals("", run("ls", image, "/", "--generation", Long.toString(newestGeneration - 1)).out());
        assertTrue(older.err().contains("opened generation " + (newestGeneration - 2) + " on request"), older.err());
        Result gone = run("ls", image, "/", "--generation", "1");
        assertEquals(3, gone.code(), gone.out() + gone.err());
        assertTrue(gone.err().startsWith("cowfs: ls: generation 1 is not retained"), gone.err());
        assertEquals("version 4", cat(image, "/v.txt")); // reading an older one changed nothing

        // Rolling the whole image back: the older generation becomes the newest, as a commit of its own.
        Result rolled = run("rollback", image, Long.toString(newestGeneration - 2));
        assertEquals(0, rolled.code(), rolled.err());
        assertTrue(rolled.out().contains("now generation " + (newestGeneration + 1)), rolled.out());
        assertEquals("version 3", cat(image, "/v.txt"));
        assertEquals("version 4", run("cat", image, "/v.txt", "--generation",
                Long.toString(newestGeneration)).out(), "the newer generation stays readable for a while");
        Result fsck = run("fsck", image);
        assertEquals(0, fsck.code(), fsck.out() + fsck.err());
        assertEquals(2, run("rollback", image, Long.toString(newestGeneration + 1)).code(), "the newest itself");
        assertEquals(3, run("rollback", image, "1").code());
    }

    @Test
    void compactMovesTheTailDownAndCutsTheImageFile() throws Exception {
        String image = dir.resolve("compact.img").toString();
        assertEquals(0, run("mkfs", image).code());
        Result small = run("compact", image);
        assertEquals(0, small.code(), small.err());
        assertTrue(small.out().contains("not shortened") && small.out().contains("as short as"), small.out());
        byte[] big = new byte[150 << 20];
        new java.util.Random(1).nextBytes(big);
        Files.write(dir.resolve("big.bin"), big);
        byte[] tail = java.util.Arrays.copyOf(big, 3_000_000);
        Files.write(dir.resolve("tail.bin"), tail);
        assertEquals(0, run("put", image, dir.resolve("big.bin").toString(), "/big.bin").code());
        assertEquals(0, run("put", image, dir.resolve("tail.bin").toString(), "/tail.bin").code());
        assertEquals(0, run("snapshot", "create", image, "default", "kept").code());
        assertEquals(0, run("rm", image, "/big.bin").code());
        Files.delete(dir.resolve("big.bin"));
        assertEquals(0, run("snapshot", "delete", image, "kept").code());
        long before = Files.size(Path.of(image));
        Result compacted = run("compact", image, "--json");
        assertEquals(0, compacted.code(), compacted.err());
        java.util.Map<String, Object> report = Json.object(compacted.out());
        assertEquals(before, report.get("bytes_before"), compacted.out());
        long after = (Long) report.get("bytes_after");
        assertEquals(after, Files.size(Path.of(image)));
        assertEquals(128L << 20, after, "cut to whole chunks past the far superblock copy: " + compacted.out());
        assertTrue((Long) report.get("extent_bytes_moved") >= tail.length, compacted.out());
        assertEquals(null, report.get("limited_by"), compacted.out());
        Result fsck = run("fsck", image);
        assertEquals(0, fsck.code(), fsck.out() + fsck.err());
        Result got = run("get", image, "/tail.bin", dir.resolve("tail-back.bin").toString());
        assertEquals(0, got.code(), got.err());
        assertTrue(java.util.Arrays.equals(tail, Files.readAllBytes(dir.resolve("tail-back.bin"))));
    }

    @Test
    void makePutListReadSnapshotDiffAndCheck() throws Exception {
        String image = dir.resolve("data.img").toString();
        Path host = Files.createDirectories(dir.resolve("host/docs"));
        Files.writeString(host.resolve("a.txt"), "alpha");
        Files.writeString(host.resolve("b.txt"), "beta");
        Files.createDirectories(host.resolve("sub"));
        Files.writeString(host.resolve("sub/c.txt"), "gamma");

        Result made = run("mkfs", image, "--size", "64M");
        assertEquals(0, made.code(), made.err());
        assertTrue(made.out().contains("64 MiB"), made.out());
        assertEquals(0, run("put", image, host.toString(), "/").code());
        assertEquals("a.txt\nb.txt\nsub\n", run("ls", image, "/docs").out());
        assertEquals("gamma", cat(image, "/docs/sub/c.txt"));

        Result snapshot = run("snapshot", "create", image, "default", "monday");
        assertEquals(0, snapshot.code(), snapshot.err());
        Files.writeString(dir.resolve("new.txt"), "new");
        assertEquals(0, run("put", image, dir.resolve("new.txt").toString(), "/docs/").code());
        assertEquals(0, run("mkdir", "-p", image, "/x/y/z").code());

        Result diff = run("snapshot", "diff", image, "monday", "default");
        assertEquals(0, diff.code(), diff.err());
        assertTrue(diff.out().contains("+ /docs/new.txt") && diff.out().contains("+ /x"), diff.out());
        assertEquals("alpha", cat(image, "@monday:/docs/a.txt"));
        assertEquals("a.txt\nb.txt\nsub\n", run("ls", image, "@monday:/docs").out());

        Result list = run("snapshot", "list", image, "--json");
        assertTrue(list.out().contains("\"name\":\"monday\"") && list.out().contains("\"read_only\":true"),
                list.out());
        Result info = run("info", image, "--json");
        assertTrue(info.out().contains("\"snapshots\":1"), info.out());
        Result fsck = run("fsck", image);
        assertEquals(0, fsck.code(), fsck.out() + fsck.err());
        assertTrue(fsck.out().contains("clean"), fsck.out());

        assertEquals(0, run("snapshot", "delete", image, "monday").code());
        assertFalse(run("snapshot", "list", image).out().contains("monday"));
    }

    @Test
    void everyFailureIsOneLineWithItsOwnExitCode() throws Exception {
        String image = dir.resolve("data.img").toString();
        assertEquals(0, run("mkfs", image).code());

        Result again = run("mkfs", image);
        assertEquals(Cowfs.ExitCode.EXISTS.code, again.code());
        assertOneLine(again.err());

        Result missing = run("ls", image, "/nothing/here");
        assertEquals(Cowfs.ExitCode.NOT_FOUND.code, missing.code());
        assertOneLine(missing.err());
        assertTrue(missing.err().startsWith("cowfs: ls: "), missing.err());

        Result noImage = run("info", dir.resolve("absent.img").toString());
        assertEquals(Cowfs.ExitCode.NOT_FOUND.code, noImage.code());
        assertOneLine(noImage.err());

        Result badSize = run("mkfs", dir.resolve("other.img").toString(), "--size", "lots");
        assertEquals(Cowfs.ExitCode.USAGE.code, badSize.code());
        assertOneLine(badSize.err());

        Result unknownSnapshot = run("snapshot", "create", image, "nosuch", "x");
        assertEquals(Cowfs.ExitCode.NOT_FOUND.code, unknownSnapshot.code());

        Result readOnly = run("snapshot", "create", image, "default", "ro");
        assertEquals(0, readOnly.code());
        Result write = run("mkdir", image, "@ro:/new");
        assertEquals(Cowfs.ExitCode.READ_ONLY.code, write.code(), write.err());
        assertOneLine(write.err());

        assertEquals(Cowfs.ExitCode.USAGE.code, run("ls").code(), "a missing parameter is a usage error");
    }

    @Test
    void fsckReportsDamageWithExitCodeFive() throws Exception {
        Path image = dir.resolve("data.img");
        assertEquals(0, run("mkfs", image.toString()).code());
        Files.writeString(dir.resolve("f.txt"), "x".repeat(100_000));
        assertEquals(0, run("put", image.toString(), dir.resolve("f.txt").toString(), "/f.txt").code());
        // Flip bytes in the middle of the file's data: the checker verifies every block's checksum.
        long size = Files.size(image);
        try (FileChannel channel = FileChannel.open(image, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            for (long at = 65_536 + 4096; at < Math.min(size, 65_536 + 40 * 4096); at += 4096) {
                channel.write(ByteBuffer.wrap(new byte[] {(byte) 0x5A, (byte) 0xA5}), at + 100);
            }
        }
        Result fsck = run("fsck", image.toString());
        assertEquals(Cowfs.ExitCode.DAMAGED.code, fsck.code(), fsck.out() + fsck.err());
    }

    @Test
    void filesRoundTripAndChangeInPlace() throws Exception {
        String image = dir.resolve("data.img").toString();
        Path host = Files.createDirectories(dir.resolve("host/tree"));
        Files.writeString(host.resolve("a.txt"), "alpha");
        Files.createDirectories(host.resolve("sub"));
        Files.write(host.resolve("sub/big.bin"), new byte[3 << 20]);
        Files.setPosixFilePermissions(host.resolve("a.txt"), java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        Files.createSymbolicLink(host.resolve("link"), Path.of("a.txt"));
        Files.createLink(host.resolve("sub/hard-a.txt"), host.resolve("a.txt"));
        assertEquals(0, run("mkfs", image).code());
        assertEquals(0, run("put", image, host.toString(), "/").code());

        Path out = Files.createDirectories(dir.resolve("out"));
        Result get = run("get", image, "/tree", out.toString());
        assertEquals(0, get.code(), get.err());
        assertEquals("alpha", Files.readString(out.resolve("tree/a.txt")));
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(out.resolve("tree/a.txt"))));
        assertEquals(3 << 20, Files.size(out.resolve("tree/sub/big.bin")));
        assertEquals(Path.of("a.txt"), Files.readSymbolicLink(out.resolve("tree/link")));
        assertTrue(Files.isSameFile(out.resolve("tree/a.txt"), out.resolve("tree/sub/hard-a.txt")),
                "a hard link stays a hard link, into the image and back out");
        assertTrue(run("stat", image, "/tree/sub/hard-a.txt").out().contains("2 link(s)"));
        assertEquals(Files.getLastModifiedTime(host.resolve("a.txt")).toMillis(),
                Files.getLastModifiedTime(out.resolve("tree/a.txt")).toMillis());

        assertEquals(0, run("ln", image, "/tree/a.txt", "/hard").code());
        assertEquals(0, run("ln", "-s", image, "tree/a.txt", "/soft").code());
        assertTrue(run("stat", image, "/hard").out().contains("3 link(s)"), run("stat", image, "/hard").out());
        assertEquals("alpha", cat(image, "/soft"));
        assertEquals(0, run("mv", image, "/tree/sub", "/moved").code());
        assertEquals("alpha", cat(image, "/hard"));

        Result clone = run("clone", image, "/moved", "/moved-clone");
        assertEquals(0, clone.code(), clone.err());
        Result du = run("du", image, "/moved/big.bin", "--json");
        assertTrue(du.out().contains("\"exclusive_bytes\":0"), "the clone shares all data: " + du.out());
        assertEquals(Cowfs.ExitCode.USAGE.code, run("rm", image, "/moved").code(), "a directory needs -r");
        assertEquals(0, run("rm", "-r", image, "/moved").code());
        Result duAfter = run("du", image, "/moved-clone/big.bin", "--json");
        assertTrue(duAfter.out().contains("\"exclusive_bytes\":" + (3 << 20)), duAfter.out());

        assertEquals(0, run("subvolume", "create", image, "home").code());
        assertEquals("0    default\n1    home\n", run("subvolume", "list", image).out());
        assertEquals(0, run("mkdir", image, "@home:/user").code());
        Result explain = run("du", image, "--explain");
        assertTrue(explain.out().contains("@home") && explain.out().contains("freed, not reusable yet"),
                explain.out());
        assertEquals(0, run("fsck", image).code());
    }

    @Test
    void theDemoWalksThroughAndLeavesACleanImage() throws Exception {
        String image = dir.resolve("demo.img").toString();
        Result demo = run("demo", "--image", image);
        assertEquals(0, demo.code(), demo.err());
        assertTrue(demo.out().contains("@monday: Monday") && demo.out().contains("live:    Tuesday"), demo.out());
        assertTrue(demo.out().contains("M /docs/notes.txt") && demo.out().contains("+ /big-clone.bin"), demo.out());
        assertTrue(demo.out().contains("clean."), demo.out());
        assertEquals(Cowfs.ExitCode.EXISTS.code, run("demo", "--image", image).code(), "a second run asks first");
        assertEquals(0, run("demo", "--image", image, "--replace").code());
        Result scrub = run("scrub", image);
        assertEquals(0, scrub.code(), scrub.out());
        assertTrue(scrub.out().contains("no errors"), scrub.out());
    }

    @Test
    void everyCommandHasHelpAndTheCompletionScriptKnowsThem() {
        Result completion = run("completion");
        assertEquals(0, completion.code());
        for (String command : new String[] {"mkfs", "info", "ls", "stat", "cat", "mkdir", "rm", "mv", "ln", "put",
                "get", "clone", "du", "subvolume", "snapshot", "fsck", "scrub", "demo"}) {
            assertTrue(completion.out().contains(command), "completion lacks " + command);
            Result help = run(command, "--help");
            assertEquals(0, help.code(), command);
            assertTrue(help.out().startsWith("Usage: cowfs " + command), help.out());
        }
    }

    private static void assertOneLine(String err) {
        assertTrue(!err.isBlank() && err.strip().lines().count() == 1, "expected one line, got: " + err);
    }
}
