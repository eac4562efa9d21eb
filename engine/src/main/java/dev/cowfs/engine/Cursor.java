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
    /** Throws once the owning transaction has ended: a cursor must not outlive the view it reads. */
    private final Runnable guard;

    Cursor(TreeCursor cursor, Runnable guard) {
        this.cursor = cursor;
        this.guard = guard;
    }

    public boolean first() throws IOException {
        guard.run();
        return cursor.first();
    }

    public boolean last() throws IOException {
        guard.run();
        return cursor.last();
    }

    /** Positions on the smallest key &gt;= {@code key}; false when there is none. */
    public boolean seek(byte[] key) throws IOException {
        guard.run();
        return cursor.seek(key);
    }

    /** Positions on the largest key &lt;= {@code key}; false when there is none. */
    public boolean seekFloor(byte[] key) throws IOException {
        guard.run();
        return cursor.seekFloor(key);
    }

    public boolean next() throws IOException {
        guard.run();
        return cursor.next();
    }

    public boolean previous() throws IOException {
        guard.run();
        return cursor.previous();
    }

    public boolean isValid() {
        guard.run();
        return cursor.isValid();
    }

    public byte[] key() {
        guard.run();
        return cursor.key();
    }

    public byte[] value() throws IOException {
        guard.run();
        return cursor.value();
    }
}
