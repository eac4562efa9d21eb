package dev.cowfs.engine.testing;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A tmpfs of a given size mounted for one test, so that a host filesystem can really fill up. Needs root and mount
 * permission; where that is missing the test is skipped and says why on its output.
 */
public final class SizeLimitedTmpfs implements AutoCloseable {
    private final Path mountPoint;

    private SizeLimitedTmpfs(Path mountPoint) {
        this.mountPoint = mountPoint;
    }

    /** Mounts a tmpfs of {@code sizeMebibytes}; skips the calling test (with a line on its output) if it cannot. */
    public static SizeLimitedTmpfs mount(String testName, int sizeMebibytes) throws IOException, InterruptedException {
        Path mountPoint = Files.createTempDirectory("cowfs-full-");
        Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=" + sizeMebibytes + "m", "cowfs-full",
                mountPoint.toString()).redirectErrorStream(true).start();
        String output = new String(mount.getInputStream().readAllBytes()).trim();
        if (mount.waitFor() != 0) {
            Files.deleteIfExists(mountPoint);
            System.out.println(testName + " skipped: cannot mount a size-limited tmpfs here (" + output
                    + "); it needs root and mount permission");
            Assumptions.abort("cannot mount a size-limited tmpfs: " + output);
        }
        return new SizeLimitedTmpfs(mountPoint);
    }

    public Path path() {
        return mountPoint;
    }

    /** Fills the filesystem with another file, as another program would, until the host says it is full. */
    public Path fill(String name) throws IOException {
        Path filler = mountPoint.resolve(name);
        byte[] chunk = new byte[1 << 20];
        try (FileChannel out = FileChannel.open(filler, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            long at = 0;
            while (true) {
                at += out.write(ByteBuffer.wrap(chunk), at);
            }
        } catch (IOException e) {
            if (!String.valueOf(e.getMessage()).contains("No space left")) {
                throw e;
            }
        }
        return filler;
    }

    @Override
    public void close() throws IOException, InterruptedException {
        new ProcessBuilder("umount", mountPoint.toString()).inheritIO().start().waitFor();
        Files.deleteIfExists(mountPoint);
    }
}
