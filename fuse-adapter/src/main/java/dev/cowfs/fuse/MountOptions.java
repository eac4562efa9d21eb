package dev.cowfs.fuse;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The {@code -o} options of a mount, parsed and checked: cowfs's own, the FUSE ones passed to libfuse, and the
 * generic ones {@code mount(8)} and {@code /etc/fstab} carry, which are accepted and ignored. Anything else is
 * refused with the name of the option, rather than passed on to fail later or be silently dropped.
 */
public final class MountOptions {
    /** Passed to the kernel through libfuse as they are. */
    private static final Set<String> PASSED = Set.of("allow_other", "allow_root", "nosuid", "suid", "nodev", "dev",
            "noexec", "exec", "noatime", "atime", "relatime", "nodiratime", "sync", "async", "dirsync", "nonempty");
    /** Meaningful only to mount(8) or fstab. */
    private static final Set<String> IGNORED = Set.of("defaults", "auto", "noauto", "nofail", "_netdev", "user",
            "users", "nouser", "owner", "rw");

    /** Which FUSE server answers the kernel. */
    public enum Backend {
        /** cowfs's own server of the kernel protocol ({@link KernelSession}): by inode, 1 MiB requests, caching. */
        KERNEL,
        /** libfuse 2's path-based interface through jnr-fuse ({@link CowFuse}). */
        LIBFUSE2
    }

    /** How the kernel caches file data (kernel backend only). */
    public enum Cache {
        /** Writes gather in the kernel's page cache and reach the server in large requests (the default). */
        WRITEBACK,
        /** Reads are cached, every write goes to the server at once. */
        WRITETHROUGH,
        /** Nothing is kept between opens; attributes and names are asked for again after a second. */
        NONE
    }

    private boolean readOnly;
    /** As asked; null: the kernel server when running as root (it mounts by mount(2)), else libfuse 2. */
    private Backend backend;
    private Cache cache;
    private boolean noAllowOther;
    private boolean uring;
    /** As asked, in nanoseconds; -1: the backend's default. */
    private long entryTimeoutNanos = -1;
    private long attrTimeoutNanos = -1;
    private Boolean compress;
    private int commitSeconds = 5;
    private boolean snapshotsVisible;
    private String subvolume;
    private final List<String> passed = new ArrayList<>();

    private MountOptions() {
    }

    public static MountOptions defaults() {
        return new MountOptions();
    }

    /**
     * Parses comma-separated option lists (as given to {@code -o}, possibly several times).
     *
     * @throws IllegalArgumentException naming the option that is unknown or has a bad value
     */
    public static MountOptions parse(List<String> lists) {
        MountOptions options = new MountOptions();
        for (String list : lists) {
            for (String option : list.split(",")) {
                if (!option.isEmpty()) {
                    options.add(option.trim());
                }
            }
        }
        return options;
    }

    private void add(String option) {
        int equals = option.indexOf('=');
        String name = equals < 0 ? option : option.substring(0, equals);
        String value = equals < 0 ? null : option.substring(equals + 1);
        switch (name) {
            case "ro" -> readOnly = true;
            case "compress" -> compress = switch (String.valueOf(value)) {
                case "lz4" -> true;
                case "none", "no" -> false;
                default -> throw new IllegalArgumentException("compress=" + value + ": use compress=lz4 or "
                        + "compress=none");
            };
            case "commit" -> commitSeconds = commitSecondsOf(value);
            case "snapdir" -> snapshotsVisible = switch (String.valueOf(value)) {
                case "visible" -> true;
                case "hidden" -> false;
                default -> throw new IllegalArgumentException("snapdir=" + value + ": use snapdir=visible or "
                        + "snapdir=hidden");
            };
            case "backend" -> backend = switch (String.valueOf(value)) {
                case "kernel" -> Backend.KERNEL;
                case "libfuse2" -> Backend.LIBFUSE2;
                default -> throw new IllegalArgumentException("backend=" + value + ": use backend=kernel or "
                        + "backend=libfuse2");
            };
            case "cache" -> cache = switch (String.valueOf(value)) {
                case "writeback" -> Cache.WRITEBACK;
                case "writethrough" -> Cache.WRITETHROUGH;
                case "none" -> Cache.NONE;
                default -> throw new IllegalArgumentException("cache=" + value + ": use cache=writeback, "
                        + "cache=writethrough or cache=none");
            };
            case "noallow_other" -> noAllowOther = true;
            case "uring" -> uring = true;
            case "entry_timeout" -> {
                entryTimeoutNanos = timeoutNanosOf(option, value);
                passed.add(option);
            }
            case "attr_timeout" -> {
                attrTimeoutNanos = timeoutNanosOf(option, value);
                passed.add(option);
            }
            case "subvol" -> {
                if (value == null || value.isEmpty()) {
                    throw new IllegalArgumentException("subvol needs a name: subvol=NAME");
                }
                subvolume = value;
            }
            default -> {
                if (value == null && PASSED.contains(name)) {
                    passed.add(name);
                } else if (!IGNORED.contains(name) && !name.startsWith("x-") && !name.equals("comment")) {
                    throw new IllegalArgumentException("unknown mount option '" + option + "' (see cowfs mount "
                            + "--help)");
                }
            }
        }
    }

