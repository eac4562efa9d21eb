package dev.cowfs.fuse;

import dev.cowfs.fs.CowFileSystem;
import dev.cowfs.fs.DirEntry;
import dev.cowfs.fs.Errno;
import dev.cowfs.fs.FsException;
import dev.cowfs.fs.FsStat;
import dev.cowfs.fs.Inode;
import dev.cowfs.fs.InodeNumber;
import dev.cowfs.fs.RenameMode;
import dev.cowfs.fs.SubvolumeInfo;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static dev.cowfs.fuse.FuseProtocol.*;

/**
 * The operations of the FUSE kernel protocol over a {@link CowFileSystem}, by inode: a node id is the cowfs inode
 * number (the mounted subvolume's root is node 1, and inode 1 takes its number in exchange), so every name of a
 * file is one kernel inode, and an open file is reached by its handle, its inode number, after its last name went.
 * The kernel's lookups are counted per node and forgotten as it says. The virtual directory {@code .snapshots}
 * holds every other subvolume by name, as through the libfuse adapter ({@link FusePaths}).
 *
 * <p>Called from several receiving threads at once; the filesystem does its own locking.
 */
final class KernelFuse {
    private static final int O_ACCMODE = 03;
    private static final int O_RDONLY = 0;
    private static final int O_TRUNC = 01000;
    private static final int W_OK = 2;
    private static final int XATTR_CREATE = 1;
    private static final int XATTR_REPLACE = 2;
    private static final int FALLOC_FL_KEEP_SIZE = 1;
    private static final int FALLOC_FL_PUNCH_HOLE = 2;
    private static final int FALLOC_FL_ZERO_RANGE = 0x10;
    private static final long COPY_CHUNK = 1L << 30;
    private static final int SEEK_DATA = 3;
    private static final int SEEK_HOLE = 4;
    private static final int S_ISGID = 02000;
    private static final int S_ISUID = 04000;
    private static final int S_IXGRP = 010;
    private static final String SECURITY_CAPABILITY = "security.capability";
    private static final int READDIR_BATCH = 256;
    private static final long FIRST_ENTRY_OFFSET = 2;
    /** The first protocol version with FUSE_NOTIFY_INC_EPOCH. */
    private static final int EPOCH_MINOR_VERSION = 44;

    private final CowFileSystem fs;
    private final MountOptions options;
    private final PrintWriter log;
    private final long root;
    private final KernelNodes nodes;
    /** Handles open for writing per inode: while one is, the kernel's write-back cache may hold data not sent. */
    private final Map<Long, Integer> writers = new ConcurrentHashMap<>();
    private volatile boolean writebackCache;
    /** Whether the kernel handles POSIX ACLs: it leaves the umask to the server, which applies it without one. */
    private volatile boolean posixAcls;
    /** Whether the kernel leaves the umask to the server (DONT_MASK), which must then apply it. */
    private volatile boolean dontMask;
    /**
     * Whether the server removes privileges on write, truncate and chown (HANDLE_KILLPRIV_V2): the set-user-ID bit,
     * the set-group-ID bit of a group-executable file, when the kernel says so, and file capabilities always. The
     * kernel then no longer asks for security.capability before every write.
     */
    private volatile boolean killPrivileges;
    private volatile KernelNotifier notifier;
    private volatile boolean atomicTruncate;
    private volatile boolean destroyed;
    private volatile boolean uringAgreed;

    KernelFuse(CowFileSystem fs, MountOptions options, long rootSubvolume, PrintWriter log) {
        this.fs = fs;
        this.options = options;
        this.log = log;
        this.root = InodeNumber.rootOf(rootSubvolume);
        this.nodes = new KernelNodes(fs, root, options);
    }

    /** The kernel's nodes and the lookups it holds. */
    KernelNodes nodes() {
        return nodes;
    }

    /** Where changes the kernel would not expect are told at once. */
    void setNotifier(KernelNotifier value) {
        notifier = value;
    }

    boolean destroyed() {
        return destroyed;
    }

    /** Whether INIT agreed to take requests through io_uring (FUSE_OVER_IO_URING). */
    boolean uringAgreed() {
        return uringAgreed;
    }

    // ------------------------------------------------------------------ dispatch

