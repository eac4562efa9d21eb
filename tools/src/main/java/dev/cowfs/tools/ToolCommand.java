package dev.cowfs.tools;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** A subcommand: runs within one {@link Invocation}, which says where output goes and how images open. */
abstract class ToolCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    /** Set by {@link Invocation#create} when picocli makes the command. */
    Invocation invocation;

    PrintWriter out() {
        return spec.commandLine().getOut();
    }

    /** The retained generation to read (0: the newest); commands that take {@code --generation} say which. */
    long generation() {
        return 0;
    }

    /** Opens the image for this command, here or through the channel of the process that holds it. */
    Images.Session open(Path image, boolean writable) throws IOException {
        if (generation() < 0) {
            throw new Cowfs.UsageException("--generation " + generation() + " is not a generation (cowfs info "
                    + "--generations lists those the image keeps)");
        }
        if (generation() != 0) {
            if (invocation.images() != Images.LOCAL) {
                throw Images.heldElsewhere(image, "read older generations once it has stopped");
            }
            Images.Session session = Images.openGeneration(image, generation());
            for (String warning : session.warnings()) {
                invocation.err().println("cowfs: warning: " + image + ": " + warning);
            }
            return session;
        }
        Images.Session session = invocation.images().open(image, writable);
        if (invocation.images() == Images.LOCAL) { // a holder reports its own warnings when it opens
            for (String warning : session.warnings()) {
                invocation.err().println("cowfs: warning: " + image + ": " + warning);
            }
        }
        return session;
    }

    /** A path on the host, relative to the caller's working directory. */
    Path hostPath(String text) {
        return invocation.resolve(text);
    }

    /** A progress bar on the caller's terminal (silent when the output is not a terminal). */
    Progress progress(String task, long total, String unit) {
        return Progress.start(invocation, task, total, unit);
    }
}
