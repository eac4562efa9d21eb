package dev.cowfs.fs;

import dev.cowfs.engine.ReadTransaction;
import dev.cowfs.engine.Store;
import dev.cowfs.engine.WriteTransaction;
import dev.cowfs.engine.device.BlockDevice;
import dev.cowfs.engine.format.Bytes;

import static dev.cowfs.fs.InodeNumber.inoOf;
import static dev.cowfs.fs.InodeNumber.treeOf;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

/**
 * A POSIX filesystem in one cowfs image: inodes, directories, file data in extents, links, symbolic links,
 * special files and extended attributes, over the copy-on-write B-tree.
 *
 * <p>Every finished operation is visible at once to every later one (they all run in the one open write
 * transaction) and becomes durable at the next commit: on {@link #sync()}, {@link #fsync}, {@link #close()},
 * and at the latest every {@link FsOptions#commitIntervalMillis()} (group commit). A power cut loses at most
 * the operations since the last commit, and never leaves a mix of two commits.
 *
 * <p>Operations address inodes by number; {@link #resolve} turns a path into one. Thread safe: operations are
 * serialized by one lock (readers of a committed view use snapshots, later).
 */
public final class CowFileSystem implements Closeable {
    /** Tree of the filesystem's own records (format, subvolumes). */
    static final long ROOT_TREE = 256;
    /** Tree of the default subvolume. */
    static final long DEFAULT_SUBVOLUME_TREE = InodeNumber.DEFAULT_TREE;
    /** The root directory of the default subvolume. */
    public static final long ROOT_INO = InodeNumber.ROOT_LOCAL;
    static final byte[] FS_INFO_KEY = "cowfs.fs".getBytes(StandardCharsets.US_ASCII);
    public static final int NAME_MAX = 255;
    public static final int SYMLINK_MAX = 4095;
    /** Longest path {@link #resolve} accepts, in bytes (Linux PATH_MAX less the terminating NUL). */
    public static final int PATH_MAX = 4095;
    public static final int XATTR_NAME_MAX = 255;
    public static final int XATTR_VALUE_MAX = 65536;
    public static final int LINK_MAX = 65000;
    /** Inode numbers inside a subvolume stay at or below this: {@link InodeNumber}. */
    public static final long MAX_INO = InodeNumber.MAX_LOCAL;

    private final Store store;
    private final FsOptions options;
    /** The lock, the open transaction, failures and commits: how every operation here runs. */
    private final Operations ops;
    /** Group commit's timer, once loaded (null when read-only or committing only on request). */
    private CommitTimer.Running committer;
    private final InodeTable inodes;
    private final FileData data;
    private final Xattrs xattrs;
    private final OpenFiles openFiles;
    private final DirectoryTree tree;
    private final Replication replication;
    private final Maintenance maintenance;
    private boolean compressByDefault;
    /** Subvolumes and snapshots: their records, read-only flags and inode counters. */
    private final Subvolumes subvolumes;
    private final SubvolumeChanges subvolumeChanges;
    private CowFileSystem(Store store, FsOptions options) {
        this.store = store;
        this.options = options;
        this.subvolumes = new Subvolumes(store);
        this.ops = new Operations(store, options, subvolumes);
        this.inodes = new InodeTable(store, ops::txn, subvolumes, options.clock());
        this.data = new FileData(inodes);
        this.xattrs = new Xattrs(inodes);
        this.openFiles = new OpenFiles(inodes, data);
        this.tree = new DirectoryTree(inodes, subvolumes, openFiles);
        this.replication = new Replication(ops, inodes, subvolumes, data);
        this.maintenance = new Maintenance(ops, inodes, subvolumes, data);
        this.subvolumeChanges = new SubvolumeChanges(store, ops, inodes, subvolumes, data, openFiles);
        ops.attach(data, openFiles);
    }

    // ------------------------------------------------------------------ creating and opening

    /** Makes a new filesystem image at {@code image} (which must not exist). */
    public static CowFileSystem create(Path image, FsOptions options) throws IOException {
        return format(Store.create(image, options.store()), options);
    }

    /** Makes a new filesystem on a device (the simulated one, for crash tests). */
    public static CowFileSystem create(BlockDevice device, FsOptions options) throws IOException {
        return format(Store.create(device, options.store()), options);
    }