    /**
     * Answers one request into {@code m}'s reply buffer; returns the reply's length, or 0 when the operation takes
     * no answer (FORGET).
     */
    int handle(FuseMessage m) {
        int opcode = m.opcode();
        try {
            m.startReply();
            if (!dispatch(opcode, m)) {
                return 0;
            }
            return m.finishReply(0);
        } catch (FsException e) {
            return m.finishReply(-e.errno().number());
        } catch (IOException e) {
            logProblem(opcode, m, e);
            return m.finishReply(-Errno.EIO.number());
        } catch (RuntimeException | Error e) {
            logProblem(opcode, m, e);
            if (e instanceof Error error && !(e instanceof AssertionError) && !(e instanceof StackOverflowError)
                    && !error.getClass().getName().endsWith("EngineBugError")) {
                throw error;
            }
            return m.finishReply(-Errno.EIO.number());
        }
    }

    /** Runs the operation; false when it sends no reply. */
    private boolean dispatch(int opcode, FuseMessage m) throws IOException {
        long ino = nodes.swap(m.nodeId());
        switch (opcode) {
            case INIT -> init(m);
            case LOOKUP -> nodes.lookup(m, ino);
            case FORGET -> {
                nodes.forget(m.nodeId(), m.argLong(0));
                return false;
            }
            case BATCH_FORGET -> {
                nodes.batchForget(m);
                return false;
            }
            case GETATTR -> nodes.putAttrOut(m, ino);
            case STATX -> nodes.putStatxOut(m, ino);
            case SETATTR -> setattr(m, ino);
            case READLINK -> m.putBytes(fs.readlink(ino).getBytes(StandardCharsets.UTF_8));
            case SYMLINK -> symlink(m, ino);
            case MKNOD -> mknod(m, ino);
            case MKDIR -> mkdir(m, ino);
            case UNLINK -> fs.unlink(parentForChange(ino, m.name(0)), m.name(0));
            case RMDIR -> rmdir(ino, m.name(0));
            case RENAME -> rename(m, ino, m.argLong(0), 0, 8);
            case RENAME2 -> rename(m, ino, m.argLong(0), m.argInt(8), 16);
            case LINK -> link(m, ino);
            case OPEN -> open(m, ino);
            case CREATE -> create(m, ino);
            case READ -> {
                if (!read(m)) {
                    return false; // answered already, spliced
                }
            }
            case WRITE -> write(m);
            case STATFS -> statfs(m);
            case RELEASE -> release(m);
            case FSYNC -> fs.fsync(m.argLong(0));
            case FLUSH -> throw new FsException(Errno.ENOSYS, "FLUSH is not needed"); // see flushIsNotNeeded
            case RELEASEDIR -> {
            }
            case FSYNCDIR -> fsyncDirectory(ino);
            case OPENDIR -> opendir(m, ino);
            case READDIR -> readdir(m, false);
            case READDIRPLUS -> readdir(m, true);
            case SETXATTR -> setxattr(m, ino);
            case GETXATTR -> getxattr(m, ino);
            case LISTXATTR -> listxattr(m, ino);
            case REMOVEXATTR -> fs.removeXattr(writable(ino), m.name(0));
            case ACCESS -> access(m, ino);
            case FALLOCATE -> fallocate(m);
            case LSEEK -> lseek(m);
            case COPY_FILE_RANGE -> copyFileRange(m);
            case SYNCFS -> fs.sync();
            case DESTROY -> destroyed = true;
            default -> throw new FsException(Errno.ENOSYS, "operation " + opcode + " is not supported");
        }
        return true;
    }

    /*
     * flushIsNotNeeded: FLUSH (sent on every close) is answered ENOSYS, on which the kernel stops sending it: a close
     * then costs no round trip. Nothing is lost: the kernel writes the file's cached data back before it would send
     * FLUSH and returns that write-back's error from close either way, the server keeps nothing per handle to
     * flush (every write is in the filesystem when its reply is sent), and locks are the kernel's own.
     */

    private void logProblem(int opcode, FuseMessage m, Throwable e) {
        synchronized (log) {
            log.println("cowfs: FUSE operation " + opcode + " on node " + m.nodeId() + ": " + e);
            if (!(e instanceof IOException)) {
                e.printStackTrace(log);
            }
            log.flush();
        }
    }

    // ------------------------------------------------------------------ session

