package dev.cowfs.fs;

import dev.cowfs.engine.Cursor;
import dev.cowfs.engine.ReadTransaction;
import dev.cowfs.engine.format.Bytes;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Path-level differences between two subvolume trees (a snapshot and a later snapshot, clone or the live
 * subvolume): the engine's tree diff finds the items that differ, skipping every subtree both share, and the
 * items' inodes and back references give the paths. Cost follows the changes, not the number of files.
 */
final class SnapshotDiff {
    /** What changed about one inode. */
    private static final class Change {
        boolean existedBefore = true;
        boolean existsAfter = true;
        boolean contentsChanged;
        final List<String[]> namesRemoved = new ArrayList<>(); // {dir, name}
        final List<String[]> namesAdded = new ArrayList<>();
    }

    private SnapshotDiff() {
    }

    static List<DiffEntry> diff(ReadTransaction read, long beforeTree, long afterTree) throws IOException {
        Map<Long, Change> changes = new TreeMap<>();
        read.diff(beforeTree, afterTree, (key, was, is) -> {
            long ino = FsKeys.ino(key);
            if (ino == 0 || key.length < 9) {
                return; // subvolume counters and orphans
            }
            Change change = changes.computeIfAbsent(ino, k -> new Change());
            byte type = FsKeys.type(key);
            if (type == FsKeys.INODE) {
                change.existedBefore = was != null;
                change.existsAfter = is != null;
                change.contentsChanged |= was == null || is == null || differsBeyondChangeTime(was, is);
            } else if (type == FsKeys.INODE_REF && key.length >= 18) {
                String[] name = {Long.toString(FsKeys.number(key)),
                        new String(key, 17, key.length - 17, StandardCharsets.UTF_8)};
                (was == null ? change.namesAdded : change.namesRemoved).add(name);
            } else if (type != FsKeys.DIR_NAME && type != FsKeys.DIR_INDEX) {
                change.contentsChanged = true; // data, attributes, link target
            }
        });
        List<DiffEntry> out = new ArrayList<>();
        for (Map.Entry<Long, Change> entry : changes.entrySet()) {
            long ino = entry.getKey();
            Change change = entry.getValue();
            if (!change.existedBefore) {
                for (String[] name : change.namesAdded) {
                    out.add(new DiffEntry(DiffEntry.Kind.ADDED, path(read, afterTree, name), null));
                }
                continue;
            }
            if (!change.existsAfter) {
                for (String[] name : change.namesRemoved) {
                    out.add(new DiffEntry(DiffEntry.Kind.REMOVED, path(read, beforeTree, name), null));
                }
                continue;
            }
            int paired = Math.min(change.namesRemoved.size(), change.namesAdded.size());
            for (int i = 0; i < paired; i++) {
                out.add(new DiffEntry(DiffEntry.Kind.RENAMED, path(read, beforeTree, change.namesRemoved.get(i)),
                        path(read, afterTree, change.namesAdded.get(i))));
            }
            for (int i = paired; i < change.namesAdded.size(); i++) {
                out.add(new DiffEntry(DiffEntry.Kind.ADDED, path(read, afterTree, change.namesAdded.get(i)), null));
            }
            for (int i = paired; i < change.namesRemoved.size(); i++) {
                out.add(new DiffEntry(DiffEntry.Kind.REMOVED, path(read, beforeTree, change.namesRemoved.get(i)),
                        null));
            }
            if (change.contentsChanged && hasName(read, afterTree, ino)) {
                // (An inode left without a name, unlinked but still open, shows only as its removed names.)
                out.add(new DiffEntry(DiffEntry.Kind.MODIFIED, pathOf(read, afterTree, ino), null));
            }
        }
        out.sort(Comparator.comparing(DiffEntry::path).thenComparing(DiffEntry::kind));
        return out;
    }

    /** A rename or link alone only sets the inode's change time: that is not a modification of the inode. */
    private static boolean differsBeyondChangeTime(byte[] was, byte[] is) {
        if (was.length != is.length || was.length < InodeLayout.CTIME_OFFSET + 12) {
            return true;
        }
        byte[] a = was.clone();
        byte[] b = is.clone();
        java.util.Arrays.fill(a, InodeLayout.CTIME_OFFSET, InodeLayout.CTIME_OFFSET + 12, (byte) 0);
        java.util.Arrays.fill(b, InodeLayout.CTIME_OFFSET, InodeLayout.CTIME_OFFSET + 12, (byte) 0);
        return !java.util.Arrays.equals(a, b);
    }

    private static String path(ReadTransaction read, long tree, String[] name) throws IOException {
        String dir = pathOf(read, tree, Long.parseLong(name[0]));
        return (dir.equals("/") ? "" : dir) + "/" + name[1];
    }

    private static boolean hasName(ReadTransaction read, long tree, long ino) throws IOException {
        if (ino == CowFileSystem.ROOT_INO) {
            return true; // the root has no name and needs none
        }
        Cursor cursor = read.cursor(tree);
        return cursor.seek(FsKeys.of(ino, FsKeys.INODE_REF)) && FsKeys.is(cursor.key(), ino, FsKeys.INODE_REF);
    }

    /** A path of the inode in the tree, through its back references (its first name where it has several). */
    static String pathOf(ReadTransaction read, long tree, long ino) throws IOException {
        StringBuilder path = new StringBuilder();
        long current = ino;
        for (int depth = 0; current != CowFileSystem.ROOT_INO; depth++) {
            if (depth > CowFileSystem.PATH_MAX) {
                throw new FsException(Errno.EIO, "inode " + ino + ": its back references form a cycle; run cowfs fsck");
            }
            Cursor cursor = read.cursor(tree);
            byte[] start = FsKeys.of(current, FsKeys.INODE_REF);
            if (!cursor.seek(start) || !FsKeys.is(cursor.key(), current, FsKeys.INODE_REF)) {
                throw new FsException(Errno.EIO, "inode " + current
                        + " has no name (no back reference); run cowfs fsck");
            }
            byte[] key = cursor.key();
            path.insert(0, "/" + new String(key, 17, key.length - 17, StandardCharsets.UTF_8));
            current = Bytes.getLongBigEndian(key, 9);
        }
        return path.length() == 0 ? "/" : path.toString();
    }
}
