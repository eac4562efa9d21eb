package dev.cowfs.engine.error;

import java.io.IOException;

/** A write was attempted on a store opened read-only, or one that turned read-only after a failed commit. */
public class ReadOnlyEngineException extends IOException {
    public ReadOnlyEngineException(String message) {
        super(message);
    }

    public ReadOnlyEngineException(String message, Throwable cause) {
        super(message, cause);
    }
}
