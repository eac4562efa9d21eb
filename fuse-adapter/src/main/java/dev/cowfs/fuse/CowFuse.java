package dev.cowfs.fuse;

import dev.cowfs.fs.CowFileSystem;
import dev.cowfs.fs.InodeNumber;
import dev.cowfs.fs.DirEntry;
import dev.cowfs.fs.Errno;
import dev.cowfs.fs.FsException;
import dev.cowfs.fs.FsStat;
import dev.cowfs.fs.Inode;
import dev.cowfs.fs.RenameMode;
import dev.cowfs.fs.SubvolumeInfo;
import com.kenai.jffi.MemoryIO;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.ffi.Struct;
import jnr.ffi.types.dev_t;
import jnr.ffi.types.gid_t;
import jnr.ffi.types.mode_t;
import jnr.ffi.types.off_t;
import jnr.ffi.types.size_t;
import jnr.ffi.types.uid_t;
import ru.serce.jnrfuse.FuseFillDir;
import ru.serce.jnrfuse.FuseStubFS;
import ru.serce.jnrfuse.struct.FileStat;
import ru.serce.jnrfuse.struct.FuseFileInfo;
import ru.serce.jnrfuse.struct.FuseOperations;
import ru.serce.jnrfuse.struct.Statvfs;
import ru.serce.jnrfuse.struct.Timespec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;

/**
 * The FUSE operations over a {@link CowFileSystem} (libfuse 2's path-based interface through jnr-fuse). Open
 * files and directories carry their inode number in the file handle, and every operation that has a handle
 * uses it rather than the path, so with {@code hard_remove} and {@code nullpath_ok} an unlinked file stays
 * readable and writable until its last close. Errors are the engine's errno values, negated as FUSE wants.
 * Called from libfuse's worker threads at once; the filesystem does its own locking.
 */
final class CowFuse extends FuseStubFS {
    private static final int O_ACCMODE = 03;
    private static final int O_RDONLY = 0;
    private static final int W_OK = 2;
    private static final int XATTR_CREATE = 1;
    private static final int XATTR_REPLACE = 2;
    private static final int FALLOC_FL_KEEP_SIZE = 1;
    private static final long UTIME_NOW = (1L << 30) - 1;
    private static final long UTIME_OMIT = (1L << 30) - 2;
    private static final int S_ISGID = 02000;
    private static final int READDIR_BATCH = 256;
    /** Readdir offsets: 1 after ".", 2 after "..", 3 after a visible ".snapshots"; entry at position p: p + 2. */
    private static final long FIRST_ENTRY_OFFSET = 2;
    /** The largest read or write a request carries (max_write, max_read). */
    static final int MAX_REQUEST_BYTES = 128 * 1024;
    private static final MemoryIO MEMORY = MemoryIO.getInstance();

    private final CowFileSystem fs;
    private final FusePaths paths;
    private final MountOptions options;
    private final PrintWriter log;

    CowFuse(CowFileSystem fs, MountOptions options, long rootSubvolume, PrintWriter log) {
        this.fs = fs;
        this.options = options;
        this.paths = new FusePaths(fs, rootSubvolume);
        this.log = log;
        // libfuse 2 packs these flags as bits of one unsigned int (jnr-fuse maps them as bytes): nullpath_ok
        // (bit 0) so operations on an unlinked open file get a null path instead of ENOENT; nopath (bit 1) so
        // libfuse does not build, nor the FFI layer decode, a path for operations that have a handle (they use
        // the handle); utime_omit_ok (bit 2) so utimens sees UTIME_NOW and UTIME_OMIT as they were asked.
        Struct.getMemory(fuseOperations).putByte(offsetOf(fuseOperations.flag_nullpath_ok), (byte) 0b111);
    }

    /** A struct member's offset ({@code offset()} is public on a class jnr-ffi does not export to callers). */
    private static long offsetOf(Object member) {
        try {
            java.lang.reflect.Method offset = Class.forName("jnr.ffi.Struct$AbstractMember").getMethod("offset");
            offset.setAccessible(true);
            return (Long) offset.invoke(member);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("jnr-ffi's struct layout cannot be read: " + e, e);
        }
    }

