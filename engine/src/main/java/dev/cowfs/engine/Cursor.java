package dev.cowfs.engine;

import dev.cowfs.engine.btree.TreeCursor;

import java.io.IOException;

/**
 * An ordered position in a tree. Forward range: {@code for (boolean ok = c.seek(from); ok && less(c.key(), to);
 * ok = c.next())}; reverse: {@link #seekFloor} then {@link #previous}. A cursor of a write transaction stays
 * correct while that transaction changes the tree.
 */
public final class Cursor {
    private final TreeCursor cursor;

    Cursor(TreeCursor cursor) {
        this.cursor = cursor;
    }

    public boolean first() throws IOException {
        return cursor.first();
    }

    public boolean last() throws IOException {
        return cursor.last();
    }

    /** Positions on the smallest key &gt;= {@code key}; false when there is none. */
    public boolean seek(byte[] key) throws IOException {
        return cursor.seek(key);
    }

    /** Positions on the largest key &lt;= {@code key}; false when there is none. */
    public boolean seekFloor(byte[] key) throws IOException {
        return cursor.seekFloor(key);
    }

    public boolean next() throws IOException {
        return cursor.next();
    }

    public boolean previous() throws IOException {
        return cursor.previous();
    }

    public boolean isValid() {
        return cursor.isValid();
    }

    public byte[] key() {
        return cursor.key();
    }

    public byte[] value() throws IOException {
        return cursor.value();
    }
}
