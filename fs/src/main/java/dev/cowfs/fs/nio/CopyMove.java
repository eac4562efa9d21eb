package dev.cowfs.fs.nio;

import dev.cowfs.fs.CowFileSystem;
import dev.cowfs.fs.Errno;
import dev.cowfs.fs.FsException;
import dev.cowfs.fs.Inode;
import dev.cowfs.fs.RenameMode;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.CopyOption;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.LinkOption;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.Objects;

/**
 * {@code Files.copy} and {@code Files.move} between cowfs paths, with the JDK unix provider's semantics
 * ({@code UnixCopyFile}). Within one image a move is a rename: without REPLACE_EXISTING it never replaces
 * (RENAME_NOREPLACE), with ATOMIC_MOVE it is one engine operation. Between two images a move is a copy and a
 * delete, as the JDK does when rename(2) fails with EXDEV; it cannot be atomic.
 */
final class CopyMove {
    /** Data is copied through an array of this size. */
    private static final int COPY_CHUNK_BYTES = 1 << 20;

    private CopyMove() {
    }

    /** The copy options: which are set, checked against those the operation accepts. */
    private record Options(boolean replaceExisting, boolean copyAttributes, boolean followLinks,
                           boolean atomicMove) {
        static Options parse(CopyOption[] options, boolean forMove) {
            boolean replaceExisting = false;
            boolean copyAttributes = false;
            boolean followLinks = true;
            boolean atomicMove = false;
            for (CopyOption option : options) {
                Objects.requireNonNull(option, "copy option");
                if (option == StandardCopyOption.REPLACE_EXISTING) {
                    replaceExisting = true;
                } else if (option == StandardCopyOption.COPY_ATTRIBUTES) {
                    copyAttributes = true;
                } else if (option == LinkOption.NOFOLLOW_LINKS) {
                    followLinks = false;
                } else if (option == StandardCopyOption.ATOMIC_MOVE && forMove) {
                    atomicMove = true;
                } else {
                    throw new UnsupportedOperationException("Unsupported copy option: " + option);
                }
            }
            return new Options(replaceExisting, copyAttributes, followLinks, atomicMove);
        }
    }

    // ------------------------------------------------------------------ copy

    static void copy(CowPath source, CowPath target, CopyOption... copyOptions) throws IOException {
        Options options = Options.parse(copyOptions, false);
        copy(source, target, options.replaceExisting, options.copyAttributes, options.followLinks);
    }

    /**
     * Copies one file, directory (without its entries) or symbolic link (when not following links). The mode
     * always goes along; owner and times only with COPY_ATTRIBUTES.
     */
    private static void copy(CowPath source, CowPath target, boolean replaceExisting, boolean copyAttributes,
                             boolean followLinks) throws IOException {
        Namespace from = source.getFileSystem().namespace();
        Namespace to = target.getFileSystem().namespace();
        Inode sourceInode = from.stat(source, followLinks);
        Inode targetInode = to.statIfExists(target, false);
        if (targetInode != null) {
            if (source.getFileSystem() == target.getFileSystem() && targetInode.ino() == sourceInode.ino()) {
                return; // one file: nothing to do
            }
            if (!replaceExisting) {
                throw new FileAlreadyExistsException(target.toString());
            }
            to.delete(target);
        }
        long targetIno;
        int permissions = sourceInode.mode() & 07777;
        if (sourceInode.isDirectory()) {
            to.createDirectory(target, permissions);
            targetIno = to.resolve(target, false);
        } else if (sourceInode.isSymbolicLink()) {
            to.createSymbolicLink(target, from.readSymbolicLinkText(source));
            targetIno = to.resolve(target, false);
        } else if (sourceInode.isRegularFile()) {
            targetIno = to.createNode(target, Inode.S_IFREG | permissions, 0);
            copyData(source, sourceInode, target, targetIno);
        } else {
            targetIno = to.createNode(target, sourceInode.mode(), sourceInode.rdev());
        }
        if (copyAttributes) {
            copyOwnerAndTimes(sourceInode, target, targetIno);
        }
    }