    /** The operations table handed to libfuse. */
    FuseOperations operations() {
        return fuseOperations;
    }

    @Override
    protected String getFSName() {
        return "cowfs";
    }

    // ------------------------------------------------------------------ plumbing

    private interface Operation {
        int run() throws IOException;
    }

    /** Runs one operation; a failure becomes its negated errno, and unexpected ones are logged. */
    private int call(String what, String path, Operation operation) {
        try {
            return operation.run();
        } catch (FsException e) {
            return -e.errno().number();
        } catch (IOException e) {
            logProblem(what, path, e);
            return -Errno.EIO.number();
        } catch (RuntimeException | Error e) {
            logProblem(what, path, e);
            if (e instanceof Error error && !(e instanceof AssertionError) && !(e instanceof StackOverflowError)
                    && !error.getClass().getName().endsWith("EngineBugError")) {
                throw error; // out of memory and the like: nothing sensible to answer
            }
            return -Errno.EIO.number();
        }
    }

    private void logProblem(String what, String path, Throwable e) {
        synchronized (log) {
            log.println("cowfs: " + what + " " + (path == null ? "(open file)" : path) + ": " + e);
            if (!(e instanceof IOException)) {
                e.printStackTrace(log);
            }
            log.flush();
        }
    }

    private int uid() {
        return (int) getContext().uid.get();
    }

    private int gid() {
        return (int) getContext().gid.get();
    }

    /** The request's own memory as a buffer: data goes between it and the image with no copy in between. */
    private static ByteBuffer nativeBuffer(Pointer buf, long size) {
        return MEMORY.newDirectByteBuffer(buf.address(), (int) size);
    }

    private static long handle(FuseFileInfo fi) {
        return fi.fh.get();
    }

    /** Refuses changes inside the virtual directory itself and to its reserved name in the root. */
    private long parentForChange(String path, String name) throws IOException {
        long parent = paths.parentOf(path);
        if (parent == FusePaths.SNAPSHOTS_INO) {
            throw new FsException(Errno.EPERM, "only mkdir (take a snapshot) and rmdir (delete one) work in "
                    + FusePaths.SNAPSHOTS);
        }
        if (paths.isSnapshotsEntry(parent, name)) {
            throw new FsException(Errno.EEXIST, FusePaths.SNAPSHOTS + " is reserved for snapshots");
        }
        return parent;
    }

    // ------------------------------------------------------------------ attributes

    @Override
    public int getattr(String path, FileStat stat) {
        return call("getattr", path, () -> fillStat(paths.resolve(path), stat));
    }

    @Override
    public int fgetattr(String path, FileStat stat, FuseFileInfo fi) {
        return call("fgetattr", path, () -> fillStat(handle(fi), stat));
    }

    private int fillStat(long ino, FileStat stat) throws IOException {
        if (ino == FusePaths.SNAPSHOTS_INO) {
            Inode root = fs.stat(paths.root());
            fillStat(root, stat);
            stat.st_ino.set(ino);
            stat.st_mode.set(Inode.S_IFDIR | 0555);
            stat.st_nlink.set(2);
            stat.st_size.set(0);
            stat.st_blocks.set(0);
            return 0;
        }
        fillStat(fs.stat(ino), stat);
        return 0;
    }

    private void fillStat(Inode inode, FileStat stat) {
        stat.st_ino.set(inode.ino());
        stat.st_mode.set(inode.mode());
        stat.st_nlink.set(inode.nlink());
        stat.st_uid.set(inode.uid());
        stat.st_gid.set(inode.gid());
        stat.st_rdev.set(inode.rdev());
        stat.st_size.set(inode.size());
        stat.st_blksize.set(4096);
        stat.st_blocks.set((inode.size() + 511) / 512);
        setTime(stat.st_atim, inode.atimeSeconds(), inode.atimeNanos());
        setTime(stat.st_mtim, inode.mtimeSeconds(), inode.mtimeNanos());
        setTime(stat.st_ctim, inode.ctimeSeconds(), inode.ctimeNanos());
    }

    private static void setTime(Timespec time, long seconds, int nanos) {
        time.tv_sec.set(seconds);
        time.tv_nsec.set(nanos);
    }

