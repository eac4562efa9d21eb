package dev.cowfs.fs;

import dev.cowfs.engine.ReadTransaction;
import dev.cowfs.engine.Store;
import dev.cowfs.engine.WriteTransaction;
import dev.cowfs.engine.error.EngineBugError;
import dev.cowfs.engine.error.OutOfSpaceException;
import dev.cowfs.engine.error.ReadOnlyEngineException;
import dev.cowfs.engine.format.Limits;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.BooleanSupplier;

import static dev.cowfs.fs.InodeNumber.subvolumeOf;

/**
 * How a filesystem operation runs, and how its work becomes durable: the one lock, the one open write transaction,
 * failure handling and commits. Every public operation of {@link CowFileSystem} goes through one of the run methods
 * here ({@link #query}, {@link #update}, {@link #freeing}, ...); the classes doing the work inside an operation
 * ({@link InodeTable}, {@link Xattrs}, ...) see the transaction through {@link #txn()}.
 *
 * <p>Every finished operation is visible at once to every later one (they all run in the open transaction) and
 * becomes durable at the next commit. Operations check whatever can refuse them (an errno-carrying
 * {@link FsException}) before they change anything, so a refusal leaves the transaction going; an engine failure
 * aborts it, losing the operations since the last commit (never a committed one), and is reported once by the next
 * sync, fsync or close.
 */
final class Operations {
    /** An operation's body: runs under the lock; its engine failures are turned into errnos. */
    interface Work<T> {
        T run() throws IOException;
    }

    interface VoidWork {
        void run() throws IOException;
    }

    private final Store store;
    private final FsOptions options;
    private final Subvolumes subvolumes;
    /**
     * Read-only operations (stat, lookup, readdir, read, xattrs, statfs) share the read lock, so many threads
     * read at once; every change, commit and recovery takes the write lock. Readers touch only what writers
     * change under the write lock, or structures made safe for concurrent readers (lazy tree opens, the extent
     * cache, open counts).
     */
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    /** The open write transaction; null on a filesystem open read-only or turned read-only by a failed commit. */
    private volatile WriteTransaction txn;
    /** Buffered file data, written into the transaction before each commit. Set once by {@link #attach}. */
    private FileData data;
    private OpenFiles openFiles;
    /**
     * Acknowledged work lost to an aborted transaction (a failed operation, or a group commit nobody was
     * waiting for): the next sync, fsync or close reports it, once, instead of claiming durability.
     */
    private FsException lostWork;
    private boolean closed;
    /**
     * The generation of the last commit that carried changes (or the one opened): blocks freed up to it are the
     * ones an idle filesystem or a sync moves the superblock ring past. Commits made only to move the ring free a
     * few space-tree blocks themselves; those are left for later commits, so that releasing ends. Guarded by the
     * write lock.
     */
    private long lastChangeGeneration;

    Operations(Store store, FsOptions options, Subvolumes subvolumes) {
        this.store = store;
        this.options = options;
        this.subvolumes = subvolumes;
    }

    /** The parts whose state belongs to the open transaction: dropped or reloaded when it is aborted. */
    void attach(FileData data, OpenFiles openFiles) {
        this.data = data;
        this.openFiles = openFiles;
    }

    /** The open write transaction (null when the filesystem is read-only); valid under the lock. */
    WriteTransaction txn() {
        return txn;
    }

    /** Opens the first write transaction, after loading (under the write lock). */
    void beginTransaction() throws IOException {
        lastChangeGeneration = store.generation();
        txn = store.beginWrite();
    }

    /** Runs {@code work} under the write lock as the filesystem opens (nothing else can run yet). */
    void opening(VoidWork work) throws IOException {
        lock.writeLock().lock();
        try {
            work.run();
        } finally {
            lock.writeLock().unlock();
        }
    }

    // ------------------------------------------------------------------ locks

    /** Takes the write lock (exclusive). */
    private void begin() throws FsException {
        EngineBugError.check(lock.getReadHoldCount() == 0, "write lock wanted while holding the read lock");
        lock.writeLock().lock();
        if (closed) {
            lock.writeLock().unlock();
            throw new FsException(Errno.EBADF, "filesystem is closed");
        }
    }

