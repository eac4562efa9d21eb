package dev.cowfs.fuse;

import jnr.ffi.LibraryLoader;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.ffi.Struct;
import jnr.ffi.byref.IntByReference;
import jnr.ffi.byref.PointerByReference;
import jnr.ffi.types.size_t;
import ru.serce.jnrfuse.struct.FuseOperations;

import java.util.ArrayDeque;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * libfuse 2's request loop, run on Java threads. {@code fuse_main} would run the loop on threads libfuse starts
 * itself, and the FFI layer attaches such a thread to the JVM for every callback and detaches it after: a new
 * {@code java.lang.Thread} per request, which cost more than the request. Here {@code fuse_setup} mounts and
 * builds the session, and Java worker threads (attached once, for good) each receive a request from the channel
 * and process it, as {@code fuse_loop_mt}'s workers do. When the mount goes away every receive ends;
 * {@code fuse_teardown} then unmounts if still needed and destroys the session.
 *
 * <p>One worker at a time receives (the leader); the others wait in a last-in, first-out stack. The leader answers
 * quick requests itself and receives again: a request that arrived meanwhile is then taken with no thread woken,
 * which is what a stream of reads or writes from one program needs (the kernel hands a request to the receiver
 * that has waited longest, so with every worker receiving, each request would wake a different, cold thread:
 * measured here, one program's sequential writes and reads ran about 15% slower with eight receivers).
 * Before a request that may take long (fsync, unlink, release, truncate, snapshot) and before any request when
 * another program's requests are waiting, the leader first hands receiving to the latest waiting worker, or
 * starts one (up to {@link #maxWorkers}), so that programs are served side by side. A worker that finds more
 * than {@link #maxIdle} waiting ends, as in {@code fuse_loop_mt}.
 */
final class FuseLoop {
    private static final int EINTR = 4;
    private static final int EAGAIN = 11;

    /** The part of libfuse 2's API the loop needs (all exported since FUSE 2.6). */
    public interface LibFuseSession {
        Pointer fuse_setup(int argc, String[] argv, Pointer operations, @size_t long operationsSize,
                           PointerByReference mountPoint, IntByReference multithreaded, Pointer userData);

        Pointer fuse_get_session(Pointer fuse);

        Pointer fuse_session_next_chan(Pointer session, Pointer channel);

        @size_t
        long fuse_chan_bufsize(Pointer channel);

        int fuse_chan_fd(Pointer channel);

        int fuse_chan_recv(PointerByReference channel, Pointer buffer, @size_t long size);

        void fuse_session_process(Pointer session, Pointer buffer, @size_t long length, Pointer channel);

        int fuse_session_exited(Pointer session);

        void fuse_session_exit(Pointer session);

        void fuse_teardown(Pointer fuse, Pointer mountPoint);
    }

    private static final LibFuseSession LIB = LibraryLoader.create(LibFuseSession.class).failImmediately()
            .load("fuse");

    /** poll(2), to see whether more requests wait in the channel. */
    public interface LibC {
        int poll(Pointer fds, long count, int timeoutMillis);
    }

    private static final LibC LIBC = LibraryLoader.create(LibC.class).failImmediately().load("c");
    /** Where the request header (struct fuse_in_header) holds the operation and the calling thread. */
    private static final int OPCODE_OFFSET = 4;
    private static final int PID_OFFSET = 32;
    /**
     * Operations answered on the receiving thread: lookups, attributes, reads and writes of at most 128 KiB,
     * opening and listing. A write may also write out buffered data or commit (every 128 MiB written), but it then
     * holds the filesystem's write lock, which other requests would wait for anyway. Everything else (fsync,
     * which commits; unlink, truncate and release, which may free a large file; snapshots by mkdir) first lets
     * another worker receive.
     */
    private static final long INLINE_OPERATIONS = bits(1 /* LOOKUP */, 2 /* FORGET */, 3 /* GETATTR */,
            5 /* READLINK */, 14 /* OPEN */, 15 /* READ */, 16 /* WRITE */, 17 /* STATFS */, 22 /* GETXATTR */,
            23 /* LISTXATTR */, 25 /* FLUSH */, 27 /* OPENDIR */, 28 /* READDIR */, 29 /* RELEASEDIR */,
            34 /* ACCESS */, 35 /* CREATE */, 36 /* INTERRUPT */, 42 /* BATCH_FORGET */);
    private static final short POLLIN = 1;

    private static long bits(int... opcodes) {
        long mask = 0;
        for (int opcode : opcodes) {
            mask |= 1L << opcode;
        }
        return mask;
    }

    private final Pointer fuse;
    private final Pointer session;
    private final Pointer mountPointString;
    private final int maxWorkers;
    private final int maxIdle;
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    /** Guards the fields below. */
    private final Object lock = new Object();
    private int workers;
    private int started;
    /** Whether a worker receives (or is about to): only one does at a time. */
    private boolean leaderPresent;
    /** Workers waiting to receive, the latest first. */
    private final ArrayDeque<Follower> followers = new ArrayDeque<>();
    private boolean exiting;
    /** The thread that sent the last request received (racy: a hint). */
    private volatile int lastCaller;

    private static final class Follower {
        final Thread thread = Thread.currentThread();
        volatile boolean promoted;
    }

    private FuseLoop(Pointer fuse, Pointer mountPointString, int maxWorkers, int maxIdle) {
        this.fuse = fuse;
        this.session = LIB.fuse_get_session(fuse);
        this.mountPointString = mountPointString;
        this.maxWorkers = maxWorkers;
        this.maxIdle = maxIdle;
    }

    /**
     * Mounts with libfuse's argument parsing ({@code argv[0]}, {@code -f}, the mount point, {@code -o ...}) and
     * starts the first worker; there are at most {@code maxWorkers}, and at most {@code maxIdle} wait at once.
     *
     * @return null when libfuse refused (it has printed why on standard error)
     */
    static FuseLoop start(FuseOperations operations, String[] argv, int maxWorkers, int maxIdle) {
        PointerByReference mountPoint = new PointerByReference();
        IntByReference multithreaded = new IntByReference();
        Pointer fuse = LIB.fuse_setup(argv.length, argv, Struct.getMemory(operations), Struct.size(operations),
                mountPoint, multithreaded, null);
        if (fuse == null || fuse.address() == 0) {
            return null;
        }
        FuseLoop loop = new FuseLoop(fuse, mountPoint.getValue(), maxWorkers, maxIdle);
        synchronized (loop.lock) {
            loop.startWorker();
        }
        return loop;
    }

    /** Starts one more worker; the caller holds {@link #lock}. */
    private boolean startWorker() {
        Thread worker = new Thread(this::work, "cowfs-fuse-" + started++);
        worker.setDaemon(true);
        workers++;
        try {
            worker.start();
            return true;
        } catch (OutOfMemoryError e) { // no thread to be had: the others carry on
            workers--;
            return false;
        }
    }

    /** Waits until this worker may receive; false when the session ends or there are enough waiting. */
    private boolean lead() {
        Follower me;
        synchronized (lock) {
            if (exiting) {
                return false;
            }
            if (!leaderPresent) {
                leaderPresent = true;
                return true;
            }
            if (followers.size() >= maxIdle) {
                return false;
            }
            me = new Follower();
            followers.push(me);
        }
        while (!me.promoted) {
            LockSupport.park(this);
        }
        synchronized (lock) {
            return !exiting;
        }
    }

    /** Lets another worker receive while this one processes: the latest waiting, or a new one. */
    private void handOff() {
        synchronized (lock) {
            Follower next = followers.poll();
            if (next != null) {
                next.promoted = true;
                LockSupport.unpark(next.thread);
            } else {
                leaderPresent = false; // for a new worker, or the first that is done
                if (workers < maxWorkers) {
                    startWorker();
                }
            }
        }
    }

    private void work() {
        boolean sessionEnds = false;
        boolean ready = false;
        try {
            Runtime runtime = Runtime.getSystemRuntime();
            PointerByReference channel = new PointerByReference(LIB.fuse_session_next_chan(session, null));
            long size = LIB.fuse_chan_bufsize(channel.getValue());
            Pointer buffer = Memory.allocateDirect(runtime, size);
            Pointer pollFd = Memory.allocateDirect(runtime, 8);
            pollFd.putInt(0, LIB.fuse_chan_fd(channel.getValue()));
            ready = true;
            boolean leading = lead();
            while (leading && LIB.fuse_session_exited(session) == 0) {
                int received = LIB.fuse_chan_recv(channel, buffer, size);
                if (received == -EINTR || received == -EAGAIN) {
                    continue;
                }
                if (received <= 0) {
                    sessionEnds = true;
                    break; // the mount is gone (ENODEV) or the channel failed
                }
                int opcode = buffer.getInt(OPCODE_OFFSET);
                int caller = buffer.getInt(PID_OFFSET);
                boolean otherCaller = caller != lastCaller;
                lastCaller = caller;
                boolean handedOff = opcode < 0 || opcode >= 64 || (INLINE_OPERATIONS & 1L << opcode) == 0
                        || (otherCaller && waiting(pollFd));
                if (handedOff) {
                    handOff();
                }
                LIB.fuse_session_process(session, buffer, received, channel.getValue());
                if (handedOff) {
                    leading = lead();
                }
            }
            // Leaving as the receiver means the session is over (however it ended): the waiting ones must go too.
            sessionEnds |= leading;
        } catch (Throwable t) {
            synchronized (lock) {
                // A worker started for a hand-off that could not even set up just leaves: the others receive.
                sessionEnds = ready || workers == 1;
            }
            if (sessionEnds) {
                failure.compareAndSet(null, t);
            }
        } finally {
            if (sessionEnds) {
                LIB.fuse_session_exit(session); // before this worker counts as ended: teardown then frees it
            }
            synchronized (lock) {
                if (sessionEnds) {
                    exiting = true;
                }
                if (exiting) { // the others wake, see the end and leave
                    for (Follower follower : followers) {
                        follower.promoted = true;
                        LockSupport.unpark(follower.thread);
                    }
                    followers.clear();
                }
                workers--;
                lock.notifyAll();
            }
        }
    }

    /** Whether a request already waits in the channel. */
    private static boolean waiting(Pointer pollFd) {
        pollFd.putShort(4, POLLIN);
        pollFd.putShort(6, (short) 0);
        return LIBC.poll(pollFd, 1, 0) > 0;
    }

    /** Waits for every worker, then unmounts (when still mounted) and destroys the session. */
    void awaitEnd() throws InterruptedException {
        synchronized (lock) {
            while (workers > 0) {
                lock.wait();
            }
        }
        LIB.fuse_teardown(fuse, mountPointString);
    }

    /** What ended a worker other than the mount going away, if anything. */
    Throwable failure() {
        return failure.get();
    }
}