    @Override
    public int chmod(String path, @mode_t long mode) {
        return call("chmod", path, () -> {
            fs.chmod(writableTarget(path), (int) mode & 07777);
            return 0;
        });
    }

    @Override
    public int chown(String path, @uid_t long uid, @gid_t long gid) {
        return call("chown", path, () -> {
            fs.chown(writableTarget(path), (int) uid, (int) gid);
            return 0;
        });
    }

    @Override
    public int utimens(String path, Timespec[] times) {
        return call("utimens", path, () -> {
            fs.setTimes(writableTarget(path), instantOf(times[0]), instantOf(times[1]));
            return 0;
        });
    }

    private long writableTarget(String path) throws IOException {
        long ino = paths.resolve(path);
        if (ino == FusePaths.SNAPSHOTS_INO) {
            throw new FsException(Errno.EPERM, FusePaths.SNAPSHOTS + " cannot be changed");
        }
        return ino;
    }

    private Instant instantOf(Timespec time) {
        long nanos = time.tv_nsec.longValue();
        if (nanos == UTIME_OMIT) {
            return null;
        }
        if (nanos == UTIME_NOW) {
            return Instant.now();
        }
        return Instant.ofEpochSecond(time.tv_sec.get(), nanos);
    }

    @Override
    public int access(String path, int mask) {
        return call("access", path, () -> {
            long ino = paths.resolve(path);
            if ((mask & W_OK) != 0 && (ino == FusePaths.SNAPSHOTS_INO || readOnly(ino))) {
                throw new FsException(Errno.EROFS, path + " is in a read-only snapshot");
            }
            return 0;
        });
    }

    private boolean readOnly(long ino) throws IOException {
        return options.readOnly() || fs.subvolume(InodeNumber.subvolumeOf(ino)).readOnly();
    }

    @Override
    public int statfs(String path, Statvfs stat) {
        return call("statfs", path, () -> {
            FsStat figures = fs.statfs();
            stat.f_bsize.set(figures.blockSize());
            stat.f_frsize.set(figures.blockSize());
            stat.f_blocks.set(figures.totalBlocks());
            stat.f_bfree.set(figures.freeBlocks());
            stat.f_bavail.set(figures.availableBlocks());
            stat.f_files.set(CowFileSystem.MAX_INO);
            stat.f_ffree.set(CowFileSystem.MAX_INO - figures.files());
            stat.f_favail.set(CowFileSystem.MAX_INO - figures.files());
            stat.f_namemax.set(CowFileSystem.NAME_MAX);
            return 0;
        });
    }

    // ------------------------------------------------------------------ names

    @Override
    public int mknod(String path, @mode_t long mode, @dev_t long rdev) {
        return call("mknod", path, () -> {
            String name = FusePaths.nameOf(path);
            long parent = parentForChange(path, name);
            fs.mknod(parent, name, (int) mode, rdev, uid(), groupFor(parent));
            return 0;
        });
    }

    @Override
    public int mkdir(String path, @mode_t long mode) {
        return call("mkdir", path, () -> {
            String name = FusePaths.nameOf(path);
            if (paths.parentOf(path) == FusePaths.SNAPSHOTS_INO) {
                fs.createSnapshot(InodeNumber.subvolumeOf(paths.root()), name, false);
                return 0;
            }
            long parent = parentForChange(path, name);
            Inode parentInode = fs.stat(parent);
            boolean inheritGroup = (parentInode.mode() & S_ISGID) != 0;
            fs.mkdir(parent, name, (int) mode & 07777 | (inheritGroup ? S_ISGID : 0), uid(),
                    inheritGroup ? parentInode.gid() : gid());
            return 0;
        });
    }

    /** New files take the directory's group when it has the set-group-ID bit (as on Linux), else the caller's. */
    private int groupFor(long parent) throws IOException {
        Inode parentInode = fs.stat(parent);
        return (parentInode.mode() & S_ISGID) != 0 ? parentInode.gid() : gid();
    }

    @Override
    public int symlink(String target, String path) {
        return call("symlink", path, () -> {
            String name = FusePaths.nameOf(path);
            long parent = parentForChange(path, name);
            fs.symlink(parent, name, target, uid(), groupFor(parent));
            return 0;
        });
    }

