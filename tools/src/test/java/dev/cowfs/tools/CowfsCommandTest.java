package dev.cowfs.tools;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.channels.FileChannel;
import java.nio.ByteBuffer;
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
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Cowfs.execute(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Result(code, out.toString(), err.toString());
    }

    static String cat(String image, String path) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Commands.Cat.output = bytes;
        try {
            Result result = run("cat", image, path);
            assertEquals(0, result.code(), result.err());
        } finally {
            Commands.Cat.output = System.out;
        }
        return bytes.toString();
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

    private static void assertOneLine(String err) {
        assertTrue(!err.isBlank() && err.strip().lines().count() == 1, "expected one line, got: " + err);
    }
}
