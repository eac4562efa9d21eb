package dev.cowfs.fs;

import dev.cowfs.engine.Cursor;
import dev.cowfs.engine.WriteTransaction;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static dev.cowfs.fs.InodeNumber.treeOf;

/**
 * Extended attributes: items {@code XATTR name -> value} beside their inode (docs/FORMAT.md, filesystem items). The
 * callers hold the filesystem's lock; names and values are checked before anything changes.
 */
final class Xattrs {
    /**
     * The {@code system.} namespace holds attributes the kernel interprets ({@code system.posix_acl_access} is the
     * mode and more). Stored as plain bytes they would claim permissions nothing enforces, so unless POSIX ACLs are
     * enabled (by a FUSE server whose kernel enforces them) programs must see EOPNOTSUPP and fall back to the mode
     * (as {@code cp -a} and {@code setfacl} do); names an older version stored are hidden from listings. With
     * ACLs enabled the two ACL names are kept by the rules of {@link PosixAcl}; other system names stay refused.
     */
    private static final String SYSTEM_PREFIX = "system.";

    private final InodeTable inodes;

    Xattrs(InodeTable inodes) {
        this.inodes = inodes;
    }

    /** The item key of attribute {@code name} of {@code ino}; EINVAL, ERANGE or EOPNOTSUPP for a name refused. */
    byte[] key(long ino, String name) throws FsException {
        return key(ino, name, inodes.posixAcls());
    }

    /** The item key, the ACL names allowed when {@code acls}. */
    static byte[] key(long ino, String name, boolean acls) throws FsException {
        byte[] bytes = name == null ? new byte[0] : name.getBytes(StandardCharsets.UTF_8);
        if (bytes.length == 0 || bytes.length > CowFileSystem.XATTR_NAME_MAX || name.indexOf('\0') >= 0) {
            throw new FsException(bytes.length > CowFileSystem.XATTR_NAME_MAX ? Errno.ERANGE : Errno.EINVAL,
                    "attribute name of " + bytes.length + " bytes (1 to " + CowFileSystem.XATTR_NAME_MAX
                            + ", no NUL)");
        }
        if (isSystem(name) && !(acls && PosixAcl.isAclName(name))) {
            throw new FsException(Errno.EOPNOTSUPP, "'" + name + "': attributes of the system namespace (POSIX "
                    + "ACLs among them) are not supported; the mode is the only permission (use chmod)");
        }
        return FsKeys.of(ino, FsKeys.XATTR, bytes);
    }

    /** E2BIG for a value past {@link CowFileSystem#XATTR_VALUE_MAX}. */
    static void checkValue(byte[] value) throws FsException {
        if (value.length > CowFileSystem.XATTR_VALUE_MAX) {
            throw new FsException(Errno.E2BIG, "attribute value of " + value.length + " bytes (at most "
                    + CowFileSystem.XATTR_VALUE_MAX + ")");
        }
    }

    static boolean isSystem(String name) {
        return name.startsWith(SYSTEM_PREFIX);
    }

    /** The value under {@code key}, or null; ENOENT when the inode does not exist. */
    byte[] find(long ino, byte[] key) throws IOException {
        inodes.load(ino);
        return inodes.get(ino, key);
    }

    /**
     * Sets the attribute and the inode's change time; {@code create}: EEXIST if it exists, {@code replace}: ENODATA
     * if it does not.
     */
    void set(long ino, byte[] key, String name, byte[] value, boolean create, boolean replace) throws IOException {
        Inode inode = inodes.load(ino);
        WriteTransaction txn = inodes.txn();
        boolean exists = txn.get(treeOf(ino), key) != null;
        if (create && exists) {
            throw new FsException(Errno.EEXIST, "attribute '" + name + "' exists on inode " + ino);
        }
        if (replace && !exists) {
            throw new FsException(Errno.ENODATA, "inode " + ino + " has no attribute '" + name + "'");
        }
        if (PosixAcl.isAclName(name)) {
            inode = setAcl(inode, key, name, PosixAcl.decode(value));
        } else {
            txn.put(treeOf(ino), key, value);
        }
        inodes.store(inodes.touch(inode, false, true));
    }

    /**
     * An access ACL sets the mode's permission bits and is kept only when the mode cannot say it all; a default
     * ACL is kept as it is, on directories only (EACCES elsewhere). Symbolic links have no ACLs (EOPNOTSUPP).
     */
    private Inode setAcl(Inode inode, byte[] key, String name, PosixAcl acl) throws IOException {
        WriteTransaction txn = inodes.txn();
        if (inode.isSymbolicLink()) {
            throw new FsException(Errno.EOPNOTSUPP, "symbolic link " + inode.ino() + " has no ACLs");
        }
        if (name.equals(PosixAcl.DEFAULT)) {
            if (!inode.isDirectory()) {
                throw new FsException(Errno.EACCES, "only a directory has a default ACL (inode " + inode.ino() + ")");
            }
            txn.put(treeOf(inode.ino()), key, acl.encode());
            return inode;
        }
        if (acl.equivalentToMode()) {
            txn.delete(treeOf(inode.ino()), key);
        } else {
            txn.put(treeOf(inode.ino()), key, acl.encode());
        }
        return inode.withMode(inode.mode() & ~0777 | acl.permissionBits());
    }

    /** After a chmod to {@code mode}: the access ACL, if the inode keeps one, takes the mode's bits. */
    void chmodAcl(long ino, int mode) throws IOException {
        if (!inodes.posixAcls()) {
            return;
        }
        byte[] key = key(ino, PosixAcl.ACCESS, true);
        byte[] stored = inodes.txn().get(treeOf(ino), key);
        if (stored != null) {
            inodes.txn().put(treeOf(ino), key, PosixAcl.decode(stored).chmod(mode).encode());
        }
    }

    /** Removes the attribute (ENODATA when there is none) and sets the inode's change time. */
    void remove(long ino, byte[] key, String name) throws IOException {
        Inode inode = inodes.load(ino);
        if (!inodes.txn().delete(treeOf(ino), key)) {
            throw new FsException(Errno.ENODATA, "inode " + ino + " has no attribute '" + name + "'");
        }
        inodes.store(inodes.touch(inode, false, true));
    }

    /** The names of the inode's attributes, in key order (the system namespace left out). */
    List<String> list(long ino) throws IOException {
        inodes.load(ino);
        List<String> names = new ArrayList<>();
        if (inodes.txn() == null) {
            try (var read = inodes.store().beginRead()) {
                collect(read.cursor(treeOf(ino)), ino, names, inodes.posixAcls());
            }
        } else {
            collect(inodes.cursor(ino), ino, names, inodes.posixAcls());
        }
        return names;
    }

    private static void collect(Cursor cursor, long ino, List<String> names, boolean acls) throws IOException {
        for (boolean ok = cursor.seek(FsKeys.of(ino, FsKeys.XATTR)); ok; ok = cursor.next()) {
            byte[] key = cursor.key();
            if (!FsKeys.is(key, ino, FsKeys.XATTR)) {
                break;
            }
            String name = new String(FsKeys.name(key), StandardCharsets.UTF_8);
            if (!isSystem(name) || acls && PosixAcl.isAclName(name)) {
                names.add(name);
            }
        }
    }
}
