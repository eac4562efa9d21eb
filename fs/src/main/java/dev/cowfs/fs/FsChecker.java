package dev.cowfs.fs;

import dev.cowfs.engine.Cursor;
import dev.cowfs.engine.ReadTransaction;
import dev.cowfs.engine.Store;
import dev.cowfs.engine.format.Bytes;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The filesystem half of {@code cowfs fsck}: walks a committed subvolume tree and proves its namespace and
 * file data consistent. Every directory entry names a live inode of the type it says, and its by-name and
 * by-position items agree; link counts are exact (a file's equals its entries, a directory's is 2 plus its
 * subdirectories); every directory has one parent and the parent fields agree; extent items lie within their
 * file's size, do not overlap, and never coexist with inline data; orphans are unlinked inodes; no item
 * belongs to an inode that does not exist; the next inode number is above every inode. (Block-level checks,
 * reference counts of shared extents included, are the engine checker's.)
 */
public final class FsChecker {
    private final List<String> problems = new ArrayList<>();

    private FsChecker() {
    }

    /** Problems found in the newest committed state (empty when consistent). */
    public static List<String> check(Store store) throws IOException {
        try (ReadTransaction read = store.beginRead()) {
            return check(read);
        }
    }

    /** Problems found in the commit {@code read} reads (empty when consistent). */
    public static List<String> check(ReadTransaction read) throws IOException {
        FsChecker checker = new FsChecker();
        List<Long> ids = new ArrayList<>();
        ids.add(0L);
        if (read.hasTree(CowFileSystem.ROOT_TREE)) {
            Map<Long, SubvolumeInfo> records;
            try {
                records = Subvolumes.readRecords(read.imageUuid(), read.cursor(CowFileSystem.ROOT_TREE));
            } catch (FsException e) {
                checker.problem(e.getMessage());
                return checker.problems;
            }
            ids.addAll(records.keySet());
            checker.checkUnnamedTrees(read, records.keySet());
            Map<java.util.UUID, Long> identities = new HashMap<>();
            for (SubvolumeInfo info : records.values()) {
                Long other = identities.put(info.uuid(), info.id());
                if (other != null) {
                    checker.problem("subvolumes " + other + " and " + info.id() + " have the same UUID " + info.uuid());
                }
            }
        }
        for (long id : ids) {
            long tree = InodeNumber.treeOf(InodeNumber.inoOf(id, 0));
            checker.prefix = id == 0 ? "" : "subvolume " + id + ": ";
            if (!read.hasTree(tree)) {
                checker.problem("its tree " + tree + " is missing");
                continue;
            }
            checker.run(read, tree);
        }
        return checker.problems;
    }

    /**
     * Every subvolume tree is named by a record, or staged by a receive in progress (a marker, which the next
     * open for writing clears with its tree); a tree named by neither is leaked, and a marker never outlives
     * the tree's record.
     */
    private void checkUnnamedTrees(ReadTransaction read, Set<Long> named) throws IOException {
        Unnamed found = unnamed(read, named);
        for (byte[] marker : found.badMarkers()) {
            problem("a receive marker names subvolume " + markerId(marker) + ", which has a record or no tree");
        }
        for (long id : found.leakedTrees()) {
            problem("subvolume tree " + InodeNumber.treeOf(InodeNumber.inoOf(id, 0)) + " (id " + id
                    + ") is named by no record: its blocks are leaked");
        }
    }

    /** Subvolume trees named by no record or marker, and markers that stage nothing (see {@link #unnamed}). */
    record Unnamed(List<Long> leakedTrees, List<byte[]> badMarkers) {
    }

    /** The subvolume id a receive marker's key names, or -1 when the key is malformed. */
    static long markerId(byte[] key) {
        return key.length == 9 ? dev.cowfs.engine.format.Bytes.getLongBigEndian(key, 1) : -1;
    }

    /**
     * In the commit {@code read} reads: subvolume trees that neither a record ({@code named}) nor a receive
     * marker names, and markers beside a record or without a tree.
     */
    static Unnamed unnamed(ReadTransaction read, Set<Long> named) throws IOException {
        List<Long> leaked = new ArrayList<>();
        List<byte[]> bad = new ArrayList<>();
        byte[] info = read.get(CowFileSystem.ROOT_TREE, CowFileSystem.FS_INFO_KEY);
        long nextId = info == null || info.length < FsRecordLayout.NEXT_ID_OFFSET + 8 ? 1
                : Math.max(1, dev.cowfs.engine.format.Bytes.getLong(info, FsRecordLayout.NEXT_ID_OFFSET));
        Set<Long> staged = new HashSet<>();
        Cursor cursor = read.cursor(CowFileSystem.ROOT_TREE);
        for (boolean ok = cursor.seek(new byte[] {Subvolumes.RECEIVING}); ok; ok = cursor.next()) {
            byte[] key = cursor.key();
            if (key.length == 0 || key[0] != Subvolumes.RECEIVING) {
                break;
            }
            long id = markerId(key);
            if (id < 1 || id > Subvolumes.MAX_ID || named.contains(id)
                    || !read.hasTree(InodeNumber.treeOf(InodeNumber.inoOf(id, 0)))) {
                bad.add(key);
            } else {
                staged.add(id);
            }
        }
        for (long id = 1; id < Math.min(nextId, Subvolumes.MAX_ID + 1); id++) {
            if (!named.contains(id) && !staged.contains(id)
                    && read.hasTree(InodeNumber.treeOf(InodeNumber.inoOf(id, 0)))) {
                leaked.add(id);
            }
        }
        return new Unnamed(leaked, bad);
    }

    /** Problems found in one subvolume tree, {@code tree}, of the commit {@code read} reads. */
    static List<String> checkTree(ReadTransaction read, long tree) throws IOException {
        FsChecker checker = new FsChecker();
        checker.run(read, tree);
        return checker.problems;
    }

    /** Files of the subvolume being checked that have their own extent tree. */
    private final Set<Long> nestedFiles = new HashSet<>();

    /** One extent item: in a file, in order, not overlapping, describing its data extent like every other. */
    private void checkItem(long ino, Inode inode, long offset, byte[] value, Map<Long, long[]> lastExtentEnd,
                           List<long[]> extentEnds, Map<Long, FileData.Item> extentShapes) {
        try {
            FileData.Item item = FileData.Item.decode(ino, offset, value);
            if (!inode.isRegularFile()) {
                problem("inode " + ino + ": extent in a non-file");
            }
            long[] previous = lastExtentEnd.computeIfAbsent(ino, k -> new long[] {0});
            if (offset < previous[0]) {
                problem("inode " + ino + ": extent at " + offset + " overlaps the one before");
            }
            previous[0] = item.end();
            extentEnds.add(new long[] {ino, item.end()});
            FileData.Item other = extentShapes.putIfAbsent(item.extent().blockIndex(), item);
            if (other != null && (other.storedBytes() != item.storedBytes()
                    || other.logicalBytes() != item.logicalBytes() || other.compression() != item.compression())) {
                problem("inode " + ino + ": extent item at " + offset + " describes data extent " + item.extent()
                        + " differently from another item sharing it");
            }
        } catch (FsException e) {
            problem(e.getMessage());
        }
    }

    /** Back references ("ino/dir/name") of the subvolume being checked not yet matched to an entry. */
    private final Set<String> backReferences = new HashSet<>();

    /** Names the subvolume being checked in every problem (empty for the default one). */
    private String prefix = "";

    private void problem(String message) {
        if (problems.size() < 1000) {
            problems.add(prefix + message);
        }
    }

    private record Entry(long dir, String name, long child, long index, int type) {
    }

    private void run(ReadTransaction read, long tree) throws IOException {
        TreeWalk walk = new TreeWalk(read, tree);
        Cursor cursor = read.cursor(tree);
        for (boolean ok = cursor.first(); ok; ok = cursor.next()) {
            walk.item(cursor.key(), cursor.value());
        }
        walk.finish();
    }

    /** One subvolume tree's items in key order (each inode's record first), and what they must agree on after. */
    private final class TreeWalk {
        private final ReadTransaction read;
        private final long tree;
        private final Map<Long, Inode> inodes = new HashMap<>();
        private final List<Entry> byName = new ArrayList<>();
        private final Map<String, Entry> byIndex = new HashMap<>();
        private final Set<Long> orphans = new HashSet<>();
        private final Set<Long> withInline = new HashSet<>();
        private final Set<Long> withTarget = new HashSet<>();
        private final Map<Long, FileData.Item> extentShapes = new HashMap<>(); // first block -> an item using it
        private final Map<Long, long[]> lastExtentEnd = new HashMap<>(); // ino -> {end of the previous item}
        private final List<long[]> extentEnds = new ArrayList<>(); // {ino, end}
        private long nextIno = -1;

        TreeWalk(ReadTransaction read, long tree) {
            this.read = read;
            this.tree = tree;
        }

        void item(byte[] key, byte[] value) throws IOException {
            if (key.length < 9) {
                problem("item with a malformed key of " + key.length + " bytes");
                return;
            }
            long ino = FsKeys.ino(key);
            byte type = FsKeys.type(key);
            if (ino == 0) {
                subvolumeRecord(key, type, value);
            } else if (type == FsKeys.INODE) {
                inode(ino, value);
            } else if (!inodes.containsKey(ino)) {
                problem("inode " + ino + ": item of type " + type + " but no inode record");
            } else {
                fileItem(ino, inodes.get(ino), type, key, value);
            }
        }

        private void subvolumeRecord(byte[] key, byte type, byte[] value) {
            if (type == FsKeys.SUBVOLUME_STATE && value.length == 8) {
                nextIno = Bytes.getLong(value, 0);
            } else if (type == FsKeys.ORPHAN && key.length == 17) {
                orphans.add(FsKeys.number(key));
            } else {
                problem("unknown subvolume record of type " + type);
            }
        }

        private void inode(long ino, byte[] value) {
            try {
                Inode inode = Inode.decode(ino, value);
                inodes.put(ino, inode);
                if (ino > CowFileSystem.MAX_INO) {
                    problem("inode " + ino + " is above the largest inode number " + CowFileSystem.MAX_INO);
                }
                if (!inode.isDirectory() && inode.parent() != 0) {
                    problem("inode " + ino + ": a non-directory with a parent field");
                }
            } catch (FsException e) {
                problem(e.getMessage());
            }
        }

        private void fileItem(long ino, Inode inode, byte type, byte[] key, byte[] value) throws IOException {
            switch (type) {
                case FsKeys.DIR_NAME -> entryByName(ino, inode, key, value);
                case FsKeys.DIR_INDEX -> entryByPosition(ino, inode, key, value);
                case FsKeys.INODE_REF -> {
                    if (key.length < 18 || value.length != 0) {
                        problem("inode " + ino + ": malformed back reference");
                    } else {
                        backReferences.add(ino + "/" + FsKeys.number(key) + "/"
                                + new String(key, 17, key.length - 17, StandardCharsets.UTF_8));
                    }
                }
                case FsKeys.INLINE_DATA -> {
                    withInline.add(ino);
                    if (!inode.isRegularFile() || value.length > inode.size()) {
                        problem("inode " + ino + ": inline data of " + value.length + " bytes in a "
                                + (inode.isRegularFile() ? "file of " + inode.size() + " bytes" : "non-file"));
                    }
                }
                case FsKeys.SYMLINK -> {
                    withTarget.add(ino);
                    if (!inode.isSymbolicLink() || value.length != inode.size()) {
                        problem("inode " + ino + ": symbolic link target disagrees with the inode");
                    }
                }
                case FsKeys.XATTR -> {
                    if (value.length > CowFileSystem.XATTR_VALUE_MAX) {
                        problem("inode " + ino + ": attribute value over the limit");
                    }
                }
                case FsKeys.EXTENT -> checkItem(ino, inode, FsKeys.number(key), value, lastExtentEnd, extentEnds,
                        extentShapes);
                case FsKeys.EXTENT_TREE -> extentTree(ino, inode, key);
                default -> problem("inode " + ino + ": unknown item type " + type);
            }
        }

        private void entryByName(long ino, Inode inode, byte[] key, byte[] value) {
            if (value.length != 17) {
                problem("directory " + ino + ": malformed entry");
                return;
            }
            String name = new String(FsKeys.name(key), StandardCharsets.UTF_8);
            try {
                if (!java.util.Arrays.equals(DirectoryTree.nameBytes(name), FsKeys.name(key))) {
                    problem("directory " + ino + ": entry name is not valid UTF-8");
                }
            } catch (FsException e) {
                problem("directory " + ino + ": invalid entry name: " + e.getMessage());
            }
            byName.add(new Entry(ino, name, Bytes.getLong(value, DirEntryLayout.INO_OFFSET),
                    Bytes.getLong(value, DirEntryLayout.POSITION_OFFSET), (value[DirEntryLayout.TYPE_OFFSET] & 0xFF) << 12));
            if (!inode.isDirectory()) {
                problem("inode " + ino + " holds entry '" + name + "' but is not a directory");
            }
        }

        private void entryByPosition(long ino, Inode inode, byte[] key, byte[] value) {
            long index = FsKeys.number(key);
            if (value.length < 10) {
                problem("directory " + ino + ": malformed position item " + index);
                return;
            }
            String name = new String(value, DirPositionLayout.NAME_OFFSET,
                    value.length - DirPositionLayout.NAME_OFFSET, StandardCharsets.UTF_8);
            byIndex.put(ino + "/" + index, new Entry(ino, name, Bytes.getLong(value, DirPositionLayout.INO_OFFSET),
                    index, (value[DirPositionLayout.TYPE_OFFSET] & 0xFF) << 12));
            if (index < 2 || index >= inode.nextDirIndex()) {
                problem("directory " + ino + ": entry position " + index + " outside [2, " + inode.nextDirIndex()
                        + ")");
            }
        }

        private void extentTree(long ino, Inode inode, byte[] key) throws IOException {
            if (lastExtentEnd.containsKey(ino)) {
                problem("inode " + ino + ": its own extent tree beside extent items");
            }
            nestedFiles.add(ino);
            Cursor items = read.nestedCursor(tree, key);
            long count = 0;
            for (boolean more = items.first(); more; more = items.next()) {
                byte[] itemKey = items.key();
                if (itemKey.length != 8 || ++count > Long.MAX_VALUE / 2) {
                    problem("inode " + ino + ": malformed key in its extent tree");
                    break;
                }
                checkItem(ino, inode, Bytes.getLongBigEndian(itemKey, 0), items.value(), lastExtentEnd, extentEnds,
                        extentShapes);
            }
        }

        /** What the items must agree on once all are seen: extents within sizes, names, reachability, counters. */
        void finish() {
            for (long[] end : extentEnds) {
                Inode inode = inodes.get(end[0]);
                if (end[1] > inode.size()) {
                    problem("inode " + end[0] + ": extent ends at " + end[1] + ", past the file size " + inode.size());
                }
                if (withInline.contains(end[0])) {
                    problem("inode " + end[0] + ": inline data and extents at once");
                }
            }
            for (Inode inode : inodes.values()) {
                if (inode.isSymbolicLink() && !withTarget.contains(inode.ino())) {
                    problem("symbolic link " + inode.ino() + " has no target");
                }
            }
            Inode root = inodes.get(CowFileSystem.ROOT_INO);
            if (root == null || !root.isDirectory()) {
                problem("the root directory (inode " + CowFileSystem.ROOT_INO + ") is missing or not a directory");
            }
            nestedFiles.clear();
            checkNamespace(inodes, byName, byIndex, orphans);
            for (String stray : backReferences) {
                problem("back reference " + stray + " (inode/directory/name) names no directory entry");
            }
            backReferences.clear();
            checkReachable(inodes, orphans);
            long maxIno = inodes.keySet().stream().mapToLong(Long::longValue).max().orElse(0);
            if (nextIno <= maxIno) {
                problem("next inode number " + nextIno + " is not above the largest inode " + maxIno);
            }
        }
    }

    /** Every directory reaches the root through its parents (no detached cycles). */
    private void checkReachable(Map<Long, Inode> inodes, Set<Long> orphans) {
        Set<Long> reaching = new HashSet<>();
        reaching.add(CowFileSystem.ROOT_INO);
        for (Inode inode : inodes.values()) {
            if (!inode.isDirectory() || orphans.contains(inode.ino())) {
                continue;
            }
            List<Long> path = new ArrayList<>();
            long current = inode.ino();
            while (!reaching.contains(current)) {
                Inode at = inodes.get(current);
                if (at == null || !at.isDirectory() || path.contains(current) || path.size() > inodes.size()) {
                    problem("directory " + inode.ino() + " does not reach the root through its parents "
                            + "(stops at " + current + ")");
                    path.clear();
                    break;
                }
                path.add(current);
                current = at.parent();
            }
            reaching.addAll(path);
        }
    }

    private void checkNamespace(Map<Long, Inode> inodes, List<Entry> byName, Map<String, Entry> byIndex,
            Set<Long> orphans) {
        Map<Long, Integer> links = new HashMap<>();
        Map<Long, Integer> subdirectories = new HashMap<>();
        Map<Long, Long> parentOf = new HashMap<>();
        for (Entry entry : byName) {
            if (!backReferences.remove(entry.child() + "/" + entry.dir() + "/" + entry.name())) {
                problem("directory " + entry.dir() + ": entry '" + entry.name() + "' has no back reference in inode "
                        + entry.child());
            }
            Entry twin = byIndex.remove(entry.dir() + "/" + entry.index());
            if (twin == null || twin.child() != entry.child() || !twin.name().equals(entry.name())
                    || twin.type() != entry.type()) {
                problem("directory " + entry.dir() + ": entry '" + entry.name() + "' has no matching position item");
            }
            Inode child = inodes.get(entry.child());
            if (child == null) {
                problem("directory " + entry.dir() + ": entry '" + entry.name() + "' names missing inode "
                        + entry.child());
                continue;
            }
            if (child.type() != entry.type()) {
                problem("directory " + entry.dir() + ": entry '" + entry.name() + "' says type "
                        + Integer.toOctalString(entry.type()) + ", inode has " + Integer.toOctalString(child.type()));
            }
            links.merge(entry.child(), 1, Integer::sum);
            if (child.isDirectory()) {
                subdirectories.merge(entry.dir(), 1, Integer::sum);
                if (parentOf.put(entry.child(), entry.dir()) != null) {
                    problem("directory " + entry.child() + " has more than one parent");
                }
            }
        }
        for (Entry stray : byIndex.values()) {
            problem("directory " + stray.dir() + ": position item " + stray.index() + " ('" + stray.name()
                    + "') has no entry by name");
        }
        for (Inode inode : inodes.values()) {
            long ino = inode.ino();
            int named = links.getOrDefault(ino, 0);
            if (orphans.contains(ino)) {
                if (inode.nlink() != 0 || named != 0) {
                    problem("orphan " + ino + " still has links");
                }
            } else if (inode.isDirectory()) {
                int expected = 2 + subdirectories.getOrDefault(ino, 0);
                if (inode.nlink() != expected) {
                    problem("directory " + ino + ": link count " + inode.nlink() + ", expected " + expected);
                }
                if (ino == CowFileSystem.ROOT_INO) {
                    if (named != 0 || inode.parent() != ino) {
                        problem("root directory is named somewhere or has a parent");
                    }
                } else if (named != 1) {
                    problem("directory " + ino + " is named " + named + " times");
                } else if (parentOf.get(ino) != inode.parent()) {
                    problem("directory " + ino + ": parent field " + inode.parent() + ", but it lives in "
                            + parentOf.get(ino));
                }
            } else if (inode.nlink() != named || named == 0) {
                problem("inode " + ino + ": link count " + inode.nlink() + ", named " + named + " times");
            }
        }
        for (long orphan : orphans) {
            if (!inodes.containsKey(orphan)) {
                problem("orphan record for missing inode " + orphan);
            }
        }
    }
}
