package dev.cowfs.tools;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
import java.util.Set;

/**
 * The tool's entry point. A command on an image another process holds (a mount, {@code cowfs serve}) runs in that
 * process anyway, through its channel; this sends it there before anything else loads: no command model, no
 * engine, so that scripts calling {@code cowfs snapshot create} in a loop pay for a small JVM and the work, not for
 * the tool's start. Everything else, and anything this path is unsure of, goes to {@link Cowfs#main}, which
 * reaches the same channel the same way when the image turns out to be held.
 */
public final class Launcher {
    private Launcher() {
    }

    /** Subcommands that open their image (the first argument that is not an option) through the channel if held. */
    private static final Set<String> IMAGE_COMMANDS = Set.of("info", "ls", "stat", "cat", "mkdir", "rm", "mv", "ln",
            "put", "get", "clone", "du", "send", "receive", "fsck", "scrub");
    /** Command groups whose second word is the subcommand, as {@code snapshot create}. */
    private static final Set<String> IMAGE_GROUPS = Set.of("snapshot", "subvolume");
    private static final Set<String> HELP = Set.of("-h", "--help", "-V", "--version", "help");

    public static void main(String[] args) {
        Path socket = heldImageSocket(args);
        if (socket != null) {
            Integer code = forward(socket, args);
            if (code != null) {
                System.exit(code);
            }
        }
        Cowfs.main(args);
    }

    /**
     * The channel socket of the image the command names, when that image is held (its socket beside it exists);
     * null when the command is not one that opens an image, asks for help, or names no held image.
     */
    static Path heldImageSocket(String[] args) {
        if (args.length < 2 || !(IMAGE_COMMANDS.contains(args[0]) || IMAGE_GROUPS.contains(args[0]))) {
            return null;
        }
        for (String arg : args) {
            if (HELP.contains(arg)) {
                return null;
            }
        }
        int first = IMAGE_GROUPS.contains(args[0]) ? 2 : 1;
        for (int i = first; i < args.length; i++) {
            if (args[i].startsWith("-")) {
                continue; // an option; one that takes a value makes the value look like the image: no socket there
            }
            try {
                Path image = Path.of(args[i]);
                Path socket = Channel.socketOf(image);
                BasicFileAttributes attributes = Files.readAttributes(socket, BasicFileAttributes.class,
                        LinkOption.NOFOLLOW_LINKS);
                return attributes.isOther() && Files.isRegularFile(image) ? socket : null;
            } catch (IOException | RuntimeException e) {
                return null;
            }
        }
        return null;
    }

    /**
     * Runs the command line in the holder; its exit code, or null when the holder could not be reached (a stale
     * socket, another user's holder): the full tool then says why, as it would have.
     */
    private static Integer forward(Path socket, String[] args) {
        String columns = System.getenv("COWFS_TERMINAL_COLUMNS");
        int terminalColumns;
        try {
            terminalColumns = columns == null ? 0 : Math.max(0, Integer.parseInt(columns.trim()));
        } catch (NumberFormatException e) {
            terminalColumns = 0;
        }
        OutputStream out = new FileOutputStream(FileDescriptor.out);
        OutputStream err = new FileOutputStream(FileDescriptor.err);
        java.nio.channels.SocketChannel channel;
        try {
            channel = ChannelClient.connect(socket);
        } catch (IOException | RuntimeException unreachable) {
            return null;
        }
        try {
            return ChannelClient.run(channel, socket, List.of(args), Path.of("").toAbsolutePath(), terminalColumns,
                    List.of(args).contains("--debug"), "1".equals(System.getenv("COWFS_OUTPUT_TERMINAL")),
                    "1".equals(System.getenv("COWFS_INPUT_TERMINAL")), System.in, out, err);
        } catch (IOException | RuntimeException e) {
            System.err.println("cowfs: channel: " + Cowfs.messageOf(e));
            return Cowfs.exitCodeOf(e).code;
        }
    }
}
