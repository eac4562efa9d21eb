package dev.cowfs.fs;

import dev.cowfs.engine.Cursor;
import dev.cowfs.engine.error.EngineBugError;
import dev.cowfs.engine.format.Bytes;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static dev.cowfs.fs.CowFileSystem.LINK_MAX;
import static dev.cowfs.fs.CowFileSystem.NAME_MAX;
import static dev.cowfs.fs.CowFileSystem.PATH_MAX;
import static dev.cowfs.fs.CowFileSystem.ROOT_INO;
import static dev.cowfs.fs.InodeNumber.globalIno;
import static dev.cowfs.fs.InodeNumber.localIno;
import static dev.cowfs.fs.InodeNumber.rootOf;
import static dev.cowfs.fs.InodeNumber.subvolumeOf;
import static dev.cowfs.fs.InodeNumber.treeOf;

/**
 * The namespace: directory entries, lookups and path resolution, creating, linking, removing and renaming. A
 * directory entry is two items (by name, for lookups in O(log n), and by position, for readdir) and a back
 * reference item beside the inode it names (docs/FORMAT.md). The callers hold the filesystem's lock and run each
 * call as one operation ({@link Operations}); everything that can refuse a call is checked before it changes
 * anything.
 */
final class DirectoryTree {
    /** Symbolic links followed while resolving one path, at most (ELOOP past it), as Linux. */
    static final int MAX_SYMLINK_FOLLOWS = 40;

    private final InodeTable inodes;
    private final Subvolumes subvolumes;
    private final OpenFiles openFiles;

    DirectoryTree(InodeTable inodes, Subvolumes subvolumes, OpenFiles openFiles) {
        this.inodes = inodes;
        this.subvolumes = subvolumes;
        this.openFiles = openFiles;
    }

    /** A name's bytes, checked: EINVAL for empty, "." or "..", '/' or NUL; ENAMETOOLONG past NAME_MAX bytes. */
    static byte[] nameBytes(String name) throws FsException {
        if (name == null || name.isEmpty() || name.equals(".") || name.equals("..") || name.indexOf('/') >= 0
                || name.indexOf('\0') >= 0) {
            throw new FsException(Errno.EINVAL, "invalid file name '" + name + "'");
        }
        byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
        if (bytes.length > NAME_MAX) {
            throw new FsException(Errno.ENAMETOOLONG, "name of " + bytes.length + " bytes (at most " + NAME_MAX
                    + "): '" + name.substring(0, 32) + "...'");
        }
        return bytes;
    }

    /** Links and renames stay inside one subvolume (EXDEV otherwise, as across mounts). */
    static void requireSameSubvolume(long a, long b) throws FsException {
        if (subvolumeOf(a) != subvolumeOf(b)) {
            throw new FsException(Errno.EXDEV, "inodes " + a + " and " + b + " are in different subvolumes");
        }
    }

    /** The inode that {@code name} names in directory {@code dir} ({@code .} and {@code ..} included). */
    long lookup(long dir, String name) throws IOException {
        long found = lookupIfExists(dir, name);
        if (found < 0) {
            throw new FsException(Errno.ENOENT, "no entry '" + name + "' in directory " + dir);
        }
        return found;
    }

    /** As {@link #lookup}, but -1 when the directory has no entry of that name. */
    long lookupIfExists(long dir, String name) throws IOException {
        Inode parent = inodes.load(dir);
        if (!parent.isDirectory()) {
            throw new FsException(Errno.ENOTDIR, "inode " + dir + " is not a directory");
        }
        if (name.equals(".")) {
            return dir;
        }
        if (name.equals("..")) {
            return parent.parent();
        }
        byte[] entry = inodes.get(dir, FsKeys.of(dir, FsKeys.DIR_NAME, nameBytes(name)));
        return entry == null ? -1 : globalIno(dir, Bytes.getLong(entry, 0));
    }

    /**
     * The inode a path names, relative to directory {@code start} unless the path is absolute (then from the root of
     * {@code start}'s subvolume), '/'-separated. Symbolic links in the middle are followed; the last component's
     * only when {@code followLast}; ELOOP past {@value #MAX_SYMLINK_FOLLOWS} of them.
     */
    long resolve(long start, String path, boolean followLast) throws IOException {
        return resolve(start, path, followLast, new int[1]);
    }

