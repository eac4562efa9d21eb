package dev.cowfs.fuse;

/**
 * The parts of the FUSE kernel protocol (Linux {@code include/uapi/linux/fuse.h}, version 7.38) the server speaks:
 * operation codes, flags, and the sizes of the structures it reads and writes. All fields are little-endian on the
 * machines cowfs runs on (the protocol uses the host's byte order).
 */
final class FuseProtocol {
    private FuseProtocol() {
    }

    static final int KERNEL_VERSION = 7;
    static final int KERNEL_MINOR_VERSION = 38;
    /** The node id of the mount's root directory. */
    static final long ROOT_ID = 1;

    // ------------------------------------------------------------------ operations
    static final int LOOKUP = 1;
    static final int FORGET = 2;
    static final int GETATTR = 3;
    static final int SETATTR = 4;
    static final int READLINK = 5;
    static final int SYMLINK = 6;
    static final int MKNOD = 8;
    static final int MKDIR = 9;
    static final int UNLINK = 10;
    static final int RMDIR = 11;
    static final int RENAME = 12;
    static final int LINK = 13;
    static final int OPEN = 14;
    static final int READ = 15;
    static final int WRITE = 16;
    static final int STATFS = 17;
    static final int RELEASE = 18;
    static final int FSYNC = 20;
    static final int SETXATTR = 21;
    static final int GETXATTR = 22;
    static final int LISTXATTR = 23;
    static final int REMOVEXATTR = 24;
    static final int FLUSH = 25;
    static final int INIT = 26;
    static final int OPENDIR = 27;
    static final int READDIR = 28;
    static final int RELEASEDIR = 29;
    static final int FSYNCDIR = 30;
    static final int ACCESS = 34;
    static final int CREATE = 35;
    static final int INTERRUPT = 36;
    static final int DESTROY = 38;
    static final int BATCH_FORGET = 42;
    static final int FALLOCATE = 43;
    static final int READDIRPLUS = 44;
    static final int RENAME2 = 45;
    static final int LSEEK = 46;
    static final int COPY_FILE_RANGE = 47;
    static final int SYNCFS = 50;
    static final int STATX = 52;

    // ------------------------------------------------------------------ INIT flags
    static final long ASYNC_READ = 1L;
    static final long ATOMIC_O_TRUNC = 1L << 3;
    static final long EXPORT_SUPPORT = 1L << 4;
    static final long BIG_WRITES = 1L << 5;
    static final long DONT_MASK = 1L << 6;
    static final long AUTO_INVAL_DATA = 1L << 12;
    static final long DO_READDIRPLUS = 1L << 13;
    static final long READDIRPLUS_AUTO = 1L << 14;
    static final long ASYNC_DIO = 1L << 15;
    static final long WRITEBACK_CACHE = 1L << 16;
    static final long PARALLEL_DIROPS = 1L << 18;
    static final long POSIX_ACL = 1L << 20;
    static final long HANDLE_KILLPRIV_V2 = 1L << 28;
    static final long MAX_PAGES = 1L << 22;
    static final long CACHE_SYMLINKS = 1L << 23;
    static final long INIT_EXT = 1L << 30;
    static final long OVER_IO_URING = 1L << 41;

    // ------------------------------------------------------------------ other flags
    static final int FATTR_MODE = 1;
    static final int FATTR_UID = 1 << 1;
    static final int FATTR_GID = 1 << 2;
    static final int FATTR_SIZE = 1 << 3;
    static final int FATTR_ATIME = 1 << 4;
    static final int FATTR_MTIME = 1 << 5;
    static final int FATTR_ATIME_NOW = 1 << 7;
    static final int FATTR_MTIME_NOW = 1 << 8;
    static final int FATTR_KILL_SUIDGID = 1 << 11;
    static final int WRITE_KILL_SUIDGID = 1 << 2;
    static final int OPEN_KILL_SUIDGID = 1;
    static final int FOPEN_KEEP_CACHE = 1 << 1;
    static final int RENAME_NOREPLACE = 1;
    static final int RENAME_EXCHANGE = 2;

    // ------------------------------------------------------------------ sizes and offsets
    /** struct fuse_in_header: len, opcode, unique, nodeid, uid, gid, pid, total_extlen, padding. */
    static final int IN_HEADER_SIZE = 40;
    static final int IN_LEN = 0;
    static final int IN_OPCODE = 4;
    static final int IN_UNIQUE = 8;
    static final int IN_NODEID = 16;
    static final int IN_UID = 24;
    static final int IN_GID = 28;
    static final int IN_PID = 32;
    /** struct fuse_out_header: len, error, unique. */
    static final int OUT_HEADER_SIZE = 16;
    /** struct fuse_attr. */
    static final int ATTR_SIZE = 88;
    /** struct fuse_entry_out: nodeid, generation, entry_valid, attr_valid, their nanoseconds, attr. */
    static final int ENTRY_OUT_SIZE = 40 + ATTR_SIZE;
    /** struct fuse_attr_out: attr_valid, attr_valid_nsec, dummy, attr. */
    static final int ATTR_OUT_SIZE = 16 + ATTR_SIZE;
    /** struct fuse_open_out: fh, open_flags, padding. */
    static final int OPEN_OUT_SIZE = 16;
    /** struct fuse_init_out. */
    static final int INIT_OUT_SIZE = 64;
    /** struct fuse_kstatfs. */
    static final int STATFS_OUT_SIZE = 80;
    /** struct fuse_write_in: fh, offset, size, write_flags, lock_owner, flags, padding. */
    static final int WRITE_IN_SIZE = 40;
    /** struct fuse_dirent without its name: ino, off, namelen, type. */
    static final int DIRENT_SIZE = 24;

    /** FUSE_DEV_IOC_CLONE: _IOR(229, 0, uint32_t). */
    static final long DEV_IOC_CLONE = (2L << 30) | (4L << 16) | (229L << 8);
}
