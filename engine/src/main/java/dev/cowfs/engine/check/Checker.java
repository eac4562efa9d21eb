package dev.cowfs.engine.check;

import dev.cowfs.engine.block.BlockDevice;
import dev.cowfs.engine.block.BlockRef;
import dev.cowfs.engine.block.VerifiedBlocks;
import dev.cowfs.engine.btree.NodeReader;
import dev.cowfs.engine.btree.NodeView;
import dev.cowfs.engine.format.Bytes;
import dev.cowfs.engine.format.Limits;
import dev.cowfs.engine.format.NodeLayout;
import dev.cowfs.engine.format.SpaceKeys;
import dev.cowfs.engine.format.TreeIds;
import dev.cowfs.engine.txn.Superblock;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Deque;
import java.util.List;
import java.util.TreeMap;

/**
 * The offline checker of an image (the engine half of {@code cowfs fsck}). From the newest superblock it walks
 * every tree, verifying each block's checksum, header and structure, key order within separator bounds, levels
 * and births; it then proves that every block below the high-water mark is exactly one of reachable (once),
 * free, pending-free or reserved, that the space tree's two free indexes agree with each other and with the
 * superblock's totals, and that every block an older retained root reaches is pending-free, never free.
 */
public final class Checker {
    private final BlockDevice device;
    private final int blockSizeBytes;
    private final NodeReader reader;
    private final List<String> problems = new ArrayList<>();
    private static final int MAX_PROBLEMS = 1000;

    private Checker(BlockDevice device, int blockSizeBytes) {
        this.device = device;
        this.blockSizeBytes = blockSizeBytes;
        this.reader = new NodeReader(device, blockSizeBytes, new VerifiedBlocks());
    }

    /** Checks the image as of {@code newest}; {@code retained} are the other roots that must stay intact. */
    public static CheckReport check(BlockDevice device, Superblock newest, List<Superblock> retained) {
        return new Checker(device, newest.blockSizeBytes()).run(newest, retained);
    }

    private void problem(String message) {
        if (problems.size() < MAX_PROBLEMS) {
            problems.add(message);
        }
    }

    private record Pending(long freeGeneration, long start, long count, long birth) {
    }

    /** What one walk of a generation's trees collects. */
    private final class Walk {
        final long generation;
        final BitSet reached;
        final BitSet alreadyChecked;
        final TreeMap<Long, Long> freeByAddress = new TreeMap<>();
        final TreeMap<Long, Long> freeBySize = new TreeMap<>(); // (start) -> count, from the size index
        final List<Pending> pending = new ArrayList<>();
        /** Data extents by first block: the reference and how many entries point at it. */
        final java.util.Map<Long, ExtentUse> dataExtents = new java.util.HashMap<>();
        /** Records of the reference-count tree: first block -> count. */
        final TreeMap<Long, Long> refRecords = new TreeMap<>();
        final boolean collectSpace;

        Walk(long generation, BitSet alreadyChecked, boolean collectSpace) {
            this.generation = generation;
            this.reached = new BitSet();
            this.alreadyChecked = alreadyChecked;
            this.collectSpace = collectSpace;
        }
    }

    private static final class ExtentUse {
        final BlockRef ref;
        long references;

        ExtentUse(BlockRef ref) {
            this.ref = ref;
        }
    }

    private record Frame(BlockRef ref, long treeId, int level, byte[] low, byte[] high, long parentBirth) {
    }

    private CheckReport run(Superblock newest, List<Superblock> retained) {
        long hwm = newest.highWaterBlock();
        Walk walk = new Walk(newest.generation(), null, true);
        walkGeneration(newest, walk);
        BitSet protectedBlocks = (BitSet) walk.reached.clone();
        checkSpace(newest, walk);
        checkReferenceCounts(walk);
        for (Superblock older : retained) {
            Walk olderWalk = new Walk(older.generation(), walk.reached, false);
            walkGeneration(older, olderWalk);
            BitSet onlyOlder = (BitSet) olderWalk.reached.clone();
            onlyOlder.andNot(walk.reached);
            for (int block = onlyOlder.nextSetBit(0); block >= 0; block = onlyOlder.nextSetBit(block + 1)) {
                if (!isPending(walk, block)) {
                    problem("block " + block + " is reachable from retained generation " + older.generation()
                            + " but not pending-free in generation " + newest.generation());
                }
            }
            protectedBlocks.or(olderWalk.reached);
        }
        long reserved = 0;
        for (long block = 0; block < hwm; block++) {
            if (Limits.isReservedBlock(block, blockSizeBytes)) {
                reserved++;
            }
        }
        return new CheckReport(newest.generation(), hwm, walk.reached.cardinality(),
                walk.freeByAddress.values().stream().mapToLong(Long::longValue).sum(),
                walk.pending.stream().mapToLong(Pending::count).sum(), reserved, List.copyOf(problems),
                protectedBlocks);
    }

