package dev.cowfs.fs.nio;

import dev.cowfs.fs.FsException;

import java.io.IOException;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.UserPrincipal;
import java.util.Objects;
import java.util.Set;

/**
 * The "basic", "owner" and "posix" attribute views of one path (one class: the posix view is a superset).
 * Each call looks the path up again, following a symbolic link at its end unless made with NOFOLLOW_LINKS.
 */
final class CowFileAttributeView implements PosixFileAttributeView {
    private final String viewName;
    private final CowPath path;
    private final boolean followLinks;

    CowFileAttributeView(String viewName, CowPath path, boolean followLinks) {
        this.viewName = viewName;
        this.path = path;
        this.followLinks = followLinks;
    }

    @Override
    public String name() {
        return viewName;
    }

    @Override
    public CowFileAttributes readAttributes() throws IOException {
        return namespace().attributes(path, followLinks);
    }

    /**
     * Sets the access and modification times given (null leaves one as it is). The creation (birth) time is
     * kept: an inode's birth time cannot be changed, and the JDK's Linux provider ignores it too.
     */
    @Override
    public void setTimes(FileTime lastModifiedTime, FileTime lastAccessTime, FileTime createTime)
            throws IOException {
        if (lastModifiedTime == null && lastAccessTime == null) {
            return;
        }
        long ino = namespace().resolve(path, followLinks);
        try {
            path.getFileSystem().core().setTimes(ino, lastAccessTime == null ? null : lastAccessTime.toInstant(),
                    lastModifiedTime == null ? null : lastModifiedTime.toInstant());
        } catch (FsException e) {
            throw NioErrors.translate(e, path);
        }
    }

    @Override
    public void setPermissions(Set<PosixFilePermission> permissions) throws IOException {
        Objects.requireNonNull(permissions, "permissions");
        setMode(PosixModes.bits(Set.copyOf(permissions)));
    }

    /** Sets the permission bits (07777: with set-user-id, set-group-id and sticky). */
    void setMode(int permissionBits) throws IOException {
        long ino = namespace().resolve(path, followLinks);
        try {
            path.getFileSystem().core().chmod(ino, permissionBits);
        } catch (FsException e) {
            throw NioErrors.translate(e, path);
        }
    }

    @Override
    public UserPrincipal getOwner() throws IOException {
        return readAttributes().owner();
    }

    @Override
    public void setOwner(UserPrincipal owner) throws IOException {
        chown(CowPrincipals.uidOf(Objects.requireNonNull(owner, "owner")), -1);
    }

    @Override
    public void setGroup(GroupPrincipal group) throws IOException {
        chown(-1, CowPrincipals.gidOf(Objects.requireNonNull(group, "group")));
    }

    /** Sets the owner and group ids; -1 keeps one as it is. */
    void chown(int uid, int gid) throws IOException {
        long ino = namespace().resolve(path, followLinks);
        try {
            path.getFileSystem().core().chown(ino, uid, gid);
        } catch (FsException e) {
            throw NioErrors.translate(e, path);
        }
    }

    private Namespace namespace() {
        return path.getFileSystem().namespace();
    }
}
