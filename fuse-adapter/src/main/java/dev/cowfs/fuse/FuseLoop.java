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

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/**
 * libfuse 2's request loop, run on Java threads. {@code fuse_main} would run the loop on threads libfuse starts
 * itself, and the FFI layer attaches such a thread to the JVM for every callback and detaches it after: a new
 * {@code java.lang.Thread} per request, which cost more than the request. Here {@code fuse_setup} mounts and
 * builds the session, and a fixed set of Java worker threads (attached once, for good) each receive a request
 * from the channel and process it, as {@code fuse_loop_mt}'s workers do. When the mount goes away every
 * receive ends; {@code fuse_teardown} then unmounts if still needed and destroys the session.
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

        int fuse_chan_recv(PointerByReference channel, Pointer buffer, @size_t long size);

        void fuse_session_process(Pointer session, Pointer buffer, @size_t long length, Pointer channel);

        int fuse_session_exited(Pointer session);

        void fuse_session_exit(Pointer session);

        void fuse_teardown(Pointer fuse, Pointer mountPoint);
    }

    private static final LibFuseSession LIB = LibraryLoader.create(LibFuseSession.class).failImmediately()
            .load("fuse");

    private final Pointer fuse;
    private final Pointer session;
    private final Pointer mountPointString;
    private final List<Thread> workers = new ArrayList<>();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();

    private FuseLoop(Pointer fuse, Pointer mountPointString) {
        this.fuse = fuse;
        this.session = LIB.fuse_get_session(fuse);
        this.mountPointString = mountPointString;
    }

    /**
     * Mounts with libfuse's argument parsing ({@code argv[0]}, {@code -f}, the mount point, {@code -o ...}) and
     * starts {@code threads} workers.
     *
     * @return null when libfuse refused (it has printed why on standard error)
     */
    static FuseLoop start(FuseOperations operations, String[] argv, int threads) {
        PointerByReference mountPoint = new PointerByReference();
        IntByReference multithreaded = new IntByReference();
        Pointer fuse = LIB.fuse_setup(argv.length, argv, Struct.getMemory(operations), Struct.size(operations),
                mountPoint, multithreaded, null);
        if (fuse == null || fuse.address() == 0) {
            return null;
        }
        FuseLoop loop = new FuseLoop(fuse, mountPoint.getValue());
        for (int i = 0; i < threads; i++) {
            Thread worker = new Thread(loop::work, "cowfs-fuse-" + i);
            worker.setDaemon(true);
            loop.workers.add(worker);
            worker.start();
        }
        return loop;
    }

    private void work() {
        try {
            Runtime runtime = Runtime.getSystemRuntime();
            PointerByReference channel = new PointerByReference(LIB.fuse_session_next_chan(session, null));
            long size = LIB.fuse_chan_bufsize(channel.getValue());
            Pointer buffer = Memory.allocateDirect(runtime, size);
            while (LIB.fuse_session_exited(session) == 0) {
                int received = LIB.fuse_chan_recv(channel, buffer, size);
                if (received == -EINTR || received == -EAGAIN) {
                    continue;
                }
                if (received <= 0) {
                    break; // the mount is gone (ENODEV) or the channel failed
                }
                LIB.fuse_session_process(session, buffer, received, channel.getValue());
            }
        } catch (Throwable t) {
            failure.compareAndSet(null, t);
        } finally {
            LIB.fuse_session_exit(session); // the other workers stop at their next receive
        }
    }

    /** Waits for every worker, then unmounts (when still mounted) and destroys the session. */
    void awaitEnd() throws InterruptedException {
        for (Thread worker : workers) {
            worker.join();
        }
        LIB.fuse_teardown(fuse, mountPointString);
    }

    /** What ended a worker other than the mount going away, if anything. */
    Throwable failure() {
        return failure.get();
    }
}
