package dev.cowfs.engine;

import dev.cowfs.engine.testing.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Memory stays bounded: 10 million keys inserted in random order (one write transaction per million) and read
 * back, in a child JVM limited to 512 MiB of heap. The tree lives in the image, not on the heap.
 */
class ScaleTest {
    @TempDir
    Path dir;

    @Test
    void tenMillionKeysWithA512MiBHeap() throws Exception {
        long keys = Boolean.getBoolean("cowfs.test.long") ? 30_000_000 : 10_000_000;
        ChildJvm.Result result = ChildJvm.run(List.of("-Xmx512m"), 900, ManyKeys.class,
                dir.resolve("scale.img").toString(), Long.toString(keys));
        System.out.print(result.output());
        assertEquals(0, result.exitCode(), result.output());
        assertTrue(result.output().contains("verified " + keys + " keys"), result.output());
    }

    /** Child process: fills a store with {@code args[1]} keys and verifies them. */
    public static final class ManyKeys {
        static long mix(long x) {
            x += 0x9E3779B97F4A7C15L;
            x = (x ^ (x >>> 30)) * 0xBF58476D1CE4E5B9L;
            x = (x ^ (x >>> 27)) * 0x94D049BB133111EBL;
            return x ^ (x >>> 31);
        }

        static byte[] key(long i) {
            byte[] key = new byte[8];
            dev.cowfs.engine.format.Bytes.putLongBigEndian(key, 0, mix(i));
            return key;
        }

        static byte[] value(long i) {
            byte[] value = new byte[8];
            dev.cowfs.engine.format.Bytes.putLong(value, 0, i);
            return value;
        }

        public static void main(String[] args) throws Exception {
            long maxHeap = Runtime.getRuntime().maxMemory();
            if (maxHeap > 512L << 20) {
                System.out.println("heap is not limited: " + maxHeap);
                System.exit(2);
            }
            long keys = Long.parseLong(args[1]);
            long started = System.nanoTime();
            StoreOptions options = StoreOptions.builder().checkAfterCommit(false).build();
            try (Store store = Store.create(Path.of(args[0]), options)) {
                for (long from = 0; from < keys; from += 1_000_000) {
                    try (WriteTransaction txn = store.beginWrite()) {
                        for (long i = from; i < Math.min(keys, from + 1_000_000); i++) {
                            txn.put(key(i), value(i));
                        }
                        txn.commit();
                    }
                }
                System.out.printf("inserted %d keys in %.1f s, image %d MiB, heap max %d MiB%n", keys,
                        (System.nanoTime() - started) / 1e9, store.superblock().highWaterBlock() * 4096 >> 20,
                        maxHeap >> 20);
            }
            try (Store store = Store.open(Path.of(args[0]), options.toBuilder().readOnly(true).build());
                 ReadTransaction read = store.beginRead()) {
                for (long i = 0; i < keys; i += 997) {
                    byte[] value = read.get(key(i));
                    if (value == null || dev.cowfs.engine.format.Bytes.getLong(value, 0) != i) {
                        System.out.println("key " + i + " read back wrong");
                        System.exit(1);
                    }
                }
                long count = 0;
                byte[] previous = null;
                Cursor cursor = read.cursor();
                for (boolean ok = cursor.first(); ok; ok = cursor.next()) {
                    byte[] current = cursor.key();
                    if (previous != null && java.util.Arrays.compareUnsigned(previous, current) >= 0) {
                        System.out.println("scan out of order at " + count);
                        System.exit(1);
                    }
                    previous = current;
                    count++;
                }
                if (count != keys) {
                    System.out.println("scan found " + count + " keys");
                    System.exit(1);
                }
            }
            System.out.printf("verified %d keys (%.1f s in all)%n", keys, (System.nanoTime() - started) / 1e9);
        }
    }
}