    private void init(FuseMessage m) throws FsException {
        int major = m.argInt(0);
        int minor = m.argInt(4);
        int maxReadahead = m.argInt(8);
        long offered = m.argInt(12) & 0xFFFF_FFFFL;
        if ((offered & INIT_EXT) != 0) {
            offered |= (m.argInt(16) & 0xFFFF_FFFFL) << 32;
        }
        if (major < KERNEL_VERSION || major == KERNEL_VERSION && minor < 31) {
            throw new FsException(Errno.EPROTO, "FUSE protocol " + major + "." + minor + " is too old; 7.31 needed");
        }
        long wanted = ASYNC_READ | ATOMIC_O_TRUNC | EXPORT_SUPPORT | BIG_WRITES | DO_READDIRPLUS | READDIRPLUS_AUTO
                | ASYNC_DIO | PARALLEL_DIROPS | MAX_PAGES | CACHE_SYMLINKS | POSIX_ACL | DONT_MASK
                | HANDLE_KILLPRIV_V2;
        if (options.cache() == MountOptions.Cache.WRITEBACK) {
            wanted |= WRITEBACK_CACHE;
        }
        if (options.cache() != MountOptions.Cache.NONE) {
            wanted |= AUTO_INVAL_DATA;
        }
        if (options.uring()) {
            wanted |= OVER_IO_URING;
        }
        long flags = offered & wanted;
        uringAgreed = (flags & OVER_IO_URING) != 0;
        atomicTruncate = (flags & ATOMIC_O_TRUNC) != 0;
        writebackCache = (flags & WRITEBACK_CACHE) != 0;
        posixAcls = (flags & POSIX_ACL) != 0;
        dontMask = (flags & DONT_MASK) != 0;
        killPrivileges = (flags & HANDLE_KILLPRIV_V2) != 0;
        if (posixAcls) {
            fs.enablePosixAcls(); // the kernel enforces them (with default_permissions)
        }
        boolean epochs = minor >= EPOCH_MINOR_VERSION;
        KernelNotifier told = notifier;
        if (epochs && told != null) {
            told.useEpochs();
        }
        nodes.chooseTimeouts(epochs && told != null);
        synchronized (log) {
            log.println("cowfs: FUSE protocol " + major + "." + minor + "; names and attributes trusted for "
                    + nodes.entryTimeoutNanos() / 1e9 + " s");
            log.flush();
        }
        m.putInt(KERNEL_VERSION).putInt(KERNEL_MINOR_VERSION).putInt(maxReadahead).putInt((int) flags)
                .putShort(16).putShort(12).putInt(KernelSession.MAX_WRITE).putInt(1)
                .putShort(KernelSession.MAX_WRITE / 4096).putShort(0).putInt((int) (flags >>> 32)).zeros(28);
    }

    private void setattr(FuseMessage m, long ino) throws IOException {
        int valid = m.argInt(0);
        writable(ino);
        if ((valid & (FATTR_SIZE | FATTR_UID | FATTR_GID)) != 0) {
            dropPrivileges(ino, (valid & FATTR_KILL_SUIDGID) != 0 && (valid & FATTR_MODE) == 0, m);
        }
        if ((valid & FATTR_MODE) != 0) {
            fs.chmod(ino, m.argInt(68) & 07777);
        }
        if ((valid & (FATTR_UID | FATTR_GID)) != 0) {
            fs.chown(ino, (valid & FATTR_UID) != 0 ? m.argInt(76) : -1, (valid & FATTR_GID) != 0 ? m.argInt(80) : -1);
        }
        if ((valid & FATTR_SIZE) != 0) {
            fs.truncate(ino, m.argLong(16));
        }
        Instant access = timeOf(valid, FATTR_ATIME, FATTR_ATIME_NOW, m.argLong(32), m.argInt(56));
        Instant modify = timeOf(valid, FATTR_MTIME, FATTR_MTIME_NOW, m.argLong(40), m.argInt(60));
        if (access != null || modify != null) {
            fs.setTimes(ino, access, modify);
        }
        nodes.putAttrOut(m, ino);
    }

