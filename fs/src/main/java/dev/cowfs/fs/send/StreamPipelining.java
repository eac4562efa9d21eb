package dev.cowfs.fs.send;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Read-ahead and write-behind for send streams: a thread of its own moves the bytes between the stream and a
 * bounded set of buffers (8 MiB), so that a pipe or a socket keeps flowing while the sender reads extents or
 * the receiver applies records, instead of the two sides taking turns over the pipe's 64 KiB. Without it, a
 * whole snapshot piped between two threads went at two thirds of the speed of the same work handed over in
 * memory.
 */
public final class StreamPipelining {
    static final int CHUNK_BYTES = 256 << 10;
    static final int DEPTH = 32;

    private StreamPipelining() {
    }

    /** A chunk of bytes read ahead: {@code length} -1 marks the end (or the failure) of the stream. */
    private record Chunk(byte[] bytes, int length, IOException error) {
    }

    /**
     * Reads {@code in} ahead on a thread of its own. Closing the result stops reading ahead (it does not close
     * {@code in}); a thread blocked in a read of {@code in} ends when that read returns.
     */
    public static InputStream readAhead(InputStream in) {
        return new ReadAhead(in);
    }

    /**
     * Writes to {@code out} behind the caller, on a thread of its own. {@link OutputStream#flush()} returns once
     * every byte written has reached {@code out} and {@code out} was flushed; {@link OutputStream#close()}
     * flushes and stops the thread (it does not close {@code out}). A failure of {@code out} is thrown by the
     * next write, flush or close.
     */
    public static OutputStream writeBehind(OutputStream out) {
        return new WriteBehind(out);
    }

    private static final class ReadAhead extends InputStream {
        private final BlockingQueue<Chunk> filled = new ArrayBlockingQueue<>(DEPTH + 1);
        private final BlockingQueue<byte[]> free = new ArrayBlockingQueue<>(DEPTH);
        private volatile boolean closed;
        private Chunk current;
        private int position;

        /** Buffers made so far (at most {@link #DEPTH}): a short stream costs no more than it carries. */
        private int made;

        ReadAhead(InputStream in) {
            Thread thread = new Thread(() -> pump(in), "cowfs-read-ahead");
            thread.setDaemon(true);
            thread.start();
        }