    public static CowFileSystem open(Path image, FsOptions options) throws IOException {
        return mount(Store.open(image, options.store()), options);
    }

    public static CowFileSystem open(BlockDevice device, FsOptions options) throws IOException {
        return mount(Store.open(device, options.store()), options);
    }

    private static CowFileSystem format(Store store, FsOptions options) throws IOException {
        try {
            try (WriteTransaction txn = store.beginWrite()) {
                byte[] info = new byte[FsRecordLayout.BYTES];
                Bytes.putInt(info, FsRecordLayout.VERSION_OFFSET, FsRecordLayout.VERSION);
                Bytes.putInt(info, FsRecordLayout.DEFAULT_FLAGS_OFFSET, options.compress() ? Inode.FLAG_COMPRESS : 0);
                Bytes.putLong(info, FsRecordLayout.DEFAULT_TREE_OFFSET, DEFAULT_SUBVOLUME_TREE);
                Bytes.putLong(info, FsRecordLayout.NEXT_ID_OFFSET, 1);
                txn.put(ROOT_TREE, FS_INFO_KEY, info);
                SubvolumeChanges.writeEmptySubvolume(txn, 0, options.clock().instant());
                txn.commit();
            }
            return mount(store, options);
        } catch (IOException | RuntimeException | Error e) {
            store.close();
            throw e;
        }
    }

    private static CowFileSystem mount(Store store, FsOptions options) throws IOException {
        try {
            CowFileSystem fs = new CowFileSystem(store, options);
            fs.ops.opening(fs::load);
            fs.committer = GroupCommitter.start(fs.ops, options);
            return fs;
        } catch (IOException | RuntimeException | Error e) {
            store.close();
            throw e;
        }
    }

    private void load() throws IOException {
        try (var read = store.beginRead()) {
            byte[] info = read.hasTree(ROOT_TREE) ? read.get(ROOT_TREE, FS_INFO_KEY) : null;
            if (info == null || info.length != FsRecordLayout.BYTES) {
                throw new FsException(Errno.EINVAL, "image holds no cowfs filesystem (no filesystem record); "
                        + "create one with cowfs mkfs");
            }
            int version = Bytes.getInt(info, FsRecordLayout.VERSION_OFFSET);
            if (version != FsRecordLayout.VERSION) {
                throw new FsException(Errno.EINVAL, "filesystem format version " + version
                        + " is not supported by this version (it reads version " + FsRecordLayout.VERSION + ")");
            }
            compressByDefault = (Bytes.getInt(info, FsRecordLayout.DEFAULT_FLAGS_OFFSET) & Inode.FLAG_COMPRESS) != 0;
            subvolumes.load(read, info);
        }
        if (!store.options().readOnly()) {
            ops.beginTransaction();
            for (long subvolume : subvolumes.writableIds()) {
                reclaimOrphans(subvolume);
            }
            replication.discardUnfinishedReceives();
        }
    }

    /** Unlinked files that were still open at the last crash or close: their space is freed now. */
    private void reclaimOrphans(long subvolume) throws IOException {
        if (openFiles.removeOrphans(subvolume) > 0) {
            ops.commitLocked();
        }
    }

    // ------------------------------------------------------------------ plumbing

    FsOptions options() {
        return options;
    }

    /** The open write transaction (null when read-only), for this package's tests. */
    WriteTransaction txn() {
        return ops.txn();
    }

    /** The inode table (tests that damage the tree on purpose). */
    InodeTable inodes() {
        return inodes;
    }

    Subvolumes subvolumes() {
        return subvolumes;
    }

    /** The image's block size in bytes: the unit of allocation and of range reflinks. */
    public int blockSize() {
        return store.blockSizeBytes();
    }

    /** The engine store under the filesystem (for checks and statistics). */
    public Store store() {
        return store;
    }

    // ------------------------------------------------------------------ attributes

    /** The inode's attributes (a copy). */
    public Inode stat(long ino) throws IOException {
        return ops.query(() -> {
            Inode inode = inodes.load(ino);
            return inode;
        });
    }

