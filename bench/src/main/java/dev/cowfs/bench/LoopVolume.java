package dev.cowfs.bench;

import jnr.ffi.LibraryLoader;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A peer filesystem (btrfs or XFS) made on a loop image in a directory (tmpfs, like the cowfs images it is
 * measured beside), mounted for one bench case and torn down after it. Snapshots and reflink clones are the
 * kernel's own ioctls called directly, so a figure holds no process start-up: BTRFS_IOC_SNAP_CREATE_V2 (which
 * commits its transaction before returning) and FICLONE followed by fsync of the clone.
 */
final class LoopVolume implements AutoCloseable {
    /** The C library calls the peers need. */
    public interface LibC {
        int open(String path, int flags, int mode);

        int close(int fd);

        int fsync(int fd);

        int ioctl(int fd, long request, Pointer argument);
    }

    private static final int O_RDONLY = 0;
    private static final int O_WRONLY = 1;
    private static final int O_CREAT = 0100;
    private static final int O_TRUNC = 01000;
    private static final int O_DIRECTORY = 0200000;
    /** _IOW(0x94, 9, int). */
    private static final long FICLONE = 0x40049409L;
    /** _IOW(0x94, 23, struct btrfs_ioctl_vol_args_v2), 4096 bytes: fd, transid, flags, 32 bytes, name[4040]. */
    private static final long BTRFS_IOC_SNAP_CREATE_V2 = 0x50009417L;
    private static final long BTRFS_SUBVOL_RDONLY = 1L << 1;

    private static LibC libc;

    final String kind;
    private final Path image;
    private final Path mount;

    private LoopVolume(String kind, Path image, Path mount) {
        this.kind = kind;
        this.image = image;
        this.mount = mount;
    }

    private static synchronized LibC libc() {
        if (libc == null) {
            libc = LibraryLoader.create(LibC.class).load("c");
        }
        return libc;
    }

    /** Why {@code kind} cannot be measured here, or null when it can. */
    static String unavailable(String kind) {
        String mkfs = "mkfs." + kind;
        try {
            if (!run(List.of("id", "-u")).trim().equals("0")) {
                return kind + " skipped: loop mounts need root, and this run is not root";
            }
            if (!onPath(mkfs) || kind.equals("btrfs") && !onPath("btrfs")) {
                return kind + " skipped: " + mkfs + (kind.equals("btrfs") ? " or btrfs" : "")
                        + " is not installed (Debian: apt-get install " + (kind.equals("btrfs") ? "btrfs-progs"
                        : "xfsprogs") + ")";
            }
            String filesystems = Files.readString(Path.of("/proc/filesystems"));
            if (!filesystems.contains("\t" + kind + "\n")) {
                run(List.of("modprobe", kind)); // built as a module: load it, then look again
                if (!Files.readString(Path.of("/proc/filesystems")).contains("\t" + kind + "\n")) {
                    return kind + " skipped: the kernel does not offer " + kind + " (/proc/filesystems)";
                }
            }
            if (!Files.exists(Path.of("/dev/loop-control"))) {
                return kind + " skipped: no loop devices here (/dev/loop-control is missing)";
            }
        } catch (IOException e) {
            return kind + " skipped: " + e.getMessage();
        }
        return null;
    }

