package dev.cowfs.tools;

import dev.cowfs.engine.SpacePins;
import dev.cowfs.engine.StoreOptions;
import dev.cowfs.engine.check.CheckReport;
import dev.cowfs.fs.CowFileSystem;
import dev.cowfs.fs.DirEntry;
import dev.cowfs.fs.FsException;
import dev.cowfs.fs.FsOptions;
import dev.cowfs.fs.FsStat;
import dev.cowfs.fs.Inode;
import dev.cowfs.fs.SubvolumeInfo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** The commands on files and whole images. */
final class Commands {
    private Commands() {
    }

    @Command(name = "mkfs", mixinStandardHelpOptions = true, description = "Make a new, empty filesystem image "
            + "(its root directory owned by the user running mkfs).",
            footer = {"", "Examples:", "  cowfs mkfs data.img", "  cowfs mkfs data.img --size 10G --compress lz4"})
    static final class Mkfs extends ToolCommand {
        @Parameters(index = "0", paramLabel = "IMAGE", description = "the image file to make (must not exist)")
        Path image;
        @Option(names = "--size", paramLabel = "SIZE",
                description = "capacity (e.g. 64M, 10G); 1/32 of it is kept so that deletes work when full. "
                        + "Default: grows until the host filesystem is full")
        String size;
        @Option(names = "--block-size", paramLabel = "BYTES", defaultValue = "4096",
                description = "block size: a power of two from 4096 to 65536 (default: ${DEFAULT-VALUE})")
        int blockSize;
        @Option(names = "--compress", paramLabel = "ALGORITHM", description = "compress new files' data: lz4")
        String compress;
        @Option(names = "--mode", paramLabel = "MODE", description = "permissions of the image file, in octal "
                + "(default 600: the owner's alone; whoever can read the image can read every file in it, "
                + "whatever their modes say)")
        String mode;

        @Override
        public Integer call() throws IOException {
            if (compress != null && !compress.equals("lz4")) {
                throw new Cowfs.UsageException("unknown compression '" + compress + "' (known: lz4)");
            }
            java.util.Set<java.nio.file.attribute.PosixFilePermission> permissions = null;
            if (mode != null) {
                if (!mode.matches("0?[0-7]{3}")) {
                    throw new Cowfs.UsageException("--mode " + mode + " is not an octal mode such as 600 or 640");
                }
                int bits = Integer.parseInt(mode, 8);
                permissions = java.util.EnumSet.noneOf(java.nio.file.attribute.PosixFilePermission.class);
                for (var permission : java.nio.file.attribute.PosixFilePermission.values()) {
                    if ((bits & (1 << (8 - permission.ordinal()))) != 0) {
                        permissions.add(permission);
                    }
                }
            }
            StoreOptions.Builder store = StoreOptions.builder();
            try {
                store.blockSizeBytes(blockSize);
                if (size != null) {
                    store.capacityBytes(Images.parseSize(size));
                }
            } catch (IllegalArgumentException e) {
                throw new Cowfs.UsageException(e.getMessage());
            }
            FsOptions options = FsOptions.builder().commitIntervalMillis(0).compress(compress != null)
                    .store(store.build()).build();
            try (CowFileSystem fs = CowFileSystem.create(image, options)) {
                // As mke2fs does: the root directory belongs to whoever made the image, so a user's own image
                // mounted by that user can be written at once.
                int uid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
                int gid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:gid");
                if (uid != 0 || gid != 0) {
                    fs.chown(CowFileSystem.ROOT_INO, uid, gid);
                    fs.sync();
                }
                if (permissions != null) {
                    Files.setPosixFilePermissions(image, permissions);
                }
                FsStat stat = fs.statfs();
                spec.commandLine().getOut().println("made " + image + ": " + (size == null ? "grows as needed"
                        : Images.humanBytes(stat.totalBlocks() * stat.blockSize())) + ", blocks of "
                        + stat.blockSize() + " bytes" + (compress != null ? ", LZ4 for new files" : ""));
            }
            return 0;
        }
    }

