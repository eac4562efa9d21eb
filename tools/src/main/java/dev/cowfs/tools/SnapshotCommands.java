package dev.cowfs.tools;

import dev.cowfs.fs.CowFileSystem;
import dev.cowfs.fs.DiffEntry;
import dev.cowfs.fs.SpaceExplanation;
import dev.cowfs.fs.SubvolumeInfo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

/** {@code cowfs snapshot create|list|delete|rollback|diff}. */
@Command(name = "snapshot", mixinStandardHelpOptions = true, description = "Make, list, delete and compare snapshots.",
        subcommands = {SnapshotCommands.Create.class, SnapshotCommands.ListSnapshots.class,
                SnapshotCommands.Delete.class, SnapshotCommands.Rollback.class, SnapshotCommands.Diff.class})
final class SnapshotCommands implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = "Snapshot a subvolume as it is now (O(1); durable when this returns).",
            footer = {"", "Examples:", "  cowfs snapshot create data.img default monday",
                    "  cowfs snapshot create data.img monday experiment --writable"})
    static final class Create extends ToolCommand {
        @Parameters(index = "0", paramLabel = "IMAGE", description = "the image file")
        Path image;
        @Parameters(index = "1", paramLabel = "SUBVOL", description = "subvolume or snapshot to snapshot ('default')")
        String source;
        @Parameters(index = "2", paramLabel = "NAME", description = "the new snapshot's name")
        String name;
        @Option(names = "--writable", description = "a writable clone instead of a read-only snapshot")
        boolean writable;

        @Override
        public Integer call() throws IOException {
            try (Images.Session session = open(image, true)) {
                CowFileSystem fs = session.fs();
                long id = fs.createSnapshot(Images.subvolume(fs, source), name, writable);
                spec.commandLine().getOut().println((writable ? "clone " : "snapshot ") + name + " (id " + id
                        + ") of " + source);
            }
            return 0;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = "List subvolumes and snapshots with the space each holds (exclusive: freed by deleting it).")
    static final class ListSnapshots extends ToolCommand {
        @Parameters(index = "0", paramLabel = "IMAGE", description = "the image file")
        Path image;
        @Option(names = "--json", description = "one JSON array")
        boolean json;

        @Override
        public Integer call() throws IOException {
            try (Images.Session session = open(image, false)) {
                CowFileSystem fs = session.fs();
                SpaceExplanation space = fs.explainSpace();
                PrintWriter out = spec.commandLine().getOut();
                if (json) {
                    StringBuilder line = new StringBuilder("[");
                    for (SpaceExplanation.Holder holder : space.holders()) {
                        SubvolumeInfo info = holder.subvolume();
                        line.append(line.length() > 1 ? "," : "").append("{\"id\":").append(info.id())
                                .append(",\"name\":").append(Images.json(Images.nameOf(info)))
                                .append(",\"parent\":").append(info.parentId())
                                .append(",\"created_ms\":").append(info.createdMillis())
                                .append(",\"read_only\":").append(info.readOnly())
                                .append(",\"snapshot\":").append(info.snapshot())
                                .append(",\"referenced_bytes\":").append(holder.usage().referencedBytes())
                                .append(",\"exclusive_bytes\":").append(holder.usage().exclusiveBytes()).append('}');
                    }
                    out.println(line.append(']'));
                    return 0;
                }
                out.printf("%-4s %-20s %-6s %-4s %-20s %10s %10s%n", "ID", "NAME", "PARENT", "MODE", "CREATED",
                        "REFERENCED", "EXCLUSIVE");
                for (SpaceExplanation.Holder holder : space.holders()) {
                    SubvolumeInfo info = holder.subvolume();
                    out.printf("%-4d %-20s %-6s %-4s %-20s %10s %10s%n", info.id(), Images.nameOf(info),
                            info.parentId() < 0 ? "-" : Long.toString(info.parentId()), info.readOnly() ? "ro" : "rw",
                            info.id() == 0 ? "-" : Instant.ofEpochMilli(info.createdMillis()).toString().substring(0, 19),
                            Images.humanBytes(holder.usage().referencedBytes()),
                            Images.humanBytes(holder.usage().exclusiveBytes()));
                }
            }
            return 0;
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true,
            description = "Delete snapshots or subvolumes: gone at once, their space comes back over the next commits.")
    static final class Delete extends ToolCommand {
        @Parameters(index = "0", paramLabel = "IMAGE", description = "the image file")
        Path image;
        @Parameters(index = "1..*", paramLabel = "NAME", arity = "1..*")
        List<String> names;

        @Override
        public Integer call() throws IOException {
            try (Images.Session session = open(image, true)) {
                CowFileSystem fs = session.fs();
                for (String name : names) {
                    long id = Images.subvolume(fs, name);
                    SubvolumeInfo info = fs.subvolume(id);
                    fs.deleteSubvolume(id);
                    spec.commandLine().getOut().println("deleted " + (!info.snapshot() ? "subvolume "
                            : info.readOnly() ? "snapshot " : "clone ") + name + " (id " + id + ")");
                }
                int commits = 0;
                for (; commits < 100_000 && fs.isReleasingSpace(); commits++) {
                    fs.sync(); // release the deleted trees now rather than at the next mount
                }
                if (commits > 1) {
                    spec.commandLine().getOut().println("released their blocks over " + commits + " commits");
                }
            }
            return 0;
        }
    }

    @Command(name = "rollback", mixinStandardHelpOptions = true,
            description = "Return a subvolume to a snapshot's contents (the snapshot stays).")
    static final class Rollback extends ToolCommand {
        @Parameters(index = "0", paramLabel = "IMAGE", description = "the image file")
        Path image;
        @Parameters(index = "1", paramLabel = "SUBVOL")
        String subvolume;
        @Parameters(index = "2", paramLabel = "SNAPSHOT")
        String snapshot;

        @Override
        public Integer call() throws IOException {
            try (Images.Session session = open(image, true)) {
                CowFileSystem fs = session.fs();
                fs.rollback(Images.subvolume(fs, subvolume), Images.subvolume(fs, snapshot));
            }
            return 0;
        }
    }

    @Command(name = "diff", mixinStandardHelpOptions = true,
            description = "What changed from one snapshot to another (or to a live subvolume): + added, - removed, "
                    + "M modified, R renamed.",
            footer = {"", "Example:", "  cowfs snapshot diff data.img monday default"})
    static final class Diff extends ToolCommand {
        @Parameters(index = "0", paramLabel = "IMAGE", description = "the image file")
        Path image;
        @Parameters(index = "1", paramLabel = "FROM")
        String from;
        @Parameters(index = "2", paramLabel = "TO", defaultValue = "default")
        String to;
        @Option(names = "--json", description = "one JSON array")
        boolean json;

        @Override
        public Integer call() throws IOException {
            try (Images.Session session = open(image, false)) {
                CowFileSystem fs = session.fs();
                List<DiffEntry> changes = fs.diff(Images.subvolume(fs, from), Images.subvolume(fs, to));
                PrintWriter out = spec.commandLine().getOut();
                if (json) {
                    StringBuilder line = new StringBuilder("[");
                    for (DiffEntry change : changes) {
                        line.append(line.length() > 1 ? "," : "").append("{\"change\":")
                                .append(Images.json(change.kind().name().toLowerCase(java.util.Locale.ROOT)))
                                .append(",\"path\":").append(Images.json(change.path()));
                        if (change.newPath() != null) {
                            line.append(",\"new_path\":").append(Images.json(change.newPath()));
                        }
                        line.append('}');
                    }
                    out.println(line.append(']'));
                } else {
                    changes.forEach(out::println);
                }
            }
            return 0;
        }
    }
}
