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
        Path image = directory.resolve("cowfs.img");
        StoreOptions options = StoreOptions.builder().checkAfterCommit(false).build();
        this.store = java.nio.file.Files.exists(image) ? Store.open(image, options) : Store.create(image, options);
    }

    @Override
    public void insert(byte[][] keys, byte[][] values, int from, int count) throws IOException {
        try (WriteTransaction txn = store.beginWrite()) {
            for (int i = from; i < from + count; i++) {
                txn.put(keys[i], values[i]);
            }
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
