package dev.cowfs.fs.nio;

import dev.cowfs.fs.CowFileSystem;
import dev.cowfs.fs.Errno;
import dev.cowfs.fs.FsException;
import dev.cowfs.fs.Inode;
import dev.cowfs.fs.RenameMode;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotLinkException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * The path-level operations of one image over the inode-level {@link CowFileSystem}: resolving, creating,
 * removing, linking and renaming by path, opening regular files, and real paths. Every refusal becomes the
 * NIO exception the JDK's unix provider gives for it, naming the path the caller gave.
 *
 * <p>A path is resolved from the root directory, which is also the working directory of relative paths;
 * ".." and symbolic links are resolved by the engine against the directories they are met in (physically),
 * never by rewriting the path text.
 */
final class Namespace {
    /** As Linux: at most 40 symbolic links on the way to one file. */
    static final int MAX_SYMLINK_FOLLOWS = 40;
    /** Walks up the directory tree stop here: deeper nesting (or a cycle) is a damaged image. */
    private static final int MAX_DIRECTORY_DEPTH = 1_000_000;

    private final CowNioFileSystem fileSystem;
    private final ProcessIdentity identity;

    Namespace(CowNioFileSystem fileSystem, ProcessIdentity identity) {
        this.fileSystem = fileSystem;
        this.identity = identity;
    }

    /**
     * Where a path's last name is: the directory holding it and the name; the root has no name. The name may
     * be "." or "..", which name no entry of their own.
     */
    record Entry(long directory, String name) {
        boolean namesAnEntry() {
            return name != null && !name.equals(".") && !name.equals("..");
        }
    }

    private CowFileSystem core() {
        return fileSystem.core();
    }

    // ------------------------------------------------------------------ looking up

    /** The inode {@code path} names; a symbolic link at its end is followed when {@code followLinks}. */
    long resolve(CowPath path, boolean followLinks) throws IOException {
        return resolve(path, followLinks, path);
    }

    private long resolve(CowPath path, boolean followLinks, CowPath reported) throws IOException {
        try {
            return core().resolve(path.toAbsolutePath().toString(), followLinks);
        } catch (FsException e) {
            throw NioErrors.translate(e, reported);
        }
    }

    Inode stat(CowPath path, boolean followLinks) throws IOException {
        long ino = resolve(path, followLinks);
        try {
            return core().stat(ino);
        } catch (FsException e) {
            throw NioErrors.translate(e, path);
        }
    }

    /** The inode {@code path} names, or null when it names nothing (ENOENT). */
    Inode statIfExists(CowPath path, boolean followLinks) throws IOException {
        try {
            return core().stat(core().resolve(path.toAbsolutePath().toString(), followLinks));
        } catch (FsException e) {
            if (e.errno() == Errno.ENOENT) {
                return null;
            }
            throw NioErrors.translate(e, path);
        }
    }

    CowFileAttributes attributes(CowPath path, boolean followLinks) throws IOException {
        return new CowFileAttributes(stat(path, followLinks), fileSystem.principals(), fileSystem.imageName());
    }

    /** The entry {@code path} names; errors on the way name {@code path}. */
    Entry entry(CowPath path) throws IOException {
        return entry(path, path);
    }

    /** The entry {@code path} names; errors on the way name {@code reported}, the path the caller gave. */
    private Entry entry(CowPath path, CowPath reported) throws IOException {
        CowPath absolute = path.toAbsolutePath();
        CowPath parent = absolute.getParent();
        if (parent == null) {
            return new Entry(CowFileSystem.ROOT_INO, null);
        }
        try {
            return new Entry(core().resolve(parent.toString(), true), absolute.getFileName().toString());
        } catch (FsException e) {
            throw NioErrors.translate(e, reported);
        }
    }

    /** The inode an entry names, or -1 when the directory has no such name. */
    long lookupIfExists(Entry entry, CowPath path) throws IOException {
        try {
            return core().lookup(entry.directory(), entry.name());
        } catch (FsException e) {
            if (e.errno() == Errno.ENOENT) {
                return -1;
            }
            throw NioErrors.translate(e, path);
        }
    }

