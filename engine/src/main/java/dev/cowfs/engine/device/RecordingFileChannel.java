package dev.cowfs.engine.device;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A layer beneath the file device's I/O that records what the device asks of its image file, in the
 * {@link SimulatedDevice}'s own terms, while passing every call through to the real file: each positional write
 * (with its bytes), each {@code force} (a barrier: what the host makes durable), each truncation. {@link CrashStates} rebuilds from that record the images a power loss
 * could leave, so the crash harness judges the code every user runs ({@link MappedFileDevice}: its writes, its
 * growth, its fdatasync) and not only the simulated device. The file itself stays what the device made it: reads
 * through the mapping or the channel see every write, as on a host whose page cache holds them.
 *
 * <p>Only what the device uses is recorded; a way of writing it does not use (relative writes, transfers, a
 * mapping for writing) is refused rather than passed through unrecorded.
 */
public final class RecordingFileChannel extends FileChannel {
    private final FileChannel file;
    private final List<SimulatedDevice.Op> log = new ArrayList<>();
    private boolean recording = true;
    private boolean dropBarriers;

    public RecordingFileChannel(FileChannel file) {
        this.file = file;
    }

    /** What was recorded so far, in order. */
    public synchronized List<SimulatedDevice.Op> log() {
        return Collections.unmodifiableList(new ArrayList<>(log));
    }

    public synchronized void clearLog() {
        log.clear();
    }

    public synchronized void setRecording(boolean recording) {
        this.recording = recording;
    }

    /** A point of interest in the record (the device's markers: "commit 12 acknowledged"). */
    public synchronized void marker(String label) {
        if (recording) {
            log.add(new SimulatedDevice.Marker(log.size(), label));
        }
    }

    /**
     * For the harness's self-test: every {@code force} the device asks for returns without reaching the file or
     * the record, as if the device had lost its fdatasync.
     */
    public synchronized void dropBarriersForTesting(boolean drop) {
        this.dropBarriers = drop;
    }

    @Override
    public int write(ByteBuffer src, long position) throws IOException {
        int start = src.position();
        int written = file.write(src, position);
        if (written > 0) {
            byte[] bytes = new byte[written];
            src.get(start, bytes);
            record(position, bytes);
        }
        return written;
    }

    private synchronized void record(long position, byte[] bytes) {
        if (recording) {
            log.add(new SimulatedDevice.Write(log.size(), position, bytes));
        }
    }

    @Override
    public void force(boolean metaData) throws IOException {
        synchronized (this) {
            if (dropBarriers) {
                return;
            }
        }
        file.force(metaData);
        synchronized (this) {
            if (recording) {
                log.add(new SimulatedDevice.Barrier(log.size()));
            }
        }
    }

    @Override
    public FileChannel truncate(long size) throws IOException {
        long before = file.size();
        file.truncate(size);
        if (size < before) {
            synchronized (this) {
                if (recording) {
                    // Durable at the next force, like a write; the device forces before and after a cut.
                    log.add(new SimulatedDevice.Shrink(log.size(), size));
                }
            }
        }
        return this;
    }

    @Override
    public int read(ByteBuffer dst, long position) throws IOException {
        return file.read(dst, position);
    }

    @Override
    public long size() throws IOException {
        return file.size();
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        return file.read(dst);
    }

    @Override
    public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
        return file.read(dsts, offset, length);
    }

    @Override
    public long position() throws IOException {
        return file.position();
    }

    @Override
    public FileChannel position(long newPosition) throws IOException {
        file.position(newPosition);
        return this;
    }

    @Override
    public long transferTo(long position, long count, WritableByteChannel target) throws IOException {
        return file.transferTo(position, count, target);
    }

    @Override
    public int write(ByteBuffer src) {
        throw unrecorded("relative write");
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) {
        throw unrecorded("gathering write");
    }

    @Override
    public long transferFrom(ReadableByteChannel src, long position, long count) {
        throw unrecorded("transfer into the file");
    }

    @Override
    public MappedByteBuffer map(MapMode mode, long position, long size) throws IOException {
        if (mode != MapMode.READ_ONLY) {
            throw unrecorded("writable mapping");
        }
        return file.map(mode, position, size);
    }

    private static UnsupportedOperationException unrecorded(String what) {
        return new UnsupportedOperationException(what + " is not recorded by the crash harness's file layer");
    }

    @Override
    public FileLock lock(long position, long size, boolean shared) throws IOException {
        return file.lock(position, size, shared);
    }

    @Override
    public FileLock tryLock(long position, long size, boolean shared) throws IOException {
        return file.tryLock(position, size, shared);
    }

    @Override
    protected void implCloseChannel() throws IOException {
        file.close();
    }
}
