package dev.cowfs.fs;

import dev.cowfs.engine.StoreOptions;
import dev.cowfs.engine.crash.SimulatedDevice;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.LongRange;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Random sequences of filesystem operations against an independent in-memory model of POSIX semantics: every
 * result and every errno must agree; after each sync the engine checker and the filesystem checker must find
 * nothing; after a reopen the whole tree (names, types, link counts, contents, attributes) must equal the model.
 */
class FsModelTest {
    private static final String[] NAMES = {"a", "b", "c", "dir", "file"};

    /** The model: POSIX inodes as plain objects. */
    static final class Node {
        final int type;
        int nlink;
        byte[] data = new byte[0];
        String target;
        final TreeMap<String, Node> children = new TreeMap<>();
        final TreeMap<String, byte[]> xattrs = new TreeMap<>();
        Node parent;

        Node(int type) {
            this.type = type;
        }

        boolean isDir() {
            return type == Inode.S_IFDIR;
        }
    }

    private final Map<Node, Long> inoOf = new HashMap<>();

    @Property(tries = 100)
    void operationsAgreeWithTheModel(@ForAll @LongRange(min = 1, max = 1_000_000_000L) long seed) throws Exception {
        Random random = new Random(seed);
        SimulatedDevice device = new SimulatedDevice();
        FsOptions options = FsOptions.builder().commitIntervalMillis(0).compress(random.nextBoolean())
                .store(StoreOptions.builder().checkAfterCommit(true).build()).build();
        Node root = new Node(Inode.S_IFDIR);
        root.nlink = 2;
        root.parent = root;
        CowFileSystem fs = CowFileSystem.create(device, options);
        inoOf.clear();
        inoOf.put(root, CowFileSystem.ROOT_INO);
        try {
            int steps = 60 + random.nextInt(140);
            for (int step = 0; step < steps; step++) {
                String trace = "seed " + seed + " step " + step;
                int choice = random.nextInt(100);
                if (choice < 4) {
                    fs.sync();
                    checkClean(fs, trace);
                } else if (choice < 6) {
                    fs.close();
                    device = SimulatedDevice.ofImage(device.image());
                    fs = CowFileSystem.open(device, options);
                    compareTree(fs, root, CowFileSystem.ROOT_INO, trace);
                } else {
                    step(fs, root, random, trace);
                }
            }
            fs.sync();
            checkClean(fs, "seed " + seed + " end");
            compareTree(fs, root, CowFileSystem.ROOT_INO, "seed " + seed + " end");
        } finally {
            fs.close();
        }
    }

    private static void checkClean(CowFileSystem fs, String trace) throws Exception {
        assertTrue(fs.store().check().isClean(), trace + ": " + fs.store().check().summary());
        List<String> problems = FsChecker.check(fs.store());
        assertTrue(problems.isEmpty(), trace + ": " + problems);
    }

    private List<Node> allDirs(Node root) {
        List<Node> dirs = new ArrayList<>();
        dirs.add(root);
        for (int i = 0; i < dirs.size(); i++) {
            for (Node child : dirs.get(i).children.values()) {
                if (child.isDir()) {
                    dirs.add(child);
                }
            }
        }
        return dirs;
    }

