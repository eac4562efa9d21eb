package dev.cowfs.fs;

import dev.cowfs.engine.StoreOptions;
import dev.cowfs.engine.device.CrashStates;
import dev.cowfs.engine.device.SimulatedDevice;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Power loss during filesystem workloads (create, write: appends, overwrites, holes, multi-MiB; truncate,
 * unlink with the file still open, rename, link, symlink, xattrs, mkdir/rmdir) on the simulated device: at
 * every barrier, for subsets and tears of the writes since, the recovered filesystem must equal exactly the
 * state of one sync (the last durable one, or the one in flight when its superblock landed), byte for byte,
 * with both checkers clean, orphans reclaimed, and further work possible.
 */
class FsCrashTest {
    private static final FsOptions OPTIONS = FsOptions.builder().commitIntervalMillis(0)
            .store(StoreOptions.builder().checkAfterCommit(false).dirtyCacheBytes(64 * 1024).build()).build();

    @Test
    void everyCrashStateRecoversOneSyncedStateExactly() throws Exception {
        SimulatedDevice device = new SimulatedDevice();
        CowFileSystem fs = CowFileSystem.create(device, OPTIONS);
        Random random = new Random(7);
        long dir = fs.mkdir(CowFileSystem.ROOT_INO, "aged", 0755, 0, 0);
        for (int i = 0; i < 300; i++) { // an aged image: tree height >= 2 before recording starts
            long ino = fs.mknod(dir, "f" + i, 0644, 0, 0, 0);
            byte[] bytes = new byte[random.nextInt(3000)];
            random.nextBytes(bytes);
            fs.write(ino, 0, bytes, 0, bytes.length);
        }
        fs.sync();
        SimulatedDevice.Image initial = device.image();
        long initialGeneration = fs.store().generation();
        Map<Long, Map<String, String>> states = new HashMap<>();
        states.put(initialGeneration, dump(fs));
        device.clearLog();
        runWorkload(fs, random, states);
        fs.close();

        CrashStates crashStates = new CrashStates(initial, device.log());
        Random subsets = new Random(3);
        int checked = crashStates.judgeEveryState(initialGeneration, subsets, 4,
                (state, expected) -> verify(state, expected, states.get(expected)));
        assertTrue(checked > 150, "only " + checked + " crash states");
        System.out.println("filesystem crash states checked: " + checked);
    }

    private static void runWorkload(CowFileSystem fs, Random random, Map<Long, Map<String, String>> states)
            throws IOException {
        long root = CowFileSystem.ROOT_INO;
        long a = fs.mkdir(root, "A", 0755, 0, 0);
        long foo = fs.mknod(root, "foo", 0644, 0, 0, 0);
        byte[] big = new byte[1_300_000];
        random.nextBytes(big);
        fs.write(foo, 0, big, 0, big.length); // crosses the 1 MiB extent limit
        record(fs, states);

        long bar = fs.mknod(a, "bar", 0644, 0, 0, 0);
        fs.write(bar, 10_000, new byte[] {1, 2, 3}, 0, 3); // into a hole
        byte[] middle = new byte[5000];
        random.nextBytes(middle);
        fs.write(foo, 4097, middle, 0, middle.length); // unaligned overwrite inside an extent
        fs.setXattr(bar, "user.tag", "hello".getBytes(), false, false);
        record(fs, states);

        fs.truncate(foo, 600_000);
        fs.link(bar, root, "bar-link");
        fs.symlink(root, "to-foo", "foo", 0, 0);
        fs.rename(root, "foo", a, "foo-moved", RenameMode.REPLACE);
        record(fs, states);

        long open = fs.mknod(root, "open-then-unlinked", 0644, 0, 0, 0);
        fs.write(open, 0, big, 0, 200_000);
        fs.open(open);
        fs.unlink(root, "open-then-unlinked"); // an orphan while open: reclaimed after the crash
        long c = fs.mkdir(a, "C", 0755, 0, 0);
        fs.rename(a, "C", root, "C", RenameMode.REPLACE);
        record(fs, states);

        fs.rmdir(root, "C");
        fs.unlink(a, "bar");
        fs.removeXattr(bar, "user.tag");
        long append = fs.mknod(root, "appended", 0644, 0, 0, 0);
        for (int i = 0; i < 20; i++) {
            byte[] piece = new byte[700];
            random.nextBytes(piece);
            fs.write(append, i * 700L, piece, 0, piece.length);
        }
        record(fs, states);

        fs.truncate(append, 100);
        fs.rename(root, "bar-link", root, "to-foo", RenameMode.EXCHANGE);
        fs.unlink(CowFileSystem.ROOT_INO, "appended");
        record(fs, states);
        assertTrue(c > 0);
    }

