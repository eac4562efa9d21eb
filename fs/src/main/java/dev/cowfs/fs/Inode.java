package dev.cowfs.fs;

import dev.cowfs.engine.format.Bytes;

import java.time.Instant;

/**
 * An inode's attributes as stored in its INODE item ({@link InodeLayout}, docs/FORMAT.md). Immutable: a change is a
 * new value ({@code with...}) that the filesystem stores back. {@code parent} is the global number of a directory's
 * parent (the root's is itself), 0 for other inodes; {@code nextDirIndex} the readdir position a directory's next
 * entry gets (never reused).
 */
public record Inode(long ino, int flags, int mode, int uid, int gid, int nlink, long size, long generation,
                    long rdev, long parent, long nextDirIndex, long atimeSeconds, int atimeNanos,
                    long mtimeSeconds, int mtimeNanos, long ctimeSeconds, int ctimeNanos, long btimeSeconds,
                    int btimeNanos) {
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

    /**
     * A new inode made at {@code now} (every time, birth included): a directory has two links, its parent and the
     * first entry position; anything else one link.
     */
    static Inode create(long ino, int mode, int uid, int gid, long rdev, int flags, long generation, long parent,
                        Instant now) {
        boolean dir = (mode & S_IFMT) == S_IFDIR;
        long s = now.getEpochSecond();
        int n = now.getNano();
        return new Inode(ino, flags, mode, uid, gid, dir ? 2 : 1, 0, generation, rdev, dir ? parent : 0,
                dir ? 2 : 0, s, n, s, n, s, n, s, n);
    }

    byte[] encode() {
        byte[] bytes = new byte[InodeLayout.BYTES];
        bytes[InodeLayout.VERSION_OFFSET] = InodeLayout.VERSION;
        Bytes.putShort(bytes, InodeLayout.FLAGS_OFFSET, flags);
        Bytes.putInt(bytes, InodeLayout.MODE_OFFSET, mode);
        Bytes.putInt(bytes, InodeLayout.UID_OFFSET, uid);
        Bytes.putInt(bytes, InodeLayout.GID_OFFSET, gid);
        Bytes.putInt(bytes, InodeLayout.NLINK_OFFSET, nlink);
        Bytes.putLong(bytes, InodeLayout.SIZE_OFFSET, size);
        Bytes.putLong(bytes, InodeLayout.GENERATION_OFFSET, generation);
        Bytes.putLong(bytes, InodeLayout.RDEV_OFFSET, rdev);
        Bytes.putLong(bytes, InodeLayout.PARENT_OFFSET, InodeNumber.localIno(parent)); // stored within the subvolume
        Bytes.putLong(bytes, InodeLayout.NEXT_DIR_INDEX_OFFSET, nextDirIndex);
        putTime(bytes, InodeLayout.ATIME_OFFSET, atimeSeconds, atimeNanos);
        putTime(bytes, InodeLayout.MTIME_OFFSET, mtimeSeconds, mtimeNanos);
        putTime(bytes, InodeLayout.CTIME_OFFSET, ctimeSeconds, ctimeNanos);
        putTime(bytes, InodeLayout.BTIME_OFFSET, btimeSeconds, btimeNanos);
        return bytes;
    }

    static Inode decode(long ino, byte[] bytes) throws FsException {
        if (bytes.length != InodeLayout.BYTES || bytes[InodeLayout.VERSION_OFFSET] != InodeLayout.VERSION) {
            throw new FsException(Errno.EIO, "inode " + ino + ": malformed inode record (" + bytes.length
                    + " bytes, version " + (bytes.length > 0 ? bytes[0] : -1) + "); run cowfs fsck");
        }
        Inode inode = new Inode(ino, Bytes.getUnsignedShort(bytes, InodeLayout.FLAGS_OFFSET),
                Bytes.getInt(bytes, InodeLayout.MODE_OFFSET), Bytes.getInt(bytes, InodeLayout.UID_OFFSET),
                Bytes.getInt(bytes, InodeLayout.GID_OFFSET), Bytes.getInt(bytes, InodeLayout.NLINK_OFFSET),
                Bytes.getLong(bytes, InodeLayout.SIZE_OFFSET), Bytes.getLong(bytes, InodeLayout.GENERATION_OFFSET),
                Bytes.getLong(bytes, InodeLayout.RDEV_OFFSET),
                InodeNumber.globalIno(ino, Bytes.getLong(bytes, InodeLayout.PARENT_OFFSET)),
                Bytes.getLong(bytes, InodeLayout.NEXT_DIR_INDEX_OFFSET),
                Bytes.getLong(bytes, InodeLayout.ATIME_OFFSET), Bytes.getInt(bytes, InodeLayout.ATIME_OFFSET + 8),
                Bytes.getLong(bytes, InodeLayout.MTIME_OFFSET), Bytes.getInt(bytes, InodeLayout.MTIME_OFFSET + 8),
                Bytes.getLong(bytes, InodeLayout.CTIME_OFFSET), Bytes.getInt(bytes, InodeLayout.CTIME_OFFSET + 8),
                Bytes.getLong(bytes, InodeLayout.BTIME_OFFSET), Bytes.getInt(bytes, InodeLayout.BTIME_OFFSET + 8));
        if (inode.size < 0 || inode.nlink < 0) {
            throw new FsException(Errno.EIO, "inode " + ino + ": negative size or link count; run cowfs fsck");
        }
        return inode;
    }

    private static void putTime(byte[] bytes, int offset, long seconds, int nanos) {
        Bytes.putLong(bytes, offset, seconds);
        Bytes.putInt(bytes, offset + 8, nanos);
    }

    Inode withFlags(int value) {
        return new Inode(ino, value, mode, uid, gid, nlink, size, generation, rdev, parent, nextDirIndex,
                atimeSeconds, atimeNanos, mtimeSeconds, mtimeNanos, ctimeSeconds, ctimeNanos, btimeSeconds, btimeNanos);
    }

    Inode withMode(int value) {
        return new Inode(ino, flags, value, uid, gid, nlink, size, generation, rdev, parent, nextDirIndex,
                atimeSeconds, atimeNanos, mtimeSeconds, mtimeNanos, ctimeSeconds, ctimeNanos, btimeSeconds, btimeNanos);
    }

    Inode withOwner(int newUid, int newGid) {
        return new Inode(ino, flags, mode, newUid, newGid, nlink, size, generation, rdev, parent, nextDirIndex,
                atimeSeconds, atimeNanos, mtimeSeconds, mtimeNanos, ctimeSeconds, ctimeNanos, btimeSeconds, btimeNanos);
    }

    Inode withNlink(int value) {
        return new Inode(ino, flags, mode, uid, gid, value, size, generation, rdev, parent, nextDirIndex,
                atimeSeconds, atimeNanos, mtimeSeconds, mtimeNanos, ctimeSeconds, ctimeNanos, btimeSeconds, btimeNanos);
    }

    Inode withSize(long value) {
        return new Inode(ino, flags, mode, uid, gid, nlink, value, generation, rdev, parent, nextDirIndex,
                atimeSeconds, atimeNanos, mtimeSeconds, mtimeNanos, ctimeSeconds, ctimeNanos, btimeSeconds, btimeNanos);
    }

    Inode withParent(long value) {
        return new Inode(ino, flags, mode, uid, gid, nlink, size, generation, rdev, value, nextDirIndex,
                atimeSeconds, atimeNanos, mtimeSeconds, mtimeNanos, ctimeSeconds, ctimeNanos, btimeSeconds, btimeNanos);
    }

    Inode withNextDirIndex(long value) {
        return new Inode(ino, flags, mode, uid, gid, nlink, size, generation, rdev, parent, value,
                atimeSeconds, atimeNanos, mtimeSeconds, mtimeNanos, ctimeSeconds, ctimeNanos, btimeSeconds, btimeNanos);
    }

    /** The access, modification and/or change time set to {@code seconds}/{@code nanos}. */
    Inode withTimes(boolean access, boolean modify, boolean change, long seconds, int nanos) {
        return new Inode(ino, flags, mode, uid, gid, nlink, size, generation, rdev, parent, nextDirIndex,
                access ? seconds : atimeSeconds, access ? nanos : atimeNanos,
                modify ? seconds : mtimeSeconds, modify ? nanos : mtimeNanos,
                change ? seconds : ctimeSeconds, change ? nanos : ctimeNanos, btimeSeconds, btimeNanos);
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

    @Override
    public String toString() {
        return "inode " + ino + " mode " + Integer.toOctalString(mode) + " size " + size + " nlink " + nlink;
    }
}
