package dev.cowfs.tools;

import dev.cowfs.engine.ImageLockedException;

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
                   OutputStream stdout, OutputStream stderr) throws IOException {
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        try (channel) {
            try {
                channel.connect(UnixDomainSocketAddress.of(socket));
            } catch (IOException e) {
                throw new ImageLockedException("the image is held by another process, which does not answer on "
                        + socket + " (" + Cowfs.messageOf(e) + "); try again once it has stopped", true);
            }
            DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Channels.newOutputStream(channel)));
            byte[] request = new Channel.Request(workingDirectory.toString(), terminalColumns, debug, arguments)
                    .encode();
            Channel.writeFrame(out, Channel.REQUEST, request, 0, request.length);
            out.flush();
            DataInputStream in = new DataInputStream(new BufferedInputStream(Channels.newInputStream(channel)));
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
}
