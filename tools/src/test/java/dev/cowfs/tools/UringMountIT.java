package dev.cowfs.tools;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The kernel server with {@code -o uring}: requests come through one io_uring queue per CPU instead of the
 * device. The fuse module's {@code enable_uring} is turned on for the test and put back after. The seeded
 * differential sequences run against tmpfs over the rings, then a large file (1 MiB requests both ways); at
 * unmount the log must show the requests were answered on the rings, and the image must check clean. Skipped
 * (saying so) only on a kernel whose fuse module has no io_uring support at all.
 */
class UringMountIT {
    private static final Path ENABLE = Path.of("/sys/module/fuse/parameters/enable_uring");
    private static Path dir;
    private static Path image;
    private static Path mnt;
    private static Path reference;
    private static String enabledBefore;
    private static boolean mounted;
    private static boolean referenceMounted;

    @BeforeAll
    static void mount() throws IOException {
        ToolProcess.requireJar();
        FuseMountIT.requireFuse();
        if (!Files.exists(ENABLE)) {
            System.out.println("UringMountIT skipped: this kernel's fuse module has no io_uring support (no " + ENABLE
                    + ")");
            Assumptions.abort("no FUSE io_uring in this kernel");
        }
        enabledBefore = Files.readString(ENABLE).trim();
        dir = Files.createTempDirectory("cowfs-uring-it");
        image = dir.resolve("data.img");
        mnt = Files.createDirectory(dir.resolve("mnt"));
        ok("mkfs", image.toString(), "--size", "2G");
        // switched off, the option is refused with the way to switch it on, and nothing is mounted
        Files.writeString(ENABLE, "N");
        ToolProcess.Result refused = ToolProcess.run(dir, "mount", image.toString(), mnt.toString(), "-o", "uring");
        assertTrue(refused.code() != 0 && refused.err().contains("echo Y > " + ENABLE), refused.toString());
        assertTrue(!Files.readString(Path.of("/proc/mounts")).contains(mnt.toString()), "nothing mounted");
        Files.writeString(ENABLE, "Y");
        reference = Files.createDirectory(dir.resolve("tmpfs"));
        ToolProcess.Result tmpfs = ToolProcess.run(new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=512m",
                "cowfs-uring-reference", reference.toString()));
        assertEquals(0, tmpfs.code(), "mounting the tmpfs reference (needs root): " + tmpfs);
        referenceMounted = true;
        ok("mount", image.toString(), mnt.toString(), "-o", "backend=kernel,uring");
        mounted = true;
    }

    @AfterAll
    static void unmount() throws IOException {
        try {
            if (mounted) {
                ToolProcess.run(dir, "umount", mnt.toString());
            }
            if (referenceMounted) {
                ToolProcess.run(new ProcessBuilder("umount", reference.toString()));
            }
        } finally {
            if (enabledBefore != null) {
                Files.writeString(ENABLE, enabledBefore);
            }
        }
    }

    private static ToolProcess.Result ok(String... args) {
        ToolProcess.Result result = ToolProcess.run(dir, args);
        assertEquals(0, result.code(), "cowfs " + String.join(" ", args) + ": " + result);
        return result;
    }

    @Test
    void theRingsAnswerLikeTheDevice() throws IOException, URISyntaxException {
        Path script = Path.of(UringMountIT.class.getResource("/mount-differential.py").toURI());
        ToolProcess.Result diff = ToolProcess.run(new ProcessBuilder("python3", script.toString(), "7", "1000", "60",
                mnt.toString(), reference.toString()).directory(dir.toFile()));
        System.out.println("mount-differential over io_uring: " + diff.out().strip());
        assertEquals(0, diff.code(), "the mount and tmpfs differ:\n" + diff.out() + diff.err());
        assertTrue(diff.out().contains("all equal"), diff.out());

        ProcessBuilder big = new ProcessBuilder("python3", "-c", """
                import os, hashlib
                data = os.urandom(48 << 20)
                with open('big', 'wb') as f: f.write(data)
                os.sync()
                with open('/proc/sys/vm/drop_caches', 'w') as f: f.write('3')
                print(hashlib.sha256(open('big', 'rb').read()).digest() == hashlib.sha256(data).digest())
                """).directory(mnt.toFile());
        ToolProcess.Result read = ToolProcess.run(big);
        assertEquals("True", read.out().strip(), read.toString());

        ok("umount", mnt.toString());
        mounted = false;
        String log = Files.readString(dir.resolve("data.img.mount.log"));
        Matcher answered = Pattern.compile("FUSE io_uring: (\\d+) requests answered on (\\d+) queues").matcher(log);
        assertTrue(answered.find(), log);
        assertTrue(Long.parseLong(answered.group(1)) > 1000, log); // the sequences' requests came through the rings
        assertTrue(!log.contains("stopped"), log);
        ToolProcess.Result fsck = ToolProcess.run(dir, "fsck", image.toString());
        assertEquals(0, fsck.code(), fsck.toString());
    }
}