    private long resolve(long start, String path, boolean followLast, int[] follows) throws IOException {
        if (path.getBytes(StandardCharsets.UTF_8).length > PATH_MAX) {
            throw new FsException(Errno.ENAMETOOLONG, "path of more than " + PATH_MAX + " bytes");
        }
        long current = path.startsWith("/") ? rootOf(subvolumeOf(start)) : start;
        String[] parts = path.split("/");
        List<String> components = new ArrayList<>();
        for (String part : parts) {
            if (!part.isEmpty()) {
                components.add(part);
            }
        }
        for (int i = 0; i < components.size(); i++) {
            String part = components.get(i);
            long next = lookup(current, part);
            boolean last = i == components.size() - 1;
            if (!last || followLast) {
                Inode inode = inodes.load(next);
                if (inode.isSymbolicLink()) {
                    if (++follows[0] > MAX_SYMLINK_FOLLOWS) {
                        throw new FsException(Errno.ELOOP, "too many symbolic links resolving '" + path + "'");
                    }
                    next = resolve(current, readlink(next), true, follows);
                }
            }
            current = next;
        }
        return current;
    }

    /** Lists a directory from {@code position} (0 for the start), at most {@code max} entries. */
    List<DirEntry> readdir(long dir, long position, int max) throws IOException {
        Inode inode = inodes.load(dir);
        if (!inode.isDirectory()) {
            throw new FsException(Errno.ENOTDIR, "inode " + dir + " is not a directory");
        }
        List<DirEntry> entries = new ArrayList<>();
        Cursor cursor = inodes.txn() != null ? inodes.txn().cursor(treeOf(dir)) : null;
        if (cursor == null) {
            try (var read = inodes.store().beginRead()) {
                collectEntries(read.cursor(treeOf(dir)), dir, position, max, entries);
            }
        } else {
            collectEntries(cursor, dir, position, max, entries);
        }
        return entries;
    }

    private static void collectEntries(Cursor cursor, long dir, long position, int max, List<DirEntry> into)
            throws IOException {
        for (boolean ok = cursor.seek(FsKeys.of(dir, FsKeys.DIR_INDEX, Math.max(position, 2))); ok
                && into.size() < max; ok = cursor.next()) {
            byte[] key = cursor.key();
            if (!FsKeys.is(key, dir, FsKeys.DIR_INDEX)) {
                break;
            }
            byte[] value = cursor.value();
            String name = new String(value, DirPositionLayout.NAME_OFFSET,
                    value.length - DirPositionLayout.NAME_OFFSET, StandardCharsets.UTF_8);
            into.add(new DirEntry(name, globalIno(dir, Bytes.getLong(value, DirPositionLayout.INO_OFFSET)),
                    (value[DirPositionLayout.TYPE_OFFSET] & 0xFF) << 12,
                    FsKeys.number(key) + 1));
        }
    }

    /** Adds the entry (by name, by position, the back reference); returns the directory with its next position. */
    private Inode addEntry(Inode dir, byte[] name, long ino, int type) throws IOException {
        long index = dir.nextDirIndex();
        EngineBugError.check(subvolumeOf(ino) == subvolumeOf(dir.ino()), "entry across subvolumes");
        long tree = treeOf(dir.ino());
        inodes.txn().put(tree, FsKeys.of(dir.ino(), FsKeys.DIR_NAME, name),
                DirEntryLayout.encodeByName(localIno(ino), index, type));
        inodes.txn().put(tree, FsKeys.of(dir.ino(), FsKeys.DIR_INDEX, index),
                DirPositionLayout.encode(localIno(ino), type, name));
        inodes.txn().put(tree, FsKeys.ref(ino, dir.ino(), name), new byte[0]);
        inodes.changes().entryChanged(dir.ino(), name);
        return dir.withNextDirIndex(index + 1);
    }

