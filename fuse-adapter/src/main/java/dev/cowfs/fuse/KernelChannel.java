package dev.cowfs.fuse;

import dev.cowfs.fs.Errno;
import dev.cowfs.fs.FsException;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.ffi.byref.IntByReference;
import jnr.ffi.types.size_t;
import jnr.ffi.types.ssize_t;
import jnr.ffi.types.u_int64_t;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The FUSE device of one mount: {@code /dev/fuse} opened, the filesystem mounted on it by {@code mount(2)}, and
 * further descriptors cloned from it (one per receiving thread, so that each reads and answers on its own). The
 * system calls go through jnr-ffi's C library binding.
 */
final class KernelChannel {
    /** The C library calls the server needs (glibc). */
    public interface LibC {
        int open(String path, int flags);

        int close(int fd);

        @ssize_t
        long read(int fd, Pointer buffer, @size_t long count);

        @ssize_t
        long write(int fd, Pointer buffer, @size_t long count);

        int ioctl(int fd, @u_int64_t long request, IntByReference argument);

        int mount(String source, String target, String type, @u_int64_t long flags, String data);

        int umount2(String target, int flags);

        int socketpair(int domain, int type, int protocol, @jnr.ffi.annotations.Out int[] sockets);

        int fcntl(int fd, int command, int argument);

        int pipe2(@jnr.ffi.annotations.Out int[] fds, int flags);

        @ssize_t
        long splice(int fdIn, Pointer offsetIn, int fdOut, Pointer offsetOut, @size_t long length, int flags);

        int posix_spawnp(IntByReference pid, String file, Pointer fileActions, Pointer attributes, Pointer argv,
                         Pointer envp);

        @ssize_t
        long recvmsg(int fd, Pointer message, int flags);

        int waitpid(int pid, IntByReference status, int options);

        int poll(Pointer fds, @u_int64_t long count, int timeoutMillis);
    }

    static final LibC LIBC = LibraryLoader.create(LibC.class).failImmediately().load("c");
    static final Runtime LIBC_RUNTIME = Runtime.getRuntime(LIBC);
    private static final int O_RDWR = 2;
    private static final int O_CLOEXEC = 02000000;
    static final int EINTR = 4;
    static final int ENOENT = 2;
    static final int ENODEV = 19;
    static final int EAGAIN = 11;
    private static final long MS_RDONLY = 1;
    private static final long MS_NOSUID = 2;
    private static final long MS_NODEV = 4;
    private static final long MS_NOEXEC = 8;
    private static final long MS_SYNCHRONOUS = 16;
    private static final long MS_DIRSYNC = 128;
    private static final long MS_NOATIME = 1024;
    private static final long MS_NODIRATIME = 2048;
    private static final long MS_RELATIME = 1 << 21;
    private static final int AF_UNIX = 1;
    private static final int SOCK_STREAM = 1;
    private static final int F_SETFD = 2;
    private static final int F_GETFL = 3;
    private static final int F_SETFL = 4;
    private static final int O_NONBLOCK = 04000;
    private static final short POLLIN = 1;
    private static final int FD_CLOEXEC = 1;
    private static final int SOL_SOCKET = 1;
    private static final int SCM_RIGHTS = 1;
    /** Mount flags and their names as fusermount3 takes them. */
    private static final java.util.Map<String, Long> FLAGS = java.util.Map.of("nosuid", MS_NOSUID, "nodev", MS_NODEV,
            "noexec", MS_NOEXEC, "noatime", MS_NOATIME, "nodiratime", MS_NODIRATIME, "relatime", MS_RELATIME,
            "sync", MS_SYNCHRONOUS, "dirsync", MS_DIRSYNC);

    private KernelChannel() {
    }

    /** The errno of the last failed call on this thread. */
    static int errno() {
        return LIBC_RUNTIME.getLastError();
    }

    /** Opens a new descriptor of the FUSE device. */
    static int openDevice() throws FsException {
        int fd = LIBC.open("/dev/fuse", O_RDWR | O_CLOEXEC);
        if (fd < 0) {
            int errno = errno();
            throw new FsException(errno == ENOENT ? Errno.ENODEV : Errno.EIO, "cannot open /dev/fuse (errno "
                    + errno + "); load the fuse module (modprobe fuse) or run where /dev/fuse exists");
        }
        return fd;
    }

