package dev.cowfs.fs;

import dev.cowfs.engine.Cursor;
import dev.cowfs.engine.ReadTransaction;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The logical changes from one subvolume tree to another (or from nothing to a tree), inode by inode: items
 * that differ, with their whole values, and each file's extent mappings that differ, whether they lie beside
 * the inode or in its own extent tree. With a base, the engine's tree diff skips every subtree the two trees
 * share, so the cost follows the change; without one, every item is new. Send streams and their content hash
 * are both made from it.
 */
final class SnapshotChanges {
    /** Receives the changes of one inode after another, in inode order. */
    interface Sink {
        /** An item other than an extent that differs: {@code before} null when added, {@code after} when removed. */
        void item(byte[] key, byte[] before, byte[] after) throws IOException;

        /**
         * The extent mappings of file {@code ino} (its number in the subvolume) that the base has and the tree
         * not ({@code removed}) and the reverse ({@code added}), in offset order; {@code gone} when the inode
         * itself is removed.
         */
        void extents(long ino, List<FileData.Item> removed, List<FileData.Item> added, boolean gone)
                throws IOException;
    }

    private final ReadTransaction read;
    private final long baseTree;
    private final long tree;
    private final Sink sink;
    /** The inode whose changes are being gathered, and its changed keys (extents aside). */
    private long ino = -1;
    private final List<byte[]> keys = new ArrayList<>();
    private final List<Boolean> inBase = new ArrayList<>();
    private final List<Boolean> inTree = new ArrayList<>();
    private boolean extentsChanged;
    private boolean gone;

    private SnapshotChanges(ReadTransaction read, long baseTree, long tree, Sink sink) {
        this.read = read;
        this.baseTree = baseTree;
        this.tree = tree;
        this.sink = sink;
    }

    /** Reports the changes from {@code baseTree} (-1: none, every item is new) to {@code tree}. */
    static void walk(ReadTransaction read, long baseTree, long tree, Sink sink) throws IOException {
        SnapshotChanges changes = new SnapshotChanges(read, baseTree, tree, sink);
        if (baseTree < 0) {
            changes.walkAll();
        } else {
            read.diff(baseTree, tree, (key, was, is) -> changes.changed(key, was != null, is != null));
            changes.flush();
        }
    }

    private void walkAll() throws IOException {
        Cursor cursor = read.cursor(tree);
        List<FileData.Item> items = new ArrayList<>();
        long current = -1;
        for (boolean ok = cursor.first(); ok; ok = cursor.next()) {
            byte[] key = cursor.key();
            checkKey(key);
            long keyIno = FsKeys.ino(key);
            if (keyIno != current) {
                if (!items.isEmpty()) {
                    sink.extents(current, List.of(), items, false);
                    items = new ArrayList<>();
                }
                current = keyIno;
            }
            byte type = FsKeys.type(key);
            if (type == FsKeys.EXTENT) {
                items.add(FileData.Item.decode(keyIno, FsKeys.number(key), cursor.value()));
            } else if (type == FsKeys.EXTENT_TREE) {
                items.addAll(extentItems(tree, keyIno));
            } else if (type != FsKeys.ORPHAN) {
                sink.item(key, null, cursor.value());
            }
        }
        if (!items.isEmpty()) {
            sink.extents(current, List.of(), items, false);
        }
    }

    private void changed(byte[] key, boolean was, boolean is) throws IOException {
        checkKey(key);
        long keyIno = FsKeys.ino(key);
        if (keyIno != ino) {
            flush();
            ino = keyIno;
        }
        byte type = FsKeys.type(key);
        if (type == FsKeys.EXTENT || type == FsKeys.EXTENT_TREE) {
            extentsChanged = true;
        } else if (type != FsKeys.ORPHAN) {
            keys.add(key);
            inBase.add(was);
            inTree.add(is);
            if (type == FsKeys.INODE && key.length == 9 && !is) {
                gone = true;
            }
        }
    }

    /** Reports the gathered inode: its items (whole values read from each side), then its extents. */
    private void flush() throws IOException {
        if (ino < 0) {
            return;
        }
        for (int i = 0; i < keys.size(); i++) {
            byte[] key = keys.get(i);
            byte[] before = inBase.get(i) ? read.get(baseTree, key) : null;
            byte[] after = inTree.get(i) ? read.get(tree, key) : null;
            sink.item(key, before, after);
        }
        if (extentsChanged) {
            reportExtents();
        }
        keys.clear();
        inBase.clear();
        inTree.clear();
        extentsChanged = false;
        gone = false;
        ino = -1;
    }

    private void reportExtents() throws IOException {
        byte[] treeKey = ExtentItems.treeKey(ino);
        List<FileData.Item> removed = new ArrayList<>();
        List<FileData.Item> added = new ArrayList<>();
        if (!gone && hasNested(baseTree, treeKey) && hasNested(tree, treeKey)) {
            long file = ino;
            read.diffNested(baseTree, treeKey, tree, treeKey, (key, was, is) -> {
                if (key.length != 8) {
                    throw new FsException(Errno.EIO, "inode " + file + ": malformed key in its extent tree; "
                            + "run cowfs fsck");
                }
                long offset = dev.cowfs.engine.format.Bytes.getLongBigEndian(key, 0);
                if (was != null) {
                    removed.add(FileData.Item.decode(file, offset, was));
                }
                if (is != null) {
                    added.add(FileData.Item.decode(file, offset, is));
                }
            });
        } else {
            List<FileData.Item> before = extentItems(baseTree, ino);
            List<FileData.Item> after = gone ? List.of() : extentItems(tree, ino);
            Map<Long, FileData.Item> byOffset = new HashMap<>();
            for (FileData.Item item : after) {
                byOffset.put(item.offset(), item);
            }
            for (FileData.Item item : before) {
                FileData.Item same = byOffset.get(item.offset());
                if (same != null && same.equals(item)) {
                    byOffset.remove(item.offset());
                } else {
                    removed.add(item);
                }
            }
            for (FileData.Item item : after) {
                if (byOffset.containsKey(item.offset())) {
                    added.add(item);
                }
            }
        }
        sink.extents(ino, removed, added, gone);
    }

    private boolean hasNested(long treeId, byte[] treeKey) throws IOException {
        return read.nestedCursor(treeId, treeKey) != null;
    }

    /** Every extent item of file {@code ino} in {@code treeId}, wherever they lie, in offset order. */
    private List<FileData.Item> extentItems(long treeId, long file) throws IOException {
        List<FileData.Item> items = new ArrayList<>();
        Cursor nested = read.nestedCursor(treeId, ExtentItems.treeKey(file));
        if (nested != null) {
            ExtentItems.collectNested(nested, file, 0, Long.MAX_VALUE, items);
        }
        Cursor cursor = read.cursor(treeId);
        for (boolean ok = cursor.seek(FsKeys.of(file, FsKeys.EXTENT, 0)); ok; ok = cursor.next()) {
            byte[] key = cursor.key();
            if (!FsKeys.is(key, file, FsKeys.EXTENT) || key.length != 17) {
                break;
            }
            items.add(FileData.Item.decode(file, FsKeys.number(key), cursor.value()));
        }
        items.sort((a, b) -> Long.compare(a.offset(), b.offset()));
        return items;
    }

    private static void checkKey(byte[] key) throws FsException {
        if (key.length < 9) {
            throw new FsException(Errno.EIO, "item with a malformed key of " + key.length + " bytes ("
                    + Arrays.toString(key) + "); run cowfs fsck");
        }
    }
}
