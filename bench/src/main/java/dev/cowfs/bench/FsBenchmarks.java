package dev.cowfs.bench;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import dev.cowfs.engine.StoreOptions;
import dev.cowfs.fs.CowFileSystem;
import dev.cowfs.fs.FsOptions;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * The filesystem suite, on tmpfs: file data through the cowfs API against a plain file through
 * {@code FileChannel} (the ceiling), and small-file creation and stat against jimfs. Data is incompressible
 * (random) and compression is off.
 */
public class FsBenchmarks {
    static final int REQUEST = 1 << 20;

    /** One large file, through cowfs or as a plain tmpfs file. */
    @State(Scope.Benchmark)
    public static class DataFile {
        @Param({"cowfs", "plainfile"})
        public String impl;
        @Param({"1024"})
        public int fileMiB;

        Path directory;
        CowFileSystem fs;
        long ino;
        FileChannel channel;
        byte[] request = new byte[REQUEST];
        ByteBuffer requestBuffer = ByteBuffer.allocateDirect(REQUEST);
        byte[] page = new byte[4096];
        ByteBuffer pageBuffer = ByteBuffer.allocateDirect(4096);
        long position;
        Random random = new Random(11);

        long fileBytes() {
            return (long) fileMiB << 20;
        }

        @Setup(Level.Trial)
        public void create() throws IOException {
            new Random(9).nextBytes(request);
            requestBuffer.put(request).flip();
            directory = Dataset.memoryDirectory("fs-" + impl);
            if (impl.equals("cowfs")) {
                fs = CowFileSystem.create(directory.resolve("fs.img"), FsOptions.builder()
                        .store(StoreOptions.builder().checkAfterCommit(false).build()).commitIntervalMillis(0).build());
                ino = fs.mknod(CowFileSystem.ROOT_INO, "data", 0644, 0, 0, 0);
            } else {
                channel = FileChannel.open(directory.resolve("data"), StandardOpenOption.CREATE_NEW,
                        StandardOpenOption.READ, StandardOpenOption.WRITE);
            }
            // The file exists whole before any measurement (the write bench then overwrites it in order).
            for (long at = 0; at < fileBytes(); at += REQUEST) {
                writeAt(at);
            }
            if (fs != null) {
                fs.sync();
            }
            position = 0;
        }

        void writeAt(long at) throws IOException {
            if (fs != null) {
                fs.write(ino, at, request, 0, REQUEST);
            } else {
                requestBuffer.clear();
                while (requestBuffer.hasRemaining()) {
                    channel.write(requestBuffer, at + requestBuffer.position());
                }
            }
        }

        int readAt(long at, byte[] into, ByteBuffer buffer) throws IOException {
            if (fs != null) {
                return fs.read(ino, at, into, 0, into.length);
            }
            buffer.clear();
            int n = 0;
            while (buffer.hasRemaining()) {
                int got = channel.read(buffer, at + buffer.position());
                if (got < 0) {
                    break;
                }
                n += got;
            }
            buffer.flip();
            buffer.get(into, 0, n);
            return n;
        }

        long nextSequential() {
            long at = position;
            position = at + REQUEST >= fileBytes() ? 0 : at + REQUEST;
            return at;
        }

        @TearDown(Level.Trial)
        public void close() throws IOException {
            if (fs != null) {
                fs.close();
            }
            if (channel != null) {
                channel.close();
            }
            Dataset.delete(directory);
        }
    }

    /** One op: a 1 MiB write at the next position (wrapping at the end); cowfs commits once per pass. */
    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    public void seqWrite(DataFile state) throws IOException {
        long at = state.nextSequential();
        state.writeAt(at);
        if (state.fs != null && state.position == 0) {
            state.fs.sync();
        }
    }

    /** One op: a 1 MiB read at the next position, wrapping at the end. */
    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    public int seqRead(DataFile state) throws IOException {
        return state.readAt(state.nextSequential(), state.request, state.requestBuffer);
    }

    /** One op: a 4 KiB read at a random 4 KiB-aligned offset. */
    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    public int randRead4k(DataFile state) throws IOException {
        long at = (long) state.random.nextInt((int) (state.fileBytes() / 4096)) * 4096;
        return state.readAt(at, state.page, state.pageBuffer);
    }

    /** A directory of small files in cowfs (API) or jimfs (NIO, unix configuration). */
    @State(Scope.Benchmark)
    public static class Namespace {
        @Param({"cowfs", "jimfs"})
        public String impl;
        @Param({"100000"})
        public int files;

        Path directory;
        CowFileSystem fs;
        long dir;
        FileSystem jimfs;
        Path jimfsDir;
        final byte[] content = new byte[100];
        int round;

        @Setup(Level.Invocation)
        public void open() throws IOException {
            new Random(3).nextBytes(content);
            if (impl.equals("cowfs")) {
                directory = Dataset.memoryDirectory("fs-ns");
                fs = CowFileSystem.create(directory.resolve("fs.img"), FsOptions.builder()
                        .store(StoreOptions.builder().checkAfterCommit(false).build()).commitIntervalMillis(0).build());
                dir = fs.mkdir(CowFileSystem.ROOT_INO, "files", 0755, 0, 0);
            } else {
                jimfs = Jimfs.newFileSystem(Configuration.unix());
                jimfsDir = Files.createDirectory(jimfs.getPath("/files"));
            }
        }