    /**
     * With HANDLE_KILLPRIV_V2: removes the file's capabilities, and when the kernel says so (a caller without
     * CAP_FSETID) the set-user-ID bit and the set-group-ID bit of a file that is group-executable or whose group the
     * caller is not in, as Linux does (the caller's supplementary groups are not known here: its own group counts).
     */
    private void dropPrivileges(long ino, boolean setIds, FuseMessage m) throws IOException {
        if (!killPrivileges) {
            return;
        }
        if (setIds) {
            Inode inode = fs.stat(ino);
            int mode = inode.mode();
            boolean dropGroup = (mode & S_IXGRP) != 0 || inode.gid() != m.gid();
            int kept = mode & ~S_ISUID & (dropGroup ? ~S_ISGID : ~0);
            if (kept != mode) {
                fs.chmod(ino, kept & 07777);
                KernelNotifier told = notifier;
                if (told != null) {
                    told.invalidateAttributesNow(nodes.swap(ino)); // the kernel keeps its cached mode otherwise
                }
            }
        }
        if (fs.findXattr(ino, SECURITY_CAPABILITY) != null) {
            fs.removeXattr(ino, SECURITY_CAPABILITY);
        }
    }

    private static Instant timeOf(int valid, int set, int now, long seconds, int nanos) {
        if ((valid & now) != 0) {
            return Instant.now();
        }
        return (valid & set) != 0 ? Instant.ofEpochSecond(seconds, nanos) : null;
    }

    /** The inode, unless it is the virtual directory, which cannot change. */
    private static long writable(long ino) throws FsException {
        if (ino == FusePaths.SNAPSHOTS_INO) {
            throw new FsException(Errno.EPERM, FusePaths.SNAPSHOTS + " cannot be changed");
        }
        return ino;
    }

    private boolean readOnly(long ino) throws IOException {
        return options.readOnly() || ino == FusePaths.SNAPSHOTS_INO
                || fs.subvolume(InodeNumber.subvolumeOf(ino)).readOnly();
    }

    private void access(FuseMessage m, long ino) throws IOException {
        nodes.statOf(ino);
        if ((m.argInt(0) & W_OK) != 0 && readOnly(ino)) {
            throw new FsException(Errno.EROFS, "inode " + ino + " is in a read-only snapshot or mount");
        }
    }

    private void statfs(FuseMessage m) throws IOException {
        FsStat figures = fs.statfs();
        m.putLong(figures.totalBlocks()).putLong(figures.freeBlocks()).putLong(figures.availableBlocks())
                .putLong(CowFileSystem.MAX_INO).putLong(CowFileSystem.MAX_INO - figures.files())
                .putInt(figures.blockSize()).putInt(CowFileSystem.NAME_MAX).putInt(figures.blockSize()).putInt(0)
                .zeros(24);
    }

    // ------------------------------------------------------------------ names

    /** Refuses changes inside the virtual directory itself and to its reserved name in the root. */
    private long parentForChange(long parent, String name) throws FsException {
        if (parent == FusePaths.SNAPSHOTS_INO) {
            throw new FsException(Errno.EPERM, "only mkdir (take a snapshot) and rmdir (delete one) work in "
                    + FusePaths.SNAPSHOTS);
        }
        if (parent == root && name.equals(FusePaths.SNAPSHOTS)) {
            throw new FsException(Errno.EEXIST, FusePaths.SNAPSHOTS + " is reserved for snapshots");
        }
        return parent;
    }

    /**
     * The mode a new inode is asked for: the kernel leaves the umask to the server (DONT_MASK), which applies it
     * unless the directory has a default ACL (the ACL then masks the mode instead, as on Linux filesystems).
     */
    private int masked(long parent, int mode, int umask) throws IOException {
        return dontMask && !(posixAcls && fs.hasDefaultAcl(parent)) ? mode & ~(umask & 0777) : mode;
    }

    /** New files take the directory's group when it has the set-group-ID bit (as on Linux), else the caller's. */
    private int groupFor(long parent, FuseMessage m) throws IOException {
        Inode parentInode = fs.stat(parent);
        return (parentInode.mode() & S_ISGID) != 0 ? parentInode.gid() : m.gid();
    }

    private void symlink(FuseMessage m, long parent) throws IOException {
        String name = m.name(0);
        String target = m.name(m.afterName(0));
        parentForChange(parent, name);
        nodes.putEntry(m, fs.symlink(parent, name, target, m.uid(), groupFor(parent, m)));
    }