    boolean isEmptyDirectory(long ino, CowPath path) throws IOException {
        try {
            return core().readdir(ino, 0, 1).isEmpty();
        } catch (FsException e) {
            throw NioErrors.translate(e, path);
        }
    }

    /**
     * Refuses (EINVAL, as rename(2) would) when the directory that holds {@code target}'s entry is the
     * directory {@code directoryIno} or below it: {@code source}, that directory, cannot move there.
     */
    void requireNotWithin(CowPath target, long directoryIno, CowPath source) throws IOException {
        long current = entry(target).directory();
        try {
            for (int depth = 0; depth <= MAX_DIRECTORY_DEPTH; depth++) {
                if (current == directoryIno) {
                    throw new FileSystemException(source.toString(), target.toString(),
                            NioErrors.reason(Errno.EINVAL));
                }
                if (current == CowFileSystem.ROOT_INO) {
                    return;
                }
                current = core().lookup(current, "..");
            }
        } catch (FsException e) {
            throw NioErrors.translate(e, source, target);
        }
        throw new FileSystemException(source.toString(), target.toString(), "directories nested deeper than "
                + MAX_DIRECTORY_DEPTH + " or in a cycle; run cowfs fsck");
    }

    boolean isSameFile(CowPath first, CowPath second) throws IOException {
        if (first.equals(second)) {
            return true;
        }
        if (first.getFileSystem() != second.getFileSystem()) {
            return false;
        }
        return resolve(first, true) == resolve(second, true);
    }

    // ------------------------------------------------------------------ creating

    void createDirectory(CowPath path, int permissions) throws IOException {
        Entry entry = entry(path);
        if (!entry.namesAnEntry()) {
            throw new FileAlreadyExistsException(path.toString());
        }
        try {
            core().mkdir(entry.directory(), entry.name(), permissions, identity.uid(), identity.gid());
        } catch (FsException e) {
            throw NioErrors.translate(e, path);
        }
    }

    void createSymbolicLink(CowPath link, String target) throws IOException {
        Entry entry = entry(link);
        if (!entry.namesAnEntry()) {
            throw new FileAlreadyExistsException(link.toString());
        }
        try {
            core().symlink(entry.directory(), entry.name(), target, identity.uid(), identity.gid());
        } catch (FsException e) {
            throw NioErrors.translate(e, link);
        }
    }

    /** A file, fifo, socket or device node ({@code mode} says which) named {@code path}; returns its inode. */
    long createNode(CowPath path, int mode, long rdev) throws IOException {
        Entry entry = entry(path);
        if (!entry.namesAnEntry()) {
            throw new FileAlreadyExistsException(path.toString());
        }
        try {
            return core().mknod(entry.directory(), entry.name(), mode, rdev, identity.uid(), identity.gid());
        } catch (FsException e) {
            throw NioErrors.translate(e, path);
        }
    }

    /** A hard link {@code link} to what {@code existing} names; like Linux link(2), a symbolic link itself. */
    void createLink(CowPath link, CowPath existing) throws IOException {
        long ino = resolve(existing, false);
        Entry entry = entry(link);
        if (!entry.namesAnEntry()) {
            throw new FileAlreadyExistsException(link.toString(), existing.toString(), null);
        }
        try {
            core().link(ino, entry.directory(), entry.name());
        } catch (FsException e) {
            throw NioErrors.translate(e, link, existing);
        }
    }

    CowPath readSymbolicLink(CowPath link) throws IOException {
        return CowPath.parse(fileSystem, readSymbolicLinkText(link));
    }

    /** The target of the symbolic link {@code link}, exactly as it was stored. */
    String readSymbolicLinkText(CowPath link) throws IOException {
        long ino = resolve(link, false);
        try {
            if (!core().stat(ino).isSymbolicLink()) {
                throw new NotLinkException(link.toString());
            }
            return core().readlink(ino);
        } catch (FsException e) {
            throw NioErrors.translate(e, link);
        }
    }

