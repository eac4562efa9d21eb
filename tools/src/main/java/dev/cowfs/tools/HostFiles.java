package dev.cowfs.tools;

import jnr.ffi.LibraryLoader;
import jnr.ffi.Runtime;

import java.io.IOException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What Java's file API lacks for copying host files in and out with all they are: where a sparse file's data
 * lies (SEEK_DATA and SEEK_HOLE), a file's whole mode and device number, and making fifos and device nodes.
 * Through the C library, by jnr-ffi (which the FUSE adapter already brings).
 */
final class HostFiles {
    private HostFiles() {
    }

    /** The C library functions used here. */
    public interface LibC {
        int open(String path, int flags);

        long lseek(int fd, long offset, int whence);

        int close(int fd);

        int mknod(String path, int mode, long device);

        int chmod(String path, int mode);

        /** {@code times}: two timespecs (seconds, nanoseconds): access, then modification. */
        int utimensat(int directory, String path, long[] times, int flags);
    }

    private static final int AT_FDCWD = -100;
    private static final int AT_SYMLINK_NOFOLLOW = 0x100;
    private static final long UTIME_OMIT = (1L << 30) - 2;

    private static final int O_RDONLY = 0;
    private static final int O_CLOEXEC = 02000000;
    private static final int SEEK_DATA = 3;
    private static final int SEEK_HOLE = 4;
    private static final int ENXIO = 6;
    private static final int EINVAL = 22;

    private static volatile LibC libc;

    private static LibC libc() {
        LibC loaded = libc;
        if (loaded == null) {
            loaded = LibraryLoader.create(LibC.class).load("c");
            libc = loaded;
        }
        return loaded;
    }

    private static int errno() {
        return Runtime.getRuntime(libc()).getLastError();
    }

    /** A run of data in a file: [start, end). */
    record Range(long start, long end) {
    }

    /**
     * The runs of data of a regular host file of {@code sizeBytes}, in order: the holes between them and after the
     * last read as zeros and take no space. A filesystem that cannot tell (SEEK_DATA unsupported) gives one run.
     */
    static List<Range> dataRanges(Path file, long sizeBytes) throws IOException {
        List<Range> ranges = new ArrayList<>();
        if (sizeBytes == 0) {
            return ranges;
        }
        int fd = libc().open(file.toString(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            throw new IOException(file + ": cannot open to find its holes (errno " + errno() + ")");
        }
        try {
            long position = 0;
            while (position < sizeBytes) {
                long start = libc().lseek(fd, position, SEEK_DATA);
                if (start < 0) {
                    int error = errno();
                    if (error == ENXIO) {
                        break; // only a hole from here to the end
                    }
                    if (error == EINVAL && ranges.isEmpty()) {
                        ranges.add(new Range(0, sizeBytes)); // the host filesystem does not say: all data
                        return ranges;
                    }
                    throw new IOException(file + ": SEEK_DATA at " + position + " failed (errno " + error + ")");
                }
                long end = libc().lseek(fd, start, SEEK_HOLE);
                if (end < 0) {
                    throw new IOException(file + ": SEEK_HOLE at " + start + " failed (errno " + errno() + ")");
                }
                end = Math.min(end, sizeBytes); // a file growing meanwhile: what it was when looked at
                if (start >= end) {
                    break;
                }
                ranges.add(new Range(start, end));
                position = end;
            }
        } finally {
            libc().close(fd);
        }
        return ranges;
    }

    /** The whole mode of a host file, its type and set-id and sticky bits included (lstat's st_mode). */
    static int mode(Path file) throws IOException {
        return (Integer) java.nio.file.Files.getAttribute(file, "unix:mode", LinkOption.NOFOLLOW_LINKS);
    }

    /** The device number of a host device node (lstat's st_rdev). */
    static long deviceNumber(Path file) throws IOException {
        return (Long) java.nio.file.Files.getAttribute(file, "unix:rdev", LinkOption.NOFOLLOW_LINKS);
    }

    /**
     * Sets a host file's permission bits, set-ID and sticky bits included, without opening it (the JDK opens the
     * file to do so, which waits for a writer on a fifo).
     */
    static void setMode(Path file, int permissions) throws IOException {
        if (libc().chmod(file.toString(), permissions & 07777) != 0) {
            throw new IOException(file + ": chmod failed (errno " + errno() + ")");
        }
    }

    /** Sets a host file's modification time (not following a symbolic link), without opening it. */
    static void setModified(Path file, long seconds, int nanos) throws IOException {
        long[] times = {0, UTIME_OMIT, seconds, nanos};
        if (libc().utimensat(AT_FDCWD, file.toString(), times, AT_SYMLINK_NOFOLLOW) != 0) {
            throw new IOException(file + ": setting its modification time failed (errno " + errno() + ")");
        }
    }

    /** Makes a fifo or a device node ({@code mode} carries the type) on the host. */
    static void makeNode(Path file, int mode, long device) throws IOException {
        if (libc().mknod(file.toString(), mode, device) != 0) {
            int error = errno();
            if (error == 1) {
                throw new java.nio.file.AccessDeniedException(file.toString(), null,
                        "making a device node needs root (mknod: operation not permitted)");
            }
            if (error == 17) {
                throw new java.nio.file.FileAlreadyExistsException(file.toString(), null, "exists on the host");
            }
            throw new IOException(file + ": mknod failed (errno " + error + ")");
        }
    }
}