    public void chmod(long ino, int permissions) throws IOException {
        ops.change(ino, () -> {
            Inode inode = inodes.load(ino);
            inodes.store(inodes.touch(inode.withMode((inode.mode() & Inode.S_IFMT) | (permissions & 07777)), false,
                    true));
            xattrs.chmodAcl(ino, permissions);
        });
    }

    /** Keeps POSIX ACLs from now on ({@link PosixAcl}), for a server whose kernel enforces them; else EOPNOTSUPP. */
    public void enablePosixAcls() {
        inodes.enablePosixAcls();
    }

    /** Whether directory {@code dir} has a default ACL (which new inodes in it inherit; the umask is not applied). */
    public boolean hasDefaultAcl(long dir) throws IOException {
        return inodes.posixAcls() && findXattr(dir, PosixAcl.DEFAULT) != null;
    }

    public void chown(long ino, int uid, int gid) throws IOException {
        ops.change(ino, () -> {
            Inode inode = inodes.load(ino);
            inode = inode.withOwner(uid != -1 ? uid : inode.uid(), gid != -1 ? gid : inode.gid());
            inodes.store(inodes.touch(inode, false, true));
        });
    }

    /** Sets access and modification times; a null instant leaves that time as it is. */
    public void setTimes(long ino, Instant access, Instant modify) throws IOException {
        ops.change(ino, () -> {
            Inode inode = inodes.load(ino);
            if (access != null) {
                inode = inode.withTimes(true, false, false, access.getEpochSecond(), access.getNano());
            }
            if (modify != null) {
                inode = inode.withTimes(false, true, false, modify.getEpochSecond(), modify.getNano());
            }
            inodes.store(inodes.touch(inode, false, true));
        });
    }

    /**
     * Chooses whether the file's data written from now on is compressed with LZ4 (data already written stays as
     * it is). New files start with the filesystem's default, chosen at creation.
     */
    public void setCompression(long ino, boolean compress) throws IOException {
        ops.change(ino, () -> {
            Inode inode = inodes.load(ino);
            if (!inode.isRegularFile()) {
                throw new FsException(Errno.EINVAL, "inode " + ino + " is not a regular file");
            }
            inode = inode.withFlags(compress ? inode.flags() | Inode.FLAG_COMPRESS
                    : inode.flags() & ~Inode.FLAG_COMPRESS);
            inodes.store(inodes.touch(inode, false, true));
        });
    }

    // ------------------------------------------------------------------ names

    /** The inode that {@code name} names in directory {@code dir}. */
    public long lookup(long dir, String name) throws IOException {
        return ops.query(() -> tree.lookup(dir, name));
    }

    /**
     * As {@link #lookup}, but -1 when the directory has no entry of that name rather than an exception: for
     * callers that often look for names that are not there (a FUSE server answering lookups).
     */
    public long lookupIfExists(long dir, String name) throws IOException {
        return ops.query(() -> tree.lookupIfExists(dir, name));
    }

    /**
     * The inode a path names, from the root ('/'-separated, absolute or relative to the root). Symbolic links
     * in the middle are followed; the last component's only when {@code followLast}.
     */
    public long resolve(String path, boolean followLast) throws IOException {
        return ops.query(() -> tree.resolve(ROOT_INO, path, followLast));
    }

    /**
     * The inode a path names, relative to directory {@code start} unless the path is absolute (as openat and
     * friends resolve). Symbolic links are followed as in {@link #resolve(String, boolean)}.
     */
    public long resolve(long start, String path, boolean followLast) throws IOException {
        return ops.query(() -> tree.resolve(start, path, followLast));
    }

    /** Lists a directory from {@code position} (0 for the start), at most {@code max} entries. */
    public List<DirEntry> readdir(long dir, long position, int max) throws IOException {
        return ops.query(() -> tree.readdir(dir, position, max));
    }

    // ------------------------------------------------------------------ creating

    /** Creates a regular file, fifo, socket or device node; returns its inode. */
    public long mknod(long dir, String name, int mode, long rdev, int uid, int gid) throws IOException {
        int type = mode & Inode.S_IFMT;
        if (type == 0) {
            mode |= Inode.S_IFREG;
            type = Inode.S_IFREG;
        }
        if (type == Inode.S_IFDIR || type == Inode.S_IFLNK) {
            throw new FsException(Errno.EINVAL, "mknod makes files and special files; use mkdir or symlink");
        }
        return createNode(dir, name, mode, rdev, uid, gid, null);
    }

