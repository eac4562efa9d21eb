package dev.cowfs.fuse;

import com.kenai.jffi.MemoryIO;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * One receiving thread's two buffers in native memory: the request read from the device (header, arguments and,
 * for a write, the data) and the reply being built (header, then the answer; for a read the data goes straight
 * from the image into it). Each is one read or one write of the device. Fields are read and written at absolute
 * offsets, little-endian.
 */
final class FuseMessage {
    private static final MemoryIO MEMORY = MemoryIO.getInstance();

    final Pointer requestMemory;
    final ByteBuffer request;
    final Pointer replyMemory;
    /** Where the reply is built: {@link #replyMemory}'s buffer, or one the io_uring queues lend for one answer. */
    ByteBuffer reply;
    /**
     * A write's data when it arrived apart from the request (in an io_uring entry's payload buffer, read in place),
     * and the argument offset it stands at; null when the request holds it.
     */
    private ByteBuffer data;
    private int dataAt;
    /** How a receiving thread answers large reads without copying them, or null (see {@link ReplySplice}). */
    ReplySplice splice;
    /** The length of the request read, and where the operation's arguments start. */
    int length;
    /** The end of the reply so far. */
    int replyEnd;

    FuseMessage(int requestBytes, int replyBytes) {
        requestMemory = Memory.allocateDirect(KernelChannel.LIBC_RUNTIME, requestBytes, true);
        request = MEMORY.newDirectByteBuffer(requestMemory.address(), requestBytes).order(ByteOrder.LITTLE_ENDIAN);
        replyMemory = Memory.allocateDirect(KernelChannel.LIBC_RUNTIME, replyBytes, true);
        reply = MEMORY.newDirectByteBuffer(replyMemory.address(), replyBytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * For the next request and answer: the data from argument offset {@code at} is {@code data} (null: in the
     * request), and the reply is built in {@code into} (its first bytes the header).
     */
    void lend(ByteBuffer data, int at, ByteBuffer into) {
        this.data = data;
        this.dataAt = at;
        this.reply = into;
    }

    // ------------------------------------------------------------------ the request

    int opcode() {
        return request.getInt(FuseProtocol.IN_OPCODE);
    }

    long unique() {
        return request.getLong(FuseProtocol.IN_UNIQUE);
    }

    long nodeId() {
        return request.getLong(FuseProtocol.IN_NODEID);
    }

    int uid() {
        return request.getInt(FuseProtocol.IN_UID);
    }

    int gid() {
        return request.getInt(FuseProtocol.IN_GID);
    }

    int pid() {
        return request.getInt(FuseProtocol.IN_PID);
    }

    /** A 32-bit argument at {@code offset} bytes after the header. */
    int argInt(int offset) {
        return request.getInt(FuseProtocol.IN_HEADER_SIZE + offset);
    }

    /** A 64-bit argument at {@code offset} bytes after the header. */
    long argLong(int offset) {
        return request.getLong(FuseProtocol.IN_HEADER_SIZE + offset);
    }

    /** The NUL-terminated name starting {@code offset} bytes after the header. */
    String name(int offset) {
        int start = FuseProtocol.IN_HEADER_SIZE + offset;
        int end = start;
        while (end < length && request.get(end) != 0) {
            end++;
        }
        byte[] bytes = new byte[end - start];
        request.get(start, bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /** Where the name starting {@code offset} bytes after the header ends, its NUL included, after the header. */
    int afterName(int offset) {
        int at = FuseProtocol.IN_HEADER_SIZE + offset;
        while (at < length && request.get(at) != 0) {
            at++;
        }
        return at + 1 - FuseProtocol.IN_HEADER_SIZE;
    }

    /** {@code size} bytes starting {@code offset} bytes after the header, as a view (no copy). */
    ByteBuffer argBytes(int offset, int size) {
        if (data != null && offset >= dataAt) {
            return data.slice(offset - dataAt, size).order(ByteOrder.LITTLE_ENDIAN);
        }
        int start = FuseProtocol.IN_HEADER_SIZE + offset;
        return request.slice(start, size).order(ByteOrder.LITTLE_ENDIAN);
    }

    // ------------------------------------------------------------------ the reply

    /** Starts an answer: its arguments go after the header. */
    FuseMessage startReply() {
        replyEnd = FuseProtocol.OUT_HEADER_SIZE;
        return this;
    }

    FuseMessage putInt(int value) {
        reply.putInt(replyEnd, value);
        replyEnd += 4;
        return this;
    }

    FuseMessage putShort(int value) {
        reply.putShort(replyEnd, (short) value);
        replyEnd += 2;
        return this;
    }

    FuseMessage putLong(long value) {
        reply.putLong(replyEnd, value);
        replyEnd += 8;
        return this;
    }

    FuseMessage putBytes(byte[] bytes) {
        reply.put(replyEnd, bytes);
        replyEnd += bytes.length;
        return this;
    }

    FuseMessage zeros(int count) {
        for (int i = 0; i < count; i++) {
            reply.put(replyEnd + i, (byte) 0);
        }
        replyEnd += count;
        return this;
    }

    /** Room left in the reply buffer. */
    int replyRoom() {
        return reply.capacity() - replyEnd;
    }

    /** A view of the reply buffer from its end so far, {@code size} bytes long, to fill in place. */
    ByteBuffer replyTail(int size) {
        return reply.slice(replyEnd, size);
    }

    /** Writes the header of the answer built: its length, the error (0 or a negated errno), the request's id. */
    int finishReply(int error) {
        int end = error == 0 ? replyEnd : FuseProtocol.OUT_HEADER_SIZE;
        reply.putInt(0, end);
        reply.putInt(4, error);
        reply.putLong(8, unique());
        return end;
    }
}
