package dev.cowfs.tools;

import dev.cowfs.engine.StoreOptions;
import dev.cowfs.engine.error.ImageLockedException;
import dev.cowfs.fs.CowFileSystem;
import dev.cowfs.fs.Errno;
import dev.cowfs.fs.FsException;
import dev.cowfs.fs.FsOptions;
import dev.cowfs.fuse.FuseMount;
import dev.cowfs.fuse.MountOptions;
import dev.cowfs.fuse.MountTable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import sun.misc.Signal;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/** {@code cowfs mount} and {@code cowfs umount}: the image as a directory for every program, through FUSE. */
final class MountCommands {
    /** What the mount process prints on standard output once the mount is live (read by its parent). */
    static final String READY = "cowfs-mount-ready";
    private static final long UNMOUNT_WAIT_MILLIS = 120_000;

    private MountCommands() {
    }

    @Command(name = "mount", mixinStandardHelpOptions = true,
            description = "Mount an image on a directory through FUSE, so that every program can use it. Returns "
                    + "once the mount is live, leaving a mount process that holds the image and serves its control "
                    + "channel (IMAGE.sock): cowfs snapshot, clone, du, diff and info on the image run in it.",
            footer = {"", "Options for -o (comma-separated, as in /etc/fstab):",
                    "  ro                 read-only",
                    "  commit=SECONDS     commit at least this often (default 5); fsync and sync commit at once",
                    "  compress=lz4|none  compress new files with LZ4, or not (default: as chosen at mkfs)",
                    "  snapdir=visible    list .snapshots in the root (it is always there by name)",
                    "  subvol=NAME        mount this subvolume or clone instead of the default one",
                    "  allow_other        let other users in (permissions apply; the default with backend=kernel)",
                    "  backend=kernel|libfuse2  cowfs's own FUSE server (by inode, 1 MiB requests, kernel",
                    "                     caching, ACLs), or the libfuse 2 adapter (default: kernel; libfuse2",
                    "                     for a user without fusermount3)",
                    "  cache=writeback|writethrough|none  kernel data caching (kernel backend; default writeback)",
                    "  uring              requests through FUSE over io_uring, one queue per CPU (kernel backend;",
                    "                     root must first: echo Y > /sys/module/fuse/parameters/enable_uring)",
                    "  noallow_other      keep other users out (the kernel backend lets them in when root mounts)",
                    "  entry_timeout=S,attr_timeout=S  how long the kernel trusts names and attributes, in",
                    "                     seconds (default: a day with backend=kernel on FUSE 7.44+, else 1)",
                    "  nosuid,nodev,noexec,noatime,nonempty,...  passed to the kernel",
                    "", "Snapshots are browsable read-only under MOUNTPOINT/.snapshots/NAME/; mkdir there takes a "
                    + "snapshot of the mounted subvolume, rmdir deletes one.",
                    "", "Stop with cowfs umount MOUNTPOINT, fusermount -u, umount, or SIGTERM/SIGINT to the mount "
                    + "process: it commits, releases the image and exits 0.",
                    "", "Examples:", "  cowfs mount data.img /mnt/data",
                    "  cowfs mount data.img /mnt/data -o ro,snapdir=visible",
                    "  cowfs mount data.img /mnt/data --foreground     # attached, logs on the terminal",
                    "  mount -t fuse.cowfs data.img /mnt/data          # after cowfs install-mount-helper"})
    static final class Mount extends ToolCommand {
        @Parameters(index = "0", paramLabel = "IMAGE", description = "the image file")
        Path image;
        @Parameters(index = "1", paramLabel = "MOUNTPOINT", description = "an empty directory")
        Path mountPoint;
        @Option(names = "-o", paramLabel = "OPTIONS", description = "mount options (see below)")
        List<String> optionLists = new ArrayList<>();
        @Option(names = {"-f", "--foreground"}, description = "stay attached: log to the terminal, unmount on Ctrl-C")
        boolean foreground;
        @Option(names = "--log", paramLabel = "FILE",
                description = "where the mount process logs (default: IMAGE.mount.log; not with --foreground)")
        Path log;
        @Option(names = "--notify-ready", hidden = true, description = "print " + READY + " when live")
        boolean notifyReady;

