package dev.cowfs.tools;

import dev.cowfs.engine.error.ImageLockedException;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.List;

/** The caller's side of the {@link Channel}: runs a whole command line in the process that holds the image. */
final class ChannelClient {
    private ChannelClient() {
    }

    /**
     * Sends the command line to the holder listening on {@code socket}, copies what it prints to this
     * process's streams, and returns its exit code.
     */
    static int run(Path socket, List<String> arguments, Path workingDirectory, int terminalColumns, boolean debug,
                   boolean outputTerminal, boolean inputTerminal, java.io.InputStream stdin, OutputStream stdout,
                   OutputStream stderr)
            throws IOException {
        return run(connect(socket), socket, arguments, workingDirectory, terminalColumns, debug, outputTerminal,
                inputTerminal, stdin, stdout, stderr);
    }

    /** A connection to the holder; why there is none otherwise (another user's holder, a holder that is gone). */
    static SocketChannel connect(Path socket) throws IOException {
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            channel.connect(UnixDomainSocketAddress.of(socket));
            return channel;
        } catch (IOException e) {
            channel.close();
            if (String.valueOf(e.getMessage()).contains("Permission denied")) {
                throw new java.nio.file.AccessDeniedException(socket.toString(), null, "permission denied: "
                        + "the image is held by user " + ownerOf(socket) + ", and only root and that user may "
                        + "use it");
            }
            throw new ImageLockedException("the image is held by another process, which does not answer on "
                    + socket + " (" + Cowfs.messageOf(e) + "); try again once it has stopped", true);
        }
    }

    /** {@link #run(Path, List, Path, int, boolean, boolean, boolean, java.io.InputStream, OutputStream,
     * OutputStream)} over a connection made. */
    static int run(SocketChannel channel, Path socket, List<String> arguments, Path workingDirectory,
                   int terminalColumns, boolean debug, boolean outputTerminal, boolean inputTerminal,
                   java.io.InputStream stdin, OutputStream stdout, OutputStream stderr) throws IOException {
        try (channel) {
            // Written with the channel's own write, not Channels.newOutputStream: that stream takes the lock a
            // blocking read holds, and standard input is sent while the reply is being read.
            OutputStream socketOut = new OutputStream() {
                @Override
                public void write(int b) throws IOException {
                    write(new byte[] {(byte) b}, 0, 1);
                }

                @Override
                public void write(byte[] bytes, int offset, int length) throws IOException {
                    ByteBuffer buffer = ByteBuffer.wrap(bytes, offset, length);
                    while (buffer.hasRemaining()) {
                        channel.write(buffer);
                    }
                }
            };
            DataOutputStream out = new DataOutputStream(new BufferedOutputStream(socketOut));
            byte[] request = new Channel.Request(workingDirectory.toString(), terminalColumns, debug, outputTerminal,
                    inputTerminal, arguments)
                    .encode();
            try {
                Channel.writeFrame(out, Channel.REQUEST, request, 0, request.length);
                out.flush();
            } catch (IOException e) {
                // The holder may answer before it has read everything (a refusal): its answer is what to report.
            }
            DataInputStream in = new DataInputStream(new BufferedInputStream(Channels.newInputStream(channel)));
            Thread pump = null;
            while (true) {
                Channel.Frame frame = Channel.readFrame(in);
                if (frame == null) {
                    throw new IOException("the holder of the image closed its channel " + socket
                            + " before the command finished; its outcome is unknown (check with cowfs ls or info)");
                }
                switch (frame.type()) {
                    case Channel.OUT -> {
                        stdout.write(frame.payload());
                        stdout.flush();
                    }
                    case Channel.ERR -> {
                        stderr.write(frame.payload());
                        stderr.flush();
                    }
                    case Channel.WANT_INPUT -> {
                        if (pump == null) {
                            pump = new Thread(() -> sendInput(stdin, out, channel), "cowfs-stdin");
                            pump.setDaemon(true);
                            pump.start();
                        }
                    }
                    case Channel.EXIT -> {
                        if (frame.payload().length != 4) {
                            throw new IOException("the holder sent a malformed exit frame on " + socket);
                        }
                        return ByteBuffer.wrap(frame.payload()).getInt();
                    }
                    default -> throw new IOException("the holder sent an unknown frame type " + frame.type()
                            + " on " + socket);
                }
            }
        }
    }

    private static String ownerOf(Path socket) {
        try {
            return java.nio.file.Files.getOwner(socket).getName();
        } catch (IOException e) {
            return "(unknown)";
        }
    }

    /**
     * Sends standard input to the holder as frames, then the empty frame that ends it. Should the holder stop
     * reading (the command failed), the socket closes and this thread ends.
     */
    private static void sendInput(java.io.InputStream stdin, DataOutputStream out, SocketChannel channel) {
        byte[] buffer = new byte[1 << 16];
        try {
            for (int n; (n = stdin.read(buffer)) >= 0; ) {
                if (n > 0) {
                    Channel.writeFrame(out, Channel.INPUT, buffer, 0, n);
                    out.flush();
                }
            }
            Channel.writeFrame(out, Channel.INPUT, buffer, 0, 0);
            out.flush();
        } catch (IOException e) {
            // Standard input failed, or the holder has its answer already. Either way the holder must not wait
            // for more: it sees the end of the connection's input and fails the command's read.
            try {
                channel.shutdownOutput();
            } catch (IOException ignored) {
                // the connection is gone already
            }
        }
    }
}
