package dev.cowfs.fs;

import dev.cowfs.engine.format.Bytes;

/**
 * An inode's attributes as stored in its INODE item (112 bytes, little-endian; docs/FORMAT.md). Mutable: the
 * filesystem changes a copy and stores it back.
 */
public final class Inode {
    public static final int S_IFMT = 0170000;
    public static final int S_IFSOCK = 0140000;
    public static final int S_IFLNK = 0120000;
    public static final int S_IFREG = 0100000;
    public static final int S_IFBLK = 0060000;
    public static final int S_IFDIR = 0040000;
    public static final int S_IFCHR = 0020000;
    public static final int S_IFIFO = 0010000;

    /** Data of this file is compressed with LZ4 where that saves space. */
    public static final int FLAG_COMPRESS = 0x1;

    static final int BYTES = 112;
    static final int VERSION = 1;

    /** Offset of the change time (seconds u64, nanoseconds u32) in the record. */
    static final int CTIME_OFFSET = 88;

    long ino;
    int flags;
    int mode;
    int uid;
    int gid;
    int nlink;
    long size;
    long generation;
    long rdev;
    /** Directories: the directory holding this one (the root holds itself). Others: 0. */
    long parent;
    /** Directories: the readdir position the next entry gets; never reused. */
    long nextDirIndex;
    long atimeSeconds;
    int atimeNanos;
    long mtimeSeconds;
    int mtimeNanos;
    long ctimeSeconds;
    int ctimeNanos;
    long btimeSeconds;
    int btimeNanos;

    Inode() {
    }

    byte[] encode() {
        byte[] bytes = new byte[BYTES];
        bytes[0] = VERSION;
        Bytes.putShort(bytes, 2, flags);
        Bytes.putInt(bytes, 4, mode);
        Bytes.putInt(bytes, 8, uid);
        Bytes.putInt(bytes, 12, gid);
        Bytes.putInt(bytes, 16, nlink);
        Bytes.putLong(bytes, 24, size);
        Bytes.putLong(bytes, 32, generation);
        Bytes.putLong(bytes, 40, rdev);
        Bytes.putLong(bytes, 48, InodeNumber.localIno(parent)); // stored within the subvolume
        Bytes.putLong(bytes, 56, nextDirIndex);
        putTime(bytes, 64, atimeSeconds, atimeNanos);
        putTime(bytes, 76, mtimeSeconds, mtimeNanos);
        putTime(bytes, CTIME_OFFSET, ctimeSeconds, ctimeNanos);
        putTime(bytes, 100, btimeSeconds, btimeNanos);
        return bytes;
    }

    static Inode decode(long ino, byte[] bytes) throws FsException {
        if (bytes.length != BYTES || bytes[0] != VERSION) {
            throw new FsException(Errno.EIO, "inode " + ino + ": malformed inode record (" + bytes.length
                    + " bytes, version " + (bytes.length > 0 ? bytes[0] : -1) + "); run cowfs fsck");
        }
        Inode inode = new Inode();
        inode.ino = ino;
        inode.flags = Bytes.getUnsignedShort(bytes, 2);
        inode.mode = Bytes.getInt(bytes, 4);
        inode.uid = Bytes.getInt(bytes, 8);
        inode.gid = Bytes.getInt(bytes, 12);
        inode.nlink = Bytes.getInt(bytes, 16);
        inode.size = Bytes.getLong(bytes, 24);
        inode.generation = Bytes.getLong(bytes, 32);
        inode.rdev = Bytes.getLong(bytes, 40);
        inode.parent = InodeNumber.globalIno(ino, Bytes.getLong(bytes, 48));
        inode.nextDirIndex = Bytes.getLong(bytes, 56);
        inode.atimeSeconds = Bytes.getLong(bytes, 64);
        inode.atimeNanos = Bytes.getInt(bytes, 72);
        inode.mtimeSeconds = Bytes.getLong(bytes, 76);
        inode.mtimeNanos = Bytes.getInt(bytes, 84);
        inode.ctimeSeconds = Bytes.getLong(bytes, CTIME_OFFSET);
        inode.ctimeNanos = Bytes.getInt(bytes, CTIME_OFFSET + 8);
        inode.btimeSeconds = Bytes.getLong(bytes, 100);
        inode.btimeNanos = Bytes.getInt(bytes, 108);
        if (inode.size < 0 || inode.nlink < 0) {
            throw new FsException(Errno.EIO, "inode " + ino + ": negative size or link count; run cowfs fsck");
        }
        return inode;
    }

    private static void putTime(byte[] bytes, int offset, long seconds, int nanos) {
        Bytes.putLong(bytes, offset, seconds);
        Bytes.putInt(bytes, offset + 8, nanos);
    }

    Inode copy() {
        Inode copy = new Inode();
        copy.ino = ino;
        copy.flags = flags;
        copy.mode = mode;
        copy.uid = uid;
        copy.gid = gid;
        copy.nlink = nlink;
        copy.size = size;
        copy.generation = generation;
        copy.rdev = rdev;
        copy.parent = parent;
        copy.nextDirIndex = nextDirIndex;
        copy.atimeSeconds = atimeSeconds;
        copy.atimeNanos = atimeNanos;
        copy.mtimeSeconds = mtimeSeconds;
        copy.mtimeNanos = mtimeNanos;
        copy.ctimeSeconds = ctimeSeconds;
        copy.ctimeNanos = ctimeNanos;
        copy.btimeSeconds = btimeSeconds;
        copy.btimeNanos = btimeNanos;
        return copy;
    }

    void setTimes(boolean access, boolean modify, boolean change, long seconds, int nanos) {
        if (access) {
            atimeSeconds = seconds;
            atimeNanos = nanos;
        }
        if (modify) {
            mtimeSeconds = seconds;
            mtimeNanos = nanos;
        }
        if (change) {
            ctimeSeconds = seconds;
            ctimeNanos = nanos;
        }
    }

    public long ino() {
        return ino;
    }

    public int mode() {
        return mode;
    }

    public int type() {
        return mode & S_IFMT;
    }

    public boolean isDirectory() {
        return type() == S_IFDIR;
    }

    public boolean isRegularFile() {
        return type() == S_IFREG;
    }

    public boolean isSymbolicLink() {
        return type() == S_IFLNK;
    }

    public int uid() {
        return uid;
    }

    public int gid() {
        return gid;
    }

    public int nlink() {
        return nlink;
    }

    public long size() {
        return size;
    }

    public long rdev() {
        return rdev;
    }

    public long generation() {
        return generation;
    }

    public int flags() {
        return flags;
    }

    public long atimeSeconds() {
        return atimeSeconds;
    }

    public int atimeNanos() {
        return atimeNanos;
    }

    public long mtimeSeconds() {
        return mtimeSeconds;
    }

    public int mtimeNanos() {
        return mtimeNanos;
    }

    public long ctimeSeconds() {
        return ctimeSeconds;
    }

    public int ctimeNanos() {
        return ctimeNanos;
    }

    public long btimeSeconds() {
        return btimeSeconds;
    }

    public int btimeNanos() {
        return btimeNanos;
    }

    @Override
    public String toString() {
        return "inode " + ino + " mode " + Integer.toOctalString(mode) + " size " + size + " nlink " + nlink;
    }
}
