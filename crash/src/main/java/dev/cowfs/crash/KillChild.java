package dev.cowfs.crash;

import dev.cowfs.fs.CowFileSystem;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The process {@link KillHarness} kills: applies a workload (one operation per line) to an image file and
 * prints {@code acked G} as soon as each commit G has returned, until it is killed or done.
 */
public final class KillChild {
    private KillChild() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 3) {
            System.err.println("usage: KillChild IMAGE OPERATIONS-FILE INJECTED-BUG");
            System.exit(2);
        }
        PrintStream out = System.out;
        try (CowFileSystem fs = CowFileSystem.open(Path.of(args[0]),
                CrashHarness.options(false, InjectedBug.valueOf(args[2])))) {
            long generation = fs.store().generation();
            out.println("opened " + generation);
            out.flush();
            for (String line : Files.readAllLines(Path.of(args[1]))) {
                OpRunner.apply(fs, CrashOp.parse(line));
                long now = fs.store().generation();
                if (now != generation) {
                    out.println("acked " + now);
                    out.flush();
                    generation = now;
                }
            }
            out.println("done");
            out.flush();
        }
    }
}
