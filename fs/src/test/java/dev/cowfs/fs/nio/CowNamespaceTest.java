package dev.cowfs.fs.nio;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.NotLinkException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.stream.Stream;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static java.nio.file.StandardCopyOption.ATOMIC_MOVE;
import static java.nio.file.StandardCopyOption.COPY_ATTRIBUTES;
import static java.nio.file.StandardCopyOption.REPLACE_EXISTING;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Directories, deleting, links, moves and copies, and the exceptions they give. */
class CowNamespaceTest {
    @TempDir
    Path temp;
    private FileSystem fileSystem;

    @BeforeEach
    void open() throws IOException {
        fileSystem = CowNioTesting.create(temp.resolve("image"));
    }

    @AfterEach
    void close() throws IOException {
        fileSystem.close();
    }

    private Path path(String text) {
        return fileSystem.getPath(text);
    }

    // ------------------------------------------------------------------ directories and deleting

    @Test
    void createDirectoryRefusesAnExistingNameAMissingParentAndAFileOnTheWay() throws IOException {
        Files.createDirectory(path("/dir"));
        Files.createFile(path("/file"));
        FileAlreadyExistsException exists = assertThrows(FileAlreadyExistsException.class,
                () -> Files.createDirectory(path("/dir")));
        assertEquals("/dir", exists.getFile());
        assertThrows(FileAlreadyExistsException.class, () -> Files.createDirectory(path("/")));
        assertThrows(FileAlreadyExistsException.class, () -> Files.createDirectory(path("/dir/.")));
        NoSuchFileException missing = assertThrows(NoSuchFileException.class,
                () -> Files.createDirectory(path("/none/dir")));
        assertEquals("/none/dir", missing.getFile());
        FileSystemException notDirectory = assertThrows(FileSystemException.class,
                () -> Files.createDirectory(path("/file/dir")));
        assertEquals(FileSystemException.class, notDirectory.getClass());
        assertEquals("/file/dir", notDirectory.getFile());
        assertEquals("Not a directory", notDirectory.getReason());
        assertEquals(path("/a/b/c"), Files.createDirectories(path("/a/b/c")));
        assertTrue(Files.isDirectory(path("/a/b/c")));
    }

    @Test
    void deleteRemovesFilesLinksAndEmptyDirectoriesButNotFullOnes() throws IOException {
        Files.createDirectories(path("/full/inner"));
        Path link = Files.createSymbolicLink(path("/link"), path("full"));
        DirectoryNotEmptyException full = assertThrows(DirectoryNotEmptyException.class,
                () -> Files.delete(path("/full")));
        assertEquals("/full", full.getFile());
        Files.delete(link);
        assertTrue(Files.isDirectory(path("/full/inner")), "deleting a link leaves its target");
        Files.delete(path("/full/inner"));
        Files.delete(path("/full"));
        assertFalse(Files.exists(path("/full")));
        NoSuchFileException missing = assertThrows(NoSuchFileException.class, () -> Files.delete(path("/full")));
        assertEquals("/full", missing.getFile());
        assertFalse(Files.deleteIfExists(path("/full")));
        FileSystemException root = assertThrows(FileSystemException.class, () -> Files.delete(path("/")));
        assertEquals("/", root.getFile());
    }

