package dev.cowfs.engine;

import dev.cowfs.engine.btree.NodeReader;
import dev.cowfs.engine.btree.NodeView;
import dev.cowfs.engine.btree.TreeSearch;
import dev.cowfs.engine.device.BlockDevice;
import dev.cowfs.engine.device.MappedFileDevice;
import dev.cowfs.engine.device.VerifiedBlocks;
import dev.cowfs.engine.error.CorruptionException;
import dev.cowfs.engine.error.NewerGenerationDamagedException;
import dev.cowfs.engine.error.ReadOnlyEngineException;
import dev.cowfs.engine.format.BlockRef;
import dev.cowfs.engine.format.Limits;
import dev.cowfs.engine.format.SuperblockLayout;
import dev.cowfs.engine.format.TreeIds;
import dev.cowfs.engine.space.ReaderRegistry;
import dev.cowfs.engine.space.RetentionWindow;
import dev.cowfs.engine.space.SpaceAllocator;
import dev.cowfs.engine.superblock.Superblock;
import dev.cowfs.engine.superblock.RetainedGeneration;
import dev.cowfs.engine.superblock.SuperblockRing;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;

/**
 * A cowfs image opened for use: one writer at a time ({@link #beginWrite()}), any number of concurrent readers
 * ({@link #beginRead()}), each reading the frozen tree of the commit it started at.
 *
 * <p>Opening reads only the superblock ring and the roots it names, so it takes the same time for any image
 * size. It takes the newest superblock whose own checksum and root blocks verify, and reports in
 * {@link #openWarnings()} any newer one it had to pass over.
 */
public final class Store implements Closeable {
    private final BlockDevice device;
    private final StoreOptions options;
    private final ImageLock lock;
    private final int blockSizeBytes;
    private final VerifiedBlocks verified = new VerifiedBlocks();
    private final NodeReader reader;
    private final ReaderRegistry readers = new ReaderRegistry();
    /** Superblocks held by open readers, by generation: the checker walks them as retained roots. */
    private final Map<Long, Superblock> readerRoots = new ConcurrentHashMap<>();
    /**
     * The one write transaction holds this permit from begin to end. A permit, not a lock: the transaction may
     * be begun on one thread and finished on another (the filesystem hands its transaction between threads).
     */
    private final java.util.concurrent.Semaphore writerPermit = new java.util.concurrent.Semaphore(1);
    private final List<String> openWarnings;
    private final StoreAudit audit;
    private volatile CommittedState committed;
    private volatile IOException failure;
    private volatile boolean closed;
    /** Read transactions not yet closed; the image stays mapped until they are. Guarded by {@link #readers}. */
    private int openReadTransactions;
    private boolean deviceClosed;

    private Store(BlockDevice device, StoreOptions options, ImageLock lock, Superblock superblock,
                  List<String> openWarnings) throws IOException {
        if (device instanceof MappedFileDevice file && superblock.capacityBlocks() != 0) {
            // a file of the capacity asked for: growth steps stop there (the far copy lies past a small one)
            file.limitGrowth(Math.max(superblock.capacityBlocks() * superblock.blockSizeBytes(),
                    Limits.FAR_SUPERBLOCK_OFFSET_BYTES + Limits.FAR_REGION_BYTES));
        }
        BlockDevice wrapped = options.deviceWrapper().apply(device);
        this.device = options.checkAfterCommit() && !wrapped.isReadOnly() ? StoreAudit.wrap(wrapped) : wrapped;
        this.options = options;
        this.lock = lock;
        this.blockSizeBytes = superblock.blockSizeBytes();
        this.reader = new NodeReader(this.device, blockSizeBytes, verified);
        this.openWarnings = List.copyOf(openWarnings);
        this.committed = stateOf(superblock);
        this.pendingLog = IntentLog.read(this.device, blockSizeBytes, superblock.generation(), reader);
        this.audit = options.checkAfterCommit() ? new StoreAudit(this) : null;
        if (audit != null) {
            audit.afterCommit();
        }
    }

    // ------------------------------------------------------------------ opening

    /** Creates a new image file and returns it open. */
    public static Store create(Path image, StoreOptions options) throws IOException {
        if (Files.exists(image)) {
            throw new FileAlreadyExistsException(image.toString(), null, "an image already exists here");
        }
        ImageLock lock = ImageLock.acquire(image, false);
        try {
            MappedFileDevice device = MappedFileDevice.create(image, options.mappingChunkBytes(),
                    options.growthStepBytes());
            try {
                device.keepHostReserve(options.hostReserveBytes());
                return create(device, options, lock);
            } catch (IOException | RuntimeException e) {
                device.close();
                throw e;
            }
        } catch (IOException | RuntimeException e) {
            lock.close();
            throw e;
        }
    }