    private void beginWrite() throws FsException {
        begin();
        if (txn == null) {
            lock.writeLock().unlock();
            throw new FsException(Errno.EROFS, "filesystem is open read-only");
        }
    }

    private void end() {
        lock.writeLock().unlock();
    }

    /** Takes the read lock (shared with other readers). */
    private void beginRead() throws FsException {
        lock.readLock().lock();
        if (closed) {
            lock.readLock().unlock();
            throw new FsException(Errno.EBADF, "filesystem is closed");
        }
    }

    // ------------------------------------------------------------------ failures

    /** Wraps engine failures in the errno a caller expects. */
    FsException translate(IOException e) {
        if (e instanceof FsException fs) {
            return fs;
        }
        if (e instanceof OutOfSpaceException) {
            return new FsException(Errno.ENOSPC, e.getMessage(), e);
        }
        if (e instanceof ReadOnlyEngineException) {
            return new FsException(Errno.EROFS, e.getMessage(), e);
        }
        return new FsException(Errno.EIO, e.getMessage(), e);
    }

    /**
     * Operations check everything that can refuse them before they change anything. After a failed engine
     * operation, though, the open transaction is unusable: everything since the last commit is
     * lost (the image keeps the last commit), and a fresh transaction starts so the filesystem stays usable.
     */
    FsException failed(IOException e) {
        FsException error = translate(e);
        if (e instanceof FsException refused && refused.errno() != Errno.EIO) {
            return error; // refused before anything changed: the transaction goes on
        }
        if (lostWork == null) {
            lostWork = new FsException(error.errno(), "an operation failed (" + e.getMessage() + ") and the "
                    + "changes since the last commit were lost", e);
        }
        if (txn != null) {
            txn.abort();
            data.discardBuffers();
            try {
                txn = store.beginWrite();
                reloadAfterAbort();
            } catch (IOException again) {
                txn = null;
            }
        }
        if (txn == null) {
            loadCommittedSubvolumes();
        }
        return error;
    }

    /**
     * After an abort: inode numbers go on from the highest ever handed out (a handle to a lost file must never
     * reach a new one), and handles to inodes the abort undid no longer count as open.
     */
    private void reloadAfterAbort() throws IOException {
        subvolumes.reload(txn);
        openFiles.forgetUndone(subvolumes);
    }

    /** Read-only from now on: what the filesystem shows is the last commit, subvolume records included. */
    private void loadCommittedSubvolumes() {
        try (ReadTransaction read = store.beginRead()) {
            subvolumes.load(read, null);
        } catch (IOException | RuntimeException unreadable) {
            // the next operation that reads reports it
        }
    }

    /**
     * Throws away the open transaction and everything buffered for it, and starts a fresh one (a receive undoing
     * itself; the work is not reported as lost). Where no transaction can start this throws; the caller then
     * {@link #settleAfterFailure settles}.
     */
    void abortAndRestart() throws IOException {
        if (txn != null) {
            txn.abort();
        }
        data.discardBuffers();
        txn = null;
        txn = store.beginWrite();
        reloadAfterAbort(); // subvolume records as committed: a record added in memory is gone
    }

    /**
     * After {@link #abortAndRestart} or a commit failed: if no transaction could start, the filesystem is read-only
     * and shows the last commit, whose subvolume records replace any added in memory.
     */
    void settleAfterFailure() {
        if (txn == null) {
            loadCommittedSubvolumes();
        }
    }

    // ------------------------------------------------------------------ running operations

    /** Runs a read-only operation under the read lock. */
    <T> T query(Work<T> work) throws IOException {
        beginRead();
        WriteTransaction seen = txn;
        IOException breaking = null;
        try {
            return work.run();
        } catch (IOException e) {
            if (seen == null || !seen.isBroken()) {
                throw translate(e);
            }
            breaking = e;
        } finally {
            lock.readLock().unlock();
        }
        throw abortBroken(seen, breaking);
    }

