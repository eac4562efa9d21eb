package dev.cowfs.tools;

import dev.cowfs.fs.CowFileSystem;
import dev.cowfs.fs.DirEntry;
import dev.cowfs.fs.Errno;
import dev.cowfs.fs.FsException;
import dev.cowfs.fs.Inode;
import dev.cowfs.fs.RenameMode;
import dev.cowfs.fs.SpaceExplanation;
import dev.cowfs.fs.SpaceUsage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/** More commands on files: stat, rm, mv, ln, get, clone, du. */
final class FileCommands {
    private FileCommands() {
    }

    /** Every entry of a directory, page by page. */
    static List<DirEntry> entries(CowFileSystem fs, long dir) throws IOException {
        List<DirEntry> all = new ArrayList<>();
        long position = 0;
        while (true) {
            List<DirEntry> page = fs.readdir(dir, position, 1000);
            if (page.isEmpty()) {
                return all;
            }
            all.addAll(page);
            position = page.get(page.size() - 1).nextPosition();
        }
    }

    @Command(name = "stat", mixinStandardHelpOptions = true, description = "Show files' attributes.")
    static final class Stat extends ToolCommand {
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
        @Option(names = "--json", description = "one JSON object per path")
        boolean json;

        @Override
        public Integer call() throws IOException {
            PrintWriter out = spec.commandLine().getOut();
            try (Images.Session session = open(image, false)) {
                CowFileSystem fs = session.fs();
                for (String path : paths) {
                    long ino = Images.resolve(fs, path, false);
                    Inode inode = fs.stat(ino);
                    String mode = Commands.Ls.modeString(inode);
                    Instant modified = Instant.ofEpochSecond(inode.mtimeSeconds(), inode.mtimeNanos());
                    if (json) {
                        out.println("{\"path\":" + Images.json(path) + ",\"ino\":" + ino + ",\"mode\":"
                                + Images.json(mode) + ",\"links\":" + inode.nlink() + ",\"size\":" + inode.size()
                                + ",\"uid\":" + inode.uid() + ",\"gid\":" + inode.gid() + ",\"modified\":"
                                + Images.json(modified.toString()) + "}");
                    } else {
                        out.printf("%s: inode %d, %s, %d link(s), %d bytes, uid %d gid %d, modified %s%n", path, ino,
                                mode, inode.nlink(), inode.size(), inode.uid(), inode.gid(), modified);
                    }
                }
            }
            return 0;
        }
    }

    @Command(name = "rm", mixinStandardHelpOptions = true, description = "Remove files (and directories with -r).")
    static final class Rm extends ToolCommand {
        @Parameters(index = "0", paramLabel = "IMAGE", description = "the image file")
        Path image;
        @Parameters(index = "1..*", paramLabel = "PATH", arity = "1..*")
        List<String> paths;
        @Option(names = {"-r", "--recursive"}, description = "remove directories and everything in them")
        boolean recursive;

        @Override
        public Integer call() throws IOException {
            try (Images.Session session = open(image, true); Progress bar = progress("rm", -1, "entries")) {
                CowFileSystem fs = session.fs();
                for (String path : paths) {
                    Images.Parent parent = Images.parentOf(fs, path);
                    long ino = fs.lookup(parent.dir(), parent.name());
                    if (fs.stat(ino).isDirectory() && !recursive) {
                        throw new FsException(Errno.EISDIR, path + " is a directory; use rm -r");
                    }
                    removeTree(fs, parent.dir(), parent.name(), () -> bar.step(1));
                }
            }
            return 0;
        }

    }

    /**
     * Removes {@code name} in {@code dir} and everything under it, telling {@code removed} of each entry. Walks with
     * an explicit stack of directories, so that a deep tree needs heap, not thread stack.
     */
    static void removeTree(CowFileSystem fs, long dir, String name, Runnable removed) throws IOException {
        long top = fs.lookup(dir, name);
        if (fs.stat(top).isDirectory()) {
            java.util.Deque<Long> stack = new java.util.ArrayDeque<>();
            stack.push(top);
            while (!stack.isEmpty()) {
                long current = stack.peek();
                List<DirEntry> page = fs.readdir(current, 0, 256);
                if (page.isEmpty()) {
                    stack.pop(); // empty now: its parent's pass removes it
                    continue;
                }
                for (DirEntry entry : page) {
                    if (!fs.stat(entry.ino()).isDirectory()) {
                        fs.unlink(current, entry.name());
                        removed.run();
                    } else if (fs.readdir(entry.ino(), 0, 1).isEmpty()) {
                        fs.rmdir(current, entry.name());
                        removed.run();
                    } else {
                        stack.push(entry.ino());
                        break;
                    }
                }
            }
            fs.rmdir(dir, name);
        } else {
            fs.unlink(dir, name);
        }
        removed.run();
    }