    private void step(CowFileSystem fs, Node root, Random random, String trace) throws Exception {
        List<Node> dirs = allDirs(root);
        Node dir = dirs.get(random.nextInt(dirs.size()));
        long dirIno = inoOf.get(dir);
        String name = NAMES[random.nextInt(NAMES.length)];
        Node existing = dir.children.get(name);
        int op = random.nextInt(15);
        switch (op) {
            case 0, 1 -> { // create a file
                Errno expected = existing != null ? Errno.EEXIST : null;
                Long ino = expect(trace + " mknod " + name, expected, () -> fs.mknod(dirIno, name, 0644, 0, 0, 0));
                if (ino != null) {
                    Node file = new Node(Inode.S_IFREG);
                    file.nlink = 1;
                    dir.children.put(name, file);
                    inoOf.put(file, ino);
                }
            }
            case 2 -> { // mkdir
                Errno expected = existing != null ? Errno.EEXIST : null;
                Long ino = expect(trace + " mkdir " + name, expected, () -> fs.mkdir(dirIno, name, 0755, 0, 0));
                if (ino != null) {
                    Node sub = new Node(Inode.S_IFDIR);
                    sub.nlink = 2;
                    sub.parent = dir;
                    dir.nlink++;
                    dir.children.put(name, sub);
                    inoOf.put(sub, ino);
                }
            }
            case 3, 4, 5 -> { // write
                if (existing == null || existing.type != Inode.S_IFREG) {
                    return;
                }
                long offset = random.nextInt(4) == 0 ? random.nextInt(3_000_000) : random.nextInt(20_000);
                int length = random.nextInt(10) == 0 ? random.nextInt(2_500_000) : random.nextInt(9000);
                byte[] bytes = new byte[length];
                if (random.nextBoolean()) {
                    random.nextBytes(bytes);
                } else {
                    Arrays.fill(bytes, (byte) random.nextInt(256)); // compressible
                }
                fs.write(inoOf.get(existing), offset, bytes, 0, length);
                if (length > 0) {
                    if (offset + length > existing.data.length) {
                        existing.data = Arrays.copyOf(existing.data, (int) (offset + length));
                    }
                    System.arraycopy(bytes, 0, existing.data, (int) offset, length);
                }
            }
            case 6 -> { // truncate
                if (existing == null || existing.type != Inode.S_IFREG) {
                    return;
                }
                int size = random.nextInt(3) == 0 ? random.nextInt(3_000_000) : random.nextInt(10_000);
                fs.truncate(inoOf.get(existing), size);
                existing.data = Arrays.copyOf(existing.data, size);
            }
            case 7 -> { // read back a range
                if (existing == null || existing.type != Inode.S_IFREG) {
                    return;
                }
                int offset = random.nextInt(existing.data.length + 10);
                byte[] buffer = new byte[random.nextInt(300_000)];
                int n = fs.read(inoOf.get(existing), offset, buffer, 0, buffer.length);
                int expectedN = Math.max(0, Math.min(buffer.length, existing.data.length - offset));
                assertEquals(expectedN, n, trace + " read count");
                assertArrayEquals(Arrays.copyOfRange(existing.data, Math.min(offset, existing.data.length),
                                Math.min(offset, existing.data.length) + expectedN),
                        Arrays.copyOf(buffer, n), trace + " read bytes");
            }
            case 8 -> { // unlink
                Errno expected = existing == null ? Errno.ENOENT : existing.isDir() ? Errno.EISDIR : null;
                expect(trace + " unlink " + name, expected, () -> {
                    fs.unlink(dirIno, name);
                    return 0L;
                });
                if (expected == null) {
                    dir.children.remove(name);
                    existing.nlink--;
                }
            }
            case 9 -> { // rmdir
                Errno expected = existing == null ? Errno.ENOENT : !existing.isDir() ? Errno.ENOTDIR
                        : !existing.children.isEmpty() ? Errno.ENOTEMPTY : null;
                expect(trace + " rmdir " + name, expected, () -> {
                    fs.rmdir(dirIno, name);
                    return 0L;
                });
                if (expected == null) {
                    dir.children.remove(name);
                    dir.nlink--;
                }
            }
            case 10, 11 -> rename(fs, root, dirs, dir, name, existing, random, trace);
            case 12 -> { // hard link
                if (existing == null || existing.isDir()) {
                    return;
                }
                Node toDir = dirs.get(random.nextInt(dirs.size()));
                String toName = NAMES[random.nextInt(NAMES.length)];
                Errno expected = toDir.children.containsKey(toName) ? Errno.EEXIST : null;
                expect(trace + " link " + name + " -> " + toName, expected, () -> {
                    fs.link(inoOf.get(existing), inoOf.get(toDir), toName);
                    return 0L;
                });
                if (expected == null) {
                    toDir.children.put(toName, existing);
                    existing.nlink++;
                }
            }
            case 13 -> { // symlink
                String target = "../" + NAMES[random.nextInt(NAMES.length)] + "/x".repeat(random.nextInt(5));
                Errno expected = existing != null ? Errno.EEXIST : null;
                Long ino = expect(trace + " symlink " + name, expected, () -> fs.symlink(dirIno, name, target, 0, 0));
                if (ino != null) {
                    Node link = new Node(Inode.S_IFLNK);
                    link.nlink = 1;
                    link.target = target;
                    dir.children.put(name, link);
                    inoOf.put(link, ino);
                }
            }
            default -> { // xattrs
                if (existing == null) {
                    return;
                }
                String attr = "user." + NAMES[random.nextInt(NAMES.length)];
                long ino = inoOf.get(existing);
                if (random.nextBoolean()) {
                    byte[] value = new byte[random.nextInt(random.nextInt(8) == 0 ? 60_000 : 100)];
                    random.nextBytes(value);
                    fs.setXattr(ino, attr, value, false, false);
                    existing.xattrs.put(attr, value);
                } else {
                    Errno expected = existing.xattrs.containsKey(attr) ? null : Errno.ENODATA;
                    expect(trace + " removexattr", expected, () -> {
                        fs.removeXattr(ino, attr);
                        return 0L;
                    });
                    existing.xattrs.remove(attr);
                }
            }
        }
    }

