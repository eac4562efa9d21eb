package dev.cowfs.tools;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A user other than root mounts with the kernel backend, through fusermount3: mkfs makes the image's root
 * directory that user's, the mount is that user's (type fuse.cowfs, user_id in the mount table), hard links are one
 * inode and cp shares data as on root's mount, nobody else (root included) gets in without allow_other, and the
 * user unmounts. The user is 65534 (nobody), switched to with setpriv. /dev/fuse is made readable and writable by
 * all for the test, as Debian's device rules make it, when this machine has it root's alone; its mode is put back.
 */
class NonRootMountIT {
    private static final String USER = "65534";
    private static Path dir;
    private static Path image;
    private static Path mnt;
    private static Set<PosixFilePermission> deviceMode;
    private static boolean mounted;

    @BeforeAll
    static void prepare() throws IOException {
        ToolProcess.requireJar();
        FuseMountIT.requireFuse();
        boolean root = Integer.valueOf(0).equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
        if (!root) {
            System.out.println("NonRootMountIT: SKIPPED, switching to another user needs root");
            Assumptions.abort("switching to another user needs root");
        }
        Path device = Path.of("/dev/fuse");
        Set<PosixFilePermission> mode = Files.getPosixFilePermissions(device);
        if (!mode.contains(PosixFilePermission.OTHERS_READ) || !mode.contains(PosixFilePermission.OTHERS_WRITE)) {
            deviceMode = mode;
            Set<PosixFilePermission> open = java.util.EnumSet.copyOf(mode);
            open.addAll(List.of(PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE,
                    PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE));
            Files.setPosixFilePermissions(device, open);
        }
        dir = Files.createTempDirectory("cowfs-nonroot-it");
        Files.setPosixFilePermissions(dir, java.util.EnumSet.of(
                PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_EXECUTE,
                PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_EXECUTE));
        ToolProcess.Result chown = ToolProcess.run(new ProcessBuilder("chown", USER + ":" + USER, dir.toString()));
        assertEquals(0, chown.code(), chown.toString());
        image = dir.resolve("data.img");
        mnt = dir.resolve("mnt");
    }

    @AfterAll
    static void restore() throws IOException {
        if (mounted) {
            asUser("umount", mnt.toString());
        }
        if (deviceMode != null) {
            Files.setPosixFilePermissions(Path.of("/dev/fuse"), deviceMode);
        }
    }

    /** cowfs run as the other user. */
    private static ToolProcess.Result asUser(String... args) {
        ProcessBuilder plain = ToolProcess.builder(dir, Map.of("HOME", dir.toString()), List.of(), args);
        List<String> command = new ArrayList<>(List.of("setpriv", "--reuid=" + USER, "--regid=" + USER,
                "--clear-groups"));
        command.addAll(plain.command());
        ProcessBuilder builder = new ProcessBuilder(command).directory(dir.toFile());
        builder.environment().putAll(plain.environment());
        return ToolProcess.run(builder);
    }

    private static String shellAsUser(String script) {
        ToolProcess.Result result = ToolProcess.run(new ProcessBuilder("setpriv", "--reuid=" + USER, "--regid="
                + USER, "--clear-groups", "bash", "-c", "cd " + mnt + " && " + script).directory(dir.toFile()));
        assertEquals(0, result.code(), script + ": " + result);
        return result.out().strip();
    }

    @Test
    void anotherUserMountsWritesLinksSharesAndUnmounts() throws IOException {
        ToolProcess.Result made = asUser("mkfs", image.toString(), "--size", "1G");
        assertEquals(0, made.code(), made.toString());
        ToolProcess.Result mkdir = ToolProcess.run(new ProcessBuilder("setpriv", "--reuid=" + USER, "--regid=" + USER,
                "--clear-groups", "mkdir", mnt.toString()));
        assertEquals(0, mkdir.code(), mkdir.toString());
        ToolProcess.Result mount = asUser("mount", image.toString(), mnt.toString());
        assertEquals(0, mount.code(), mount.toString());
        mounted = true;

        String table = Files.readString(Path.of("/proc/self/mounts"));
        String line = table.lines().filter(l -> l.contains(" " + mnt + " ")).findFirst().orElse("");
        assertTrue(line.contains(" fuse.cowfs ") && line.contains("user_id=" + USER) && !line.contains("allow_other"),
                "the mount is the user's own, by the kernel server: " + line);

        String out = shellAsUser("""
                set -e; stat -c '%u %a' .
                head -c 8388608 /dev/urandom > a && ln a b && stat -c '%h' a
                cp a c && cmp a c && echo same
                """);
        assertEquals(USER + " 755\n2\nsame", out);
        ToolProcess.Result du = asUser("du", image.toString(), "/a", "/c", "--json");
        assertEquals(0, du.code(), du.toString());
        assertTrue(du.out().contains("\"shared_bytes\":8388608"), "cp shared the data: " + du.out());

        // No allow_other: not even root gets in (the kernel refuses before the server is asked)
        ToolProcess.Result rootLook = ToolProcess.run(new ProcessBuilder("ls", mnt.toString()));
        assertTrue(rootLook.code() != 0 && rootLook.err().contains("Permission denied"), rootLook.toString());

        ToolProcess.Result umount = asUser("umount", mnt.toString());
        assertEquals(0, umount.code(), umount.toString());
        mounted = false;
        ToolProcess.Result fsck = asUser("fsck", image.toString());
        assertEquals(0, fsck.code(), fsck.toString());
    }
}