    private static long timeoutNanosOf(String option, String value) {
        try {
            double seconds = Double.parseDouble(String.valueOf(value));
            if (!(seconds >= 0 && seconds <= 86_400)) {
                throw new NumberFormatException();
            }
            return Math.round(seconds * 1e9);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + ": give seconds from 0 to 86400");
        }
    }

    private static int commitSecondsOf(String value) {
        try {
            int seconds = Integer.parseInt(String.valueOf(value));
            if (seconds < 1 || seconds > 86_400) {
                throw new NumberFormatException();
            }
            return seconds;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("commit=" + value + ": give whole seconds from 1 to 86400");
        }
    }

    public boolean readOnly() {
        return readOnly;
    }

    /** Whether new files compress with LZ4; null keeps the image's default (chosen at mkfs). */
    public Boolean compress() {
        return compress;
    }

    public int commitSeconds() {
        return commitSeconds;
    }

    /** Whether {@code .snapshots} shows in a listing of the root (it can always be entered by name). */
    public boolean snapshotsVisible() {
        return snapshotsVisible;
    }

    /** The subvolume mounted at the root; null for the default one. */
    public String subvolume() {
        return subvolume;
    }

    /**
     * Whether other users may use the mount (FUSE's allow_other): as asked, else on when root mounts with the kernel
     * backend (as bindfs does; modes still apply). Another user's mount lets others in only when asked, which
     * fusermount3 allows only with user_allow_other in /etc/fuse.conf.
     */
    public boolean allowOther() {
        return passed.contains("allow_other") || backend() == Backend.KERNEL && RUNNING_AS_ROOT && !noAllowOther;
    }

    /**
     * The backend asked for, else the kernel server: root mounts it by mount(2), other users through fusermount3;
     * a user without fusermount3 gets libfuse 2.
     */
    public Backend backend() {
        if (backend != null) {
            return backend;
        }
        return RUNNING_AS_ROOT || FuseMount.onPath("fusermount3") != null ? Backend.KERNEL : Backend.LIBFUSE2;
    }

    private static final boolean RUNNING_AS_ROOT = checkRoot();

    /** Whether this process runs as root (user id 0). */
    static boolean runningAsRoot() {
        return RUNNING_AS_ROOT;
    }

    private static boolean checkRoot() {
        try {
            return Integer.valueOf(0).equals(java.nio.file.Files.getAttribute(java.nio.file.Path.of("/proc/self"),
                    "unix:uid"));
        } catch (java.io.IOException | RuntimeException e) {
            return false;
        }
    }

    /** The kernel's data caching: as asked, else write-back. */
    public Cache cache() {
        return cache == null ? Cache.WRITEBACK : cache;
    }

    /**
     * How long the kernel may trust a name it was given before asking again (entry_timeout), in nanoseconds; -1 when
     * not given (the kernel server then chooses: see {@link KernelNodes}).
     */
    long entryTimeoutNanos() {
        return entryTimeoutNanos;
    }

    /** How long the kernel may trust attributes it was given before asking again (attr_timeout); -1 when not given. */
    long attrTimeoutNanos() {
        return attrTimeoutNanos;
    }

    /** Whether requests come through io_uring, one queue per CPU (uring; kernel backend). */
    public boolean uring() {
        return uring;
    }

    /** Options that only one backend understands, given with the other; null when they agree. */
    public String conflict() {
        if (backend() == Backend.LIBFUSE2 && (cache != null || noAllowOther || uring)) {
            return (cache != null ? "cache=" : noAllowOther ? "noallow_other" : "uring") + " needs backend=kernel";
        }
        return null;
    }

    /** The FUSE options passed through to libfuse. */
    List<String> passed() {
        return List.copyOf(passed);
    }
}
