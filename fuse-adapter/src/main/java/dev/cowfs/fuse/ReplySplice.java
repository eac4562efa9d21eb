package dev.cowfs.fuse;

import jnr.ffi.Memory;
import jnr.ffi.Pointer;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.atomic.LongAdder;

/**
 * A read's reply moved from the image file to the FUSE device without passing through the server's memory: the
 * reply's header is written into a pipe, the image's pages are spliced in after it (the pipe takes references to
 * the page cache's pages, no copy), holes follow as zeros, and the whole reply is spliced to the device, whose one
 * copy puts the bytes into the reading program's pages. The copying path reads the image into the reply buffer
 * first, a second copy of every byte. One per receiving thread (each has its own pipe); the filesystem holds every
 * writer off while {@link #send} runs, so the pages referenced hold the file's bytes until the device has copied
 * them. Never SPLICE_F_MOVE: that would let the device take the image's own pages away from the image.
 */
final class ReplySplice {
    /** Reads at least this large are spliced; below it the two system calls more cost more than the copy saved. */
    static final int MIN_BYTES = 64 * 1024;
    private static final int PAGE = 4096;
    private static final int O_RDONLY = 0;
    private static final int O_CLOEXEC = 02000000;
    private static final int O_NONBLOCK = 04000;
    private static final int F_SETPIPE_SZ = 1031;
    private static final int ZERO_BYTES = 64 * 1024;
    private static final int EINVAL = 22;

    private final int imageFd;
    private final int deviceFd;
    /** Replies spliced, across the session's threads. */
    private final LongAdder spliced;
    private final PrintWriter log;
    private final Pointer header = Memory.allocateDirect(KernelChannel.LIBC_RUNTIME, 16, true);
    private final Pointer offset = Memory.allocateDirect(KernelChannel.LIBC_RUNTIME, 8, true);
    private final Pointer zeros;
    private int readEnd = -1;
    private int writeEnd = -1;
    /** Pages the pipe holds: a reply needing more is answered by copying. */
    private int pipePages;

    private ReplySplice(int imageFd, int deviceFd, Pointer zeros, PrintWriter log,
                        LongAdder spliced) {
        this.spliced = spliced;
        this.imageFd = imageFd;
        this.deviceFd = deviceFd;
        this.zeros = zeros;
        this.log = log;
    }

    /** Opens the image for splicing (one descriptor every receiving thread shares); -1 when it cannot be. */
    static int openImage(Path image) {
        return image == null ? -1 : KernelChannel.LIBC.open(image.toString(), O_RDONLY | O_CLOEXEC);
    }

    /** A receiving thread's splicer onto its device descriptor, or null when no pipe can be had. */
    static ReplySplice forThread(int imageFd, int deviceFd, PrintWriter log,
                                 LongAdder spliced) {
        if (imageFd < 0) {
            return null;
        }
        ReplySplice splice = new ReplySplice(imageFd, deviceFd, zeroBuffer(), log, spliced);
        return splice.renewPipe() ? splice : null;
    }

    private static Pointer zeroBuffer() {
        return Memory.allocateDirect(KernelChannel.LIBC_RUNTIME, ZERO_BYTES, true); // zeroed on allocation
    }

    /** Pages of the pipe; 0 before one is made. */
    int pipePages() {
        return pipePages;
    }

    /**
     * The largest read whose answer always fits the pipe: a page for the header, one for a start inside a page.
     * With a 1 MiB pipe (the most a process without CAP_SYS_RESOURCE may have under the default pipe-max-size) that
     * is 1,016 KiB, so the kernel's 1 MiB reads are copied; with 2 MiB, every read.
     */
    int maxBytes() {
        return Math.max(0, pipePages - 2) * PAGE;
    }