    /**
     * An engine read error broke the transaction: it must be aborted, or the next commit could not start.
     * That changes state, so it happens under the write lock, once, by whichever reader gets there first.
     */
    private FsException abortBroken(WriteTransaction broken, IOException cause) throws FsException {
        begin();
        try {
            return txn == broken ? failed(cause) : translate(cause);
        } finally {
            end();
        }
    }

    void inspect(VoidWork work) throws IOException {
        query(() -> {
            work.run();
            return null;
        });
    }

    /** Runs a read-only operation that may write buffered data out first, under the write lock. */
    <T> T exclusiveQuery(Work<T> work) throws IOException {
        begin();
        try {
            return work.run();
        } catch (IOException e) {
            throw txn != null && txn.isBroken() ? failed(e) : translate(e);
        } finally {
            end();
        }
    }

    /**
     * Runs an operation under the write lock that may change the open transaction if there is one and must also
     * run on a filesystem open read-only (releasing a handle); an engine failure aborts the transaction.
     */
    void exclusive(VoidWork work) throws IOException {
        begin();
        try {
            work.run();
        } catch (IOException e) {
            throw failed(e);
        } finally {
            end();
        }
    }

    /** Runs a changing operation under the lock; an engine failure aborts the open transaction. */
    <T> T update(Work<T> work) throws IOException {
        beginWrite();
        try {
            return work.run();
        } catch (IOException e) {
            throw failed(e);
        } catch (RuntimeException | Error e) {
            failed(new IOException("operation failed unexpectedly: " + e, e)); // never commit half of it
            throw e;
        } finally {
            end();
        }
    }

    void change(VoidWork work) throws IOException {
        update(() -> {
            work.run();
            return null;
        });
    }

    /** A change inside the subvolume of {@code ino}: refused (EROFS) when that is a read-only snapshot. */
    <T> T update(long ino, Work<T> work) throws IOException {
        return update(() -> {
            subvolumes.requireWritable(subvolumeOf(ino));
            return work.run();
        });
    }

    void change(long ino, VoidWork work) throws IOException {
        update(ino, () -> {
            work.run();
            return null;
        });
    }

    /**
     * A change that frees space (delete, truncate, rename over a target): it may use the reserved pool of a
     * full image, so that making room always works.
     */
    void freeing(long ino, VoidWork work) throws IOException {
        freeing(ino, () -> {
        }, work);
    }

    /**
     * {@link #freeing(long, VoidWork)} after {@code first}, which runs as an ordinary change: the buffered user
     * data the operation writes out goes there, so that the pool and the host reserve are left to the delete.
     */
    void freeing(long ino, VoidWork first, VoidWork work) throws IOException {
        change(ino, () -> {
            first.run();
            WriteTransaction running = txn;
            running.space().useReservedSpace(true);
            try {
                work.run();
            } finally {
                if (!running.isBroken()) {
                    running.space().useReservedSpace(false);
                }
            }
            if (txn == running && running.space().availableBlocks() == 0) {
                // Working inside the reserved pool: commit each delete, so that what it frees starts on its way
                // back (freed blocks are reusable four commits later) before the next one takes more of the pool.
                commitLocked();
            }
        });
    }

    /**
     * Runs {@code work} under the write lock, with the open transaction under its control: it handles its own
     * failures (a receive undoing itself must not be reported to the next sync as lost work).
     */
    <T> T owning(Work<T> work) throws IOException {
        beginWrite();
        try {
            return work.run();
        } finally {
            end();
        }
    }

    /**
     * Runs {@code work} with no write transaction open (compaction makes its own commits), after committing the
     * open one; a fresh transaction starts afterwards, or the filesystem turns read-only if none can.
     */
    <T> T detached(Work<T> work) throws IOException {
        beginWrite();
        try {
            try {
                commitLocked();
            } catch (IOException e) {
                throw failed(e);
            }
            WriteTransaction idle = txn;
            txn = null;
            if (idle != null) {
                idle.abort();
            }
            try {
                return work.run();
            } catch (IOException e) {
                throw translate(e);
            } finally {
                data.discardBuffers();
                try {
                    txn = store.beginWrite();
                    reloadAfterAbort();
                } catch (IOException e) {
                    if (txn != null) {
                        txn.abort(); // the writer permit goes back
                    }
                    txn = null; // the store turned read-only after a failed commit: later writes get EROFS
                }
            }
        } finally {
            end();
        }
    }

