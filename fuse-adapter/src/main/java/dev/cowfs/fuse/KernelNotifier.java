package dev.cowfs.fuse;

import dev.cowfs.fs.ChangeListener;
import dev.cowfs.fs.InodeNumber;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Keeps the kernel's caches true when the files change other than through the kernel: the control channel's
 * commands (put, rm, mv, snapshot create and delete, rollback, receive) run in the mount process on the same
 * filesystem, and their changes are told to the kernel as FUSE notifications: INVAL_ENTRY for a name added or
 * removed, INVAL_INODE (attributes and cached data) for an inode changed, and for a subvolume replaced whole by a
 * rollback INVAL_INODE of every inode of it the kernel holds and INC_EPOCH (every name the kernel holds is looked up
 * again). Changes made while answering the kernel's own requests are left out (the kernel knows them). Because every
 * change is told, the kernel may trust names and attributes for long (see {@link KernelNodes#chooseTimeouts}).
 *
 * <p>The filesystem tells of a change under its lock; here it is only queued (once while pending), and one thread
 * writes the notifications to the device, each only after every request answered from the state before the change
 * has had its reply written ({@link RequestTickets}), so that no stale reply lands after its invalidation. Writing
 * one can wait for the kernel's lock on the directory, which a request waiting for the filesystem may hold, so it
 * must never happen under the filesystem's lock or on a thread that answers requests. Only what the kernel holds is
 * told.
 */
final class KernelNotifier implements ChangeListener {
    private static final int NOTIFY_INVAL_INODE = 2;
    private static final int NOTIFY_INVAL_ENTRY = 3;
    /** Protocol 7.44: every name the kernel holds is looked up again before its next use. */
    private static final int NOTIFY_INC_EPOCH = 8;

    /** One change to tell: an entry (name not null), an inode, or a whole subvolume (subvolume >= 0). */
    private record Change(long number, byte[] name, long subvolume) {
        @Override
        public boolean equals(Object other) {
            return other instanceof Change change && change.number == number && change.subvolume == subvolume
                    && Arrays.equals(change.name, name);
        }

        @Override
        public int hashCode() {
            return Long.hashCode(number) * 31 + Arrays.hashCode(name) + Long.hashCode(subvolume);
        }
    }

    private final KernelFuse fuse;
    private final int fd;
    private final RequestTickets tickets;
    /** Whether the kernel takes FUSE_NOTIFY_INC_EPOCH (protocol 7.44 and later): known at INIT. */
    private volatile boolean epochs;
    /** Changes, and latches counted down once every change before them has been written. */
    private final BlockingQueue<Object> queue = new LinkedBlockingQueue<>();
    private final Set<Change> pending = ConcurrentHashMap.newKeySet();
    private final FuseMessage message = new FuseMessage(64, 4096);
    private final FuseMessage attributes = new FuseMessage(64, 64);
    private final Thread thread;
    private volatile boolean stopped;

    KernelNotifier(KernelFuse fuse, int fd, RequestTickets tickets) {
        this.fuse = fuse;
        this.fd = fd;
        this.tickets = tickets;
        this.thread = new Thread(this::run, "cowfs-fuse-notify");
        thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    /** The kernel takes FUSE_NOTIFY_INC_EPOCH. */
    void useEpochs() {
        epochs = true;
    }

    void stop() {
        stopped = true;
        thread.interrupt();
        for (Object item : queue) { // nothing more will be written: nobody waits for it
            if (item instanceof CountDownLatch written) {
                written.countDown();
            }
        }
    }

    /** Whether the calling thread answers the kernel's requests (whose changes the kernel knows already). */
    private static boolean answeringKernel() {
        return Thread.currentThread() instanceof KernelSession.Worker;
    }

    @Override
    public void entryChanged(long dir, byte[] name) {
        if (!answeringKernel()) {
            enqueue(new Change(dir, name.clone(), -1));
        }
    }

    @Override
    public void inodeChanged(long ino) {
        if (!answeringKernel()) {
            enqueue(new Change(ino, null, -1));
        }
    }

    @Override
    public void subvolumeChanged(long id, String name) {
        if (!answeringKernel()) {
            enqueue(new Change(FusePaths.SNAPSHOTS_INO, name.getBytes(StandardCharsets.UTF_8), -1));
        }
        enqueue(new Change(0, null, id)); // a rollback through .snapshots is a kernel request, but the kernel
        // does not know what the subvolume's files became
    }

    private void enqueue(Change change) {
        if (!stopped && pending.add(change)) {
            queue.add(change);
        }
    }

    /** Waits (at most ten seconds, so a stuck kernel cannot hang a command) until the changes so far are written. */
    @Override
    public void awaitPassedOn() {
        if (stopped || answeringKernel()) {
            return;
        }
        CountDownLatch written = new CountDownLatch(1);
        queue.add(written);
        try {
            written.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void run() {
        while (!stopped) {
            Object item;
            try {
                item = queue.take();
            } catch (InterruptedException e) {
                return;
            }
            if (item instanceof CountDownLatch written) {
                written.countDown();
                continue;
            }
            Change change = (Change) item;
            pending.remove(change);
            // the change (and any merged into it while pending) was made before this ticket was handed out
            tickets.awaitAnswered(tickets.issued());
            if (change.subvolume >= 0) {
                boolean held = false;
                for (long node : fuse.nodes().heldNodes()) {
                    long ino = fuse.nodes().inodeOf(node);
                    if (InodeNumber.subvolumeOf(ino) == change.subvolume && ino != FusePaths.SNAPSHOTS_INO) {
                        invalidateInode(node);
                        held = true;
                    }
                }
                if (held && epochs) {
                    // names in a subvolume replaced whole: which ones the kernel holds is not tracked
                    incrementEpoch();
                }
            } else if (change.name != null) {
                long parent = fuse.nodes().nodeOf(change.number);
                if (fuse.nodes().holds(parent)) {
                    invalidateEntry(parent, change.name);
                }
            } else {
                long node = fuse.nodes().nodeOf(change.number);
                if (fuse.nodes().holds(node)) {
                    invalidateInode(node);
                }
            }
        }
    }

    /**
     * Makes the kernel forget the node's attributes now, from the calling thread (offset -1: no cached data, so no
     * page lock is taken and a thread answering a request may call it). For a change the kernel does not
     * expect from a request it made: privileges dropped on a write.
     */
    void invalidateAttributesNow(long node) {
        synchronized (attributes) {
            attributes.startReply().putLong(node).putLong(-1).putLong(0);
            send(attributes, NOTIFY_INVAL_INODE);
        }
    }

    /** struct fuse_notify_inval_inode_out: the node, offset 0 and length 0 (its attributes and all its data). */
    private void invalidateInode(long node) {
        message.startReply().putLong(node).putLong(0).putLong(0);
        send(message, NOTIFY_INVAL_INODE);
    }

    /** struct fuse_notify_inval_entry_out, then the name and its NUL. */
    private void invalidateEntry(long parent, byte[] name) {
        message.startReply().putLong(parent).putInt(name.length).putInt(0).putBytes(name).putBytes(new byte[1]);
        send(message, NOTIFY_INVAL_ENTRY);
    }

    /** No argument: every name cached before it is looked up again (as after its entry timeout). */
    private void incrementEpoch() {
        message.startReply();
        send(message, NOTIFY_INC_EPOCH);
    }

    /** A notification: the header's error field holds its code, its id is 0. Refusals (not cached) are fine. */
    private void send(FuseMessage from, int code) {
        int length = from.replyEnd;
        from.reply.putInt(0, length);
        from.reply.putInt(4, code);
        from.reply.putLong(8, 0);
        KernelChannel.LIBC.write(fd, from.replyMemory, length);
    }
}
