package dev.cowfs.fs.nio;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.RandomDistribution;
import net.jqwik.api.Tuple;
import net.jqwik.api.Tuple.Tuple2;

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
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import java.util.zip.CRC32;

import static java.nio.file.StandardOpenOption.APPEND;
import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.CREATE_NEW;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.TRUNCATE_EXISTING;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Random sequences of NIO operations applied to a cowfs image and to jimfs ({@code Configuration.unix()}, the
 * reference for the namespace): after every operation both must give the same result or the same kind of
 * exception, and at the steps that ask for it and at the end both trees (names, types, contents, link targets,
 * link counts) must be equal. Some steps close and reopen the image, and the end compares the trees once more
 * after a reopen, so what is compared has gone through commit and recovery. jqwik generates the operations
 * themselves (paths over three names, sizes, positions, a seed for the bytes written), so a failure shrinks to a
 * short sequence with small arguments. jqwik stops shrinking after 10 seconds unless told otherwise
 * ({@code -Djqwik.shrinking.bounded.seconds=...}); running the test again resumes from the stored shrunk sample.
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
 *   <li>ATOMIC_MOVE of a missing source into a directory behind a loop of symbolic links: jimfs looks for the
 *       source first and says NoSuchFile, rename(2) resolves both directories first and says ELOOP (an I/O
 *       error);</li>
 *   <li>reading into a buffer with no room, at or past the end of the file: jimfs says end of stream (-1), the
 *       JDK's {@code FileChannel} that it read 0 bytes;</li>
 *   <li>skipped (the step does nothing when it is one of these, judged on jimfs's state): a hard link to a
 *       symbolic link (jimfs links the link's target, Linux the link) or to a directory (always refused, but
 *       jimfs says so before looking at the new name's directory, Linux after), writing with CREATE through a
 *       dangling link (jimfs refuses, Linux creates the target), writing nothing at a position (jimfs grows a
 *       shorter file to the position, the JDK's {@code FileChannel} leaves its size), ATOMIC_MOVE with
 *       REPLACE_EXISTING onto a target of the other kind (jimfs replaces, rename(2) refuses), copying or
 *       moving (not ATOMIC_MOVE) with REPLACE_EXISTING onto a symbolic link that the target's directory or the
 *       source is reached through, directly or by way of other links (jimfs keeps what it resolved before deleting the link; the JDK's unix
 *       provider, and cowfs, delete the link and then look the path up again; {@code CowNamespaceTest} compares
 *       cowfs with the JDK there), and ATOMIC_MOVE
 *       without REPLACE_EXISTING onto an existing target (jimfs replaces as rename(2) does; cowfs renames with
 *       RENAME_NOREPLACE and refuses, which {@code Files.move} leaves to the implementation; the focused tests
 *       cover it).</li>
 * </ul>
 */
class NioDifferentialTest {
    private static final String[] NAMES = {"a", "b", "c"};
    private static final String BASE = "/t";
    private static final List<List<StandardOpenOption>> WRITE_OPTIONS = List.of(
            List.of(WRITE),
            List.of(WRITE, CREATE),
            List.of(WRITE, CREATE, TRUNCATE_EXISTING),
            List.of(WRITE, CREATE_NEW),
            List.of(APPEND),
            List.of(APPEND, CREATE),
            List.of(READ, WRITE, CREATE));

    @Property(tries = 45)
    void randomOperationSequencesGiveTheSameResultsAndTreesAsJimfs(
            @ForAll("chunksOfOperations") List<List<Op>> chunks) throws IOException {
        runAndCompare(chunks.stream().flatMap(List::stream).toList());
    }

    /**
     * A sequence the random runs found: {@code a -> /t/b/b} and {@code b/b -> .}, so the target {@code a/b} is the
     * link {@code b/b} itself, reached through {@code a}; replacing it breaks the target's own path (see the class
     * comment), which the test must recognise through the chain of links.
     */
    @Example
    void replacingALinkTheTargetIsReachedThroughByWayOfAnotherLink() throws IOException {
        runAndCompare(List.of(new CreateDirectory("c"), new CreateDirectory("b"), new CreateSymbolicLink("b/b", "."),
                new CreateSymbolicLink("a", BASE + "/b/b"), new Move("c", "a/b", true, false), new CompareTrees()));
    }

    private static void runAndCompare(List<Op> operations) throws IOException {
        Path directory = Files.createTempDirectory("cowfs-nio-differential");
        try (Harness harness = new Harness(directory.resolve("image"))) {
            for (int step = 0; step < operations.size(); step++) {
                harness.trace = "step " + step + " " + operations.get(step);
                operations.get(step).run(harness);
            }
            harness.trace = "end";
            harness.compareTrees();
            harness.reopen();
            harness.trace = "end, after reopen";
            harness.compareTrees();
        } finally {
            deleteTree(directory);
        }
    }

    @Provide
    Arbitrary<List<List<Op>>> chunksOfOperations() {
        Arbitrary<String> name = Arbitraries.of(NAMES);
        Arbitrary<String> path = name.list().ofMinSize(1).ofMaxSize(3)
                .withSizeDistribution(RandomDistribution.uniform()).map(names -> String.join("/", names));
        Arbitrary<String> linkTarget = Arbitraries.oneOf(name, name.map(n -> "../" + n),
                path.map(p -> BASE + "/" + p), path);
        Arbitrary<Integer> writeSize = Arbitraries.frequencyOf(Tuple.of(3, upTo(299)), Tuple.of(1, upTo(5999)));
        Arbitrary<Integer> writePosition = Arbitraries.frequencyOf(Tuple.of(2, Arbitraries.just(-1)),
                Tuple.of(1, upTo(4999)));
        Arbitrary<Boolean> flag = Arbitraries.of(false, true);
        Arbitrary<Op> operation = oneOf(
                weighted(8, path.map(CreateFile::new)),
                weighted(8, path.map(CreateDirectory::new)),
                weighted(4, path.map(CreateDirectories::new)),
                weighted(14, Combinators.combine(path, Arbitraries.of(WRITE_OPTIONS), writeSize, writePosition,
                        Arbitraries.integers()).as(Write::new)),
                weighted(4, Combinators.combine(path, upTo(2999)).as(Truncate::new)),
                weighted(8, path.map(ReadAllBytes::new)),
                weighted(3, Combinators.combine(path, upTo(3999), upTo(1999)).as(ReadRange::new)),
                weighted(8, path.map(Delete::new)),
                weighted(8, Combinators.combine(path, path, flag,
                        Arbitraries.frequency(Tuple.of(2, false), Tuple.of(1, true))).as(Move::new)),
                weighted(6, Combinators.combine(path, path, flag,
                        Arbitraries.frequency(Tuple.of(3, false), Tuple.of(1, true))).as(Copy::new)),
                weighted(6, Combinators.combine(path, linkTarget).as(CreateSymbolicLink::new)),
                weighted(4, Combinators.combine(path, path).as(CreateLink::new)),
                weighted(8, path.map(ListDirectory::new)),
                weighted(8, Combinators.combine(path, flag).as(ReadAttributes::new)),
                weighted(4, path.map(ReadSymbolicLink::new)),
                weighted(3, Arbitraries.just(new Reopen())),
                weighted(3, Arbitraries.just(new CompareTrees())));
        return chunks(operation, 16, 20);
    }

    /**
     * A sequence as up to {@code maxChunks} chunks of up to {@code maxChunkSize} operations, both sizes uniform.
     * jqwik shortens a list only at its ends but shrinks every element, and a chunk shrinks first to the empty
     * chunk: so a failing sequence loses whole runs of steps from its middle at once, and single steps by shrinking
     * to {@link Skip} (one step in a hundred is one, so that it is the first thing a step shrinks to, before its
     * arguments). jqwik's edge cases are off: it would make about half of the operations edge cases (every
     * argument at a bound, such as empty writes at offset 0); {@link #upTo} gives the bounds now and then instead.
     */
    private static Arbitrary<List<List<Op>>> chunks(Arbitrary<Op> operation, int maxChunks, int maxChunkSize) {
        Arbitrary<Boolean> skipped = Arbitraries.frequency(Tuple.of(1, true), Tuple.of(99, false));
        Arbitrary<Op> step = Combinators.combine(skipped, operation).as((skip, op) -> skip ? new Skip() : op);
        return step.withoutEdgeCases().list().ofMaxSize(maxChunkSize)
                .withSizeDistribution(RandomDistribution.uniform()).withoutEdgeCases()
                .list().ofMaxSize(maxChunks).withSizeDistribution(RandomDistribution.uniform());
    }

    /** 0 to {@code max}: uniform, or one time in ten one of the bounds (in place of jqwik's own edge cases). */
    private static Arbitrary<Integer> upTo(int max) {
        return Arbitraries.frequencyOf(
                Tuple.of(9, Arbitraries.integers().between(0, max).withDistribution(RandomDistribution.uniform())),
                Tuple.of(1, Arbitraries.of(0, max)));
    }

    /**
     * One of the weighted operations. Its kind does not shrink: a step shrinks to {@link Skip} or keeps its kind, so
     * that shrinking spends its runs on dropping steps and making arguments small.
     */
    @SafeVarargs
    private static Arbitrary<Op> oneOf(Tuple2<Integer, Arbitrary<? extends Op>>... choices) {
        List<Tuple2<Integer, Integer>> kinds = new ArrayList<>();
        List<Arbitrary<Op>> operations = new ArrayList<>();
        for (Tuple2<Integer, Arbitrary<? extends Op>> choice : choices) {
            kinds.add(Tuple.of(choice.get1(), operations.size()));
            operations.add(choice.get2().map(operation -> (Op) operation));
        }
        return Arbitraries.frequency(kinds).dontShrink().flatMap(operations::get);
    }

    private static Tuple2<Integer, Arbitrary<? extends Op>> weighted(int weight, Arbitrary<? extends Op> operation) {
        return Tuple.of(weight, operation);
    }

    // ------------------------------------------------------------------ operations

    /** One generated step, applied to both sides (or to none, when it is skipped) and compared. */
    sealed interface Op {
        void run(Harness harness) throws IOException;
    }

    /** Does nothing: what a step that does not matter to a failure shrinks to. */
    record Skip() implements Op {
        @Override
        public void run(Harness harness) {
        }
    }

    record CreateFile(String path) implements Op {
        @Override
        public void run(Harness harness) throws IOException {
            harness.compare(side -> Files.createFile(side.path(path)).toString(), path);
        }
    }

    record CreateDirectory(String path) implements Op {
        @Override
        public void run(Harness harness) throws IOException {
            harness.compare(side -> Files.createDirectory(side.path(path)).toString(), path);
        }
    }

    record CreateDirectories(String path) implements Op {
        @Override
        public void run(Harness harness) throws IOException {
            harness.compare(side -> Files.createDirectories(side.path(path)).toString(), path);
        }
    }

    /** Writes {@code sizeBytes} bytes made from {@code contentSeed} at {@code position}, or where it opens if -1. */
    record Write(String path, List<StandardOpenOption> options, int sizeBytes, int position, int contentSeed)
            implements Op {
        @Override
        public void run(Harness harness) throws IOException {
            Path referencePath = harness.reference.path(path);
            if (Files.isSymbolicLink(referencePath) && !Files.exists(referencePath)) {
                return; // a dangling link: jimfs refuses to create its target (see the class comment)
            }
            if (sizeBytes == 0 && position > 0) {
                return; // jimfs would grow the file to the position (see the class comment)
            }
            Set<OpenOption> openOptions = Set.copyOf(options);
            byte[] data = new byte[sizeBytes];
            new Random(contentSeed).nextBytes(data);
            harness.compare(side -> {
                try (SeekableByteChannel channel = Files.newByteChannel(side.path(path), openOptions)) {
                    if (position >= 0) {
                        channel.position(position);
                    }
                    int written = channel.write(ByteBuffer.wrap(data));
                    return written + " bytes, position " + channel.position() + ", size " + channel.size();
                }
            }, path);
        }
    }

    record Truncate(String path, int sizeBytes) implements Op {
        @Override
        public void run(Harness harness) throws IOException {
            harness.compare(side -> {
                try (SeekableByteChannel channel = Files.newByteChannel(side.path(path), WRITE)) {
                    channel.truncate(sizeBytes);
                    return "size " + channel.size();
                }
            }, path);
        }
    }

    record ReadAllBytes(String path) implements Op {
        @Override
        public void run(Harness harness) throws IOException {
            harness.compare(side -> describe(Files.readAllBytes(side.path(path))), path);
        }
    }

    record ReadRange(String path, int position, int lengthBytes) implements Op {
        @Override
        public void run(Harness harness) throws IOException {
            Action read = side -> {
                try (SeekableByteChannel channel = Files.newByteChannel(side.path(path))) {
                    ByteBuffer buffer = ByteBuffer.allocate(lengthBytes);
                    int n = channel.position(position).read(buffer);
                    return n + " " + describe(Arrays.copyOf(buffer.array(), buffer.position()));
                }
            };
            String expected = outcome(read, harness.reference);
            String actual = outcome(read, harness.cowfs);
            String empty = describe(new byte[0]);
            if (expected.equals("ok -1 " + empty) && actual.equals("ok 0 " + empty) && lengthBytes == 0) {
                return; // no room to read into: 0 bytes read, as the JDK says (see the class comment)
            }
            harness.check(expected, actual, path);
        }
    }

    record Delete(String path) implements Op {
        @Override
        public void run(Harness harness) throws IOException {
            harness.compare(side -> {
                Files.delete(side.path(path));
                return "deleted";
            }, path);
        }
    }

    record Move(String source, String target, boolean replaceExisting, boolean atomicMove) implements Op {
        @Override
        public void run(Harness harness) throws IOException {
            Path referenceSource = harness.reference.path(source);
            Path referenceTarget = harness.reference.path(target);
            if (replaceExisting && !atomicMove && replacingBreaksAPath(referenceTarget, referenceSource)) {
                return; // the JDK deletes the link, then looks up paths through it (see the class comment)
            }
            if (atomicMove && Files.exists(referenceTarget, LinkOption.NOFOLLOW_LINKS)) {
                if (!replaceExisting) {
                    return; // jimfs replaces, cowfs refuses (see the class comment)
                }
                if (Files.isDirectory(referenceSource, LinkOption.NOFOLLOW_LINKS)
                        != Files.isDirectory(referenceTarget, LinkOption.NOFOLLOW_LINKS)) {
                    return; // jimfs replaces, rename(2) refuses (see the class comment)
                }
            }
            List<CopyOption> options = new ArrayList<>();
            if (replaceExisting) {
                options.add(StandardCopyOption.REPLACE_EXISTING);
            }
            if (atomicMove) {
                options.add(StandardCopyOption.ATOMIC_MOVE);
            }
            CopyOption[] array = options.toArray(CopyOption[]::new);
            boolean intoItself = isDirectoryIntoItself(referenceSource, referenceTarget);
            Action move = side -> Files.move(side.path(source), side.path(target), array).toString();
            String expected = outcome(move, harness.reference);
            String actual = outcome(move, harness.cowfs);
            if (intoItself && expected.equals("error I/O") && actual.equals("error FileAlreadyExists")) {
                return; // an existing target is refused first, as by Linux and the JDK (see the class comment)
            }
            if (atomicMove && expected.equals("error NoSuchFile") && actual.equals("error I/O")
                    && meetsLinkLoop(referenceTarget.getParent())) {
                return; // rename(2) resolves the target's directory before it looks for the source (see above)
            }
            harness.check(expected, actual, source, target);
        }
    }

    record Copy(String source, String target, boolean replaceExisting, boolean noFollowLinks) implements Op {
        @Override
        public void run(Harness harness) throws IOException {
            List<CopyOption> options = new ArrayList<>();
            if (replaceExisting) {
                options.add(StandardCopyOption.REPLACE_EXISTING);
            }
            if (noFollowLinks) {
                options.add(LinkOption.NOFOLLOW_LINKS);
            }
            CopyOption[] array = options.toArray(CopyOption[]::new);
            Action copy = side -> Files.copy(side.path(source), side.path(target), array).toString();
            if (replaceExisting && replacingBreaksAPath(harness.reference.path(target),
                    harness.reference.path(source))) {
                return; // the JDK deletes the link, then looks up paths through it (see the class comment)
            }
            harness.compare(copy, source, target);
        }
    }

    record CreateSymbolicLink(String path, String target) implements Op {
        @Override
        public void run(Harness harness) throws IOException {
            harness.compare(side -> Files.createSymbolicLink(side.path(path), side.fileSystem.getPath(target))
                    .toString(), path);
        }
    }

    record CreateLink(String path, String existing) implements Op {
        @Override
        public void run(Harness harness) throws IOException {
            Path referenceExisting = harness.reference.path(existing);
            if (Files.isSymbolicLink(referenceExisting) || Files.isDirectory(referenceExisting)) {
                return; // jimfs would link the link's target, or refuse a directory first (see the class comment)
            }
            harness.compare(side -> Files.createLink(side.path(path), side.path(existing)).toString(), path,
                    existing);
        }
    }

    record ListDirectory(String path) implements Op {
        @Override
        public void run(Harness harness) throws IOException {
            harness.compare(side -> list(side.path(path)), path);
        }
    }

    record ReadAttributes(String path, boolean noFollowLinks) implements Op {
        @Override
        public void run(Harness harness) throws IOException {
            LinkOption[] options = noFollowLinks ? new LinkOption[] {LinkOption.NOFOLLOW_LINKS} : new LinkOption[0];
            harness.compare(side -> describe(Files.readAttributes(side.path(path), BasicFileAttributes.class,
                    options)), path);
        }
    }

    record ReadSymbolicLink(String path) implements Op {
        @Override
        public void run(Harness harness) throws IOException {
            harness.compare(side -> Files.readSymbolicLink(side.path(path)).toString(), path);
        }
    }

    /** Closes the cowfs image and opens it again, so what follows reads what was committed and recovered. */
    record Reopen() implements Op {
        @Override
        public void run(Harness harness) throws IOException {
            harness.reopen();
        }
    }

    record CompareTrees() implements Op {
        @Override
        public void run(Harness harness) throws IOException {
            harness.compareTrees();
        }
    }

    /** Whether resolving {@code path} in jimfs meets a loop of symbolic links (a plain {@code IOException}). */
    private static boolean meetsLinkLoop(Path path) {
        try {
            path.toRealPath();
            return false;
        } catch (IOException e) {
            return e.getClass() == IOException.class;
        }
    }

    /**
     * Whether the target exists as a symbolic link that the target's own directory or the source is reached
     * through, directly or by way of other links ({@code a/a -> .} with target {@code a/a/a}; {@code a -> b} with
     * source {@code a/x} and target {@code a}; {@code a -> b/b} and {@code b/b -> .} with target {@code a/b}):
     * replacing it deletes the link, and the path no longer resolves when the copy or move looks it up again.
     */
    private static boolean replacingBreaksAPath(Path target, Path source) throws IOException {
        if (!Files.isSymbolicLink(target) || !Files.exists(target.getParent())) {
            return false;
        }
        Set<Path> linksFollowed = new HashSet<>();
        linksFollowedResolving(target.getParent(), linksFollowed, 0);
        linksFollowedResolving(source.getParent(), linksFollowed, 0);
        return linksFollowed.contains(entryOf(target));
    }

    /**
     * Resolves an absolute path name by name as the kernel does, adding to {@code entries} the entry (real
     * directory and name) of every symbolic link it follows; returns the real path reached, or null where a name is
     * missing or links nest too deep.
     */
    private static Path linksFollowedResolving(Path path, Set<Path> entries, int depth) throws IOException {
        if (depth > 40) {
            return null;
        }
        Path current = path.getRoot();
        for (Path name : path) {
            String text = name.toString();
            if (text.equals(".")) {
                continue;
            }
            if (text.equals("..")) {
                current = current.getParent() == null ? current : current.getParent();
                continue;
            }
            Path next = current.resolve(text);
            if (Files.isSymbolicLink(next)) {
                entries.add(next);
                Path linkTarget = Files.readSymbolicLink(next);
                next = linksFollowedResolving(linkTarget.isAbsolute() ? linkTarget : current.resolve(linkTarget),
                        entries, depth + 1);
            } else if (!Files.exists(next, LinkOption.NOFOLLOW_LINKS)) {
                return null;
            }
            if (next == null) {
                return null;
            }
            current = next;
        }
        return current;
    }

    /** The directory entry a path names: its directory's real path and its last name. */
    private static Path entryOf(Path path) throws IOException {
        return path.getParent().toRealPath().resolve(path.getFileName());
    }

    /** Whether {@code source} is a directory and {@code target}'s directory is it or below it (physically). */
    private static boolean isDirectoryIntoItself(Path source, Path target) throws IOException {
        if (!Files.isDirectory(source, LinkOption.NOFOLLOW_LINKS) || !Files.isDirectory(target.getParent())) {
            return false;
        }
        return target.getParent().toRealPath().startsWith(source.toRealPath());
    }

    // ------------------------------------------------------------------ the two sides

    /** One side of the comparison: a file system (replaced on a reopen) and paths below its base directory. */
    private static final class Side {
        FileSystem fileSystem;

        Side(FileSystem fileSystem) {
            this.fileSystem = fileSystem;
        }

        Path path(String relative) {
            return fileSystem.getPath(BASE, relative);
        }
    }

    private interface Action {
        String run(Side side) throws IOException;
    }

    /** Both sides, the image behind cowfs, and the step being run, for failure messages. */
    private static final class Harness implements AutoCloseable {
        final Path image;
        final Side reference;
        final Side cowfs;
        String trace = "start";

        Harness(Path image) throws IOException {
            this.image = image;
            Configuration configuration = Configuration.unix().toBuilder()
                    .setAttributeViews("basic", "owner", "posix", "unix").build();
            reference = new Side(Jimfs.newFileSystem(configuration));
            cowfs = new Side(CowNioTesting.create(image));
            Files.createDirectory(reference.fileSystem.getPath(BASE));
            Files.createDirectory(cowfs.fileSystem.getPath(BASE));
        }

        void reopen() throws IOException {
            cowfs.fileSystem.close();
            cowfs.fileSystem = CowNioTesting.open(image);
        }

        void compareTrees() throws IOException {
            NioDifferentialTest.compareTrees(reference.fileSystem.getPath(BASE), cowfs.fileSystem.getPath(BASE),
                    trace);
        }

        void compare(Action action, String... paths) {
            check(outcome(action, reference), outcome(action, cowfs), paths);
        }

        void check(String expected, String actual, String... paths) {
            if (expected.equals(actual)) {
                return;
            }
            if (expected.startsWith("error ") && isNotDirectory(actual) && throughNonDirectory(reference, paths)) {
                return;
            }
            fail(trace + ": jimfs gave <" + expected + ">, cowfs <" + actual + ">; jimfs tree:\n"
                    + dump(reference.fileSystem.getPath(BASE)));
        }

        @Override
        public void close() throws IOException {
            try {
                reference.fileSystem.close();
            } finally {
                cowfs.fileSystem.close();
            }
        }
    }

    private static void deleteTree(Path directory) throws IOException {
        try (Stream<Path> walk = Files.walk(directory)) {
            for (Path path : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(path);
            }
        }
    }

    // ------------------------------------------------------------------ comparing outcomes

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