    /**
     * Mounts the filesystem served on {@code fd} at {@code target} by {@code mount(2)} (root only), with the
     * generic options among {@code passed} as mount flags.
     */
    static void mount(int fd, String source, Path target, boolean readOnly, boolean allowOther, int maxRead,
                      Iterable<String> passed) throws FsException {
        long flags = readOnly ? MS_RDONLY : 0;
        for (String option : passed) {
            flags |= FLAGS.getOrDefault(option, 0L);
        }
        String data = "fd=" + fd + ",rootmode=40000,user_id=0,group_id=0,default_permissions,max_read=" + maxRead
                + (allowOther ? ",allow_other" : "");
        if (LIBC.mount(source, target.toString(), MountTable.TYPE, flags, data) != 0) {
            int errno = errno();
            throw new FsException(errno == 1 ? Errno.EPERM : Errno.EIO, "mount(2) of " + target + " failed (errno "
                    + errno + ")" + (errno == 1 ? "; mounting by mount(2) needs CAP_SYS_ADMIN: use -o backend=libfuse2"
                    : ""));
        }
    }

    /**
     * Mounts through {@code fusermount3}, as users other than root do: it runs set-user-ID root, opens the FUSE
     * device, mounts it at {@code target} for the calling user and hands the open descriptor back over a socket
     * named by {@code _FUSE_COMMFD} (one SCM_RIGHTS message), then exits. Returns that descriptor.
     */
    static int mountByFusermount(String source, Path target, boolean readOnly, boolean allowOther, int maxRead,
                                 Iterable<String> passed) throws FsException {
        Path fusermount = FuseMount.onPath("fusermount3");
        if (fusermount == null) {
            throw new FsException(Errno.ENODEV, "fusermount3 is not installed, and users other than root mount "
                    + "through it (Debian: apt install fuse3); or use -o backend=libfuse2");
        }
        StringBuilder options = new StringBuilder(readOnly ? "ro" : "rw");
        options.append(",fsname=").append(source.replace("\\", "\\\\").replace(",", "\\,"))
                .append(",subtype=cowfs,default_permissions,max_read=").append(maxRead);
        if (allowOther) {
            options.append(",allow_other");
        }
        for (String option : passed) {
            if (FLAGS.containsKey(option)) {
                options.append(',').append(option);
            }
        }
        int[] sockets = new int[2];
        if (LIBC.socketpair(AF_UNIX, SOCK_STREAM, 0, sockets) != 0) {
            throw new FsException(Errno.EIO, "socketpair failed (errno " + errno() + ")");
        }
        try {
            LIBC.fcntl(sockets[1], F_SETFD, FD_CLOEXEC); // ours: fusermount3 gets only its end
            List<String> argv = List.of("fusermount3", "-o", options.toString(), "--", target.toString());
            List<String> env = new ArrayList<>();
            System.getenv().forEach((key, value) -> {
                if (!key.equals("_FUSE_COMMFD")) {
                    env.add(key + "=" + value);
                }
            });
            env.add("_FUSE_COMMFD=" + sockets[0]);
            IntByReference pid = new IntByReference();
            int spawned = LIBC.posix_spawnp(pid, fusermount.toString(), null, null, strings(argv), strings(env));
            if (spawned != 0) {
                throw new FsException(Errno.EIO, "could not run " + fusermount + " (error " + spawned + ")");
            }
            LIBC.close(sockets[0]);
            sockets[0] = -1;
            int fd = receiveDescriptor(sockets[1]);
            IntByReference status = new IntByReference();
            while (LIBC.waitpid(pid.getValue(), status, 0) < 0 && errno() == EINTR) {
                // again
            }
            int exit = status.getValue();
            if (fd < 0 || (exit & 0x7f) != 0 || (exit >> 8 & 0xff) != 0) {
                if (fd >= 0) {
                    LIBC.close(fd);
                }
                throw new FsException(Errno.EPERM, "fusermount3 refused to mount " + target + " (its message is "
                        + "above); the mount point must be yours and writable, and allow_other needs user_allow_other "
                        + "in /etc/fuse.conf");
            }
            return fd;
        } finally {
            KEEP_ALIVE.get().clear();
            if (sockets[0] >= 0) {
                LIBC.close(sockets[0]);
            }
            LIBC.close(sockets[1]);
        }
    }