    private void mknod(FuseMessage m, long parent) throws IOException {
        String name = m.name(16);
        parentForChange(parent, name);
        nodes.putEntry(m, fs.mknod(parent, name, masked(parent, m.argInt(0), m.argInt(8)), m.argInt(4) & 0xFFFF_FFFFL,
                m.uid(), groupFor(parent, m)));
    }

    private void mkdir(FuseMessage m, long parent) throws IOException {
        String name = m.name(8);
        if (parent == FusePaths.SNAPSHOTS_INO) {
            nodes.putEntry(m, InodeNumber.rootOf(fs.createSnapshot(InodeNumber.subvolumeOf(root), name, false)));
            return;
        }
        parentForChange(parent, name);
        Inode parentInode = fs.stat(parent);
        boolean inheritGroup = (parentInode.mode() & S_ISGID) != 0;
        int mode = masked(parent, m.argInt(0) & 07777, m.argInt(4));
        nodes.putEntry(m, fs.mkdir(parent, name, mode | (inheritGroup ? S_ISGID : 0), m.uid(),
                inheritGroup ? parentInode.gid() : m.gid()));
    }

    private void rmdir(long parent, String name) throws IOException {
        if (parent == FusePaths.SNAPSHOTS_INO) {
            fs.deleteSubvolume(fs.subvolumeId(name));
            return;
        }
        if (parent == root && name.equals(FusePaths.SNAPSHOTS)) {
            throw new FsException(Errno.EBUSY, FusePaths.SNAPSHOTS + " cannot be removed");
        }
        fs.rmdir(parentForChange(parent, name), name);
    }

    private void rename(FuseMessage m, long fromDir, long toNode, int flags, int namesAt) throws IOException {
        String fromName = m.name(namesAt);
        String toName = m.name(m.afterName(namesAt));
        RenameMode mode;
        if (flags == 0) {
            mode = RenameMode.REPLACE;
        } else if (flags == RENAME_NOREPLACE) {
            mode = RenameMode.NOREPLACE;
        } else if (flags == RENAME_EXCHANGE) {
            mode = RenameMode.EXCHANGE;
        } else {
            throw new FsException(Errno.EINVAL, "rename flags " + flags + " are not supported");
        }
        long toDir = nodes.swap(toNode);
        fs.rename(parentForChange(fromDir, fromName), fromName, parentForChange(toDir, toName), toName, mode);
    }

    private void link(FuseMessage m, long parent) throws IOException {
        long ino = writable(nodes.swap(m.argLong(0)));
        String name = m.name(8);
        fs.link(ino, parentForChange(parent, name), name);
        nodes.putEntry(m, ino);
    }

    // ------------------------------------------------------------------ files

    private int openFlags() {
        return options.cache() == MountOptions.Cache.NONE ? 0 : FOPEN_KEEP_CACHE;
    }

    private void open(FuseMessage m, long ino) throws IOException {
        int flags = m.argInt(0);
        boolean writing = (flags & O_ACCMODE) != O_RDONLY;
        if (writing && readOnly(ino)) {
            throw new FsException(Errno.EROFS, "inode " + ino + " is in a read-only snapshot or mount");
        }
        fs.open(ino);
        if (writing && atomicTruncate && (flags & O_TRUNC) != 0) {
            try {
                dropPrivileges(ino, (m.argInt(4) & OPEN_KILL_SUIDGID) != 0, m);
                fs.truncate(ino, 0);
            } catch (IOException | RuntimeException e) {
                fs.release(ino);
                throw e;
            }
        }
        if (writing) {
            writers.merge(ino, 1, Integer::sum);
        }
        m.putLong(ino).putInt(openFlags()).putInt(0);
    }

    private void release(FuseMessage m) throws IOException {
        long ino = m.argLong(0);
        if ((m.argInt(8) & O_ACCMODE) != O_RDONLY) {
            writers.computeIfPresent(ino, (key, count) -> count <= 1 ? null : count - 1);
        }
        fs.release(ino);
    }