    private static boolean isPending(Walk walk, long block) {
        for (Pending pending : walk.pending) {
            if (block >= pending.start() && block < pending.start() + pending.count()) {
                return true;
            }
        }
        return false;
    }

    private void walkGeneration(Superblock superblock, Walk walk) {
        List<long[]> subtrees = new ArrayList<>();
        walkTree(superblock.catalogRoot(), TreeIds.CATALOG, walk, subtrees);
        walkTree(superblock.spaceRoot(), TreeIds.SPACE, walk, subtrees);
        for (long[] subtree : subtrees) {
            BlockRef root = new BlockRef(subtree[1], subtree[2], (int) subtree[3], (int) subtree[4]);
            walkTree(root, subtree[0], walk, new ArrayList<>());
        }
    }

    private void walkTree(BlockRef root, long treeId, Walk walk, List<long[]> subtrees) {
        Deque<Frame> stack = new ArrayDeque<>();
        stack.push(new Frame(root, treeId, -1, null, null, walk.generation));
        NodeView view = new NodeView();
        long visited = 0;
        while (!stack.isEmpty()) {
            Frame frame = stack.pop();
            if (++visited > Limits.MAX_BLOCK_INDEX) {
                problem("tree " + treeId + ": walk does not end (cycle?)");
                return;
            }
            if (!markReached(frame.ref, walk, "tree " + frame.treeId + " node")) {
                continue;
            }
            try {
                reader.read(frame.ref, frame.treeId, frame.level, view);
            } catch (IOException e) {
                problem("tree " + frame.treeId + ": " + e.getMessage());
                continue;
            }
            if (frame.ref.birthGeneration() > frame.parentBirth) {
                problem("block " + frame.ref.blockIndex() + ": born in generation " + frame.ref.birthGeneration()
                        + " after its parent (" + frame.parentBirth + ")");
            }
            if (frame.level == -1 && !view.isLeaf() && view.count() < 2) {
                problem("block " + frame.ref.blockIndex() + ": root branch with a single child");
            }
            if (frame.level >= 0 && view.count() == 0) {
                problem("block " + frame.ref.blockIndex() + ": empty non-root node");
            }
            checkBounds(view, frame);
            visitEntries(view, frame, walk, subtrees, stack);
        }
    }

    private void visitEntries(NodeView view, Frame frame, Walk walk, List<long[]> subtrees, Deque<Frame> stack) {
        for (int i = view.count() - 1; i >= 0; i--) {
            try {
                visitEntry(view, i, frame, walk, subtrees, stack);
            } catch (IOException e) {
                problem("tree " + frame.treeId + ": " + e.getMessage());
            }
        }
    }