    /** Opens an existing image file. */
    public static Store open(Path image, StoreOptions options) throws IOException {
        ImageLock lock = ImageLock.acquire(image, options.readOnly());
        try {
            MappedFileDevice device = MappedFileDevice.open(image, options.readOnly(), options.mappingChunkBytes(),
                    options.growthStepBytes());
            try {
                if (!options.readOnly()) {
                    device.keepHostReserve(options.hostReserveBytes());
                }
                return open(device, options, lock);
            } catch (NewerGenerationDamagedException e) {
                device.close();
                throw e.naming(image);
            } catch (CorruptionException e) {
                device.close();
                CorruptionException named = new CorruptionException(-1, image + ": " + e.getMessage());
                named.initCause(e);
                throw named; // the image refused on open, named: the block, if any, is in the message
            } catch (IOException | RuntimeException e) {
                device.close();
                throw e;
            }
        } catch (IOException | RuntimeException e) {
            lock.close();
            throw e;
        }
    }

    /** Formats {@code device} (whose contents are ignored) as a new, empty image. */
    public static Store create(BlockDevice device, StoreOptions options) throws IOException {
        return create(device, options, null);
    }

    private static Store create(BlockDevice device, StoreOptions options, ImageLock lock) throws IOException {
        UUID uuid = options.imageUuid() != null ? options.imageUuid() : UUID.randomUUID();
        Superblock first = Formatter.format(device, options.blockSizeBytes(), uuid, options.clockMillis(),
                options.capacityBytes() / options.blockSizeBytes());
        return new Store(device, options, lock, first, List.of());
    }

    /** Opens the image on {@code device}. */
    public static Store open(BlockDevice device, StoreOptions options) throws IOException {
        return open(device, options, null);
    }

    private static Store open(BlockDevice device, StoreOptions options, ImageLock lock) throws IOException {
        List<String> warnings = new ArrayList<>();
        Superblock chosen;
        if (options.openGeneration() != 0) {
            if (!options.readOnly()) {
                throw new IllegalArgumentException("an older generation opens read-only");
            }
            chosen = SuperblockRing.chooseGeneration(device, options.openGeneration(), warnings);
        } else {
            chosen = SuperblockRing.choose(device, options.readOnly() || options.acceptOlderGeneration(),
                    options.readOnly(), warnings);
        }
        return new Store(device, options, lock, chosen, warnings);
    }

    CommittedState stateOf(Superblock superblock) throws IOException {
        return stateOf(superblock, superblock.checksum());
    }

    CommittedState stateOf(Superblock superblock, int superblockChecksum) throws IOException {
        byte[] defaultRoot = TreeSearch.get(reader, superblock.catalogRoot(), TreeIds.CATALOG,
                TreeIds.catalogKey(TreeIds.DEFAULT), new NodeView());
        if (defaultRoot == null) {
            throw new CorruptionException(superblock.catalogRoot().blockIndex(), "catalog has no default tree");
        }
        return new CommittedState(superblock, superblockChecksum, BlockRef.decode(defaultRoot, 0));
    }

    // ------------------------------------------------------------------ transactions

    /** A frozen view of the newest commit; close it to let its blocks be reused. */
    public ReadTransaction beginRead() throws IOException {
        checkOpen();
        CommittedState state;
        synchronized (readers) {
            checkOpen();
            state = committed;
            openReadTransactions++;
            readers.register(state.generation());
            readerRoots.put(state.generation(), state.superblock());
        }
        return new ReadTransaction(this, state);
    }

    void endRead(CommittedState state) {
        boolean lastAfterClose;
        synchronized (readers) {
            readers.unregister(state.generation());
            if (!readers.snapshot().containsKey(state.generation())) {
                readerRoots.remove(state.generation());
            }
            lastAfterClose = --openReadTransactions == 0 && closed;
        }
        if (lastAfterClose) {
            try {
                closeDevice();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException("closing the image after its last reader", e);
            }
        }
    }

