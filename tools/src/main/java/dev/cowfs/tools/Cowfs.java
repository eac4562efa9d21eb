package dev.cowfs.tools;

import dev.cowfs.engine.error.CorruptionException;
import dev.cowfs.engine.error.OutOfSpaceException;
import dev.cowfs.fs.Errno;
import dev.cowfs.fs.FsException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;

/**
 * The {@code cowfs} command: one subcommand per task. Every failure is one line on standard error
 * ({@code cowfs: what: why}) and a distinct exit code ({@link ExitCode}); a stack trace only for a bug.
 */
@Command(name = "cowfs", mixinStandardHelpOptions = true, version = "cowfs 0.1.0",
        description = "Copy-on-write filesystem images: make, inspect, copy in and out, snapshot, check.",
        subcommands = {Commands.Mkfs.class, Commands.Info.class, Commands.Ls.class, FileCommands.Stat.class,
                Commands.Cat.class, Commands.Mkdir.class, FileCommands.Rm.class, FileCommands.Mv.class,
                FileCommands.Ln.class, PutCommand.class, FileCommands.Get.class, FileCommands.Clone.class,
                FileCommands.Du.class, SubvolumeCommands.class, SnapshotCommands.class, SendCommands.Send.class,
                SendCommands.Receive.class, Commands.Rollback.class, Commands.Compact.class, Commands.Fsck.class,
                DemoCommands.Scrub.class, ServeCommand.class, MountCommands.Mount.class,
                MountCommands.Umount.class, MountCommands.InstallMountHelper.class, CrashtestCommand.class, DemoCommands.Demo.class,
                DemoCommands.Completion.class,
                ManPages.Command.class, CommandLine.HelpCommand.class},
        footer = {"", "An image another process holds open (cowfs serve, a mount) is reached through its control "
                + "channel, IMAGE.sock: every command works on it as on an image of its own.", "",
                "Exit status:", "  0  success", "  1  failed for another reason", "  2  usage: a bad option, "
                + "argument or path", "  3  not found: no such image, file or snapshot", "  4  already exists",
                "  5  damaged: corrupt image or send stream, fsck/scrub found problems, or crashtest a violation",
                "  6  no space left",
                "  7  busy: held by another process, or in use", "  8  not permitted: read-only, or permission",
                "  9  directory not empty", " 10  input/output error on the host", " 70  internal error (a bug: "
                + "please report it with the output of --debug)"})
public final class Cowfs implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Declared here for help; read from the arguments before picocli runs, in {@link #main}. */
    @CommandLine.Option(names = "--debug", scope = CommandLine.ScopeType.INHERIT,
            description = "on failure, print the stack trace as well")
    boolean debug;

    /** Exit codes: one per kind of failure, so that scripts can tell them apart. */
    public enum ExitCode {
        OK(0), FAILED(1), USAGE(2), NOT_FOUND(3), EXISTS(4), DAMAGED(5), NO_SPACE(6), BUSY(7), READ_ONLY(8),
        NOT_EMPTY(9), IO(10), BUG(70);

        public final int code;

        ExitCode(int code) {
            this.code = code;
        }
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    public static void main(String[] args) {
        for (String quiet : new String[] {"chronicle.analytics.disable", "chronicle.disk.monitor.disable",
                "chronicle.announcer.disable"}) {
            if (System.getProperty(quiet) == null) {
                System.setProperty(quiet, "true"); // as engine/jvm.args sets, for `java -jar` without the launcher
            }
        }
        boolean debug = java.util.Arrays.asList(args).contains("--debug");
        Invocation invocation = new Invocation(System.in, System.out, System.err, Path.of(""), terminalColumns(),
                debug, Images.LOCAL).outputTerminal("1".equals(System.getenv("COWFS_OUTPUT_TERMINAL")))
                .inputTerminal("1".equals(System.getenv("COWFS_INPUT_TERMINAL")));
        System.exit(execute(invocation, args));
    }

    /** The width of the terminal standard error goes to, as the launcher found it; 0 when not a terminal. */
    private static int terminalColumns() {
        String columns = System.getenv("COWFS_TERMINAL_COLUMNS");
        try {
            return columns == null ? 0 : Math.max(0, Integer.parseInt(columns.trim()));
        } catch (NumberFormatException e) {
            return 0; // set by something other than the launcher: no progress bars rather than broken ones
        }
    }