    @Command(name = "info", mixinStandardHelpOptions = true, description = "Show an image's size, use and contents.",
            footer = {"", "Example:", "  cowfs info data.img --json"})
    static final class Info extends ToolCommand {
        @Parameters(index = "0", paramLabel = "IMAGE", description = "the image file")
        Path image;
        @Option(names = "--json", description = "print one JSON object")
        boolean json;
        @Option(names = "--generations", description = "list the generations the image keeps (readable with "
                + "--generation N on ls, cat, stat and get)")
        boolean generations;

        @Override
        public Integer call() throws IOException {
            try (Images.Session session = open(image, false)) {
                CowFileSystem fs = session.fs();
                if (generations) {
                    printGenerations(fs, spec.commandLine().getOut());
                    return 0;
                }
                FsStat stat = fs.statfs();
                List<SubvolumeInfo> subvolumes = fs.listSubvolumes();
                long snapshots = subvolumes.stream().filter(SubvolumeInfo::snapshot).count();
                long imageBytes = Files.size(image);
                int readers = fs.store().openReaders().values().stream().mapToInt(Integer::intValue).sum();
                SpacePins pins = fs.store().spacePins();
                long pinnedBlocks = pins.readerBlocks().values().stream().mapToLong(Long::longValue).sum();
                PrintWriter out = spec.commandLine().getOut();
                if (json) {
                    out.println("{\"image\":" + Images.json(image.toString()) + ",\"image_bytes\":" + imageBytes
                            + ",\"block_size\":" + stat.blockSize() + ",\"total_blocks\":" + stat.totalBlocks()
                            + ",\"used_blocks\":" + stat.usedBlocks() + ",\"free_blocks\":" + stat.freeBlocks()
                            + ",\"available_blocks\":" + stat.availableBlocks() + ",\"grows\":" + stat.growing()
                            + ",\"generation\":" + stat.generation() + ",\"files\":" + stat.files()
                            + ",\"subvolumes\":" + (subvolumes.size() - snapshots) + ",\"snapshots\":" + snapshots
                            + ",\"open_readers\":" + readers + ",\"reader_pinned_blocks\":" + pinnedBlocks
                            + ",\"pending_blocks\":" + pins.pendingBlocks() + "}");
                } else {
                    out.printf("image        %s (a sparse file of %s)%n", image, Images.humanBytes(imageBytes));
                    out.printf("used         %s of %s%s, %s available to writes%n",
                            Images.humanBytes(stat.usedBlocks() * stat.blockSize()),
                            Images.humanBytes(stat.totalBlocks() * stat.blockSize()),
                            stat.growing() ? " (grows as needed: the image and its host's free space)" : "",
                            Images.humanBytes(stat.availableBlocks() * stat.blockSize()));
                    out.printf("blocks       %d bytes each%n", stat.blockSize());
                    out.printf("generation   %d%n", stat.generation());
                    out.printf("files        %d%n", stat.files());
                    out.printf("subvolumes   %d, snapshots %d%n", subvolumes.size() - snapshots, snapshots);
                    out.printf("readers      %d open, pinning %s%n", readers,
                            Images.humanBytes(pinnedBlocks * stat.blockSize()));
                    out.printf("pending      %s freed, kept for the superblock ring and readers%n",
                            Images.humanBytes(pins.pendingBlocks() * stat.blockSize()));
                }
            }
            return 0;
        }

        /** Each retained generation, newest first: when it was committed, where its superblock is, and whether
         * its roots verify (only those can be read with --generation). */
        private void printGenerations(CowFileSystem fs, PrintWriter out) throws IOException {
            List<dev.cowfs.engine.superblock.RetainedGeneration> retained = fs.store().retainedGenerations();
            long open = fs.statfs().generation();
            if (json) {
                StringBuilder line = new StringBuilder("[");
                for (dev.cowfs.engine.superblock.RetainedGeneration each : retained) {
                    line.append(line.length() > 1 ? "," : "").append("{\"generation\":").append(each.generation())
                            .append(",\"committed_ms\":").append(each.commitTimeMillis())
                            .append(",\"where\":").append(Images.json(each.where()))
                            .append(",\"readable\":").append(each.failure() == null)
                            .append(",\"problem\":")
                            .append(each.failure() == null ? "null" : Images.json(each.failure()))
                            .append(",\"current\":").append(each.generation() == open).append('}');
                }
                out.println(line.append(']'));
                return;
            }
            out.printf("%-12s %-24s %-12s %s%n", "GENERATION", "COMMITTED", "WHERE", "STATE");
            for (dev.cowfs.engine.superblock.RetainedGeneration each : retained) {
                out.printf("%-12d %-24s %-12s %s%n", each.generation(),
                        java.time.Instant.ofEpochMilli(each.commitTimeMillis()).toString(), each.where(),
                        each.failure() != null ? "damaged: " + each.failure()
                                : each.generation() == open ? "current"
                                : "readable (--generation " + each.generation() + ")");
            }
        }
    }