    /**
     * Sends the answer to request {@code unique}: {@code length} bytes as {@code count} pieces (image offset or -1
     * for zeros, length). Returns false, having sent nothing, when the pieces do not fit the pipe or a step before
     * the device fails: the caller then answers by copying. True when the device took the answer, or refused it
     * because the request is gone (interrupted, unmounted).
     */
    boolean send(long unique, int length, long[] pieces, int count) {
        long pages = 1;
        for (int i = 0; i < count; i++) {
            long at = pieces[2 * i];
            long bytes = pieces[2 * i + 1];
            pages += at < 0 ? (bytes + PAGE - 1) / PAGE + 1 : ((at & (PAGE - 1)) + bytes + PAGE - 1) / PAGE;
        }
        if (pages > pipePages) {
            return false;
        }
        int total = FuseProtocol.OUT_HEADER_SIZE + length;
        header.putInt(0, total);
        header.putInt(4, 0);
        header.putLong(8, unique);
        if (KernelChannel.LIBC.write(writeEnd, header, FuseProtocol.OUT_HEADER_SIZE) != FuseProtocol.OUT_HEADER_SIZE) {
            return abandon("writing a reply header into the pipe");
        }
        for (int i = 0; i < count; i++) {
            long at = pieces[2 * i];
            long left = pieces[2 * i + 1];
            while (left > 0) {
                long moved;
                if (at < 0) {
                    moved = KernelChannel.LIBC.write(writeEnd, zeros, Math.min(left, ZERO_BYTES));
                } else {
                    offset.putLong(0, at);
                    moved = KernelChannel.LIBC.splice(imageFd, offset, writeEnd, null, left, 0);
                    at += Math.max(moved, 0);
                }
                if (moved <= 0) {
                    return abandon(moved == 0 ? "the image ended inside a stored extent" : "splicing from the image");
                }
                left -= moved;
            }
        }
        long sent = KernelChannel.LIBC.splice(readEnd, null, deviceFd, null, total, 0);
        if (sent == total) {
            spliced.increment();
            return true;
        }
        int errno = sent < 0 ? KernelChannel.errno() : 0;
        if (sent < 0 && (errno == KernelChannel.ENOENT || errno == KernelChannel.ENODEV)) {
            renewPipe(); // the request was interrupted, or the mount is gone: what the pipe holds goes
            return true;
        }
        return abandon("splicing the reply to the device (" + sent + " of " + total + " bytes)");
    }

    /**
     * Empties the pipe (a new one) after a step failed; false, for the caller to answer by copying. EINVAL means
     * the image's filesystem or the device does not splice at all: this thread copies from then on.
     */
    private boolean abandon(String step) {
        int errno = KernelChannel.errno();
        boolean unsupported = errno == EINVAL;
        synchronized (log) {
            log.println("cowfs: " + step + " failed (errno " + errno + "); this reply is copied instead"
                    + (unsupported ? ", and every later one of this thread" : ""));
            log.flush();
        }
        renewPipe();
        if (unsupported) {
            close();
            pipePages = 0;
        }
        return false;
    }

    private boolean renewPipe() {
        close();
        int[] fds = new int[2];
        if (KernelChannel.LIBC.pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
            pipePages = 0;
            return false;
        }
        readEnd = fds[0];
        writeEnd = fds[1];
        // 2 MiB holds a whole 1 MiB read and its header; without the privilege to exceed the system's pipe-max-size
        // (1 MiB by default) the pipe takes what it may and larger reads are copied
        int bytes = KernelChannel.LIBC.fcntl(writeEnd, F_SETPIPE_SZ, 2 * KernelSession.MAX_WRITE);
        if (bytes < 0) {
            bytes = KernelChannel.LIBC.fcntl(writeEnd, F_SETPIPE_SZ, KernelSession.MAX_WRITE);
        }
        pipePages = bytes < 0 ? 16 : bytes / PAGE; // 16 pages: a pipe's default
        return true;
    }

    /** Closes the pipe. */
    void close() {
        if (readEnd >= 0) {
            KernelChannel.LIBC.close(readEnd);
            KernelChannel.LIBC.close(writeEnd);
            readEnd = -1;
            writeEnd = -1;
        }
    }
}
