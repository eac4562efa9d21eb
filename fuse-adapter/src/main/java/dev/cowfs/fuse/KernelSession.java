package dev.cowfs.fuse;

import dev.cowfs.engine.device.MappedFileDevice;
import dev.cowfs.fs.CowFileSystem;
import dev.cowfs.fs.FsException;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.atomic.LongAdder;

/**
 * A mount served by cowfs's own FUSE server: {@code /dev/fuse} opened, the filesystem mounted on it, and
 * receiving threads that each read requests from their own descriptor (the first the mount's, the others cloned
 * from it and reading while programs ask at once; see receivers), answer them through {@link KernelFuse} and write
 * each reply back on the descriptor it came from. A request is read whole into native memory and a reply written
 * with one system call, except a large read's, which is spliced from the image ({@link ReplySplice}). When the
 * mount goes away every read fails with ENODEV and the threads end.
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
    /** The receiving threads; the io_uring queues' tickets come after theirs. */
    private final int threadCount;
    /** The image opened for splicing read replies from it ({@link ReplySplice}), or -1. */
    private final int imageFd;
    private final LongAdder spliced = new LongAdder();

    private KernelSession(int sessionFd, KernelFuse fuse, PrintWriter log, KernelNotifier notifier,
                          CowFileSystem fs, RequestTickets tickets, int threadCount) {
        this.sessionFd = sessionFd;
        this.imageFd = ReplySplice.openImage(fs.store().device() instanceof MappedFileDevice file ? file.path() : null);
        this.tickets = tickets;
        this.threadCount = threadCount;
        this.fuse = fuse;
        this.log = log;
        this.notifier = notifier;
        this.fs = fs;
    }

    /**
     * Mounts {@code fs} at {@code target} (as root by mount(2), as another user through fusermount3) and starts the
     * receiving thread and {@code extraReceivers} more, each on a descriptor of its own, that also read while
     * programs ask at once (see receivers).
     *
     * @throws FsException with a one-line reason when the device cannot be opened or the mount is refused
     */
    static KernelSession start(CowFileSystem fs, Path target, String source, MountOptions options,
                               long rootSubvolume, PrintWriter log, int extraReceivers) throws IOException {
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
            KernelChannel.nonBlocking(fd);
            for (int i = 0; i < extraReceivers; i++) {
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
        int threads = 1 + clones.size();
        RequestTickets tickets = new RequestTickets(threads + (options.uring() ? UringQueues.ticketsNeeded() : 0));
        KernelSession session = new KernelSession(fd, fuse, log, new KernelNotifier(fuse, fd, tickets), fs,
                tickets, threads);
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

    /*
     * receivers: the first receiving thread reads the mount's descriptor: it reads a request, answers it, writes
     * the reply and reads again at once. While one program at a time is asking (quiet), it keeps asking for up to
     * SPIN_NANOS when nothing is queued before it sleeps in poll(2), and the other receivers wait here, not in the
     * kernel: a program making one request after another (cp, tar, a database) so finds its next request taken
     * by a thread that is already running, and the kernel wakes nobody to deliver it. On a virtual machine waking
     * a sleeping thread costs more than answering most requests: on the bench machine a missing getxattr through
     * the mount took 20-22 us this way, 33-42 us when four threads each slept in read(2); and a thread woken for
     * a request another has taken already is a switch for nothing, which is why the others do not wait in the
     * kernel meanwhile. When the first finds a request of another thread (another pid in the request's header)
     * queued behind the one it answered, programs are asking at once (busy): for QUIET_NANOS from then on nobody
     * spins (the programs need the processors) and the other receivers, each on a descriptor cloned from the
     * mount's (FUSE_DEV_IOC_CLONE), wait in read(2) like the first, answering in parallel and replying on the
     * descriptor the request came from.
     * The kernel's own requests (pid 0) and a program's background ones (its own pid) do not count. A request
     * that waits for a commit is answered where it was read: a commit holds the filesystem's lock, so nothing else
     * could be answered meanwhile anyway. A mount nobody uses sleeps
     * (KernelBackendIT.anIdleMountsReceivingThreadSleeps).
     */

    /** How long the first receiver keeps asking for a request, while quiet, before it sleeps in poll(2). */
    static final long SPIN_NANOS = 50_000;

    /** How long after another program's request last queued up the receivers stay busy (see receivers). */
    static final long QUIET_NANOS = 10_000_000;

    /** When the first receiver last found another program's request queued up behind the one it answered. */
    private volatile long lastQueuedUp = System.nanoTime() - (1L << 40);

    /** Whether the first receiver has ended (the mount gone, or it failed: the others then wait in the kernel). */
    private volatile boolean firstEnded;

    /** The other receivers waiting in the server while it is quiet (see receivers). */
    private final ConcurrentLinkedQueue<Thread> idle = new ConcurrentLinkedQueue<>();

    /** Reads, answers and replies until the mount goes away (see receivers). */
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
        jnr.ffi.Pointer pollfd = KernelChannel.pollfd();
        try {
            long idleSince = System.nanoTime();
            boolean answered = false; // the last read found a request, answered since
            int lastPid = 0; // the thread (its pid in the request's header) that asked the last request read here
            while (!fuse.destroyed()) {
                if (index > 0 && !firstEnded && System.nanoTime() - lastQueuedUp > QUIET_NANOS) {
                    waitWhileQuiet();
                    continue;
                }
                long read = KernelChannel.LIBC.read(fd, m.requestMemory, REQUEST_BYTES);
                if (read < 0) {
                    int errno = KernelChannel.errno();
                    answered = false;
                    if (errno == KernelChannel.ENODEV) {
                        return; // unmounted
                    }
                    if (errno == KernelChannel.EAGAIN) { // the first receiver's descriptor only
                        idleSince = spinOrSleep(fd, pollfd, idleSince);
                    } else if (errno != KernelChannel.EINTR && errno != KernelChannel.ENOENT) {
                        throw new IOException("reading the FUSE device failed (errno " + errno + ")");
                    }
                    continue;
                }
                m.length = (int) read;
                int pid = m.pid();
                if (answered && index == 0 && pid != 0 && pid != lastPid) {
                    busy(); // another thread's request was queued while this one's was answered
                }
                lastPid = pid;
                answer(m, fd, index);
                if (m.opcode() == FuseProtocol.INIT && fuse.uringAgreed()) {
                    startUring();
                }
                answered = true;
                idleSince = System.nanoTime();
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
            if (index == 0) { // the others may wait to be called on: they find the mount gone, or wait in turn
                firstEnded = true;
                for (Thread worker : workers) {
                    LockSupport.unpark(worker);
                }
            }
        }
    }

    /** An extra receiver while it is quiet: waits in the server until the first calls on it (see receivers). */
    private void waitWhileQuiet() {
        if (!idle.contains(Thread.currentThread())) { // a wake-up without a call leaves it there
            idle.add(Thread.currentThread());
        }
        LockSupport.park(this);
    }

    /**
     * The first receiver found nothing queued: asks again at once while quiet and within SPIN_NANOS of
     * {@code idleSince}, else sleeps in poll(2). Returns when it last was idle from.
     */
    private long spinOrSleep(int fd, jnr.ffi.Pointer pollfd, long idleSince) {
        long now = System.nanoTime();
        if (now - idleSince < SPIN_NANOS && now - lastQueuedUp > QUIET_NANOS) {
            Thread.onSpinWait();
            return idleSince;
        }
        KernelChannel.awaitReadable(fd, pollfd);
        return System.nanoTime();
    }

    /** Programs are asking at once: for QUIET_NANOS every receiver waits in the kernel (see receivers). */
    private void busy() {
        lastQueuedUp = System.nanoTime();
        for (Thread other; (other = idle.poll()) != null; ) {
            LockSupport.unpark(other);
        }
    }

    /** Answers one request and writes the reply, holding ticket {@code index} meanwhile. */
    private void answer(FuseMessage m, int fd, int index) {
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
        if (errno != 0 && errno != KernelChannel.ENOENT && errno != KernelChannel.ENODEV) {
            // ENOENT: the request was interrupted meanwhile; ENODEV: the mount is going away
            logProblem("writing a reply to the FUSE device failed (errno " + errno + ")");
        }
    }

    private volatile UringQueues uring;

    /** After INIT agreed to io_uring (and its reply is written): the queues register and take the requests. */
    private synchronized void startUring() {
        if (uring == null) {
            uring = new UringQueues(sessionFd, fuse, log, tickets, threadCount);
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