    /** Removes the entry; returns the inode it named. */
    private long removeEntry(long dir, byte[] name) throws IOException {
        byte[] nameKey = FsKeys.of(dir, FsKeys.DIR_NAME, name);
        byte[] entry = inodes.txn().get(treeOf(dir), nameKey);
        if (entry == null) {
            throw new FsException(Errno.ENOENT, "no entry '" + new String(name, StandardCharsets.UTF_8)
                    + "' in directory " + dir);
        }
        inodes.txn().delete(treeOf(dir), nameKey);
        inodes.txn().delete(treeOf(dir), FsKeys.of(dir, FsKeys.DIR_INDEX,
                Bytes.getLong(entry, DirEntryLayout.POSITION_OFFSET)));
        long child = globalIno(dir, Bytes.getLong(entry, DirEntryLayout.INO_OFFSET));
        inodes.txn().delete(treeOf(dir), FsKeys.ref(child, dir, name));
        inodes.changes().entryChanged(dir, name);
        return child;
    }

    private Inode directory(long dir) throws IOException {
        Inode inode = inodes.load(dir);
        if (!inode.isDirectory()) {
            throw new FsException(Errno.ENOTDIR, "inode " + dir + " is not a directory");
        }
        if (inode.nlink() == 0) {
            throw new FsException(Errno.ENOENT, "directory " + dir + " was removed");
        }
        return inode;
    }

    // ------------------------------------------------------------------ creating

    /**
     * A new inode named {@code name} in {@code dir}: a file, special file, directory or (with {@code symlinkTarget})
     * a symbolic link; {@code compress}: its data is kept compressed (regular files only).
     */
    long create(long dir, String name, byte[] nameBytes, int mode, long rdev, int uid, int gid, byte[] symlinkTarget,
                boolean compress) throws IOException {
        Inode parent = directory(dir);
        if (inodes.txn().get(treeOf(dir), FsKeys.of(dir, FsKeys.DIR_NAME, nameBytes)) != null) {
            throw new FsException(Errno.EEXIST, "'" + name + "' exists in directory " + dir);
        }
        boolean isDir = (mode & Inode.S_IFMT) == Inode.S_IFDIR;
        if (isDir && parent.nlink() >= LINK_MAX) {
            throw new FsException(Errno.EMLINK, "directory " + dir + " has too many subdirectories");
        }
        Instant now = inodes.now();
        Inode inode = Inode.create(subvolumes.takeIno(inodes.txn(), subvolumeOf(dir)), mode, uid, gid, rdev,
                compress && (mode & Inode.S_IFMT) == Inode.S_IFREG ? Inode.FLAG_COMPRESS : 0,
                inodes.txn().generation(), dir, now);
        if (isDir) {
            parent = parent.withNlink(parent.nlink() + 1);
        }
        if (symlinkTarget != null) {
            inode = inode.withSize(symlinkTarget.length);
            inodes.txn().put(treeOf(inode.ino()), FsKeys.of(inode.ino(), FsKeys.SYMLINK), symlinkTarget);
        } else if (inodes.posixAcls()) {
            inode = inheritAcl(dir, inode);
        }
        inodes.store(inode);
        parent = addEntry(parent, nameBytes, inode.ino(), mode & Inode.S_IFMT);
        inodes.store(inodes.touch(parent, true, true));
        return inode.ino();
    }

    /**
     * A new inode in a directory with a default ACL takes it, masked by the mode asked for (which then keeps only
     * what the ACL allows); a new directory also keeps it as its own default ACL.
     */
    private Inode inheritAcl(long dir, Inode inode) throws IOException {
        byte[] inherited = inodes.txn().get(treeOf(dir), Xattrs.key(dir, PosixAcl.DEFAULT, true));
        if (inherited == null) {
            return inode;
        }
        PosixAcl access = PosixAcl.decode(inherited).inheritedBy(inode.mode());
        if (!access.equivalentToMode()) {
            inodes.txn().put(treeOf(inode.ino()), Xattrs.key(inode.ino(), PosixAcl.ACCESS, true), access.encode());
        }
        if (inode.isDirectory()) {
            inodes.txn().put(treeOf(inode.ino()), Xattrs.key(inode.ino(), PosixAcl.DEFAULT, true), inherited);
        }
        return inode.withMode(inode.mode() & ~0777 | access.permissionBits());
    }

    /** The target of a symbolic link (EINVAL for any other inode). */
    String readlink(long ino) throws IOException {
        Inode inode = inodes.load(ino);
        if (!inode.isSymbolicLink()) {
            throw new FsException(Errno.EINVAL, "inode " + ino + " is not a symbolic link");
        }
        byte[] target = inodes.get(ino, FsKeys.of(ino, FsKeys.SYMLINK));
        if (target == null) {
            throw new FsException(Errno.EIO, "symbolic link " + ino + " has no target; run cowfs fsck");
        }
        return new String(target, StandardCharsets.UTF_8);
    }

