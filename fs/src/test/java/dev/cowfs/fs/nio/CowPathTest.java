package dev.cowfs.fs.nio;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.Paths;
import java.nio.file.ProviderMismatchException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Paths: the lexical operations are compared with the JDK's own unix paths on random path strings (the
 * reference for '/'-separated paths), and the operations that look at the image (toRealPath, toUri) are
 * checked on a small tree with links.
 */
class CowPathTest {
    private static final String[] PARTS = {"a", "b", ".", "..", "", "a"};
    private static final int CASES = 3000;

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

    @Test
    void lexicalOperationsAgreeWithTheJdkUnixPaths() {
        FileSystem unix = FileSystems.getDefault();
        assumeTrue(unix.getSeparator().equals("/"), "the reference needs a unix default file system");
        Random random = new Random(7);
        for (int i = 0; i < CASES; i++) {
            String first = randomPathText(random);
            String second = randomPathText(random);
            Path expected = unix.getPath(first);
            Path actual = fileSystem.getPath(first);
            Path expectedOther = unix.getPath(second);
            Path actualOther = fileSystem.getPath(second);
            String trace = "'" + first + "' and '" + second + "'";
            assertEquals(expected.toString(), actual.toString(), trace + ": toString");
            assertEquals(expected.isAbsolute(), actual.isAbsolute(), trace + ": isAbsolute");
            assertEquals(expected.getNameCount(), actual.getNameCount(), trace + ": getNameCount");
            assertEquals(text(expected.getFileName()), text(actual.getFileName()), trace + ": getFileName");
            assertEquals(text(expected.getParent()), text(actual.getParent()), trace + ": getParent");
            assertEquals(text(expected.getRoot()), text(actual.getRoot()), trace + ": getRoot");
            assertEquals(expected.normalize().toString(), actual.normalize().toString(), trace + ": normalize");
            assertEquals(names(expected), names(actual), trace + ": iterator");
            assertEquals(expected.startsWith(expectedOther), actual.startsWith(actualOther), trace + ": startsWith");
            assertEquals(expected.endsWith(expectedOther), actual.endsWith(actualOther), trace + ": endsWith");
            assertEquals(expected.resolve(expectedOther).toString(), actual.resolve(actualOther).toString(),
                    trace + ": resolve");
            assertEquals(outcome(p -> p.relativize(expectedOther), expected),
                    outcome(p -> p.relativize(actualOther), actual), trace + ": relativize");
            assertEquals(Integer.signum(expected.compareTo(expectedOther)),
                    Integer.signum(actual.compareTo(actualOther)), trace + ": compareTo");
            assertEquals(expected.equals(expectedOther), actual.equals(actualOther), trace + ": equals");
            if (actual.equals(actualOther)) {
                assertEquals(actual.hashCode(), actualOther.hashCode(), trace + ": hashCode of equal paths");
            }
            int count = expected.getNameCount();
            int begin = random.nextInt(count + 1);
            int end = begin + random.nextInt(count + 2 - begin);
            assertEquals(outcome(p -> p.subpath(begin, end), expected), outcome(p -> p.subpath(begin, end), actual),
                    trace + ": subpath(" + begin + ", " + end + ")");
            assertEquals(outcome(p -> p.getName(begin), expected), outcome(p -> p.getName(begin), actual),
                    trace + ": getName(" + begin + ")");
        }
    }

    @Test
    void getPathJoinsTheSegmentsAsTheJdkDoes() {
        assertEquals("/a/b/c", fileSystem.getPath("/a", "b", "", "c").toString());
        assertEquals("b", fileSystem.getPath("", "b").toString());
        assertEquals("", fileSystem.getPath("").toString());
        assertEquals(1, fileSystem.getPath("").getNameCount());
        assertThrows(InvalidPathException.class, () -> fileSystem.getPath("a\0b"));
    }

    @Test
    void aPathOfAnotherProviderIsRefusedWhereOneOfOursIsNeeded() throws IOException {
        Path other = Paths.get("a");
        assertThrows(ProviderMismatchException.class, () -> fileSystem.getPath("/x").resolve(other));
        assertThrows(ProviderMismatchException.class, () -> fileSystem.provider().delete(other));
        assertFalse(fileSystem.getPath("/x").startsWith(other));
        assertFalse(fileSystem.provider().isSameFile(fileSystem.getPath("/x"), other));
    }

    @Test
    void toUriGivesAUriThatPathsOfLeadsBackToThePath() throws IOException {
        Path path = fileSystem.getPath("dir with space/file");
        URI uri = path.toUri();
        assertEquals("cowfs", uri.getScheme());
        assertEquals(path.toAbsolutePath(), Paths.get(uri));
        assertEquals(fileSystem.getPath("/"), Paths.get(CowNioTesting.uriOf(temp.resolve("image"))));
    }

