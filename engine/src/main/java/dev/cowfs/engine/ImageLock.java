package dev.cowfs.engine;

import dev.cowfs.engine.error.ImageLockedException;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Set;
import java.util.HashMap;
import java.util.Map;

/**
 * The single-writer lock: an exclusive lock (shared for read-only opens) on a file beside the image, kept apart
 * from the image itself so that it never collides with locks the mapping layer takes while growing the file.
 *
 * <p>POSIX record locks belong to the process and are dropped when any descriptor of the file is closed, so
 * this process opens the lock file at most once: a registry shares one lock between the read-only stores of
 * this process and refuses other opens without touching the file.
 */
final class ImageLock implements AutoCloseable {
    /** Locks this process holds, by lock file. Guarded by itself. */
    private static final Map<Path, Holder> HELD = new HashMap<>();

    private static final class Holder {
        final FileChannel channel;
        final FileLock lock;
        final boolean shared;
        int users = 1;

        Holder(FileChannel channel, FileLock lock, boolean shared) {
            this.channel = channel;
            this.lock = lock;
            this.shared = shared;
        }
    }

    private final Path lockFile;
    private final Holder holder;
    private boolean closed;

    private ImageLock(Path lockFile, Holder holder) {
        this.lockFile = lockFile;
        this.holder = holder;
    }

    /**
     * Makes the lock file if it is missing, readable and writable by whom the image is (owner only for a new image),
     * so that a user who may read the image may also take the shared lock, and nobody else.
     */
    private static void createLike(Path lockFile, Path image) throws IOException {
        if (Files.exists(lockFile)) {
            return;
        }
        Set<PosixFilePermission> permissions = EnumSet.of(PosixFilePermission.OWNER_READ,
                PosixFilePermission.OWNER_WRITE);
        if (Files.exists(image)) {
            permissions.addAll(Files.getPosixFilePermissions(image));
            permissions.removeAll(EnumSet.of(PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.GROUP_EXECUTE,
                    PosixFilePermission.OTHERS_EXECUTE));
        }
        try {
            Files.createFile(lockFile, PosixFilePermissions.asFileAttribute(permissions));
        } catch (FileAlreadyExistsException raced) {
            // another process made it meanwhile
        }
    }

    static Path lockFileOf(Path image) {
        return image.toAbsolutePath().normalize().resolveSibling(image.getFileName() + ".lock");
    }

    static ImageLock acquire(Path image, boolean shared) throws IOException {
        Path lockFile = lockFileOf(image);
        synchronized (HELD) {
            Holder held = HELD.get(lockFile);
            if (held != null) {
                if (shared && held.shared) {
                    held.users++;
                    return new ImageLock(lockFile, held);
                }
                throw new ImageLockedException(image + " is already open " + (held.shared ? "read-only" : "for writing")
                        + " in this process; close that store first");
            }
            FileChannel channel;
            try {
                createLike(lockFile, image);
                channel = shared ? FileChannel.open(lockFile, StandardOpenOption.READ)
                        : FileChannel.open(lockFile, StandardOpenOption.READ, StandardOpenOption.WRITE);
            } catch (java.nio.file.AccessDeniedException e) {
                throw new java.nio.file.AccessDeniedException(image.toString(), null, "permission denied: "
                        + (shared ? "reading" : "writing") + " it takes its lock file " + lockFile.getFileName()
                        + ", which this user may not open (images are their owner's alone unless made with "
                        + "cowfs mkfs --mode); ask the owner, or run as root");
            }
            FileLock lock;
            try {
                lock = channel.tryLock(0, Long.MAX_VALUE, shared);
            } catch (IOException | RuntimeException e) {
                channel.close();
                throw e;
            }
            if (lock == null) {
                channel.close();
                throw new ImageLockedException(image + " is open " + (shared ? "for writing " : "")
                        + "by another process; close it there first", true);
            }
            Holder holder = new Holder(channel, lock, shared);
            HELD.put(lockFile, holder);
            return new ImageLock(lockFile, holder);
        }
    }

    @Override
    public void close() throws IOException {
        synchronized (HELD) {
            if (closed) {
                return;
            }
            closed = true;
            if (--holder.users > 0) {
                return;
            }
            HELD.remove(lockFile);
            try {
                holder.lock.release();
            } finally {
                holder.channel.close();
            }
        }
    }
}