    @Command(name = "ls", mixinStandardHelpOptions = true, description = "List directories (or show files).",
            footer = {"", "Examples:", "  cowfs ls data.img /", "  cowfs ls -l data.img @monday:/docs"})
    static final class Ls extends ToolCommand {
        @picocli.CommandLine.Mixin
        GenerationOption generationOption = new GenerationOption();

        @Override
        long generation() {
            return generationOption.value;
        }

        @Parameters(index = "0", paramLabel = "IMAGE", description = "the image file")
        Path image;
        @Parameters(index = "1..*", paramLabel = "PATH", defaultValue = "/",
                description = "/path, or @SNAPSHOT:/path (default: /)")
        List<String> paths;
        @Option(names = "-l", description = "long listing: type and mode, links, size, name")
        boolean longFormat;
        @Option(names = "--json", description = "one JSON array of entries per path")
        boolean json;

        @Override
        public Integer call() throws IOException {
            PrintWriter out = spec.commandLine().getOut();
            try (Images.Session session = open(image, false)) {
                CowFileSystem fs = session.fs();
                for (String path : paths) {
                    long ino = Images.resolve(fs, path, true);
                    Inode inode = fs.stat(ino);
                    List<String[]> rows = new ArrayList<>();
                    if (inode.isDirectory()) {
                        for (DirEntry entry : FileCommands.entries(fs, ino)) {
                            rows.add(row(fs, entry.name(), entry.ino()));
                        }
                    } else {
                        rows.add(row(fs, path, ino));
                    }
                    print(out, path, rows);
                }
            }
            return 0;
        }

        private static String[] row(CowFileSystem fs, String name, long ino) throws IOException {
            Inode inode = fs.stat(ino);
            return new String[] {name, modeString(inode), Integer.toString(inode.nlink()), Long.toString(inode.size()),
                    Long.toString(ino)};
        }

        private void print(PrintWriter out, String path, List<String[]> rows) {
            if (json) {
                StringBuilder line = new StringBuilder("[");
                for (String[] row : rows) {
                    line.append(line.length() > 1 ? "," : "").append("{\"name\":").append(Images.json(row[0]))
                            .append(",\"mode\":").append(Images.json(row[1])).append(",\"links\":").append(row[2])
                            .append(",\"size\":").append(row[3]).append(",\"ino\":").append(row[4]).append('}');
                }
                out.println(line.append(']'));
                return;
            }
            if (paths.size() > 1) {
                out.println(path + ":");
            }
            int sizeWidth = rows.stream().mapToInt(r -> r[3].length()).max().orElse(1);
            for (String[] row : rows) {
                out.println(longFormat ? String.format("%s %3s %" + sizeWidth + "s %s", row[1], row[2], row[3], row[0])
                        : row[0]);
            }
        }

        /** The mode as ls -l shows it: the type, then rwx with set-ID (s, S) and sticky (t, T) bits in place. */
        static String modeString(Inode inode) {
            int mode = inode.mode();
            char type = switch (inode.type()) {
                case Inode.S_IFDIR -> 'd';
                case Inode.S_IFLNK -> 'l';
                case Inode.S_IFREG -> '-';
                case Inode.S_IFIFO -> 'p';
                case Inode.S_IFCHR -> 'c';
                case Inode.S_IFBLK -> 'b';
                case Inode.S_IFSOCK -> 's';
                default -> '?';
            };
            StringBuilder bits = new StringBuilder().append(type);
            String letters = "rwxrwxrwx";
            for (int i = 0; i < 9; i++) {
                bits.append((mode & (1 << (8 - i))) != 0 ? letters.charAt(i) : '-');
            }
            special(bits, 3, (mode & 04000) != 0, 's');
            special(bits, 6, (mode & 02000) != 0, 's');
            special(bits, 9, (mode & 01000) != 0, 't');
            return bits.toString();
        }

