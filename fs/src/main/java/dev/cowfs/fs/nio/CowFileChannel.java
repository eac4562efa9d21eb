package dev.cowfs.fs.nio;

import dev.cowfs.fs.CowFileSystem;
import dev.cowfs.fs.FsException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileLock;
import java.nio.channels.NonReadableChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.attribute.FileAttribute;
import java.util.Objects;

/**
 * A channel to one regular file of an image, reading and writing through the engine at the channel's position.
 * The file is held open in the engine from the channel's opening to its closing, so its data outlives its last
 * name until then. With APPEND every write goes to the end of the file; with SYNC or DSYNC every write is made
 * durable (a commit) before it returns. Memory mapping is not offered: file data lives in copy-on-write extents,
 * not at fixed places of a file.
 */
final class CowFileChannel extends java.nio.channels.FileChannel {
    /** Reads and writes move at most this much through one temporary array. */
    private static final int CHUNK_BYTES = 1 << 20;

    private final CowNioFileSystem fileSystem;
    private final CowFileSystem core;
    private final CowPath path;
    private final long ino;
    private final ChannelOptions options;
    private final Object positionLock = new Object();
    /** Guarded by positionLock. */
    private long position;

    private CowFileChannel(CowNioFileSystem fileSystem, CowPath path, long ino, ChannelOptions options) {
        this.fileSystem = fileSystem;
        this.core = fileSystem.core();
        this.path = path;
        this.ino = ino;
        this.options = options;
    }

    /** Opens {@code path} as the options say (see {@link ChannelOptions}). */
    static CowFileChannel open(CowPath path, ChannelOptions options, FileAttribute<?>... attributes)
            throws IOException {
        int permissions = PosixModes.initialPermissions(PosixModes.DEFAULT_FILE_PERMISSIONS, attributes);
        CowNioFileSystem fileSystem = path.getFileSystem();
        long ino = fileSystem.namespace().openRegularFile(path, options, permissions);
        CowFileChannel channel = new CowFileChannel(fileSystem, path, ino, options);
        fileSystem.register(channel);
        return channel;
    }

    // ------------------------------------------------------------------ reading

    @Override
    public int read(ByteBuffer dst) throws IOException {
        checkReadable();
        synchronized (positionLock) {
            int n = readAt(dst, position);
            if (n > 0) {
                position += n;
            }
            return n;
        }
    }