    private static boolean onPath(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        for (String dir : List.of("/usr/sbin", "/sbin")) {
            if (Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }

    /**
     * A fresh {@code kind} filesystem of {@code bytes} (a sparse image in {@code dir}), mounted; for btrfs the
     * work happens in a subvolume ({@link #root()}) so that it can be snapshotted, with quotas on if asked.
     */
    static LoopVolume create(String kind, Path dir, long bytes, boolean quotas) throws IOException {
        Path image = dir.resolve(kind + ".img");
        Path mount = dir.resolve(kind + ".mnt");
        try {
            try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "rw")) {
                file.setLength(bytes);
            }
            Files.createDirectories(mount);
            if (kind.equals("btrfs")) {
                run(List.of("mkfs.btrfs", "-q", "-f", image.toString()));
            } else {
                run(List.of("mkfs.xfs", "-q", "-f", "-m", "reflink=1", image.toString()));
            }
            run(List.of("mount", "-o", "loop", image.toString(), mount.toString()));
        } catch (IOException e) {
            Files.deleteIfExists(image); // nothing mounted: the image's memory goes back to tmpfs
            Files.deleteIfExists(mount);
            throw e;
        }
        LoopVolume volume = new LoopVolume(kind, image, mount);
        try {
            if (kind.equals("btrfs")) {
                if (quotas) {
                    run(List.of("btrfs", "quota", "enable", mount.toString()));
                }
                run(List.of("btrfs", "subvolume", "create", mount.resolve("vol").toString()));
            }
        } catch (IOException e) {
            try {
                volume.close();
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        return volume;
    }

    /** Where the bench's files go. */
    Path root() {
        return kind.equals("btrfs") ? mount.resolve("vol") : mount;
    }

    /** Writes everything out (syncfs of the mount). */
    void sync() throws IOException {
        run(List.of("sync", "-f", mount.toString()));
    }

    /** A read-only btrfs snapshot of {@link #root()} named {@code name} beside it; returns its time in µs. */
    long snapshot(String name) throws IOException {
        LibC c = libc();
        jnr.ffi.Runtime runtime = jnr.ffi.Runtime.getRuntime(c);
        Pointer args = Memory.allocateDirect(runtime, 4096, true);
        int source = open(root(), O_RDONLY | O_DIRECTORY, 0);
        try {
            int parent = open(mount, O_RDONLY | O_DIRECTORY, 0);
            try {
                args.putLong(0, source);
                args.putLong(16, BTRFS_SUBVOL_RDONLY);
                byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
                args.put(56, bytes, 0, bytes.length);
                long start = System.nanoTime();
                int rc = c.ioctl(parent, BTRFS_IOC_SNAP_CREATE_V2, args);
                long micros = (System.nanoTime() - start) / 1000;
                check(rc, "BTRFS_IOC_SNAP_CREATE_V2 " + name);
                return micros;
            } finally {
                c.close(parent);
            }
        } finally {
            c.close(source);
        }
    }

    /** The path of a snapshot made by {@link #snapshot}. */
    Path snapshotPath(String name) {
        return mount.resolve(name);
    }

    /**
     * A reflink clone of {@code source} into {@code target} (created and made durable before the clock starts),
     * then fsync of the clone; returns its time in µs.
     */
    long reflink(Path source, Path target) throws IOException {
        LibC c = libc();
        int from = open(source, O_RDONLY, 0);
        try {
            Pointer fromFd = Pointer.wrap(jnr.ffi.Runtime.getRuntime(c), from);
            int to = open(target, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            try {
                check(c.fsync(to), "fsync " + target);
                long start = System.nanoTime();
                check(c.ioctl(to, FICLONE, fromFd), "FICLONE " + target);
                check(c.fsync(to), "fsync " + target);
                return (System.nanoTime() - start) / 1000;
            } finally {
                c.close(to);
            }
        } finally {
            c.close(from);
        }
    }

    /** Exclusive bytes of a btrfs subvolume (quotas on): what deleting it would free, as btrfs counts it. */
    long exclusiveBytes(Path subvolume) throws IOException {
        String id = null;
        for (String line : run(List.of("btrfs", "inspect-internal", "rootid", subvolume.toString())).split("\n")) {
            if (line.trim().matches("\\d+")) {
                id = line.trim();
            }
        }
        for (String line : run(List.of("btrfs", "qgroup", "show", "--raw", "--sync", mount.toString())).split("\n")) {
            String[] words = line.trim().split("\\s+");
            if (words.length >= 3 && words[0].equals("0/" + id)) {
                return Long.parseLong(words[2]);
            }
        }
        throw new IOException("btrfs qgroup show lists no qgroup 0/" + id);
    }

    /** Bytes in use on the whole filesystem, as statfs reports them. */
    long usedBytes() throws IOException {
        java.nio.file.FileStore store = Files.getFileStore(mount);
        return store.getTotalSpace() - store.getUnallocatedSpace();
    }

    private static int open(Path path, int flags, int mode) throws IOException {
        int fd = libc().open(path.toString(), flags, mode);
        check(fd, "open " + path);
        return fd;
    }

    private static void check(int rc, String what) throws IOException {
        if (rc < 0) {
            int errno = jnr.ffi.Runtime.getRuntime(libc()).getLastError();
            throw new IOException(what + " failed: errno " + errno);
        }
    }

    /**
     * Unmounts and deletes the image. When the mount is busy it is detached lazily (the kernel frees it once the
     * last user is gone), so that its tmpfs memory does not outlive the case unseen.
     */
    @Override
    public void close() throws IOException {
        try {
            run(List.of("umount", mount.toString()));
        } catch (IOException busy) {
            try {
                run(List.of("umount", "-l", mount.toString()));
                System.err.println("snap: " + kind + " at " + mount + " was busy; detached lazily (" + busy.getMessage()
                        + ")");
            } catch (IOException e) {
                e.addSuppressed(busy);
                throw new IOException(kind + " volume teardown: cannot unmount " + mount + "; unmount it and delete "
                        + image + " by hand", e);
            }
        }
        Files.deleteIfExists(image);
        Files.deleteIfExists(mount);
    }

    /** Unmounts what an earlier run killed midway left mounted under {@code dir} (best effort). */
    static void unmountLeftovers(Path dir) {
        for (String kind : List.of("btrfs", "xfs")) {
            Path mount = dir.resolve(kind + ".mnt");
            if (Files.isDirectory(mount)) {
                try {
                    run(List.of("umount", "-l", mount.toString()));
                } catch (IOException e) {
                    // not mounted
                }
            }
        }
    }

    /** Runs a command; its standard output, or an IOException with its output when it fails. */
    static String run(List<String> command) throws IOException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            int status = process.waitFor();
            if (status != 0) {
                throw new IOException(String.join(" ", command) + " exited " + status + ": " + output.trim());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted: " + String.join(" ", command), e);
        }
        return output;
    }
}
