package dev.cowfs.crash;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The reference the crash harness judges by: a plain in-memory model of the namespace, file bytes, hard links,
 * symbolic links, extended attributes, snapshots and clones, applying {@link CrashOp}s with POSIX semantics.
 * Its {@link #dump} has the same shape as {@link FsDump#of} of a real filesystem, so the two compare as maps.
 * File contents are immutable arrays, replaced on change, so copies (snapshots, {@link #copy}) share them.
 */
public final class FsModel {
    static final class Node {
        final char type; // 'f' file, 'd' directory, 'l' symbolic link
        byte[] data = new byte[0];
        String target;
        final TreeMap<String, Node> children;
        final TreeMap<String, byte[]> xattrs = new TreeMap<>();

        Node(char type) {
            this.type = type;
            this.children = type == 'd' ? new TreeMap<>() : null;
        }
    }

    private static final class Subvolume {
        final Node root;
        final boolean readOnly;

        Subvolume(Node root, boolean readOnly) {
            this.root = root;
            this.readOnly = readOnly;
        }
    }

    /** Subvolumes by name; "" is the default one. */
    private final TreeMap<String, Subvolume> subvolumes = new TreeMap<>();

    public FsModel() {
        subvolumes.put("", new Subvolume(new Node('d'), false));
    }

    /** An independent copy (contents shared, being immutable). */
    public FsModel copy() {
        FsModel copy = new FsModel();
        copy.subvolumes.clear();
        subvolumes.forEach((name, subvolume) -> copy.subvolumes.put(name,
                new Subvolume(deepCopy(subvolume.root, new IdentityHashMap<>()), subvolume.readOnly)));
        return copy;
    }

    private static Node deepCopy(Node node, Map<Node, Node> copies) {
        Node existing = copies.get(node);
        if (existing != null) {
            return existing; // a hard link: the copy keeps the two names on one file
        }
        Node copy = new Node(node.type);
        copies.put(node, copy);
        copy.data = node.data;
        copy.target = node.target;
        copy.xattrs.putAll(node.xattrs);
        if (node.children != null) {
            node.children.forEach((name, child) -> copy.children.put(name, deepCopy(child, copies)));
        }
        return copy;
    }

    // ------------------------------------------------------------------ questions (for generators)

    /** The node at an absolute path of the default subvolume (symbolic links not followed), or null. */
    Node find(String path) {
        Node node = subvolumes.get("").root;
        for (String part : parts(path)) {
            if (node.type != 'd') {
                return null;
            }
            node = node.children.get(part);
            if (node == null) {
                return null;
            }
        }
        return node;
    }

    public char typeOf(String path) {
        Node node = find(path);
        return node == null ? 0 : node.type;
    }

    public long sizeOf(String path) {
        Node node = find(path);
        return node == null || node.type != 'f' ? -1 : node.data.length;
    }

    public List<String> childrenOf(String path) {
        Node node = find(path);
        return node == null || node.type != 'd' ? List.of() : new ArrayList<>(node.children.keySet());
    }

    public boolean hasXattr(String path, String name) {
        Node node = find(path);
        return node != null && node.xattrs.containsKey(name);
    }

    public boolean hasSubvolume(String name) {
        return subvolumes.containsKey(name);
    }

    /** The names of the subvolumes besides the default one (snapshots and clones). */
    public List<String> subvolumeNames() {
        List<String> names = new ArrayList<>(subvolumes.keySet());
        names.remove("");
        return names;
    }

    public boolean isReadOnly(String name) {
        return subvolumes.get(name).readOnly;
    }

    /** Whether the two paths name one file (hard links). */
    public boolean sameNode(String a, String b) {
        Node x = find(a);
        return x != null && x == find(b);
    }

    // ------------------------------------------------------------------ changes

    /** Applies one operation; the caller has made sure it is valid (see {@link AceWorkloads}). */
    public void apply(CrashOp op) {
        if (op instanceof CrashOp.Create create) {
            add(create.path(), new Node('f'));
        } else if (op instanceof CrashOp.Mkdir mkdir) {
            add(mkdir.path(), new Node('d'));
        } else if (op instanceof CrashOp.Write write) {
            Node file = file(write.path());
            long end = write.offset() + write.length();
            byte[] data = java.util.Arrays.copyOf(file.data, (int) Math.max(file.data.length, end));
            byte[] pattern = DataPattern.bytes(write.tag(), DataPattern.fileTag(write.path()), write.offset(),
                    write.length());
            System.arraycopy(pattern, 0, data, (int) write.offset(), write.length());
            file.data = data;
        } else if (op instanceof CrashOp.Truncate truncate) {
            Node file = file(truncate.path());
            file.data = java.util.Arrays.copyOf(file.data, (int) truncate.size());
        } else if (op instanceof CrashOp.PunchHole punch) {
            Node file = file(punch.path());
            byte[] data = file.data.clone();
            java.util.Arrays.fill(data, (int) Math.min(punch.offset(), data.length),
                    (int) Math.min(punch.offset() + punch.length(), data.length), (byte) 0);
            file.data = data;
        } else if (op instanceof CrashOp.Unlink unlink) {
            parent(unlink.path()).children.remove(name(unlink.path()));
        } else if (op instanceof CrashOp.Rmdir rmdir) {
            parent(rmdir.path()).children.remove(name(rmdir.path()));
        } else if (op instanceof CrashOp.Rename rename) {
            Node moving = find(rename.from());
            if (moving != find(rename.to())) { // POSIX: a name renamed onto another link of its file: no change
                parent(rename.from()).children.remove(name(rename.from()));
                parent(rename.to()).children.put(name(rename.to()), moving);
            }
        } else if (op instanceof CrashOp.Link link) {
            add(link.path(), file(link.target()));
        } else if (op instanceof CrashOp.Symlink symlink) {
            Node node = new Node('l');
            node.target = symlink.target();
            add(symlink.path(), node);
        } else if (op instanceof CrashOp.SetXattr set) {
            find(set.path()).xattrs.put(set.name(), DataPattern.bytes(set.tag(), 0, 0, set.length()));
        } else if (op instanceof CrashOp.RemoveXattr remove) {
            find(remove.path()).xattrs.remove(remove.name());
        } else if (op instanceof CrashOp.Reflink reflink) {
            Node copy = new Node('f');
            copy.data = file(reflink.source()).data;
            add(reflink.path(), copy);
        } else if (op instanceof CrashOp.ReflinkRange range) {
            byte[] source = file(range.source()).data;
            Node target = file(range.path());
            int n = (int) Math.max(0, Math.min(range.length(), source.length - range.from()));
            byte[] data = java.util.Arrays.copyOf(target.data, (int) Math.max(target.data.length, range.offset() + n));
            System.arraycopy(source, (int) range.from(), data, (int) range.offset(), n);
            target.data = data;
        } else if (op instanceof CrashOp.SnapshotCreate create) {
            subvolumes.put(create.name(), new Subvolume(copyTree(""), true));
        } else if (op instanceof CrashOp.SnapshotDelete delete) {
            subvolumes.remove(delete.name());
        } else if (op instanceof CrashOp.Rollback rollback) {
            subvolumes.put("", new Subvolume(copyTree(rollback.name()), false));
        } else if (op instanceof CrashOp.CloneSnapshot clone) {
            subvolumes.put(clone.name(), new Subvolume(copyTree(clone.snapshot()), false));
        } else if (!(op instanceof CrashOp.Persist || op instanceof CrashOp.Compact)) { // nothing visible changes
            throw new IllegalArgumentException("unknown operation " + op);
        }
    }

    private Node copyTree(String subvolume) {
        return deepCopy(subvolumes.get(subvolume).root, new IdentityHashMap<>());
    }

    private void add(String path, Node node) {
        parent(path).children.put(name(path), node);
    }

    private Node file(String path) {
        Node node = find(path);
        if (node == null || node.type != 'f') {
            throw new IllegalStateException("the model has no file " + path);
        }
        return node;
    }

    private Node parent(String path) {
        int slash = path.lastIndexOf('/');
        Node parent = find(slash <= 0 ? "/" : path.substring(0, slash));
        if (parent == null || parent.type != 'd') {
            throw new IllegalStateException("the model has no directory above " + path);
        }
        return parent;
    }

    static String name(String path) {
        return path.substring(path.lastIndexOf('/') + 1);
    }

    private static List<String> parts(String path) {
        List<String> parts = new ArrayList<>();
        for (String part : path.split("/")) {
            if (!part.isEmpty()) {
                parts.add(part);
            }
        }
        return parts;
    }

    // ------------------------------------------------------------------ dump

    /** Every subvolume's tree in the {@link FsDump} shape. */
    public Map<String, String> dump() {
        Map<String, String> out = new TreeMap<>();
        subvolumes.forEach((name, subvolume) -> {
            String prefix = name.isEmpty() ? "" : "@" + name + ":";
            out.put(prefix + "#", "read-only=" + subvolume.readOnly);
            Map<Node, List<String>> paths = new IdentityHashMap<>();
            collectPaths(subvolume.root, "", paths);
            dumpDir(subvolume.root, "", prefix, paths, out);
        });
        return out;
    }

    private static void collectPaths(Node dir, String path, Map<Node, List<String>> paths) {
        dir.children.forEach((name, child) -> {
            String childPath = path + "/" + name;
            paths.computeIfAbsent(child, key -> new ArrayList<>()).add(childPath);
            if (child.type == 'd') {
                collectPaths(child, childPath, paths);
            }
        });
    }

    private static void dumpDir(Node dir, String path, String prefix, Map<Node, List<String>> paths,
                                Map<String, String> out) {
        long subdirectories = dir.children.values().stream().filter(child -> child.type == 'd').count();
        out.put(prefix + path + "/", FsDump.directory(2 + subdirectories, dir.xattrs));
        dir.children.forEach((name, child) -> {
            String childPath = path + "/" + name;
            switch (child.type) {
                case 'd' -> dumpDir(child, childPath, prefix, paths, out);
                case 'l' -> out.put(prefix + childPath, FsDump.symlink(child.target, child.xattrs));
                default -> out.put(prefix + childPath,
                        FsDump.file(paths.get(child).size(), child.data, paths.get(child), child.xattrs));
            }
        });
    }
}