    // ------------------------------------------------------------------ removing and renaming

    /** Removes a file, symbolic link or empty directory (never following a link at the end). */
    void delete(CowPath path) throws IOException {
        Entry entry = entry(path);
        if (entry.name() == null) {
            throw new FileSystemException(path.toString(), null, "the root directory cannot be deleted");
        }
        if (!entry.namesAnEntry()) {
            throw NioErrors.of(Errno.EINVAL, path);
        }
        try {
            long ino = core().lookup(entry.directory(), entry.name());
            if (core().stat(ino).isDirectory()) {
                core().rmdir(entry.directory(), entry.name());
            } else {
                core().unlink(entry.directory(), entry.name());
            }
        } catch (FsException e) {
            throw NioErrors.translateRemoval(e, path, null);
        }
    }

    /** Renames within this image; a non-empty directory in the way is a {@code DirectoryNotEmptyException}. */
    void rename(CowPath source, CowPath target, RenameMode mode) throws IOException {
        Entry from = entry(source);
        Entry to = entry(target);
        if (!from.namesAnEntry() || !to.namesAnEntry()) {
            throw new FileSystemException(source.toString(), target.toString(), NioErrors.reason(Errno.EINVAL));
        }
        try {
            core().rename(from.directory(), from.name(), to.directory(), to.name(), mode);
        } catch (FsException e) {
            throw switch (e.errno()) {
                case EEXIST -> NioErrors.translate(e, target);
                case ENOTEMPTY -> NioErrors.translateRemoval(e, target, null);
                default -> NioErrors.translate(e, source, target);
            };
        }
    }

    // ------------------------------------------------------------------ opening

    /**
     * Opens (and, as the options say, creates or truncates) the regular file {@code path} names, following
     * symbolic links at its end unless told not to; returns its inode, marked open in the engine. A
     * directory or special file is refused at once (jimfs does the same; the JDK fails at the first read).
     */
    long openRegularFile(CowPath path, ChannelOptions options, int permissions) throws IOException {
        CowPath current = path.toAbsolutePath();
        for (int follows = 0; ; follows++) {
            Entry entry = entry(current, path);
            if (!entry.namesAnEntry()) {
                resolve(current, true, path);
                throw options.mustCreate() ? new FileAlreadyExistsException(path.toString())
                        : NioErrors.of(Errno.EISDIR, path);
            }
            long ino = lookupIfExists(entry, path);
            try {
                if (ino < 0) {
                    if (!options.mayCreate()) {
                        throw new NoSuchFileException(path.toString());
                    }
                    ino = core().mknod(entry.directory(), entry.name(), Inode.S_IFREG | permissions, 0,
                            identity.uid(), identity.gid());
                    return opened(ino, entry, path, options);
                }
                if (options.mustCreate()) {
                    throw new FileAlreadyExistsException(path.toString());
                }
                Inode inode = core().stat(ino);
                if (inode.isSymbolicLink()) {
                    if (!options.followLinks()) {
                        throw new FileSystemException(path.toString(), null,
                                NioErrors.reason(Errno.ELOOP) + " (NOFOLLOW_LINKS specified)");
                    }
                    if (follows >= MAX_SYMLINK_FOLLOWS) {
                        throw NioErrors.of(Errno.ELOOP, path);
                    }
                    current = linkTarget(current, core().readlink(ino));
                    continue;
                }
                if (inode.isDirectory()) {
                    throw NioErrors.of(Errno.EISDIR, path);
                }
                if (!inode.isRegularFile()) {
                    throw new FileSystemException(path.toString(), null, "not a regular file");
                }
                return opened(ino, entry, path, options);
            } catch (FsException e) {
                throw NioErrors.translate(e, path);
            }
        }
    }