    public long mkdir(long dir, String name, int permissions, int uid, int gid) throws IOException {
        return createNode(dir, name, Inode.S_IFDIR | (permissions & 07777), 0, uid, gid, null);
    }

    public long symlink(long dir, String name, String target, int uid, int gid) throws IOException {
        byte[] bytes = target.getBytes(StandardCharsets.UTF_8);
        if (bytes.length == 0 || bytes.length > SYMLINK_MAX || target.indexOf('\0') >= 0) {
            throw new FsException(bytes.length > SYMLINK_MAX ? Errno.ENAMETOOLONG
                    : bytes.length == 0 ? Errno.ENOENT : Errno.EINVAL,
                    "symbolic link target of " + bytes.length + " bytes (1 to " + SYMLINK_MAX + ", no NUL)");
        }
        return createNode(dir, name, Inode.S_IFLNK | 0777, 0, uid, gid, bytes);
    }

    private long createNode(long dir, String name, int mode, long rdev, int uid, int gid, byte[] symlinkTarget)
            throws IOException {
        byte[] nameBytes = DirectoryTree.nameBytes(name);
        return ops.update(dir, () -> {
            ops.requireSpace(1);
            return tree.create(dir, name, nameBytes, mode, rdev, uid, gid, symlinkTarget, compressByDefault);
        });
    }

    public String readlink(long ino) throws IOException {
        return ops.query(() -> tree.readlink(ino));
    }

    /** A new name for an existing non-directory inode (a hard link). */
    public void link(long ino, long dir, String name) throws IOException {
        byte[] nameBytes = DirectoryTree.nameBytes(name);
        ops.change(dir, () -> {
            ops.requireSpace(1);
            tree.link(ino, dir, name, nameBytes);
        });
    }

    // ------------------------------------------------------------------ removing

    /** Removes a non-directory name; the inode goes with its last link once no handle holds it open. */
    public void unlink(long dir, String name) throws IOException {
        byte[] nameBytes = DirectoryTree.nameBytes(name);
        ops.freeing(dir, () -> tree.unlink(dir, name, nameBytes));
    }

    public void rmdir(long dir, String name) throws IOException {
        byte[] nameBytes = DirectoryTree.nameBytes(name);
        ops.freeing(dir, () -> tree.rmdir(dir, name, nameBytes));
    }

    public void rename(long fromDir, String fromName, long toDir, String toName, RenameMode mode)
            throws IOException {
        byte[] from = DirectoryTree.nameBytes(fromName);
        byte[] to = DirectoryTree.nameBytes(toName);
        ops.freeing(toDir, () -> tree.rename(fromDir, fromName, from, toDir, toName, to, mode));
    }

    // ------------------------------------------------------------------ file data

    /** Marks the inode open (its data outlives its last link until {@link #release}). */
    public void open(long ino) throws IOException {
        ops.inspect(() -> openFiles.open(ino));
    }

    /** Releases a handle: the last one of a file with no name left frees it. */
    public void release(long ino) throws IOException {
        ops.exclusive(() -> openFiles.release(ino));
    }

    /** Reads up to {@code length} bytes at {@code offset}; returns how many (0 at or past the end). */
    public int read(long ino, long offset, byte[] dst, int dstOffset, int length) throws IOException {
        if (offset < 0 || length < 0) {
            throw new FsException(Errno.EINVAL, "negative offset or length");
        }
        java.util.Objects.checkFromIndexSize(dstOffset, length, dst.length);
        return ops.query(() -> data.read(ino, offset, ByteBuffer.wrap(dst), dstOffset, length));
    }

    /**
     * Reads up to {@code dst.remaining()} bytes at {@code offset} into {@code dst} from its position, which moves
     * past them; returns how many (0 at or past the end). A direct buffer is filled without a copy in between.
     */
    public int read(long ino, long offset, ByteBuffer dst) throws IOException {
        if (offset < 0) {
            throw new FsException(Errno.EINVAL, "negative offset");
        }
        if (dst.isReadOnly()) {
            throw new java.nio.ReadOnlyBufferException();
        }
        int n = ops.query(() -> data.read(ino, offset, dst, dst.position(), dst.remaining()));
        dst.position(dst.position() + n);
        return n;
    }

