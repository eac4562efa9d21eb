package dev.cowfs.fs.nio;

import dev.cowfs.fs.Inode;

import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Instant;
import java.util.Set;

/**
 * The attributes of one file as they were when read: a snapshot of its inode. Also answers the "unix" view's
 * extra attributes (mode, ino, nlink, uid, gid, rdev, ctime).
 */
final class CowFileAttributes implements PosixFileAttributes {
    private final Inode inode;
    private final CowPrincipals principals;
    private final CowFileKey fileKey;

    CowFileAttributes(Inode inode, CowPrincipals principals, String image) {
        this.inode = inode;
        this.principals = principals;
        this.fileKey = new CowFileKey(image, inode.ino());
    }

    /** What makes a file itself across names and links: its image and inode number. */
    record CowFileKey(String image, long ino) {
    }

    @Override
    public FileTime lastModifiedTime() {
        return time(inode.mtimeSeconds(), inode.mtimeNanos());
    }

    @Override
    public FileTime lastAccessTime() {
        return time(inode.atimeSeconds(), inode.atimeNanos());
    }

    /** The birth time: when the inode was made. */
    @Override
    public FileTime creationTime() {
        return time(inode.btimeSeconds(), inode.btimeNanos());
    }

    /** The time of the last change of the inode (its attributes or data). */
    FileTime changeTime() {
        return time(inode.ctimeSeconds(), inode.ctimeNanos());
    }

    @Override
    public boolean isRegularFile() {
        return inode.isRegularFile();
    }

    @Override
    public boolean isDirectory() {
        return inode.isDirectory();
    }

    @Override
    public boolean isSymbolicLink() {
        return inode.isSymbolicLink();
    }

    @Override
    public boolean isOther() {
        return !isRegularFile() && !isDirectory() && !isSymbolicLink();
    }

    @Override
    public long size() {
        return inode.size();
    }

    @Override
    public CowFileKey fileKey() {
        return fileKey;
    }

    @Override
    public CowPrincipals.User owner() {
        return principals.user(inode.uid());
    }

    @Override
    public CowPrincipals.Group group() {
        return principals.group(inode.gid());
    }

    @Override
    public Set<PosixFilePermission> permissions() {
        return PosixModes.permissions(inode.mode());
    }

    int mode() {
        return inode.mode();
    }

    long ino() {
        return inode.ino();
    }

    int nlink() {
        return inode.nlink();
    }

    int uid() {
        return inode.uid();
    }

    int gid() {
        return inode.gid();
    }

    long rdev() {
        return inode.rdev();
    }

    private static FileTime time(long seconds, int nanos) {
        return FileTime.from(Instant.ofEpochSecond(seconds, nanos));
    }
}