    private void create(FuseMessage m, long parent) throws IOException {
        String name = m.name(16);
        parentForChange(parent, name);
        int mode = masked(parent, m.argInt(4) & 07777, m.argInt(8));
        long ino = fs.mknod(parent, name, Inode.S_IFREG | mode, 0, m.uid(), groupFor(parent, m));
        if (options.compress() != null) {
            fs.setCompression(ino, options.compress());
        }
        fs.open(ino);
        if ((m.argInt(0) & O_ACCMODE) != O_RDONLY) {
            writers.merge(ino, 1, Integer::sum);
        }
        nodes.putEntry(m, ino);
        m.putLong(ino).putInt(openFlags()).putInt(0);
    }

    /** Answers a read; false when it was answered by splicing from the image, not into the reply buffer. */
    private boolean read(FuseMessage m) throws IOException {
        long ino = m.argLong(0);
        long offset = m.argLong(8);
        int size = Math.min(m.argInt(16), m.replyRoom());
        ReplySplice splice = m.splice;
        if (splice != null && size >= ReplySplice.MIN_BYTES && size <= splice.maxBytes()) {
            boolean[] sent = new boolean[1];
            long unique = m.unique();
            int n = fs.readPieces(ino, offset, size, (length, pieces, count) -> {
                sent[0] = splice.send(unique, length, pieces, count);
            });
            if (n >= 0 && sent[0]) {
                return false;
            }
        }
        ByteBuffer into = m.replyTail(size);
        while (into.hasRemaining()) {
            if (fs.read(ino, offset + into.position(), into) == 0) {
                break; // the end of the file
            }
        }
        m.replyEnd += into.position();
        return true;
    }

    private void write(FuseMessage m) throws IOException {
        int size = m.argInt(16);
        dropPrivileges(m.argLong(0), (m.argInt(20) & WRITE_KILL_SUIDGID) != 0, m);
        fs.write(m.argLong(0), m.argLong(8), m.argBytes(WRITE_IN_SIZE, size));
        m.putInt(size).putInt(0);
    }

    /**
     * Mode 0 grows the file to cover the range, KEEP_SIZE only checks for room; both refuse with ENOSPC when the
     * free space cannot hold the range (copy-on-write cannot reserve blocks ahead of the writes that fill them).
     * PUNCH_HOLE (with KEEP_SIZE, as Linux requires) deallocates the range; ZERO_RANGE makes it read as zeros the
     * same way, growing the file to its end unless KEEP_SIZE. Other modes are EOPNOTSUPP.
     */
    private void fallocate(FuseMessage m) throws IOException {
        long ino = m.argLong(0);
        long offset = m.argLong(8);
        long length = m.argLong(16);
        int mode = m.argInt(24);
        if (offset < 0 || length <= 0) {
            throw new FsException(Errno.EINVAL, "fallocate of " + length + " bytes at " + offset);
        }
        if (mode == (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)) {
            fs.punchHole(ino, offset, length, 0);
            return;
        }
        if ((mode & ~FALLOC_FL_KEEP_SIZE) == FALLOC_FL_ZERO_RANGE) {
            fs.punchHole(ino, offset, length, (mode & FALLOC_FL_KEEP_SIZE) != 0 ? 0 : offset + length);
            return;
        }
        if ((mode & ~FALLOC_FL_KEEP_SIZE) != 0) {
            throw new FsException(Errno.EOPNOTSUPP, "fallocate mode " + mode + " is not supported");
        }
        FsStat figures = fs.statfs();
        Inode inode = fs.stat(ino);
        long end = offset + length;
        long newBytes = Math.max(0, end - inode.size());
        if ((newBytes + figures.blockSize() - 1) / figures.blockSize() > figures.availableBlocks()) {
            throw new FsException(Errno.ENOSPC, "no room for " + newBytes + " more bytes");
        }
        if ((mode & FALLOC_FL_KEEP_SIZE) == 0 && end > inode.size()) {
            fs.truncate(ino, end);
        }
    }