    /** Runs the command line in the given invocation; returns the exit code. */
    static int execute(Invocation invocation, String... args) {
        CommandLine commandLine = new CommandLine(new Cowfs(), invocation);
        commandLine.setOut(invocation.out());
        commandLine.setErr(invocation.err());
        commandLine.registerConverter(Path.class, invocation::resolve);
        commandLine.setParameterExceptionHandler((e, given) -> {
            CommandLine line = e.getCommandLine();
            String name = line.getCommandSpec().qualifiedName(" ");
            invocation.err().println("cowfs: " + line.getCommandName() + ": " + messageOf(e).replaceAll("\\.$", "")
                    + " (see '" + name + " --help')");
            invocation.err().flush();
            return ExitCode.USAGE.code;
        });
        commandLine.setExecutionExceptionHandler((e, line, parsed) -> {
            if (e instanceof Channel.HeldElsewhere held) {
                return forward(invocation, held.socket, args);
            }
            return report(invocation, line.getCommandName(), e);
        });
        int code = commandLine.execute(args);
        invocation.out().flush();
        return code;
    }

    /** Runs the whole command line in the process holding the image, through its channel. */
    private static int forward(Invocation invocation, Path socket, String[] args) {
        try {
            return ChannelClient.run(socket, java.util.List.of(args), Path.of("").toAbsolutePath(),
                    invocation.terminalColumns(), invocation.debug(), invocation.outputTerminal(),
                    invocation.inputTerminal(), invocation.in(),
                    invocation.binaryOut(),
                    invocation.errStream());
        } catch (Exception e) {
            return report(invocation, "channel", e);
        }
    }

    /** One line for the user, and the exit code that says what kind of failure it was. */
    private static int report(Invocation invocation, String command, Exception e) {
        ExitCode code = exitCodeOf(e);
        PrintWriter err = invocation.err();
        if (code == ExitCode.BUG) {
            err.println("cowfs: " + command + ": internal error: " + messageOf(e) + " (" + e.getClass().getName()
                    + "); nothing committed is lost. Please report it with the output of --debug");
        } else {
            err.println("cowfs: " + command + ": " + messageOf(e));
        }
        if (invocation.debug()) {
            e.printStackTrace(err);
        }
        err.flush();
        return code.code;
    }

    static String messageOf(Throwable e) {
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        if (e instanceof NoSuchFileException missing && missing.getReason() == null) {
            message = missing.getFile() + ": no such file";
        }
        return message.replace('\n', ' ');
    }

    static ExitCode exitCodeOf(Throwable e) {
        if (e instanceof ReportedFailure reported) {
            return reported.code;
        }
        if (e instanceof UsageException || e instanceof CommandLine.ParameterException) {
            return ExitCode.USAGE;
        }
        if (e instanceof FsException fs) {
            return exitCodeOf(fs.errno());
        }
        if (e instanceof CorruptionException || e instanceof DamagedException) {
            return ExitCode.DAMAGED;
        }
        if (e instanceof OutOfSpaceException) {
            return ExitCode.NO_SPACE;
        }
        if (e instanceof dev.cowfs.engine.error.ImageLockedException) {
            return ExitCode.BUSY;
        }
        if (e instanceof NoSuchFileException || e instanceof dev.cowfs.engine.error.NoRetainedGenerationException) {
            return ExitCode.NOT_FOUND;
        }
        if (e instanceof FileAlreadyExistsException) {
            return ExitCode.EXISTS;
        }
        if (e instanceof java.nio.file.AccessDeniedException) {
            return ExitCode.READ_ONLY;
        }
        if (e instanceof java.nio.file.NotDirectoryException || e instanceof java.nio.file.InvalidPathException) {
            return ExitCode.USAGE;
        }
        if (e instanceof java.nio.file.DirectoryNotEmptyException) {
            return ExitCode.NOT_EMPTY;
        }
        if (e instanceof java.io.IOException || e instanceof java.io.UncheckedIOException) {
            return ExitCode.IO;
        }
        return ExitCode.BUG;
    }

    private static ExitCode exitCodeOf(Errno errno) {
        return switch (errno) {
            case ENOENT -> ExitCode.NOT_FOUND;
            case EEXIST -> ExitCode.EXISTS;
            case ENOSPC -> ExitCode.NO_SPACE;
            case EROFS, EACCES, EPERM -> ExitCode.READ_ONLY;
            case ENOTEMPTY -> ExitCode.NOT_EMPTY;
            case EBUSY -> ExitCode.BUSY;
            case EIO, EBADMSG -> ExitCode.DAMAGED;
            case EINVAL, ENAMETOOLONG, ENOTDIR, EISDIR -> ExitCode.USAGE;
            default -> ExitCode.FAILED;
        };
    }

    /** A mistake in what the user asked (a bad size, a path that cannot be one). */
    static final class UsageException extends RuntimeException {
        UsageException(String message) {
            super(message);
        }
    }

    /** A failure told again with more said about it (what was undone), keeping the exit code of its cause. */
    static final class ReportedFailure extends java.io.IOException {
        final ExitCode code;

        ReportedFailure(String message, ExitCode code, Throwable cause) {
            super(message, cause);
            this.code = code;
        }
    }

    /** The checker found problems in the image. */
    static final class DamagedException extends java.io.IOException {
        DamagedException(String message) {
            super(message);
        }
    }
}
