package dev.cowfs.tools;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Reads of 64 KiB and more come spliced from the image (the kernel server's {@code ReplySplice}): a sparse file of
 * several extents, a hole and an extent that starts inside a page is written, the page cache dropped, and the file
 * read back in 256 KiB requests (read-ahead off), in 1 MiB reads (the kernel's own requests) and at an offset inside
 * a page across an extent's end into the hole; every byte must be what was written. At unmount the log must count
 * spliced replies and no splice that fell back to copying; the image must check clean. FUSE must be there
 * ({@link FuseMountIT#requireFuse}); dropping the page cache needs root, as mounting does.
 */
class SplicedReadsIT {
    private static Path dir;
    private static Path image;
    private static Path mnt;
    private static boolean mounted;

    @BeforeAll
    static void mount() throws IOException {
        ToolProcess.requireJar();
        FuseMountIT.requireFuse();
        dir = Files.createTempDirectory("cowfs-splice-it");
        image = dir.resolve("data.img");
        mnt = Files.createDirectory(dir.resolve("mnt"));
        ok("mkfs", image.toString(), "--size", "1G");
        ok("mount", image.toString(), mnt.toString(), "-o", "backend=kernel");
        mounted = true;
    }

    @AfterAll
    static void unmount() {
        if (mounted) {
            ToolProcess.run(dir, "umount", mnt.toString());
        }
    }

    private static ToolProcess.Result ok(String... args) {
        ToolProcess.Result result = ToolProcess.run(dir, args);
        assertEquals(0, result.code(), "cowfs " + String.join(" ", args) + ": " + result);
        return result;
    }

    @Test
    void largeReadsSplicedFromTheImageAreByteExact() throws IOException {
        ProcessBuilder program = new ProcessBuilder("python3", "-c", """
                import os, random
                def drop():
                    os.sync()
                    with open('/proc/sys/vm/drop_caches', 'w') as f: f.write('3')
                rnd = random.Random(24)
                head, tail = rnd.randbytes(3 << 20), rnd.randbytes(300 << 10)
                at, size = (5 << 20) + 12345, 7 << 20
                with open('sparse', 'wb') as f:
                    f.write(head); f.seek(at); f.write(tail); f.truncate(size)
                    os.fsync(f.fileno())
                want = head + bytes(at - len(head)) + tail
                want += bytes(size - len(want))
                big = rnd.randbytes(24 << 20)
                with open('big', 'wb') as f:
                    f.write(big); os.fsync(f.fileno())
                drop()
                fd = os.open('sparse', os.O_RDONLY)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
                pieces = b''.join(os.pread(fd, 256 << 10, o) for o in range(0, size, 256 << 10))
                drop()
                start = (3 << 20) - 4097
                across = os.pread(fd, 700000, start)
                os.close(fd)
                drop()
                with open('big', 'rb') as f:
                    whole = b''.join(iter(lambda: f.read(1 << 20), b''))
                print(pieces == want, across == want[start:start + 700000], whole == big)
                """).directory(mnt.toFile());
        ToolProcess.Result read = ToolProcess.run(program);
        assertEquals("True True True", read.out().strip(), read.toString());

        ok("umount", mnt.toString());
        mounted = false;
        String log = Files.readString(dir.resolve("data.img.mount.log"));
        Matcher spliced = Pattern.compile("FUSE reads: (\\d+) replies spliced from the image").matcher(log);
        assertTrue(spliced.find(), log);
        assertTrue(Long.parseLong(spliced.group(1)) >= 28, log); // at least the 256 KiB requests of the sparse file
        assertFalse(log.contains("copied instead"), log);
        ToolProcess.Result fsck = ToolProcess.run(dir, "fsck", image.toString());
        assertEquals(0, fsck.code(), fsck.toString());
    }
}
