package dev.cowfs.fuse;

import com.kenai.jffi.MemoryIO;
import dev.cowfs.fs.Errno;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.types.size_t;

import java.io.IOException;
import java.io.PrintWriter;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * FUSE over io_uring (protocol 7.42): one queue per CPU, each served by a thread bound to that CPU with an io_uring
 * of its own. The kernel puts a request on the queue of the CPU the calling program runs on, so the request and
 * its answer never cross CPUs: no inter-processor wake-up per request, which on a virtual machine costs more than
 * the work (a cp -a of small files ran 2.5 times faster with program and server on one CPU than on two). Each queue
 * registers a few entries, each a header buffer (struct fuse_uring_req_header: the in or out header, the
 * operation's fixed argument, struct fuse_uring_ent_in_out) and a payload buffer (the other arguments, or the
 * answer); an entry's completion is a request, and committing the answer fetches the next one in the same
 * submission. FORGET, INTERRUPT and the notifications still go through the device as before.
 *
 * <p>The request is laid out as read from the device (header, arguments) so that {@link KernelFuse} answers it
 * unchanged; the answer is split back into header and payload.
 */
final class UringQueues {
    /** Syscalls and memory the rings need (glibc). */
    public interface Sys {
        long syscall(long number, long a, long b, long c, long d, long e, long f);

        int munmap(long address, @size_t long length);

        int sched_setaffinity(int pid, @size_t long size, Pointer mask);

        int close(int fd);
    }

    private static final Sys SYS = LibraryLoader.create(Sys.class).failImmediately().load("c");
    private static final MemoryIO MEMORY = MemoryIO.getInstance();
    private static final long SYS_IO_URING_SETUP = 425;
    private static final long SYS_IO_URING_ENTER = 426;
    private static final int IORING_SETUP_SQE128 = 1 << 10;
    private static final int IORING_FEAT_SINGLE_MMAP = 1;
    private static final int IORING_ENTER_GETEVENTS = 1;
    private static final long IORING_OFF_SQES = 0x10000000L;
    private static final int IORING_OP_URING_CMD = 46;
    private static final int PROT_READ_WRITE = 3;
    private static final int MAP_SHARED = 0x01;
    private static final long SYS_MMAP = 9;
    private static final int SQE_BYTES = 128;
    private static final int CQE_BYTES = 16;
    private static final int CMD_REGISTER = 1;
    private static final int CMD_COMMIT_AND_FETCH = 2;
    /** struct fuse_uring_req_header: in/out header (128), operation argument (128), ent_in_out (32). */
    private static final int HEADER_BYTES = 288;
    private static final int OP_IN_AT = 128;
    private static final int ENT_AT = 256;
    /** Entries per queue: requests one CPU's programs can have in flight at once. */
    private static final int DEPTH = 4;
    private static final int MAX_WRITE = KernelSession.MAX_WRITE;
    /** An entry's payload buffer: a write's data, a read's answer, any other request's or answer's body. */
    private static final int PAYLOAD_BYTES = KernelSession.REPLY_BYTES;
    /** Where the kernel says whether FUSE may use io_uring at all. */
    static final Path ENABLE = Path.of("/sys/module/fuse/parameters/enable_uring");

    private final int deviceFd;
    private final KernelFuse fuse;
    private final PrintWriter log;
    private final RequestTickets tickets;
    private final int firstTicket;
    private final List<Thread> threads = new ArrayList<>();
    private final int queues = possibleCpus();
    private final java.util.concurrent.atomic.AtomicLong answered = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicInteger registered = new java.util.concurrent.atomic.AtomicInteger();

    UringQueues(int deviceFd, KernelFuse fuse, PrintWriter log, RequestTickets tickets, int firstTicket) {
        this.deviceFd = deviceFd;
        this.fuse = fuse;
        this.log = log;
        this.tickets = tickets;
        this.firstTicket = firstTicket;
    }

