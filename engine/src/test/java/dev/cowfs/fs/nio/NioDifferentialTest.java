package dev.cowfs.fs.nio;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.CopyOption;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystem;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.NotLinkException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.zip.CRC32;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Random sequences of NIO operations applied to a cowfs image and to jimfs ({@code Configuration.unix()}, the
 * reference for the namespace): after every operation both must give the same result or the same kind of
 * exception, and every few steps and at the end both trees (names, types, contents, link targets, link counts)
 * must be equal. Now and then the image is closed and reopened, so what is compared has gone through commit
 * and recovery.
 *
 * <p>Exceptions are compared by kind: the specific {@code java.nio.file} exception, else "I/O error" (jimfs
 * throws a plain {@code IOException} where the JDK throws a {@code FileSystemException}, for symbolic-link
 * loops and moving a directory into itself). Where jimfs departs from Linux, cowfs follows the JDK's unix
 * provider, and the test allows exactly these departures:
 * <ul>
 *   <li>a path through an existing non-directory: jimfs says NoSuchFile, Linux ENOTDIR
 *       ({@code FileSystemException} "Not a directory", or {@code NotDirectoryException} opening a directory
 *       stream); accepted only when resolving the path in jimfs meets such a file. Through
 *       {@code Files.createDirectories} jimfs's answer turns into FileAlreadyExists, so any jimfs error is
 *       accepted there;</li>
 *   <li>moving a directory below itself onto an existing target without REPLACE_EXISTING: jimfs says "invalid
 *       argument" first, Linux (with RENAME_NOREPLACE) and the JDK say the target exists;</li>
 *   <li>not generated: a hard link to a symbolic link (jimfs links the link's target, Linux the link) or to a
 *       directory (always refused, but jimfs says so before looking at the new name's directory, Linux after), writing
 *       with CREATE through a dangling link (jimfs refuses, Linux creates the target), ATOMIC_MOVE with
 *       REPLACE_EXISTING onto a target of the other kind (jimfs replaces, rename(2) refuses), and ATOMIC_MOVE
 *       without REPLACE_EXISTING onto an existing target (jimfs replaces as rename(2) does; cowfs renames with
 *       RENAME_NOREPLACE and refuses, which {@code Files.move} leaves to the implementation; the focused tests
 *       cover it).</li>
 * </ul>
 */
class NioDifferentialTest {
    private static final String[] NAMES = {"a", "b", "c"};
    private static final int SEQUENCES = 24;
    private static final int STEPS = 160;
    private static final long FIRST_SEED = 20_240_601L;
    private static final String BASE = "/t";

    @TempDir
    Path temp;

    /** One side of the comparison: a file system and its base directory, both replaced on a reopen. */
    private static final class Side {
        final String name;
        FileSystem fileSystem;

        Side(String name, FileSystem fileSystem) {
            this.name = name;
            this.fileSystem = fileSystem;
        }

        Path path(String relative) {
            return fileSystem.getPath(BASE, relative);
        }
    }

    private interface Action {
        String run(Side side) throws IOException;
    }

    @Test
    void randomOperationSequencesGiveTheSameResultsAndTreesAsJimfs() throws Exception {
        for (int sequence = 0; sequence < SEQUENCES; sequence++) {
            runSequence(FIRST_SEED + sequence);
        }
    }

    private void runSequence(long seed) throws Exception {
        Random random = new Random(seed);
        Path image = temp.resolve("image-" + seed);
        Configuration configuration = Configuration.unix().toBuilder()
                .setAttributeViews("basic", "owner", "posix", "unix").build();
        Side reference = new Side("jimfs", Jimfs.newFileSystem(configuration));
        Side cowfs = new Side("cowfs", CowNioTesting.create(image));
        try {
            Files.createDirectory(reference.fileSystem.getPath(BASE));
            Files.createDirectory(cowfs.fileSystem.getPath(BASE));
            for (int step = 0; step < STEPS; step++) {
                String trace = "seed " + seed + " step " + step;
                if (random.nextInt(100) < 3) {
                    cowfs.fileSystem.close();
                    cowfs.fileSystem = CowNioTesting.open(image);
                }
                step(random, reference, cowfs, trace);
                if (step % 40 == 39) {
                    compareTrees(reference.fileSystem.getPath(BASE), cowfs.fileSystem.getPath(BASE), trace);
                }
            }
            compareTrees(reference.fileSystem.getPath(BASE), cowfs.fileSystem.getPath(BASE), "seed " + seed);
            cowfs.fileSystem.close();
            cowfs.fileSystem = CowNioTesting.open(image);
            compareTrees(reference.fileSystem.getPath(BASE), cowfs.fileSystem.getPath(BASE),
                    "seed " + seed + " after reopen");
        } finally {
            reference.fileSystem.close();
            cowfs.fileSystem.close();
        }
    }

    // ------------------------------------------------------------------ operations

    private void step(Random random, Side reference, Side cowfs, String trace) throws IOException {
        String p = randomPath(random);
        String q = randomPath(random);
        int choice = random.nextInt(100);
        if (choice < 8) {
            compare("createFile " + p, side -> Files.createFile(side.path(p)).toString(), reference, cowfs,
                    trace, p);
        } else if (choice < 16) {
            compare("createDirectory " + p, side -> Files.createDirectory(side.path(p)).toString(), reference,
                    cowfs, trace, p);
        } else if (choice < 20) {
            compare("createDirectories " + p, side -> Files.createDirectories(side.path(p)).toString(),
                    reference, cowfs, trace, p);
        } else if (choice < 34) {
            writeStep(random, reference, cowfs, trace, p);
        } else if (choice < 38) {
            long size = random.nextInt(3000);
            compare("truncate " + p + " to " + size, side -> {
                try (SeekableByteChannel channel = Files.newByteChannel(side.path(p), StandardOpenOption.WRITE)) {
                    channel.truncate(size);
                    return "size " + channel.size();
                }
            }, reference, cowfs, trace, p);
        } else if (choice < 46) {
            compare("read " + p, side -> describe(Files.readAllBytes(side.path(p))), reference, cowfs, trace, p);
        } else if (choice < 49) {
            long at = random.nextInt(4000);
            int length = random.nextInt(2000);
            compare("read " + length + " at " + at + " of " + p, side -> {
                try (SeekableByteChannel channel = Files.newByteChannel(side.path(p))) {
                    ByteBuffer buffer = ByteBuffer.allocate(length);
                    int n = channel.position(at).read(buffer);
                    return n + " " + describe(Arrays.copyOf(buffer.array(), buffer.position()));
                }
            }, reference, cowfs, trace, p);
        } else if (choice < 56) {
            compare("delete " + p, side -> {
                Files.delete(side.path(p));
                return "deleted";
            }, reference, cowfs, trace, p);
        } else if (choice < 64) {
            moveStep(random, reference, cowfs, trace, p, q);
        } else if (choice < 70) {
            List<CopyOption> options = new ArrayList<>();
            if (random.nextBoolean()) {
                options.add(StandardCopyOption.REPLACE_EXISTING);
            }
            if (random.nextInt(4) == 0) {
                options.add(LinkOption.NOFOLLOW_LINKS);
            }
            CopyOption[] array = options.toArray(CopyOption[]::new);
            compare("copy " + p + " -> " + q + " " + options,
                    side -> Files.copy(side.path(p), side.path(q), array).toString(), reference, cowfs, trace, p, q);
        } else if (choice < 76) {
            String target = randomLinkTarget(random);
            compare("symlink " + p + " -> " + target,
                    side -> Files.createSymbolicLink(side.path(p), side.fileSystem.getPath(target)).toString(),
                    reference, cowfs, trace, p);
        } else if (choice < 80) {
            if (Files.isSymbolicLink(reference.path(q)) || Files.isDirectory(reference.path(q))) {
                return; // jimfs would link the link's target, or refuse a directory first (see the class comment)
            }
            compare("link " + p + " -> " + q, side -> Files.createLink(side.path(p), side.path(q)).toString(),
                    reference, cowfs, trace, p, q);
        } else if (choice < 88) {
            compare("list " + p, side -> list(side.path(p)), reference, cowfs, trace, p);
        } else if (choice < 96) {
            boolean follow = random.nextBoolean();
            LinkOption[] options = follow ? new LinkOption[0] : new LinkOption[] {LinkOption.NOFOLLOW_LINKS};
            compare("attributes " + p + (follow ? "" : " nofollow"),
                    side -> describe(Files.readAttributes(side.path(p), BasicFileAttributes.class, options)),
                    reference, cowfs, trace, p);
        } else {
            compare("readlink " + p, side -> Files.readSymbolicLink(side.path(p)).toString(), reference, cowfs,
                    trace, p);
        }
    }

    private void writeStep(Random random, Side reference, Side cowfs, String trace, String p) throws IOException {
        Path referencePath = reference.path(p);
        if (Files.isSymbolicLink(referencePath) && !Files.exists(referencePath)) {
            return; // a dangling link: jimfs refuses to create its target (see the class comment)
        }
        List<Set<OpenOption>> choices = List.of(
                Set.of(StandardOpenOption.WRITE),
                Set.of(StandardOpenOption.WRITE, StandardOpenOption.CREATE),
                Set.of(StandardOpenOption.WRITE, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING),
                Set.of(StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW),
                Set.of(StandardOpenOption.APPEND),
                Set.of(StandardOpenOption.APPEND, StandardOpenOption.CREATE),
                Set.of(StandardOpenOption.READ, StandardOpenOption.WRITE, StandardOpenOption.CREATE));
        Set<OpenOption> options = choices.get(random.nextInt(choices.size()));
        byte[] data = new byte[random.nextInt(4) == 0 ? random.nextInt(6000) : random.nextInt(300)];
        random.nextBytes(data);
        long position = random.nextInt(3) == 0 ? random.nextInt(5000) : -1;
        compare("write " + data.length + " bytes" + (position >= 0 ? " at " + position : "") + " to " + p + " "
                + options, side -> {
                    try (SeekableByteChannel channel = Files.newByteChannel(side.path(p), options)) {
                        if (position >= 0) {
                            channel.position(position);
                        }
                        int written = channel.write(ByteBuffer.wrap(data));
                        return written + " bytes, position " + channel.position() + ", size " + channel.size();
                    }
                }, reference, cowfs, trace, p);
    }

    private void moveStep(Random random, Side reference, Side cowfs, String trace, String p, String q)
            throws IOException {
        List<CopyOption> options = new ArrayList<>();
        if (random.nextBoolean()) {
            options.add(StandardCopyOption.REPLACE_EXISTING);
        }
        if (random.nextInt(3) == 0) {
            options.add(StandardCopyOption.ATOMIC_MOVE);
            Path source = reference.path(p);
            Path target = reference.path(q);
            if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
                if (!options.contains(StandardCopyOption.REPLACE_EXISTING)) {
                    return; // jimfs replaces, cowfs refuses (see the class comment)
                }
                if (Files.isDirectory(source, LinkOption.NOFOLLOW_LINKS)
                        != Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
                    return; // jimfs replaces, rename(2) refuses (see the class comment)
                }
            }
        }
        CopyOption[] array = options.toArray(CopyOption[]::new);
        boolean intoItself = isDirectoryIntoItself(reference.path(p), reference.path(q));
        String operation = "move " + p + " -> " + q + " " + options;
        Action move = side -> Files.move(side.path(p), side.path(q), array).toString();
        String expected = outcome(move, reference);
        String actual = outcome(move, cowfs);
        if (intoItself && expected.equals("error I/O") && actual.equals("error FileAlreadyExists")) {
            return; // an existing target is refused first, as by Linux and the JDK (see the class comment)
        }
        check(operation, expected, actual, reference, trace, p, q);
    }

    /** Whether {@code source} is a directory and {@code target}'s directory is it or below it (physically). */
    private static boolean isDirectoryIntoItself(Path source, Path target) throws IOException {
        if (!Files.isDirectory(source, LinkOption.NOFOLLOW_LINKS) || !Files.isDirectory(target.getParent())) {
            return false;
        }
        return target.getParent().toRealPath().startsWith(source.toRealPath());
    }

    private static String randomPath(Random random) {
        int depth = 1 + random.nextInt(3);
        StringBuilder path = new StringBuilder();
        for (int i = 0; i < depth; i++) {
            path.append(i == 0 ? "" : "/").append(NAMES[random.nextInt(NAMES.length)]);
        }
        return path.toString();
    }

    private static String randomLinkTarget(Random random) {
        return switch (random.nextInt(4)) {
            case 0 -> NAMES[random.nextInt(NAMES.length)];
            case 1 -> "../" + NAMES[random.nextInt(NAMES.length)];
            case 2 -> BASE + "/" + randomPath(random);
            default -> randomPath(random);
        };
    }

    // ------------------------------------------------------------------ comparing outcomes

    private void compare(String operation, Action action, Side reference, Side cowfs, String trace,
                         String... paths) throws IOException {
        check(operation, outcome(action, reference), outcome(action, cowfs), reference, trace, paths);
    }

    private static void check(String operation, String expected, String actual, Side reference, String trace,
                              String... paths) {
        if (expected.equals(actual)) {
            return;
        }
        if (expected.startsWith("error ") && isNotDirectory(actual) && throughNonDirectory(reference, paths)) {
            return;
        }
        fail(trace + ": " + operation + ": jimfs gave <" + expected + ">, cowfs <" + actual + ">; jimfs tree:\n"
                + dump(reference.fileSystem.getPath(BASE)));
    }

    private static String outcome(Action action, Side side) {
        try {
            return "ok " + action.run(side);
        } catch (NoSuchFileException e) {
            return "error NoSuchFile";
        } catch (FileAlreadyExistsException e) {
            return "error FileAlreadyExists";
        } catch (DirectoryNotEmptyException e) {
            return "error DirectoryNotEmpty";
        } catch (NotDirectoryException e) {
            return "error NotDirectory";
        } catch (NotLinkException e) {
            return "error NotLink";
        } catch (AtomicMoveNotSupportedException e) {
            return "error AtomicMoveNotSupported";
        } catch (FileSystemException e) {
            return "error I/O" + (e.getReason() != null && e.getReason().equals("Not a directory") ? " ENOTDIR" : "");
        } catch (IOException e) {
            return "error I/O";
        } catch (RuntimeException e) {
            return "error " + e.getClass().getSimpleName();
        }
    }

    private static boolean isNotDirectory(String outcome) {
        return outcome.equals("error I/O ENOTDIR") || outcome.equals("error NotDirectory");
    }

    /** Whether resolving some path meets an existing non-directory before its last name (ENOTDIR on Linux). */
    private static boolean throughNonDirectory(Side reference, String... paths) {
        for (String relative : paths) {
            if (meetsNonDirectory(reference.path(relative), 0)) {
                return true;
            }
        }
        return false;
    }

    /** Also follows a link at the end: operations that follow it meet what it leads through. */
    private static boolean meetsNonDirectory(Path path, int linksFollowed) {
        Path current = path.getRoot();
        for (int i = 0; i < path.getNameCount(); i++) {
            current = current.resolve(path.getName(i));
            if (i == path.getNameCount() - 1 && !Files.isSymbolicLink(current)) {
                return false;
            }
            if (Files.isSymbolicLink(current) && linksFollowed < 40) {
                try {
                    Path target = current.getParent().resolve(Files.readSymbolicLink(current));
                    if (meetsNonDirectory(target.resolve("child"), linksFollowed + 1)) {
                        return true;
                    }
                } catch (IOException e) {
                    throw new AssertionError("reading link " + current + " of the reference", e);
                }
            }
            if (!Files.exists(current)) {
                return false;
            }
            if (!Files.isDirectory(current)) {
                return true;
            }
        }
        return false;
    }

    /** The tree below {@code directory}, one entry a line, for failure messages. */
    private static String dump(Path directory) {
        StringBuilder text = new StringBuilder();
        try (var walk = Files.walk(directory)) {
            walk.forEach(path -> {
                text.append(path);
                try {
                    if (Files.isSymbolicLink(path)) {
                        text.append(" -> ").append(Files.readSymbolicLink(path));
                    } else if (Files.isRegularFile(path)) {
                        text.append(" (").append(Files.size(path)).append(" bytes)");
                    } else {
                        text.append('/');
                    }
                } catch (IOException e) {
                    text.append(" (").append(e).append(')');
                }
                text.append('\n');
            });
        } catch (IOException e) {
            text.append("(walk failed: ").append(e).append(')');
        }
        return text.toString();
    }

    private static String describe(byte[] bytes) {
        CRC32 crc = new CRC32();
        crc.update(bytes);
        return bytes.length + " bytes, crc " + Long.toHexString(crc.getValue());
    }

    private static String describe(BasicFileAttributes attributes) {
        String type = attributes.isDirectory() ? "directory" : attributes.isRegularFile() ? "file"
                : attributes.isSymbolicLink() ? "link" : "other";
        return type + (attributes.isRegularFile() ? " of " + attributes.size() + " bytes" : "");
    }

    private static String list(Path directory) throws IOException {
        List<String> names = new ArrayList<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(directory)) {
            for (Path entry : stream) {
                names.add(entry.getFileName().toString());
            }
        }
        names.sort(null);
        return names.toString();
    }

    // ------------------------------------------------------------------ comparing trees

    private static void compareTrees(Path expected, Path actual, String trace) throws IOException {
        Map<String, Path> expectedEntries = entries(expected);
        Map<String, Path> actualEntries = entries(actual);
        assertEquals(expectedEntries.keySet(), actualEntries.keySet(), trace + ": entries of " + actual);
        for (String name : expectedEntries.keySet()) {
            Path expectedPath = expectedEntries.get(name);
            Path actualPath = actualEntries.get(name);
            String where = trace + ": " + actualPath;
            Map<String, Object> expectedAttributes = Files.readAttributes(expectedPath, "unix:*",
                    LinkOption.NOFOLLOW_LINKS);
            Map<String, Object> actualAttributes = Files.readAttributes(actualPath, "unix:*",
                    LinkOption.NOFOLLOW_LINKS);
            for (String attribute : List.of("isDirectory", "isRegularFile", "isSymbolicLink", "nlink")) {
                assertEquals(expectedAttributes.get(attribute), actualAttributes.get(attribute),
                        where + ": " + attribute);
            }
            if (Files.isSymbolicLink(expectedPath)) {
                assertEquals(Files.readSymbolicLink(expectedPath).toString(),
                        Files.readSymbolicLink(actualPath).toString(), where + ": link target");
            } else if (Files.isDirectory(expectedPath, LinkOption.NOFOLLOW_LINKS)) {
                compareTrees(expectedPath, actualPath, trace);
            } else {
                assertArrayEquals(Files.readAllBytes(expectedPath), Files.readAllBytes(actualPath),
                        where + ": contents");
                assertEquals(expectedAttributes.get("size"), actualAttributes.get("size"), where + ": size");
            }
        }
    }

    private static Map<String, Path> entries(Path directory) throws IOException {
        Map<String, Path> entries = new TreeMap<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(directory)) {
            for (Path entry : stream) {
                entries.put(entry.getFileName().toString(), entry);
            }
        }
        return entries;
    }
}