    /**
     * Gives the new, empty target file the source's data: a reflink clone within one image, otherwise a copy of
     * the data regions (holes stay holes).
     */
    private static void copyData(CowPath source, Inode sourceInode, CowPath target, long targetIno)
            throws IOException {
        CowFileSystem from = source.getFileSystem().core();
        CowFileSystem to = target.getFileSystem().core();
        long ino = sourceInode.ino();
        long size = sourceInode.size();
        if (from == to) {
            // Within one image a copy is a reflink clone: no data is copied, whatever the file's size.
            try {
                NioErrors.run(target, () -> to.reflink(ino, targetIno));
            } catch (IOException | RuntimeException e) {
                deleteAfterFailure(target, e);
                throw e;
            }
            return;
        }
        NioErrors.run(source, () -> from.open(ino));
        try {
            byte[] buffer = new byte[(int) Math.min(COPY_CHUNK_BYTES, Math.max(size, 1))];
            long offset = 0;
            while (offset < size) {
                long dataStart = seekData(from, ino, offset, source);
                if (dataStart < 0 || dataStart >= size) {
                    break;
                }
                long dataEnd = Math.min(size, NioErrors.call(source, () -> from.seekHole(ino, dataStart)));
                for (long at = dataStart; at < dataEnd; ) {
                    long readAt = at;
                    int length = (int) Math.min(buffer.length, dataEnd - at);
                    int n = NioErrors.call(source, () -> from.read(ino, readAt, buffer, 0, length));
                    if (n == 0) {
                        break; // the source shrank meanwhile
                    }
                    NioErrors.run(target, () -> to.write(targetIno, readAt, buffer, 0, n));
                    at += n;
                }
                offset = dataEnd;
            }
            NioErrors.run(target, () -> to.truncate(targetIno, size));
        } catch (IOException | RuntimeException e) {
            deleteAfterFailure(target, e);
            throw e;
        } finally {
            NioErrors.run(source, () -> from.release(ino));
        }
    }

    private static void copyOwnerAndTimes(Inode sourceInode, CowPath target, long targetIno) throws IOException {
        CowFileSystem to = target.getFileSystem().core();
        NioErrors.run(target, () -> {
            to.chown(targetIno, sourceInode.uid(), sourceInode.gid());
            to.setTimes(targetIno, Instant.ofEpochSecond(sourceInode.atimeSeconds(), sourceInode.atimeNanos()),
                    Instant.ofEpochSecond(sourceInode.mtimeSeconds(), sourceInode.mtimeNanos()));
        });
    }

    // ------------------------------------------------------------------ move

    static void move(CowPath source, CowPath target, CopyOption... copyOptions) throws IOException {
        Options options = Options.parse(copyOptions, true);
        if (source.getFileSystem() != target.getFileSystem()) {
            moveBetweenImages(source, target, options);
            return;
        }
        Namespace namespace = source.getFileSystem().namespace();
        if (options.atomicMove) {
            namespace.rename(source, target, options.replaceExisting ? RenameMode.REPLACE : RenameMode.NOREPLACE);
            return;
        }
        Inode sourceInode = namespace.stat(source, false);
        Inode targetInode = namespace.statIfExists(target, false);
        if (targetInode == null) {
            namespace.rename(source, target, RenameMode.NOREPLACE);
            return;
        }
        if (targetInode.ino() == sourceInode.ino()) {
            return; // one file: nothing to do
        }
        if (!options.replaceExisting) {
            throw new FileAlreadyExistsException(target.toString());
        }
        if (sourceInode.isDirectory() == targetInode.isDirectory()) {
            namespace.rename(source, target, RenameMode.REPLACE); // one step: the target is never missing
        } else {
            // rename(2) refuses a directory replacing a file and the reverse: the target goes first, once the
            // rename is known to be possible otherwise (never a directory into its own subtree)
            if (sourceInode.isDirectory()) {
                namespace.requireNotWithin(target, sourceInode.ino(), source);
            }
            namespace.delete(target);
            namespace.rename(source, target, RenameMode.NOREPLACE);
        }
    }

    /** A copy with attributes (never following links) and a delete; a non-empty directory cannot go. */
    private static void moveBetweenImages(CowPath source, CowPath target, Options options) throws IOException {
        if (options.atomicMove) {
            throw new AtomicMoveNotSupportedException(source.toString(), target.toString(),
                    "the paths are in different cowfs images");
        }
        Namespace from = source.getFileSystem().namespace();
        Inode sourceInode = from.stat(source, false);
        if (sourceInode.isDirectory() && !from.isEmptyDirectory(sourceInode.ino(), source)) {
            throw new DirectoryNotEmptyException(source.toString());
        }
        copy(source, target, options.replaceExisting, true, false);
        try {
            from.delete(source);
        } catch (IOException | RuntimeException e) {
            deleteAfterFailure(target, e);
            throw e;
        }
    }

    // ------------------------------------------------------------------ helpers

    /** Removes a half-made target; a failure to do so is added to the failure that caused it. */
    private static void deleteAfterFailure(CowPath target, Exception cause) {
        try {
            target.getFileSystem().namespace().delete(target);
        } catch (IOException | RuntimeException e) {
            cause.addSuppressed(e);
        }
    }

    /** The next data offset at or after {@code offset}, or -1 when only a hole follows (ENXIO). */
    private static long seekData(CowFileSystem core, long ino, long offset, CowPath path) throws IOException {
        try {
            return core.seekData(ino, offset);
        } catch (FsException e) {
            if (e.errno() == Errno.ENXIO) {
                return -1;
            }
            throw NioErrors.translate(e, path);
        }
    }
}
