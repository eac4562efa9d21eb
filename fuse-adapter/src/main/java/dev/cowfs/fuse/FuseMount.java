package dev.cowfs.fuse;

import dev.cowfs.fs.CowFileSystem;
import dev.cowfs.fs.Errno;
import dev.cowfs.fs.FsException;

import java.io.File;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * A live FUSE mount of an open filesystem: libfuse's multithreaded loop on its own thread, started by
 * {@link #start}, which returns only once the kernel lists the mount (read back from the mount table, not
 * assumed after a delay). The loop ends when the mount goes away ({@code cowfs umount}, {@code fusermount -u},
 * {@code umount}, or {@link #unmount}); the caller then commits and closes the filesystem.
 */
public final class FuseMount {
    /** Java threads answering requests at most, and at most waiting at once (as libfuse 2's own loop). */
    private static final int MAX_WORKERS = 16;
    private static final int MAX_IDLE_WORKERS = 10;
    /** Receiving threads of the kernel backend beyond the first, reading while programs ask at once (1 to 7). */
    private static final int KERNEL_EXTRA_RECEIVERS = Math.max(1, Math.min(7,
            Runtime.getRuntime().availableProcessors() - 1));
    /** How long the kernel may take to list a new mount before mounting counts as failed. */
    private static final long READY_TIMEOUT_MILLIS = 30_000;
    /** Options every mount gets (see docs/ARCHITECTURE.md, "FUSE mount"). */
    private static final List<String> FIXED_OPTIONS = List.of("use_ino", "readdir_ino", "hard_remove",
            "big_writes", "max_write=" + CowFuse.MAX_REQUEST_BYTES, "default_permissions", "subtype=cowfs");

    private final Path mountPoint;
    private final Thread loop;
    private volatile Throwable loopFailure;

    /** What the loop thread runs until the mount is gone; returns why it failed, or null. */
    private interface LoopBody {
        Throwable run() throws Exception;
    }

    private FuseMount(Path mountPoint, LoopBody body) {
        this.mountPoint = mountPoint;
        this.loop = new Thread(() -> {
            try {
                loopFailure = body.run();
            } catch (Throwable t) {
                loopFailure = t;
            }
        }, "cowfs-fuse-loop");
    }

    /**
     * Mounts {@code fs} (opened from {@code image}) at {@code mountPoint} and waits until the mount is live.
     *
     * @throws FsException with a one-line reason when the mount point is unusable or mounting fails
     */
    public static FuseMount start(CowFileSystem fs, Path image, Path mountPoint, MountOptions options,
                                  PrintWriter log) throws IOException {
        Path target = checkMountPoint(mountPoint, options);
        if (options.conflict() != null) {
            throw new FsException(Errno.EINVAL, "mount options: " + options.conflict());
        }
        long rootSubvolume = options.subvolume() == null ? 0 : fs.subvolumeId(options.subvolume());
        FuseMount mount;
        if (options.backend() == MountOptions.Backend.KERNEL) {
            KernelSession session = KernelSession.start(fs, target, image.toAbsolutePath().normalize().toString(),
                    options, rootSubvolume, log, KERNEL_EXTRA_RECEIVERS);
            mount = new FuseMount(target, () -> {
                session.awaitEnd();
                return session.failure();
            });
        } else {
            CowFuse fuse = new CowFuse(fs, options, rootSubvolume, log);
            String[] arguments = {"cowfs", "-f", target.toString(), "-o",
                    String.join(",", fuseOptions(image, options))};
            mount = new FuseMount(target, () -> {
                FuseLoop requests = FuseLoop.start(fuse.operations(), arguments, MAX_WORKERS, MAX_IDLE_WORKERS);
                if (requests == null) {
                    return new FsException(Errno.EIO, "libfuse refused the mount");
                }
                requests.awaitEnd();
                return requests.failure();
            });
        }
        mount.loop.start();
        mount.awaitReady();
        return mount;
    }

    private static List<String> fuseOptions(Path image, MountOptions options) {
        List<String> all = new ArrayList<>(FIXED_OPTIONS);
        all.add("fsname=" + image.toAbsolutePath().normalize().toString().replace("\\", "\\\\")
                .replace(",", "\\,"));
        if (options.readOnly()) {
            all.add("ro");
        }
        all.addAll(options.passed());
        return all;
    }

    private static Path checkMountPoint(Path mountPoint, MountOptions options) throws IOException {
        Path target = mountPoint.toAbsolutePath().normalize();
        if (!Files.isDirectory(target)) {
            throw new FsException(Files.exists(target) ? Errno.ENOTDIR : Errno.ENOENT, "mount point " + target
                    + (Files.exists(target) ? " is not a directory" : " does not exist") + "; create it first");
        }
        target = target.toRealPath();
        if (MountTable.find(target).isPresent()) {
            throw new FsException(Errno.EBUSY, "a cowfs image is already mounted on " + target
                    + "; unmount it first (cowfs umount " + target + ")");
        }
        if (!options.passed().contains("nonempty")) {
            try (Stream<Path> entries = Files.list(target)) {
                if (entries.findAny().isPresent()) {
                    throw new FsException(Errno.ENOTEMPTY, "mount point " + target + " is not empty; use an empty "
                            + "directory, or -o nonempty to hide what is there");
                }
            }
        }
        return target;
    }

    private void awaitReady() throws IOException {
        long deadline = System.nanoTime() + READY_TIMEOUT_MILLIS * 1_000_000;
        while (MountTable.find(mountPoint).isEmpty()) {
            if (!loop.isAlive()) {
                Throwable failure = loopFailure;
                throw new FsException(Errno.EIO, "mounting on " + mountPoint + " failed"
                        + (failure == null ? "" : " (" + failure.getMessage() + ")")
                        + "; see libfuse's message above");
            }
            if (System.nanoTime() > deadline) {
                unmount(mountPoint, true);
                throw new FsException(Errno.EIO, "the kernel did not list the mount on " + mountPoint + " within "
                        + READY_TIMEOUT_MILLIS / 1000 + " s");
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new FsException(Errno.EIO, "interrupted while mounting on " + mountPoint);
            }
        }
    }

    public Path mountPoint() {
        return mountPoint;
    }

    /** Waits until the mount is gone and libfuse's loop has ended. */
    public void awaitUnmounted() throws InterruptedException {
        loop.join();
    }

    /** Asks the kernel to drop the mount; when it is busy (open files, a shell inside), detaches it lazily. */
    public void unmount() throws IOException {
        try {
            unmount(mountPoint, false);
        } catch (FsException busy) {
            unmount(mountPoint, true);
        }
    }

    /**
     * Unmounts a FUSE mount as {@code fusermount -u} does ({@code -z}: lazily, once nothing uses it).
     *
     * @throws FsException EBUSY when the mount is in use and not lazy; EINVAL when nothing is mounted there
     */
    public static void unmount(Path mountPoint, boolean lazy) throws IOException {
        List<String> command = new ArrayList<>(List.of(fusermount(), "-u"));
        if (lazy) {
            command.add("-z");
        }
        command.add(mountPoint.toAbsolutePath().normalize().toString());
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output;
        try {
            output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (process.waitFor() == 0) {
                return;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new FsException(Errno.EIO, "interrupted while unmounting " + mountPoint);
        }
        String reason = output.replaceAll("\\s+", " ");
        throw new FsException(reason.contains("busy") ? Errno.EBUSY : Errno.EINVAL, "unmounting " + mountPoint
                + " failed: " + reason);
    }

    /** libfuse 2's fusermount, or fuse3's, whichever is installed. */
    private static String fusermount() throws FsException {
        for (String name : List.of("fusermount", "fusermount3")) {
            Path found = onPath(name);
            if (found != null) {
                return found.toString();
            }
        }
        throw new FsException(Errno.EOPNOTSUPP, "neither fusermount nor fusermount3 is installed (Debian: apt "
                + "install fuse3)");
    }

    /** The executable {@code program} in a directory of PATH, or null. */
    public static Path onPath(String program) {
        for (String directory : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            File candidate = new File(directory, program);
            if (candidate.canExecute()) {
                return candidate.toPath();
            }
        }
        return null;
    }
}