    /** A new name for an existing non-directory inode (a hard link). */
    void link(long ino, long dir, String name, byte[] nameBytes) throws IOException {
        requireSameSubvolume(ino, dir);
        Inode inode = inodes.load(ino);
        if (inode.isDirectory()) {
            throw new FsException(Errno.EPERM, "cannot hard-link directory " + ino);
        }
        if (inode.nlink() == 0) {
            throw new FsException(Errno.ENOENT, "inode " + ino + " was removed");
        }
        if (inode.nlink() >= LINK_MAX) {
            throw new FsException(Errno.EMLINK, "inode " + ino + " has " + inode.nlink() + " links");
        }
        Inode parent = directory(dir);
        if (inodes.txn().get(treeOf(dir), FsKeys.of(dir, FsKeys.DIR_NAME, nameBytes)) != null) {
            throw new FsException(Errno.EEXIST, "'" + name + "' exists in directory " + dir);
        }
        inodes.store(inodes.touch(inode.withNlink(inode.nlink() + 1), false, true));
        parent = addEntry(parent, nameBytes, ino, inode.type());
        inodes.store(inodes.touch(parent, true, true));
    }

    // ------------------------------------------------------------------ removing

    /** Removes a non-directory name; the inode goes with its last link once no handle holds it open. */
    void unlink(long dir, String name, byte[] nameBytes) throws IOException {
        Inode parent = directory(dir);
        long ino = lookup(dir, name);
        Inode inode = inodes.load(ino);
        if (inode.isDirectory()) {
            throw new FsException(Errno.EISDIR, "'" + name + "' is a directory; use rmdir");
        }
        removeEntry(dir, nameBytes);
        inodes.store(inodes.touch(parent, true, true));
        dropLink(inode);
    }

    /** Removes an empty directory (ENOTEMPTY otherwise). */
    void rmdir(long dir, String name, byte[] nameBytes) throws IOException {
        Inode parent = directory(dir);
        long ino = lookup(dir, name);
        Inode inode = inodes.load(ino);
        if (!inode.isDirectory()) {
            throw new FsException(Errno.ENOTDIR, "'" + name + "' is not a directory");
        }
        requireEmpty(ino);
        removeEntry(dir, nameBytes);
        inodes.store(inodes.touch(parent.withNlink(parent.nlink() - 1), true, true));
        openFiles.lastNameRemoved(inode.withNlink(0));
    }

    private void requireEmpty(long dir) throws IOException {
        Cursor cursor = inodes.txn().cursor(treeOf(dir));
        if (cursor.seek(FsKeys.of(dir, FsKeys.DIR_INDEX, 0)) && FsKeys.is(cursor.key(), dir, FsKeys.DIR_INDEX)) {
            throw new FsException(Errno.ENOTEMPTY, "directory " + dir + " is not empty");
        }
    }

    /** One fewer name for the inode: at zero it is freed, or kept as an orphan while open. */
    private void dropLink(Inode inode) throws IOException {
        inode = inodes.touch(inode.withNlink(inode.nlink() - 1), false, true);
        if (inode.nlink() > 0) {
            inodes.store(inode);
            return;
        }
        openFiles.lastNameRemoved(inode);
    }

    // ------------------------------------------------------------------ rename

