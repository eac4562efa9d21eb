package dev.cowfs.engine.error;

import java.io.IOException;

/** The image uses a format version or incompatible feature this build does not know. */
public class IncompatibleImageException extends IOException {
    public IncompatibleImageException(String message) {
        super(message);
    }
}