    @Override
    public int readlink(String path, Pointer buf, @size_t long size) {
        return call("readlink", path, () -> {
            byte[] target = fs.readlink(paths.resolve(path)).getBytes(StandardCharsets.UTF_8);
            int length = (int) Math.min(target.length, size - 1);
            buf.put(0, target, 0, length);
            buf.putByte(length, (byte) 0);
            return 0;
        });
    }

    @Override
    public int link(String existing, String path) {
        return call("link", path, () -> {
            long ino = writableTarget(existing);
            String name = FusePaths.nameOf(path);
            fs.link(ino, parentForChange(path, name), name);
            return 0;
        });
    }

    @Override
    public int unlink(String path) {
        return call("unlink", path, () -> {
            String name = FusePaths.nameOf(path);
            fs.unlink(parentForChange(path, name), name);
            return 0;
        });
    }

    @Override
    public int rmdir(String path) {
        return call("rmdir", path, () -> {
            String name = FusePaths.nameOf(path);
            if (paths.parentOf(path) == FusePaths.SNAPSHOTS_INO) {
                fs.deleteSubvolume(fs.subvolumeId(name));
                return 0;
            }
            if (paths.isSnapshotsEntry(paths.parentOf(path), name)) {
                throw new FsException(Errno.EBUSY, FusePaths.SNAPSHOTS + " cannot be removed");
            }
            fs.rmdir(parentForChange(path, name), name);
            return 0;
        });
    }

    @Override
    public int rename(String from, String to) {
        return call("rename", from, () -> {
            String fromName = FusePaths.nameOf(from);
            String toName = FusePaths.nameOf(to);
            long fromDir = parentForChange(from, fromName);
            fs.rename(fromDir, fromName, parentForChange(to, toName), toName, RenameMode.REPLACE);
            return 0;
        });
    }

    // ------------------------------------------------------------------ directories

    @Override
    public int opendir(String path, FuseFileInfo fi) {
        return call("opendir", path, () -> {
            long ino = paths.resolve(path);
            if (ino != FusePaths.SNAPSHOTS_INO && !fs.stat(ino).isDirectory()) {
                throw new FsException(Errno.ENOTDIR, path + " is not a directory");
            }
            fi.fh.set(ino);
            return 0;
        });
    }

    @Override
    public int releasedir(String path, FuseFileInfo fi) {
        return 0;
    }

    @Override
    public int readdir(String path, Pointer buf, FuseFillDir filler, @off_t long offset, FuseFileInfo fi) {
        return call("readdir", path, () -> {
            long dir = handle(fi);
            DirectoryFiller fill = new DirectoryFiller(buf, filler);
            if (offset < 1 && fill.add(".", dir, Inode.S_IFDIR, 1)) {
                return 0;
            }
            if (offset < 2 && fill.add("..", parentOf(dir), Inode.S_IFDIR, 2)) {
                return 0;
            }
            if (dir == FusePaths.SNAPSHOTS_INO) {
                listSnapshots(fill, offset);
                return 0;
            }
            if (offset < 3 && dir == paths.root() && options.snapshotsVisible()
                    && fill.add(FusePaths.SNAPSHOTS, FusePaths.SNAPSHOTS_INO, Inode.S_IFDIR, 3)) {
                return 0;
            }
            long position = Math.max(FIRST_ENTRY_OFFSET, offset - 1);
            while (true) {
                List<DirEntry> entries = fs.readdir(dir, position, READDIR_BATCH);
                for (DirEntry entry : entries) {
                    if (fill.add(entry.name(), entry.ino(), entry.type(), entry.nextPosition() + 1)) {
                        return 0;
                    }
                }
                if (entries.size() < READDIR_BATCH) {
                    return 0;
                }
                position = entries.get(entries.size() - 1).nextPosition();
            }
        });
    }

    private long parentOf(long dir) throws IOException {
        if (dir == FusePaths.SNAPSHOTS_INO) {
            return paths.root();
        }
        if (dir == InodeNumber.rootOf(InodeNumber.subvolumeOf(dir)) && dir != paths.root()) {
            return FusePaths.SNAPSHOTS_INO;
        }
        return fs.lookup(dir, "..");
    }