    /**
     * Up to {@code length} bytes at {@code offset} as where they lie ({@link ReadPieces}), to {@code sink} while no
     * writer runs; returns how many, or -1 when they do not all lie in the image as they read (use a copying read).
     */
    public int readPieces(long ino, long offset, int length, ReadPieces sink) throws IOException {
        if (offset < 0 || length < 0) {
            throw new FsException(Errno.EINVAL, "negative offset or length");
        }
        return ops.query(() -> data.readPieces(ino, offset, length, sink));
    }

    /** Writes {@code length} bytes at {@code offset}, growing the file as needed. */
    public void write(long ino, long offset, byte[] src, int srcOffset, int length) throws IOException {
        if (offset < 0 || length < 0 || offset + length < 0) {
            throw new FsException(Errno.EINVAL, "negative offset or length");
        }
        java.util.Objects.checkFromIndexSize(srcOffset, length, src.length);
        write(ino, offset, ByteBuffer.wrap(src), srcOffset, length);
    }

    /**
     * Writes the {@code src.remaining()} bytes from its position, which moves past them, at {@code offset}. A
     * direct buffer is taken without a copy in between.
     */
    public void write(long ino, long offset, ByteBuffer src) throws IOException {
        int length = src.remaining();
        if (offset < 0 || offset + length < 0) {
            throw new FsException(Errno.EINVAL, "negative offset");
        }
        write(ino, offset, src, src.position(), length);
        src.position(src.position() + length);
    }

    private void write(long ino, long offset, ByteBuffer src, int srcOffset, int length) throws IOException {
        if (offset + length > FileData.MAX_FILE_BYTES) {
            throw new FsException(Errno.EFBIG, "write past the maximum file size " + FileData.MAX_FILE_BYTES);
        }
        ops.change(ino, () -> {
            ops.requireSpace((length + blockSize() - 1) / blockSize());
            data.write(ino, offset, src, srcOffset, length);
            ops.afterChange();
        });
    }

    /** Sets the file size: cutting frees the data past it, growing adds a hole. */
    public void truncate(long ino, long size) throws IOException {
        if (size < 0 || size > FileData.MAX_FILE_BYTES) {
            throw new FsException(size < 0 ? Errno.EINVAL : Errno.EFBIG, "size " + size + " out of range");
        }
        ops.freeing(ino, () -> data.flushFile(ino), () -> {
            data.truncate(ino, size);
            ops.afterChange();
        });
    }

    /** The first offset at or after {@code offset} that holds data (SEEK_DATA); ENXIO past the last data. */
    /**
     * Deallocates [offset, offset + length) of a regular file, its size unchanged (fallocate's PUNCH_HOLE): reads
     * there give zeros, space no other file or snapshot shares is freed. With {@code growTo} past the size (ZERO_RANGE
     * without KEEP_SIZE) the file then grows to it, the new part a hole.
     */
    public void punchHole(long ino, long offset, long length, long growTo) throws IOException {
        if (offset < 0 || length <= 0 || offset > FileData.MAX_FILE_BYTES - length) {
            throw new FsException(Errno.EINVAL, "range of " + length + " bytes at " + offset);
        }
        ops.freeing(ino, () -> data.flushFile(ino), () -> {
            data.punchHole(ino, offset, offset + length);
            if (growTo > inodes.load(ino).size()) {
                data.truncate(ino, growTo);
            }
            ops.afterChange();
        });
    }

    public long seekData(long ino, long offset) throws IOException {
        return ops.exclusiveQuery(() -> data.seek(ino, offset, true));
    }

    /** The first offset at or after {@code offset} in a hole (SEEK_HOLE); the end of the file counts as one. */
    public long seekHole(long ino, long offset) throws IOException {
        return ops.exclusiveQuery(() -> data.seek(ino, offset, false));
    }

