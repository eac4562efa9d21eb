package dev.cowfs.tools;

import dev.cowfs.engine.ReadTransaction;
import dev.cowfs.engine.check.CheckReport;
import dev.cowfs.fs.CowFileSystem;
import dev.cowfs.fs.FsChecker;
import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;

/**
 * The holder's side of the {@link Channel}: answers callers while this process keeps the image open, running
 * each request as a command on the open filesystem. Only root and the user running this process may act
 * (checked with the peer's credentials), and the socket is made mode 0600.
 */
final class ChannelServer implements AutoCloseable {
    /** Longest socket path a Unix domain socket address holds (sun_path less its terminating NUL). */
    static final int MAX_SOCKET_PATH_BYTES = 107;
    private static final int MAX_CONCURRENT_REQUESTS = 8;

    private final Path image;
    private final CowFileSystem fs;
    private final PrintWriter log;
    private final Path socket;
    private final String owner = System.getProperty("user.name");
    private final ExecutorService workers = Executors.newFixedThreadPool(MAX_CONCURRENT_REQUESTS, runnable -> {
        Thread thread = new Thread(runnable, "cowfs-channel");
        thread.setDaemon(true);
        return thread;
    });
    private ServerSocketChannel server;

    ChannelServer(Path image, CowFileSystem fs, PrintWriter log) {
        this.image = image.toAbsolutePath().normalize();
        this.fs = fs;
        this.log = log;
        this.socket = Channel.socketOf(image);
    }

    Path socket() {
        return socket;
    }

    /** Makes the socket. The caller holds the image, so a socket file left by an earlier holder is stale. */
    void bind() throws IOException {
        if (socket.toString().getBytes(StandardCharsets.UTF_8).length > MAX_SOCKET_PATH_BYTES) {
            throw new Cowfs.UsageException("the channel's socket path " + socket + " is longer than "
                    + MAX_SOCKET_PATH_BYTES + " bytes; move the image to a shorter path");
        }
        Files.deleteIfExists(socket);
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
    }

    /** Answers callers until {@link #close}. */
    void run() throws IOException {
        while (true) {
            SocketChannel caller;
            try {
                caller = server.accept();
            } catch (ClosedChannelException stopped) {
                return;
            }
            workers.execute(() -> answer(caller));
        }
    }