    @Command(name = "mv", mixinStandardHelpOptions = true, description = "Rename or move a file or directory.")
    static final class Mv extends ToolCommand {
        @Parameters(index = "0", paramLabel = "IMAGE", description = "the image file")
        Path image;
        @Parameters(index = "1", paramLabel = "FROM")
        String from;
        @Parameters(index = "2", paramLabel = "TO", description = "new path, or an existing directory to move into")
        String to;

        @Override
        public Integer call() throws IOException {
            try (Images.Session session = open(image, true)) {
                CowFileSystem fs = session.fs();
                Images.Parent source = Images.parentOf(fs, from);
                Images.Parent target = Images.parentOf(fs, to);
                try {
                    long existing = Images.resolve(fs, to, true);
                    if (fs.stat(existing).isDirectory()) {
                        target = new Images.Parent(existing, source.name());
                    }
                } catch (FsException e) {
                    if (e.errno() != Errno.ENOENT) {
                        throw e;
                    }
                }
                fs.rename(source.dir(), source.name(), target.dir(), target.name(), RenameMode.REPLACE);
            }
            return 0;
        }
    }

    @Command(name = "ln", mixinStandardHelpOptions = true, description = "Make a hard link (or a symbolic one with -s).")
    static final class Ln extends ToolCommand {
        @Parameters(index = "0", paramLabel = "IMAGE", description = "the image file")
        Path image;
        @Parameters(index = "1", paramLabel = "TARGET")
        String target;
        @Parameters(index = "2", paramLabel = "LINK")
        String link;
        @Option(names = "-s", description = "a symbolic link holding TARGET as its text")
        boolean symbolic;

        @Override
        public Integer call() throws IOException {
            try (Images.Session session = open(image, true)) {
                CowFileSystem fs = session.fs();
                Images.Parent parent = Images.parentOf(fs, link);
                if (symbolic) {
                    fs.symlink(parent.dir(), parent.name(), target, 0, 0);
                } else {
                    fs.link(Images.resolve(fs, target, false), parent.dir(), parent.name());
                }
            }
            return 0;
        }
    }

    @Command(name = "get", mixinStandardHelpOptions = true,
            description = "Copy files and directories (recursively) out of the image, with modes, times and links.",
            footer = {"", "Example:", "  cowfs get data.img @monday:/docs ./restored"})
    static final class Get extends ToolCommand {
        @picocli.CommandLine.Mixin
        GenerationOption generationOption = new GenerationOption();

        @Override
        long generation() {
            return generationOption.value;
        }

        @Parameters(index = "0", paramLabel = "IMAGE", description = "the image file")
        Path image;
        @Parameters(index = "1..*", paramLabel = "PATH... HOSTDEST", arity = "2..*")
        List<String> arguments;

        @Override
        public Integer call() throws IOException {
            List<String> sources = arguments.subList(0, arguments.size() - 1);
            Path dest = hostPath(arguments.get(arguments.size() - 1));
            try (Images.Session session = open(image, false)) {
                CowFileSystem fs = session.fs();
                List<Long> inodes = new ArrayList<>();
                for (String source : sources) {
                    inodes.add(Images.resolve(fs, source, false));
                }
                long total = invocation.terminalColumns() > 0 ? bytesUnder(fs, inodes) : 0;
                try (Progress bar = progress("get", total, "bytes")) {
                    progress = bar;
                    java.util.Map<Long, Path> copied = new java.util.HashMap<>(); // inode with links -> first copy
                    for (int i = 0; i < sources.size(); i++) {
                        String name = sources.get(i).replaceAll("/+$", "");
                        name = name.substring(name.lastIndexOf('/') + 1);
                        if (name.isEmpty() || name.contains(":")) {
                            name = "root";
                        }
                        Path target = Files.isDirectory(dest) ? dest.resolve(name) : dest;
                        copyOut(fs, inodes.get(i), target, copied);
                    }
                }
            }
            return 0;
        }

        private Progress progress;

        /** The bytes of the regular files under the inodes, each inode counted once (for the progress bar). */
        private static long bytesUnder(CowFileSystem fs, List<Long> inodes) throws IOException {
            java.util.Deque<Long> work = new java.util.ArrayDeque<>(inodes);
            Set<Long> seen = new java.util.HashSet<>();
            long bytes = 0;
            while (!work.isEmpty()) {
                long ino = work.pop();
                Inode inode = fs.stat(ino);
                if (inode.isDirectory()) {
                    for (DirEntry entry : entries(fs, ino)) {
                        work.push(entry.ino());
                    }
                } else if (inode.isRegularFile() && seen.add(ino)) {
                    bytes += inode.size();
                }
            }
            return bytes;
        }

