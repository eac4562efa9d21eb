package dev.cowfs.tools;

import dev.cowfs.fs.CowFileSystem;
import dev.cowfs.fs.Errno;
import dev.cowfs.fs.FsException;
import dev.cowfs.fs.Inode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code cowfs put}: host files and trees into the image, as what they are. Regular files keep their holes (only
 * the runs of data are written), fifos and device nodes become inodes of their kind, sockets (live endpoints of a
 * running program) are skipped with a warning; modes keep their set-id and sticky bits, files met again through
 * another hard link become links. A put that fails removes what it had copied before it reports the failure, so
 * that nothing of it is committed; where even that fails, the message says what was left.
 */
@Command(name = "put", mixinStandardHelpOptions = true,
        description = "Copy host files and directories (recursively) into the image, with modes and times; holes "
                + "stay holes, fifos and device nodes are copied as such, sockets are skipped.",
        footer = {"", "Examples:", "  cowfs put data.img notes.txt /docs/", "  cowfs put data.img ./src /src"})
final class PutCommand extends ToolCommand {
    private static final int COPY_BUFFER_BYTES = 1 << 20;

    @Parameters(index = "0", paramLabel = "IMAGE", description = "the image file")
    Path image;
    @Parameters(index = "1..*", paramLabel = "HOSTPATH... DEST", arity = "2..*",
            description = "host files or directories, then the destination in the image")
    List<String> arguments;

    private Progress progress;
    private final ByteBuffer buffer = ByteBuffer.allocateDirect(COPY_BUFFER_BYTES);
    /** Host file key -> inode, for files with several links. */
    private final Map<Object, Long> copied = new HashMap<>();

    /** An entry this put made at the top of what it copies: removed again if the put fails. */
    private record Made(long dir, String name, String shown) {
    }

    @Override
    public Integer call() throws IOException {
        List<String> sources = arguments.subList(0, arguments.size() - 1);
        String dest = arguments.get(arguments.size() - 1);
        List<Path> hosts = new ArrayList<>();
        for (String source : sources) {
            Path host = hostPath(source);
            if (!Files.exists(host, LinkOption.NOFOLLOW_LINKS)) {
                throw new java.nio.file.NoSuchFileException(source, null, "no such file on the host");
            }
            hosts.add(host);
        }
        try (Images.Session session = open(image, true)) {
            CowFileSystem fs = session.fs();
            Long destDir = existingDirectory(fs, dest);
            if (destDir == null && sources.size() > 1) {
                throw new FsException(Errno.ENOTDIR, dest + " is not a directory in the image");
            }
            List<Made> made = new ArrayList<>();
            long total = invocation.terminalColumns() > 0 ? bytesUnder(hosts) : 0;
            try (Progress bar = progress("put", total, "bytes")) {
                progress = bar;
                for (Path host : hosts) {
                    Made top;
                    if (destDir != null) {
                        String name = hostName(host);
                        top = new Made(destDir, name, dest.replaceAll("/+$", "") + "/" + name);
                    } else {
                        Images.Parent parent = Images.parentOf(fs, dest);
                        top = new Made(parent.dir(), parent.name(), dest);
                    }
                    copy(fs, host, top, made);
                }
            } catch (IOException | RuntimeException e) {
                throw undone(fs, made, e);
            }
            fs.sync();
        }
        return 0;
    }

    private static String hostName(Path host) {
        Path name = host.toAbsolutePath().normalize().getFileName();
        if (name == null) {
            throw new Cowfs.UsageException("copy the host's root directory by naming a destination, not a "
                    + "directory to copy it into");
        }
        return name.toString();
    }

