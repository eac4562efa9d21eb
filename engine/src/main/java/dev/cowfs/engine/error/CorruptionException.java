package dev.cowfs.engine.error;

import java.io.IOException;

/** Bytes read from the image are not what the structure referring to them promises. Names the block. */
public class CorruptionException extends IOException {
    private final long blockIndex;

    public CorruptionException(long blockIndex, String message) {
        super(blockIndex >= 0 ? "block " + blockIndex + ": " + message : message);
        this.blockIndex = blockIndex;
    }

    /** The block found corrupt, or -1 when the problem is not tied to one block. */
    public long blockIndex() {
        return blockIndex;
    }
}
