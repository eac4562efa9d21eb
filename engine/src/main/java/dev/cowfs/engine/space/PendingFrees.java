package dev.cowfs.engine.space;

import dev.cowfs.engine.btree.BTree;
import dev.cowfs.engine.btree.TreeCursor;
import dev.cowfs.engine.format.Bytes;
import dev.cowfs.engine.format.SpaceKeys;

import java.io.IOException;

/**
 * The pending-free records of the space tree, walked in one place for every use of the reuse rule (releasing them,
 * counting what commits alone will release, counting what open readers pin): oldest free generation first, each
 * with whether an open reader can still reach it.
 */
final class PendingFrees {
    private PendingFrees() {
    }

    /** A pending extent: freed at {@code freeGeneration}; {@code pinned}: an open reader can still reach it. */
    interface Visitor {
        void visit(long freeGeneration, long start, long count, boolean pinned);
    }

    /** The pending extents freed at or before {@code freedAtOrBefore}, oldest first. */
    static void forEach(BTree space, ReaderRegistry readers, long freedAtOrBefore, Visitor visitor)
            throws IOException {
        TreeCursor cursor = space.cursor();
        for (boolean found = cursor.seek(new byte[] {SpaceKeys.PENDING}); found; found = cursor.next()) {
            byte[] key = cursor.key();
            if (key[0] != SpaceKeys.PENDING || key.length != SpaceKeys.PENDING_KEY_BYTES) {
                break;
            }
            long freeGeneration = Bytes.getLongBigEndian(key, 1);
            if (freeGeneration > freedAtOrBefore) {
                break;
            }
            byte[] value = cursor.value();
            visitor.visit(freeGeneration, Bytes.getLongBigEndian(key, 9), Bytes.getLong(value, 0),
                    readers.pins(Bytes.getLong(value, 8), freeGeneration));
        }
    }
}
