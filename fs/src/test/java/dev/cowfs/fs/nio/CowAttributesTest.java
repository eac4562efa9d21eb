package dev.cowfs.fs.nio;

import dev.cowfs.fs.Inode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.ProviderMismatchException;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.DosFileAttributeView;
import java.nio.file.attribute.DosFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileOwnerAttributeView;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.nio.file.attribute.UserPrincipalNotFoundException;
import java.time.Instant;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The attribute views, the attribute strings, owners and groups, permissions and times. */
class CowAttributesTest {
    private static final Instant MODIFIED = Instant.parse("2020-01-02T03:04:05.123456789Z");
    private static final Instant ACCESSED = Instant.parse("2021-06-07T08:09:10.987654321Z");

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

    @Test
    void basicAttributesDescribeTypeAndSizeAndFollowLinksUnlessTold() throws IOException {
        Path file = Files.write(path("/file"), new byte[1234]);
        Path directory = Files.createDirectory(path("/dir"));
        Path link = Files.createSymbolicLink(path("/link"), file);
        BasicFileAttributes fileAttributes = Files.readAttributes(file, BasicFileAttributes.class);
        assertTrue(fileAttributes.isRegularFile());
        assertEquals(1234, fileAttributes.size());
        assertTrue(Files.readAttributes(directory, BasicFileAttributes.class).isDirectory());
        assertTrue(Files.readAttributes(link, BasicFileAttributes.class).isRegularFile());
        BasicFileAttributes linkItself = Files.readAttributes(link, BasicFileAttributes.class,
                LinkOption.NOFOLLOW_LINKS);
        assertTrue(linkItself.isSymbolicLink());
        assertFalse(linkItself.isRegularFile() || linkItself.isDirectory() || linkItself.isOther());
        NoSuchFileException missing = assertThrows(NoSuchFileException.class,
                () -> Files.readAttributes(path("/missing"), BasicFileAttributes.class));
        assertEquals("/missing", missing.getFile());
    }

    @Test
    void timesAreSetAndReadBackToTheNanosecondAndTheCreationTimeStays() throws IOException {
        Path file = Files.createFile(path("/file"));
        FileTime created = Files.readAttributes(file, BasicFileAttributes.class).creationTime();
        BasicFileAttributeView view = Files.getFileAttributeView(file, BasicFileAttributeView.class);
        view.setTimes(FileTime.from(MODIFIED), FileTime.from(ACCESSED), FileTime.from(Instant.EPOCH));
        BasicFileAttributes attributes = view.readAttributes();
        assertEquals(FileTime.from(MODIFIED), attributes.lastModifiedTime());
        assertEquals(FileTime.from(ACCESSED), attributes.lastAccessTime());
        assertEquals(created, attributes.creationTime(), "the birth time cannot be set");
        Files.setLastModifiedTime(file, FileTime.from(ACCESSED));
        assertEquals(FileTime.from(ACCESSED), Files.getLastModifiedTime(file));
        assertEquals(FileTime.from(ACCESSED), Files.readAttributes(file, BasicFileAttributes.class).lastAccessTime(),
                "a null time leaves that time");
    }

    @Test
    void permissionsGoThroughChmodAndShowInTheUnixMode() throws IOException {
        Path file = Files.createFile(path("/file"));
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-x---"));
        assertEquals(PosixFilePermissions.fromString("rwxr-x---"), Files.getPosixFilePermissions(file));
        assertEquals(Inode.S_IFREG | 0750, Files.getAttribute(file, "unix:mode"));
        Files.setAttribute(file, "unix:mode", 04711);
        assertEquals(Inode.S_IFREG | 04711, Files.getAttribute(file, "unix:mode"));
        assertEquals(PosixFilePermissions.fromString("rwx--x--x"), Files.getPosixFilePermissions(file));
        Files.setAttribute(file, "posix:permissions", PosixFilePermissions.fromString("r--------"));
        assertEquals(Inode.S_IFREG | 0400, Files.getAttribute(file, "unix:mode"));
    }