    /** The subvolumes other than the mounted one; the entry of subvolume id is at offset id + 3. */
    private void listSnapshots(DirectoryFiller fill, long offset) throws IOException {
        long mounted = InodeNumber.subvolumeOf(paths.root());
        for (SubvolumeInfo info : fs.listSubvolumes()) {
            if (info.id() == mounted || info.id() + 3 <= offset) {
                continue;
            }
            if (fill.add(info.name(), info.rootIno(), Inode.S_IFDIR, info.id() + 3)) {
                return;
            }
        }
    }

    /** Hands entries to libfuse with their inode numbers and types, names as NUL-terminated UTF-8. */
    private static final class DirectoryFiller {
        private final Pointer buf;
        private final FuseFillDir filler;
        private final FileStat stat = new FileStat(Runtime.getSystemRuntime());
        private final Pointer statMemory;
        private final ByteBuffer name = ByteBuffer.allocateDirect(CowFileSystem.NAME_MAX * 4 + 1);

        DirectoryFiller(Pointer buf, FuseFillDir filler) {
            this.buf = buf;
            this.filler = filler;
            this.statMemory = Struct.getMemory(stat);
        }

        /** Adds one entry; true when libfuse's buffer is full (the entry was not taken). */
        boolean add(String entryName, long ino, int type, long nextOffset) {
            byte[] bytes = entryName.getBytes(StandardCharsets.UTF_8);
            name.clear();
            name.put(bytes).put((byte) 0).flip();
            stat.st_ino.set(ino);
            stat.st_mode.set(type);
            return filler.apply(buf, name, statMemory, nextOffset) != 0;
        }
    }

    /**
     * Commits. jnr-fuse declares this callback without libfuse's middle {@code datasync} argument, so
     * {@code fi} holds that integer, not a pointer, and must not be touched: the path says which directory.
     */
    @Override
    public int fsyncdir(String path, FuseFileInfo fi) {
        return call("fsyncdir", path, () -> {
            if (path == null) {
                fs.sync();
                return 0;
            }
            long ino = paths.resolve(path);
            if (ino == FusePaths.SNAPSHOTS_INO) {
                fs.sync();
            } else {
                fs.fsync(ino);
            }
            return 0;
        });
    }

    // ------------------------------------------------------------------ files

    @Override
    public int create(String path, @mode_t long mode, FuseFileInfo fi) {
        return call("create", path, () -> {
            String name = FusePaths.nameOf(path);
            long parent = parentForChange(path, name);
            long ino = fs.mknod(parent, name, Inode.S_IFREG | ((int) mode & 07777), 0, uid(), groupFor(parent));
            if (options.compress() != null) {
                fs.setCompression(ino, options.compress());
            }
            fs.open(ino);
            fi.fh.set(ino);
            return 0;
        });
    }

    @Override
    public int open(String path, FuseFileInfo fi) {
        return call("open", path, () -> {
            long ino = paths.resolve(path);
            if ((fi.flags.get() & O_ACCMODE) != O_RDONLY && readOnly(ino)) {
                throw new FsException(Errno.EROFS, path + " is in a read-only snapshot or mount");
            }
            fs.open(ino);
            fi.fh.set(ino);
            return 0;
        });
    }

    @Override
    public int read(String path, Pointer buf, @size_t long size, @off_t long offset, FuseFileInfo fi) {
        return call("read", path, () -> {
            long ino = handle(fi);
            ByteBuffer into = nativeBuffer(buf, size);
            while (into.hasRemaining()) {
                if (fs.read(ino, offset + into.position(), into) == 0) {
                    break; // the end of the file
                }
            }
            return into.position();
        });
    }

    @Override
    public int write(String path, Pointer buf, @size_t long size, @off_t long offset, FuseFileInfo fi) {
        return call("write", path, () -> {
            fs.write(handle(fi), offset, nativeBuffer(buf, size));
            return (int) size;
        });
    }

    @Override
    public int truncate(String path, @off_t long size) {
        return call("truncate", path, () -> {
            fs.truncate(writableTarget(path), size);
            return 0;
        });
    }

