package dev.cowfs.engine.error;

import java.io.IOException;

/** Another process (or another store in this one) has the image open for writing. */
public class ImageLockedException extends IOException {
    private final boolean otherProcess;

    public ImageLockedException(String message) {
        this(message, false);
    }

    public ImageLockedException(String message, boolean otherProcess) {
        super(message);
        this.otherProcess = otherProcess;
    }

    /** Whether another process holds the image (not another store of this process). */
    public boolean otherProcess() {
        return otherProcess;
    }
}
