package dev.cowfs.fs;

import java.io.IOException;

/**
 * Takes a read as the places its bytes are, for a caller that moves them without copying them through the Java
 * heap (a FUSE reply spliced from the image file): called once, while every writer is held off, so the places stay
 * what they are until it returns.
 */
@FunctionalInterface
public interface ReadPieces {
    /**
     * @param length the read's length in bytes (0 at or past the end of the file)
     * @param pieces {@code count} pairs in file order: a byte offset in the image (or -1 for zeros), a length
     */
    void send(int length, long[] pieces, int count) throws IOException;
}
