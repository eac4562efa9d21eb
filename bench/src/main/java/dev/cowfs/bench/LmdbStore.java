package dev.cowfs.bench;

import org.lmdbjava.CursorIterable;
import org.lmdbjava.Dbi;
import org.lmdbjava.DbiFlags;
import org.lmdbjava.Env;
import org.lmdbjava.Txn;

import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * LMDB through lmdbjava: default environment flags (durable commits: neither MDB_NOSYNC nor MDB_NOMETASYNC),
 * the optimal ByteBuffer proxy (direct buffers), a 16 GiB map. Values are copied out into a byte[] like cowfs.
 */
final class LmdbStore implements KeyValueStore {
    private final Env<ByteBuffer> env;
    private final Dbi<ByteBuffer> dbi;
    private final ByteBuffer keyBuffer = ByteBuffer.allocateDirect(511);
    private final ByteBuffer valueBuffer = ByteBuffer.allocateDirect(64 * 1024);

    LmdbStore(Path directory) {
        env = Env.create().setMapSize(16L << 30).setMaxDbs(1).setMaxReaders(16).open(directory.toFile());
        dbi = env.openDbi("bench", DbiFlags.MDB_CREATE);
    }

    private static ByteBuffer fill(ByteBuffer buffer, byte[] bytes) {
        buffer.clear();
        buffer.put(bytes).flip();
        return buffer;
    }

    @Override
    public void insert(byte[][] keys, byte[][] values, int from, int count) {
        try (Txn<ByteBuffer> txn = env.txnWrite()) {
            for (int i = from; i < from + count; i++) {
                dbi.put(txn, fill(keyBuffer, keys[i]), fill(valueBuffer, values[i]));
            }
            txn.commit();
        }
    }

    @Override
    public Reader reader() {
        Txn<ByteBuffer> txn = env.txnRead();
        ByteBuffer key = ByteBuffer.allocateDirect(511);
        return new Reader() {
            @Override
            public byte[] get(byte[] wanted) {
                ByteBuffer found = dbi.get(txn, fill(key, wanted));
                if (found == null) {
                    return null;
                }
                byte[] value = new byte[found.remaining()];
                found.get(value);
                return value;
            }

            @Override
            public long scan() {
                long count = 0;
                try (CursorIterable<ByteBuffer> entries = dbi.iterate(txn)) {
                    for (CursorIterable.KeyVal<ByteBuffer> entry : entries) {
                        byte[] value = new byte[entry.val().remaining()];
                        entry.val().get(value);
                        count++;
                    }
                }
                return count;
            }

            @Override
            public void close() {
                txn.close();
            }
        };
    }

    @Override
    public void close() {
        env.close();
    }
}
