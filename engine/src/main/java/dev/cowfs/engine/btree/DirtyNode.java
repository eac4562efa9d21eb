package dev.cowfs.engine.btree;

import dev.cowfs.engine.block.BlockRef;
import dev.cowfs.engine.format.NodeLayout;

import java.util.Arrays;

/**
 * A node of the open transaction: a mutable copy that already owns the block it will be written to. Leaves hold
 * keys, stored values and flags; branches hold keys (entry 0 empty), child references, and the dirty child when
 * the child is dirty too.
 */
final class DirtyNode {
    final int level;
    long blockIndex;
    int count;
    byte[][] keys;
    byte[][] values;
    byte[] flags;
    BlockRef[] childRefs;
    DirtyNode[] children;
    /** Bytes the entries and their slots take in the block. */
    int entryBytes;

    DirtyNode(int level, long blockIndex, int capacity) {
        this.level = level;
        this.blockIndex = blockIndex;
        int size = Math.max(4, capacity);
        keys = new byte[size][];
        if (level == 0) {
            values = new byte[size][];
            flags = new byte[size];
        } else {
            childRefs = new BlockRef[size];
            children = new DirtyNode[size];
        }
    }

    boolean isLeaf() {
        return level == 0;
    }

    int entrySize(int index) {
        return isLeaf() ? NodeLayout.leafEntryBytes(keys[index].length, values[index].length)
                : NodeLayout.branchEntryBytes(keys[index].length);
    }

    private void makeRoom(int index) {
        if (count == keys.length) {
            int size = keys.length * 2;
            keys = Arrays.copyOf(keys, size);
            if (isLeaf()) {
                values = Arrays.copyOf(values, size);
                flags = Arrays.copyOf(flags, size);
            } else {
                childRefs = Arrays.copyOf(childRefs, size);
                children = Arrays.copyOf(children, size);
            }
        }
        int moved = count - index;
        System.arraycopy(keys, index, keys, index + 1, moved);
        if (isLeaf()) {
            System.arraycopy(values, index, values, index + 1, moved);
            System.arraycopy(flags, index, flags, index + 1, moved);
        } else {
            System.arraycopy(childRefs, index, childRefs, index + 1, moved);
            System.arraycopy(children, index, children, index + 1, moved);
        }
        count++;
    }

    void insertLeafEntry(int index, byte[] key, byte[] value, byte entryFlags) {
        makeRoom(index);
        keys[index] = key;
        values[index] = value;
        flags[index] = entryFlags;
        entryBytes += entrySize(index);
    }

    void replaceLeafValue(int index, byte[] value, byte entryFlags) {
        entryBytes -= entrySize(index);
        values[index] = value;
        flags[index] = entryFlags;
        entryBytes += entrySize(index);
    }

    void insertBranchEntry(int index, byte[] key, BlockRef ref, DirtyNode child) {
        makeRoom(index);
        keys[index] = key;
        childRefs[index] = ref;
        children[index] = child;
        entryBytes += entrySize(index);
    }

    void setBranchKey(int index, byte[] key) {
        entryBytes -= entrySize(index);
        keys[index] = key;
        entryBytes += entrySize(index);
    }

    void remove(int index) {
        entryBytes -= entrySize(index);
        int moved = count - index - 1;
        System.arraycopy(keys, index + 1, keys, index, moved);
        keys[count - 1] = null;
        if (isLeaf()) {
            System.arraycopy(values, index + 1, values, index, moved);
            System.arraycopy(flags, index + 1, flags, index, moved);
            values[count - 1] = null;
        } else {
            System.arraycopy(childRefs, index + 1, childRefs, index, moved);
            System.arraycopy(children, index + 1, children, index, moved);
            childRefs[count - 1] = null;
            children[count - 1] = null;
        }
        count--;
    }

    /** Moves entries [from, count) to the end of {@code target}, which must be of the same level. */
    void moveTailTo(int from, DirtyNode target) {
        for (int i = from; i < count; i++) {
            if (isLeaf()) {
                target.insertLeafEntry(target.count, keys[i], values[i], flags[i]);
            } else {
                target.insertBranchEntry(target.count, keys[i], childRefs[i], children[i]);
            }
        }
        while (count > from) {
            remove(count - 1);
        }
    }

    /** Moves entries [from, count) to the start of {@code target}, keeping their order. */
    void moveTailToFrontOf(int from, DirtyNode target) {
        for (int i = count - 1; i >= from; i--) {
            if (isLeaf()) {
                target.insertLeafEntry(0, keys[i], values[i], flags[i]);
            } else {
                target.insertBranchEntry(0, keys[i], childRefs[i], children[i]);
            }
            remove(i);
        }
    }

    /** Moves entries [0, upTo) to the end of {@code target}, keeping their order. */
    void moveHeadTo(int upTo, DirtyNode target) {
        for (int i = 0; i < upTo; i++) {
            if (isLeaf()) {
                target.insertLeafEntry(target.count, keys[i], values[i], flags[i]);
            } else {
                target.insertBranchEntry(target.count, keys[i], childRefs[i], children[i]);
            }
        }
        for (int i = 0; i < upTo; i++) {
            remove(0);
        }
    }

    int searchLeaf(byte[] key) {
        return Arrays.binarySearch(keys, 0, count, key, Arrays::compareUnsigned);
    }

    int searchBranch(byte[] key) {
        int low = 1;
        int high = count - 1;
        while (low <= high) {
            int mid = (low + high) >>> 1;
            if (Arrays.compareUnsigned(keys[mid], key) <= 0) {
                low = mid + 1;
            } else {
                high = mid - 1;
            }
        }
        return low - 1;
    }
}
