package dev.cowfs.fs;

import dev.cowfs.engine.StoreOptions;
import dev.cowfs.engine.device.SimulatedDevice;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Random sequences of file writes, truncates, unlinks, renames, reflinks (within and across subvolumes),
 * snapshots, writable clones, rollbacks and deletes, against a model holding one copy of the files per
 * subvolume. After every operation that can change contents the filesystem must match the model in every
 * subvolume; strict mode checks reference counts and space figures after every commit. At the end, deleting
 * everything must leave the default subvolume exactly as large as a new filesystem's, with nothing leaked.
 */
class SnapshotModelTest {
    private static final String[] NAMES = {"f0", "f1", "f2", "f3", "d/g0", "d/g1"};

    enum Kind { WRITE, WRITE_FRAGMENTED, TRUNCATE, UNLINK, RENAME, REFLINK, SNAPSHOT, CLONE, ROLLBACK, DELETE,
        SYNC, REOPEN }

    record Op(Kind kind, int sub, int name, int other, int seed) {
    }

    @Provide
    Arbitrary<List<Op>> operations() {
        Arbitrary<Kind> kinds = Arbitraries.frequencyOf(
                Tuple.of(30, Arbitraries.just(Kind.WRITE)),
                Tuple.of(4, Arbitraries.just(Kind.WRITE_FRAGMENTED)),
                Tuple.of(6, Arbitraries.just(Kind.TRUNCATE)),
                Tuple.of(5, Arbitraries.just(Kind.UNLINK)),
                Tuple.of(5, Arbitraries.just(Kind.RENAME)),
                Tuple.of(8, Arbitraries.just(Kind.REFLINK)),
                Tuple.of(6, Arbitraries.just(Kind.SNAPSHOT)),
                Tuple.of(3, Arbitraries.just(Kind.CLONE)),
                Tuple.of(3, Arbitraries.just(Kind.ROLLBACK)),
                Tuple.of(4, Arbitraries.just(Kind.DELETE)),
                Tuple.of(4, Arbitraries.just(Kind.SYNC)),
                Tuple.of(2, Arbitraries.just(Kind.REOPEN)));
        Arbitrary<Op> op = Combinators.combine(kinds, Arbitraries.integers().between(0, 5),
                Arbitraries.integers().between(0, NAMES.length - 1), Arbitraries.integers().between(0, 5),
                Arbitraries.integers()).as(Op::new);
        return op.list().ofMinSize(5).ofMaxSize(80);
    }

    private static FsOptions options() {
        return FsOptions.builder().commitIntervalMillis(0)
                .store(StoreOptions.builder().checkAfterCommit(true).dropReferencesPerCommit(40).build()).build();
    }

    /** The model: subvolume id -> path -> contents, and which subvolumes are read-only. */
    private final Map<Long, TreeMap<String, byte[]>> files = new TreeMap<>();
    private final Map<Long, Boolean> readOnly = new TreeMap<>();

    @Property(tries = 40)
    void everySubvolumeMatchesItsModel(@ForAll("operations") List<Op> ops) throws Exception {
        files.clear();
        readOnly.clear();
        SimulatedDevice device = new SimulatedDevice();
        CowFileSystem fs = CowFileSystem.create(device, options());
        long emptyReferenced = fs.space(0).referencedBytes();
        fs.mkdir(CowFileSystem.ROOT_INO, "d", 0755, 0, 0);
        files.put(0L, new TreeMap<>());
        readOnly.put(0L, false);
        snapshots = 0;
        try {
            for (Op op : ops) {
                List<Long> ids = new ArrayList<>(files.keySet());
                long sub = ids.get(op.sub() % ids.size());
                long other = ids.get(op.other() % ids.size());
                String name = NAMES[op.name()];
                String otherName = NAMES[(op.name() + op.other() + 1) % NAMES.length];
                Random random = new Random(op.seed());
                boolean writable = !readOnly.get(sub);
                switch (op.kind()) {
                    case WRITE, WRITE_FRAGMENTED, TRUNCATE, UNLINK, RENAME, REFLINK ->
                            applyFileChange(fs, op, sub, other, name, otherName, random, writable);
                    case SNAPSHOT, CLONE, ROLLBACK, DELETE -> applySubvolumeChange(fs, op, sub, other, writable);
                    case SYNC -> {
                        fs.sync();
                    }
                    case REOPEN -> { // close commits everything: the model stays as it is
                        fs.close();
                        device = SimulatedDevice.ofImage(device.image());
                        fs = CowFileSystem.open(device, options());
                    }
                }
                compare(fs);
            }
            emptyAndCheck(fs, emptyReferenced);
        } finally {
            fs.close();
        }
    }

    private int snapshots;

