package dev.cowfs.fs.nio;

import dev.cowfs.fs.CowFileSystem;
import dev.cowfs.fs.DirEntry;
import dev.cowfs.fs.FsException;
import dev.cowfs.fs.Inode;

import java.io.IOException;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * The entries of one directory, read in batches through readdir positions (which the engine never reuses, so
 * entries added or removed while iterating never make another entry appear twice or go missing; a removed entry
 * may still be listed if its batch was read before, as POSIX readdir allows). The directory is held open in the
 * engine until the stream closes. One iterator per stream, as the interface requires.
 */
final class CowDirectoryStream implements DirectoryStream<Path> {
    /** Entries read from the engine at a time. */
    static final int BATCH_ENTRIES = 256;

    private final CowNioFileSystem fileSystem;
    private final CowFileSystem core;
    private final CowPath directory;
    private final long ino;
    private final Filter<? super Path> filter;
    /** Guarded by this. */
    private boolean closed;
    /** Guarded by this. */
    private boolean iteratorReturned;

    private CowDirectoryStream(CowNioFileSystem fileSystem, CowPath directory, long ino,
                               Filter<? super Path> filter) {
        this.fileSystem = fileSystem;
        this.core = fileSystem.core();
        this.directory = directory;
        this.ino = ino;
        this.filter = filter;
    }

    /** Opens the directory {@code path} names (following a link to one); otherwise NotDirectoryException. */
    static CowDirectoryStream open(CowPath path, Filter<? super Path> filter) throws IOException {
        CowNioFileSystem fileSystem = path.getFileSystem();
        CowFileSystem core = fileSystem.core();
        try {
            long ino = core.resolve(path.toAbsolutePath().toString(), true);
            Inode inode = core.stat(ino);
            if (!inode.isDirectory()) {
                throw new NotDirectoryException(path.toString());
            }
            core.open(ino);
            CowDirectoryStream stream = new CowDirectoryStream(fileSystem, path, ino, filter);
            fileSystem.register(stream);
            return stream;
        } catch (FsException e) {
            throw NioErrors.translateDirectoryOpen(e, path);
        }
    }

    @Override
    public synchronized Iterator<Path> iterator() {
        if (closed) {
            throw new IllegalStateException("directory stream of " + directory + " is closed");
        }
        if (iteratorReturned) {
            throw new IllegalStateException("directory stream of " + directory + " already gave its iterator");
        }
        iteratorReturned = true;
        return new EntryIterator();
    }

    @Override
    public void close() throws IOException {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        fileSystem.unregister(this);
        try {
            core.release(ino);
        } catch (FsException e) {
            throw NioErrors.translate(e, directory);
        }
    }

    private synchronized boolean isClosed() {
        return closed;
    }

    /** Reads a batch when the last is used up; ends when the stream closes or the directory has no more. */
    private final class EntryIterator implements Iterator<Path> {
        private final Deque<DirEntry> batch = new ArrayDeque<>();
        private long nextPosition;
        private boolean exhausted;
        private Path next;

        @Override
        public boolean hasNext() {
            while (next == null && !isClosed()) {
                if (batch.isEmpty() && !readBatch()) {
                    return false;
                }
                Path candidate = directory.resolve(batch.pollFirst().name());
                try {
                    if (filter == null || filter.accept(candidate)) {
                        next = candidate;
                    }
                } catch (IOException e) {
                    throw new DirectoryIteratorException(e);
                }
            }
            return next != null;
        }

        @Override
        public Path next() {
            if (!hasNext()) {
                throw new NoSuchElementException("no more entries in " + directory);
            }
            Path result = next;
            next = null;
            return result;
        }

        private boolean readBatch() {
            if (exhausted) {
                return false;
            }
            try {
                batch.addAll(core.readdir(ino, nextPosition, BATCH_ENTRIES));
            } catch (FsException e) {
                throw new DirectoryIteratorException(NioErrors.translate(e, directory));
            } catch (IOException e) {
                throw new DirectoryIteratorException(e);
            }
            if (batch.isEmpty()) {
                exhausted = true;
                return false;
            }
            nextPosition = batch.peekLast().nextPosition();
            return true;
        }
    }
}
