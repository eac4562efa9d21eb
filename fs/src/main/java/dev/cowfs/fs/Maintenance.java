package dev.cowfs.fs;

import dev.cowfs.engine.ReadTransaction;
import dev.cowfs.engine.Store;
import dev.cowfs.engine.WriteTransaction;
import dev.cowfs.engine.check.CheckReport;
import dev.cowfs.engine.format.BlockExtent;
import dev.cowfs.engine.format.Limits;
import dev.cowfs.engine.superblock.Superblock;

import java.io.IOException;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashSet;
import java.util.List;


import static dev.cowfs.fs.CowFileSystem.ROOT_TREE;
import static dev.cowfs.fs.InodeNumber.inoOf;
import static dev.cowfs.fs.InodeNumber.treeOf;

/**
 * Looking after the image as a whole: repair of what the checkers find and can fix without guessing, the
 * filesystem's space figures (statfs), and what holds the space (by subvolume, by file, and why freed space waits).
 * Each call runs inside one operation of {@link Operations}.
 */
final class Maintenance {
    private final Operations ops;
    private final InodeTable inodes;
    private final Subvolumes subvolumes;
    private final FileData data;
    private final Store store;

    Maintenance(Operations ops, InodeTable inodes, Subvolumes subvolumes, FileData data) {
        this.ops = ops;
        this.inodes = inodes;
        this.subvolumes = subvolumes;
        this.data = data;
        this.store = inodes.store();
    }

    /** {@link CowFileSystem#repair}, inside its update. */
    List<String> repair() throws IOException {
        ops.commitLocked();
        List<String> changed = new ArrayList<>();
        CheckReport report = store.check();
        if (!report.leakedBlocks().isEmpty() || report.countsWrong()) {
            if (report.otherProblems() > 0) {
                changed.add("not repaired: " + report.leakedBlocks().cardinality() + " leaked block(s)"
                        + (report.countsWrong() ? " and the superblock's totals" : "") + ", because the image has "
                        + report.otherProblems() + " other problem(s) that could hide what those blocks hold");
            } else {
                BitSet leaked = (BitSet) report.leakedBlocks().clone();
                leaked.andNot(report.protectedBlocks());
                List<BlockExtent> extents = new ArrayList<>();
                for (int start = leaked.nextSetBit(0); start >= 0; start = leaked.nextSetBit(start)) {
                    int end = leaked.nextClearBit(start);
                    extents.add(new BlockExtent(start, end - start));
                    start = end;
                }
                inodes.txn().repairSpace(extents, report.freeBlocks(), report.pendingBlocks());
                if (!extents.isEmpty()) {
                    changed.add("repaired: returned " + leaked.cardinality() + " leaked block(s) in "
                            + extents.size() + " extent(s), from block " + extents.get(0).start() + ", to free space");
                }
                if (report.countsWrong()) {
                    Superblock newest = store.superblock();
                    changed.add("repaired: the superblock counted " + newest.freeBlocks() + " free / "
                            + newest.pendingBlocks() + " pending blocks; the space tree holds "
                            + report.freeBlocks() + " / " + report.pendingBlocks() + ", which now stand");
                }
            }
        }
        try (ReadTransaction read = store.beginRead()) {
            FsChecker.Unnamed found = FsChecker.unnamed(read, new HashSet<>(
                    Subvolumes.readRecords(read.imageUuid(), read.cursor(ROOT_TREE)).keySet()));
            for (long id : found.leakedTrees()) {
                inodes.txn().dropTree(treeOf(inoOf(id, 0)));
                changed.add("repaired: dropped subvolume tree " + treeOf(inoOf(id, 0)) + " (id " + id
                        + "), which no record named; its blocks are released over the next commits");
            }
            for (byte[] marker : found.badMarkers()) {
                inodes.txn().delete(ROOT_TREE, marker);
                changed.add("repaired: removed the receive marker of subvolume " + FsChecker.markerId(marker)
                        + ", which staged nothing");
            }
        }
        if (changed.stream().anyMatch(line -> line.startsWith("repaired:"))) {
            ops.commitLocked();
        }
        return changed;
    }

    /** {@link CowFileSystem#statfs}, inside its query. */
    FsStat statfs() throws IOException {
        Superblock superblock = store.superblock();
        WriteTransaction open = inodes.txn();
        long highWater = open != null ? open.space().highWaterBlock() : superblock.highWaterBlock();
        long bufferedBlocks = (data.bufferedBytes() + blockSize() - 1) / blockSize();
        long used = open != null ? open.space().usedBlocks() + bufferedBlocks
                : superblock.highWaterBlock() - superblock.freeBlocks();
        long capacity = superblock.capacityBlocks();
        long total;
        long available;
        if (capacity != 0) {
            total = capacity;
            available = Math.max(0, capacity - store.reservedPoolBlocks() - used);
        } else { // as a sparse file's loop device: what it spans, and what the host can still give it
            long growable = store.device().growableBytes() / blockSize();
            total = highWater + Math.min(growable, Limits.MAX_BLOCK_INDEX);
            available = total - used;
        }
        used = Math.min(used, total);
        return new FsStat(blockSize(), total, used, total - used, Math.max(0, Math.min(available, total - used)),
                superblock.pendingBlocks(), capacity == 0, subvolumes.inodesHandedOut(), superblock.generation());
    }

    /** {@link CowFileSystem#space}, inside its query (after a commit). */
    SpaceUsage space(long subvolume) throws IOException {
        subvolumes.info(subvolume);
        try (ReadTransaction read = store.beginRead()) {
            var measured = read.treeSpace(treeOf(inoOf(subvolume, 0)));
            return new SpaceUsage(measured.referencedBlocks() * blockSize(),
                    measured.exclusiveBlocks() * blockSize(), read.generation());
        }
    }

    /** {@link CowFileSystem#explainSpace}, inside its query (after a commit). */
    SpaceExplanation explainSpace() throws IOException {
        List<SpaceExplanation.Holder> holders = new ArrayList<>();
        boolean releasing = inodes.txn() != null && inodes.txn().hasDroppedTrees();
        try (ReadTransaction read = store.beginRead()) {
            for (SubvolumeInfo info : subvolumes.list()) {
                var measured = read.treeSpace(treeOf(inoOf(info.id(), 0)));
                holders.add(new SpaceExplanation.Holder(info, new SpaceUsage(measured.referencedBlocks() * blockSize(),
                        measured.exclusiveBlocks() * blockSize(), read.generation())));
            }
        }
        return SpaceExplanation.of(holders, store.spacePins(), blockSize(), releasing);
    }

    /** {@link CowFileSystem#fileSpace}, inside its query (after a commit). */
    SpaceUsage fileSpace(long ino) throws IOException {
        inodes.load(ino);
        try (ReadTransaction read = store.beginRead()) {
            var measured = read.rangeSpace(treeOf(ino), FsKeys.of(ino, (byte) 0),
                    FsKeys.of(ino, (byte) 0xFF)); // every item type of the inode sorts below 0xFF
            return new SpaceUsage(measured.referencedBlocks() * blockSize(),
                    measured.exclusiveBlocks() * blockSize(), read.generation());
        }
    }

    private int blockSize() {
        return store.blockSizeBytes();
    }
}