    @Override
    public int ftruncate(String path, @off_t long size, FuseFileInfo fi) {
        return call("ftruncate", path, () -> {
            fs.truncate(handle(fi), size);
            return 0;
        });
    }

    /**
     * Mode 0 grows the file to cover the range, KEEP_SIZE only checks for room; both refuse with ENOSPC when
     * the free space cannot hold the range. Copy-on-write cannot reserve blocks ahead of the writes that fill
     * them, so a later write can still meet ENOSPC if others took the space meanwhile. Other modes (punching
     * holes, zeroing, collapsing) are EOPNOTSUPP.
     */
    @Override
    public int fallocate(String path, int mode, @off_t long offset, @off_t long length, FuseFileInfo fi) {
        return call("fallocate", path, () -> {
            if ((mode & ~FALLOC_FL_KEEP_SIZE) != 0) {
                return -Errno.EOPNOTSUPP.number();
            }
            if (offset < 0 || length <= 0) {
                return -Errno.EINVAL.number();
            }
            long ino = handle(fi);
            FsStat figures = fs.statfs();
            Inode inode = fs.stat(ino);
            long end = offset + length;
            long newBytes = Math.max(0, end - inode.size());
            if ((newBytes + figures.blockSize() - 1) / figures.blockSize() > figures.availableBlocks()) {
                return -Errno.ENOSPC.number();
            }
            if ((mode & FALLOC_FL_KEEP_SIZE) == 0 && end > inode.size()) {
                fs.truncate(ino, end);
            }
            return 0;
        });
    }

    @Override
    public int flush(String path, FuseFileInfo fi) {
        return 0;
    }

    @Override
    public int fsync(String path, int isdatasync, FuseFileInfo fi) {
        return call("fsync", path, () -> {
            fs.fsync(handle(fi));
            return 0;
        });
    }

    @Override
    public int release(String path, FuseFileInfo fi) {
        return call("release", path, () -> {
            fs.release(handle(fi));
            return 0;
        });
    }

    // ------------------------------------------------------------------ extended attributes

    @Override
    public int getxattr(String path, String name, Pointer value, @size_t long size) {
        return call("getxattr", path, () -> {
            long ino = paths.resolve(path);
            if (ino == FusePaths.SNAPSHOTS_INO) {
                return -Errno.ENODATA.number();
            }
            byte[] bytes = fs.findXattr(ino, name);
            return bytes == null ? -Errno.ENODATA.number() : copyOut(bytes, value, size);
        });
    }

    @Override
    public int listxattr(String path, Pointer list, @size_t long size) {
        return call("listxattr", path, () -> {
            long ino = paths.resolve(path);
            if (ino == FusePaths.SNAPSHOTS_INO) {
                return 0;
            }
            StringBuilder names = new StringBuilder();
            for (String name : fs.listXattrs(ino)) {
                names.append(name).append('\0');
            }
            return copyOut(names.toString().getBytes(StandardCharsets.UTF_8), list, size);
        });
    }

    /** Size 0 asks for the length; a buffer too small is ERANGE. */
    private static int copyOut(byte[] bytes, Pointer into, long size) throws FsException {
        if (size == 0) {
            return bytes.length;
        }
        if (size < bytes.length) {
            throw new FsException(Errno.ERANGE, "buffer of " + size + " bytes for " + bytes.length);
        }
        into.put(0, bytes, 0, bytes.length);
        return bytes.length;
    }

    @Override
    public int setxattr(String path, String name, Pointer value, @size_t long size, int flags) {
        return call("setxattr", path, () -> {
            if (size > CowFileSystem.XATTR_VALUE_MAX) {
                return -Errno.E2BIG.number();
            }
            byte[] bytes = new byte[(int) size];
            value.get(0, bytes, 0, bytes.length);
            fs.setXattr(writableTarget(path), name, bytes, (flags & XATTR_CREATE) != 0,
                    (flags & XATTR_REPLACE) != 0);
            return 0;
        });
    }

    @Override
    public int removexattr(String path, String name) {
        return call("removexattr", path, () -> {
            fs.removeXattr(writableTarget(path), name);
            return 0;
        });
    }
}
