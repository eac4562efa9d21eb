package dev.cowfs.bench;

import dev.cowfs.engine.Cursor;
import dev.cowfs.engine.ReadTransaction;
import dev.cowfs.engine.Store;
import dev.cowfs.engine.StoreOptions;
import dev.cowfs.engine.WriteTransaction;

import java.io.IOException;
import java.nio.file.Path;

/** cowfs with its default options (the strict checker off, as in production). */
final class CowfsStore implements KeyValueStore {
    private final Store store;

    CowfsStore(Path directory) throws IOException {
        this.store = Store.create(directory.resolve("cowfs.img"), StoreOptions.builder().checkAfterCommit(false).build());
    }

    @Override
    public void bulkInsert(byte[][] keys, byte[][] values) throws IOException {
        try (WriteTransaction txn = store.beginWrite()) {
            for (int i = 0; i < keys.length; i++) {
                txn.put(keys[i], values[i]);
            }
            txn.commit();
        }
    }

    @Override
    public void durableUpdate(byte[] key, byte[] value) throws IOException {
        try (WriteTransaction txn = store.beginWrite()) {
            txn.put(key, value);
            txn.commit();
        }
    }

    @Override
    public Reader reader() throws IOException {
        ReadTransaction read = store.beginRead();
        return new Reader() {
            @Override
            public byte[] get(byte[] key) throws IOException {
                return read.get(key);
            }

            @Override
            public long scan() throws IOException {
                long count = 0;
                Cursor cursor = read.cursor();
                for (boolean ok = cursor.first(); ok; ok = cursor.next()) {
                    count += cursor.value().length > 0 ? 1 : 1;
                }
                return count;
            }

            @Override
            public void close() {
                read.close();
            }
        };
    }

    @Override
    public void close() throws IOException {
        store.close();
    }
}
