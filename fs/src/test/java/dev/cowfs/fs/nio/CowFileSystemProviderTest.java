package dev.cowfs.fs.nio;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.ClosedFileSystemException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.FileSystemAlreadyExistsException;
import java.nio.file.FileSystemNotFoundException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.ProviderNotFoundException;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.DosFileAttributeView;
import java.nio.file.attribute.PosixFileAttributeView;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Opening, finding and closing images through the provider; the file store; checks that need no file. */
class CowFileSystemProviderTest {
    @TempDir
    Path temp;

    @Test
    void createTrueMakesAnImageAndClosingCommitsWhatWasWritten() throws IOException {
        Path image = temp.resolve("made.img");
        URI uri = CowNioTesting.uriOf(image);
        try (FileSystem fileSystem = FileSystems.newFileSystem(uri, Map.of("create", "true"))) {
            assertEquals(CowFileSystemProvider.SCHEME, fileSystem.provider().getScheme());
            Files.writeString(fileSystem.getPath("/greeting"), "hello");
        }
        assertTrue(Files.isRegularFile(image));
        try (FileSystem fileSystem = FileSystems.newFileSystem(uri, Map.of())) {
            assertEquals("hello", Files.readString(fileSystem.getPath("/greeting")));
        }
    }

    @Test
    void createTakesABooleanOrItsStringAndRefusesAnythingElse() throws IOException {
        Path image = temp.resolve("boolean.img");
        FileSystems.newFileSystem(CowNioTesting.uriOf(image), Map.of("create", Boolean.TRUE)).close();
        assertTrue(Files.isRegularFile(image));
        URI other = CowNioTesting.uriOf(temp.resolve("other.img"));
        assertThrows(IllegalArgumentException.class, () -> FileSystems.newFileSystem(other, Map.of("create", "yes")));
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> FileSystems.newFileSystem(other, Map.of("create", true, "encoding", "UTF-8")));
        assertTrue(unknown.getMessage().contains("encoding"), unknown.getMessage());
        IllegalArgumentException interval = assertThrows(IllegalArgumentException.class,
                () -> FileSystems.newFileSystem(other, Map.of("create", true, "commitIntervalMillis", "soon")));
        assertTrue(interval.getMessage().contains("commitIntervalMillis"), interval.getMessage());
        assertFalse(Files.exists(temp.resolve("other.img")));
    }

    @Test
    void compressionAndTheCommitIntervalAreTakenFromTheEnvironment() throws IOException {
        Path image = temp.resolve("compressed.img");
        byte[] data = "compressible ".repeat(50_000).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        Map<String, Object> env = Map.of("create", "true", "compress", "true", "commitIntervalMillis", "0");
        try (FileSystem fileSystem = FileSystems.newFileSystem(CowNioTesting.uriOf(image), env)) {
            Path file = Files.write(fileSystem.getPath("/text"), data);
            try (var channel = java.nio.channels.FileChannel.open(file)) {
                channel.force(true);
            }
            FileStore store = Files.getFileStore(file);
            long usedBytes = store.getTotalSpace() - store.getUsableSpace();
            assertTrue(usedBytes < data.length / 2, "compressed: " + usedBytes + " bytes used for " + data.length);
        }
        try (FileSystem fileSystem = CowNioTesting.open(image)) {
            assertEquals(data.length, Files.size(fileSystem.getPath("/text")));
        }
    }

    @Test
    void withoutCreateAMissingImageIsNoSuchFileAndNothingIsMade() {
        Path image = temp.resolve("missing.img");
        NoSuchFileException missing = assertThrows(NoSuchFileException.class,
                () -> FileSystems.newFileSystem(CowNioTesting.uriOf(image), Map.of()));
        assertEquals(image.toString(), missing.getFile());
        assertFalse(Files.exists(image));
    }

    @Test
    void anImageIsOpenOnceAtATimeAndGetFileSystemFindsTheOpenOne() throws IOException {
        Path image = temp.resolve("once.img");
        URI uri = CowNioTesting.uriOf(image);
        FileSystem fileSystem = CowNioTesting.create(image);
        assertThrows(FileSystemAlreadyExistsException.class, () -> CowNioTesting.open(image));
        assertSame(fileSystem, FileSystems.getFileSystem(uri));
        assertSame(fileSystem, FileSystems.getFileSystem(URI.create(uri + "!/some/path")));
        assertEquals(fileSystem.getPath("/some/path"), Paths.get(URI.create(uri + "!/some/path")));
        fileSystem.close();
        assertThrows(FileSystemNotFoundException.class, () -> FileSystems.getFileSystem(uri));
        try (FileSystem again = CowNioTesting.open(image)) {
            assertSame(again, FileSystems.getFileSystem(uri));
        }
    }

    @Test
    void aUriOfAnotherShapeIsRefused() {
        CowFileSystemProvider provider = CowFileSystemProvider.installed();
        assertThrows(IllegalArgumentException.class, () -> provider.getFileSystem(URI.create("file:/x.img")));
        assertThrows(IllegalArgumentException.class, () -> provider.getFileSystem(URI.create("cowfs:x.img")));
        assertThrows(IllegalArgumentException.class, () -> provider.getFileSystem(URI.create("cowfs://host/x")));
    }

    @Test
    void newFileSystemOfAPathOpensAnImageAndDeclinesOtherFilesWithoutTouchingThem() throws IOException {
        Path image = temp.resolve("by-path.img");
        CowFileSystemProvider.installed().newFileSystem(image, Map.of("create", true)).close();
        try (FileSystem fileSystem = FileSystems.newFileSystem(image, Map.of())) {
            assertEquals(CowFileSystemProvider.SCHEME, fileSystem.provider().getScheme());
        }
        Path other = temp.resolve("other.bin");
        Files.write(other, new byte[20_000]);
        assertThrows(ProviderNotFoundException.class, () -> FileSystems.newFileSystem(other, Map.of()));
        assertThrows(UnsupportedOperationException.class,
                () -> CowFileSystemProvider.installed().newFileSystem(other, Map.of()));
        assertFalse(Files.exists(temp.resolve("other.bin.lock")), "declining takes no image lock");
    }

    @Test
    void closingTheFileSystemClosesItsChannelsAndStreamsAndRefusesFurtherUse() throws IOException {
        FileSystem fileSystem = CowNioTesting.create(temp.resolve("closing.img"));
        Path file = fileSystem.getPath("/file");
        SeekableByteChannel channel = Files.newByteChannel(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        DirectoryStream<Path> stream = Files.newDirectoryStream(fileSystem.getPath("/"));
        fileSystem.close();
        assertFalse(fileSystem.isOpen());
        assertFalse(channel.isOpen());
        assertThrows(IllegalStateException.class, stream::iterator);
        assertThrows(ClosedFileSystemException.class, () -> Files.createFile(fileSystem.getPath("/other")));
        assertThrows(ClosedFileSystemException.class, () -> Files.readAttributes(file, "size"));
        fileSystem.close(); // a second close does nothing
    }

    @Test
    void theFileStoreReportsTheImageSpaceAndTheViews() throws IOException {
        Path image = temp.resolve("store.img");
        try (FileSystem fileSystem = CowNioTesting.create(image)) {
            FileStore store = Files.getFileStore(fileSystem.getPath("/"));
            assertEquals("cowfs", store.type());
            assertEquals(image.toRealPath().toString(), store.name());
            assertFalse(store.isReadOnly());
            long total = store.getTotalSpace();
            long usedBefore = total - store.getUsableSpace();
            assertTrue(total > 0 && usedBefore > 0 && usedBefore < total, "total " + total + " used " + usedBefore);
            assertEquals(store.getUsableSpace(), store.getUnallocatedSpace());
            assertEquals(total, store.getAttribute("totalSpace"));
            Path data = fileSystem.getPath("/data");
            try (var channel = Files.newByteChannel(data, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                channel.write(java.nio.ByteBuffer.allocate(4 << 20));
                ((java.nio.channels.FileChannel) channel).force(true);
            }
            long usedAfter = store.getTotalSpace() - store.getUsableSpace();
            assertTrue(usedAfter - usedBefore >= 4 << 20, "4 MiB written: used " + usedBefore + " -> " + usedAfter);
            assertTrue(store.supportsFileAttributeView(PosixFileAttributeView.class));
            assertTrue(store.supportsFileAttributeView(BasicFileAttributeView.class));
            assertFalse(store.supportsFileAttributeView(DosFileAttributeView.class));
            assertTrue(store.supportsFileAttributeView("unix"));
            assertFalse(store.supportsFileAttributeView("dos"));
            assertEquals(Set.of("basic", "owner", "posix", "unix"), fileSystem.supportedFileAttributeViews());
            assertThrows(NoSuchFileException.class, () -> Files.getFileStore(fileSystem.getPath("/missing")));
        }
    }

    @Test
    void hiddenMeansANameStartingWithADotAndAccessMeansExistence() throws IOException {
        try (FileSystem fileSystem = CowNioTesting.create(temp.resolve("hidden.img"))) {
            assertTrue(Files.isHidden(fileSystem.getPath("/dir/.profile")));
            assertFalse(Files.isHidden(fileSystem.getPath("/dir/profile")));
            assertFalse(Files.isHidden(fileSystem.getPath("/")));
            Path file = Files.createFile(fileSystem.getPath("/file"));
            Files.setPosixFilePermissions(file, Set.of());
            assertTrue(Files.isReadable(file) && Files.isWritable(file), "bits are not enforced");
            assertFalse(Files.isReadable(fileSystem.getPath("/missing")));
            NoSuchFileException missing = assertThrows(NoSuchFileException.class,
                    () -> fileSystem.provider().checkAccess(fileSystem.getPath("/missing")));
            assertEquals("/missing", missing.getFile());
        }
    }

    @Test
    void pathsOfTwoImagesAreNeverEqualOrTheSameFile() throws IOException {
        try (FileSystem first = CowNioTesting.create(temp.resolve("first.img"));
             FileSystem second = CowNioTesting.create(temp.resolve("second.img"))) {
            Path one = Files.createFile(first.getPath("/file"));
            Path two = Files.createFile(second.getPath("/file"));
            assertFalse(one.equals(two));
            assertFalse(Files.isSameFile(one, two));
            assertTrue(Files.isSameFile(one, first.getPath("/./file")));
        }
    }
}