    // ------------------------------------------------------------------ space

    /**
     * Refuses (ENOSPC, before anything changes) a change needing about {@code blocks} new blocks when the image's
     * capacity, less its reserved pool and the data still buffered, cannot take them with some room for metadata.
     */
    void requireSpace(long blocks) throws IOException {
        if (txn.space().availableBlocks() == Long.MAX_VALUE || neededBlocks(blocks) <= txn.space().availableBlocks()) {
            return;
        }
        // Space freed by earlier commits may only be waiting for the superblock ring to pass it: move the ring on.
        releaseFreedSpace(Long.MAX_VALUE, () -> neededBlocks(blocks) <= txn.space().availableBlocks());
        long available = txn.space().availableBlocks();
        long needed = neededBlocks(blocks);
        if (needed > available) {
            throw new FsException(Errno.ENOSPC, "no space left on the image (" + available + " blocks available to "
                    + "writes, about " + needed + " needed" + heldByReaders() + "); delete files or snapshots to "
                    + "make room (cowfs du --explain says what holds the space)");
        }
    }

    /** About how many blocks a change of {@code blocks} new blocks takes, with the buffered data and metadata. */
    private long neededBlocks(long blocks) {
        long blockSize = store.blockSizeBytes();
        long buffered = (data.bufferedBytes() + blockSize - 1) / blockSize;
        return blocks + buffered + 16 + blocks / 64;
    }

    /** Freed blocks open readers keep from reuse, for an ENOSPC message ("" when none). */
    private String heldByReaders() throws IOException {
        long pinned = txn.space().blocksPinnedByReaders();
        return pinned == 0 ? "" : "; " + pinned + " freed blocks are kept for open readers until they end";
    }

    /**
     * Deferred reuse (DESIGN.md invariant 4): blocks freed by a commit become reusable only once the superblock
     * ring has moved past every generation that reaches them. Where that space is wanted now, commits move the
     * ring on: the open transaction's own changes first, then commits that change nothing, until {@code enough}
     * holds or no block freed up to generation {@code freedAtOrBefore} waits on the ring alone (open readers may
     * still pin some). Bounded by the ring's length: after that many commits every block freed before them is
     * reusable. Such commits free a few space-tree blocks of their own; an idle filesystem or a sync leaves those
     * (bound: the last commit with changes) so that releasing ends, a writer short of space takes them too.
     */
    private void releaseFreedSpace(long freedAtOrBefore, BooleanSupplier enough) throws IOException {
        for (int round = 0; round <= Limits.SUPERBLOCK_RING_SLOTS && txn != null; round++) {
            if (enough.getAsBoolean() || txn.space().blocksAwaitingReuse(freedAtOrBefore) == 0) {
                return;
            }
            commitLocked(true);
        }
    }

    // ------------------------------------------------------------------ commits

    /**
     * One commit of every finished operation. {@code moveRing} (sync): with nothing changed, it still commits when
     * blocks freed by earlier commits wait for the superblock ring to pass them, moving the ring on by one.
     */
    void commit(boolean moveRing) throws IOException {
        begin();
        try {
            reportLostWork();
            if (txn == null) {
                if (!store.options().readOnly()) {
                    throw new FsException(Errno.EROFS, "the filesystem turned read-only after an I/O error; "
                            + "nothing since the last commit can be made durable");
                }
                return;
            }
        } finally {
            end();
        }
        change(() -> {
            boolean waiting = moveRing && !txn.hasChanges() && data.bufferedBytes() == 0 && !txn.hasDroppedTrees()
                    && txn.space().blocksAwaitingReuse(lastChangeGeneration) > 0;
            commitLocked(waiting);
        });
    }

