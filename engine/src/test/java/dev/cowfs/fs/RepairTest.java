package dev.cowfs.fs;

import dev.cowfs.engine.StoreOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What repair fixes: a subvolume tree no record names, and a receive marker that stages nothing. */
class RepairTest {
    private static final FsOptions OPTIONS = FsOptions.builder().commitIntervalMillis(0)
            .store(StoreOptions.builder().checkAfterCommit(false).build()).build();

    @TempDir
    Path dir;

    @Test
    void leakedSubvolumeTreesAndStrayMarkersAreRepairedAndTheirSpaceComesBack() throws Exception {
        Path image = dir.resolve("repair.img");
        long usedBefore;
        try (CowFileSystem fs = CowFileSystem.create(image, OPTIONS)) {
            long file = fs.mknod(CowFileSystem.ROOT_INO, "big", 0644, 0, 0, 0);
            fs.sync();
            usedBefore = fs.statfs().usedBlocks();
            long clone = fs.createSnapshot(0, "work", true);
            long inClone = fs.lookup(CowFileSystem.rootOf(clone), "big");
            fs.write(inClone, 0, new byte[3 << 20], 0, 3 << 20); // the clone's own data: 3 MiB
            fs.sync();
            // Damage as a bug could: the clone's records go, its tree stays; and a marker for a tree that is not.
            fs.txn().delete(CowFileSystem.ROOT_TREE, Subvolumes.idKey(clone));
            fs.txn().delete(CowFileSystem.ROOT_TREE, Subvolumes.nameKey("work".getBytes(StandardCharsets.UTF_8)));
            fs.txn().put(CowFileSystem.ROOT_TREE, Subvolumes.receivingKey(77), new byte[0]);
            fs.sync();
            assertTrue(file > 0);
        }
        try (CowFileSystem readOnly = CowFileSystem.open(image, FsOptions.builder().commitIntervalMillis(0)
                .store(StoreOptions.builder().readOnly(true).build()).build())) {
            List<String> problems = FsChecker.check(readOnly.store());
            assertEquals(2, problems.size(), problems.toString());
            assertTrue(problems.toString().contains("(id 1) is named by no record"), problems.toString());
            assertTrue(problems.toString().contains("marker names subvolume 77"), problems.toString());
        }
        try (CowFileSystem fs = CowFileSystem.open(image, OPTIONS)) {
            // Opening for writing drops receive markers (a receive cut short); the leaked tree needs repair.
            List<String> problems = FsChecker.check(fs.store());
            assertEquals(1, problems.size(), problems.toString());
            List<String> changed = fs.repair();
            assertEquals(1, changed.size(), changed.toString());
            assertTrue(changed.get(0).startsWith("dropped subvolume tree 258 (id 1)"), changed.toString());
            assertEquals(List.of(), FsChecker.check(fs.store()));
            assertTrue(fs.store().check().isClean(), fs.store().check().summary());
            for (int i = 0; i < 100 && fs.isReleasingSpace(); i++) {
                fs.sync();
            }
            for (int i = 0; i < 4; i++) {
                fs.sync(); // freed blocks become reusable after the superblock ring lets go of them
            }
            assertTrue(fs.statfs().usedBlocks() < usedBefore + 64, fs.statfs().usedBlocks() + " blocks used, "
                    + usedBefore + " before the clone");
            assertEquals(List.of(), fs.repair(), "nothing left to repair");
        }
    }
}
