package dev.cowfs.fs;

import dev.cowfs.engine.StoreOptions;
import dev.cowfs.engine.check.CheckReport;
import dev.cowfs.engine.device.SimulatedDevice;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.RandomDistribution;
import net.jqwik.api.Tuple;
import net.jqwik.api.Tuple.Tuple2;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
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
 * result and every errno must agree; after each sync (a step of its own, and at the end) the engine checker and
 * the filesystem checker must find nothing; after a reopen (a step of its own) and at the end the whole tree
 * (names, types, link counts, contents, attributes) must equal the model. The filesystem is made with or without
 * compression. jqwik generates the operations themselves (a directory as an index into the model's directories,
 * names from a small set, offsets, sizes and seeds for the bytes), so a failure shrinks to a short sequence with
 * small arguments. jqwik stops shrinking after 10 seconds unless told otherwise
 * ({@code -Djqwik.shrinking.bounded.seconds=...}); running the test again resumes from the stored shrunk sample.
 * Writes, truncates and reads of a name that is not a regular file, hard links to a missing name or a directory,
 * and extended attributes of a missing name do nothing: the model decides, so a shrunk sequence stays valid.
 */
class FsModelTest {
    private static final String[] NAMES = {"a", "b", "c", "dir", "file"};

    @Property(tries = 100)
    void operationsAgreeWithTheModel(@ForAll("chunksOfOperations") List<List<Op>> chunks,
                                     @ForAll boolean compress) throws Exception {
        List<Op> operations = chunks.stream().flatMap(List::stream).toList();
        FsOptions options = FsOptions.builder().commitIntervalMillis(0).compress(compress)
                .store(StoreOptions.builder().checkAfterCommit(true).build()).build();
        try (Harness harness = new Harness(options)) {
            for (int step = 0; step < operations.size(); step++) {
                harness.trace = "step " + step + " " + operations.get(step) + " (directories "
                        + harness.directories().keySet() + ")";
                operations.get(step).run(harness);
            }
            harness.trace = "end";
            harness.sync();
            harness.compareTree(harness.root, CowFileSystem.ROOT_INO);
        }
    }

    @Provide
    Arbitrary<List<List<Op>>> chunksOfOperations() {
        Arbitrary<String> name = Arbitraries.of(NAMES);
        Arbitrary<Integer> dir = upTo(999);
        Arbitrary<Integer> writeOffset = Arbitraries.frequencyOf(Tuple.of(3, upTo(20_000)),
                Tuple.of(1, upTo(3_000_000)));
        Arbitrary<Integer> writeLength = Arbitraries.frequencyOf(Tuple.of(9, upTo(9000)),
                Tuple.of(1, upTo(2_500_000)));
        Arbitrary<Integer> truncateSize = Arbitraries.frequencyOf(Tuple.of(2, upTo(10_000)),
                Tuple.of(1, upTo(3_000_000)));
        Arbitrary<Integer> xattrLength = Arbitraries.frequencyOf(Tuple.of(7, upTo(99)), Tuple.of(1, upTo(59_999)));
        Arbitrary<String> attribute = name.map(n -> "user." + n);
        Arbitrary<Op> operation = oneOf(
                weighted(4, Arbitraries.just(new Sync())),
                weighted(2, Arbitraries.just(new Reopen())),
                weighted(12, Combinators.combine(dir, name).as(Mknod::new)),
                weighted(6, Combinators.combine(dir, name).as(Mkdir::new)),
                weighted(18, Combinators.combine(dir, name, writeOffset, writeLength, Arbitraries.integers(),
                        Arbitraries.of(false, true)).as(Write::new)),
                weighted(6, Combinators.combine(dir, name, truncateSize).as(Truncate::new)),
                weighted(6, Combinators.combine(dir, name, upTo(Integer.MAX_VALUE - 1), upTo(300_000))
                        .as(Read::new)),
                weighted(6, Combinators.combine(dir, name).as(Unlink::new)),
                weighted(6, Combinators.combine(dir, name).as(Rmdir::new)),
                weighted(12, Combinators.combine(dir, name, dir, name, Arbitraries.of(RenameMode.class))
                        .as(Rename::new)),
                weighted(6, Combinators.combine(dir, name, dir, name).as(Link::new)),
                weighted(6, Combinators.combine(dir, name, name, upTo(4)).as(Symlink::new)),
                weighted(3, Combinators.combine(dir, name, attribute, xattrLength, Arbitraries.integers())
                        .as(SetXattr::new)),
                weighted(3, Combinators.combine(dir, name, attribute).as(RemoveXattr::new)));
        return chunks(operation, 18, 24);
    }

