package dev.cowfs.bench;

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
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The engine suite: cowfs against LMDB and H2 MVStore on the same seeded data. Data on tmpfs except for the
 * durable commit, which runs on the project disk. Sizes come from parameters so that a quick run can shrink them.
 */
public class EngineBenchmarks {

    /** A loaded store and an open reader, for the read benchmarks. */
    /**
     * Refuses to measure a store that does not hold what was loaded: the scan must see every entry, and keys spread
     * over the dataset must read back a value of the loaded size (a read that finds nothing is cheaper than one
     * that finds its value, so a broken load would flatter the figure).
     */
    static void checkLoaded(KeyValueStore.Reader reader, long scanned, int count,
            java.util.function.IntFunction<byte[]> key, int valueBytes) throws IOException {
        if (scanned != count) {
            throw new IllegalStateException("the store holds " + scanned + " entries after loading " + count);
        }
        for (int i = 0; i < 1000; i++) {
            int index = (int) ((i * 2_654_435_761L) % count);
            byte[] value = reader.get(key.apply(index));
            if (value == null || value.length != valueBytes) {
                throw new IllegalStateException("key " + index + " of " + count + " reads back "
                        + (value == null ? "nothing" : value.length + " bytes") + " after loading");
            }
        }
    }

    @State(Scope.Benchmark)
    public abstract static class Loaded {
        @Param({"cowfs", "lmdb", "mvstore"})
        public String impl;

        Dataset data;
        Path directory;
        KeyValueStore store;
        KeyValueStore.Reader reader;
        int next;

        abstract Dataset dataset();

        @Setup(Level.Trial)
        public void load() throws IOException {
            data = dataset();
            directory = Dataset.memoryDirectory(impl);
            store = Dataset.open(impl, directory);
            store.bulkInsert(data.keys, data.values);
            reader = store.reader();
            // Pre-fault: one full scan touches every page of every store, so first-touch cost (page faults on a
            // fresh mapping) stays out of the measured read figures for all implementations alike.
            checkLoaded(reader, reader.scan(), data.keys.length, i -> data.keys[i], data.values[0].length);
            // A fixed random visiting order over the keys.
            next = 0;
        }

        byte[] nextKey() {
            int index = next;
            next = index + 1 == data.keys.length ? 0 : index + 1;
            return data.keys[(int) ((index * 2_654_435_761L) % data.keys.length)];
        }

        @TearDown(Level.Trial)
        public void close() throws IOException {
            reader.close();
            store.close();
            Dataset.delete(directory);
        }
    }

    @State(Scope.Benchmark)
    public static class SmallValues extends Loaded {
        @Param({"1000000"})
        public int keys;

        @Override
        Dataset dataset() {
            return new Dataset(keys, 16, 100, 1);
        }
    }

    @State(Scope.Benchmark)
    public static class PageValues extends Loaded {
        @Param({"100000"})
        public int pageValueKeys;