        @Override
        public Integer call() throws Exception {
            if (invocation.images() != Images.LOCAL) {
                throw new Cowfs.UsageException("the image is already held by a process of its own; a mount needs "
                        + "the image to itself (stop that process first)");
            }
            MountOptions options = parseOptions();
            if (!Files.isRegularFile(image)) {
                throw new FsException(Errno.ENOENT, image + ": no such image file");
            }
            if (!Files.isDirectory(mountPoint)) {
                throw new FsException(Errno.ENOENT, "mount point " + mountPoint + " does not exist or is not a "
                        + "directory; create it first");
            }
            if (foreground) {
                return serveMount(options);
            }
            return startMountProcess();
        }

        private MountOptions parseOptions() {
            try {
                return MountOptions.parse(optionLists);
            } catch (IllegalArgumentException e) {
                throw new Cowfs.UsageException(e.getMessage());
            }
        }

        /** Runs the mount in this process until it is unmounted. */
        private int serveMount(MountOptions options) throws IOException, InterruptedException {
            FsOptions fsOptions = FsOptions.builder().commitIntervalMillis(options.commitSeconds() * 1000L)
                    .store(StoreOptions.builder().readOnly(options.readOnly()).build()).build();
            CowFileSystem opened;
            try {
                opened = CowFileSystem.open(image, fsOptions);
            } catch (ImageLockedException e) {
                throw new ImageLockedException(image + " is already open in another process"
                        + (Files.exists(Channel.socketOf(image)) ? " (serving " + Channel.socketOf(image) + ")" : "")
                        + "; unmount or stop it first", true);
            }
            PrintWriter err = invocation.err();
            try (CowFileSystem fs = opened;
                 ChannelServer server = new ChannelServer(image, fs, err)) {
                for (String warning : fs.store().openWarnings()) {
                    err.println("cowfs: warning: " + image + ": " + warning);
                }
                FuseMount mount = FuseMount.start(fs, image, mountPoint, options, err);
                server.bind();
                Thread channel = new Thread(() -> {
                    try {
                        server.run();
                    } catch (IOException e) {
                        err.println("cowfs: mount: the control channel stopped: " + Cowfs.messageOf(e));
                    }
                }, "cowfs-channel-accept");
                channel.setDaemon(true);
                channel.start();
                handleStopSignals(mount, err);
                long pid = ProcessHandle.current().pid();
                if (notifyReady) {
                    out().println(READY + " " + pid);
                    out().flush();
                }
                err.println("mounted " + image + " on " + mount.mountPoint() + " (pid " + pid + "); unmount with "
                        + "cowfs umount " + mount.mountPoint());
                err.flush();
                mount.awaitUnmounted();
                server.close(); // waits for the channel commands still running
                fs.sync();
                err.println("unmounted " + mount.mountPoint() + "; committed generation " + fs.statfs().generation());
                err.flush();
            }
            return 0;
        }

        /** SIGTERM, SIGINT and SIGHUP unmount (lazily when busy); the mount then ends as for any unmount. */
        private static void handleStopSignals(FuseMount mount, PrintWriter err) {
            AtomicBoolean stopping = new AtomicBoolean();
            for (String name : List.of("TERM", "INT", "HUP")) {
                Signal.handle(new Signal(name), signal -> {
                    if (stopping.compareAndSet(false, true)) {
                        err.println("cowfs: mount: SIG" + name + ": unmounting " + mount.mountPoint());
                        err.flush();
                        try {
                            mount.unmount();
                        } catch (IOException e) {
                            err.println("cowfs: mount: unmounting failed: " + Cowfs.messageOf(e));
                            err.flush();
                            stopping.set(false);
                        }
                    }
                });
            }
        }