    /**
     * A sequence as up to {@code maxChunks} chunks of up to {@code maxChunkSize} operations, both sizes uniform.
     * jqwik shortens a list only at its ends but shrinks every element, and a chunk shrinks first to the empty
     * chunk: so a failing sequence loses whole runs of steps from its middle at once, and single steps by shrinking
     * to {@link Skip} (one step in a hundred is one, so that it is the first thing a step shrinks to, before its
     * arguments). jqwik's edge cases are off: it would make about half of the operations edge cases (every
     * argument at a bound, such as empty writes at offset 0); {@link #upTo} gives the bounds now and then instead.
     */
    private static Arbitrary<List<List<Op>>> chunks(Arbitrary<Op> operation, int maxChunks, int maxChunkSize) {
        Arbitrary<Boolean> skipped = Arbitraries.frequency(Tuple.of(1, true), Tuple.of(99, false));
        Arbitrary<Op> step = Combinators.combine(skipped, operation).as((skip, op) -> skip ? new Skip() : op);
        return step.withoutEdgeCases().list().ofMaxSize(maxChunkSize)
                .withSizeDistribution(RandomDistribution.uniform()).withoutEdgeCases()
                .list().ofMaxSize(maxChunks).withSizeDistribution(RandomDistribution.uniform());
    }

    /** 0 to {@code max}: uniform, or one time in ten one of the bounds (in place of jqwik's own edge cases). */
    private static Arbitrary<Integer> upTo(int max) {
        return Arbitraries.frequencyOf(
                Tuple.of(9, Arbitraries.integers().between(0, max).withDistribution(RandomDistribution.uniform())),
                Tuple.of(1, Arbitraries.of(0, max)));
    }

    /**
     * One of the weighted operations. Its kind does not shrink: a step shrinks to {@link Skip} or keeps its kind, so
     * that shrinking spends its runs on dropping steps and making arguments small.
     */
    @SafeVarargs
    private static Arbitrary<Op> oneOf(Tuple2<Integer, Arbitrary<? extends Op>>... choices) {
        List<Tuple2<Integer, Integer>> kinds = new ArrayList<>();
        List<Arbitrary<Op>> operations = new ArrayList<>();
        for (Tuple2<Integer, Arbitrary<? extends Op>> choice : choices) {
            kinds.add(Tuple.of(choice.get1(), operations.size()));
            operations.add(choice.get2().map(operation -> (Op) operation));
        }
        return Arbitraries.frequency(kinds).dontShrink().flatMap(operations::get);
    }

    private static Tuple2<Integer, Arbitrary<? extends Op>> weighted(int weight, Arbitrary<? extends Op> operation) {
        return Tuple.of(weight, operation);
    }

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

