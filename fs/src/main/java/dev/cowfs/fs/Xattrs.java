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
     * mode and more). Stored as plain bytes they would claim permissions nothing enforces, so programs must see
     * EOPNOTSUPP and fall back to the mode (as {@code cp -a} and {@code setfacl} do); names an older version
     * stored are hidden from listings.
     */
    private static final String SYSTEM_PREFIX = "system.";

    private final InodeTable inodes;

    Xattrs(InodeTable inodes) {
        this.inodes = inodes;
    }

    /** The item key of attribute {@code name} of {@code ino}; EINVAL, ERANGE or EOPNOTSUPP for a name refused. */
    static byte[] key(long ino, String name) throws FsException {
        byte[] bytes = name == null ? new byte[0] : name.getBytes(StandardCharsets.UTF_8);
        if (bytes.length == 0 || bytes.length > CowFileSystem.XATTR_NAME_MAX || name.indexOf('\0') >= 0) {
            throw new FsException(bytes.length > CowFileSystem.XATTR_NAME_MAX ? Errno.ERANGE : Errno.EINVAL,
                    "attribute name of " + bytes.length + " bytes (1 to " + CowFileSystem.XATTR_NAME_MAX
                            + ", no NUL)");
        }
        if (isSystem(name)) {
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
        txn.put(treeOf(ino), key, value);
        inodes.touch(inode, false, true);
        inodes.store(inode);
    }

    /** Removes the attribute (ENODATA when there is none) and sets the inode's change time. */
    void remove(long ino, byte[] key, String name) throws IOException {
        Inode inode = inodes.load(ino);
        if (!inodes.txn().delete(treeOf(ino), key)) {
            throw new FsException(Errno.ENODATA, "inode " + ino + " has no attribute '" + name + "'");
        }
        inodes.touch(inode, false, true);
        inodes.store(inode);
    }

    /** The names of the inode's attributes, in key order (the system namespace left out). */
    List<String> list(long ino) throws IOException {
        inodes.load(ino);
        List<String> names = new ArrayList<>();
        if (inodes.txn() == null) {
            try (var read = inodes.store().beginRead()) {
                collect(read.cursor(treeOf(ino)), ino, names);
            }
        } else {
            collect(inodes.cursor(ino), ino, names);
        }
        return names;
    }

    private static void collect(Cursor cursor, long ino, List<String> names) throws IOException {
        for (boolean ok = cursor.seek(FsKeys.of(ino, FsKeys.XATTR)); ok; ok = cursor.next()) {
            byte[] key = cursor.key();
            if (!FsKeys.is(key, ino, FsKeys.XATTR)) {
                break;
            }
            String name = new String(FsKeys.name(key), StandardCharsets.UTF_8);
            if (!isSystem(name)) {
                names.add(name);
            }
        }
    }
}