    private static void record(CowFileSystem fs, Map<Long, Map<String, String>> states) throws IOException {
        fs.sync();
        states.put(fs.store().generation(), dump(fs));
    }

    /** Path -> type, link count, size, content digest, link target and attributes: the state to compare. */
    static Map<String, String> dump(CowFileSystem fs) throws IOException {
        return dump(fs, CowFileSystem.ROOT_INO);
    }

    /** The same for the tree below {@code rootIno} (a subvolume's or snapshot's root). */
    static Map<String, String> dump(CowFileSystem fs, long rootIno) throws IOException {
        Map<String, String> out = new TreeMap<>();
        dumpDir(fs, rootIno, "", out);
        return out;
    }

    private static void dumpDir(CowFileSystem fs, long dir, String path, Map<String, String> out)
            throws IOException {
        Inode inode = fs.stat(dir);
        out.put(path + "/", "dir nlink=" + inode.nlink() + xattrs(fs, dir));
        for (DirEntry entry : fs.readdir(dir, 0, Integer.MAX_VALUE)) {
            String child = path + "/" + entry.name();
            Inode attributes = fs.stat(entry.ino());
            if (attributes.isDirectory()) {
                dumpDir(fs, entry.ino(), child, out);
            } else if (attributes.isSymbolicLink()) {
                out.put(child, "symlink -> " + fs.readlink(entry.ino()) + xattrs(fs, entry.ino()));
            } else {
                byte[] bytes = new byte[(int) attributes.size()];
                fs.read(entry.ino(), 0, bytes, 0, bytes.length);
                out.put(child, "file nlink=" + attributes.nlink() + " size=" + bytes.length + " sha256="
                        + digest(bytes) + xattrs(fs, entry.ino()));
            }
        }
    }

    private static String xattrs(CowFileSystem fs, long ino) throws IOException {
        StringBuilder text = new StringBuilder();
        for (String name : fs.listXattrs(ino)) {
            text.append(' ').append(name).append('=').append(digest(fs.getXattr(ino, name)));
        }
        return text.toString();
    }

    private static String digest(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The paths whose state differs, with both sides (a short message instead of two whole trees). */
    static List<String> differences(Map<String, String> expected, Map<String, String> actual) {
        List<String> out = new ArrayList<>();
        java.util.Set<String> paths = new java.util.TreeSet<>(expected.keySet());
        paths.addAll(actual.keySet());
        for (String path : paths) {
            if (!java.util.Objects.equals(expected.get(path), actual.get(path)) && out.size() < 10) {
                out.add(path + ": expected " + expected.get(path) + ", found " + actual.get(path));
            }
        }
        return out;
    }

    private static void verify(CrashStates.State state, long expectedGeneration, Map<String, String> expected) {
        try (CowFileSystem recovered = CowFileSystem.open(state.device(), OPTIONS)) {
            assertTrue(expected != null, state.description() + ": no recorded state for generation "
                    + expectedGeneration);
            // Opening may commit once (orphans reclaimed), so compare contents, not the generation number.
            assertTrue(recovered.store().generation() == expectedGeneration
                    || recovered.store().generation() == expectedGeneration + 1, state.description()
                    + ": recovered generation " + recovered.store().generation() + ", expected "
                    + expectedGeneration);
            List<String> differences = differences(expected, dump(recovered));
            assertTrue(differences.isEmpty(), state.description() + ": " + differences);
            List<String> problems = new ArrayList<>(FsChecker.check(recovered.store()));
            if (!recovered.store().check().isClean()) {
                problems.add(recovered.store().check().summary());
            }
            assertTrue(problems.isEmpty(), state.description() + ": " + problems);
            // Work goes on after recovery.
            long ino = recovered.mknod(CowFileSystem.ROOT_INO, "after-crash", 0644, 0, 0, 0);
            recovered.write(ino, 0, new byte[5000], 0, 5000);
            recovered.sync();
            assertTrue(FsChecker.check(recovered.store()).isEmpty(), state.description() + " after more work");
            assertTrue(recovered.store().check().isClean(), state.description() + " after more work");
        } catch (IOException | RuntimeException e) {
            fail(state.description() + ": " + e, e);
        }
    }
}