    /**
     * Makes {@code dst} (an existing regular file) a copy of {@code src} that shares all of src's data: a reflink
     * clone. No data is copied; writes to either file afterwards never show in the other (hard links, by
     * contrast, are one inode). Works across subvolumes; dst must be writable. dst keeps its own attributes.
     */
    public void reflink(long src, long dst) throws IOException {
        ops.change(dst, () -> {
            ops.requireSpace(ExtentItems.NEST_ABOVE_ITEMS);
            Inode source = inodes.load(src);
            Inode target = inodes.load(dst);
            if (source.isDirectory() || target.isDirectory()) {
                throw new FsException(Errno.EISDIR, "reflink of directory " + (source.isDirectory() ? src : dst)
                        + "; clone files one by one");
            }
            if (!source.isRegularFile() || !target.isRegularFile()) {
                throw new FsException(Errno.EINVAL, "reflink needs two regular files (" + src + ", " + dst + ")");
            }
            if (src == dst) {
                return;
            }
            data.cloneData(src, dst);
            ops.afterChange();
        });
    }

    /**
     * Makes {@code length} bytes of {@code dst} from {@code dstOffset} share the data of {@code src} from
     * {@code srcOffset} (a reflink of a range, as FICLONERANGE does): no data copied, O(extents in the range);
     * later writes to either file copy only what they touch. The range is cut at src's end; dst grows when it ends
     * short of the range. Returns the bytes shared, or -1 with nothing changed when either file keeps its data
     * inline (small files: copy their bytes).
     */
    public long reflinkRange(long src, long srcOffset, long dst, long dstOffset, long length) throws IOException {
        if (srcOffset < 0 || dstOffset < 0 || length < 0 || dstOffset > FileData.MAX_FILE_BYTES - length) {
            throw new FsException(Errno.EINVAL, "reflink of " + length + " bytes from " + srcOffset + " to "
                    + dstOffset);
        }
        long[] shared = {0};
        ops.change(dst, () -> {
            Inode source = inodes.load(src);
            for (Inode inode : new Inode[] {source, inodes.load(dst)}) {
                if (inode.isDirectory()) {
                    throw new FsException(Errno.EISDIR, "reflink of a range of directory " + inode.ino());
                }
                if (!inode.isRegularFile()) {
                    throw new FsException(Errno.EINVAL, "reflink of a range needs regular files (" + src + ", "
                            + dst + ")");
                }
            }
            long n = Math.max(0, Math.min(length, source.size() - srcOffset));
            ops.requireSpace(2 * ExtentItems.NEST_ABOVE_ITEMS);
            if (n == 0) {
                return;
            }
            if (!data.cloneRange(src, srcOffset, dst, dstOffset, n)) {
                shared[0] = -1;
                return;
            }
            shared[0] = n;
            ops.afterChange();
        });
        return shared[0];
    }

    // ------------------------------------------------------------------ extended attributes

    public byte[] getXattr(long ino, String name) throws IOException {
        byte[] value = findXattr(ino, name);
        if (value == null) {
            throw new FsException(Errno.ENODATA, "inode " + ino + " has no attribute '" + name + "'");
        }
        return value;
    }

    /**
     * The attribute's value, or null when the file has none of that name: for callers that ask often and mostly
     * find nothing (the kernel asks for security.capability before every write through a mount).
     */
    public byte[] findXattr(long ino, String name) throws IOException {
        byte[] key = xattrs.key(ino, name);
        return ops.query(() -> xattrs.find(ino, key));
    }

    /** Sets an attribute; {@code create} fails if it exists (EEXIST), {@code replace} if it does not (ENODATA). */
    public void setXattr(long ino, String name, byte[] value, boolean create, boolean replace) throws IOException {
        byte[] key = xattrs.key(ino, name);
        Xattrs.checkValue(value);
        ops.change(ino, () -> {
            ops.requireSpace(1 + value.length / blockSize());
            xattrs.set(ino, key, name, value, create, replace);
        });
    }

    public void removeXattr(long ino, String name) throws IOException {
        byte[] key = xattrs.key(ino, name);
        ops.freeing(ino, () -> xattrs.remove(ino, key, name));
    }

    public List<String> listXattrs(long ino) throws IOException {
        return ops.query(() -> xattrs.list(ino));
    }

    // ------------------------------------------------------------------ durability