        private static void special(StringBuilder bits, int at, boolean set, char letter) {
            if (set) {
                bits.setCharAt(at, bits.charAt(at) == 'x' ? letter : Character.toUpperCase(letter));
            }
        }
    }

    @Command(name = "cat", mixinStandardHelpOptions = true, description = "Write files' contents to standard output.",
            footer = {"", "Example:", "  cowfs cat data.img @monday:/etc/hosts"})
    static final class Cat extends ToolCommand {
        @picocli.CommandLine.Mixin
        GenerationOption generationOption = new GenerationOption();

        @Override
        long generation() {
            return generationOption.value;
        }

        @Parameters(index = "0", paramLabel = "IMAGE", description = "the image file")
        Path image;
        @Parameters(index = "1..*", paramLabel = "PATH", arity = "1..*")
        List<String> paths;
        @Override
        public Integer call() throws IOException {
            OutputStream output = invocation.binaryOut();
            try (Images.Session session = open(image, false)) {
                CowFileSystem fs = session.fs();
                byte[] buffer = new byte[1 << 20];
                for (String path : paths) {
                    long ino = Images.resolve(fs, path, true);
                    if (fs.stat(ino).isDirectory()) {
                        throw new FsException(dev.cowfs.fs.Errno.EISDIR, path + " is a directory");
                    }
                    for (long at = 0; ; ) {
                        int n = fs.read(ino, at, buffer, 0, buffer.length);
                        if (n == 0) {
                            break;
                        }
                        output.write(buffer, 0, n);
                        at += n;
                    }
                }
                output.flush();
            }
            return 0;
        }
    }

    @Command(name = "mkdir", mixinStandardHelpOptions = true, description = "Make directories.",
            footer = {"", "Example:", "  cowfs mkdir -p data.img /docs/2026"})
    static final class Mkdir extends ToolCommand {
        @Parameters(index = "0", paramLabel = "IMAGE", description = "the image file")
        Path image;
        @Parameters(index = "1..*", paramLabel = "PATH", arity = "1..*")
        List<String> paths;
        @Option(names = "-p", description = "make parents as needed; no error if it exists")
        boolean parents;

        @Override
        public Integer call() throws IOException {
            try (Images.Session session = open(image, true)) {
                CowFileSystem fs = session.fs();
                for (String path : paths) {
                    if (parents) {
                        makeParents(fs, path);
                    } else {
                        Images.Parent parent = Images.parentOf(fs, path);
                        fs.mkdir(parent.dir(), parent.name(), 0755, 0, 0);
                    }
                }
            }
            return 0;
        }

        private static void makeParents(CowFileSystem fs, String path) throws IOException {
            String prefix = path.startsWith("@") && path.indexOf(':') > 0 ? path.substring(0, path.indexOf(':') + 1) : "";
            long dir = Images.resolve(fs, prefix + "/", true);
            for (String part : path.substring(prefix.length()).split("/")) {
                if (part.isEmpty()) {
                    continue;
                }
                try {
                    dir = fs.lookup(dir, part);
                } catch (FsException e) {
                    dir = fs.mkdir(dir, part, 0755, 0, 0);
                }
            }
        }
    }

