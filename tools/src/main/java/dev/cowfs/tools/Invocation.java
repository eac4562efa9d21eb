package dev.cowfs.tools;

import picocli.CommandLine;

import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * One run of the tool: where its output goes, which directory relative paths start from, whether a person is
 * watching (progress bars), and how images open. A run in this process reads and writes its own streams; a run
 * the holder of an image makes for a caller on the control channel writes to the caller's streams.
 */
final class Invocation implements CommandLine.IFactory {
    private final PrintWriter out;
    private final PrintWriter err;
    private final PrintStream errStream;
    private final OutputStream binaryOut;
    private final java.io.InputStream in;
    private final Path workingDirectory;
    private final int terminalColumns;
    private final boolean debug;
    private final Images.Access images;
    private boolean outputTerminal;
    private boolean inputTerminal;

    /**
     * @param terminalColumns the width of the caller's terminal, or 0 when standard error is not a terminal
     * @param debug whether failures print their stack traces
     */
    Invocation(java.io.InputStream in, OutputStream binaryOut, OutputStream errorOut, Path workingDirectory,
               int terminalColumns, boolean debug, Images.Access images) {
        this.in = in;
        this.binaryOut = binaryOut;
        this.out = new PrintWriter(new PrintStream(binaryOut, true, StandardCharsets.UTF_8), true);
        this.errStream = errorOut instanceof PrintStream print ? print
                : new PrintStream(errorOut, true, StandardCharsets.UTF_8);
        this.err = new PrintWriter(errStream, true);
        this.workingDirectory = workingDirectory;
        this.terminalColumns = terminalColumns;
        this.debug = debug;
        this.images = images;
    }

    PrintWriter out() {
        return out;
    }

    PrintWriter err() {
        return err;
    }

    /** Standard error as a stream, for progress bars. */
    PrintStream errStream() {
        return errStream;
    }

    /** Whether standard output is a terminal (a binary stream must not go there). */
    boolean outputTerminal() {
        return outputTerminal;
    }

    Invocation outputTerminal(boolean terminal) {
        this.outputTerminal = terminal;
        return this;
    }

    /** Whether standard input is a terminal (a send stream is never typed in). */
    boolean inputTerminal() {
        return inputTerminal;
    }

    Invocation inputTerminal(boolean terminal) {
        this.inputTerminal = terminal;
        return this;
    }

    /** Standard input ({@code receive}): the caller's, through the channel when the holder runs the command. */
    java.io.InputStream in() {
        return in;
    }

    /** Standard output for bytes ({@code cat}); flushed before the run ends. */
    OutputStream binaryOut() {
        return binaryOut;
    }

    Path workingDirectory() {
        return workingDirectory;
    }

    int terminalColumns() {
        return terminalColumns;
    }

    boolean debug() {
        return debug;
    }

    Images.Access images() {
        return images;
    }

    /**
     * A host path given on the command line, relative to the caller's working directory (the empty path in
     * this process, so that relative paths print as given).
     */
    Path resolve(String text) {
        return workingDirectory.resolve(text);
    }

    @Override
    public <K> K create(Class<K> type) throws Exception {
        K made = CommandLine.defaultFactory().create(type);
        if (made instanceof ToolCommand command) {
            command.invocation = this;
        }
        return made;
    }
}
