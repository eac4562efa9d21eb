package dev.cowfs.tools;

import dev.cowfs.engine.Store;
import dev.cowfs.engine.check.CheckReport;
import dev.cowfs.fs.CowFileSystem;
import dev.cowfs.fs.InodeNumber;
import dev.cowfs.fs.DiffEntry;
import dev.cowfs.fs.FsChecker;
import dev.cowfs.fs.FsOptions;
import dev.cowfs.fs.SpaceUsage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

/** {@code cowfs demo} and {@code cowfs scrub}. */
final class DemoCommands {
    private DemoCommands() {
    }

    @Command(name = "completion", mixinStandardHelpOptions = true,
            description = "Print a bash (and zsh) completion script for cowfs, generated from its commands.",
            footer = {"", "Example:", "  source <(./cowfs completion)"})
    static final class Completion extends ToolCommand {

        @Override
        public Integer call() {
            picocli.CommandLine top = spec.commandLine().getParent();
            spec.commandLine().getOut().print(picocli.AutoComplete.bash("cowfs", top));
            spec.commandLine().getOut().flush();
            return 0;
        }
    }

    @Command(name = "scrub", mixinStandardHelpOptions = true,
            description = "Read every block in use and verify its checksum (exit 5 on any mismatch).")
    static final class Scrub extends ToolCommand {
        @Parameters(index = "0", paramLabel = "IMAGE", description = "the image file")
        Path image;

        @Override
        public Integer call() throws IOException {
            try (Images.Session session = open(image, false)) {
                Images.Check check;
                try (Progress bar = progress("scrub", session.fs().store().blocksToCheck(), "blocks")) {
                    check = session.check(bar::step);
                }
                CheckReport report = check.engine();
                List<String> problems = new java.util.ArrayList<>(check.superblocks());
                problems.addAll(report.problems());
                PrintWriter out = spec.commandLine().getOut();
                problems.forEach(out::println);
                out.println(image + ": " + report.reachableBlocks() + " blocks of generation " + report.generation()
                        + " read and verified, " + (problems.isEmpty() ? "no errors" : problems.size() + " problem(s)"));
                return problems.isEmpty() ? 0 : Cowfs.ExitCode.DAMAGED.code;
            }
        }
    }

    @Command(name = "demo", mixinStandardHelpOptions = true,
            description = "Copy-on-write in action, step by step, on a demo image: snapshots, shared and exclusive "
                    + "space, an instant clone, a diff and a check.")
    static final class Demo extends ToolCommand {
        @Option(names = "--image", paramLabel = "IMAGE", defaultValue = "cowfs-demo.img",
                description = "the demo image to make (default: ${DEFAULT-VALUE})")
        Path image;
        @Option(names = "--replace", description = "replace the demo image if it exists")
        boolean replace;

        private PrintWriter out;
        private int step;