    private void applyFileChange(CowFileSystem fs, Op op, long sub, long other, String name, String otherName,
                                 Random random, boolean writable) throws Exception {
        switch (op.kind()) {
            case WRITE -> {
                if (writable) {
                    byte[] data = new byte[1 + random.nextInt(random.nextBoolean() ? 3000 : 300_000)];
                    random.nextBytes(data);
                    long offset = random.nextInt(200_000);
                    write(fs, sub, name, offset, data);
                }
            }
            case WRITE_FRAGMENTED -> { // enough items for a nested extent tree
                if (writable) {
                    for (int i = 0; i < 40; i++) {
                        byte[] data = new byte[4096];
                        random.nextBytes(data);
                        write(fs, sub, name, i * 12_288L, data);
                        if (i % 8 == 7) {
                            fs.sync();
                        }
                    }
                }
            }
            case TRUNCATE -> {
                byte[] old = files.get(sub).get(name);
                if (writable && old != null) {
                    int size = random.nextInt(old.length + 50_000);
                    fs.truncate(fs.resolve(InodeNumber.rootOf(sub), name, true), size);
                    files.get(sub).put(name, Arrays.copyOf(old, size));
                }
            }
            case UNLINK -> {
                if (writable && files.get(sub).remove(name) != null) {
                    fs.unlink(dirOf(fs, sub, name), leaf(name));
                }
            }
            case RENAME -> {
                byte[] moved = files.get(sub).get(name);
                if (writable && moved != null && !name.equals(otherName)) {
                    fs.rename(dirOf(fs, sub, name), leaf(name), dirOf(fs, sub, otherName), leaf(otherName),
                            RenameMode.REPLACE);
                    files.get(sub).remove(name);
                    files.get(sub).put(otherName, moved);
                }
            }
            case REFLINK -> {
                byte[] source = files.get(other).get(name);
                if (writable && source != null && !(other == sub && name.equals(otherName))) {
                    long dst = openOrCreate(fs, sub, otherName);
                    fs.reflink(fs.resolve(InodeNumber.rootOf(other), name, true), dst);
                    files.get(sub).put(otherName, source.clone());
                }
            }
            default -> throw new IllegalArgumentException(op.kind() + " changes no file");
        }
    }

    private void applySubvolumeChange(CowFileSystem fs, Op op, long sub, long other, boolean writable)
            throws Exception {
        switch (op.kind()) {
            case SNAPSHOT, CLONE -> {
                if (files.size() < 6) {
                    long id = fs.createSnapshot(sub, "s" + snapshots++, op.kind() == Kind.CLONE);
                    files.put(id, copyFiles(files.get(sub)));
                    readOnly.put(id, op.kind() == Kind.SNAPSHOT);
                }
            }
            case ROLLBACK -> {
                if (writable && other != sub) {
                    fs.rollback(sub, other);
                    files.put(sub, copyFiles(files.get(other)));
                }
            }
            case DELETE -> {
                if (sub != 0) {
                    fs.deleteSubvolume(sub);
                    files.remove(sub);
                    readOnly.remove(sub);
                }
            }
            default -> throw new IllegalArgumentException(op.kind() + " changes no subvolume");
        }
    }

    /** Deletes everything: the default subvolume must come back to a new filesystem's size, and check clean. */
    private void emptyAndCheck(CowFileSystem fs, long emptyReferenced) throws Exception {
        for (long id : new ArrayList<>(files.keySet())) {
            if (id != 0) {
                fs.deleteSubvolume(id);
                files.remove(id);
            }
        }
        for (String name : new ArrayList<>(files.get(0L).keySet())) {
            fs.unlink(dirOf(fs, 0, name), leaf(name));
        }
        fs.rmdir(CowFileSystem.ROOT_INO, "d");
        for (int i = 0; i < 400 && fs.isReleasingSpace(); i++) {
            fs.sync();
        }
        assertFalse(fs.isReleasingSpace());
        assertEquals(emptyReferenced, fs.space(0).referencedBytes(), "the emptied default subvolume");
        assertTrue(FsChecker.check(fs.store()).isEmpty());
        assertTrue(fs.store().check().isClean(), fs.store().check().summary());
    }

    private static String leaf(String name) {
        return name.substring(name.lastIndexOf('/') + 1);
    }

    private static long dirOf(CowFileSystem fs, long sub, String name) throws IOException {
        return name.contains("/") ? fs.resolve(InodeNumber.rootOf(sub), "d", true) : InodeNumber.rootOf(sub);
    }

    private long openOrCreate(CowFileSystem fs, long sub, String name) throws IOException {
        if (files.get(sub).containsKey(name)) {
            return fs.resolve(InodeNumber.rootOf(sub), name, true);
        }
        files.get(sub).put(name, new byte[0]);
        return fs.mknod(dirOf(fs, sub, name), leaf(name), 0644, 0, 0, 0);
    }

    private void write(CowFileSystem fs, long sub, String name, long offset, byte[] data) throws IOException {
        long ino = openOrCreate(fs, sub, name);
        fs.write(ino, offset, data, 0, data.length);
        byte[] old = files.get(sub).get(name);
        byte[] now = Arrays.copyOf(old, (int) Math.max(old.length, offset + data.length));
        System.arraycopy(data, 0, now, (int) offset, data.length);
        files.get(sub).put(name, now);
    }

    private void compare(CowFileSystem fs) throws IOException {
        assertEquals(new ArrayList<>(files.keySet()),
                fs.listSubvolumes().stream().map(SubvolumeInfo::id).toList(), "subvolumes");
        for (var subvolume : files.entrySet()) {
            long root = InodeNumber.rootOf(subvolume.getKey());
            List<String> found = new ArrayList<>();
            for (DirEntry entry : fs.readdir(root, 0, 100)) {
                if (!entry.name().equals("d")) {
                    found.add(entry.name());
                }
            }
            for (DirEntry entry : fs.readdir(fs.lookup(root, "d"), 0, 100)) {
                found.add("d/" + entry.name());
            }
            found.sort(null);
            assertEquals(new ArrayList<>(subvolume.getValue().keySet()), found, "names in " + subvolume.getKey());
            for (var file : subvolume.getValue().entrySet()) {
                long ino = fs.resolve(root, file.getKey(), true);
                byte[] contents = new byte[(int) fs.stat(ino).size()];
                fs.read(ino, 0, contents, 0, contents.length);
                assertArrayEquals(file.getValue(), contents, subvolume.getKey() + ":" + file.getKey());
            }
        }
    }

    private static TreeMap<String, byte[]> copyFiles(TreeMap<String, byte[]> files) {
        TreeMap<String, byte[]> copy = new TreeMap<>();
        files.forEach((name, bytes) -> copy.put(name, bytes.clone()));
        return copy;
    }

}
