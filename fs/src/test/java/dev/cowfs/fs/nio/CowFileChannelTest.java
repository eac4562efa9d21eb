package dev.cowfs.fs.nio;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.NonReadableChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.channels.OverlappingFileLockException;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystem;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.Random;
import java.util.Set;

import static java.nio.file.StandardOpenOption.APPEND;
import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.CREATE_NEW;
import static java.nio.file.StandardOpenOption.DELETE_ON_CLOSE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.SYNC;
import static java.nio.file.StandardOpenOption.TRUNCATE_EXISTING;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Byte channels: every open option, positions, sizes, transfers, locks, durability and open-handle lifetime. */
class CowFileChannelTest {
    @TempDir
    Path temp;
    private Path image;
    private FileSystem fileSystem;

    @BeforeEach
    void open() throws IOException {
        image = temp.resolve("image");
        fileSystem = CowNioTesting.create(image);
    }

    @AfterEach
    void close() throws IOException {
        fileSystem.close();
    }

    private Path path(String text) {
        return fileSystem.getPath(text);
    }

    private static FileChannel channel(Path path, OpenOption... options) throws IOException {
        return FileChannel.open(path, options);
    }

    private static ByteBuffer bytes(String text) {
        return ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void writesAtThePositionGrowTheFileWithAHoleOfZeros() throws IOException {
        Path file = path("/file");
        try (FileChannel channel = channel(file, CREATE_NEW, WRITE, READ)) {
            assertEquals(5, channel.write(bytes("hello")));
            assertEquals(5, channel.position());
            channel.position(10).write(bytes("!"));
            assertEquals(11, channel.size());
            assertEquals(3, channel.write(bytes("abc"), 2));
            assertEquals(11, channel.position(), "a positional write leaves the position");
            ByteBuffer two = ByteBuffer.allocate(2);
            assertEquals(2, channel.read(two, 0));
            assertEquals("he", new String(two.array(), StandardCharsets.UTF_8));
            assertEquals(-1, channel.read(ByteBuffer.allocate(4)), "at the end");
            assertEquals(-1, channel.read(ByteBuffer.allocate(4), 11));
        }
        byte[] expected = "heabc\0\0\0\0\0!".getBytes(StandardCharsets.UTF_8);
        assertArrayEquals(expected, Files.readAllBytes(file));
    }

    @Test
    void appendWritesAtTheEndWhateverThePosition() throws IOException {
        Path file = path("/log");
        Files.writeString(file, "one;");
        try (FileChannel channel = channel(file, APPEND)) {
            channel.position(0);
            channel.write(bytes("two;"));
            assertEquals(8, channel.position());
            channel.write(bytes("three;"));
        }
        assertEquals("one;two;three;", Files.readString(file));
    }

    @Test
    void truncateExistingEmptiesAFileAndCreateNewRefusesAnExistingOne() throws IOException {
        Path file = path("/file");
        Files.writeString(file, "old contents");
        try (FileChannel channel = channel(file, WRITE, TRUNCATE_EXISTING)) {
            assertEquals(0, channel.size());
            channel.write(bytes("new"));
        }
        assertEquals("new", Files.readString(file));
        try (FileChannel channel = channel(file, READ, TRUNCATE_EXISTING)) {
            assertEquals(3, channel.size(), "TRUNCATE_EXISTING counts only when writing");
        }
        FileAlreadyExistsException exists = assertThrows(FileAlreadyExistsException.class,
                () -> channel(file, WRITE, CREATE_NEW));
        assertEquals("/file", exists.getFile());
    }

    @Test
    void createMakesAMissingFileOnlyWhenWritingWithTheGivenPermissions() throws IOException {
        Path file = path("/made");
        NoSuchFileException missing = assertThrows(NoSuchFileException.class, () -> channel(file, READ, CREATE));
        assertEquals("/made", missing.getFile());
        assertThrows(NoSuchFileException.class, () -> channel(file, WRITE));
        channel(file, WRITE, CREATE).close();
        assertEquals(PosixFilePermissions.fromString("rw-r--r--"), Files.getPosixFilePermissions(file));
        Path secret = path("/secret");
        Files.newByteChannel(secret, Set.of(WRITE, CREATE_NEW),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"))).close();
        assertEquals(PosixFilePermissions.fromString("rw-------"), Files.getPosixFilePermissions(secret));
        assertThrows(NoSuchFileException.class, () -> channel(path("/missing/dir/file"), WRITE, CREATE));
    }

    @Test
    void conflictingOptionsAreRefusedAsTheJdkRefusesThem() {
        Path file = path("/file");
        assertThrows(IllegalArgumentException.class, () -> channel(file, READ, APPEND));
        assertThrows(IllegalArgumentException.class, () -> channel(file, APPEND, TRUNCATE_EXISTING));
        OpenOption foreign = new OpenOption() {
        };
        assertThrows(UnsupportedOperationException.class, () -> Files.newByteChannel(file, foreign));
    }

    @Test
    void aChannelRefusesTheDirectionItWasNotOpenedFor() throws IOException {
        Path file = path("/file");
        Files.writeString(file, "data");
        try (FileChannel reader = channel(file, READ); FileChannel writer = channel(file, WRITE)) {
            assertThrows(NonWritableChannelException.class, () -> reader.write(bytes("x")));
            assertThrows(NonWritableChannelException.class, () -> reader.truncate(1));
            assertThrows(NonReadableChannelException.class, () -> writer.read(ByteBuffer.allocate(1)));
            assertThrows(NonReadableChannelException.class, () -> writer.lock(0, 1, true));
            assertThrows(NonWritableChannelException.class, () -> reader.lock(0, 1, false));
        }
    }

    @Test
    void truncateCutsTheFileAndThePositionButNeverGrowsTheFile() throws IOException {
        Path file = path("/file");
        try (FileChannel channel = channel(file, CREATE, WRITE, READ)) {
            channel.write(ByteBuffer.wrap(new byte[5000]));
            channel.truncate(9000);
            assertEquals(5000, channel.size());
            assertEquals(5000, channel.position());
            channel.truncate(100);
            assertEquals(100, channel.size());
            assertEquals(100, channel.position());
            channel.position(50).truncate(70);
            assertEquals(50, channel.position());
            assertThrows(IllegalArgumentException.class, () -> channel.truncate(-1));
            assertThrows(IllegalArgumentException.class, () -> channel.position(-1));
        }
        assertEquals(70, Files.size(file));
    }

    @Test
    void scatteringAndGatheringMoveThroughAllBuffers() throws IOException {
        Path file = path("/file");
        try (FileChannel channel = channel(file, CREATE, WRITE, READ)) {
            assertEquals(9, channel.write(new ByteBuffer[] {bytes("abc"), bytes("def"), bytes("ghi")}));
            channel.position(0);
            ByteBuffer first = ByteBuffer.allocate(4);
            ByteBuffer second = ByteBuffer.allocate(10);
            assertEquals(9, channel.read(new ByteBuffer[] {first, second}));
            assertEquals("abcd", new String(first.array(), StandardCharsets.UTF_8));
            assertEquals("efghi", new String(second.array(), 0, second.position(), StandardCharsets.UTF_8));
            assertEquals(-1, channel.read(new ByteBuffer[] {ByteBuffer.allocate(1)}));
        }
    }

    @Test
    void directBuffersAndReadOnlyBuffersWork() throws IOException {
        Path file = path("/file");
        try (FileChannel channel = channel(file, CREATE, WRITE, READ)) {
            ByteBuffer direct = ByteBuffer.allocateDirect(6).put("direct".getBytes(StandardCharsets.UTF_8)).flip();
            channel.write(direct);
            channel.write(bytes("+ro").asReadOnlyBuffer());
            ByteBuffer into = ByteBuffer.allocateDirect(9);
            assertEquals(9, channel.read(into, 0));
            byte[] read = new byte[9];
            into.flip().get(read);
            assertEquals("direct+ro", new String(read, StandardCharsets.UTF_8));
        }
    }

    @Test
    void transfersCopyBetweenChannelsFromTheGivenPositions() throws IOException {
        Path file = path("/file");
        byte[] data = new byte[3 << 20];
        new Random(3).nextBytes(data);
        try (FileChannel channel = channel(file, CREATE, WRITE, READ)) {
            assertEquals(data.length, channel.transferFrom(Channels.newChannel(new java.io.ByteArrayInputStream(data)),
                    0, Long.MAX_VALUE));
            assertEquals(0, channel.transferFrom(Channels.newChannel(new java.io.ByteArrayInputStream(data)),
                    data.length + 1, 10), "nothing past the end");
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            assertEquals(data.length - 100, channel.transferTo(100, Long.MAX_VALUE, Channels.newChannel(out)));
            assertArrayEquals(Arrays.copyOfRange(data, 100, data.length), out.toByteArray());
            assertEquals(0, channel.position(), "transfers leave the position");
        }
    }

    @Test
    void nofollowRefusesASymbolicLinkWhileFollowingReachesTheTarget() throws IOException {
        Path target = path("/target");
        Files.writeString(target, "through the link");
        Path link = Files.createSymbolicLink(path("/link"), target);
        FileSystemException refused = assertThrows(FileSystemException.class,
                () -> channel(link, READ, LinkOption.NOFOLLOW_LINKS));
        assertEquals("/link", refused.getFile());
        assertTrue(refused.getReason().contains("NOFOLLOW_LINKS"), refused.getReason());
        assertEquals("through the link", Files.readString(link));
    }

    @Test
    void createThroughADanglingLinkMakesTheTargetAndCreateNewRefusesTheLink() throws IOException {
        Path link = Files.createSymbolicLink(path("/link"), path("dir/target"));
        Files.createDirectory(path("/dir"));
        assertThrows(FileAlreadyExistsException.class, () -> channel(link, WRITE, CREATE_NEW));
        Files.writeString(link, "made through the link");
        assertEquals("made through the link", Files.readString(path("/dir/target")));
        assertTrue(Files.isSymbolicLink(link));
    }

    @Test
    void aDirectoryIsNotOpenedAsAFile() throws IOException {
        Path directory = Files.createDirectory(path("/dir"));
        for (Set<OpenOption> options : Set.of(Set.<OpenOption>of(READ), Set.<OpenOption>of(WRITE, CREATE))) {
            FileSystemException refused = assertThrows(FileSystemException.class,
                    () -> Files.newByteChannel(directory, options));
            assertEquals("/dir", refused.getFile());
            assertEquals("Is a directory", refused.getReason());
        }
        assertThrows(FileSystemException.class, () -> Files.newByteChannel(path("/"), READ));
        assertThrows(FileAlreadyExistsException.class, () -> Files.newByteChannel(path("/dir/."), WRITE, CREATE_NEW));
    }

    @Test
    void deleteOnCloseRemovesTheNameAtOnceAndKeepsTheDataForTheChannel() throws IOException {
        Path file = path("/scratch");
        try (FileChannel channel = channel(file, CREATE_NEW, WRITE, READ, DELETE_ON_CLOSE)) {
            assertFalse(Files.exists(file));
            channel.write(bytes("still here"));
            ByteBuffer read = ByteBuffer.allocate(10);
            channel.read(read, 0);
            assertEquals("still here", new String(read.array(), StandardCharsets.UTF_8));
        }
        assertFalse(Files.exists(file));
        fileSystem.close();
        fileSystem = CowNioTesting.open(image);
        try (var entries = Files.list(path("/"))) {
            assertEquals(0, entries.count());
        }
    }

    @Test
    void aFileRemovedWhileOpenKeepsItsDataUntilTheLastChannelCloses() throws IOException {
        Path file = path("/file");
        Files.writeString(file, "kept while open");
        FileChannel first = channel(file, READ);
        FileChannel second = channel(file, READ, WRITE);
        Files.delete(file);
        assertFalse(Files.exists(file));
        first.close();
        second.write(bytes("KEPT"), 0);
        ByteBuffer read = ByteBuffer.allocate(15);
        second.read(read, 0);
        assertEquals("KEPT while open", new String(read.array(), StandardCharsets.UTF_8));
        second.close();
        Files.writeString(file, "new");
        assertEquals("new", Files.readString(file));
    }

    @Test
    void syncAndForceMakeWritesDurableBeforeTheyReturn() throws IOException {
        try (FileChannel channel = channel(path("/synced"), CREATE_NEW, WRITE, SYNC)) {
            channel.write(bytes("synced"));
            assertEquals("synced", readFromCopyOfImage("after-sync.img", "/synced"));
        }
        try (FileChannel channel = channel(path("/forced"), CREATE_NEW, WRITE)) {
            channel.write(bytes("forced"));
            assertEquals(null, readFromCopyOfImage("before-force.img", "/forced"), "not durable yet");
            channel.force(false);
            assertEquals("forced", readFromCopyOfImage("after-force.img", "/forced"));
        }
    }

    /** What a copy of the image file as it is now (what a crash would leave) holds at {@code path}, or null. */
    private String readFromCopyOfImage(String copyName, String path) throws IOException {
        Path copy = temp.resolve(copyName);
        Files.copy(image, copy);
        try (FileSystem copied = CowNioTesting.open(copy)) {
            Path file = copied.getPath(path);
            return Files.exists(file) ? Files.readString(file) : null;
        }
    }

    @Test
    void locksOverlappingALockOfThisJvmAreRefusedUntilReleased() throws IOException {
        Path file = path("/file");
        try (FileChannel first = channel(file, CREATE, WRITE, READ)) {
            FileChannel second = channel(file, WRITE);
            FileLock lock = first.lock(0, 10, false);
            assertThrows(OverlappingFileLockException.class, () -> second.tryLock(5, 10, false));
            assertThrows(OverlappingFileLockException.class, () -> first.lock(9, 1, true));
            FileLock beside = second.tryLock(10, 5, false);
            assertTrue(lock.isValid() && beside.isValid());
            lock.release();
            assertFalse(lock.isValid());
            FileLock again = second.lock(0, 10, false);
            second.close();
            assertFalse(again.isValid() || beside.isValid(), "closing a channel releases its locks");
            assertTrue(first.tryLock(0, Long.MAX_VALUE, false).isValid());
        }
    }

    @Test
    void aClosedChannelRefusesEverythingAndMappingIsNotOffered() throws IOException {
        Path file = path("/file");
        FileChannel channel = channel(file, CREATE, WRITE, READ);
        UnsupportedOperationException mapping = assertThrows(UnsupportedOperationException.class,
                () -> channel.map(FileChannel.MapMode.READ_ONLY, 0, 1));
        assertTrue(mapping.getMessage().contains("/file"), mapping.getMessage());
        channel.close();
        assertThrows(ClosedChannelException.class, () -> channel.read(ByteBuffer.allocate(1)));
        assertThrows(ClosedChannelException.class, () -> channel.write(bytes("x")));
        assertThrows(ClosedChannelException.class, channel::position);
        assertThrows(ClosedChannelException.class, channel::size);
        channel.close();
    }

    @Test
    void randomWritesAndTruncatesThroughChannelsAgreeWithAnArrayAcrossReopens() throws IOException {
        Random random = new Random(99);
        Path file = path("/model");
        byte[] model = new byte[0];
        for (int round = 0; round < 4; round++) {
            try (SeekableByteChannel channel = Files.newByteChannel(file, CREATE, WRITE, READ)) {
                for (int step = 0; step < 60; step++) {
                    if (random.nextInt(6) == 0) {
                        int size = random.nextInt(model.length + 1);
                        channel.truncate(size);
                        model = Arrays.copyOf(model, size);
                    } else {
                        int at = random.nextInt(model.length + 20_000);
                        byte[] data = new byte[random.nextInt(4) == 0 ? random.nextInt(300_000) : random.nextInt(2000)];
                        random.nextBytes(data);
                        channel.position(at).write(ByteBuffer.wrap(data));
                        model = Arrays.copyOf(model, Math.max(model.length, at + data.length));
                        System.arraycopy(data, 0, model, at, data.length);
                    }
                    assertEquals(model.length, channel.size(), "round " + round + " step " + step);
                }
            }
            assertArrayEquals(model, Files.readAllBytes(file), "round " + round);
            fileSystem.close();
            fileSystem = CowNioTesting.open(image);
            file = path("/model");
            assertArrayEquals(model, Files.readAllBytes(file), "round " + round + " after reopening");
        }
    }

    @Test
    void openOptionsOfTheStandardSetAreAllAccepted() throws IOException {
        Path file = path("/file");
        Set<OpenOption> all = Set.of(WRITE, CREATE, StandardOpenOption.SPARSE, StandardOpenOption.DSYNC, SYNC);
        try (SeekableByteChannel channel = Files.newByteChannel(file, all)) {
            assertEquals(1, channel.write(bytes("x")));
        }
        assertEquals("x", Files.readString(file));
    }
}