        @Override
        public Integer call() throws IOException {
            out = spec.commandLine().getOut();
            if (Files.exists(image)) {
                if (!replace) {
                    throw new java.nio.file.FileAlreadyExistsException(image.toString(), null,
                            "exists; use --replace to make it again, or --image for another name");
                }
                Store.requireClosed(image); // never replace an image another process holds
                Files.delete(image);
            }
            long root = CowFileSystem.ROOT_INO;
            FsOptions options = FsOptions.builder().commitIntervalMillis(0).build();
            try (CowFileSystem fs = CowFileSystem.create(image, options)) {
                say("Made " + image + ": one image file holding a copy-on-write filesystem.");

                long docs = fs.mkdir(root, "docs", 0755, 0, 0);
                long notes = write(fs, docs, "notes.txt", "Monday: the first version of these notes.\n");
                long big = fs.mknod(root, "big.bin", 0644, 0, 0, 0);
                byte[] chunk = new byte[1 << 20];
                new Random(1).nextBytes(chunk);
                for (int i = 0; i < 64; i++) {
                    fs.write(big, (long) i << 20, chunk, 0, chunk.length);
                }
                fs.sync();
                say("Wrote /docs/notes.txt and a 64 MiB file /big.bin, and made them durable.");

                long start = System.nanoTime();
                long snap = fs.createSnapshot(0, "monday", false);
                say("Took snapshot 'monday' in " + millis(start) + " ms. Nothing was copied: the snapshot and the "
                        + "live tree share every block, like a forked process shares its parent's pages.");
                space(fs, snap);

                fs.truncate(notes, 0);
                byte[] tuesday = "Tuesday: the notes, rewritten.\n".getBytes(StandardCharsets.UTF_8);
                fs.write(notes, 0, tuesday, 0, tuesday.length);
                fs.write(big, 0, chunk, 0, 4096); // one page of the big file changes
                fs.sync();
                say("Changed the notes and one 4 KiB page of /big.bin. Only the changed blocks (and the tree path "
                        + "above them) were written anew; the snapshot still has the old contents:");
                out.println("      live:    " + read(fs, notes).strip());
                long old = fs.resolve(InodeNumber.rootOf(snap), "/docs/notes.txt", true);
                out.println("      @monday: " + read(fs, old).strip());
                space(fs, snap);

                long clone = fs.mknod(root, "big-clone.bin", 0644, 0, 0, 0);
                start = System.nanoTime();
                fs.reflink(big, clone);
                fs.sync();
                say("Cloned /big.bin to /big-clone.bin in " + millis(start) + " ms: a reflink shares all 64 MiB; "
                        + "writes to either file stay in that file.");
                SpaceUsage cloneUse = fs.fileSpace(clone);
                out.println("      /big-clone.bin: " + Images.humanBytes(cloneUse.referencedBytes()) + " referenced, "
                        + Images.humanBytes(cloneUse.exclusiveBytes()) + " its own");

                List<DiffEntry> changes = fs.diff(snap, 0);
                say("What changed since 'monday' (found by skipping every part of the trees they still share):");
                changes.forEach(change -> out.println("      " + change));

                CheckReport report = fs.store().check();
                List<String> problems = FsChecker.check(fs.store());
                say("Checked every block, reference count and directory: " + (report.isClean() && problems.isEmpty()
                        ? "clean." : (report.problems().size() + problems.size()) + " problem(s)!"));
            }
            out.println();
            out.println("Look around:  ./cowfs ls -l " + image + " /   and   ./cowfs ls " + image + " @monday:/docs");
            out.println("Mount it (when the FUSE mount is built):  ./cowfs mount " + image + " /mnt/cowfs");
            return 0;
        }

        private void say(String text) {
            out.println((++step) + ". " + text);
        }

        private static long millis(long start) {
            return Math.max(1, (System.nanoTime() - start) / 1_000_000);
        }

        private void space(CowFileSystem fs, long snap) throws IOException {
            SpaceUsage live = fs.space(0);
            SpaceUsage frozen = fs.space(snap);
            out.println("      live tree: " + Images.humanBytes(live.referencedBytes()) + " referenced, "
                    + Images.humanBytes(live.sharedBytes()) + " shared, " + Images.humanBytes(live.exclusiveBytes())
                    + " its own");
            out.println("      @monday:   " + Images.humanBytes(frozen.referencedBytes()) + " referenced, "
                    + Images.humanBytes(frozen.sharedBytes()) + " shared, "
                    + Images.humanBytes(frozen.exclusiveBytes()) + " its own");
        }

        private static long write(CowFileSystem fs, long dir, String name, String text) throws IOException {
            long ino = fs.mknod(dir, name, 0644, 0, 0, 0);
            byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
            fs.write(ino, 0, bytes, 0, bytes.length);
            return ino;
        }

        private static String read(CowFileSystem fs, long ino) throws IOException {
            byte[] bytes = new byte[(int) fs.stat(ino).size()];
            fs.read(ino, 0, bytes, 0, bytes.length);
            return new String(bytes, StandardCharsets.UTF_8);
        }
    }
}