    /** rename(2) and renameat2(2)'s NOREPLACE and EXCHANGE, within one subvolume. */
    void rename(long fromDir, String fromName, byte[] from, long toDir, String toName, byte[] to, RenameMode mode)
            throws IOException {
        requireSameSubvolume(fromDir, toDir);
        Inode source = inodes.load(lookup(fromDir, fromName));
        directory(toDir);
        byte[] targetEntry = inodes.txn().get(treeOf(toDir), FsKeys.of(toDir, FsKeys.DIR_NAME, to));
        Inode target = targetEntry == null ? null : inodes.load(globalIno(toDir, Bytes.getLong(targetEntry, 0)));
        if (mode == RenameMode.NOREPLACE && target != null) {
            throw new FsException(Errno.EEXIST, "'" + toName + "' exists in directory " + toDir);
        }
        if (mode == RenameMode.EXCHANGE && target == null) {
            throw new FsException(Errno.ENOENT, "no entry '" + toName + "' to exchange with");
        }
        if (source.isDirectory() && fromDir != toDir) {
            requireNotBelow(toDir, source.ino());
            if (inodes.load(toDir).nlink() >= LINK_MAX && (target == null || !target.isDirectory())) {
                throw new FsException(Errno.EMLINK, "directory " + toDir + " has too many subdirectories");
            }
        }
        if (mode == RenameMode.EXCHANGE) {
            if (target.isDirectory() && fromDir != toDir) {
                requireNotBelow(fromDir, target.ino());
            }
            exchange(fromDir, from, source, toDir, to, target);
            return;
        }
        if (target != null) {
            if (target.ino() == source.ino()) {
                return; // two names of one inode: POSIX says do nothing
            }
            requireReplaceable(source, target, toName);
        }
        removeEntry(fromDir, from);
        Inode fromParent = inodes.load(fromDir);
        if (target != null) {
            removeEntry(toDir, to);
            if (target.isDirectory()) {
                Inode toParent = inodes.load(toDir);
                inodes.store(toParent.withNlink(toParent.nlink() - 1));
                openFiles.lastNameRemoved(target.withNlink(0));
            } else {
                dropLink(target);
            }
            fromParent = inodes.load(fromDir);
        }
        if (source.isDirectory() && fromDir != toDir) {
            fromParent = fromParent.withNlink(fromParent.nlink() - 1);
            source = source.withParent(toDir);
        }
        inodes.store(inodes.touch(fromParent, true, true));
        Inode toParent = inodes.load(toDir);
        if (source.isDirectory() && fromDir != toDir) {
            toParent = toParent.withNlink(toParent.nlink() + 1);
        }
        toParent = addEntry(toParent, to, source.ino(), source.type());
        inodes.store(inodes.touch(toParent, true, true));
        inodes.store(inodes.touch(source, false, true));
    }

    /** A rename's target can be replaced by its source: both directories (the target empty) or neither. */
    private void requireReplaceable(Inode source, Inode target, String toName) throws IOException {
        if (source.isDirectory() && !target.isDirectory()) {
            throw new FsException(Errno.ENOTDIR, "cannot replace non-directory '" + toName + "' with a directory");
        }
        if (!source.isDirectory() && target.isDirectory()) {
            throw new FsException(Errno.EISDIR, "cannot replace directory '" + toName + "' with a non-directory");
        }
        if (target.isDirectory()) {
            requireEmpty(target.ino());
        }
    }

    /** A directory must not move into its own subtree (EINVAL). */
    private void requireNotBelow(long dir, long movedDir) throws IOException {
        long current = dir;
        for (int depth = 0; depth < 1_000_000; depth++) {
            if (current == movedDir) {
                throw new FsException(Errno.EINVAL, "cannot move directory " + movedDir + " into its own subtree");
            }
            if (localIno(current) == ROOT_INO) {
                return;
            }
            current = inodes.load(current).parent();
        }
        throw new FsException(Errno.EIO, "directory parents form a cycle at " + dir + "; run cowfs fsck");
    }

    private void exchange(long fromDir, byte[] from, Inode source, long toDir, byte[] to, Inode target)
            throws IOException {
        if (source.ino() == target.ino()) {
            return;
        }
        removeEntry(fromDir, from);
        removeEntry(toDir, to);
        Inode fromParent = addEntry(inodes.load(fromDir), from, target.ino(), target.type());
        if (fromDir != toDir) {
            fromParent = fromParent.withNlink(fromParent.nlink() + (target.isDirectory() ? 1 : 0)
                    - (source.isDirectory() ? 1 : 0));
        }
        inodes.store(inodes.touch(fromParent, true, true));
        Inode toParent = addEntry(inodes.load(toDir), to, source.ino(), source.type());
        if (fromDir != toDir) {
            toParent = toParent.withNlink(toParent.nlink() + (source.isDirectory() ? 1 : 0)
                    - (target.isDirectory() ? 1 : 0));
        }
        inodes.store(inodes.touch(toParent, true, true));
        if (source.isDirectory()) {
            source = source.withParent(toDir);
        }
        if (target.isDirectory()) {
            target = target.withParent(fromDir);
        }
        inodes.store(inodes.touch(source, false, true));
        inodes.store(inodes.touch(target, false, true));
    }
}