        private void pump(InputStream in) {
            Chunk end = new Chunk(null, -1, null);
            try {
                while (!closed) {
                    byte[] buffer = free.poll();
                    if (buffer == null && made < DEPTH) {
                        buffer = new byte[CHUNK_BYTES];
                        made++;
                    } else if (buffer == null) {
                        buffer = free.poll(100, TimeUnit.MILLISECONDS);
                        if (buffer == null) {
                            continue;
                        }
                    }
                    int n = in.readNBytes(buffer, 0, buffer.length);
                    if (n > 0) {
                        filled.put(new Chunk(buffer, n, null));
                    }
                    if (n < buffer.length) {
                        return;
                    }
                }
            } catch (IOException e) {
                end = new Chunk(null, -1, e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                end = new Chunk(null, -1, new InterruptedIOException("reading the send stream ahead was interrupted"));
            } catch (RuntimeException | Error e) {
                end = new Chunk(null, -1, new IOException("reading the send stream ahead failed: " + e, e));
            } finally {
                // Always the last chunk, whatever ended the thread: the reader is never left waiting. There is
                // room: at most DEPTH buffers are out, and the queue holds DEPTH + 1.
                filled.offer(end);
            }
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
        }

        @Override
        public int read(byte[] bytes, int offset, int length) throws IOException {
            if (length == 0) {
                return 0;
            }
            while (current == null || (current.length() >= 0 && position == current.length())) {
                if (current != null) {
                    free.offer(current.bytes());
                }
                try {
                    current = filled.take(); // the pump always queues an end chunk before it stops
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException("interrupted while reading the send stream");
                }
                position = 0;
            }
            if (current.length() < 0) {
                if (current.error() != null) {
                    throw current.error();
                }
                return -1;
            }
            int n = Math.min(length, current.length() - position);
            System.arraycopy(current.bytes(), position, bytes, offset, n);
            position += n;
            return n;
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    private static final class WriteBehind extends OutputStream {
        /** Queued after the bytes written so far: the writer flushes {@code out} and counts the flush done. */
        private static final byte[] FLUSH = new byte[0];
        /** Queued last: the writer ends. */
        private static final byte[] END = new byte[0];

        private final OutputStream out;
        private final BlockingQueue<Chunk> queued = new ArrayBlockingQueue<>(DEPTH + 2);
        private final BlockingQueue<byte[]> free = new ArrayBlockingQueue<>(DEPTH);
        private final java.util.concurrent.Semaphore flushed = new java.util.concurrent.Semaphore(0);
        private final Thread thread;
        private volatile IOException failed;
        private byte[] current;
        private int used;
        private boolean closed;

        /** Buffers made so far (at most {@link #DEPTH}). */
        private int made;

        WriteBehind(OutputStream out) {
            this.out = out;
            thread = new Thread(this::drain, "cowfs-write-behind");
            thread.setDaemon(true);
            thread.start();
        }

        private void drain() {
            try {
                while (true) {
                    Chunk chunk = queued.take();
                    if (chunk.bytes() == END) {
                        return;
                    }
                    try {
                        if (failed == null) {
                            if (chunk.bytes() == FLUSH) {
                                out.flush();
                            } else {
                                out.write(chunk.bytes(), 0, chunk.length());
                            }
                        }
                    } catch (IOException e) {
                        failed = e;
                    } catch (RuntimeException | Error e) {
                        failed = new IOException("writing the send stream failed: " + e, e);
                    }
                    if (chunk.bytes() == FLUSH) {
                        flushed.release();
                    } else {
                        free.offer(chunk.bytes());
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        private void check() throws IOException {
            IOException failure = failed;
            if (failure != null) {
                throw new IOException(failure.getMessage(), failure);
            }
            if (closed) {
                throw new IOException("the stream is closed");
            }
        }

        private void enqueue(Chunk chunk) throws IOException {
            try {
                queued.put(chunk);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while writing the send stream");
            }
        }

        private void pass() throws IOException {
            if (current != null && used > 0) {
                enqueue(new Chunk(current, used, null));
                current = null;
                used = 0;
            }
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] bytes, int offset, int length) throws IOException {
            check();
            while (length > 0) {
                if (current == null && (current = free.poll()) == null && made < DEPTH) {
                    current = new byte[CHUNK_BYTES];
                    made++;
                }
                if (current == null) {
                    try {
                        while ((current = free.poll(100, TimeUnit.MILLISECONDS)) == null) {
                            check();
                            if (!thread.isAlive()) {
                                throw new IOException("the send stream's writer stopped");
                            }
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new InterruptedIOException("interrupted while writing the send stream");
                    }
                }
                int n = Math.min(length, current.length - used);
                System.arraycopy(bytes, offset, current, used, n);
                used += n;
                offset += n;
                length -= n;
                if (used == current.length) {
                    pass();
                }
            }
        }

        @Override
        public void flush() throws IOException {
            check();
            pass();
            enqueue(new Chunk(FLUSH, 0, null));
            try {
                while (!flushed.tryAcquire(100, TimeUnit.MILLISECONDS)) {
                    if (!thread.isAlive()) {
                        throw new IOException("the send stream's writer stopped");
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while writing the send stream");
            }
            check();
        }

        /** Flushes, then stops the writer thread; after a failure, only stops it. */
        @Override
        public void close() throws IOException {
            if (closed) {
                return;
            }
            try {
                if (failed == null) {
                    flush();
                }
            } finally {
                closed = true;
                queued.clear();
                queued.offer(new Chunk(END, 0, null)); // room after clear(), and no wait an interrupt could break
            }
        }
    }
}
