package dev.cowfs.fs;

import java.io.IOException;

/** A filesystem operation refused or failed with a POSIX error: {@link #errno()} says which. */
public class FsException extends IOException {
    private final Errno errno;

    public FsException(Errno errno, String message) {
        super(message + " (" + errno.name() + ": " + errno.description() + ")");
        this.errno = errno;
    }

    public FsException(Errno errno, String message, Throwable cause) {
        this(errno, message);
        initCause(cause);
    }

    public Errno errno() {
        return errno;
    }
}
