package dev.cowfs.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Random;
import java.util.stream.Stream;

/** Seeded random keys and values, the same for every engine, and the directories they run in. */
final class Dataset {
    final byte[][] keys;
    final byte[][] values;

    Dataset(int count, int keyBytes, int valueBytes, long seed) {
        Random random = new Random(seed);
        keys = new byte[count][];
        values = new byte[count][];
        for (int i = 0; i < count; i++) {
            keys[i] = new byte[keyBytes];
            random.nextBytes(keys[i]);
            values[i] = new byte[valueBytes];
            random.nextBytes(values[i]);
        }
    }

    /** tmpfs unless told otherwise: the engines are compared, not the disk. */
    static Path memoryDirectory(String name) throws IOException {
        return Files.createTempDirectory(memoryBase(), "cowfs-bench-" + name + "-");
    }

    static Path memoryBase() {
        return Path.of(System.getProperty("cowfs.bench.memdir", Files.isDirectory(Path.of("/dev/shm"))
                ? "/dev/shm" : System.getProperty("java.io.tmpdir")));
    }

    /** The project disk, for what must reach stable storage. */
    static Path diskDirectory(String name) throws IOException {
        Path base = Path.of(System.getProperty("cowfs.bench.diskdir", System.getProperty("java.io.tmpdir")));
        return Files.createTempDirectory(base, "cowfs-bench-" + name + "-");
    }

    static KeyValueStore open(String impl, Path directory) throws IOException {
        return switch (impl) {
            case "cowfs" -> new CowfsStore(directory);
            case "lmdb" -> new LmdbStore(directory);
            case "mvstore" -> new MvStoreStore(directory);
            default -> throw new IllegalArgumentException("unknown implementation " + impl);
        };
    }

    static void delete(Path directory) throws IOException {
        if (directory == null || !Files.exists(directory)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(directory)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        }
        Path lock = directory.resolveSibling(directory.getFileName() + ".lock");
        Files.deleteIfExists(lock);
    }
}