    /**
     * copy_file_range: a whole file copied from its start onto the start of a file no longer than it becomes a
     * reflink of the file (every extent shared, O(1) for a large file); otherwise, when both offsets sit at the same
     * place in a block, the block-aligned middle of the range becomes a reflink of that range (its extents shared,
     * O(extents)) and only the unaligned head and tail are copied; anything else is copied through a buffer. The
     * answer carries a 32-bit count, so at most 1 GiB is done per request (the caller asks again for the rest).
     */
    private void copyFileRange(FuseMessage m) throws IOException {
        long src = m.argLong(0);
        long srcOffset = m.argLong(8);
        long dst = nodes.swap(m.argLong(16));
        long dstOffset = m.argLong(32);
        long length = m.argLong(40);
        Inode source = fs.stat(src);
        long limit = Math.min(Math.max(0, Math.min(length, source.size() - srcOffset)), COPY_CHUNK);
        if (srcOffset == 0 && dstOffset == 0 && length >= source.size() && source.size() <= COPY_CHUNK
                && src != dst && fs.stat(dst).size() <= source.size() && source.isRegularFile()) {
            fs.reflink(src, dst);
            m.putInt((int) source.size()).putInt(0);
            return;
        }
        int blockSize = fs.blockSize();
        long head = Math.floorMod(-srcOffset, (long) blockSize);
        long copied = 0;
        if (source.isRegularFile() && Math.floorMod(srcOffset, (long) blockSize) == Math.floorMod(dstOffset,
                (long) blockSize) && limit - head >= blockSize) {
            copied = copy(src, srcOffset, dst, dstOffset, head);
            long middle = srcOffset + limit == source.size() ? limit - head : (limit - head) / blockSize * blockSize;
            long shared = fs.reflinkRange(src, srcOffset + head, dst, dstOffset + head, middle);
            if (shared > 0) {
                copied += shared;
            }
        }
        copied += copy(src, srcOffset + copied, dst, dstOffset + copied, limit - copied);
        m.putInt((int) copied).putInt(0);
    }

    /** Copies up to {@code length} bytes through a buffer; returns how many (fewer at src's end). */
    private long copy(long src, long srcOffset, long dst, long dstOffset, long length) throws IOException {
        long copied = 0;
        byte[] buffer = length <= 0 ? null : new byte[(int) Math.min(length, KernelSession.MAX_WRITE)];
        while (copied < length) {
            int n = fs.read(src, srcOffset + copied, buffer, 0, (int) Math.min(buffer.length, length - copied));
            if (n <= 0) {
                break;
            }
            fs.write(dst, dstOffset + copied, buffer, 0, n);
            copied += n;
        }
        return copied;
    }

    /**
     * SEEK_DATA and SEEK_HOLE from the extent map. The kernel does not write its cached data back before asking, so
     * while the file is open for writing under the write-back cache the map may miss data: the answer is then
     * EOPNOTSUPP, on which programs read the whole file (as cp does) rather than skip data as a hole.
     */
    private void lseek(FuseMessage m) throws IOException {
        long ino = m.argLong(0);
        if (writebackCache && writers.containsKey(ino)) {
            throw new FsException(Errno.EOPNOTSUPP, "inode " + ino + " may have data in the kernel's cache");
        }
        long offset = m.argLong(8);
        int whence = m.argInt(16);
        long found = switch (whence) {
            case SEEK_DATA -> fs.seekData(ino, offset);
            case SEEK_HOLE -> fs.seekHole(ino, offset);
            default -> throw new FsException(Errno.EINVAL, "lseek whence " + whence);
        };
        m.putLong(found);
    }

    private void fsyncDirectory(long ino) throws IOException {
        if (ino == FusePaths.SNAPSHOTS_INO) {
            fs.sync();
        } else {
            fs.fsync(ino);
        }
    }

    // ------------------------------------------------------------------ directories

    private void opendir(FuseMessage m, long ino) throws IOException {
        if (!nodes.statOf(ino).isDirectory()) {
            throw new FsException(Errno.ENOTDIR, "inode " + ino + " is not a directory");
        }
        m.putLong(ino).putInt(0).putInt(0);
    }

    private void readdir(FuseMessage m, boolean plus) throws IOException {
        long dir = m.argLong(0);
        long offset = m.argLong(8);
        DirectoryReply reply = new DirectoryReply(m, Math.min(m.argInt(16), m.replyRoom()), plus);
        if (offset < 1 && !reply.add(".", dir, Inode.S_IFDIR, 1)) {
            return;
        }
        if (offset < 2 && !reply.add("..", nodes.parentOf(dir), Inode.S_IFDIR, 2)) {
            return;
        }
        if (dir == FusePaths.SNAPSHOTS_INO) {
            listSnapshots(reply, offset);
            return;
        }
        if (offset < 3 && dir == root && options.snapshotsVisible()
                && !reply.add(FusePaths.SNAPSHOTS, FusePaths.SNAPSHOTS_INO, Inode.S_IFDIR, 3)) {
            return;
        }
        long position = Math.max(FIRST_ENTRY_OFFSET, offset - 1);
        while (true) {
            List<DirEntry> entries = fs.readdir(dir, position, READDIR_BATCH);
            for (DirEntry entry : entries) {
                if (!reply.add(entry.name(), entry.ino(), entry.type(), entry.nextPosition() + 1)) {
                    return;
                }
            }
            if (entries.size() < READDIR_BATCH) {
                return;
            }
            position = entries.get(entries.size() - 1).nextPosition();
        }
    }