        @TearDown(Level.Invocation)
        public void close() throws IOException {
            if (fs != null) {
                fs.close();
                fs = null;
                Dataset.delete(directory);
            }
            if (jimfs != null) {
                jimfs.close();
                jimfs = null;
            }
        }

        void createAll() throws IOException {
            for (int i = 0; i < files; i++) {
                String name = "file-" + i;
                if (fs != null) {
                    long ino = fs.mknod(dir, name, 0644, 0, 0, 0);
                    fs.write(ino, 0, content, 0, content.length);
                } else {
                    Files.write(jimfsDir.resolve(name), content);
                }
            }
            if (fs != null) {
                fs.sync(); // durable at the end
            }
        }
    }

    /** One op creates every file (100 bytes each) and ends with a durable commit; reported as files/s. */
    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public void createFiles(Namespace state) throws IOException {
        state.createAll();
    }

    /** Files already created; one op looks one up by name and reads its attributes. */
    @State(Scope.Benchmark)
    public static class Populated {
        @Param({"cowfs", "jimfs"})
        public String impl;
        @Param({"100000"})
        public int files;

        Namespace namespace;
        Random random = new Random(4);

        @Setup(Level.Trial)
        public void populate() throws IOException {
            namespace = new Namespace();
            namespace.impl = impl;
            namespace.files = files;
            namespace.open();
            namespace.createAll();
        }

        @TearDown(Level.Trial)
        public void close() throws IOException {
            namespace.close();
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    public long statFiles(Populated state) throws IOException {
        String name = "file-" + state.random.nextInt(state.files);
        Namespace ns = state.namespace;
        if (ns.fs != null) {
            return ns.fs.stat(ns.fs.lookup(ns.dir, name)).size();
        }
        return Files.readAttributes(ns.jimfsDir.resolve(name), BasicFileAttributes.class).size();
    }

    /**
     * A file whose 4 KiB change is made durable while {@code others} files hold changes of their own that nobody asked
     * to be durable (cowfs), beside the same fsync with nothing else changed (cowfsAlone) and a plain tmpfs file's
     * fdatasync with the other files written into the page cache (plainfile, the host's own cost).
     */
    @State(Scope.Benchmark)
    public static class DirtyFiles {
        @Param({"cowfs", "cowfsAlone", "plainfile"})
        public String impl;
        @Param({"10000"})
        public int others;

        Path directory;
        CowFileSystem fs;
        long target;
        long[] otherInos;
        FileChannel targetChannel;
        Path[] otherPaths;
        final byte[] page = new byte[4096];
        int round;

        @Setup(Level.Trial)
        public void create() throws IOException {
            new Random(5).nextBytes(page);
            directory = Dataset.memoryDirectory("fs-fsync-" + impl);
            if (impl.startsWith("cowfs")) {
                fs = CowFileSystem.create(directory.resolve("fs.img"), FsOptions.builder()
                        .store(StoreOptions.builder().checkAfterCommit(false).build()).commitIntervalMillis(0).build());
                long dir = fs.mkdir(CowFileSystem.ROOT_INO, "files", 0755, 0, 0);
                target = fs.mknod(dir, "target", 0644, 0, 0, 0);
                fs.write(target, 0, page, 0, page.length);
                otherInos = new long[others];
                for (int i = 0; i < others; i++) {
                    otherInos[i] = fs.mknod(dir, "other-" + i, 0644, 0, 0, 0);
                    fs.write(otherInos[i], 0, page, 0, page.length);
                }
                fs.sync();
            } else {
                targetChannel = FileChannel.open(directory.resolve("target"), StandardOpenOption.CREATE_NEW,
                        StandardOpenOption.WRITE);
                targetChannel.write(ByteBuffer.wrap(page), 0);
                otherPaths = new Path[others];
                for (int i = 0; i < others; i++) {
                    otherPaths[i] = directory.resolve("other-" + i);
                    Files.write(otherPaths[i], page);
                }
                targetChannel.force(false);
            }
        }

        /** Before each fsync: every other file changed (cowfs, plainfile), not made durable. */
        @Setup(Level.Invocation)
        public void dirtyOthers() throws IOException {
            round++;
            page[0] = (byte) round;
            if (impl.equals("cowfsAlone")) {
                return;
            }
            for (int i = 0; i < others; i++) {
                if (fs != null) {
                    fs.write(otherInos[i], 0, page, 0, page.length);
                } else {
                    try (FileChannel channel = FileChannel.open(otherPaths[i], StandardOpenOption.WRITE)) {
                        channel.write(ByteBuffer.wrap(page), 0);
                    }
                }
            }
        }

        @TearDown(Level.Trial)
        public void close() throws IOException {
            if (fs != null) {
                fs.close();
            }
            if (targetChannel != null) {
                targetChannel.close();
            }
            Dataset.delete(directory);
        }
    }

    /** One op: a 4 KiB write into the target file, then fsync of that file alone; reported with p50 and p99. */
    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public void fsyncOne(DirtyFiles state) throws IOException {
        state.page[1] = (byte) state.round;
        if (state.fs != null) {
            state.fs.write(state.target, 0, state.page, 0, state.page.length);
            state.fs.fsync(state.target);
        } else {
            state.targetChannel.write(ByteBuffer.wrap(state.page), 0);
            state.targetChannel.force(false);
        }
    }
}
