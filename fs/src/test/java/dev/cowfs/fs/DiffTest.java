package dev.cowfs.fs;

import dev.cowfs.engine.device.SimulatedDevice;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Path-level diff between snapshots and the live tree, and its cost following the changes. */
class DiffTest {
    private static final long ROOT = CowFileSystem.ROOT_INO;

    private static long file(CowFileSystem fs, long dir, String name, String contents) throws Exception {
        long ino = fs.mknod(dir, name, 0644, 0, 0, 0);
        byte[] bytes = contents.getBytes(StandardCharsets.UTF_8);
        fs.write(ino, 0, bytes, 0, bytes.length);
        return ino;
    }

    @Test
    void addedRemovedModifiedAndRenamedPaths() throws Exception {
        try (CowFileSystem fs = CowFileSystem.create(new SimulatedDevice(), SnapshotTest.options())) {
            long a = fs.mkdir(ROOT, "a", 0755, 0, 0);
            long b = fs.mkdir(ROOT, "b", 0755, 0, 0);
            long file1 = file(fs, a, "file1", "one");
            file(fs, a, "file2", "two");
            file(fs, ROOT, "c", "see");
            long untouched = fs.mkdir(ROOT, "untouched", 0755, 0, 0);
            for (int i = 0; i < 300; i++) {
                file(fs, untouched, "f" + i, "x".repeat(i));
            }
            long s1 = fs.createSnapshot(0, "s1", false);

            fs.write(file1, 0, "ONE".getBytes(), 0, 3);
            file(fs, b, "new", "fresh");
            fs.unlink(ROOT, "c");
            fs.rename(a, "file2", b, "moved", RenameMode.REPLACE);
            fs.mkdir(ROOT, "e", 0755, 0, 0);

            assertEquals(List.of("M /", "M /a", "M /a/file1", "R /a/file2 -> /b/moved", "M /b", "+ /b/new",
                    "- /c", "+ /e"), fs.diff(s1, 0).stream().map(DiffEntry::toString).toList());

            long s2 = fs.createSnapshot(0, "s2", false);
            fs.link(file1, b, "hard");
            fs.setXattr(fs.resolve("/b/moved", true), "user.k", "v".getBytes(), false, false);
            assertEquals(List.of("M /a/file1", "M /b", "+ /b/hard", "M /b/moved"),
                    fs.diff(s2, 0).stream().map(DiffEntry::toString).toList());
            assertEquals(List.of(), fs.diff(s1, s1));
            // Backwards: what undoing the changes would do.
            assertTrue(fs.diff(0, s1).stream().map(DiffEntry::toString).toList().contains("+ /c"));
        }
    }

    @Test
    void aFileUnlinkedWhileOpenShowsAsRemoved() throws Exception {
        try (CowFileSystem fs = CowFileSystem.create(new SimulatedDevice(), SnapshotTest.options())) {
            long held = file(fs, ROOT, "held", "contents");
            long snap = fs.createSnapshot(0, "s", false);
            fs.open(held);
            fs.unlink(ROOT, "held");
            fs.write(held, 0, "more".getBytes(), 0, 4);
            assertEquals(List.of("M /", "- /held"), fs.diff(snap, 0).stream().map(DiffEntry::toString).toList());
            fs.release(held);
        }
    }

    @Test
    void tenChangesAmongTwentyThousandFilesReadAFewPaths() throws Exception {
        SimulatedDevice device = new SimulatedDevice();
        // No checker after commits here: it reads the whole image, and this test counts what the diff reads.
        FsOptions lenient = FsOptions.builder().commitIntervalMillis(0)
                .store(dev.cowfs.engine.StoreOptions.builder().checkAfterCommit(false).build()).build();
        try (CowFileSystem fs = CowFileSystem.create(device, lenient)) {
            long dir = fs.mkdir(ROOT, "many", 0755, 0, 0);
            long[] inos = new long[20_000];
            for (int i = 0; i < inos.length; i++) {
                inos[i] = file(fs, dir, "file-" + i, "contents " + i);
            }
            long snap = fs.createSnapshot(0, "snap", false);
            for (int i = 0; i < 10; i++) {
                fs.write(inos[i * 1999], 0, "changed".getBytes(), 0, 7);
            }
            fs.sync();
            long readBefore = device.bytesRead();
            List<DiffEntry> changes = fs.diff(snap, 0);
            long blocksRead = (device.bytesRead() - readBefore) / 4096;
            assertEquals(10, changes.size(), changes.toString()); // writes leave the directory as it was
            System.out.println("diff of 10 changes among 20k files read " + blocksRead + " blocks");
            assertTrue(blocksRead < 150, "diff read " + blocksRead + " blocks for 10 changes in 20k files");
        }
    }
}
