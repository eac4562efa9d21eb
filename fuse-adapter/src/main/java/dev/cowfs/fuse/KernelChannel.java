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
            flags |= switch (option) {
                case "nosuid" -> MS_NOSUID;
                case "nodev" -> MS_NODEV;
                case "noexec" -> MS_NOEXEC;
                case "noatime" -> MS_NOATIME;
                case "nodiratime" -> MS_NODIRATIME;
                case "relatime" -> MS_RELATIME;
                case "sync" -> MS_SYNCHRONOUS;
                case "dirsync" -> MS_DIRSYNC;
                default -> 0L;
            };
        }
        String data = "fd=" + fd + ",rootmode=40000,user_id=0,group_id=0,default_permissions,max_read=" + maxRead
                + (allowOther ? ",allow_other" : "");
        if (LIBC.mount(source, target.toString(), MountTable.TYPE, flags, data) != 0) {
            int errno = errno();
            throw new FsException(errno == 1 ? Errno.EPERM : Errno.EIO, "mount(2) of " + target + " failed (errno "
                    + errno + ")" + (errno == 1 ? "; the kernel server mounts as root only, use -o backend=libfuse2"
                    : ""));
        }
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

    static void close(int fd) {
        LIBC.close(fd);
    }
}