    @Test
    void directoryStreamsListEveryEntryOnceThroughFiltersAndGlobs() throws IOException {
        Path dir = Files.createDirectory(path("/dir"));
        Set<String> expected = new TreeSet<>();
        for (int i = 0; i < 600; i++) {
            String name = "entry-" + i + (i % 3 == 0 ? ".txt" : ".bin");
            Files.createFile(dir.resolve(name));
            expected.add(name);
        }
        assertEquals(expected, names(Files.newDirectoryStream(dir)));
        Set<String> texts = new TreeSet<>();
        expected.stream().filter(name -> name.endsWith(".txt")).forEach(texts::add);
        assertEquals(texts, names(Files.newDirectoryStream(dir, "*.txt")));
        assertEquals(Set.of("entry-1.bin"), names(Files.newDirectoryStream(dir,
                entry -> entry.getFileName().toString().equals("entry-1.bin"))));
        Files.createSymbolicLink(path("/link"), dir);
        assertEquals(expected.size(), names(Files.newDirectoryStream(path("/link"))).size());
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir)) {
            Iterator<Path> iterator = stream.iterator();
            assertThrows(IllegalStateException.class, stream::iterator);
            Path first = iterator.next();
            assertEquals(dir, first.getParent());
        }
    }

    @Test
    void listingWhileRemovingSeesEverySurvivorOnceAndRemovedEntriesOnlyFromTheBatchAlreadyRead()
            throws IOException {
        Path dir = Files.createDirectory(path("/dir"));
        int count = 3 * CowDirectoryStream.BATCH_ENTRIES;
        for (int i = 0; i < count; i++) {
            Files.createFile(dir.resolve("f" + i));
        }
        List<Integer> seen = new ArrayList<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir)) {
            for (Path entry : stream) {
                seen.add(Integer.parseInt(entry.getFileName().toString().substring(1)));
                if (seen.size() == 10) {
                    for (int i = 0; i < count; i += 2) {
                        Files.deleteIfExists(dir.resolve("f" + i));
                    }
                }
            }
        }
        assertEquals(seen.size(), new TreeSet<>(seen).size(), "no entry twice");
        for (int i = 1; i < count; i += 2) {
            assertTrue(seen.contains(i), "survivor f" + i + " listed");
        }
        long removedSeenLate = seen.subList(10, seen.size()).stream().filter(i -> i % 2 == 0).count();
        assertTrue(removedSeenLate <= CowDirectoryStream.BATCH_ENTRIES, removedSeenLate + " removed entries seen");
        assertTrue(seen.size() < count, "removed entries past the batch read are not listed");
    }

    @Test
    void aDirectoryStreamOfAFileOrAMissingDirectoryIsRefusedAndFilterErrorsSurface() throws IOException {
        Files.createFile(path("/file"));
        NotDirectoryException notDirectory = assertThrows(NotDirectoryException.class,
                () -> Files.newDirectoryStream(path("/file")));
        assertEquals("/file", notDirectory.getFile());
        assertThrows(NotDirectoryException.class, () -> Files.newDirectoryStream(path("/file/inner")));
        assertThrows(NoSuchFileException.class, () -> Files.newDirectoryStream(path("/missing")));
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(path("/"), entry -> {
            throw new IOException("filter failed on " + entry);
        })) {
            DirectoryIteratorException failure = assertThrows(DirectoryIteratorException.class,
                    () -> stream.iterator().hasNext());
            assertTrue(failure.getCause().getMessage().contains("/file"));
        }
    }

    @Test
    void aNameLongerThanTheLimitIsFileNameTooLong() {
        Path path = path("/" + "n".repeat(256));
        FileSystemException tooLong = assertThrows(FileSystemException.class, () -> Files.createFile(path));
        assertEquals(path.toString(), tooLong.getFile());
        assertEquals("File name too long", tooLong.getReason());
    }

    // ------------------------------------------------------------------ links

    @Test
    void symbolicLinksKeepTheirTargetTextAndResolveFromTheirDirectory() throws IOException {
        Files.createDirectories(path("/a/b"));
        Files.writeString(path("/a/target"), "reached");
        Path link = Files.createSymbolicLink(path("/a/b/link"), path("../target"));
        assertEquals(path("../target"), Files.readSymbolicLink(link));
        assertEquals("reached", Files.readString(link));
        assertTrue(Files.isSymbolicLink(link));
        NotLinkException notLink = assertThrows(NotLinkException.class,
                () -> Files.readSymbolicLink(path("/a/target")));
        assertEquals("/a/target", notLink.getFile());
        assertThrows(FileAlreadyExistsException.class, () -> Files.createSymbolicLink(link, path("x")));
        Files.createSymbolicLink(path("/loop1"), path("loop2"));
        Files.createSymbolicLink(path("/loop2"), path("loop1"));
        FileSystemException loop = assertThrows(FileSystemException.class, () -> Files.readString(path("/loop1")));
        assertEquals("/loop1", loop.getFile());
        assertTrue(loop.getReason().startsWith("Too many levels of symbolic links"), loop.getReason());
    }

    @Test
    void hardLinksShareOneFileAndLinkASymbolicLinkItself() throws IOException {
        Path file = Files.writeString(path("/file"), "one");
        Path hard = Files.createLink(path("/hard"), file);
        Files.writeString(hard, "two");
        assertEquals("two", Files.readString(file));
        assertEquals(2, Files.getAttribute(file, "unix:nlink"));
        assertTrue(Files.isSameFile(file, hard));
        Path symbolic = Files.createSymbolicLink(path("/symbolic"), file);
        Path linkToLink = Files.createLink(path("/link-to-link"), symbolic);
        assertTrue(Files.isSymbolicLink(linkToLink), "as link(2) on Linux: the link itself");
        Files.createDirectory(path("/dir"));
        FileSystemException directory = assertThrows(FileSystemException.class,
                () -> Files.createLink(path("/dir-link"), path("/dir")));
        assertEquals("/dir-link", directory.getFile());
        assertEquals("/dir", directory.getOtherFile());
        assertEquals("Operation not permitted", directory.getReason());
        assertThrows(FileAlreadyExistsException.class, () -> Files.createLink(hard, file));
        assertThrows(NoSuchFileException.class, () -> Files.createLink(path("/new"), path("/missing")));
        try (FileSystem other = CowNioTesting.create(temp.resolve("other"))) {
            FileSystemException crossing = assertThrows(FileSystemException.class,
                    () -> Files.createLink(other.getPath("/link"), file));
            assertTrue(crossing.getReason().toLowerCase().contains("cross-device"), crossing.getReason());
        }
    }

    @Test
    void isSameFileComparesTheFilesNamesLead() throws IOException {
        Path file = Files.createFile(path("/file"));
        Path other = Files.createFile(path("/other"));
        assertTrue(Files.isSameFile(file, Files.createSymbolicLink(path("/link"), file)));
        assertFalse(Files.isSameFile(file, other));
        assertTrue(Files.isSameFile(path("/missing"), path("/missing")), "equal paths, as the JDK");
        assertThrows(NoSuchFileException.class, () -> Files.isSameFile(file, path("/missing")));
    }

    // ------------------------------------------------------------------ moves

    @Test
    void moveRenamesFilesAndWholeDirectories() throws IOException {
        Files.createDirectories(path("/dir/inner"));
        Files.writeString(path("/dir/inner/file"), "moved along");
        Files.move(path("/dir"), path("/renamed"));
        assertFalse(Files.exists(path("/dir")));
        assertEquals("moved along", Files.readString(path("/renamed/inner/file")));
        Files.move(path("/renamed/inner/file"), path("/file"));
        assertEquals("moved along", Files.readString(path("/file")));
        NoSuchFileException missing = assertThrows(NoSuchFileException.class,
                () -> Files.move(path("/missing"), path("/x")));
        assertEquals("/missing", missing.getFile());
    }

    @Test
    void moveReplacesOnlyWithReplaceExistingAndNeverAFullDirectory() throws IOException {
        Files.writeString(path("/source"), "source");
        Files.writeString(path("/target"), "target");
        FileAlreadyExistsException exists = assertThrows(FileAlreadyExistsException.class,
                () -> Files.move(path("/source"), path("/target")));
        assertEquals("/target", exists.getFile());
        Files.move(path("/source"), path("/target"), REPLACE_EXISTING);
        assertEquals("source", Files.readString(path("/target")));
        Files.createDirectory(path("/empty"));
        Files.move(path("/target"), path("/empty"), REPLACE_EXISTING);
        assertTrue(Files.isRegularFile(path("/empty")), "a file replaces an empty directory");
        Files.createDirectories(path("/dir/inner"));
        Files.move(path("/dir/inner"), path("/empty"), REPLACE_EXISTING);
        assertTrue(Files.isDirectory(path("/empty")), "a directory replaces a file");
        Files.createFile(path("/empty/child"));
        Files.createDirectory(path("/other"));
        DirectoryNotEmptyException full = assertThrows(DirectoryNotEmptyException.class,
                () -> Files.move(path("/other"), path("/empty"), REPLACE_EXISTING));
        assertEquals("/empty", full.getFile());
        assertTrue(Files.exists(path("/empty/child")));
    }

    @Test
    void atomicMoveIsOneRenameThatReplacesOnlyWithReplaceExisting() throws IOException {
        Files.writeString(path("/source"), "source");
        Files.writeString(path("/target"), "target");
        assertThrows(FileAlreadyExistsException.class, () -> Files.move(path("/source"), path("/target"),
                ATOMIC_MOVE));
        assertEquals("target", Files.readString(path("/target")));
        Files.move(path("/source"), path("/target"), ATOMIC_MOVE, REPLACE_EXISTING);
        assertEquals("source", Files.readString(path("/target")));
        assertFalse(Files.exists(path("/source")));
        Files.createDirectory(path("/dir"));
        FileSystemException kinds = assertThrows(FileSystemException.class,
                () -> Files.move(path("/dir"), path("/target"), ATOMIC_MOVE, REPLACE_EXISTING));
        assertEquals("/dir", kinds.getFile());
        assertEquals("/target", kinds.getOtherFile());
        assertTrue(Files.isDirectory(path("/dir")) && Files.isRegularFile(path("/target")));
    }

    @Test
    void aDirectoryCannotMoveIntoItselfAndTheTargetSurvivesTheRefusal() throws IOException {
        Files.createDirectories(path("/dir/sub"));
        Files.writeString(path("/dir/sub/file"), "kept");
        FileSystemException intoItself = assertThrows(FileSystemException.class,
                () -> Files.move(path("/dir"), path("/dir/sub/file"), REPLACE_EXISTING));
        assertEquals("Invalid argument", intoItself.getReason());
        assertEquals("kept", Files.readString(path("/dir/sub/file")));
        assertThrows(FileSystemException.class, () -> Files.move(path("/dir"), path("/dir/sub/new")));
        assertTrue(Files.isDirectory(path("/dir/sub")));
    }

    /**
     * Replacing a symbolic link that the target's directory or the source is reached through, directly or by way
     * of another link ({@code r -> p/q}, {@code p/q -> .}, target {@code r/q}): like the JDK's
     * own provider on this machine, cowfs deletes the link, then finds the path gone (NoSuchFile) for the new
     * entry or the moved source. A file copy reads the source it found before the delete (as {@code cp
     * --remove-destination} does with the source it opened), where the JDK looks the source up again and fails.
     */
    @Test
    void replacingALinkThatAPathGoesThroughBehavesAsTheJdkProvider() throws IOException {
        Path local = Files.createDirectory(temp.resolve("local"));
        for (Path base : List.of(path("/"), local)) {
            Files.createDirectories(base.resolve("d/x"));
            Files.createDirectories(base.resolve("b/sub"));
            Files.writeString(base.resolve("b/file"), "data");
            Files.createSymbolicLink(base.resolve("d/x/self"), base.getFileSystem().getPath("."));
            Files.createSymbolicLink(base.resolve("a"), base.getFileSystem().getPath("b"));
            Files.createSymbolicLink(base.resolve("c"), base.getFileSystem().getPath("b"));
            Files.createDirectory(base.resolve("m"));
            Files.createDirectory(base.resolve("p"));
            Files.createSymbolicLink(base.resolve("p/q"), base.getFileSystem().getPath("."));
            Files.createSymbolicLink(base.resolve("r"), base.getFileSystem().getPath("p/q"));
        }
        List<String> cowfs = new ArrayList<>();
        List<String> jdk = new ArrayList<>();
        for (Path base : List.of(path("/"), local)) {
            List<String> outcomes = base == local ? jdk : cowfs;
            outcomes.add(outcome(() -> Files.copy(base.resolve("d/x"), base.resolve("d/x/self/self"),
                    REPLACE_EXISTING)));
            outcomes.add(outcome(() -> Files.copy(base.resolve("c/file"), base.resolve("c"), REPLACE_EXISTING)));
            outcomes.add(outcome(() -> Files.move(base.resolve("a/sub"), base.resolve("a"), REPLACE_EXISTING)));
            // the link replaced is one the target's directory is reached through by way of another link
            outcomes.add(outcome(() -> Files.move(base.resolve("m"), base.resolve("r/q"), REPLACE_EXISTING)));
            try (Stream<Path> walk = Files.walk(base)) {
                walk.filter(p -> !p.startsWith(local) || base == local).map(p -> base.relativize(p).toString())
                        .filter(name -> !name.equals("image") && !name.startsWith("image.")
                                && !name.startsWith("local"))
                        .sorted().forEach(outcomes::add);
            }
        }
        assertEquals(List.of("NoSuchFile", "NoSuchFile", "NoSuchFile", "NoSuchFile", "", "b", "b/file", "b/sub", "d",
                "d/x", "m", "p", "r"), jdk);
        assertEquals(List.of("NoSuchFile", "ok", "NoSuchFile", "NoSuchFile", "", "b", "b/file", "b/sub", "c", "d",
                "d/x", "m", "p", "r"), cowfs);
        assertEquals("data", Files.readString(path("/c"), StandardCharsets.UTF_8));
        assertFalse(Files.isSymbolicLink(path("/c")));
    }

    private interface IoAction {
        Object run() throws IOException;
    }

    private static String outcome(IoAction action) {
        try {
            action.run();
            return "ok";
        } catch (IOException e) {
            return e.getClass().getSimpleName().replace("Exception", "");
        }
    }

    @Test
    void moveToAnotherImageCopiesAndDeletesButCannotBeAtomic() throws IOException {
        Path file = Files.writeString(path("/file"), "travelling");
        Files.setLastModifiedTime(file, FileTime.from(Instant.parse("2019-05-06T07:08:09Z")));
        Files.createDirectories(path("/full/inner"));
        Files.createSymbolicLink(path("/link"), path("somewhere"));
        try (FileSystem other = CowNioTesting.create(temp.resolve("other"))) {
            assertThrows(AtomicMoveNotSupportedException.class,
                    () -> Files.move(file, other.getPath("/file"), ATOMIC_MOVE));
            Files.move(file, other.getPath("/file"));
            assertFalse(Files.exists(file));
            assertEquals("travelling", Files.readString(other.getPath("/file")));
            assertEquals(FileTime.from(Instant.parse("2019-05-06T07:08:09Z")),
                    Files.getLastModifiedTime(other.getPath("/file")));
            DirectoryNotEmptyException full = assertThrows(DirectoryNotEmptyException.class,
                    () -> Files.move(path("/full"), other.getPath("/full")));
            assertEquals("/full", full.getFile());
            Files.move(path("/full/inner"), other.getPath("/inner"));
            assertTrue(Files.isDirectory(other.getPath("/inner")));
            Files.move(path("/link"), other.getPath("/link"));
            assertEquals("somewhere", Files.readSymbolicLink(other.getPath("/link")).toString());
            assertFalse(Files.exists(path("/link"), LinkOption.NOFOLLOW_LINKS));
        }
    }

    // ------------------------------------------------------------------ copies

    @Test
    void copyCopiesBytesAndModeAndWithCopyAttributesAlsoTimesAndOwner() throws IOException {
        Path source = Files.writeString(path("/source"), "bytes to copy");
        Files.setPosixFilePermissions(source, PosixFilePermissions.fromString("rwx------"));
        Files.setLastModifiedTime(source, FileTime.from(Instant.parse("2018-01-01T00:00:00.5Z")));
        Files.setAttribute(source, "unix:uid", 4321);
        Path plain = Files.copy(source, path("/plain"));
        assertEquals("bytes to copy", Files.readString(plain));
        assertEquals(PosixFilePermissions.fromString("rwx------"), Files.getPosixFilePermissions(plain));
        assertNotEquals(Files.getLastModifiedTime(source), Files.getLastModifiedTime(plain));
        assertNotEquals(4321, Files.getAttribute(plain, "unix:uid"));
        Path full = Files.copy(source, path("/full"), COPY_ATTRIBUTES);
        assertEquals(Files.getLastModifiedTime(source), Files.getLastModifiedTime(full));
        assertEquals(4321, Files.getAttribute(full, "unix:uid"));
        assertFalse(Files.isSameFile(source, full));
    }

    @Test
    void copyReplacesOnlyWithReplaceExistingAndRefusesAtomicMove() throws IOException {
        Path source = Files.writeString(path("/source"), "new");
        Path target = Files.writeString(path("/target"), "old");
        assertThrows(FileAlreadyExistsException.class, () -> Files.copy(source, target));
        Files.copy(source, target, REPLACE_EXISTING);
        assertEquals("new", Files.readString(target));
        Files.createDirectories(path("/full/inner"));
        assertThrows(DirectoryNotEmptyException.class, () -> Files.copy(source, path("/full"), REPLACE_EXISTING));
        assertThrows(UnsupportedOperationException.class, () -> Files.copy(source, path("/x"), ATOMIC_MOVE));
        Files.copy(source, source);
        Path hard = Files.createLink(path("/hard"), source);
        Files.copy(source, hard, REPLACE_EXISTING);
        assertEquals(2, Files.getAttribute(source, "unix:nlink"), "copying a file onto itself does nothing");
    }

    @Test
    void copyOfADirectoryIsEmptyAndOfALinkFollowsUnlessNofollow() throws IOException {
        Files.createDirectories(path("/dir/inner"));
        Files.copy(path("/dir"), path("/copy"));
        try (var entries = Files.list(path("/copy"))) {
            assertEquals(0, entries.count());
        }
        Files.writeString(path("/target"), "target");
        Path link = Files.createSymbolicLink(path("/link"), path("target"));
        Files.copy(link, path("/followed"));
        assertTrue(Files.isRegularFile(path("/followed"), LinkOption.NOFOLLOW_LINKS));
        Files.copy(link, path("/kept"), LinkOption.NOFOLLOW_LINKS);
        assertEquals(path("target"), Files.readSymbolicLink(path("/kept")));
        Files.createSymbolicLink(path("/dangling"), path("nowhere"));
        assertThrows(NoSuchFileException.class, () -> Files.copy(path("/dangling"), path("/x")));
    }

    @Test
    void copyKeepsTheHolesOfASparseFileAndWorksBetweenImages() throws IOException {
        Path sparse = path("/sparse");
        long holeBytes = 64L << 20;
        try (FileChannel channel = FileChannel.open(sparse, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            channel.write(ByteBuffer.wrap("start".getBytes()), 0);
            channel.write(ByteBuffer.wrap("end".getBytes()), holeBytes);
            channel.force(true);
        }
        FileStore store = Files.getFileStore(sparse);
        long usedBefore = store.getTotalSpace() - store.getUsableSpace();
        Path copy = Files.copy(sparse, path("/copy"));
        try (FileChannel channel = FileChannel.open(copy, StandardOpenOption.READ)) {
            channel.force(true);
            assertEquals(holeBytes + 3, channel.size());
            ByteBuffer end = ByteBuffer.allocate(3);
            channel.read(end, holeBytes);
            assertEquals("end", new String(end.array()));
            ByteBuffer middle = ByteBuffer.allocate(4);
            channel.read(middle, holeBytes / 2);
            assertEquals(0, middle.getInt(0));
        }
        long usedAfter = store.getTotalSpace() - store.getUsableSpace();
        assertTrue(usedAfter - usedBefore < (1 << 20), "the hole was not written: used grew by "
                + (usedAfter - usedBefore) + " bytes");
        try (FileSystem other = CowNioTesting.create(temp.resolve("other"))) {
            Path there = Files.copy(sparse, other.getPath("/sparse"));
            assertEquals(holeBytes + 3, Files.size(there));
            assertTrue(Files.exists(sparse), "a copy leaves the source");
        }
    }

    @Test
    void copyWithinAnImageIsAReflinkCloneThatCopiesNoData() throws IOException {
        Path big = path("/big");
        byte[] data = new byte[8 << 20];
        new java.util.Random(4).nextBytes(data);
        Files.write(big, data);
        FileStore store = Files.getFileStore(big);
        try (FileChannel channel = FileChannel.open(big, StandardOpenOption.WRITE)) {
            channel.force(true);
        }
        long usedBefore = store.getTotalSpace() - store.getUsableSpace();
        Path copy = Files.copy(big, path("/copy-of-big"));
        try (FileChannel channel = FileChannel.open(copy, StandardOpenOption.WRITE)) {
            channel.force(true);
        }
        long usedAfter = store.getTotalSpace() - store.getUsableSpace();
        assertTrue(usedAfter - usedBefore < (256 << 10), "copying 8 MiB within the image used "
                + (usedAfter - usedBefore) + " bytes more");
        assertTrue(java.util.Arrays.equals(data, Files.readAllBytes(copy)));
        Files.write(copy, "changed".getBytes(), StandardOpenOption.WRITE);
        assertTrue(java.util.Arrays.equals(data, Files.readAllBytes(big)), "a write to the copy changed the source");
    }

    private static Set<String> names(DirectoryStream<Path> stream) throws IOException {
        Set<String> names = new TreeSet<>();
        try (stream) {
            for (Path entry : stream) {
                assertTrue(names.add(entry.getFileName().toString()), "listed twice: " + entry);
            }
        }
        return names;
    }
}
