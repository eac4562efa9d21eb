package dev.cowfs.fs.nio;

import dev.cowfs.fs.Errno;
import dev.cowfs.fs.FsException;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/**
 * Turns the errno of a refused filesystem operation into the {@code java.nio.file} exception the JDK's unix
 * provider throws for it ({@code UnixException.translateToIOException}): ENOENT is a
 * {@link NoSuchFileException}, EEXIST a {@link FileAlreadyExistsException}, EACCES an
 * {@link AccessDeniedException}, ELOOP a {@link FileSystemException} saying so, anything else a
 * {@link FileSystemException} with the path and the error's text. The operations that the JDK maps further
 * (ENOTEMPTY on delete and move, ENOTDIR when opening a directory stream) ask for that here by name.
 *
 * <p>Every exception names the path (and the other path of a two-path operation) and keeps the engine's own
 * message, with inode numbers, as its cause.
 */
final class NioErrors {
    private NioErrors() {
    }

    /** The NIO exception for a refusal of an operation on {@code path}. */
    static FileSystemException translate(FsException error, Object path) {
        return translate(error, path, null);
    }

    /** The NIO exception for a refusal of an operation on {@code path} and {@code other} (link, rename). */
    static FileSystemException translate(FsException error, Object path, Object other) {
        String file = path == null ? null : path.toString();
        String otherFile = other == null ? null : other.toString();
        FileSystemException result = switch (error.errno()) {
            case ENOENT -> new NoSuchFileException(file, otherFile, null);
            case EEXIST -> new FileAlreadyExistsException(file, otherFile, null);
            case EACCES -> new AccessDeniedException(file, otherFile, null);
            case ELOOP -> new FileSystemException(file, otherFile,
                    reason(Errno.ELOOP) + " or unable to access attributes of symbolic link");
            default -> new FileSystemException(file, otherFile, reason(error.errno()));
        };
        result.initCause(error);
        return result;
    }

    /** As {@link #translate}, with ENOTEMPTY (and EEXIST, which POSIX allows for it) a non-empty directory. */
    static FileSystemException translateRemoval(FsException error, Object path, Object other) {
        if (error.errno() == Errno.ENOTEMPTY) {
            return withCause(new DirectoryNotEmptyException(String.valueOf(path)), error);
        }
        return translate(error, path, other);
    }

    /** As {@link #translate}, with ENOTDIR a {@link NotDirectoryException} (opening a directory stream). */
    static FileSystemException translateDirectoryOpen(FsException error, Object path) {
        if (error.errno() == Errno.ENOTDIR) {
            return withCause(new NotDirectoryException(String.valueOf(path)), error);
        }
        return translate(error, path);
    }

    /** An engine operation whose refusal {@link #call} translates. */
    interface EngineCall<T> {
        T run() throws IOException;
    }

    /** An engine operation without a result. */
    interface EngineAction {
        void run() throws IOException;
    }

    /** Runs {@code call}; a refusal becomes the NIO exception naming {@code path}. */
    static <T> T call(Object path, EngineCall<T> call) throws IOException {
        try {
            return call.run();
        } catch (FsException e) {
            throw translate(e, path);
        }
    }

    /** Runs {@code action}; a refusal becomes the NIO exception naming {@code path}. */
    static void run(Object path, EngineAction action) throws IOException {
        try {
            action.run();
        } catch (FsException e) {
            throw translate(e, path);
        }
    }

    /** A {@link FileSystemException} for {@code errno} raised by this layer itself (no engine refusal). */
    static FileSystemException of(Errno errno, Object path) {
        return new FileSystemException(String.valueOf(path), null, reason(errno));
    }

    /** The error's text as the C library spells it ("No such file or directory"). */
    static String reason(Errno errno) {
        String description = errno.description();
        return Character.toUpperCase(description.charAt(0)) + description.substring(1);
    }

    private static FileSystemException withCause(FileSystemException exception, Throwable cause) {
        exception.initCause(cause);
        return exception;
    }
}