    /** The subvolumes other than the mounted one; the entry of subvolume id is at offset id + 3. */
    private void listSnapshots(DirectoryReply reply, long offset) throws IOException {
        long mounted = InodeNumber.subvolumeOf(root);
        for (SubvolumeInfo info : fs.listSubvolumes()) {
            if (info.id() == mounted || info.id() + 3 <= offset) {
                continue;
            }
            if (!reply.add(info.name(), info.rootIno(), Inode.S_IFDIR, info.id() + 3)) {
                return;
            }
        }
    }

    /** Packs struct fuse_dirent (or fuse_direntplus) records into the reply while they fit. */
    private final class DirectoryReply {
        private final FuseMessage m;
        private final int limit;
        private final boolean plus;

        DirectoryReply(FuseMessage m, int size, boolean plus) {
            this.m = m;
            this.limit = m.replyEnd + size;
            this.plus = plus;
        }

        /** Adds one entry; false when it does not fit (and was not added). */
        boolean add(String name, long ino, int type, long nextOffset) throws IOException {
            byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
            int record = (DIRENT_SIZE + bytes.length + 7) & ~7;
            if (m.replyEnd + record + (plus ? ENTRY_OUT_SIZE : 0) > limit) {
                return false;
            }
            if (plus) {
                if (name.equals(".") || name.equals("..")) {
                    m.zeros(ENTRY_OUT_SIZE); // node id 0: no lookup taken
                } else {
                    nodes.putEntry(m, ino);
                }
            }
            m.putLong(ino).putLong(nextOffset).putInt(bytes.length).putInt((type >>> 12) & 017).putBytes(bytes)
                    .zeros(record - DIRENT_SIZE - bytes.length);
            return true;
        }
    }

    // ------------------------------------------------------------------ extended attributes

    private void setxattr(FuseMessage m, long ino) throws IOException {
        int size = m.argInt(0);
        int flags = m.argInt(4);
        String name = m.name(8);
        if (size > CowFileSystem.XATTR_VALUE_MAX) {
            throw new FsException(Errno.E2BIG, "an extended attribute value holds at most "
                    + CowFileSystem.XATTR_VALUE_MAX + " bytes");
        }
        byte[] value = new byte[size];
        m.argBytes(m.afterName(8), size).get(value);
        fs.setXattr(writable(ino), name, value, (flags & XATTR_CREATE) != 0, (flags & XATTR_REPLACE) != 0);
    }

    private void getxattr(FuseMessage m, long ino) throws IOException {
        byte[] value = ino == FusePaths.SNAPSHOTS_INO ? null : fs.findXattr(ino, m.name(8));
        if (value == null) {
            throw new FsException(Errno.ENODATA, "no such attribute");
        }
        sizedReply(m, value, m.argInt(0));
    }

    private void listxattr(FuseMessage m, long ino) throws IOException {
        StringBuilder names = new StringBuilder();
        if (ino != FusePaths.SNAPSHOTS_INO) {
            for (String name : fs.listXattrs(ino)) {
                names.append(name).append('\0');
            }
        }
        sizedReply(m, names.toString().getBytes(StandardCharsets.UTF_8), m.argInt(0));
    }

    /** Size 0 asks for the length (struct fuse_getxattr_out); a buffer too small is ERANGE. */
    private static void sizedReply(FuseMessage m, byte[] bytes, int size) throws FsException {
        if (size == 0) {
            m.putInt(bytes.length).putInt(0);
        } else if (size < bytes.length) {
            throw new FsException(Errno.ERANGE, "buffer of " + size + " bytes for " + bytes.length);
        } else {
            m.putBytes(bytes);
        }
    }
}