        /**
         * Starts the mount process (a JVM cannot fork: a child JVM in its own session, logging to a file) and
         * waits until it reports the mount live, or fails; its error then shows here too.
         */
        private int startMountProcess() throws IOException, InterruptedException {
            Path logFile = log != null ? log : image.resolveSibling(image.getFileName() + ".mount.log");
            long logStart = Files.exists(logFile) ? Files.size(logFile) : 0;
            List<String> command = new ArrayList<>();
            if (FuseMount.onPath("setsid") != null) {
                command.add("setsid"); // its own session: no hangup when the starting terminal closes
            }
            command.add(ProcessHandle.current().info().command().orElse(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString()));
            command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
            command.addAll(List.of("-cp", System.getProperty("java.class.path"), Cowfs.class.getName(), "mount",
                    "--foreground", "--notify-ready"));
            for (String list : optionLists) {
                command.addAll(List.of("-o", list));
            }
            command.addAll(List.of(image.toAbsolutePath().toString(), mountPoint.toAbsolutePath().toString()));
            Process child = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectError(ProcessBuilder.Redirect.appendTo(logFile.toFile())).start();
            String ready = null;
            BufferedReader lines = new BufferedReader(new InputStreamReader(child.getInputStream(),
                    StandardCharsets.UTF_8));
            for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                if (line.startsWith(READY + " ")) {
                    ready = line.substring(READY.length() + 1);
                    break; // the pipe stays open: the mount process writes nothing more to it
                }
            }
            if (ready == null) {
                int code = child.waitFor();
                for (String line : newLines(logFile, logStart)) {
                    invocation.err().println(line);
                }
                return code == 0 ? Cowfs.ExitCode.FAILED.code : code;
            }
            out().println("mounted " + image + " on " + mountPoint + " (pid " + ready + ", log " + logFile
                    + "); unmount with: cowfs umount " + mountPoint);
            return 0;
        }