    private void visitEntry(NodeView view, int i, Frame frame, Walk walk, List<long[]> subtrees, Deque<Frame> stack)
            throws IOException {
        if (!view.isLeaf()) {
            byte[] low = i == 0 ? frame.low : view.key(i);
            byte[] high = i == view.count() - 1 ? frame.high : view.key(i + 1);
            stack.push(new Frame(view.childRef(i), frame.treeId, view.level() - 1, low, high,
                    frame.ref.birthGeneration()));
            return;
        }
        byte flags = view.flags(i);
        byte[] stored = view.storedValue(i);
        if ((flags & NodeLayout.FLAG_OUT_OF_LINE) != 0) {
            BlockRef extent = BlockRef.decode(stored, NodeLayout.OUT_OF_LINE_REF_OFFSET);
            if (markReached(extent, walk, "out-of-line value")) {
                reader.readExtent(extent, Bytes.getInt(stored, NodeLayout.OUT_OF_LINE_LENGTH_OFFSET));
            }
        } else if ((flags & NodeLayout.FLAG_SUBTREE_ROOT) != 0) {
            BlockRef root = BlockRef.decode(stored, 0);
            byte[] key = view.key(i);
            if (frame.treeId != TreeIds.CATALOG || key.length != 8) {
                problem("tree " + frame.treeId + ": subtree reference outside the catalog");
                return;
            }
            subtrees.add(new long[] {Bytes.getLongBigEndian(key, 0), root.blockIndex(), root.birthGeneration(),
                    root.checksum(), root.blockCount()});
        } else if ((flags & NodeLayout.FLAG_DATA_EXTENT) != 0) {
            visitDataExtent(stored, walk);
        } else if (frame.treeId == TreeIds.SPACE && walk.collectSpace) {
            collectSpaceRecord(view.key(i), stored, walk);
        } else if (frame.treeId == TreeIds.REFS && walk.collectSpace) {
            byte[] key = view.key(i);
            if (key.length != 8 || stored.length != 8 || Bytes.getLong(stored, 0) < 2) {
                problem("reference-count tree: malformed record");
            } else {
                walk.refRecords.put(Bytes.getLongBigEndian(key, 0), Bytes.getLong(stored, 0));
            }
        }
    }

    /** A data extent is reached once however many entries share it; each entry counts one reference. */
    private void visitDataExtent(byte[] stored, Walk walk) throws IOException {
        BlockRef extent = BlockRef.decode(stored, NodeLayout.DATA_EXTENT_REF_OFFSET);
        int storedBytes = Bytes.getInt(stored, NodeLayout.DATA_EXTENT_STORED_BYTES_OFFSET);
        ExtentUse use = walk.dataExtents.get(extent.blockIndex());
        if (use != null) {
            if (!use.ref.equals(extent)) {
                problem("data extent " + extent + " disagrees with another reference to block "
                        + extent.blockIndex() + ": " + use.ref);
            }
            use.references++;
            return;
        }
        if (walk.alreadyChecked != null && walk.alreadyChecked.get((int) extent.blockIndex())) {
            return; // shared with the newest generation, checked there
        }
        use = new ExtentUse(extent);
        use.references = 1;
        walk.dataExtents.put(extent.blockIndex(), use);
        if (markReached(extent, walk, "data extent")) {
            reader.readExtent(extent, storedBytes);
        }
    }

    /** Every shared extent has a record with its exact reference count; no other records exist. */
    private void checkReferenceCounts(Walk walk) {
        for (ExtentUse use : walk.dataExtents.values()) {
            Long recorded = walk.refRecords.get(use.ref.blockIndex());
            long expected = use.references;
            if (expected >= 2 ? recorded == null || recorded != expected : recorded != null) {
                problem("data extent " + use.ref + ": " + expected + " references, reference-count tree says "
                        + (recorded == null ? "1 (no record)" : recorded));
            }
        }
        for (var record : walk.refRecords.entrySet()) {
            if (!walk.dataExtents.containsKey(record.getKey())) {
                problem("reference-count record for block " + record.getKey() + " names no data extent");
            }
        }
    }

    private void checkBounds(NodeView view, Frame frame) {
        if (view.count() == 0) {
            return;
        }
        int first = view.isLeaf() ? 0 : 1;
        if (first < view.count() && frame.low != null && view.compareKey(first, frame.low) < 0) {
            problem("block " + frame.ref.blockIndex() + ": key below its separator bound");
        }
        if (frame.high != null && view.compareKey(view.count() - 1, frame.high) >= 0) {
            problem("block " + frame.ref.blockIndex() + ": key at or above its separator bound");
        }
    }

    /** Marks an extent reached; false (with a problem noted) when it was already, or is out of range. */
    private boolean markReached(BlockRef ref, Walk walk, String what) {
        long start = ref.blockIndex();
        long count = ref.blockCount();
        if (start < 0 || count < 1 || start + count > Integer.MAX_VALUE) {
            problem(what + " " + ref + ": address out of range");
            return false;
        }
        if (walk.alreadyChecked != null && walk.alreadyChecked.get((int) start)) {
            return false; // shared with the newest generation, which was checked already
        }
        for (long block = start; block < start + count; block++) {
            if (walk.reached.get((int) block)) {
                problem(what + " " + ref + ": block " + block + " is referenced more than once");
                return false;
            }
        }
        walk.reached.set((int) start, (int) (start + count));
        return true;
    }