    /**
     * Makes every finished operation durable (one commit). With nothing to commit, it still commits when blocks freed
     * by earlier commits wait for the superblock ring to pass them: each such sync moves the ring on by one, and
     * the ring's length of them makes the blocks reusable.
     */
    public void sync() throws IOException {
        ops.commit(true);
    }

    /** Returns once the file's data and metadata are durable (today: one commit of everything). */
    public void fsync(long ino) throws IOException {
        ops.inspect(() -> inodes.load(ino));
        ops.commit(false);
    }

    // ------------------------------------------------------------------ subvolumes and snapshots

    /** Every subvolume, snapshot and clone, the default subvolume (id 0) first. */
    public List<SubvolumeInfo> listSubvolumes() throws IOException {
        return ops.query(subvolumes::list);
    }

    public SubvolumeInfo subvolume(long id) throws IOException {
        return ops.query(() -> subvolumes.info(id));
    }

    /** The id of the subvolume or snapshot called {@code name}. */
    public long subvolumeId(String name) throws IOException {
        return ops.query(() -> subvolumes.idOf(name));
    }

    /** Tells {@code listener} of every change from now on (null: nobody); see {@link ChangeListener}. */
    public void setChangeListener(ChangeListener listener) {
        inodes.setChangeListener(listener);
    }

    /**
     * Returns once the listener has passed on every change made so far ({@link ChangeListener#awaitPassedOn}): a
     * command through the control channel of a mount ends only when the mount shows what it did.
     */
    public void awaitChangesPassedOn() {
        inodes.changes().awaitPassedOn();
    }

    /** Creates an empty subvolume (its own file tree, root directory mode 0755); durable on return. */
    public long createSubvolume(String name) throws IOException {
        return subvolumeChanges.createSubvolume(name);
    }

    /**
     * Snapshots subvolume {@code source} as it is now (every finished operation included), read-only unless
     * {@code writable} (a writable clone); O(1) in the number of files: the snapshot shares the source's tree.
     * Files unlinked but still open in the source are left out. Durable on return.
     */
    public long createSnapshot(long source, String name, boolean writable) throws IOException {
        return subvolumeChanges.createSnapshot(source, name, writable);
    }

    /**
     * Deletes a subvolume or snapshot: gone at once (durable on return), its space released over the following
     * commits (only what no other subvolume shares). EBUSY while a file in it is open.
     */
    public void deleteSubvolume(long id) throws IOException {
        subvolumeChanges.deleteSubvolume(id);
    }

    /**
     * Returns subvolume {@code id} to the contents of snapshot {@code snapshot} (which stays as it is): O(1).
     * Inode numbers go on past every number the subvolume handed out. EBUSY while a file in it is open.
     */
    public void rollback(long id, long snapshot) throws IOException {
        subvolumeChanges.rollback(id, snapshot);
    }

    /**
     * What a subvolume or snapshot holds: referenced, exclusive and shared bytes, exact for the generation
     * returned. Commits first (figures describe committed state), then walks the subvolume's tree once.
     */
    public SpaceUsage space(long subvolume) throws IOException {
        sync();
        return ops.query(() -> maintenance.space(subvolume));
    }

    /**
     * What holds the filesystem's space: every subvolume and snapshot with its exclusive and shared bytes, freed
     * bytes not yet reusable (superblock ring, open readers), and whether deleted subvolumes are still being
     * released. Commits first; walks every subvolume's tree once.
     */
    public SpaceExplanation explainSpace() throws IOException {
        sync();
        return ops.query(() -> maintenance.explainSpace());
    }

    /** What one file holds (its data extents and out-of-line attributes), as {@link #space(long)}. */
    public SpaceUsage fileSpace(long ino) throws IOException {
        sync();
        return ops.query(() -> maintenance.fileSpace(ino));
    }

    /**
     * What changed from subvolume or snapshot {@code from} to {@code to} (a later snapshot, a clone, or the live
     * subvolume it was taken of), by path, sorted. Commits first. Skips every part of the trees the two still
     * share, so its cost follows the amount of change, not the number of files.
     */
    public List<DiffEntry> diff(long from, long to) throws IOException {
        sync();
        return ops.query(() -> {
            subvolumes.info(from);
            subvolumes.info(to);
            try (ReadTransaction read = store.beginRead()) {
                return SnapshotDiff.diff(read, treeOf(inoOf(from, 0)), treeOf(inoOf(to, 0)));
            }
        });
    }