    /** Unmounts a mount made by fusermount3 (lazily: the mount may be busy after a failed start). */
    static void unmountByFusermount(Path target) {
        try {
            new ProcessBuilder("fusermount3", "-u", "-z", target.toString()).inheritIO().start().waitFor();
        } catch (java.io.IOException e) {
            // nothing more to do: the mount, if any, stays until unmounted by hand
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A NULL-terminated array of C strings; the strings' memory is held by the returned pointer's owner. */
    private static Pointer strings(List<String> values) {
        Pointer array = jnr.ffi.Memory.allocateDirect(LIBC_RUNTIME, (values.size() + 1) * 8L, true);
        for (int i = 0; i < values.size(); i++) {
            byte[] bytes = values.get(i).getBytes(java.nio.charset.StandardCharsets.UTF_8);
            Pointer string = jnr.ffi.Memory.allocateDirect(LIBC_RUNTIME, bytes.length + 1, true);
            string.put(0, bytes, 0, bytes.length);
            KEEP_ALIVE.get().add(string);
            array.putAddress(i * 8L, string.address());
        }
        KEEP_ALIVE.get().add(array);
        return array;
    }

    /** Native strings made for one spawn, kept reachable until it has run (direct memory is freed when collected). */
    private static final ThreadLocal<List<Pointer>> KEEP_ALIVE = ThreadLocal.withInitial(ArrayList::new);

    /** Receives one descriptor sent with SCM_RIGHTS over {@code socket}; -1 when the sender closed without one. */
    private static int receiveDescriptor(int socket) {
        Pointer message = jnr.ffi.Memory.allocateDirect(LIBC_RUNTIME, 56, true); // struct msghdr
        Pointer iov = jnr.ffi.Memory.allocateDirect(LIBC_RUNTIME, 16, true); // struct iovec
        Pointer data = jnr.ffi.Memory.allocateDirect(LIBC_RUNTIME, 8, true);
        Pointer control = jnr.ffi.Memory.allocateDirect(LIBC_RUNTIME, 24, true); // CMSG_SPACE(sizeof(int))
        iov.putAddress(0, data.address());
        iov.putLong(8, 1);
        message.putAddress(16, iov.address());
        message.putLong(24, 1);
        message.putAddress(32, control.address());
        message.putLong(40, 24);
        long n;
        do {
            n = LIBC.recvmsg(socket, message, 0);
        } while (n < 0 && errno() == EINTR);
        if (n <= 0 || control.getLong(0) < 20 || control.getInt(8) != SOL_SOCKET || control.getInt(12) != SCM_RIGHTS) {
            return -1;
        }
        return control.getInt(16);
    }

    /** A new descriptor attached to the same mount as {@code sessionFd} (FUSE_DEV_IOC_CLONE). */
    static int cloneOf(int sessionFd) throws FsException {
        int fd = openDevice();
        if (LIBC.ioctl(fd, FuseProtocol.DEV_IOC_CLONE, new IntByReference(sessionFd)) != 0) {
            int errno = errno();
            LIBC.close(fd);
            throw new FsException(Errno.EIO, "cloning the FUSE device failed (errno " + errno + ")");
        }
        return fd;
    }

    /** Makes reads of {@code fd} return EAGAIN rather than wait when no request is queued. */
    static void nonBlocking(int fd) throws FsException {
        int flags = LIBC.fcntl(fd, F_GETFL, 0);
        if (flags < 0 || LIBC.fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
            throw new FsException(Errno.EIO, "cannot make the FUSE descriptor non-blocking (errno " + errno() + ")");
        }
    }

    /** 8 bytes of native memory for {@link #awaitReadable}: one struct pollfd. */
    static Pointer pollfd() {
        return jnr.ffi.Memory.allocateDirect(LIBC_RUNTIME, 8, true);
    }

    /**
     * Waits until a request is queued for {@code fd} or the mount is gone (both make it readable: a read then
     * returns the request, or fails with ENODEV). A signal may end the wait early; the caller reads either way.
     */
    static void awaitReadable(int fd, Pointer pollfd) {
        pollfd.putInt(0, fd);
        pollfd.putShort(4, POLLIN);
        pollfd.putShort(6, (short) 0);
        LIBC.poll(pollfd, 1, -1);
    }

    static void close(int fd) {
        LIBC.close(fd);
    }
}