    @Test
    void newFilesAndDirectoriesGetTheDefaultOrInitialPermissions() throws IOException {
        assertEquals(PosixFilePermissions.fromString("rw-r--r--"),
                Files.getPosixFilePermissions(Files.createFile(path("/file"))));
        assertEquals(PosixFilePermissions.fromString("rwxr-xr-x"),
                Files.getPosixFilePermissions(Files.createDirectory(path("/dir"))));
        FileAttribute<?> privateDirectory = PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rwx------"));
        assertEquals(PosixFilePermissions.fromString("rwx------"),
                Files.getPosixFilePermissions(Files.createDirectory(path("/private"), privateDirectory)));
        FileAttribute<FileTime> notInitial = new FileAttribute<>() {
            @Override
            public String name() {
                return "basic:lastModifiedTime";
            }

            @Override
            public FileTime value() {
                return FileTime.from(MODIFIED);
            }
        };
        assertThrows(UnsupportedOperationException.class, () -> Files.createFile(path("/other"), notInitial));
        assertFalse(Files.exists(path("/other")));
    }

    @Test
    void ownersAndGroupsAreNumbersLookedUpByNumberOrAsTheCurrentUser() throws IOException {
        Path file = Files.createFile(path("/file"));
        ProcessIdentity identity = ProcessIdentity.current();
        assertEquals(identity.uid(), Files.getAttribute(file, "unix:uid"), "new files belong to this process");
        assertEquals(identity.gid(), Files.getAttribute(file, "unix:gid"));
        UserPrincipalLookupService lookup = fileSystem.getUserPrincipalLookupService();
        UserPrincipal user = lookup.lookupPrincipalByName("1000");
        Files.setOwner(file, user);
        assertEquals(1000, Files.getAttribute(file, "unix:uid"));
        assertEquals(user, Files.getOwner(file));
        GroupPrincipal group = lookup.lookupPrincipalByGroupName("50");
        Files.getFileAttributeView(file, PosixFileAttributeView.class).setGroup(group);
        assertEquals(50, Files.getAttribute(file, "unix:gid"));
        assertEquals("50", Files.readAttributes(file, PosixFileAttributes.class).group().getName());
        if (identity.userName() != null) {
            UserPrincipal me = lookup.lookupPrincipalByName(identity.userName());
            Files.setOwner(file, me);
            assertEquals(identity.uid(), Files.getAttribute(file, "unix:uid"));
            assertEquals(identity.userName(), Files.getOwner(file).getName());
        }
        assertThrows(UserPrincipalNotFoundException.class, () -> lookup.lookupPrincipalByName("nobody-here"));
        assertThrows(UserPrincipalNotFoundException.class, () -> lookup.lookupPrincipalByName("99999999999"));
        assertThrows(UserPrincipalNotFoundException.class, () -> lookup.lookupPrincipalByGroupName("wheel"));
        UserPrincipal foreign = () -> "1000";
        assertThrows(ProviderMismatchException.class, () -> Files.setOwner(file, foreign));
        Files.setAttribute(file, "unix:uid", 7);
        assertEquals("7", Files.getOwner(file).getName());
    }

    @Test
    void attributeStringsReadTheNamedViews() throws IOException {
        Path file = Files.write(path("/file"), new byte[10]);
        Path link = path("/hard");
        Files.createLink(link, file);
        assertEquals(Set.of("lastModifiedTime", "lastAccessTime", "creationTime", "size", "isRegularFile",
                "isDirectory", "isSymbolicLink", "isOther", "fileKey"), Files.readAttributes(file, "*").keySet());
        assertEquals(Files.readAttributes(file, "basic:*").keySet(), Files.readAttributes(file, "*").keySet());
        Set<String> posix = Files.readAttributes(file, "posix:*").keySet();
        assertTrue(posix.containsAll(Set.of("permissions", "owner", "group", "size")), posix.toString());
        Map<String, Object> unix = Files.readAttributes(file, "unix:*");
        assertTrue(unix.keySet().containsAll(Set.of("ino", "nlink", "mode", "uid", "gid", "rdev", "ctime")),
                unix.keySet().toString());
        assertEquals(Map.of("owner", Files.getOwner(file)), Files.readAttributes(file, "owner:owner"));
        Map<String, Object> some = Files.readAttributes(file, "unix:ino,nlink,size");
        assertEquals(3, some.size());
        assertEquals(2, some.get("nlink"));
        assertEquals(10L, some.get("size"));
        assertEquals(some.get("ino"), Files.getAttribute(link, "unix:ino"));
        assertThrows(IllegalArgumentException.class, () -> Files.readAttributes(file, "basic:permissions"));
        assertThrows(IllegalArgumentException.class, () -> Files.readAttributes(file, "unix:dev"));
        assertThrows(UnsupportedOperationException.class, () -> Files.readAttributes(file, "dos:*"));
    }