        boolean isFile() {
            return type == Inode.S_IFREG;
        }
    }

    // ------------------------------------------------------------------ operations

    /**
     * One generated step. {@code dir} and {@code toDir} choose one of the model's directories (the root, then the
     * others breadth first in name order; the index is taken modulo their number, so 0 is the root and every
     * value names one); {@code name} is looked up in the directory chosen.
     */
    sealed interface Op {
        void run(Harness harness) throws Exception;
    }

    /** Does nothing: what a step that does not matter to a failure shrinks to. */
    record Skip() implements Op {
        @Override
        public void run(Harness harness) {
        }
    }

    /** Syncs; then both checkers must find nothing. */
    record Sync() implements Op {
        @Override
        public void run(Harness harness) throws Exception {
            harness.sync();
        }
    }

    /** Closes the filesystem and opens its image again; then the whole tree must equal the model. */
    record Reopen() implements Op {
        @Override
        public void run(Harness harness) throws Exception {
            harness.fs.close();
            harness.device = SimulatedDevice.ofImage(harness.device.image());
            harness.fs = CowFileSystem.open(harness.device, harness.options);
            harness.compareTree(harness.root, CowFileSystem.ROOT_INO);
        }
    }

    record Mknod(int dir, String name) implements Op {
        @Override
        public void run(Harness harness) throws Exception {
            Node parent = harness.directory(dir);
            long parentIno = harness.ino(parent);
            Errno expected = parent.children.containsKey(name) ? Errno.EEXIST : null;
            Long ino = expect(harness.trace + " mknod " + name, expected,
                    () -> harness.fs.mknod(parentIno, name, 0644, 0, 0, 0));
            if (ino != null) {
                Node file = new Node(Inode.S_IFREG);
                file.nlink = 1;
                parent.children.put(name, file);
                harness.inoOf.put(file, ino);
            }
        }
    }

    record Mkdir(int dir, String name) implements Op {
        @Override
        public void run(Harness harness) throws Exception {
            Node parent = harness.directory(dir);
            long parentIno = harness.ino(parent);
            Errno expected = parent.children.containsKey(name) ? Errno.EEXIST : null;
            Long ino = expect(harness.trace + " mkdir " + name, expected,
                    () -> harness.fs.mkdir(parentIno, name, 0755, 0, 0));
            if (ino != null) {
                Node sub = new Node(Inode.S_IFDIR);
                sub.nlink = 2;
                sub.parent = parent;
                parent.nlink++;
                parent.children.put(name, sub);
                harness.inoOf.put(sub, ino);
            }
        }
    }

    /** Writes bytes from {@code contentSeed}: random, or when {@code compressible} that one byte repeated. */
    record Write(int dir, String name, int offsetBytes, int lengthBytes, int contentSeed,
                 boolean compressible) implements Op {
        @Override
        public void run(Harness harness) throws Exception {
            Node file = harness.directory(dir).children.get(name);
            if (file == null || !file.isFile()) {
                return;
            }
            byte[] bytes = new byte[lengthBytes];
            if (compressible) {
                Arrays.fill(bytes, (byte) contentSeed);
            } else {
                new Random(contentSeed).nextBytes(bytes);
            }
            harness.fs.write(harness.ino(file), offsetBytes, bytes, 0, lengthBytes);
            if (lengthBytes > 0) {
                if (offsetBytes + lengthBytes > file.data.length) {
                    file.data = Arrays.copyOf(file.data, offsetBytes + lengthBytes);
                }
                System.arraycopy(bytes, 0, file.data, offsetBytes, lengthBytes);
            }
        }
    }

    record Truncate(int dir, String name, int sizeBytes) implements Op {
        @Override
        public void run(Harness harness) throws Exception {
            Node file = harness.directory(dir).children.get(name);
            if (file == null || !file.isFile()) {
                return;
            }
            harness.fs.truncate(harness.ino(file), sizeBytes);
            file.data = Arrays.copyOf(file.data, sizeBytes);
        }
    }

    /** Reads a range starting at {@code offsetBytes} modulo the size plus 10: in the file or just past its end. */
    record Read(int dir, String name, int offsetBytes, int lengthBytes) implements Op {
        @Override
        public void run(Harness harness) throws Exception {
            Node file = harness.directory(dir).children.get(name);
            if (file == null || !file.isFile()) {
                return;
            }
            int offset = offsetBytes % (file.data.length + 10);
            byte[] buffer = new byte[lengthBytes];
            int n = harness.fs.read(harness.ino(file), offset, buffer, 0, buffer.length);
            int expectedN = Math.max(0, Math.min(buffer.length, file.data.length - offset));
            assertEquals(expectedN, n, harness.trace + " read count");
            int from = Math.min(offset, file.data.length);
            assertArrayEquals(Arrays.copyOfRange(file.data, from, from + expectedN), Arrays.copyOf(buffer, n),
                    harness.trace + " read bytes");
        }
    }

    record Unlink(int dir, String name) implements Op {
        @Override
        public void run(Harness harness) throws Exception {
            Node parent = harness.directory(dir);
            long parentIno = harness.ino(parent);
            Node existing = parent.children.get(name);
            Errno expected = existing == null ? Errno.ENOENT : existing.isDir() ? Errno.EISDIR : null;
            expect(harness.trace + " unlink " + name, expected, () -> {
                harness.fs.unlink(parentIno, name);
                return 0L;
            });
            if (expected == null) {
                parent.children.remove(name);
                existing.nlink--;
            }
        }
    }

    record Rmdir(int dir, String name) implements Op {
        @Override
        public void run(Harness harness) throws Exception {
            Node parent = harness.directory(dir);
            long parentIno = harness.ino(parent);
            Node existing = parent.children.get(name);
            Errno expected = existing == null ? Errno.ENOENT : !existing.isDir() ? Errno.ENOTDIR
                    : !existing.children.isEmpty() ? Errno.ENOTEMPTY : null;
            expect(harness.trace + " rmdir " + name, expected, () -> {
                harness.fs.rmdir(parentIno, name);
                return 0L;
            });
            if (expected == null) {
                parent.children.remove(name);
                parent.nlink--;
            }
        }
    }

    record Rename(int dir, String name, int toDir, String toName, RenameMode mode)
            implements Op {
        @Override
        public void run(Harness harness) throws Exception {
            Node from = harness.directory(dir);
            Node to = harness.directory(toDir);
            Node source = from.children.get(name);
            Node target = to.children.get(toName);
            Errno expected = expectedRenameErrno(from, source, to, target, mode);
            expect(harness.trace + " rename " + name + " -> " + toName + " " + mode, expected, () -> {
                harness.fs.rename(harness.ino(from), name, harness.ino(to), toName, mode);
                return 0L;
            });
            if (expected == null && target != source) {
                renameInModel(from, name, source, to, toName, target, mode);
            }
        }
    }

    /** Hard links an existing non-directory under a second name. */
    record Link(int dir, String name, int toDir, String toName) implements Op {
        @Override
        public void run(Harness harness) throws Exception {
            Node existing = harness.directory(dir).children.get(name);
            if (existing == null || existing.isDir()) {
                return;
            }
            Node to = harness.directory(toDir);
            Errno expected = to.children.containsKey(toName) ? Errno.EEXIST : null;
            expect(harness.trace + " link " + name + " -> " + toName, expected, () -> {
                harness.fs.link(harness.ino(existing), harness.ino(to), toName);
                return 0L;
            });
            if (expected == null) {
                to.children.put(toName, existing);
                existing.nlink++;
            }
        }
    }

    /** A symbolic link to {@code ../targetName} followed by {@code depth} times {@code /x}. */
    record Symlink(int dir, String name, String targetName, int depth) implements Op {
        @Override
        public void run(Harness harness) throws Exception {
            Node parent = harness.directory(dir);
            long parentIno = harness.ino(parent);
            String target = "../" + targetName + "/x".repeat(depth);
            Errno expected = parent.children.containsKey(name) ? Errno.EEXIST : null;
            Long ino = expect(harness.trace + " symlink " + name, expected,
                    () -> harness.fs.symlink(parentIno, name, target, 0, 0));
            if (ino != null) {
                Node link = new Node(Inode.S_IFLNK);
                link.nlink = 1;
                link.target = target;
                parent.children.put(name, link);
                harness.inoOf.put(link, ino);
            }
        }
    }

    /** Sets an extended attribute of an existing name to {@code lengthBytes} random bytes from {@code seed}. */
    record SetXattr(int dir, String name, String attribute, int lengthBytes, int seed) implements Op {
        @Override
        public void run(Harness harness) throws Exception {
            Node existing = harness.directory(dir).children.get(name);
            if (existing == null) {
                return;
            }
            byte[] value = new byte[lengthBytes];
            new Random(seed).nextBytes(value);
            harness.fs.setXattr(harness.ino(existing), attribute, value, false, false);
            existing.xattrs.put(attribute, value);
        }
    }

    record RemoveXattr(int dir, String name, String attribute) implements Op {
        @Override
        public void run(Harness harness) throws Exception {
            Node existing = harness.directory(dir).children.get(name);
            if (existing == null) {
                return;
            }
            Errno expected = existing.xattrs.containsKey(attribute) ? null : Errno.ENODATA;
            expect(harness.trace + " removexattr", expected, () -> {
                harness.fs.removeXattr(harness.ino(existing), attribute);
                return 0L;
            });
            existing.xattrs.remove(attribute);
        }
    }

    // ------------------------------------------------------------------ rename in the model

    private static Errno expectedRenameErrno(Node dir, Node source, Node toDir, Node target, RenameMode mode) {
        if (source == null) {
            return Errno.ENOENT;
        } else if (mode == RenameMode.NOREPLACE && target != null) {
            return Errno.EEXIST;
        } else if (mode == RenameMode.EXCHANGE && target == null) {
            return Errno.ENOENT;
        } else if (source.isDir() && isWithin(toDir, source)) {
            return Errno.EINVAL;
        } else if (mode == RenameMode.EXCHANGE && target.isDir() && isWithin(dir, target)) {
            return Errno.EINVAL;
        } else if (mode == RenameMode.REPLACE && target != null && target != source) {
            if (source.isDir() && !target.isDir()) {
                return Errno.ENOTDIR;
            } else if (!source.isDir() && target.isDir()) {
                return Errno.EISDIR;
            } else if (target.isDir() && !target.children.isEmpty()) {
                return Errno.ENOTEMPTY;
            }
        }
        return null;
    }

    private static void renameInModel(Node dir, String name, Node source, Node toDir, String toName, Node target,
            RenameMode mode) {
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

    // ------------------------------------------------------------------ the filesystem beside its model

    /** The filesystem under test, its model, and the step being run, for failure messages. */
    private static final class Harness implements AutoCloseable {
        final FsOptions options;
        final Node root = new Node(Inode.S_IFDIR);
        final Map<Node, Long> inoOf = new HashMap<>();
        SimulatedDevice device = new SimulatedDevice();
        CowFileSystem fs;
        String trace = "start";

        Harness(FsOptions options) throws IOException {
            this.options = options;
            root.nlink = 2;
            root.parent = root;
            inoOf.put(root, CowFileSystem.ROOT_INO);
            fs = CowFileSystem.create(device, options);
        }

        /** The model's directories by path, breadth first and in name order from the root. */
        Map<String, Node> directories() {
            Map<String, Node> directories = new LinkedHashMap<>();
            directories.put("/", root);
            List<Map.Entry<String, Node>> queue = new ArrayList<>(List.of(Map.entry("", root)));
            for (int i = 0; i < queue.size(); i++) {
                for (var child : queue.get(i).getValue().children.entrySet()) {
                    if (child.getValue().isDir()) {
                        String path = queue.get(i).getKey() + "/" + child.getKey();
                        directories.put(path, child.getValue());
                        queue.add(Map.entry(path, child.getValue()));
                    }
                }
            }
            return directories;
        }

        /** The directory a step's {@code dir} chooses: that index, modulo their number, into {@link #directories}. */
        Node directory(int index) {
            List<Node> directories = new ArrayList<>(directories().values());
            return directories.get(index % directories.size());
        }

        long ino(Node node) {
            return inoOf.get(node);
        }

        void sync() throws Exception {
            fs.sync();
            CheckReport report = fs.store().check();
            assertTrue(report.isClean(), trace + ": " + report.summary());
            List<String> problems = FsChecker.check(fs.store());
            assertTrue(problems.isEmpty(), trace + ": " + problems);
        }

        void compareTree(Node dir, long dirIno) throws Exception {
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
                    compareTree(node, ino);
                    continue;
                }
                assertEquals(node.nlink, attributes.nlink(), trace + " nlink of " + child.getKey());
                if (node.isFile()) {
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

        @Override
        public void close() throws IOException {
            fs.close();
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
}