    @Command(name = "rollback", mixinStandardHelpOptions = true,
            description = "Roll the whole image back to a retained generation, for when the newest commits are "
                    + "suspect: one commit holding that generation's trees. The newer generations stay readable "
                    + "with --generation while the superblock ring keeps them: the newest of them for three more "
                    + "commits. When the newest generation does not verify (writing commands refuse the image then), "
                    + "rolling back to the newest one that does accepts the loss and lets writes go on.",
            footer = {"", "Examples:", "  cowfs info data.img --generations", "  cowfs rollback data.img 41"})
    static final class Rollback extends ToolCommand {
        @Parameters(index = "0", paramLabel = "IMAGE", description = "the image file")
        Path image;
        @Parameters(index = "1", paramLabel = "GENERATION", description = "a retained generation (see cowfs info "
                + "--generations)")
        long generation;

        @Override
        public Integer call() throws IOException {
            if (generation < 1) {
                throw new Cowfs.UsageException("generation " + generation + " is not a generation (cowfs info "
                        + "--generations lists those the image keeps)");
            }
            if (invocation.images() != Images.LOCAL) {
                throw Images.heldElsewhere(image, "stop it, then roll back");
            }
            if (Files.isDirectory(image)) {
                throw new Cowfs.UsageException(image + " is a directory, not an image file");
            }
            long rolled;
            long from;
            dev.cowfs.engine.Store opened;
            try {
                opened = openExclusive(image, false);
            } catch (dev.cowfs.engine.error.NewerGenerationDamagedException damaged) {
                if (generation > damaged.olderGeneration()) {
                    throw new Cowfs.UsageException("generation " + generation + " does not verify; the newest that "
                            + "does is " + damaged.olderGeneration() + " (cowfs info --generations)");
                }
                opened = openExclusive(image, true); // rolling back to it or before accepts the loss
                if (generation == damaged.olderGeneration()) {
                    opened.close();
                    out().println("accepted generation " + generation + " of " + image + ": generation(s) after it, "
                            + "which did not verify, are given up; writes go on from here");
                    return 0;
                }
            }
            try (dev.cowfs.engine.Store store = opened;
                 Progress bar = progress("rollback", 2 * store.blocksToCheck(), "blocks")) {
                from = store.generation();
                if (generation >= from) {
                    throw new Cowfs.UsageException("generation " + generation + " is not older than the newest, "
                            + from + ": there is nothing to roll back");
                }
                rolled = store.rollBack(generation, bar::step);
            }
            out().println("rolled " + image + " back to generation " + generation + ", now generation " + rolled
                    + "; generations " + Math.max(generation + 1, from - 2) + " to " + from + " stay readable with "
                    + "--generation while the superblock ring keeps them (generation " + from + " for three more "
                    + "commits)");
            return 0;
        }

        private static dev.cowfs.engine.Store openExclusive(Path image, boolean acceptOlder) throws IOException {
            try {
                return dev.cowfs.engine.Store.open(image, StoreOptions.builder().acceptOlderGeneration(acceptOlder)
                        .build());
            } catch (dev.cowfs.engine.error.ImageLockedException e) {
                if (e.otherProcess()) {
                    throw Images.heldElsewhere(image, "stop it, then roll back");
                }
                throw e;
            }
        }
    }

    @Command(name = "compact", mixinStandardHelpOptions = true,
            description = "Move the blocks in the image's tail down into free space and shrink the file, in "
                    + "ordinary commits: power lost at any point leaves the image as it was or compacted, with the "
                    + "same data. Snapshots and clones keep sharing what they shared. The image must check clean "
                    + "first (run cowfs fsck). Through a mount or cowfs serve, everything else waits meanwhile.",
            footer = {"", "The file cannot shrink below the far superblock copy at 64 MiB, and is cut in whole "
                    + "mapping chunks (64 MiB).", "", "Examples:", "  cowfs compact data.img",
                    "  cowfs compact data.img --json"})
    static final class Compact extends ToolCommand {
        @Parameters(index = "0", paramLabel = "IMAGE", description = "the image file")
        Path image;
        @Option(names = "--json", description = "print one JSON object")
        boolean json;

