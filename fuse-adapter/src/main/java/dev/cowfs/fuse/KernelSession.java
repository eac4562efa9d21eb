package dev.cowfs.fuse;

import dev.cowfs.engine.device.MappedFileDevice;
import dev.cowfs.fs.CowFileSystem;
import dev.cowfs.fs.FsException;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/**
 * A mount served by cowfs's own FUSE server: {@code /dev/fuse} opened, the filesystem mounted on it, and
 * receiving threads that each read requests from their own descriptor (the first the mount's, the others cloned
 * from it), answer them through {@link KernelFuse} and write each reply back on the descriptor it came from. A
 * request is read whole into native memory and a reply written with one system call, except a large read's,
 * which is spliced from the image ({@link ReplySplice}). When the mount goes away every read fails with ENODEV and
 * the threads end.
 */
final class KernelSession {
    /** The largest read or write a request carries: 1 MiB (256 pages). */
    static final int MAX_WRITE = 1 << 20;
    /** A request: header and arguments, a write's data, or a setxattr's value of up to 64 KiB. */
    static final int REQUEST_BYTES = MAX_WRITE + 80 * 1024;
    /** A reply: header and a read's data, or a directory listing of up to a read's size. */
    static final int REPLY_BYTES = MAX_WRITE + 4096;

    private final int sessionFd;
    private final KernelFuse fuse;
    private final PrintWriter log;
    private final List<Thread> workers = new ArrayList<>();
    private volatile Throwable failure;

    private final KernelNotifier notifier;
    private final CowFileSystem fs;

    private final RequestTickets tickets;
    /** Threads reading the device; the io_uring queues' tickets come after theirs. */
    private final int workerCount;
    /** The image opened for splicing read replies from it ({@link ReplySplice}), or -1. */
    private final int imageFd;
    private final LongAdder spliced = new LongAdder();

    private KernelSession(int sessionFd, KernelFuse fuse, PrintWriter log, KernelNotifier notifier,
                          CowFileSystem fs, RequestTickets tickets, int workerCount) {
        this.sessionFd = sessionFd;
        this.imageFd = ReplySplice.openImage(fs.store().device() instanceof MappedFileDevice file ? file.path() : null);
        this.tickets = tickets;
        this.workerCount = workerCount;
        this.fuse = fuse;
        this.log = log;
        this.notifier = notifier;
        this.fs = fs;
    }

    /**
     * Mounts {@code fs} at {@code target} (as root by mount(2), as another user through fusermount3) and starts
     * {@code workerCount} receiving threads.
     *
     * @throws FsException with a one-line reason when the device cannot be opened or the mount is refused
     */
    static KernelSession start(CowFileSystem fs, Path target, String source, MountOptions options,
                               long rootSubvolume, PrintWriter log, int workerCount) throws IOException {
        if (options.uring() && !UringQueues.enabled()) {
            throw new FsException(dev.cowfs.fs.Errno.EOPNOTSUPP, "-o uring: the kernel's FUSE io_uring is off; as root: "
                    + "echo Y > " + UringQueues.ENABLE + " (or mount without uring)");
        }
        boolean root = MountOptions.runningAsRoot();
        int fd = root ? KernelChannel.openDevice() : KernelChannel.mountByFusermount(source, target,
                options.readOnly(), options.allowOther(), MAX_WRITE, options.passed());
        List<Integer> clones = new ArrayList<>();
        try {
            if (root) {
                KernelChannel.mount(fd, source, target, options.readOnly(), options.allowOther(), MAX_WRITE,
                        options.passed());
            }
            for (int i = 1; i < workerCount; i++) {
                clones.add(KernelChannel.cloneOf(fd));
            }
        } catch (IOException | RuntimeException e) {
            clones.forEach(KernelChannel::close);
            if (root) {
                KernelChannel.LIBC.umount2(target.toString(), 2);
            } else {
                KernelChannel.unmountByFusermount(target);
            }
            KernelChannel.close(fd);
            throw e;
        }
        KernelFuse fuse = new KernelFuse(fs, options, rootSubvolume, log);
        RequestTickets tickets = new RequestTickets(workerCount + (options.uring() ? UringQueues.ticketsNeeded() : 0));
        KernelSession session = new KernelSession(fd, fuse, log, new KernelNotifier(fuse, fd, tickets), fs,
                tickets, workerCount);
        fs.setChangeListener(session.notifier);
        fuse.setNotifier(session.notifier);
        session.notifier.start();
        session.startWorker(fd, 0);
        for (int i = 0; i < clones.size(); i++) {
            session.startWorker(clones.get(i), i + 1);
        }
        session.raiseReadahead(target);
        return session;
    }

    /** A thread answering the kernel's requests (its changes need no notification: see {@link KernelNotifier}). */
    static final class Worker extends Thread {
        Worker(Runnable body, String name) {
            super(body, name);
        }
    }