        private static List<String> newLines(Path logFile, long from) throws IOException {
            byte[] all = Files.readAllBytes(logFile);
            String text = new String(all, (int) Math.min(from, all.length), all.length - (int) Math.min(from,
                    all.length), StandardCharsets.UTF_8);
            return text.isBlank() ? List.of("cowfs: mount: the mount process ended without a word; see " + logFile)
                    : text.lines().toList();
        }
    }

    @Command(name = "install-mount-helper", mixinStandardHelpOptions = true,
            description = "Write mount.fuse.cowfs, the helper mount(8) runs for filesystems of type fuse.cowfs, so "
                    + "that mount -t fuse.cowfs and /etc/fstab lines work. It runs this java with these JVM flags "
                    + "and this cowfs jar.",
            footer = {"", "Examples:", "  cowfs install-mount-helper                 # /sbin/mount.fuse.cowfs (root)",
                    "  mount -t fuse.cowfs /srv/data.img /mnt/data -o snapdir=visible",
                    "  # /etc/fstab:", "  /srv/data.img  /mnt/data  fuse.cowfs  defaults,commit=10  0  0"})
    static final class InstallMountHelper extends ToolCommand {
        @Option(names = "--dir", paramLabel = "DIR", defaultValue = "/sbin",
                description = "where mount(8) looks for helpers (default: ${DEFAULT-VALUE})")
        Path directory;

        @Override
        public Integer call() throws IOException {
            if (!Files.isDirectory(directory)) {
                throw new FsException(Errno.ENOENT, directory + " is not a directory");
            }
            Path helper = directory.resolve("mount.fuse.cowfs");
            Files.writeString(helper, helperScript(), StandardCharsets.UTF_8);
            Files.setPosixFilePermissions(helper, java.nio.file.attribute.PosixFilePermissions.fromString(
                    "rwxr-xr-x"));
            out().println("wrote " + helper + "; mount -t fuse.cowfs IMAGE MOUNTPOINT now mounts with cowfs");
            return 0;
        }

        /** The helper: mount(8) calls it as {@code mount.fuse.cowfs IMAGE MOUNTPOINT [-o OPTIONS] [-n|-s|-f|-v]}. */
        static String helperScript() {
            StringBuilder java = new StringBuilder(quote(ProcessHandle.current().info().command().orElse(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString())));
            for (String argument : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
                java.append(' ').append(quote(argument));
            }
            java.append(" -cp ").append(quote(Path.of(System.getProperty("java.class.path")).toAbsolutePath()
                    .toString())).append(' ').append(Cowfs.class.getName());
            return "#!/bin/sh\n"
                    + "# mount.fuse.cowfs: the mount(8) helper for type fuse.cowfs, written by cowfs "
                    + "install-mount-helper.\n"
                    + "# mount runs it as: mount.fuse.cowfs IMAGE MOUNTPOINT [-o OPTIONS] [-n] [-s] [-f] [-v]\n"
                    + "set -e\n"
                    + "[ $# -ge 2 ] || { echo \"usage: mount.fuse.cowfs IMAGE MOUNTPOINT [-o OPTIONS]\" >&2; "
                    + "exit 2; }\n"
                    + "image=$1; mountpoint=$2; shift 2; options=\n"
                    + "while [ $# -gt 0 ]; do\n"
                    + "  case $1 in\n"
                    + "    -o) options=${options:+$options,}$2; shift 2 ;;\n"
                    + "    -o*) options=${options:+$options,}${1#-o}; shift ;;\n"
                    + "    *) shift ;;\n"
                    + "  esac\n"
                    + "done\n"
                    + "exec " + java + " mount \"$image\" \"$mountpoint\" ${options:+-o \"$options\"}\n";
        }

        private static String quote(String text) {
            return "'" + text.replace("'", "'\\''") + "'";
        }
    }


    @Command(name = "umount", aliases = "unmount", mixinStandardHelpOptions = true,
            description = "Unmount a mounted image and wait until its mount process has committed and released "
                    + "the image.",
            footer = {"", "Examples:", "  cowfs umount /mnt/data", "  cowfs umount --lazy /mnt/data   # detach "
                    + "now, finish when the last open file closes"})
    static final class Umount extends ToolCommand {
        @Parameters(index = "0", paramLabel = "MOUNTPOINT", description = "where the image is mounted")
        Path mountPoint;
        @Option(names = {"-l", "--lazy"}, description = "detach even while files are open; the mount process "
                + "ends once they are closed")
        boolean lazy;

        @Override
        public Integer call() throws IOException, InterruptedException {
            MountTable.Entry entry = MountTable.find(mountPoint).orElseThrow(() -> new FsException(Errno.EINVAL,
                    "no cowfs image is mounted on " + mountPoint.toAbsolutePath().normalize()));
            try {
                FuseMount.unmount(entry.mountPoint(), lazy);
            } catch (FsException e) {
                if (e.errno() == Errno.EBUSY) {
                    throw new FsException(Errno.EBUSY, entry.mountPoint() + " is in use (open files, or a working "
                            + "directory inside); close them, or use --lazy");
                }
                throw e;
            }
            Path image = Path.of(entry.source());
            if (!lazy && !awaitReleased(image)) {
                throw new FsException(Errno.EBUSY, "unmounted " + entry.mountPoint() + ", but the mount process "
                        + "still holds " + image + " after " + UNMOUNT_WAIT_MILLIS / 1000 + " s; see "
                        + image + ".mount.log");
            }
            out().println("unmounted " + entry.mountPoint() + (lazy ? " (lazily: " + image + " is released once "
                    + "nothing uses the mount)" : "; " + image + " is committed and released"));
            return 0;
        }

        /** Waits until no process holds the image (its lock is free). */
        private static boolean awaitReleased(Path image) throws IOException, InterruptedException {
            Path lockFile = image.resolveSibling(image.getFileName() + ".lock");
            if (!Files.exists(lockFile)) {
                return true;
            }
            long deadline = System.nanoTime() + UNMOUNT_WAIT_MILLIS * 1_000_000;
            try (FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.READ,
                    StandardOpenOption.WRITE)) {
                while (System.nanoTime() < deadline) {
                    FileLock lock = channel.tryLock(0, Long.MAX_VALUE, true);
                    if (lock != null) {
                        lock.release();
                        return true;
                    }
                    Thread.sleep(20);
                }
            }
            return false;
        }
    }
}
