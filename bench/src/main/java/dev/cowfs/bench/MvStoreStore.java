package dev.cowfs.bench;

import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;

import org.h2.mvstore.Cursor;

import java.nio.file.Path;

/**
 * H2 MVStore: a file store with auto-commit disabled (commits are explicit), default cache; a durable commit is
 * {@code commit()} (writes the chunk) followed by {@code sync()} (forces the file). Keys and values are byte[]
 * (MVStore's default object type, which orders byte arrays bytewise).
 */
final class MvStoreStore implements KeyValueStore {
    private final MVStore store;
    private final MVMap<byte[], byte[]> map;

    MvStoreStore(Path directory) {
        store = new MVStore.Builder().fileName(directory.resolve("mvstore.db").toString()).autoCommitDisabled().open();
        map = store.openMap("bench");
    }

    @Override
    public void insert(byte[][] keys, byte[][] values, int from, int count) {
        for (int i = from; i < from + count; i++) {
            // MVStore keeps the very objects in its in-memory pages: copies, as cowfs and LMDB copy the bytes.
            map.put(keys[i].clone(), values[i].clone());
        }
        store.commit();
        store.sync();
    }

    @Override
    public Reader reader() {
        MVMap<byte[], byte[]> snapshot = map; // MVStore maps read the latest committed or in-memory version
        return new Reader() {
            @Override
            public byte[] get(byte[] key) {
                return snapshot.get(key);
            }

            @Override
            public long scan() {
                long count = 0;
                Cursor<byte[], byte[]> cursor = snapshot.cursor(null);
                while (cursor.hasNext()) {
                    cursor.next();
                    if (cursor.getValue() != null) {
                        count++;
                    }
                }
                return count;
            }

            @Override
            public void close() {
            }
        };
    }

    @Override
    public void close() {
        store.close();
    }
}