        /** Copies one inode or tree out; an inode met again through another hard link becomes a link too. */
        private void copyOut(CowFileSystem fs, long ino, Path target, java.util.Map<Long, Path> copied)
                throws IOException {
            Inode inode = fs.stat(ino);
            if (Files.exists(target, java.nio.file.LinkOption.NOFOLLOW_LINKS) && !inode.isDirectory()) {
                throw new java.nio.file.FileAlreadyExistsException(target.toString(), null, "exists on the host");
            }
            if (inode.isSymbolicLink()) {
                Files.createSymbolicLink(target, Path.of(fs.readlink(ino)));
                return;
            }
            if (inode.isDirectory()) {
                Files.createDirectories(target);
                for (DirEntry entry : entries(fs, ino)) {
                    copyOut(fs, entry.ino(), target.resolve(entry.name()), copied);
                }
            } else if (inode.type() == Inode.S_IFSOCK) {
                invocation.err().println("cowfs: get: warning: skipped " + target + ": a socket is the endpoint of a "
                        + "running program, not data to copy");
                invocation.err().flush();
                return;
            } else {
                if (inode.nlink() > 1 && copied.containsKey(ino)) {
                    Files.createLink(target, copied.get(ino));
                    return;
                }
                if (inode.nlink() > 1) {
                    copied.put(ino, target);
                }
                if (inode.isRegularFile()) {
                    copyData(fs, ino, inode.size(), target);
                } else { // a fifo or a device node: made as such, never read as data
                    HostFiles.makeNode(target, inode.mode() & (Inode.S_IFMT | 07777), inode.rdev());
                }
            }
            HostFiles.setMode(target, inode.mode());
            HostFiles.setModified(target, inode.mtimeSeconds(), inode.mtimeNanos());
        }

        /** Writes the file's runs of data out; its holes stay holes on the host (SEEK_DATA and SEEK_HOLE). */
        private void copyData(CowFileSystem fs, long ino, long sizeBytes, Path target) throws IOException {
            java.nio.ByteBuffer buffer = java.nio.ByteBuffer.allocateDirect(1 << 20);
            long at = 0;
            try (java.nio.channels.FileChannel out = java.nio.channels.FileChannel.open(target,
                    java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE)) {
                while (at < sizeBytes) {
                    long start;
                    try {
                        start = fs.seekData(ino, at);
                    } catch (FsException e) {
                        if (e.errno() == Errno.ENXIO) {
                            break; // a hole to the end
                        }
                        throw e;
                    }
                    long end = Math.min(sizeBytes, fs.seekHole(ino, start));
                    progress.step(start - at);
                    for (long position = start; position < end; ) {
                        buffer.clear().limit((int) Math.min(buffer.capacity(), end - position));
                        if (fs.read(ino, position, buffer) == 0) {
                            break;
                        }
                        buffer.flip();
                        int n = buffer.remaining();
                        while (buffer.hasRemaining()) {
                            out.write(buffer, position + buffer.position());
                        }
                        progress.step(n);
                        position += n;
                    }
                    at = Math.max(at, end);
                }
            }
            progress.step(Math.max(0, sizeBytes - at));
            try (java.io.RandomAccessFile file = new java.io.RandomAccessFile(target.toFile(), "rw")) {
                file.setLength(sizeBytes); // a trailing hole: the length without the bytes
            }
        }
    }

    @Command(name = "clone", mixinStandardHelpOptions = true,
            description = "Reflink-clone a file (or a directory tree, recursively): the copy shares all data, and "
                    + "writes to either side stay apart. No data is copied.",
            footer = {"", "Example:", "  cowfs clone data.img /vm/base.qcow2 /vm/test.qcow2"})
    static final class Clone extends ToolCommand {
        @Parameters(index = "0", paramLabel = "IMAGE", description = "the image file")
        Path image;
        @Parameters(index = "1", paramLabel = "SRC")
        String source;
        @Parameters(index = "2", paramLabel = "DST", description = "must not exist")
        String destination;

        @Override
        public Integer call() throws IOException {
            try (Images.Session session = open(image, true); Progress bar = progress("clone", -1, "entries")) {
                progress = bar;
                CowFileSystem fs = session.fs();
                Images.Parent parent = Images.parentOf(fs, destination);
                cloneInto(fs, Images.resolve(fs, source, false), parent.dir(), parent.name());
            }
            return 0;
        }