    private void collectSpaceRecord(byte[] key, byte[] value, Walk walk) {
        if (key.length == SpaceKeys.FREE_BY_ADDRESS_KEY_BYTES && key[0] == SpaceKeys.FREE_BY_ADDRESS
                && value.length == SpaceKeys.FREE_VALUE_BYTES) {
            walk.freeByAddress.put(Bytes.getLongBigEndian(key, 1), Bytes.getLong(value, 0));
        } else if (key.length == SpaceKeys.FREE_BY_SIZE_KEY_BYTES && key[0] == SpaceKeys.FREE_BY_SIZE
                && value.length == 0) {
            walk.freeBySize.put(Bytes.getLongBigEndian(key, 9), Bytes.getLongBigEndian(key, 1));
        } else if (key.length == SpaceKeys.PENDING_KEY_BYTES && key[0] == SpaceKeys.PENDING
                && value.length == SpaceKeys.PENDING_VALUE_BYTES) {
            walk.pending.add(new Pending(Bytes.getLongBigEndian(key, 1), Bytes.getLongBigEndian(key, 9),
                    Bytes.getLong(value, 0), Bytes.getLong(value, 8)));
        } else {
            problem("space tree: malformed record " + Arrays.toString(Arrays.copyOf(key, Math.min(key.length, 9))));
        }
    }

    /** Reachable, free, pending and reserved partition [0, high-water mark), and agree with the superblock. */
    private void checkSpace(Superblock superblock, Walk walk) {
        long hwm = superblock.highWaterBlock();
        if (!walk.freeByAddress.equals(walk.freeBySize)) {
            problem("space tree: free-by-address and free-by-size indexes disagree");
        }
        BitSet accounted = new BitSet();
        for (int block = walk.reached.nextSetBit(0); block >= 0; block = walk.reached.nextSetBit(block + 1)) {
            if (block >= hwm || Limits.isReservedBlock(block, blockSizeBytes)) {
                problem("block " + block + " is reachable but lies beyond the high-water mark or in a reserved region");
            }
        }
        accounted.or(walk.reached);
        long freeTotal = 0;
        for (var extent : walk.freeByAddress.entrySet()) {
            freeTotal += extent.getValue();
            claim(accounted, extent.getKey(), extent.getValue(), hwm, "free extent");
        }
        long pendingTotal = 0;
        for (Pending pending : walk.pending) {
            pendingTotal += pending.count();
            if (pending.freeGeneration() > superblock.generation() || pending.birth() >= pending.freeGeneration()) {
                problem("pending extent at " + pending.start() + ": birth " + pending.birth() + ", freed "
                        + pending.freeGeneration() + " in generation " + superblock.generation());
            }
            claim(accounted, pending.start(), pending.count(), hwm, "pending-free extent");
        }
        if (freeTotal != superblock.freeBlocks() || pendingTotal != superblock.pendingBlocks()) {
            problem("superblock counts " + superblock.freeBlocks() + " free / " + superblock.pendingBlocks()
                    + " pending blocks, space tree holds " + freeTotal + " / " + pendingTotal);
        }
        for (long block = 0; block < hwm; block++) {
            boolean reserved = Limits.isReservedBlock(block, blockSizeBytes);
            if (reserved == accounted.get((int) block)) {
                problem(reserved ? "reserved block " + block + " is also used or free"
                        : "block " + block + " is leaked: neither reachable, free nor pending-free");
            }
        }
    }

    private void claim(BitSet accounted, long start, long count, long hwm, String what) {
        if (start < 0 || count < 1 || start + count > hwm) {
            problem(what + " " + start + "+" + count + " lies beyond the high-water mark " + hwm);
            return;
        }
        for (long block = start; block < start + count; block++) {
            if (accounted.get((int) block)) {
                problem(what + " " + start + "+" + count + ": block " + block + " is also reachable, free or pending");
                return;
            }
        }
        accounted.set((int) start, (int) (start + count));
    }
}
