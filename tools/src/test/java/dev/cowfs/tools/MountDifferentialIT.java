package dev.cowfs.tools;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The mount (cowfs's own FUSE server) against tmpfs: seeded random operation sequences (create, write, truncate,
 * fallocate in every mode, link, rename with its flags, unlink, mapped writes, copy_file_range, xattrs, fsync,
 * files held open across steps, unlinked ones too) run on both side by side, every byte and attribute compared
 * after each step, the kernel's caches dropped now and then so that answers come from the server
 * ({@code mount-differential.py} says exactly what). Then the image is unmounted, checked and mounted again, and
 * must still equal the reference. Bounded in steps and time; {@code -Dcowfs.diff.seeds=1,2,3} and
 * {@code -Dcowfs.diff.steps=N} run longer. Needs root (the reference is a tmpfs mounted here) and FUSE.
 */
class MountDifferentialIT {
    private static final String SEEDS = System.getProperty("cowfs.diff.seeds", "24,2024");
    private static final String STEPS = System.getProperty("cowfs.diff.steps", "1500");
    private static final String SECONDS = System.getProperty("cowfs.diff.seconds", "60");

    private static Path dir;
    private static Path image;
    private static Path mnt;
    private static Path reference;
    private static boolean referenceMounted;
    private static boolean mounted;

    @BeforeAll
    static void mount() throws IOException {
        ToolProcess.requireJar();
        FuseMountIT.requireFuse();
        dir = Files.createTempDirectory("cowfs-diff-it");
        image = dir.resolve("data.img");
        mnt = Files.createDirectory(dir.resolve("mnt"));
        reference = Files.createDirectory(dir.resolve("tmpfs"));
        ToolProcess.Result tmpfs = ToolProcess.run(new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=512m",
                "cowfs-diff-reference", reference.toString()));
        assertEquals(0, tmpfs.code(), "mounting the tmpfs reference (needs root): " + tmpfs);
        referenceMounted = true;
        ok("mkfs", image.toString(), "--size", "2G");
        ok("mount", image.toString(), mnt.toString(), "-o", "backend=kernel");
        mounted = true;
    }

    @AfterAll
    static void unmount() {
        if (mounted) {
            ToolProcess.run(dir, "umount", mnt.toString());
        }
        if (referenceMounted) {
            ToolProcess.run(new ProcessBuilder("umount", reference.toString()));
        }
    }

    private static ToolProcess.Result ok(String... args) {
        ToolProcess.Result result = ToolProcess.run(dir, args);
        assertEquals(0, result.code(), "cowfs " + String.join(" ", args) + ": " + result);
        return result;
    }

    private static String differential(String seed, String steps) throws IOException {
        Path script;
        try {
            script = Path.of(MountDifferentialIT.class.getResource("/mount-differential.py").toURI());
        } catch (URISyntaxException e) {
            throw new IOException(e);
        }
        List<String> command = new ArrayList<>(List.of("python3", script.toString(), seed, steps, SECONDS,
                mnt.toString(), reference.toString()));
        ToolProcess.Result result = ToolProcess.run(new ProcessBuilder(command).directory(dir.toFile()));
        System.out.println("mount-differential: " + result.out().strip());
        assertEquals(0, result.code(), "the mount and tmpfs differ:\n" + result.out() + result.err());
        return result.out();
    }

    private static void clear(Path root) throws IOException {
        try (var walk = Files.walk(root)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                if (!p.equals(root)) {
                    Files.delete(p);
                }
            }
        }
    }

    @Test
    void randomOperationSequencesLeaveTheMountEqualToTmpfs() throws IOException {
        String[] seeds = SEEDS.split(",");
        for (int i = 0; i < seeds.length; i++) {
            String out = differential(seeds[i].strip(), STEPS);
            assertTrue(out.contains("all equal"), out);
            if (i < seeds.length - 1) {
                clear(mnt);
                clear(reference);
            }
        }
        // What was committed is what the reference holds: unmount, check, mount again, compare once more.
        ok("umount", mnt.toString());
        mounted = false;
        ToolProcess.Result fsck = ToolProcess.run(dir, "fsck", image.toString());
        assertEquals(0, fsck.code(), fsck.toString());
        ok("mount", image.toString(), mnt.toString(), "-o", "backend=kernel");
        mounted = true;
        String out = differential("0", "0");
        assertTrue(out.startsWith("0 steps"), out);
    }
}