    /**
     * Marks the inode open, then truncates it if asked, and for DELETE_ON_CLOSE removes its name at once, as the
     * JDK's unix provider does: the data lives until the channel releases it (an orphan, reclaimed after a crash).
     */
    private long opened(long ino, Entry entry, CowPath path, ChannelOptions options) throws IOException {
        core().open(ino);
        try {
            if (options.write() && options.truncateExisting()) {
                core().truncate(ino, 0);
            }
            if (options.deleteOnClose()) {
                core().unlink(entry.directory(), entry.name());
            }
            return ino;
        } catch (IOException | RuntimeException e) {
            try {
                core().release(ino);
            } catch (IOException releaseFailure) {
                e.addSuppressed(releaseFailure);
            }
            if (e instanceof FsException refused) {
                throw NioErrors.translate(refused, path);
            }
            throw e;
        }
    }

    /** The path a symbolic link at {@code link} (absolute) leads to: its target, from the link's directory. */
    private CowPath linkTarget(CowPath link, String target) {
        CowPath targetPath = CowPath.parse(fileSystem, target);
        return targetPath.isAbsolute() ? targetPath : link.getParent().resolve(targetPath);
    }

    // ------------------------------------------------------------------ real paths

    /**
     * The absolute path of the file {@code path} names without ".", ".." or (when following) symbolic links. With
     * NOFOLLOW_LINKS links stay, and ".." goes with the name before it only when that is not a link (as the JDK).
     */
    CowPath realPath(CowPath path, boolean followLinks) throws IOException {
        if (!followLinks) {
            return realPathKeepingLinks(path);
        }
        Deque<String> pending = new ArrayDeque<>(path.toAbsolutePath().names());
        List<String> names = new ArrayList<>();
        List<Long> inodes = new ArrayList<>();
        long current = CowFileSystem.ROOT_INO;
        int follows = 0;
        try {
            while (!pending.isEmpty()) {
                String name = pending.pollFirst();
                if (name.equals(".") || name.equals("..")) {
                    core().lookup(current, name); // a directory is needed here (ENOTDIR otherwise)
                    if (name.equals("..") && !names.isEmpty()) {
                        names.remove(names.size() - 1);
                        inodes.remove(inodes.size() - 1);
                        current = inodes.isEmpty() ? CowFileSystem.ROOT_INO : inodes.get(inodes.size() - 1);
                    }
                    continue;
                }
                long ino = core().lookup(current, name);
                if (core().stat(ino).isSymbolicLink()) {
                    if (++follows > MAX_SYMLINK_FOLLOWS) {
                        throw NioErrors.of(Errno.ELOOP, path);
                    }
                    CowPath target = CowPath.parse(fileSystem, core().readlink(ino));
                    if (target.isAbsolute()) {
                        names.clear();
                        inodes.clear();
                        current = CowFileSystem.ROOT_INO;
                    }
                    List<String> targetNames = target.names();
                    for (int i = targetNames.size() - 1; i >= 0; i--) {
                        pending.addFirst(targetNames.get(i));
                    }
                    continue;
                }
                names.add(name);
                inodes.add(ino);
                current = ino;
            }
        } catch (FsException e) {
            throw NioErrors.translate(e, path);
        }
        return CowPath.root(fileSystem).resolve(CowPath.parse(fileSystem, String.join("/", names)));
    }

    private CowPath realPathKeepingLinks(CowPath path) throws IOException {
        CowPath result = CowPath.root(fileSystem);
        for (String name : path.toAbsolutePath().names()) {
            if (name.equals(".")) {
                continue;
            }
            if (name.equals("..")) {
                CowPath parent = result.getParent();
                if (parent == null) {
                    continue; // ".." of the root is the root
                }
                boolean lastIsDots = result.getFileName().toString().equals("..");
                if (!lastIsDots && !isSymbolicLink(result, path)) {
                    result = parent;
                    continue;
                }
            }
            result = result.resolve(name);
        }
        resolve(result, false, path);
        return result;
    }

    private boolean isSymbolicLink(CowPath path, CowPath reported) throws IOException {
        long ino = resolve(path, false, reported);
        try {
            return core().stat(ino).isSymbolicLink();
        } catch (FsException e) {
            throw NioErrors.translate(e, reported);
        }
    }
}
