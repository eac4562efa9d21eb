package dev.cowfs.tools;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The control channel of an image held open by a process ({@code cowfs serve}, later the mount): a Unix domain
 * socket beside the image, {@code IMAGE.sock}, mode 0600. A caller sends one request (its command line and
 * working directory); the holder runs the command on the filesystem it has open and streams back the
 * command's standard output and error, then its exit code. Docs: ARCHITECTURE.md, "Control channel".
 *
 * <p>Every message is a frame: a type byte, a 4-byte big-endian payload length, the payload. Lengths are
 * checked against {@link #MAX_FRAME_BYTES} before anything is allocated.
 */
final class Channel {
    private Channel() {
    }

    /** Protocol version carried in every request; a holder refuses other versions. */
    static final int VERSION = 2;
    /** Largest payload either side accepts. */
    static final int MAX_FRAME_BYTES = 1 << 20;
    /** Largest number of arguments in a request. */
    static final int MAX_ARGUMENTS = 4096;

    /**
     * Caller to holder: version u32, working directory, terminal columns u32 (0: none), flags u8 (bit 0: debug,
     * bit 1: standard output is a terminal, bit 2: standard input is a terminal), arguments.
     */
    static final byte REQUEST = 'R';
    /** Holder to caller: bytes for standard output. */
    static final byte OUT = 'O';
    /** Holder to caller: bytes for standard error. */
    static final byte ERR = 'E';
    /** Holder to caller (no payload): the command reads standard input; the caller starts sending it. */
    static final byte WANT_INPUT = 'W';
    /** Caller to holder: bytes of the caller's standard input; an empty payload marks its end. */
    static final byte INPUT = 'I';
    /** Holder to caller: the exit code (u32); the last frame. */
    static final byte EXIT = 'X';

    static Path socketOf(Path image) {
        Path absolute = image.toAbsolutePath().normalize();
        return absolute.resolveSibling(absolute.getFileName() + ".sock");
    }

    /** Thrown where a command meets an image another process holds and serves: the run goes there instead. */
    static final class HeldElsewhere extends RuntimeException {
        final Path socket;

        HeldElsewhere(Path socket) {
            super("held by another process, serving " + socket, null, false, false);
            this.socket = socket;
        }
    }

    record Request(String workingDirectory, int terminalColumns, boolean debug, boolean outputTerminal,
                   boolean inputTerminal, List<String> arguments) {
        byte[] encode() throws IOException {
            var bytes = new java.io.ByteArrayOutputStream();
            DataOutputStream out = new DataOutputStream(bytes);
            out.writeInt(VERSION);
            writeString(out, workingDirectory);
            out.writeInt(terminalColumns);
            out.writeByte((debug ? 1 : 0) | (outputTerminal ? 2 : 0) | (inputTerminal ? 4 : 0));
            out.writeInt(arguments.size());
            for (String argument : arguments) {
                writeString(out, argument);
            }
            return bytes.toByteArray();
        }

        static Request decode(byte[] payload) throws IOException {
            DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(payload));
            int version = in.readInt();
            if (version != VERSION) {
                throw new IOException("request of protocol version " + version + "; this holder speaks " + VERSION);
            }
            String workingDirectory = readString(in);
            int columns = in.readInt();
            int flags = in.readByte();
            boolean debug = (flags & 1) != 0;
            boolean outputTerminal = (flags & 2) != 0;
            boolean inputTerminal = (flags & 4) != 0;
            int count = in.readInt();
            if (count < 0 || count > MAX_ARGUMENTS) {
                throw new IOException("request with " + count + " arguments (at most " + MAX_ARGUMENTS + ")");
            }
            List<String> arguments = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                arguments.add(readString(in));
            }
            if (in.available() != 0) {
                throw new IOException("request with " + in.available() + " bytes past its end");
            }
            return new Request(workingDirectory, Math.max(0, columns), debug, outputTerminal, inputTerminal,
                    arguments);
        }
    }

    static void writeFrame(DataOutputStream out, byte type, byte[] payload, int offset, int length)
            throws IOException {
        out.writeByte(type);
        out.writeInt(length);
        out.write(payload, offset, length);
    }

    /** A frame read from the peer. */
    record Frame(byte type, byte[] payload) {
    }

    /** The next frame, or null at a clean end of stream before a frame starts. */
    static Frame readFrame(DataInputStream in) throws IOException {
        int type = in.read();
        if (type < 0) {
            return null;
        }
        int length = in.readInt();
        if (length < 0 || length > MAX_FRAME_BYTES) {
            throw new IOException("frame of " + length + " bytes (at most " + MAX_FRAME_BYTES + ")");
        }
        byte[] payload = new byte[length];
        in.readFully(payload);
        return new Frame((byte) type, payload);
    }

    private static void writeString(DataOutputStream out, String text) throws IOException {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        out.writeInt(bytes.length);
        out.write(bytes);
    }

    private static String readString(DataInputStream in) throws IOException {
        int length = in.readInt();
        if (length < 0 || length > in.available()) {
            throw new EOFException("string of " + length + " bytes past the end of the request");
        }
        byte[] bytes = new byte[length];
        in.readFully(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