    private void rename(CowFileSystem fs, Node root, List<Node> dirs, Node dir, String name, Node source,
            Random random, String trace) throws Exception {
        Node toDir = dirs.get(random.nextInt(dirs.size()));
        String toName = NAMES[random.nextInt(NAMES.length)];
        Node target = toDir.children.get(toName);
        RenameMode mode = RenameMode.values()[random.nextInt(3)];
        Errno expected = null;
        if (source == null) {
            expected = Errno.ENOENT;
        } else if (mode == RenameMode.NOREPLACE && target != null) {
            expected = Errno.EEXIST;
        } else if (mode == RenameMode.EXCHANGE && target == null) {
            expected = Errno.ENOENT;
        } else if (source.isDir() && isWithin(toDir, source)) {
            expected = Errno.EINVAL;
        } else if (mode == RenameMode.EXCHANGE && target.isDir() && isWithin(dir, target)) {
            expected = Errno.EINVAL;
        } else if (mode == RenameMode.REPLACE && target != null && target != source) {
            if (source.isDir() && !target.isDir()) {
                expected = Errno.ENOTDIR;
            } else if (!source.isDir() && target.isDir()) {
                expected = Errno.EISDIR;
            } else if (target.isDir() && !target.children.isEmpty()) {
                expected = Errno.ENOTEMPTY;
            }
        }
        Errno finalExpected = expected;
        expect(trace + " rename " + name + " -> " + toName + " " + mode, finalExpected, () -> {
            fs.rename(inoOf.get(dir), name, inoOf.get(toDir), toName, mode);
            return 0L;
        });
        if (expected != null || target == source) {
            return;
        }
        if (mode == RenameMode.EXCHANGE) {
            dir.children.put(name, target);
            toDir.children.put(toName, source);
            if (dir != toDir) {
                if (source.isDir()) {
                    dir.nlink--;
                    toDir.nlink++;
                    source.parent = toDir;
                }
                if (target.isDir()) {
                    toDir.nlink--;
                    dir.nlink++;
                    target.parent = dir;
                }
            }
            return;
        }
        dir.children.remove(name);
        if (target != null) {
            toDir.children.remove(toName);
            if (target.isDir()) {
                toDir.nlink--;
            } else {
                target.nlink--;
            }
        }
        toDir.children.put(toName, source);
        if (source.isDir() && dir != toDir) {
            dir.nlink--;
            toDir.nlink++;
            source.parent = toDir;
        }
    }

    /** True when {@code dir} is {@code ancestor} or lies below it. */
    private static boolean isWithin(Node dir, Node ancestor) {
        for (Node at = dir; ; at = at.parent) {
            if (at == ancestor) {
                return true;
            }
            if (at.parent == at) {
                return false;
            }
        }
    }

    interface Call {
        long run() throws Exception;
    }

    private static Long expect(String what, Errno expected, Call call) throws Exception {
        try {
            long result = call.run();
            if (expected != null) {
                fail(what + ": expected " + expected + ", succeeded");
            }
            return result;
        } catch (FsException e) {
            if (e.errno() != expected) {
                throw new AssertionError(what + ": expected " + (expected == null ? "success" : expected)
                        + ", got " + e.getMessage(), e);
            }
            return null;
        }
    }

    private void compareTree(CowFileSystem fs, Node dir, long dirIno, String trace) throws Exception {
        Inode inode = fs.stat(dirIno);
        assertEquals(dir.nlink, inode.nlink(), trace + " nlink of directory " + dirIno);
        List<DirEntry> entries = new ArrayList<>();
        long position = 0;
        while (true) {
            List<DirEntry> page = fs.readdir(dirIno, position, 2);
            if (page.isEmpty()) {
                break;
            }
            entries.addAll(page);
            position = page.get(page.size() - 1).nextPosition();
        }
        TreeMap<String, Long> listed = new TreeMap<>();
        for (DirEntry entry : entries) {
            listed.put(entry.name(), entry.ino());
        }
        assertEquals(dir.children.keySet(), listed.keySet(), trace + " names in directory " + dirIno);
        for (var child : dir.children.entrySet()) {
            Node node = child.getValue();
            long ino = listed.get(child.getKey());
            assertEquals(inoOf.get(node), ino, trace + " inode of " + child.getKey());
            assertEquals(ino, fs.lookup(dirIno, child.getKey()));
            Inode attributes = fs.stat(ino);
            assertEquals(node.type, attributes.type(), trace + " type of " + child.getKey());
            if (node.isDir()) {
                compareTree(fs, node, ino, trace);
                continue;
            }
            assertEquals(node.nlink, attributes.nlink(), trace + " nlink of " + child.getKey());
            if (node.type == Inode.S_IFREG) {
                assertEquals(node.data.length, attributes.size(), trace + " size of " + child.getKey());
                byte[] back = new byte[node.data.length];
                assertEquals(back.length, fs.read(ino, 0, back, 0, back.length));
                assertArrayEquals(node.data, back, trace + " contents of " + child.getKey());
            } else if (node.type == Inode.S_IFLNK) {
                assertEquals(node.target, fs.readlink(ino));
            }
            assertEquals(new ArrayList<>(node.xattrs.keySet()), fs.listXattrs(ino), trace + " xattrs");
            for (var attr : node.xattrs.entrySet()) {
                assertArrayEquals(attr.getValue(), fs.getXattr(ino, attr.getKey()));
            }
        }
        assertEquals(new ArrayList<>(dir.xattrs.keySet()), fs.listXattrs(dirIno), trace + " xattrs of dir");
    }
}