    @Test
    void setAttributeSetsWhatCanBeSetAndRefusesTheRest() throws IOException {
        Path file = Files.createFile(path("/file"));
        Files.setAttribute(file, "lastModifiedTime", FileTime.from(MODIFIED));
        assertEquals(FileTime.from(MODIFIED), Files.getAttribute(file, "basic:lastModifiedTime"));
        Files.setAttribute(file, "basic:lastAccessTime", FileTime.from(ACCESSED));
        assertEquals(FileTime.from(ACCESSED), Files.getAttribute(file, "lastAccessTime"));
        Files.setAttribute(file, "unix:gid", 12);
        assertEquals(12, Files.getAttribute(file, "unix:gid"));
        assertThrows(IllegalArgumentException.class, () -> Files.setAttribute(file, "size", 3L));
        assertThrows(IllegalArgumentException.class, () -> Files.setAttribute(file, "unix:ino", 3L));
        assertThrows(IllegalArgumentException.class, () -> Files.setAttribute(file, "basic:permissions", Set.of()));
        assertThrows(ClassCastException.class, () -> Files.setAttribute(file, "unix:mode", "0644"));
        assertThrows(UnsupportedOperationException.class, () -> Files.setAttribute(file, "dos:hidden", true));
    }

    @Test
    void viewsFollowLinksUnlessMadeWithNofollow() throws IOException {
        Path file = Files.createFile(path("/file"));
        Path link = Files.createSymbolicLink(path("/link"), file);
        Files.getFileAttributeView(link, PosixFileAttributeView.class)
                .setPermissions(PosixFilePermissions.fromString("rw-------"));
        assertEquals(PosixFilePermissions.fromString("rw-------"), Files.getPosixFilePermissions(file));
        PosixFileAttributeView linkView = Files.getFileAttributeView(link, PosixFileAttributeView.class,
                LinkOption.NOFOLLOW_LINKS);
        assertTrue(linkView.readAttributes().isSymbolicLink());
        linkView.setTimes(FileTime.from(MODIFIED), null, null);
        assertEquals(FileTime.from(MODIFIED), Files.getLastModifiedTime(link, LinkOption.NOFOLLOW_LINKS));
        assertNotEquals(FileTime.from(MODIFIED), Files.getLastModifiedTime(file));
        assertEquals("posix", linkView.name());
        assertEquals("basic", Files.getFileAttributeView(file, BasicFileAttributeView.class).name());
        assertEquals("owner", Files.getFileAttributeView(file, FileOwnerAttributeView.class).name());
        assertNull(Files.getFileAttributeView(file, DosFileAttributeView.class));
        assertThrows(UnsupportedOperationException.class, () -> Files.readAttributes(file, DosFileAttributes.class));
    }

    @Test
    void fileKeysAreTheSameForHardLinksOnlyWithinOneImage() throws IOException {
        Path file = Files.createFile(path("/file"));
        Path hard = Files.createLink(path("/hard"), file);
        Path copy = Files.copy(file, path("/copy"));
        Object key = Files.readAttributes(file, BasicFileAttributes.class).fileKey();
        assertEquals(key, Files.readAttributes(hard, BasicFileAttributes.class).fileKey());
        assertNotEquals(key, Files.readAttributes(copy, BasicFileAttributes.class).fileKey());
        try (FileSystem other = CowNioTesting.create(temp.resolve("other"))) {
            Path twin = Files.createFile(other.getPath("/file"));
            assertEquals(Files.getAttribute(file, "unix:ino"), Files.getAttribute(twin, "unix:ino"),
                    "both images number their first file alike");
            assertNotEquals(key, Files.readAttributes(twin, BasicFileAttributes.class).fileKey());
        }
    }
}