    @Override
    public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
        Objects.checkFromIndexSize(offset, length, dsts.length);
        checkReadable();
        synchronized (positionLock) {
            long total = 0;
            for (int i = offset; i < offset + length; i++) {
                int wanted = dsts[i].remaining();
                int n = readAt(dsts[i], position);
                if (n < 0) {
                    return total == 0 ? -1 : total;
                }
                position += n;
                total += n;
                if (n < wanted) {
                    break;
                }
            }
            return total;
        }
    }

    @Override
    public int read(ByteBuffer dst, long at) throws IOException {
        if (at < 0) {
            throw new IllegalArgumentException("negative position " + at + " reading " + path);
        }
        checkReadable();
        return readAt(dst, at);
    }

    /** Reads from {@code at} into {@code dst}: how many bytes, -1 at or past the end, 0 if dst has no room. */
    private int readAt(ByteBuffer dst, long at) throws IOException {
        int length = Math.min(dst.remaining(), CHUNK_BYTES);
        if (length == 0) {
            return 0;
        }
        int n;
        try {
            if (dst.hasArray()) {
                n = core.read(ino, at, dst.array(), dst.arrayOffset() + dst.position(), length);
                dst.position(dst.position() + n);
            } else {
                byte[] bytes = new byte[length];
                n = core.read(ino, at, bytes, 0, length);
                dst.put(bytes, 0, n);
            }
        } catch (FsException e) {
            throw NioErrors.translate(e, path);
        }
        return n == 0 ? -1 : n;
    }

    // ------------------------------------------------------------------ writing

    @Override
    public int write(ByteBuffer src) throws IOException {
        checkWritable();
        synchronized (positionLock) {
            if (options.append()) {
                position = size();
            }
            int n = writeAt(src, position);
            position += n;
            return n;
        }
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        Objects.checkFromIndexSize(offset, length, srcs.length);
        checkWritable();
        long total = 0;
        for (int i = offset; i < offset + length; i++) {
            total += write(srcs[i]);
        }
        return total;
    }

    @Override
    public int write(ByteBuffer src, long at) throws IOException {
        if (at < 0) {
            throw new IllegalArgumentException("negative position " + at + " writing " + path);
        }
        checkWritable();
        return writeAt(src, at);
    }

    /** Writes all of {@code src} at {@code at}; with SYNC/DSYNC, durably. */
    private int writeAt(ByteBuffer src, long at) throws IOException {
        int total = src.remaining();
        try {
            int written = 0;
            while (written < total) {
                int length = Math.min(total - written, CHUNK_BYTES);
                if (src.hasArray()) {
                    core.write(ino, at + written, src.array(), src.arrayOffset() + src.position(), length);
                    src.position(src.position() + length);
                } else {
                    byte[] bytes = new byte[length];
                    src.get(bytes);
                    core.write(ino, at + written, bytes, 0, length);
                }
                written += length;
            }
            if (options.sync() && total > 0) {
                core.fsync(ino);
            }
        } catch (FsException e) {
            throw NioErrors.translate(e, path);
        }
        return total;
    }

    // ------------------------------------------------------------------ position and size

    @Override
    public long position() throws IOException {
        ensureOpen();
        synchronized (positionLock) {
            return position;
        }
    }

    @Override
    public CowFileChannel position(long newPosition) throws IOException {
        if (newPosition < 0) {
            throw new IllegalArgumentException("negative position " + newPosition + " for " + path);
        }
        ensureOpen();
        synchronized (positionLock) {
            position = newPosition;
        }
        return this;
    }

    @Override
    public long size() throws IOException {
        ensureOpen();
        try {
            return core.stat(ino).size();
        } catch (FsException e) {
            throw NioErrors.translate(e, path);
        }
    }

    /** Cuts the file to {@code size} if it is longer (a longer size changes nothing), and the position with it. */
    @Override
    public CowFileChannel truncate(long size) throws IOException {
        if (size < 0) {
            throw new IllegalArgumentException("negative size " + size + " for " + path);
        }
        checkWritable();
        synchronized (positionLock) {
            try {
                if (size < size()) {
                    core.truncate(ino, size);
                    if (options.sync()) {
                        core.fsync(ino);
                    }
                }
            } catch (FsException e) {
                throw NioErrors.translate(e, path);
            }
            position = Math.min(position, size);
        }
        return this;
    }

    /** Makes the file durable; today the engine commits everything for it. */
    @Override
    public void force(boolean metaData) throws IOException {
        ensureOpen();
        try {
            core.fsync(ino);
        } catch (FsException e) {
            throw NioErrors.translate(e, path);
        }
    }

    // ------------------------------------------------------------------ transfers

    @Override
    public long transferTo(long at, long count, WritableByteChannel target) throws IOException {
        if (at < 0 || count < 0) {
            throw new IllegalArgumentException("negative position or count transferring from " + path);
        }
        checkReadable();
        long total = 0;
        ByteBuffer buffer = ByteBuffer.allocate((int) Math.min(CHUNK_BYTES, Math.max(count, 1)));
        while (total < count) {
            buffer.clear().limit((int) Math.min(buffer.capacity(), count - total));
            int n = readAt(buffer, at + total);
            if (n <= 0) {
                break;
            }
            buffer.flip();
            int written = target.write(buffer);
            total += written;
            if (written < n) {
                break; // a non-blocking target took less: stop where it stopped
            }
        }
        return total;
    }

    @Override
    public long transferFrom(ReadableByteChannel source, long at, long count) throws IOException {
        if (at < 0 || count < 0) {
            throw new IllegalArgumentException("negative position or count transferring into " + path);
        }
        checkWritable();
        if (at > size()) {
            return 0;
        }
        long total = 0;
        ByteBuffer buffer = ByteBuffer.allocate((int) Math.min(CHUNK_BYTES, Math.max(count, 1)));
        while (total < count) {
            buffer.clear().limit((int) Math.min(buffer.capacity(), count - total));
            int n = source.read(buffer);
            if (n <= 0) {
                break;
            }
            buffer.flip();
            total += writeAt(buffer, at + total);
        }
        return total;
    }

    @Override
    public MappedByteBuffer map(MapMode mode, long at, long size) {
        throw new UnsupportedOperationException("cowfs files cannot be memory-mapped: " + path);
    }

    // ------------------------------------------------------------------ locks

    @Override
    public FileLock lock(long at, long size, boolean shared) throws IOException {
        return tryLock(at, size, shared);
    }

    /** Never waits: within one JVM an overlapping request fails at once, which is all a request can meet. */
    @Override
    public FileLock tryLock(long at, long size, boolean shared) throws IOException {
        if (at < 0 || size < 0 || at + size < 0) {
            throw new IllegalArgumentException("bad lock range [" + at + ", +" + size + ") for " + path);
        }
        ensureOpen();
        if (shared && !options.read()) {
            throw new NonReadableChannelException();
        }
        if (!shared && !options.write()) {
            throw new NonWritableChannelException();
        }
        return fileSystem.locks().lock(this, ino, at, size, shared);
    }

    // ------------------------------------------------------------------ closing

    @Override
    protected void implCloseChannel() throws IOException {
        fileSystem.locks().releaseAll(this, ino);
        fileSystem.unregister(this);
        try {
            core.release(ino);
        } catch (FsException e) {
            throw NioErrors.translate(e, path);
        }
    }

    private void ensureOpen() throws ClosedChannelException {
        if (!isOpen()) {
            throw new ClosedChannelException();
        }
    }

    private void checkReadable() throws ClosedChannelException {
        ensureOpen();
        if (!options.read()) {
            throw new NonReadableChannelException();
        }
    }

    private void checkWritable() throws ClosedChannelException {
        ensureOpen();
        if (!options.write()) {
            throw new NonWritableChannelException();
        }
    }

    @Override
    public String toString() {
        return "cowfs channel to " + path;
    }
}