    private void startWorker(int fd, int index) {
        Thread worker = new Worker(() -> receive(fd, index), "cowfs-fuse-" + index);
        worker.setDaemon(true);
        workers.add(worker);
        worker.start();
    }

    /**
     * Lets the kernel read ahead as much as one request carries (1 MiB, not its default 128 KiB), so that sequential
     * reads arrive as whole requests: the mount's read_ahead_kb in sysfs, as root may set it. Best effort: a
     * system without it keeps the default, with a line in the log.
     */
    private void raiseReadahead(Path target) {
        try {
            long dev = (Long) java.nio.file.Files.getAttribute(target, "unix:dev");
            long major = (dev >>> 8) & 0xFFF | (dev >>> 32) & ~0xFFFL;
            long minor = dev & 0xFF | (dev >>> 12) & ~0xFFL;
            java.nio.file.Files.writeString(Path.of("/sys/class/bdi/" + major + ":" + minor + "/read_ahead_kb"),
                    String.valueOf(MAX_WRITE / 1024));
        } catch (IOException | RuntimeException e) {
            logProblem("could not raise the mount's read-ahead to " + MAX_WRITE / 1024 + " KiB (" + e + ")");
        }
    }

    /** Reads, answers and replies until the mount goes away. */
    private void receive(int fd, int index) {
        FuseMessage m = new FuseMessage(REQUEST_BYTES, REPLY_BYTES);
        m.splice = ReplySplice.forThread(imageFd, fd, log, spliced);
        if (index == 0) {
            logProblem(m.splice == null ? "FUSE reads copied (the image could not be opened for splicing)"
                    : "FUSE reads of " + ReplySplice.MIN_BYTES / 1024 + " to " + m.splice.maxBytes() / 1024
                    + " KiB spliced from the image (a pipe of " + m.splice.pipePages() * 4 + " KiB"
                    + (m.splice.maxBytes() < MAX_WRITE ? "; 1 MiB reads need 2 MiB: CAP_SYS_RESOURCE or "
                    + "fs.pipe-max-size=2097152)" : ")"));
        }
        try {
            while (!fuse.destroyed()) {
                long read = KernelChannel.LIBC.read(fd, m.requestMemory, REQUEST_BYTES);
                if (read < 0) {
                    int errno = KernelChannel.errno();
                    if (errno == KernelChannel.ENODEV) {
                        return; // unmounted
                    }
                    if (errno != KernelChannel.EINTR && errno != KernelChannel.EAGAIN
                            && errno != KernelChannel.ENOENT) {
                        throw new IOException("reading the FUSE device failed (errno " + errno + ")");
                    }
                    continue;
                }
                m.length = (int) read;
                tickets.begin(index);
                int errno = 0;
                try {
                    int length = fuse.handle(m);
                    if (length > 0 && KernelChannel.LIBC.write(fd, m.replyMemory, length) < 0) {
                        errno = KernelChannel.errno();
                    }
                } finally {
                    tickets.end(index);
                }
                if (errno == KernelChannel.ENODEV) {
                    return;
                }
                if (errno == 0 && m.opcode() == FuseProtocol.INIT && fuse.uringAgreed()) {
                    startUring();
                }
                if (errno != 0 && errno != KernelChannel.ENOENT) { // ENOENT: the request was interrupted meanwhile
                    logProblem("writing a reply to the FUSE device failed (errno " + errno + ")");
                }
            }
        } catch (Throwable t) {
            failure = t;
            logProblem("the FUSE server thread stopped: " + t);
        } finally {
            if (m.splice != null) {
                m.splice.close();
            }
            if (fd != sessionFd) {
                KernelChannel.close(fd);
            }
        }
    }

    private volatile UringQueues uring;

    /** After INIT agreed to io_uring (and its reply is written): the queues register and take the requests. */
    private synchronized void startUring() {
        if (uring == null) {
            uring = new UringQueues(sessionFd, fuse, log, tickets, workerCount);
            uring.start();
        }
    }

    private void logProblem(String message) {
        synchronized (log) {
            log.println("cowfs: " + message);
            log.flush();
        }
    }

    /** Waits until every receiving thread has ended (the mount is gone), then closes the device. */
    void awaitEnd() throws InterruptedException {
        for (Thread worker : workers) {
            worker.join();
        }
        UringQueues queues = uring;
        if (queues != null) {
            queues.awaitEnd();
        }
        if (imageFd >= 0) {
            logProblem("FUSE reads: " + spliced.sum() + " replies spliced from the image");
        }
        fs.setChangeListener(null);
        notifier.stop();
        KernelChannel.close(sessionFd);
        if (imageFd >= 0) {
            KernelChannel.close(imageFd);
        }
    }

    /** Why a receiving thread stopped other than by the mount going away, or null. */
    Throwable failure() {
        return failure;
    }
}
