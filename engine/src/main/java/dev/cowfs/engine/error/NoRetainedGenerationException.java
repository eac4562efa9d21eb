package dev.cowfs.engine.error;

import java.io.IOException;

/** The generation asked for is not among those the image keeps superblock copies of. */
public final class NoRetainedGenerationException extends IOException {
    public NoRetainedGenerationException(String message) {
        super(message);
    }
}
