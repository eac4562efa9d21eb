package dev.cowfs.fs;

import dev.cowfs.engine.Cursor;
import dev.cowfs.engine.NestedTree;
import dev.cowfs.engine.ReadTransaction;
import dev.cowfs.engine.WriteTransaction;
import dev.cowfs.engine.format.Bytes;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Where a file's extent items live. A file with few items keeps them in its subvolume's tree (key: ino, 08,
 * offset), beside its inode; once it has more than {@link #NEST_ABOVE_ITEMS}, they move into an extent tree of
 * its own, nested in the entry (ino, 09) (key: offset). A reflink clone of a file with its own extent tree shares
 * that tree in O(1), whatever the file's size and extent count; a small file's few items are copied.
 */
final class ExtentItems {
    /** A file with more items than this gets its own extent tree. */
    static final int NEST_ABOVE_ITEMS = 32;

    private final InodeTable inodes;

    ExtentItems(InodeTable inodes) {
        this.inodes = inodes;
    }

    static byte[] offsetKey(long offset) {
        byte[] key = new byte[8];
        Bytes.putLongBigEndian(key, 0, offset);
        return key;
    }

    static byte[] treeKey(long ino) {
        return FsKeys.of(ino, FsKeys.EXTENT_TREE);
    }

    private WriteTransaction txn() {
        return inodes.txn();
    }

    private boolean nested(long ino) throws IOException {
        return txn().hasNestedTree(InodeNumber.treeOf(ino), treeKey(ino));
    }

    private NestedTree tree(long ino) throws IOException {
        return txn().nestedTree(InodeNumber.treeOf(ino), treeKey(ino));
    }

    /**
     * Where one file's items are (beside its inode, or in its own extent tree), looked up once for a series of
     * changes: a write or a punch changes several items and need not ask again for each.
     */
    Target of(long ino) throws IOException {
        return new Target(ino, nested(ino) ? tree(ino) : null);
    }

    final class Target {
        private final long ino;
        private final NestedTree nestedTree;

        private Target(long ino, NestedTree nestedTree) {
            this.ino = ino;
            this.nestedTree = nestedTree;
        }

        /** Stores an item whose extent reference the caller holds (a new extent, or one whose count it raised). */
        void put(FileData.Item item) throws IOException {
            if (nestedTree != null) {
                nestedTree.putDataExtent(offsetKey(item.offset()), item.encode());
            } else {
                txn().putDataExtent(InodeNumber.treeOf(ino), FsKeys.of(ino, FsKeys.EXTENT, item.offset()),
                        item.encode());
            }
        }

        void delete(long offset) throws IOException {
            if (nestedTree != null) {
                nestedTree.delete(offsetKey(offset));
            } else {
                txn().delete(InodeNumber.treeOf(ino), FsKeys.of(ino, FsKeys.EXTENT, offset));
            }
        }
    }

    /** The items overlapping [from, to), in file order. */
    List<FileData.Item> items(long ino, long from, long to) throws IOException {
        List<FileData.Item> items = new ArrayList<>();
        if (txn() == null) {
            try (ReadTransaction read = inodes.store().beginRead()) {
                Cursor nestedCursor = read.nestedCursor(InodeNumber.treeOf(ino), treeKey(ino));
                if (nestedCursor != null) {
                    collectNested(nestedCursor, ino, from, to, items);
                } else {
                    collectFlat(read.cursor(InodeNumber.treeOf(ino)), ino, from, to, items);
                }
            }
        } else if (nested(ino)) {
            collectNested(tree(ino).cursor(), ino, from, to, items);
        } else {
            collectFlat(inodes.cursor(ino), ino, from, to, items);
        }
        return items;
    }

    boolean hasAny(long ino) throws IOException {
        if (nested(ino)) {
            return tree(ino).cursor().first();
        }
        Cursor cursor = inodes.cursor(ino);
        return cursor.seek(FsKeys.of(ino, FsKeys.EXTENT, 0)) && FsKeys.is(cursor.key(), ino, FsKeys.EXTENT);
    }

    /** Gives the file its own extent tree once it has more than {@link #NEST_ABOVE_ITEMS} items. */
    void nestIfLarge(long ino) throws IOException {
        if (nested(ino)) {
            return;
        }
        Cursor cursor = inodes.cursor(ino);
        int count = 0;
        for (boolean ok = cursor.seek(FsKeys.of(ino, FsKeys.EXTENT, 0)); ok && count <= NEST_ABOVE_ITEMS;
             ok = cursor.next()) {
            if (!FsKeys.is(cursor.key(), ino, FsKeys.EXTENT)) {
                break;
            }
            count++;
        }
        if (count > NEST_ABOVE_ITEMS) {
            nest(ino);
        }
    }

    /** Moves every item of the file into its own extent tree (each reference moves with its item). */
    private void nest(long ino) throws IOException {
        List<FileData.Item> all = new ArrayList<>();
        collectFlat(inodes.cursor(ino), ino, 0, Long.MAX_VALUE, all);
        NestedTree nestedTree = tree(ino);
        long subvolumeTree = InodeNumber.treeOf(ino);
        for (FileData.Item item : all) {
            txn().addDataExtentReference(item.extent());
            nestedTree.putDataExtent(offsetKey(item.offset()), item.encode());
            txn().delete(subvolumeTree, FsKeys.of(ino, FsKeys.EXTENT, item.offset()));
        }
    }

    /**
     * Gives {@code dst} (which has no items) all of {@code src}'s items: its extent tree shared in O(1), or, for
     * a small file, its few items copied (each extent one reference more).
     */
    void cloneInto(long src, long dst) throws IOException {
        nestIfLarge(src);
        if (nested(src)) {
            txn().cloneNestedTree(InodeNumber.treeOf(src), treeKey(src), InodeNumber.treeOf(dst), treeKey(dst));
            return;
        }
        Target target = of(dst);
        for (FileData.Item item : items(src, 0, Long.MAX_VALUE)) {
            txn().addDataExtentReference(item.extent());
            target.put(item);
        }
    }

    private static void collectFlat(Cursor cursor, long ino, long from, long to, List<FileData.Item> items)
            throws IOException {
        boolean ok = cursor.seekFloor(FsKeys.of(ino, FsKeys.EXTENT, from));
        if (!ok || !FsKeys.is(cursor.key(), ino, FsKeys.EXTENT)) {
            ok = cursor.seek(FsKeys.of(ino, FsKeys.EXTENT, from));
        }
        for (; ok; ok = cursor.next()) {
            byte[] key = cursor.key();
            if (!FsKeys.is(key, ino, FsKeys.EXTENT)) {
                break;
            }
            long offset = FsKeys.number(key);
            if (offset >= to) {
                break;
            }
            FileData.Item item = FileData.Item.decode(ino, offset, cursor.value());
            if (item.end() > from) {
                items.add(item);
            }
        }
    }

    static void collectNested(Cursor cursor, long ino, long from, long to, List<FileData.Item> items)
            throws IOException {
        boolean ok = cursor.seekFloor(offsetKey(from));
        if (!ok) {
            ok = cursor.seek(offsetKey(from));
        }
        for (; ok; ok = cursor.next()) {
            byte[] key = cursor.key();
            if (key.length != 8) {
                throw new FsException(Errno.EIO, "inode " + ino + ": malformed key in its extent tree; run cowfs fsck");
            }
            long offset = Bytes.getLongBigEndian(key, 0);
            if (offset >= to) {
                break;
            }
            FileData.Item item = FileData.Item.decode(ino, offset, cursor.value());
            if (item.end() > from) {
                items.add(item);
            }
        }
    }
}