    /**
     * Starts the one write transaction, waiting while another is open. Only the wait can be interrupted: when no
     * other transaction is open, an interrupted caller gets its transaction (a filesystem starting the next one
     * after a commit must not lose it to its caller's interrupt).
     */
    public WriteTransaction beginWrite() throws IOException {
        checkOpen();
        checkWritable();
        try {
            if (!writerPermit.tryAcquire() && !writerPermit.tryAcquire(Long.MAX_VALUE, TimeUnit.DAYS)) {
                throw new IOException("could not start a write transaction");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted waiting for the write transaction");
        }
        try {
            checkWritable();
            return new WriteTransaction(this, committed);
        } catch (IOException | RuntimeException e) {
            writerPermit.release();
            throw e;
        }
    }

    void endWrite() {
        writerPermit.release();
    }

    /** Makes a commit visible to readers that start after this call. */
    void publish(Superblock superblock, int superblockChecksum) throws IOException {
        CommittedState state = stateOf(superblock, superblockChecksum);
        synchronized (readers) {
            committed = state;
        }
        if (audit != null) {
            audit.afterCommit();
        }
    }

    /** After an I/O error during commit, nothing more is written: the last durable commit stays as it is. */
    void fail(IOException cause) {
        if (failure == null) {
            failure = cause;
        }
    }

    private void checkOpen() throws IOException {
        if (closed) {
            throw new IOException("store is closed");
        }
    }

    private void checkWritable() throws IOException {
        if (options.readOnly() || device.isReadOnly()) {
            throw new ReadOnlyEngineException("image is open read-only");
        }
        if (failure != null) {
            throw new ReadOnlyEngineException("store turned read-only after a failed commit ("
                    + failure.getMessage() + "); reopen the image to continue from the last durable commit", failure);
        }
    }

    // ------------------------------------------------------------------ facts

    public long generation() {
        return committed.generation();
    }

    public int blockSizeBytes() {
        return blockSizeBytes;
    }

    public UUID imageUuid() {
        return committed.superblock().imageUuid();
    }

    /** What opening had to work around (a newer superblock that failed to verify), empty when nothing. */
    public List<String> openWarnings() {
        return openWarnings;
    }

    /**
     * Whether opening passed over a newer commit whose superblock landed whole but whose trees do not verify:
     * damage, not a crash (a torn superblock, which a crash can leave, is passed over without this).
     */
    public boolean openedOlderCommit() {
        return openWarnings.stream().anyMatch(warning -> warning.startsWith(SuperblockRing.FELL_BACK));
    }

    /**
     * The intent log found on open: whole groups extending the opened commit, for the owner of the trees to replay
     * (and then commit, which folds it); empty when there is none, or once anything was committed since.
     */
    public IntentLog.Pending pendingLog() {
        return pendingLog.baseGeneration() == generation() ? pendingLog
                : new IntentLog.Pending(generation(), List.of(), List.of());
    }

    private final IntentLog.Pending pendingLog;

    public StoreOptions options() {
        return options;
    }

    public BlockDevice device() {
        return device;
    }

    NodeReader reader() {
        return reader;
    }

    /**
     * Data extents verified whole since open (the checksum over all their bytes and their padding): each once, on
     * its first read, until it is written again. Reads after that check only where the bytes are.
     */
    public long extentsVerified() {
        return reader.extentsVerified();
    }

    ReaderRegistry readers() {
        return readers;
    }

    CommittedState committed() {
        return committed;
    }

    /**
     * What keeps pending-free blocks from being reused: the superblock ring, or open readers (each extent
     * counted for the oldest reader that can reach it). Reads the committed space tree once.
     */
    public SpacePins spacePins() throws IOException {
        long ring = 0;
        long pending = 0;
        Map<Long, Long> byReader = new java.util.TreeMap<>();
        try (ReadTransaction pin = beginRead()) { // keeps the space tree's blocks from reuse while it is read
            dev.cowfs.engine.btree.TreeCursor cursor = dev.cowfs.engine.btree.TreeCursor.overCommitted(reader,
                    TreeIds.SPACE, pin.spaceRoot());
            long releasableUpTo = RetentionWindow.releasableUpTo(pin.generation() + 1);
            for (boolean ok = cursor.seek(new byte[] {dev.cowfs.engine.format.SpaceKeys.PENDING}); ok;
                 ok = cursor.next()) {
                byte[] key = cursor.key();
                if (key.length != dev.cowfs.engine.format.SpaceKeys.PENDING_KEY_BYTES
                        || key[0] != dev.cowfs.engine.format.SpaceKeys.PENDING) {
                    break;
                }
                long freed = dev.cowfs.engine.format.Bytes.getLongBigEndian(key, 1);
                byte[] value = cursor.value();
                long count = dev.cowfs.engine.format.Bytes.getLong(value, 0);
                long birth = dev.cowfs.engine.format.Bytes.getLong(value, 8);
                pending += count;
                long oldest = readers.oldestReaching(birth, freed);
                if (oldest >= 0 && freed <= releasableUpTo) {
                    byReader.merge(oldest, count, Long::sum);
                } else {
                    ring += count;
                }
            }
            return new SpacePins(pin.generation(), pending, ring, byReader);
        }
    }

    /** The newest durable superblock. */
    public Superblock superblock() {
        return committed.superblock();
    }

    /**
     * Rolls the whole image back to retained generation {@code generation}, for when the newest commits are
     * suspect: one commit, numbered after the newest, whose trees are that generation's. It is an ordinary
     * commit in every other way: its far copy is the newest superblock, and every block that the newer (and
     * older) retained generations or open readers reach, and the rolled-back generation does not, becomes
     * pending-free in it, so the fall-back window and readers stay intact exactly as after any commit, and
     * power lost at any write leaves the image before or after the roll-back. What the newer generations
     * changed is gone once they leave the ring. The generation must check clean (the full checker runs on
     * it first); {@code progress} hears the blocks checked. No write transaction may be open.
     *
     * @return the new newest generation, which holds what {@code generation} held
     */
    public long rollBack(long generation, LongConsumer progress) throws IOException {
        checkOpen();
        checkWritable();
        if (!writerPermit.tryAcquire()) {
            throw new IOException("a write transaction is open; roll back only an image nothing is writing to");
        }
        WriteTransaction txn = null;
        try {
            Superblock newest = committed.superblock();
            List<Superblock> copies = SuperblockRing.readCopies(device, new ArrayList<>());
            Superblock target = SuperblockRing.retainedCopy(copies, generation);
            if (target.generation() >= newest.generation()) {
                throw new IllegalArgumentException("generation " + generation + " is not older than the newest, "
                        + newest.generation());
            }
            SuperblockRing.checkFeatures(target, false); // its trees are written on: it must be fully known here
            String failure = SuperblockRing.verifyRoots(device, target);
            if (failure != null) {
                throw new CorruptionException(-1, "generation " + generation + " does not verify (" + failure
                        + "); nothing was changed");
            }
            dev.cowfs.engine.check.CheckReport alone = dev.cowfs.engine.check.Checker.check(device, target,
                    List.of(), progress);
            if (!alone.isClean()) {
                throw new CorruptionException(-1, "generation " + generation + " does not check clean ("
                        + alone.problems().get(0) + "); nothing was changed");
            }
            List<Superblock> others = new ArrayList<>();
            long highWater = newest.highWaterBlock();
            for (Superblock copy : copies) {
                highWater = Math.max(highWater, copy.highWaterBlock());
            }
            if (highWater > Integer.MAX_VALUE) {
                throw new IOException("images of more than 2^31 blocks cannot be rolled back yet (this one reaches "
                        + "block " + highWater + "); nothing was changed");
            }
            for (Superblock copy : copies) {
                if (copy.generation() != generation) {
                    others.add(copy);
                    highWater = Math.max(highWater, copy.highWaterBlock());
                }
            }
            for (Superblock held : readerSuperblocks()) {
                if (!others.contains(held) && held.generation() != generation) {
                    others.add(held);
                    highWater = Math.max(highWater, held.highWaterBlock());
                }
            }
            if (!others.contains(newest)) {
                others.add(newest);
            }
            java.util.BitSet protect = (java.util.BitSet) dev.cowfs.engine.check.Checker.check(device, target,
                    others, progress).protectedBlocks().clone();
            protect.andNot(alone.protectedBlocks());
            txn = new WriteTransaction(this, stateOf(target), newest.generation() + 1, newest,
                    committed.superblockChecksum());
            try {
                txn.protectForRollBack(protect, highWater);
            } catch (IOException | RuntimeException | Error e) {
                txn.abort(); // releases the writer permit; nothing was written that any superblock names
                throw e;
            }
            return txn.commit(); // releases the writer permit
        } finally {
            if (txn == null) {
                writerPermit.release();
            }
        }
    }

    /**
     * What {@link #compact} did: the file's length and the high-water mark (in blocks) before and after, the nodes
     * it wrote, the extent blocks it copied, the shared blocks among what it moved, the commits it took, and, when it could not shrink as far as the
     * free space allows, why (null otherwise).
     */
    public record Compacted(long lengthBefore, long lengthAfter, long highWaterBefore, long highWaterAfter,
                            long nodesWritten, long extentBlocksMoved, long sharedMoved, long commits,
                            String limitedBy) {
    }

    /**
     * Moves the blocks the trees reach in the image's tail down into free space below, and cuts the file, in
     * ordinary commits: power lost at any point leaves a committed image holding the same data. The trees keep
     * their shape and sharing (snapshots and clones share the moved blocks as before). The image must check clean
     * (the full checker runs first); trees being dropped are released first. {@code progress} hears the blocks
     * checked, then the blocks written. Waits for an open write transaction to end, and holds the writer permit
     * throughout; open readers keep what they read, and may keep the file from shrinking as far.
     */
    public Compacted compact(LongConsumer progress) throws IOException {
        return compact(progress, false);
    }

    /**
     * {@link #compact(LongConsumer)}; with {@code belowCut}, blocks also move down where the file cannot be cut
     * for it (below the far superblock copy at 64 MiB): no use to an image, but it lets the crash harness
     * compact its small images for real.
     */
    public Compacted compact(LongConsumer progress, boolean belowCut) throws IOException {
        checkOpen();
        checkWritable();
        // One permit for the whole compaction: no other writer may place blocks past the limit, or past the cut.
        try {
            writerPermit.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted waiting for the write transaction");
        }
        try {
            return new Compaction(this, progress, belowCut).run();
        } finally {
            writerPermit.release();
        }
    }

    /** A write transaction for work that holds the writer permit already ({@link #compact}). */
    WriteTransaction beginWriteUnderHeldPermit() throws IOException {
        checkOpen();
        checkWritable();
        return WriteTransaction.underHeldPermit(this, committed);
    }

    /** The generations the image keeps superblock copies of, newest first (see {@link RetainedGeneration}). */
    public List<RetainedGeneration> retainedGenerations() throws IOException {
        checkOpen();
        return SuperblockRing.retainedGenerations(device);
    }

    /**
     * The superblock copies that do not verify or do not chain to their parent, one line each, for the checker's
     * report (see {@link SuperblockRing#damagedCopies}).
     */
    public List<String> damagedSuperblockCopies() throws IOException {
        checkOpen();
        return SuperblockRing.damagedCopies(device, generation());
    }

    /** Blocks ordinary allocations leave to deletes and commits, for this image's capacity (0 without one). */
    public long reservedPoolBlocks() {
        return SpaceAllocator.reservedPoolBlocks(superblock().capacityBlocks());
    }

    /** Superblocks held open by readers (retained roots besides the ring). */
    public List<Superblock> readerSuperblocks() {
        return readerRoots.values().stream().sorted(Comparator.comparingLong(Superblock::generation)).toList();
    }

    /** Runs the full checker over the newest commit and every retained root. */
    public dev.cowfs.engine.check.CheckReport check() throws IOException {
        return StoreAudit.check(this);
    }

    /**
     * Runs the full checker over the commit {@code pinned} reads, while this store may go on committing: the
     * pin keeps that commit's blocks from reuse. Older roots are not checked (they may be reused meanwhile).
     */
    public dev.cowfs.engine.check.CheckReport check(ReadTransaction pinned, LongConsumer progress) {
        return dev.cowfs.engine.check.Checker.check(device(), pinned.superblock(), List.of(), progress);
    }

    /** Runs the full checker over the newest commit and every retained root, reporting blocks reached. */
    public dev.cowfs.engine.check.CheckReport check(LongConsumer progress) throws IOException {
        return StoreAudit.check(this, progress);
    }

    /** The blocks a check reaches, about: those in use at the newest commit. */
    public long blocksToCheck() {
        return dev.cowfs.engine.check.Checker.blocksToCheck(superblock());
    }

    /** Throws {@link ImageLockedException} if any store, here or in another process, has the image open. */
    public static void requireClosed(Path image) throws IOException {
        ImageLock.acquire(image, false).close();
    }

    /** Open readers by generation. */
    public Map<Long, Integer> openReaders() {
        return readers.snapshot();
    }

    static long superblockOffset(int slot) {
        return Limits.superblockSlotOffset(slot);
    }

    static int superblockBytes() {
        return SuperblockLayout.BYTES;
    }

    /**
     * Closes the store. Open read transactions may finish their reads: the image is unmapped (and its lock
     * released) when the last of them closes.
     */
    @Override
    public void close() throws IOException {
        synchronized (readers) {
            if (closed) {
                return;
            }
            closed = true;
            if (openReadTransactions > 0) {
                return;
            }
        }
        closeDevice();
    }

    private void closeDevice() throws IOException {
        synchronized (readers) {
            if (deviceClosed) {
                return;
            }
            deviceClosed = true;
        }
        try {
            device.close();
        } finally {
            if (lock != null) {
                lock.close();
            }
        }
    }
}
