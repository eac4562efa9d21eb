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
            reader.scan();
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
        @Param({"10000"})
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

    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public void durableCommit(OnDisk state) throws IOException {
        int index = state.next++ % state.data.keys.length;
        state.store.durableUpdate(state.data.keys[(int) ((index * 2_654_435_761L) % state.data.keys.length)],
                state.data.values[index]);
    }
}