        @Override
        Dataset dataset() {
            return new Dataset(pageValueKeys, 16, 4096, 2);
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    public byte[] pointRead(SmallValues state) throws IOException {
        return state.reader.get(state.nextKey());
    }

    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    public byte[] read4k(PageValues state) throws IOException {
        return state.reader.get(state.nextKey());
    }

    /** One op is a full ordered scan; the runner reports entries per second. */
    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    public long scan(SmallValues state) throws IOException {
        return state.reader.scan();
    }

    /** The store closed and opened again before each invocation: a fresh mapping (or an empty cache). */
    @State(Scope.Benchmark)
    public static class Reopened extends SmallValues {
        @Setup(Level.Invocation)
        public void reopen() throws IOException {
            reader.close();
            store.close();
            store = Dataset.open(impl, directory);
            reader = store.reader();
        }
    }

    /**
     * First-touch cost, apart from the pre-faulted figures: one full scan right after the store is opened, so
     * every page is touched for the first time through the new mapping (page faults) or read into an empty cache.
     * The runner reports entries per second; {@code scan} is the same walk over pages already touched.
     */
    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public long coldScan(Reopened state) throws IOException {
        return state.reader.scan();
    }

    /**
     * A dataset of {@code datasetMiB} of 1 KiB values (one seeded stream) under 16-byte keys generated from their
     * index (not held in memory: 4 GiB of it would not fit the heap), loaded in key order in commits of 16 MiB (a
     * bulk load: in random order, MVStore, which appends every commit's rewritten pages to its file and compacts
     * only in the background writer that disabled auto-commit turns off, grows a 1 GiB dataset to a 7 GB file). Loading 4 GiB
     * takes minutes, so the forks of one implementation and size share it: the first loads it into
     * {@link #directory(String, int)}, the others open it; the runner deletes it after the last of them, before
     * the next implementation's is loaded (one dataset on tmpfs at a time).
     */
    @State(Scope.Benchmark)
    public static class Sized {
        @Param({"cowfs", "lmdb", "mvstore"})
        public String impl;
        @Param({"64", "1024", "4096"})
        public int datasetMiB;

        static final int VALUE_BYTES = 1024;
        static final int BATCH = 16_384;
        int count;
        Path directory;
        KeyValueStore store;
        KeyValueStore.Reader reader;
        final byte[] key = new byte[16];
        int next;

        static byte[] key(int index) {
            byte[] key = new byte[16];
            key(index, key);
            return key;
        }

        static void key(long index, byte[] into) {
            long a = mix(index);
            long b = mix(index ^ 0x5DEECE66DL);
            for (int i = 0; i < 8; i++) {
                into[i] = (byte) (a >>> (56 - 8 * i));
                into[8 + i] = (byte) (b >>> (56 - 8 * i));
            }
        }

        private static long mix(long z) { // splitmix64's finaliser
            z = (z + 0x9E3779B97F4A7C15L);
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            return z ^ (z >>> 31);
        }

        /** Where the dataset of {@code impl} at {@code datasetMiB} lives while its forks run. */
        static Path directory(String impl, int datasetMiB) {
            return Dataset.memoryBase().resolve("cowfs-bench-sized-" + impl + "-" + datasetMiB);
        }

        @Setup(Level.Trial)
        public void load() throws IOException {
            count = datasetMiB * 1024; // an entry is 1 KiB of value and 16 bytes of key
            directory = directory(impl, datasetMiB);
            Path loaded = directory.resolve("loaded");
            if (java.nio.file.Files.exists(loaded)) { // an earlier fork loaded it and closed it cleanly
                store = Dataset.open(impl, directory);
                reader = store.reader();
                // pre-fault this process's fresh mapping
                checkLoaded(reader, reader.scan(), count, Sized::key, VALUE_BYTES);
                return;
            }
            Dataset.delete(directory); // a load that did not finish
            java.nio.file.Files.createDirectories(directory);
            store = Dataset.open(impl, directory);
            int[] order = keyOrder(count);
            java.util.Random random = new java.util.Random(5);
            byte[][] keys = new byte[BATCH][16];
            byte[][] values = new byte[BATCH][VALUE_BYTES];
            for (int from = 0; from < count; from += BATCH) {
                int n = Math.min(BATCH, count - from);
                for (int i = 0; i < n; i++) {
                    key(order[from + i], keys[i]);
                    random.nextBytes(values[i]);
                }
                store.insert(keys, values, 0, n);
            }
            reader = store.reader();
            // pre-fault, as for the other read benchmarks
            checkLoaded(reader, reader.scan(), count, Sized::key, VALUE_BYTES);
            java.nio.file.Files.createFile(loaded);
        }

        /**
         * The indices 0 to {@code count - 1} in the order of their keys (bytewise, as every store orders them): a
         * key's first eight bytes, big-endian, compare as the unsigned long they came from, so the indices sort by
         * its high bits with the index in the low bits (a tie in the high bits, about one in a 4 GiB dataset,
         * leaves two neighbours in index order: only the order of loading, never what is loaded).
         */
        static int[] keyOrder(int count) {
            int indexBits = 64 - Long.numberOfLeadingZeros(Math.max(1, count - 1));
            long indexMask = (1L << indexBits) - 1;
            long[] packed = new long[count];
            for (int i = 0; i < count; i++) {
                packed[i] = ((mix(i) & ~indexMask) | i) ^ Long.MIN_VALUE; // signed order of the flipped = unsigned
            }
            java.util.Arrays.sort(packed);
            int[] order = new int[count];
            for (int i = 0; i < count; i++) {
                order[i] = (int) (packed[i] & indexMask);
            }
            return order;
        }

        byte[] nextKey() {
            int index = next;
            next = index + 1 == count ? 0 : index + 1;
            key((index * 2_654_435_761L) % count, key);
            return key;
        }

        @TearDown(Level.Trial)
        public void close() throws IOException {
            reader.close();
            store.close(); // the dataset stays for the next fork; the runner deletes it
        }
    }

    /** Point reads as the dataset grows (one implementation's dataset on tmpfs at a time: a fork each). */
    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    public byte[] pointReadBySize(Sized state) throws IOException {
        return state.reader.get(state.nextKey());
    }

    /** A fresh store for each bulk insert. */
    @State(Scope.Benchmark)
    public static class Empty {
        @Param({"cowfs", "lmdb", "mvstore"})
        public String impl;
        @Param({"1000000"})
        public int keys;

        Dataset data;
        Path directory;
        KeyValueStore store;

        @Setup(Level.Trial)
        public void generate() {
            data = new Dataset(keys, 16, 100, 3);
        }

        @Setup(Level.Invocation)
        public void open() throws IOException {
            directory = Dataset.memoryDirectory(impl);
            store = Dataset.open(impl, directory);
        }

        @TearDown(Level.Invocation)
        public void close() throws IOException {
            store.close();
            Dataset.delete(directory);
        }
    }

    /** One op inserts every key in one transaction and commits; the runner reports keys per second. */
    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public void bulkInsert(Empty state) throws IOException {
        state.store.bulkInsert(state.data.keys, state.data.values);
    }

    /** A store on the project disk, for durable commits. */
    @State(Scope.Benchmark)
    public static class OnDisk {
        @Param({"cowfs", "lmdb", "mvstore"})
        public String impl;

        /** Keys in the store each commit updates one of (its own name: the quick run's "keys" is not for it). */
        @Param({"10000", "1000000"})
        public int storeKeys;

        Dataset data;
        Path directory;
        KeyValueStore store;
        int next;

        @Setup(Level.Trial)
        public void load() throws IOException {
            data = new Dataset(storeKeys, 16, 100, 4);
            directory = Dataset.diskDirectory(impl);
            store = Dataset.open(impl, directory);
            store.bulkInsert(data.keys, data.values);
        }

        @TearDown(Level.Trial)
        public void close() throws IOException {
            store.close();
            Dataset.delete(directory);
        }
    }

    /** A durable commit of one updated key, as the store grows (storeKeys). */
    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public void durableCommit(OnDisk state) throws IOException {
        int index = state.next++ % state.data.keys.length;
        state.store.durableUpdate(state.data.keys[(int) ((index * 2_654_435_761L) % state.data.keys.length)],
                state.data.values[index]);
    }

    /** A store of 100,000 keys on the project disk whose commits each update {@code dirtyKeys} of them. */
    @State(Scope.Benchmark)
    public static class DirtySet {
        @Param({"cowfs", "lmdb", "mvstore"})
        public String impl;
        @Param({"100000"})
        public int commitStoreKeys;
        @Param({"1", "100", "10000"})
        public int dirtyKeys;

        Dataset data;
        Path directory;
        KeyValueStore store;
        /** New values for the keys, by pass: each key's value rotated one and two places on, in turn. */
        byte[][][] updates;
        int pass;
        int next;

        @Setup(Level.Trial)
        public void load() throws IOException {
            data = new Dataset(commitStoreKeys, 16, 100, 6);
            directory = Dataset.diskDirectory(impl);
            store = Dataset.open(impl, directory);
            store.bulkInsert(data.keys, data.values);
            int n = data.keys.length;
            updates = new byte[2][n][];
            for (int i = 0; i < n; i++) { // every commit changes what it writes: none stores a value it holds
                updates[0][i] = data.values[(i + 1) % n];
                updates[1][i] = data.values[(i + 2) % n];
            }
        }

        @TearDown(Level.Trial)
        public void close() throws IOException {
            store.close();
            Dataset.delete(directory);
        }
    }

    /**
     * Commit latency as the dirty set grows: dirtyKeys random keys (the dataset's order is random) each given a
     * value other than the one it holds.
     */
    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public void commitDirty(DirtySet state) throws IOException {
        int from = state.next;
        state.next = from + 2 * state.dirtyKeys > state.data.keys.length ? 0 : from + state.dirtyKeys;
        state.store.insert(state.data.keys, state.updates[state.pass & 1], from, state.dirtyKeys);
        if (state.next == 0) {
            state.pass++;
        }
    }
}