    private void answer(SocketChannel caller) {
        try (caller) {
            DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Channels.newOutputStream(caller)));
            FrameStream stdout = new FrameStream(out, Channel.OUT);
            FrameStream stderr = new FrameStream(out, Channel.ERR);
            int code = serve(caller, out, stdout, stderr);
            stdout.flush();
            stderr.flush();
            synchronized (out) {
                out.writeByte(Channel.EXIT);
                out.writeInt(4);
                out.writeInt(code);
                out.flush();
            }
        } catch (IOException e) {
            log("dropped a caller: " + Cowfs.messageOf(e));
        }
    }

    private int serve(SocketChannel caller, DataOutputStream out, FrameStream stdout, FrameStream stderr)
            throws IOException {
        UnixDomainPrincipal peer = caller.getOption(ExtendedSocketOptions.SO_PEERCRED);
        String user = peer.user().getName();
        // The request is read before anything is answered, a refusal too: closing a connection with the caller's
        // bytes unread resets it, and the caller would see a broken pipe instead of the reason.
        DataInputStream in = new DataInputStream(new BufferedInputStream(Channels.newInputStream(caller)));
        Channel.Frame frame = Channel.readFrame(in);
        if (frame == null || frame.type() != Channel.REQUEST) {
            throw new IOException("the caller sent no request");
        }
        if (!user.equals("root") && !user.equals(owner)) {
            log("refused user " + user + " (only root and " + owner + " may act)");
            stderr.write(("cowfs: " + image + ": permission denied: the image is held by user " + owner + ", and only "
                    + (owner.equals("root") ? "root" : "root and " + owner) + " may use it; user " + user
                    + " may not\n").getBytes(StandardCharsets.UTF_8));
            return Cowfs.ExitCode.READ_ONLY.code;
        }
        Channel.Request request = Channel.Request.decode(frame.payload());
        String command = "cowfs " + String.join(" ", request.arguments());
        log(user + ": " + command);
        Invocation invocation = new Invocation(new CallerInput(in, out), stdout, stderr,
                Path.of(request.workingDirectory()), request.terminalColumns(), request.debug(), this::open)
                .outputTerminal(request.outputTerminal()).inputTerminal(request.inputTerminal());
        int code = Cowfs.execute(invocation, request.arguments().toArray(String[]::new));
        fs.awaitChangesPassedOn(); // a program on the mount sees the command's changes once it has ended
        log(user + ": " + command + ": exit " + code);
        return code;
    }

    /** The held image for one command: every command sees the live filesystem; writers commit when done. */
    private Images.Session open(Path requested, boolean writable) throws IOException {
        if (!Files.exists(requested) || !Files.isSameFile(requested, image)) {
            throw new Cowfs.UsageException("this process holds " + image + " only, not " + requested);
        }
        return new Images.Session() {
            @Override
            public CowFileSystem fs() {
                return fs;
            }

            @Override
            public Images.Check check(LongConsumer progress) throws IOException {
                try (ReadTransaction pinned = fs.store().beginRead()) { // the commit checked stays intact
                    CheckReport report = fs.store().check(pinned, progress);
                    List<String> problems = new ArrayList<>(report.problems());
                    problems.addAll(FsChecker.check(pinned));
                    return new Images.Check(report, List.of(), problems);
                }
            }

            @Override
            public void close() throws IOException {
                if (writable) {
                    fs.sync();
                }
            }
        };
    }

    private void log(String line) {
        log.println(java.time.Instant.now() + " " + line);
    }

    /** Stops answering: new callers are refused, and those being answered finish first. */
    @Override
    public void close() throws IOException {
        if (server != null) {
            server.close();
        }
        workers.shutdown();
        try {
            if (!workers.awaitTermination(60, TimeUnit.SECONDS)) {
                log("requests still running after 60 s; stopping without them");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Files.deleteIfExists(socket);
    }

    /**
     * The caller's standard input: asked for on the first read (a {@link Channel#WANT_INPUT} frame), then read
     * from its {@link Channel#INPUT} frames until the empty one that ends it.
     */
    private static final class CallerInput extends java.io.InputStream {
        private final DataInputStream in;
        private final DataOutputStream out;
        private byte[] frame = new byte[0];
        private int position;
        private boolean asked;
        private boolean ended;

        CallerInput(DataInputStream in, DataOutputStream out) {
            this.in = in;
            this.out = out;
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
            while (position == frame.length) {
                if (ended) {
                    return -1;
                }
                if (!asked) {
                    asked = true;
                    synchronized (out) {
                        Channel.writeFrame(out, Channel.WANT_INPUT, new byte[0], 0, 0);
                        out.flush();
                    }
                }
                Channel.Frame next = Channel.readFrame(in);
                if (next == null || next.type() != Channel.INPUT) {
                    throw new IOException("the caller's standard input ended without its end mark (the caller went "
                            + "away?)");
                }
                frame = next.payload();
                position = 0;
                ended = frame.length == 0;
            }
            int n = Math.min(length, frame.length - position);
            System.arraycopy(frame, position, bytes, offset, n);
            position += n;
            return n;
        }
    }

    /** Bytes for the caller's standard output or error, sent as frames of at most 64 KiB. */
    private static final class FrameStream extends OutputStream {
        private final DataOutputStream out;
        private final byte type;
        private final byte[] buffer = new byte[1 << 16];
        private int used;

        FrameStream(DataOutputStream out, byte type) {
            this.out = out;
            this.type = type;
        }

        @Override
        public void write(int b) throws IOException {
            if (used == buffer.length) {
                flush();
            }
            buffer[used++] = (byte) b;
        }

        @Override
        public void write(byte[] bytes, int offset, int length) throws IOException {
            while (length > 0) {
                if (used == buffer.length) {
                    flush();
                }
                int n = Math.min(length, buffer.length - used);
                System.arraycopy(bytes, offset, buffer, used, n);
                used += n;
                offset += n;
                length -= n;
            }
        }

        @Override
        public void flush() throws IOException {
            if (used == 0) {
                return;
            }
            synchronized (out) {
                Channel.writeFrame(out, type, buffer, 0, used);
                out.flush();
            }
            used = 0;
        }
    }
}