    /** The bytes of the regular host files under the paths (for the progress bar). */
    private static long bytesUnder(List<Path> hosts) throws IOException {
        long bytes = 0;
        for (Path host : hosts) {
            try (var files = Files.walk(host)) {
                bytes += files.filter(file -> Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS))
                        .mapToLong(file -> file.toFile().length()).sum();
            }
        }
        return bytes;
    }

    private static Long existingDirectory(CowFileSystem fs, String dest) throws IOException {
        try {
            long ino = Images.resolve(fs, dest, true);
            return fs.stat(ino).isDirectory() ? ino : null;
        } catch (FsException e) {
            return null;
        }
    }

    /**
     * Copies one host file or tree to {@code top}, which joins {@code made} first unless its name is taken already
     * (a put never replaces anything, so whatever stands there after a failure is the put's). Trees are walked with
     * an explicit stack, so that their depth is bounded by the heap, not by the thread's stack.
     */
    private void copy(CowFileSystem fs, Path host, Made top, List<Made> made) throws IOException {
        if (!exists(fs, top.dir(), top.name())) {
            made.add(top);
        }
        record Pending(Path host, long dir, String name, long madeDir) {
        }
        Deque<Pending> work = new ArrayDeque<>();
        Deque<Pending> directories = new ArrayDeque<>(); // made, their times set once their entries are in
        work.push(new Pending(host, top.dir(), top.name(), -1));
        while (!work.isEmpty()) {
            Pending next = work.pop();
            long ino = copyOne(fs, next.host(), next.dir(), next.name());
            if (ino >= 0 && fs.stat(ino).isDirectory() && Files.isDirectory(next.host(), LinkOption.NOFOLLOW_LINKS)) {
                directories.push(new Pending(next.host(), next.dir(), next.name(), ino));
                List<Path> children;
                try (var listing = Files.list(next.host())) {
                    children = listing.sorted(java.util.Comparator.reverseOrder()).toList();
                }
                for (Path child : children) {
                    work.push(new Pending(child, ino, child.getFileName().toString(), -1));
                }
            }
        }
        for (Pending directory : directories) { // deepest first: setting a parent's time last keeps it
            fs.setTimes(directory.madeDir(), null, Files.getLastModifiedTime(directory.host(),
                    LinkOption.NOFOLLOW_LINKS).toInstant());
        }
    }

    /** Makes one entry (a directory empty, its entries follow); its inode, or -1 when skipped. */
    private long copyOne(CowFileSystem fs, Path host, long dir, String name) throws IOException {
        int mode = HostFiles.mode(host);
        int type = mode & Inode.S_IFMT;
        int permissions = mode & 07777;
        if (type == Inode.S_IFLNK) {
            return fs.symlink(dir, name, Files.readSymbolicLink(host).toString(), 0, 0);
        }
        if (type == Inode.S_IFDIR) {
            return fs.mkdir(dir, name, permissions, 0, 0);
        }
        if (type == Inode.S_IFSOCK) {
            invocation.err().println("cowfs: put: warning: skipped " + host + ": a socket is the endpoint of a "
                    + "running program, not data to store");
            invocation.err().flush();
            return -1;
        }
        BasicFileAttributes attributes = Files.readAttributes(host, BasicFileAttributes.class,
                LinkOption.NOFOLLOW_LINKS);
        Object key = attributes.fileKey();
        if (key != null && copied.containsKey(key)) {
            long existing = copied.get(key);
            fs.link(existing, dir, name);
            return existing;
        }
        long ino;
        if (type == Inode.S_IFREG) {
            ino = fs.mknod(dir, name, Inode.S_IFREG | permissions, 0, 0, 0);
            copyData(fs, host, ino, attributes.size());
        } else { // fifo, character or block device: an inode of its kind, never read as data
            long device = type == Inode.S_IFIFO ? 0 : HostFiles.deviceNumber(host);
            ino = fs.mknod(dir, name, type | permissions, device, 0, 0);
        }
        if (key != null) {
            copied.put(key, ino);
        }
        fs.setTimes(ino, null, attributes.lastModifiedTime().toInstant());
        return ino;
    }

    private static boolean exists(CowFileSystem fs, long dir, String name) throws IOException {
        try {
            fs.lookup(dir, name);
            return true;
        } catch (FsException e) {
            if (e.errno() == Errno.ENOENT) {
                return false;
            }
            throw e;
        }
    }

    /** Writes the runs of data of a regular file; holes between and after them stay holes. */
    private void copyData(CowFileSystem fs, Path host, long ino, long sizeBytes) throws IOException {
        long done = 0;
        try (FileChannel in = FileChannel.open(host, StandardOpenOption.READ)) {
            for (HostFiles.Range range : HostFiles.dataRanges(host, sizeBytes)) {
                progress.step(range.start() - done); // a hole is copied by not writing it
                for (long at = range.start(); at < range.end(); ) {
                    buffer.clear().limit((int) Math.min(buffer.capacity(), range.end() - at));
                    int n = in.read(buffer, at);
                    if (n <= 0) {
                        break; // the host file shrank meanwhile: it ends here
                    }
                    buffer.flip();
                    fs.write(ino, at, buffer);
                    progress.step(n);
                    at += n;
                }
                done = range.end();
            }
        }
        progress.step(Math.max(0, sizeBytes - done));
        if (fs.stat(ino).size() < sizeBytes) {
            fs.truncate(ino, sizeBytes); // a hole to the end
        }
    }

    /**
     * The put failed: what it made is removed again (the session's commit then holds none of it), and the failure
     * is reported with the same exit code, saying so, or saying what was left where removing failed too.
     */
    private IOException undone(CowFileSystem fs, List<Made> made, Exception failure) {
        List<String> left = new ArrayList<>();
        for (Made top : made) {
            try {
                if (exists(fs, top.dir(), top.name())) {
                    FileCommands.removeTree(fs, top.dir(), top.name(), () -> {
                    });
                }
            } catch (IOException | RuntimeException e) {
                left.add(top.shown());
            }
        }
        String note = left.isEmpty() ? "nothing of this put was kept"
                : "left partly copied (remove with cowfs rm -r): " + String.join(", ", left);
        return new Cowfs.ReportedFailure(Cowfs.messageOf(failure) + "; " + note, Cowfs.exitCodeOf(failure), failure);
    }
}
