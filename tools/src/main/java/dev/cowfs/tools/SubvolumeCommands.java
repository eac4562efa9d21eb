package dev.cowfs.tools;

import dev.cowfs.fs.CowFileSystem;
import dev.cowfs.fs.SubvolumeInfo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;

/** {@code cowfs subvolume create|list|delete}. */
@Command(name = "subvolume", mixinStandardHelpOptions = true, description = "Make, list and delete subvolumes.",
        subcommands = {SubvolumeCommands.Create.class, SubvolumeCommands.ListSubvolumes.class,
                SnapshotCommands.Delete.class})
final class SubvolumeCommands implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = "Make an empty subvolume: a file tree of its own, reached as @NAME:/.")
    static final class Create extends ToolCommand {
        @Parameters(index = "0", paramLabel = "IMAGE", description = "the image file")
        Path image;
        @Parameters(index = "1", paramLabel = "NAME")
        String name;

        @Override
        public Integer call() throws IOException {
            try (Images.Session session = open(image, true)) {
                CowFileSystem fs = session.fs();
                long id = fs.createSubvolume(name);
                spec.commandLine().getOut().println("subvolume " + name + " (id " + id + ")");
            }
            return 0;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List subvolumes (not snapshots).")
    static final class ListSubvolumes extends ToolCommand {
        @Parameters(index = "0", paramLabel = "IMAGE", description = "the image file")
        Path image;
        @Option(names = "--json", description = "one JSON array")
        boolean json;

        @Override
        public Integer call() throws IOException {
            try (Images.Session session = open(image, false)) {
                CowFileSystem fs = session.fs();
                PrintWriter out = spec.commandLine().getOut();
                List<SubvolumeInfo> subvolumes = fs.listSubvolumes().stream().filter(s -> !s.snapshot()).toList();
                if (json) {
                    StringBuilder line = new StringBuilder("[");
                    for (SubvolumeInfo info : subvolumes) {
                        line.append(line.length() > 1 ? "," : "").append("{\"id\":").append(info.id())
                                .append(",\"name\":").append(Images.json(Images.nameOf(info))).append('}');
                    }
                    out.println(line.append(']'));
                } else {
                    for (SubvolumeInfo info : subvolumes) {
                        out.printf("%-4d %s%n", info.id(), Images.nameOf(info));
                    }
                }
            }
            return 0;
        }
    }
}
