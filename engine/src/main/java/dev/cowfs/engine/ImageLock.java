package dev.cowfs.engine;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The single-writer lock: an exclusive lock (shared for read-only opens) on a file beside the image, kept apart
 * from the image itself so that it never collides with locks the mapping layer takes while growing the file.
 */
final class ImageLock implements AutoCloseable {
    private final FileChannel channel;
    private final FileLock lock;

    private ImageLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    static Path lockFileOf(Path image) {
        return image.resolveSibling(image.getFileName() + ".lock");
    }

    static ImageLock acquire(Path image, boolean shared) throws IOException {
        Path lockFile = lockFileOf(image);
        FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = channel.tryLock(0, Long.MAX_VALUE, shared);
        } catch (OverlappingFileLockException e) {
            lock = null;
        } catch (IOException e) {
            channel.close();
            throw e;
        }
        if (lock == null) {
            channel.close();
            throw new ImageLockedException(image + " is open " + (shared ? "for writing" : "")
                    + " by another process or store; close it there first");
        }
        return new ImageLock(channel, lock);
    }

    @Override
    public void close() throws IOException {
        try {
            lock.release();
        } finally {
            channel.close();
        }
    }
}