    private void reportLostWork() throws FsException {
        FsException lost = lostWork;
        if (lost != null) {
            lostWork = null;
            throw lost;
        }
    }

    void commitLocked() throws IOException {
        commitLocked(false);
    }

    /**
     * Commits the open transaction and opens the next. {@code moveRing}: commit even when nothing changed, so that
     * the superblock ring moves past blocks freed earlier ({@link #releaseFreedSpace}).
     */
    private void commitLocked(boolean moveRing) throws IOException {
        data.flushAll();
        WriteTransaction done = txn;
        boolean changes = done.hasChanges() || done.hasDroppedTrees();
        if (moveRing && !changes) {
            done.forceCommit();
        }
        txn = null;
        try {
            long generation = done.commit();
            if (changes) {
                lastChangeGeneration = generation;
            }
            data.committed();
            if (store.options().checkAfterCommit()) {
                checkAfterCommit();
            }
        } catch (IOException | RuntimeException e) {
            done.abort(); // releases the writer permit whatever state the commit stopped in
            data.discardBuffers();
            throw e;
        } finally {
            try {
                txn = store.beginWrite();
            } catch (IOException e) {
                // The store turned read-only after a failed commit: later writes get EROFS.
            }
        }
    }

    /** Strict mode (tests): the filesystem checker after every commit, as the engine runs its own. */
    private void checkAfterCommit() throws IOException {
        List<String> problems = FsChecker.check(store);
        if (!problems.isEmpty()) {
            throw new EngineBugError("filesystem checker after commit of generation " + store.generation() + ": "
                    + problems);
        }
    }

    /**
     * Bounds what the open transaction holds: buffered file data is written out past its cap, and a commit
     * follows once enough data was written that the space it frees should become reusable.
     */
    void afterChange() throws IOException {
        if (data.bufferedBytes() > FileData.MAX_BUFFERED_BYTES) {
            data.flushAll();
        }
        if (data.extentBytesSinceCommit() >= FileData.COMMIT_AFTER_BYTES) {
            commitLocked();
        }
    }

    /**
     * The group commit's tick: commits what the open transaction holds; goes on committing for a while where a
     * deleted subvolume releases its blocks a bounded part per commit; and on an idle filesystem moves the ring past
     * freed blocks, which nothing else would commit for. Waits for a busy filesystem up to one interval, so that
     * commits are not skipped under load; a failure is kept for the next sync, fsync or close to report.
     */
    void periodicCommit() {
        try {
            if (!lock.writeLock().tryLock(options.commitIntervalMillis(), TimeUnit.MILLISECONDS)) {
                return;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        try {
            if (!closed && txn != null) {
                boolean idle = !txn.hasChanges() && data.bufferedBytes() == 0 && !txn.hasDroppedTrees();
                commitLocked();
                long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(options.commitIntervalMillis() / 5);
                while (!closed && txn != null && txn.hasDroppedTrees() && System.nanoTime() < until) {
                    commitLocked();
                }
                if (idle && !closed) {
                    releaseFreedSpace(lastChangeGeneration, () -> false);
                }
            }
        } catch (IOException | RuntimeException e) {
            failed(e instanceof IOException io ? io : new IOException(e.toString(), e));
        } finally {
            lock.writeLock().unlock();
        }
    }

    /**
     * Closes: commits what is open (reporting work an earlier failure lost, or that the filesystem turned
     * read-only), then nothing more runs. The caller closes the store after.
     */
    void close() throws IOException {
        lock.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            reportLostWork();
            if (txn == null && !store.options().readOnly()) {
                throw new FsException(Errno.EIO, "the filesystem turned read-only after an I/O error; changes "
                        + "since the last commit were lost");
            }
            if (txn != null) {
                try {
                    commitLocked();
                } finally {
                    if (txn != null) {
                        txn.abort();
                        txn = null;
                    }
                }
            }
        } finally {
            lock.writeLock().unlock();
        }
    }
}
