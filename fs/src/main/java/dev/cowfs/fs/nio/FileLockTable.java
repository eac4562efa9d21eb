package dev.cowfs.fs.nio;

import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The file locks held on the files of one image. An image is open in one process at a time (the engine's
 * image lock refuses a second writer), so the locks this JVM holds are all the locks there are: a request
 * overlapping a lock held through any channel fails with {@link OverlappingFileLockException}, which is what
 * {@link FileChannel#lock} promises for locks held within one JVM.
 */
final class FileLockTable {
    /** Guarded by this. */
    private final Map<Long, List<RangeLock>> locksByInode = new HashMap<>();

    /** A lock of a byte range of one file through one channel. */
    final class RangeLock extends FileLock {
        private final long ino;
        /** Guarded by the table. */
        private boolean valid = true;

        private RangeLock(FileChannel channel, long ino, long position, long size, boolean shared) {
            super(channel, position, size, shared);
            this.ino = ino;
        }

        @Override
        public boolean isValid() {
            synchronized (FileLockTable.this) {
                return valid;
            }
        }

        @Override
        public void release() throws IOException {
            if (!acquiredBy().isOpen()) {
                throw new ClosedChannelException();
            }
            remove(this);
        }
    }

    synchronized FileLock lock(FileChannel channel, long ino, long position, long size, boolean shared) {
        List<RangeLock> held = locksByInode.computeIfAbsent(ino, key -> new ArrayList<>());
        for (RangeLock lock : held) {
            if (lock.overlaps(position, size)) {
                throw new OverlappingFileLockException();
            }
        }
        RangeLock lock = new RangeLock(channel, ino, position, size, shared);
        held.add(lock);
        return lock;
    }

    /** Drops every lock held through {@code channel} (it is closing). */
    synchronized void releaseAll(FileChannel channel, long ino) {
        List<RangeLock> held = locksByInode.get(ino);
        if (held == null) {
            return;
        }
        for (RangeLock lock : List.copyOf(held)) {
            if (lock.acquiredBy() == channel) {
                remove(lock);
            }
        }
    }

    private synchronized void remove(RangeLock lock) {
        if (!lock.valid) {
            return;
        }
        lock.valid = false;
        List<RangeLock> held = locksByInode.get(lock.ino);
        held.remove(lock);
        if (held.isEmpty()) {
            locksByInode.remove(lock.ino);
        }
    }
}