    /** What {@link #send} wrote. */
    public record SendSummary(long records, long streamBytes, long dataBytes, long extentsSent, long extentsReused,
                              String contentHash, long itemsAdded, long itemsRemoved) {
    }

    /**
     * Writes read-only snapshot {@code snapshot} to {@code out} as a send stream (docs/SEND.md): whole, or, with
     * a {@code base} (a read-only snapshot, or -1 for none), only what changed since it, at a cost that follows
     * the change. Reads one committed state; writers go on meanwhile. {@code progress} hears the stream bytes
     * written so far.
     */
    public SendSummary send(long snapshot, long base, java.io.OutputStream out,
                            java.util.function.LongConsumer progress) throws IOException {
        return replication.send(snapshot, base, out, progress);
    }

    /** What {@link #receive} made and read. */
    public record ReceiveSummary(SubvolumeInfo snapshot, long records, long streamBytes, long dataBytes,
                                 long extentsWritten, long extentsReused, String contentHash) {
    }

    /**
     * Receives a send stream from {@code in} as a new read-only snapshot, named as on the sending side unless
     * {@code name} is given. An incremental stream needs its base here (a snapshot received from it, or the
     * snapshot itself). Every record is checked as it arrives; the snapshot appears in one commit only after
     * the end of the stream, its content hash and the filesystem checker all check out, and otherwise nothing
     * is left of it (a crash meanwhile leaves a staged tree that the next open for writing drops). Other
     * operations on this filesystem wait while it runs.
     */
    public ReceiveSummary receive(java.io.InputStream in, String name, java.util.function.LongConsumer progress)
            throws IOException {
        ReceiveSummary summary = replication.receive(in, name, progress);
        subvolumeChanges.subvolumeChanged(summary.snapshot().name(), summary.snapshot().id());
        return summary;
    }

    /**
     * Repairs what the checkers find and can fix without guessing, in one commit after committing what was
     * open: blocks that nothing reaches and no free or pending record lists (leaked) go back to free space;
     * superblock totals that disagree with the space tree take the tree's; subvolume trees that no record
     * names are dropped (their blocks come back over the following commits, as a deleted subvolume's do); and
     * receive markers that stage nothing go. Space is repaired only when the engine checker found nothing else
     * wrong: a damaged tree could hide what a leaked-looking block holds. Returns one line per change, each
     * starting "repaired:", or "not repaired:" with the reason.
     */
    public List<String> repair() throws IOException {
        return ops.update(maintenance::repair);
    }

    /**
     * Compacts the image ({@link Store#compact}): what the trees reach in the file's tail moves down into free
     * space, and the file is cut. What is not yet committed is committed first, and nothing else reads or writes
     * through this filesystem meanwhile. A refusal (EIO: the image does not check clean) changes nothing.
     */
    public Store.Compacted compact(java.util.function.LongConsumer progress) throws IOException {
        return compact(progress, false);
    }

    /**
     * {@link #compact(java.util.function.LongConsumer)}, as
     * {@link Store#compact(java.util.function.LongConsumer, boolean)}.
     */
    public Store.Compacted compact(java.util.function.LongConsumer progress, boolean belowCut) throws IOException {
        return ops.detached(() -> store.compact(progress, belowCut));
    }

    /** True while deleted subvolumes still hold blocks that the following commits release. */
    public boolean isReleasingSpace() throws IOException {
        return ops.query(() -> txn() != null && txn().hasDroppedTrees());
    }

    /**
     * The filesystem's space as of now: what the open transaction allocated and the data buffered for writing count
     * as used at once, and freed blocks count as used until they are reusable (see {@link FsStat}).
     */
    public FsStat statfs() throws IOException {
        return ops.query(maintenance::statfs);
    }

    /** Commits what is open and closes the image. */
    @Override
    public void close() throws IOException {
        if (committer != null) {
            committer.stop();
        }
        try {
            ops.close();
        } finally {
            store.close();
        }
    }
}
