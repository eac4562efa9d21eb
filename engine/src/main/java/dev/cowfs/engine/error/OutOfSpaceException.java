package dev.cowfs.engine.error;

import java.io.IOException;

/** The device or image cannot grow to hold what was asked for (ENOSPC). Nothing committed is lost. */
public class OutOfSpaceException extends IOException {
    public OutOfSpaceException(String message) {
        super(message);
    }
}