        private Progress progress;

        private void cloneInto(CowFileSystem fs, long src, long dir, String name) throws IOException {
            progress.step(1);
            Inode inode = fs.stat(src);
            if (inode.isDirectory()) {
                long copy = fs.mkdir(dir, name, inode.mode() & 07777, inode.uid(), inode.gid());
                for (DirEntry entry : entries(fs, src)) {
                    cloneInto(fs, entry.ino(), copy, entry.name());
                }
            } else if (inode.isSymbolicLink()) {
                fs.symlink(dir, name, fs.readlink(src), inode.uid(), inode.gid());
            } else if (inode.isRegularFile()) {
                long copy = fs.mknod(dir, name, inode.mode(), 0, inode.uid(), inode.gid());
                fs.reflink(src, copy);
            } else {
                fs.mknod(dir, name, inode.mode(), inode.rdev(), inode.uid(), inode.gid());
            }
        }
    }

    @Command(name = "du", mixinStandardHelpOptions = true,
            description = "Space held by subvolumes and snapshots (or by files): referenced, shared and exclusive "
                    + "(exclusive: what deleting it alone would free).",
            footer = {"", "Examples:", "  cowfs du data.img", "  cowfs du data.img /vm/base.qcow2",
                    "  cowfs du data.img --explain"})
    static final class Du extends ToolCommand {
        @Parameters(index = "0", paramLabel = "IMAGE", description = "the image file")
        Path image;
        @Parameters(index = "1..*", paramLabel = "PATH", description = "files to measure (default: every subvolume)")
        List<String> paths = new ArrayList<>();
        @Option(names = "--explain", description = "also say what keeps freed space from reuse")
        boolean explain;
        @Option(names = "--json", description = "one JSON object")
        boolean json;

        @Override
        public Integer call() throws IOException {
            PrintWriter out = spec.commandLine().getOut();
            try (Images.Session session = open(image, false)) {
                CowFileSystem fs = session.fs();
                List<String[]> rows = new ArrayList<>();
                SpaceExplanation explained = null;
                if (paths.isEmpty()) {
                    explained = fs.explainSpace();
                    for (SpaceExplanation.Holder holder : explained.holders()) {
                        rows.add(row("@" + Images.nameOf(holder.subvolume()), holder.usage()));
                    }
                } else {
                    for (String path : paths) {
                        rows.add(row(path, fs.fileSpace(Images.resolve(fs, path, true))));
                    }
                }
                if (json) {
                    StringBuilder line = new StringBuilder("{\"items\":[");
                    for (int i = 0; i < rows.size(); i++) {
                        String[] row = rows.get(i);
                        line.append(i > 0 ? "," : "").append("{\"name\":").append(Images.json(row[0]))
                                .append(",\"referenced_bytes\":").append(row[1]).append(",\"shared_bytes\":")
                                .append(row[2]).append(",\"exclusive_bytes\":").append(row[3]).append('}');
                    }
                    line.append(']');
                    if (explained != null) {
                        line.append(",\"pending_bytes\":").append(explained.pendingBytes()).append(",\"ring_bytes\":")
                                .append(explained.ringBytes()).append(",\"reader_bytes\":")
                                .append(explained.readerBytes().values().stream().mapToLong(Long::longValue).sum())
                                .append(",\"releasing\":").append(explained.releasing());
                    }
                    out.println(line.append('}'));
                    return 0;
                }
                out.printf("%12s %12s %12s  %s%n", "REFERENCED", "SHARED", "EXCLUSIVE", "NAME");
                for (String[] row : rows) {
                    out.printf("%12s %12s %12s  %s%n", Images.humanBytes(Long.parseLong(row[1])),
                            Images.humanBytes(Long.parseLong(row[2])), Images.humanBytes(Long.parseLong(row[3])),
                            row[0]);
                }
                if (explain && explained != null) {
                    out.printf("freed, not reusable yet: %s (%s keeping the last commits recoverable, reusable as "
                                    + "soon as a write needs the room", Images.humanBytes(explained.pendingBytes()),
                            Images.humanBytes(explained.ringBytes()));
                    explained.readerBytes().forEach((generation, bytes) -> out.printf(
                            "; %s held for an open reader of generation %d until it ends", Images.humanBytes(bytes),
                            generation));
                    out.println(")" + (explained.releasing() ? "; deleted snapshots are still being released" : ""));
                }
            }
            return 0;
        }

        private static String[] row(String name, SpaceUsage usage) {
            return new String[] {name, Long.toString(usage.referencedBytes()), Long.toString(usage.sharedBytes()),
                    Long.toString(usage.exclusiveBytes())};
        }
    }
}
