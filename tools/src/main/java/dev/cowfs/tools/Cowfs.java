package dev.cowfs.tools;

import dev.cowfs.engine.block.CorruptionException;
import dev.cowfs.engine.block.OutOfSpaceException;
import dev.cowfs.fs.Errno;
import dev.cowfs.fs.FsException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;
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
                FileCommands.Ln.class, Commands.Put.class, FileCommands.Get.class, FileCommands.Clone.class,
                FileCommands.Du.class, SubvolumeCommands.class, SnapshotCommands.class, Commands.Fsck.class,
                DemoCommands.Scrub.class, DemoCommands.Demo.class, DemoCommands.Completion.class,
                CommandLine.HelpCommand.class})
public final class Cowfs implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Exit codes: one per kind of failure, so that scripts can tell them apart. */
    public enum ExitCode {
        OK(0), FAILED(1), USAGE(2), NOT_FOUND(3), EXISTS(4), DAMAGED(5), NO_SPACE(6), BUSY(7), READ_ONLY(8),
        NOT_EMPTY(9);

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
        System.exit(execute(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args));
    }

    /** Runs the command line with the given streams; returns the exit code. */
    public static int execute(PrintWriter out, PrintWriter err, String... args) {
        CommandLine commandLine = new CommandLine(new Cowfs());
        commandLine.setOut(out);
        commandLine.setErr(err);
        commandLine.setExecutionExceptionHandler((e, line, parsed) -> {
            ExitCode code = exitCodeOf(e);
            if (code == ExitCode.FAILED && !(e instanceof java.io.IOException)) {
                throw e; // not a user's mistake nor the environment's: a bug, with its stack trace
            }
            line.getErr().println("cowfs: " + line.getCommandName() + ": " + messageOf(e));
            return code.code;
        });
        return commandLine.execute(args);
    }

    static String messageOf(Throwable e) {
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        if (e instanceof NoSuchFileException missing && missing.getReason() == null) {
            message = missing.getFile() + ": no such file";
        }
        return message.replace('\n', ' ');
    }

    static ExitCode exitCodeOf(Throwable e) {
        if (e instanceof UsageException) {
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
        if (e instanceof dev.cowfs.engine.ImageLockedException) {
            return ExitCode.BUSY;
        }
        if (e instanceof NoSuchFileException) {
            return ExitCode.NOT_FOUND;
        }
        if (e instanceof FileAlreadyExistsException) {
            return ExitCode.EXISTS;
        }
        return ExitCode.FAILED;
    }

    private static ExitCode exitCodeOf(Errno errno) {
        return switch (errno) {
            case ENOENT -> ExitCode.NOT_FOUND;
            case EEXIST -> ExitCode.EXISTS;
            case ENOSPC -> ExitCode.NO_SPACE;
            case EROFS, EACCES, EPERM -> ExitCode.READ_ONLY;
            case ENOTEMPTY -> ExitCode.NOT_EMPTY;
            case EBUSY -> ExitCode.BUSY;
            case EIO -> ExitCode.DAMAGED;
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

    /** The checker found problems in the image. */
    static final class DamagedException extends java.io.IOException {
        DamagedException(String message) {
            super(message);
        }
    }
}