        @Override
        public Integer call() throws IOException {
            dev.cowfs.engine.Store.Compacted result;
            int blockSize;
            try (Images.Session session = open(image, true);
                 Progress bar = progress("compact", 2 * session.fs().store().blocksToCheck(), "blocks")) {
                blockSize = session.fs().store().blockSizeBytes();
                result = session.fs().compact(bar::step);
            }
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                out.println("{\"image\":" + Images.json(image.toString()) + ",\"bytes_before\":"
                        + result.lengthBefore() + ",\"bytes_after\":" + result.lengthAfter()
                        + ",\"used_bytes_before\":" + result.highWaterBefore() * blockSize
                        + ",\"used_bytes_after\":" + result.highWaterAfter() * blockSize
                        + ",\"nodes_written\":" + result.nodesWritten()
                        + ",\"extent_bytes_moved\":" + result.extentBlocksMoved() * blockSize
                        + ",\"shared_blocks_moved\":" + result.sharedMoved() + ",\"commits\":" + result.commits()
                        + ",\"limited_by\":" + (result.limitedBy() == null ? "null" : Images.json(result.limitedBy()))
                        + "}");
                return 0;
            }
            if (result.lengthAfter() < result.lengthBefore()) {
                out.println("compacted " + image + ": " + Images.humanBytes(result.lengthBefore()) + " -> "
                        + Images.humanBytes(result.lengthAfter()) + " (moved " + result.nodesWritten() + " nodes and "
                        + Images.humanBytes(result.extentBlocksMoved() * blockSize) + " of extents in "
                        + result.commits() + " commits)");
                if (result.limitedBy() != null) {
                    out.println("not shorter because " + result.limitedBy());
                }
            } else {
                out.println(image + ": not shortened (" + Images.humanBytes(result.lengthAfter()) + "): "
                        + (result.limitedBy() == null ? "nothing past its length could go" : result.limitedBy()));
            }
            return 0;
        }
    }

    @Command(name = "fsck", mixinStandardHelpOptions = true,
            description = "Check an image: every block, reference count and filesystem structure.",
            footer = {"", "Exit status 0 when clean, 5 when anything is wrong (each problem on its own line)."})
    static final class Fsck extends ToolCommand {
        @Parameters(index = "0", paramLabel = "IMAGE", description = "the image file")
        Path image;
        @Option(names = "--json", description = "print one JSON object")
        boolean json;
        @Option(names = "--repair", description = "first fix what can be fixed without guessing (leaked blocks, "
                + "wrong free/pending totals, subvolume trees no record names, receive markers that stage nothing) "
                + "and say what changed; then check")
        boolean repair;

        @Override
        public Integer call() throws IOException {
            try (Images.Session session = open(image, repair)) {
                List<String> repaired = repair ? session.fs().repair() : List.of();
                Images.Check check;
                try (Progress bar = progress("fsck", session.fs().store().blocksToCheck(), "blocks")) {
                    check = session.check(bar::step);
                }
                CheckReport report = check.engine();
                List<String> problems = check.problems();
                PrintWriter out = spec.commandLine().getOut();
                if (json) {
                    StringBuilder list = new StringBuilder("[");
                    for (String problem : problems) {
                        list.append(list.length() > 1 ? "," : "").append(Images.json(problem));
                    }
                    StringBuilder changes = new StringBuilder("[");
                    for (String change : repaired) {
                        changes.append(changes.length() > 1 ? "," : "").append(Images.json(change));
                    }
                    out.println("{\"clean\":" + problems.isEmpty() + ",\"generation\":" + report.generation()
                            + ",\"reachable_blocks\":" + report.reachableBlocks() + ",\"free_blocks\":"
                            + report.freeBlocks() + ",\"pending_blocks\":" + report.pendingBlocks()
                            + ",\"problems\":" + list.append(']') + (repair ? ",\"repaired\":" + changes.append(']')
                            : "") + "}");
                } else {
                    for (String change : repaired) {
                        out.println(change);
                    }
                    for (String problem : problems) {
                        out.println(problem);
                    }
                    out.println(image + ": " + (problems.isEmpty() ? "clean" : problems.size() + " problem(s)")
                            + " (generation " + report.generation() + ", " + report.reachableBlocks()
                            + " blocks in use, " + report.freeBlocks() + " free, " + report.pendingBlocks()
                            + " waiting for reuse)");
                }
                return problems.isEmpty() ? 0 : Cowfs.ExitCode.DAMAGED.code;
            }
        }
    }
}