    /** Whether the kernel lets FUSE use io_uring (the fuse module's enable_uring, which root may set). */
    static boolean enabled() {
        try {
            return Files.readString(ENABLE).trim().equals("Y");
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * The queues needed: one per possible CPU number, up to the highest (the kernel numbers its queues by CPU and
     * waits for every one before it uses the rings).
     */
    static int possibleCpus() {
        try {
            String text = Files.readString(Path.of("/sys/devices/system/cpu/possible")).trim();
            int highest = 0;
            for (String range : text.split(",")) {
                String[] ends = range.split("-");
                highest = Math.max(highest, Integer.parseInt(ends[ends.length - 1]));
            }
            return highest + 1;
        } catch (IOException | RuntimeException e) {
            return Runtime.getRuntime().availableProcessors();
        }
    }

    /** Tickets the queue threads take: one per queue, after the device readers'. */
    static int ticketsNeeded() {
        return possibleCpus();
    }

    /** Starts one thread per possible CPU; each sets up its ring and registers its entries. */
    void start() {
        for (int q = 0; q < queues; q++) {
            int queue = q;
            Thread thread = new KernelSession.Worker(() -> serve(queue), "cowfs-fuse-uring-" + q);
            thread.setDaemon(true);
            threads.add(thread);
            thread.start();
        }
    }

    /**
     * Waits for the queues to see the connection end (each at most five seconds: the rings are the kernel's), then
     * logs how many requests came through them.
     */
    void awaitEnd() throws InterruptedException {
        for (Thread thread : threads) {
            thread.join(5_000);
        }
        problem("FUSE io_uring: " + answered.get() + " requests answered on " + queues + " queues");
    }

    /** A line in the mount log. */
    private void problem(String message) {
        synchronized (log) {
            log.println("cowfs: " + message);
            log.flush();
        }
    }

    // ------------------------------------------------------------------ one queue

    private void serve(int queue) {
        try {
            bindTo(queue);
            new Ring(queue).run();
        } catch (Throwable t) {
            problem("FUSE io_uring queue " + queue + " stopped: " + t);
        }
    }

    private static void bindTo(int cpu) {
        Pointer mask = Memory.allocateDirect(KernelChannel.LIBC_RUNTIME, 128, true);
        mask.putByte(cpu / 8, (byte) (1 << (cpu % 8)));
        SYS.sched_setaffinity(0, 128, mask); // best effort: unbound, requests still work
    }

    private final class Ring {
        private final int queue;
        private final int ringFd;
        private final long rings;
        private final long ringsLength;
        private final long sqes;
        private final long sqesLength;
        private final int sqHead;
        private final int sqTail;
        private final int sqMask;
        private final int sqArray;
        private final int cqHead;
        private final int cqTail;
        private final int cqMask;
        private final int cqes;
        private final ByteBuffer ringView;
        private final ByteBuffer sqeView;
        private final ByteBuffer[] headers = new ByteBuffer[DEPTH];
        private final ByteBuffer[] payloads = new ByteBuffer[DEPTH];
        /** Each entry's payload buffer with the answer's header in front: the reply is built here. */
        private final ByteBuffer[] answers = new ByteBuffer[DEPTH];
        private final Pointer iovecs;
        /** The buffers' native memory, held here: jnr frees it when its pointer is collected. */
        private final Pointer[] memory = new Pointer[2 * DEPTH];
        /** Requests are rebuilt here, except a write's data (read in place); its reply buffer is not used. */
        private final FuseMessage m = new FuseMessage(KernelSession.REQUEST_BYTES - MAX_WRITE, 64);
        private int pendingSubmissions;
        /** Entries still registered; the queue ends when the kernel has ended them all. */
        private int liveEntries = DEPTH;

        Ring(int queue) throws IOException {
            this.queue = queue;
            Pointer params = Memory.allocateDirect(KernelChannel.LIBC_RUNTIME, 120, true);
            params.putInt(8, IORING_SETUP_SQE128);
            long fd = SYS.syscall(SYS_IO_URING_SETUP, 2L * DEPTH, params.address(), 0, 0, 0, 0);
            if (fd < 0) {
                throw new IOException("io_uring_setup failed (errno " + KernelChannel.errno() + ")");
            }
            ringFd = (int) fd;
            int sqEntries = params.getInt(0);
            int cqEntries = params.getInt(4);
            if ((params.getInt(20) & IORING_FEAT_SINGLE_MMAP) == 0) {
                throw new IOException("io_uring without single mmap is not supported");
            }
            sqHead = params.getInt(40);
            sqTail = params.getInt(44);
            sqMask = params.getInt(48);
            sqArray = params.getInt(64);
            cqHead = params.getInt(80);
            cqTail = params.getInt(84);
            cqMask = params.getInt(88);
            cqes = params.getInt(100);
            ringsLength = Math.max(sqArray + 4L * sqEntries, cqes + (long) CQE_BYTES * cqEntries);
            rings = SYS.syscall(SYS_MMAP, 0, ringsLength, PROT_READ_WRITE, MAP_SHARED, ringFd, 0);
            sqesLength = (long) SQE_BYTES * sqEntries;
            sqes = SYS.syscall(SYS_MMAP, 0, sqesLength, PROT_READ_WRITE, MAP_SHARED, ringFd, IORING_OFF_SQES);
            if (rings < 0 || sqes < 0) {
                throw new IOException("mapping the io_uring failed (errno " + KernelChannel.errno() + ")");
            }
            ringView = MEMORY.newDirectByteBuffer(rings, (int) ringsLength).order(ByteOrder.LITTLE_ENDIAN);
            sqeView = MEMORY.newDirectByteBuffer(sqes, (int) sqesLength).order(ByteOrder.LITTLE_ENDIAN);
            iovecs = Memory.allocateDirect(KernelChannel.LIBC_RUNTIME, 32L * DEPTH, true);
            for (int i = 0; i < DEPTH; i++) {
                Pointer header = Memory.allocateDirect(KernelChannel.LIBC_RUNTIME, HEADER_BYTES, true);
                // The payload buffer has room for an answer's header in front of it: answers are built in place.
                Pointer answer = Memory.allocateDirect(KernelChannel.LIBC_RUNTIME,
                        FuseProtocol.OUT_HEADER_SIZE + PAYLOAD_BYTES, true);
                memory[2 * i] = header;
                memory[2 * i + 1] = answer;
                headers[i] = MEMORY.newDirectByteBuffer(header.address(), HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
                answers[i] = MEMORY.newDirectByteBuffer(answer.address(), FuseProtocol.OUT_HEADER_SIZE + PAYLOAD_BYTES)
                        .order(ByteOrder.LITTLE_ENDIAN);
                payloads[i] = answers[i].slice(FuseProtocol.OUT_HEADER_SIZE, PAYLOAD_BYTES)
                        .order(ByteOrder.LITTLE_ENDIAN);
                iovecs.putLong(32L * i, header.address());
                iovecs.putLong(32L * i + 8, HEADER_BYTES);
                iovecs.putLong(32L * i + 16, answer.address() + FuseProtocol.OUT_HEADER_SIZE);
                iovecs.putLong(32L * i + 24, PAYLOAD_BYTES);
            }
        }

        void run() throws IOException {
            for (int i = 0; i < DEPTH; i++) {
                queueCommand(i, CMD_REGISTER, 0);
            }
            if (registered.incrementAndGet() == queues) {
                problem("FUSE io_uring: " + queues + " queues of " + DEPTH + " entries, one per CPU");
            }
            int ticket = firstTicket + queue;
            while (true) {
                long done = SYS.syscall(SYS_IO_URING_ENTER, ringFd, pendingSubmissions, 1, IORING_ENTER_GETEVENTS,
                        0, 0);
                if (done < 0) {
                    int errno = KernelChannel.errno();
                    if (errno == KernelChannel.EINTR || errno == KernelChannel.EAGAIN) {
                        continue;
                    }
                    throw new IOException("io_uring_enter failed (errno " + errno + ")");
                }
                pendingSubmissions = 0;
                VarHandle.acquireFence();
                int head = ringView.getInt(cqHead);
                int tail = ringView.getInt(cqTail);
                if (head == tail) {
                    continue;
                }
                while (head != tail) {
                    int at = cqes + (head & ringView.getInt(cqMask)) * CQE_BYTES;
                    int entry = (int) ringView.getLong(at);
                    int result = ringView.getInt(at + 8);
                    head++;
                    VarHandle.releaseFence();
                    ringView.putInt(cqHead, head);
                    if (result < 0) {
                        // the connection ended (ENOTCONN) or the ring was cancelled: this entry is done
                        if (result != -107 && result != -125 && result != -19) {
                            problem("FUSE io_uring queue " + queue + " entry " + entry + ": error " + (-result));
                        }
                        if (--liveEntries == 0) {
                            close();
                            return;
                        }
                        continue;
                    }
                    tickets.begin(ticket);
                    try {
                        answer(entry);
                    } finally {
                        tickets.end(ticket);
                    }
                    answered.incrementAndGet();
                }
            }
        }

        /**
         * Rebuilds the request as the device gives it (header, argument, the rest; a write's data is left in the
         * payload buffer and read there), answers it in place (the answer's header just before the payload
         * buffer, its body in it: a read's data goes straight from the image into the buffer the kernel copies
         * from), and queues the answer's commit.
         */
        private void answer(int entry) {
            ByteBuffer header = headers[entry];
            ByteBuffer payload = payloads[entry];
            long commitId = header.getLong(ENT_AT + 8);
            int payloadBytes = header.getInt(ENT_AT + 16);
            int total = header.getInt(0);
            int opBytes = Math.max(0, Math.min(128, total - FuseProtocol.IN_HEADER_SIZE - payloadBytes));
            ByteBuffer request = m.request;
            for (int i = 0; i < FuseProtocol.IN_HEADER_SIZE; i += 8) {
                request.putLong(i, header.getLong(i));
            }
            request.put(FuseProtocol.IN_HEADER_SIZE, header, OP_IN_AT, opBytes);
            boolean dataInPlace = header.getInt(FuseProtocol.IN_OPCODE) == FuseProtocol.WRITE;
            ByteBuffer reply = answers[entry];
            if (!dataInPlace && FuseProtocol.IN_HEADER_SIZE + opBytes + payloadBytes > request.capacity()) {
                // no request but a write carries this much; refused rather than let the queue's thread fail
                problem("FUSE io_uring: request " + header.getInt(FuseProtocol.IN_OPCODE) + " of " + total
                        + " bytes refused (EIO)");
                header.putInt(0, FuseProtocol.OUT_HEADER_SIZE); // the unique id stays where the request had it
                header.putInt(4, -Errno.EIO.number());
                header.putInt(ENT_AT + 16, 0);
                queueCommand(entry, CMD_COMMIT_AND_FETCH, commitId);
                return;
            }
            if (!dataInPlace) {
                request.put(FuseProtocol.IN_HEADER_SIZE + opBytes, payload, 0, payloadBytes);
            }
            m.length = FuseProtocol.IN_HEADER_SIZE + opBytes + payloadBytes;
            request.putInt(0, m.length);
            m.lend(dataInPlace ? payload : null, opBytes, reply);
            int length = fuse.handle(m);
            if (length == 0) {
                length = m.finishReply(0);
            }
            header.putInt(0, length);
            header.putInt(4, reply.getInt(4));
            header.putLong(8, reply.getLong(8));
            header.putInt(ENT_AT + 16, length - FuseProtocol.OUT_HEADER_SIZE);
            queueCommand(entry, CMD_COMMIT_AND_FETCH, commitId);
        }

        /** Writes one IORING_OP_URING_CMD for entry {@code entry} into the submission queue. */
        private void queueCommand(int entry, int command, long commitId) {
            VarHandle.acquireFence();
            int tail = ringView.getInt(sqTail);
            int index = tail & ringView.getInt(sqMask);
            int at = index * SQE_BYTES;
            for (int i = 0; i < SQE_BYTES; i += 8) {
                sqeView.putLong(at + i, 0);
            }
            sqeView.put(at, (byte) IORING_OP_URING_CMD);
            sqeView.putInt(at + 4, deviceFd);
            sqeView.putInt(at + 8, command); // cmd_op
            sqeView.putLong(at + 16, iovecs.address() + 32L * entry); // the entry's two iovecs
            sqeView.putInt(at + 24, 2);
            sqeView.putLong(at + 32, entry); // user_data
            sqeView.putLong(at + 48, 0); // struct fuse_uring_cmd_req: flags
            sqeView.putLong(at + 56, commitId);
            sqeView.putShort(at + 64, (short) queue);
            ringView.putInt(sqArray + 4 * index, index);
            VarHandle.releaseFence();
            ringView.putInt(sqTail, tail + 1);
            pendingSubmissions++;
        }

        private void close() {
            SYS.munmap(rings, ringsLength);
            SYS.munmap(sqes, sqesLength);
            SYS.close(ringFd);
        }
    }
}
