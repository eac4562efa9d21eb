package dev.cowfs.engine;

import java.io.IOException;

/** Another process (or another store in this one) has the image open for writing. */
public class ImageLockedException extends IOException {
    public ImageLockedException(String message) {
        super(message);
    }
}
