package dev.cowfs.engine.check;

import dev.cowfs.engine.btree.EntryValue;
import dev.cowfs.engine.btree.NodeReader;
import dev.cowfs.engine.btree.NodeView;
import dev.cowfs.engine.btree.TreeSpaceWalk;
import dev.cowfs.engine.device.BlockDevice;
import dev.cowfs.engine.device.VerifiedBlocks;
import dev.cowfs.engine.format.BlockRef;
import dev.cowfs.engine.format.Bytes;
import dev.cowfs.engine.format.DropRecordLayout;
import dev.cowfs.engine.format.Limits;
import dev.cowfs.engine.format.NodeLayout;
import dev.cowfs.engine.format.SpaceKeys;
import dev.cowfs.engine.format.TreeIds;
import dev.cowfs.engine.superblock.Superblock;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Deque;
import java.util.List;
import java.util.TreeMap;
import java.util.function.LongConsumer;

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

    /** Told the number of blocks each newly reached node or extent covers. */
    private final LongConsumer progress;

    private Checker(BlockDevice device, int blockSizeBytes, LongConsumer progress) {
        this.device = device;
        this.blockSizeBytes = blockSizeBytes;
        this.progress = progress;
        this.reader = new NodeReader(device, blockSizeBytes, new VerifiedBlocks());
    }

    /** Checks the image as of {@code newest}; {@code retained} are the other roots that must stay intact. */
    public static CheckReport check(BlockDevice device, Superblock newest, List<Superblock> retained) {
        return check(device, newest, retained, blocks -> { });
    }

    /**
     * As {@link #check(BlockDevice, Superblock, List)}, telling {@code progress} how many blocks each step reached:
     * the total comes to about {@link #blocksToCheck} of the newest superblock.
     */
    public static CheckReport check(BlockDevice device, Superblock newest, List<Superblock> retained,
                                    LongConsumer progress) {
        return new Checker(device, newest.blockSizeBytes(), progress).run(newest, retained);
    }

    /** The blocks a check of {@code newest} reaches: those in use (an estimate for progress reports). */
    public static long blocksToCheck(Superblock newest) {
        return Math.max(0, newest.highWaterBlock() - newest.freeBlocks() - newest.pendingBlocks());
    }

    /** Problems other than leaked blocks and wrong superblock totals (see {@link CheckReport#otherProblems}). */
    private long otherProblems;
    private final BitSet leaked = new BitSet();
    private boolean countsWrong;

    private void problem(String message) {
        otherProblems++;
        repairableProblem(message);
    }

    /** A leaked block or a wrong total: {@code cowfs fsck --repair} fixes these. */
    private void repairableProblem(String message) {
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
        /** Extents (out-of-line values, data extents) by first block, with the reference that reached them. */
        final java.util.Map<Long, BlockRef> extents = new java.util.HashMap<>();
        /** First blocks of the nodes reached. */
        final BitSet nodeStarts = new BitSet();
        /** Blocks reached more than once (shared): first block -> references beyond the first. */
        final java.util.Map<Long, Long> extraReferences = new java.util.HashMap<>();
        /** Records of the reference-count tree: first block -> count. */
        final TreeMap<Long, Long> refRecords = new TreeMap<>();
        /** Births of the nodes reached more than once: none may be born after the latest clone. */
        final java.util.Map<Long, Long> sharedNodeBirths = new java.util.HashMap<>();
        long lastCloneGeneration;
        final boolean collectSpace;
        /** The trees the catalog names (live, or being dropped), with their roots. */
        final List<TreeRoot> trees = new ArrayList<>();

        Walk(long generation, BitSet alreadyChecked, boolean collectSpace) {
            this.generation = generation;
            this.reached = new BitSet();
            this.alreadyChecked = alreadyChecked;
            this.collectSpace = collectSpace;
        }
    }

    private enum Reach { FIRST, AGAIN, SKIP }

    /**
     * A node or tree root to visit. {@code progress} is set inside a tree being dropped: what lies wholly below
     * it has been released and is not walked.
     */
    private record Frame(BlockRef ref, long treeId, int level, byte[] low, byte[] high, long parentBirth,
                         byte[] progress) {
    }

    /** A tree named by the catalog: a live tree, or one being dropped (with its progress key). */
    private record TreeRoot(long treeId, BlockRef root, byte[] progress) {
    }

    private CheckReport run(Superblock newest, List<Superblock> retained) {
        long hwm = newest.highWaterBlock();
        Walk walk = new Walk(newest.generation(), null, true);
        walkGeneration(newest, walk);
        BitSet protectedBlocks = (BitSet) walk.reached.clone();
        checkSpace(newest, walk);
        checkReferenceCounts(walk);
        if (problems.isEmpty()) {
            checkTreeSpace(walk);
        }
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
                protectedBlocks, leaked, countsWrong, otherProblems);
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
        List<TreeRoot> subtrees = new ArrayList<>();
        walkTree(new TreeRoot(TreeIds.CATALOG, superblock.catalogRoot(), null), walk, subtrees);
        walkTree(new TreeRoot(TreeIds.SPACE, superblock.spaceRoot(), null), walk, subtrees);
        for (TreeRoot subtree : subtrees) {
            walkTree(subtree, walk, new ArrayList<>());
        }
        walk.trees.addAll(subtrees);
    }

    private void walkTree(TreeRoot tree, Walk walk, List<TreeRoot> subtrees) {
        Deque<Frame> stack = new ArrayDeque<>();
        stack.push(new Frame(tree.root(), tree.treeId(), -1, null, null, walk.generation, tree.progress()));
        NodeView view = new NodeView();
        long visited = 0;
        while (!stack.isEmpty()) {
            Frame frame = stack.pop();
            if (++visited > Limits.MAX_BLOCK_INDEX) {
                problem("tree " + tree.treeId() + ": walk does not end (cycle?)");
                return;
            }
            Reach reach = reach(frame.ref, walk, "tree " + frame.treeId + " node", true);
            if (reach == Reach.SKIP) {
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
            checkBounds(view, frame);
            if (reach == Reach.AGAIN) {
                continue; // a shared node: its entries were visited (and counted) the first time
            }
            if (frame.level == -1 && !view.isLeaf() && view.count() < 2) {
                problem("block " + frame.ref.blockIndex() + ": root branch with a single child");
            }
            if (frame.level >= 0 && view.count() == 0) {
                problem("block " + frame.ref.blockIndex() + ": empty non-root node");
            }
            visitEntries(view, frame, walk, subtrees, stack);
        }
    }

    private void visitEntries(NodeView view, Frame frame, Walk walk, List<TreeRoot> subtrees, Deque<Frame> stack) {
        for (int i = view.count() - 1; i >= 0; i--) {
            try {
                visitEntry(view, i, frame, walk, subtrees, stack);
            } catch (IOException e) {
                problem("tree " + frame.treeId + ": " + e.getMessage());
            }
        }
    }

    private void visitEntry(NodeView view, int i, Frame frame, Walk walk, List<TreeRoot> subtrees,
                            Deque<Frame> stack) throws IOException {
        if (!view.isLeaf()) {
            byte[] low = i == 0 ? frame.low : view.key(i);
            byte[] high = i == view.count() - 1 ? frame.high : view.key(i + 1);
            if (frame.progress != null && high != null && Arrays.compareUnsigned(high, frame.progress) <= 0) {
                return; // released by the drop of this tree
            }
            stack.push(new Frame(view.childRef(i), frame.treeId, view.level() - 1, low, high,
                    frame.ref.birthGeneration(), frame.progress));
            return;
        }
        if (frame.progress != null && view.compareKey(i, frame.progress) < 0) {
            return;
        }
        EntryValue kind = EntryValue.of(view.flags(i));
        byte[] stored = view.storedValue(i);
        if (kind.referencesExtent()) {
            BlockRef extent = kind.target(stored);
            String what = kind == EntryValue.OUT_OF_LINE ? "out-of-line value" : "data extent";
            if (reach(extent, walk, what, false) == Reach.FIRST) {
                reader.verifyExtent(extent, kind.extentBytes(stored, 0));
            }
        } else if (kind == EntryValue.SUBTREE_ROOT && frame.treeId >= Limits.FIRST_USER_TREE_ID) {
            // A nested tree (a file's extent tree): walked as part of the tree holding it.
            stack.push(new Frame(BlockRef.decode(stored, 0), frame.treeId, -1, null, null,
                    frame.ref.birthGeneration(), null));
        } else if (kind == EntryValue.SUBTREE_ROOT) {
            byte[] key = view.key(i);
            if (frame.treeId != TreeIds.CATALOG || key.length != 8) {
                problem("tree " + frame.treeId + ": subtree reference outside the catalog");
                return;
            }
            subtrees.add(new TreeRoot(Bytes.getLongBigEndian(key, 0), BlockRef.decode(stored, 0), null));
        } else if (frame.treeId == TreeIds.CATALOG && view.keyLength(i) == 1) {
            byte[] key = view.key(i);
            if (key[0] != DropRecordLayout.LAST_CLONE_KEY_BYTE || stored.length != 8
                    || Bytes.getLong(stored, 0) > walk.generation) {
                problem("catalog: malformed last-clone record");
            } else {
                walk.lastCloneGeneration = Bytes.getLong(stored, 0);
            }
        } else if (frame.treeId == TreeIds.CATALOG) {
            visitDropRecord(view.key(i), stored, subtrees);
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

    /** The space figures of every user tree, from reference counts and from reachability, agree. */
    private void checkTreeSpace(Walk walk) {
        List<TreeSpaceCheck.Holder> holders = new ArrayList<>();
        for (TreeRoot tree : walk.trees) {
            if (tree.treeId() >= Limits.FIRST_USER_TREE_ID) {
                holders.add(new TreeSpaceCheck.Holder(tree.treeId(), tree.root(), tree.progress()));
            }
        }
        long lastClone = walk.lastCloneGeneration;
        TreeSpaceWalk.Counts counts = new TreeSpaceWalk.Counts() {
            @Override
            public long count(long blockIndex) {
                return walk.refRecords.getOrDefault(blockIndex, 1L);
            }

            @Override
            public long lastCloneGeneration() {
                return lastClone;
            }
        };
        TreeSpaceCheck.check(reader, holders, counts, this::problem);
    }

    /** A tree being dropped is walked from its root, skipping what its drop has released. */
    private void visitDropRecord(byte[] key, byte[] value, List<TreeRoot> subtrees) {
        if (!DropRecordLayout.isKey(key) || !DropRecordLayout.isValidValue(value)) {
            problem("catalog: malformed record " + Arrays.toString(Arrays.copyOf(key, Math.min(key.length, 9))));
            return;
        }
        subtrees.add(new TreeRoot(DropRecordLayout.treeId(key), DropRecordLayout.root(value),
                DropRecordLayout.progress(value)));
    }

    /**
     * Every block reached more than once has a record with its exact number of references, every record names
     * such a block, and no block with a single reference has one.
     */
    private void checkReferenceCounts(Walk walk) {
        for (var extra : walk.extraReferences.entrySet()) {
            Long recorded = walk.refRecords.get(extra.getKey());
            long expected = extra.getValue() + 1;
            if (recorded == null || recorded != expected) {
                problem("block " + extra.getKey() + ": " + expected + " references, reference-count tree says "
                        + (recorded == null ? "1 (no record)" : recorded));
            }
        }
        for (var shared : walk.sharedNodeBirths.entrySet()) {
            if (shared.getValue() > walk.lastCloneGeneration) {
                problem("node " + shared.getKey() + " is shared but born (" + shared.getValue()
                        + ") after the latest clone (" + walk.lastCloneGeneration + ")");
            }
        }
        for (var record : walk.refRecords.entrySet()) {
            long block = record.getKey();
            boolean reached = walk.nodeStarts.get((int) Math.min(block, Integer.MAX_VALUE))
                    || walk.extents.containsKey(block);
            if (!reached) {
                problem("reference-count record for block " + block + " names no node or extent");
            } else if (!walk.extraReferences.containsKey(block)) {
                problem("block " + block + ": 1 reference, reference-count tree says " + record.getValue());
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

    /**
     * Marks a node or extent reached. FIRST the first time; AGAIN for a further reference to the same node or
     * extent (shared; counted); SKIP when out of range, overlapping something else, or already checked in the
     * newest generation (for walks of older retained roots).
     */
    private Reach reach(BlockRef ref, Walk walk, String what, boolean node) {
        long start = ref.blockIndex();
        long count = ref.blockCount();
        if (start < 0 || count < 1 || start + count > Integer.MAX_VALUE || (node && count != 1)) {
            problem(what + " " + ref + ": address out of range");
            return Reach.SKIP;
        }
        if (walk.alreadyChecked != null && walk.alreadyChecked.get((int) start)) {
            return Reach.SKIP; // shared with the newest generation, which was checked already
        }
        if (walk.reached.get((int) start)) {
            boolean same = node ? walk.nodeStarts.get((int) start) : ref.equals(walk.extents.get(start));
            if (!same) {
                problem(what + " " + ref + ": block " + start + " is also reached as something else");
                return Reach.SKIP;
            }
            if (walk.collectSpace) {
                walk.extraReferences.merge(start, 1L, Long::sum);
                if (node) {
                    walk.sharedNodeBirths.put(start, ref.birthGeneration());
                }
            }
            return Reach.AGAIN;
        }
        for (long block = start; block < start + count; block++) {
            if (walk.reached.get((int) block)) {
                problem(what + " " + ref + ": block " + block + " is referenced more than once");
                return Reach.SKIP;
            }
        }
        walk.reached.set((int) start, (int) (start + count));
        progress.accept(count);
        if (node) {
            walk.nodeStarts.set((int) start);
        } else {
            walk.extents.put(start, ref);
        }
        return Reach.FIRST;
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
            // Birth equal to the freeing generation: written and freed by one transaction that wrote to the intent
            // log, which keeps such blocks until its commit.
            if (pending.freeGeneration() > superblock.generation() || pending.birth() > pending.freeGeneration()) {
                problem("pending extent at " + pending.start() + ": birth " + pending.birth() + ", freed "
                        + pending.freeGeneration() + " in generation " + superblock.generation());
            }
            claim(accounted, pending.start(), pending.count(), hwm, "pending-free extent");
        }
        if (freeTotal != superblock.freeBlocks() || pendingTotal != superblock.pendingBlocks()) {
            countsWrong = true;
            repairableProblem("superblock counts " + superblock.freeBlocks() + " free / " + superblock.pendingBlocks()
                    + " pending blocks, space tree holds " + freeTotal + " / " + pendingTotal);
        }
        for (long block = 0; block < hwm; block++) {
            boolean reserved = Limits.isReservedBlock(block, blockSizeBytes);
            if (reserved == accounted.get((int) block)) {
                if (reserved) {
                    problem("reserved block " + block + " is also used or free");
                } else {
                    leaked.set((int) block);
                    repairableProblem("block " + block + " is leaked: neither reachable, free nor pending-free");
                }
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