    @Test
    void toRealPathFollowsLinksAndDotsAndFailsForMissingFiles() throws IOException {
        Files.createDirectories(fileSystem.getPath("/real/inner"));
        Files.createSymbolicLink(fileSystem.getPath("/link"), fileSystem.getPath("real/inner"));
        Files.createSymbolicLink(fileSystem.getPath("/real/up"), fileSystem.getPath(".."));
        assertEquals(fileSystem.getPath("/real/inner"), fileSystem.getPath("link").toRealPath());
        assertEquals(fileSystem.getPath("/real"), fileSystem.getPath("/link/../.").toRealPath());
        assertEquals(fileSystem.getPath("/real"), fileSystem.getPath("/real/up/real").toRealPath());
        NoSuchFileException missing = assertThrows(NoSuchFileException.class,
                () -> fileSystem.getPath("/link/missing").toRealPath());
        assertEquals("/link/missing", missing.getFile());
    }

    @Test
    void toRealPathWithNofollowKeepsLinksAndTheDotsAfterThem() throws IOException {
        Files.createDirectories(fileSystem.getPath("/real/inner"));
        Files.createSymbolicLink(fileSystem.getPath("/link"), fileSystem.getPath("real/inner"));
        var nofollow = java.nio.file.LinkOption.NOFOLLOW_LINKS;
        assertEquals(fileSystem.getPath("/link"), fileSystem.getPath("/./link").toRealPath(nofollow));
        assertEquals(fileSystem.getPath("/link/.."), fileSystem.getPath("/link/..").toRealPath(nofollow));
        assertEquals(fileSystem.getPath("/real"), fileSystem.getPath("/real/inner/..").toRealPath(nofollow));
    }

    @Test
    void globAndRegexMatchersMatchWholePaths() {
        PathMatcher glob = fileSystem.getPathMatcher("glob:/src/**/*.{java,kt}");
        assertTrue(glob.matches(fileSystem.getPath("/src/a/b/C.java")));
        assertTrue(glob.matches(fileSystem.getPath("/src/x/C.kt")));
        assertFalse(glob.matches(fileSystem.getPath("/src/C.txt")));
        PathMatcher single = fileSystem.getPathMatcher("glob:*.[!a-c]?");
        assertTrue(single.matches(fileSystem.getPath("x.dz")));
        assertFalse(single.matches(fileSystem.getPath("x.bz")));
        assertFalse(single.matches(fileSystem.getPath("d/x.dz")));
        assertTrue(fileSystem.getPathMatcher("regex:.*/[0-9]+").matches(fileSystem.getPath("/a/42")));
        assertThrows(UnsupportedOperationException.class, () -> fileSystem.getPathMatcher("sql:x"));
        assertThrows(IllegalArgumentException.class, () -> fileSystem.getPathMatcher("nocolon"));
    }

    @Test
    void globTranslationAgreesWithTheJdkOnRandomGlobs() {
        FileSystem unix = FileSystems.getDefault();
        assumeTrue(unix.getSeparator().equals("/"), "the reference needs a unix default file system");
        String[] pieces = {"a", "b", "*", "**", "?", "/", "[ab]", "[!a]", "{a,b}", ".", "\\*"};
        String[] subjects = {"a", "b", "ab", "a/b", "a/b/a", ".a", "*", "/a", "ba", "a.b", "", "aa/"};
        Random random = new Random(11);
        for (int i = 0; i < 500; i++) {
            StringBuilder glob = new StringBuilder();
            for (int n = 1 + random.nextInt(4); n > 0; n--) {
                glob.append(pieces[random.nextInt(pieces.length)]);
            }
            PathMatcher expected = unix.getPathMatcher("glob:" + glob);
            PathMatcher actual = fileSystem.getPathMatcher("glob:" + glob);
            for (String subject : subjects) {
                assertEquals(expected.matches(unix.getPath(subject)), actual.matches(fileSystem.getPath(subject)),
                        "glob " + glob + " on '" + subject + "'");
            }
        }
    }

    private static String randomPathText(Random random) {
        StringBuilder text = new StringBuilder(random.nextInt(4) == 0 ? "/" : "");
        for (int n = random.nextInt(5); n > 0; n--) {
            text.append(PARTS[random.nextInt(PARTS.length)]);
            if (n > 1 || random.nextInt(5) == 0) {
                text.append('/');
            }
        }
        return text.toString();
    }

    private static String text(Path path) {
        return path == null ? null : path.toString();
    }

    private static List<String> names(Path path) {
        List<String> names = new ArrayList<>();
        path.forEach(name -> names.add(name.toString()));
        return names;
    }

    /** The result's text, or the exception's type: both paths must agree on which. */
    private static String outcome(Function<Path, Path> operation, Path path) {
        try {
            return "ok " + operation.apply(path);
        } catch (RuntimeException e) {
            return "error " + e.getClass().getSimpleName();
        }
    }

    @Test
    void theRootAndTheEmptyPathHaveTheJdkShapes() {
        Path root = fileSystem.getPath("/");
        assertEquals(0, root.getNameCount());
        assertNull(root.getFileName());
        assertNull(root.getParent());
        assertEquals(root, root.getRoot());
        Path empty = fileSystem.getPath("");
        assertEquals(empty, empty.getFileName());
        assertNull(empty.getRoot());
        assertEquals(root, empty.toAbsolutePath());
    }
}
