package dev.cowfs.engine.btree;

import dev.cowfs.engine.block.BlockRef;
import dev.cowfs.engine.format.BlockRefLayout;
import dev.cowfs.engine.format.Bytes;
import dev.cowfs.engine.format.NodeLayout;

import java.util.Arrays;

/**
 * A node of the open transaction: a mutable copy that already owns the block it will be written to.
 *
 * <p>Entries are kept in their on-disk encoding, appended to one byte array (the heap) and addressed through
 * an int slot array in key order, so a node costs about two blocks of memory whatever its entry count, copying
 * a committed block in is one array copy, and searching reads contiguous memory. Removing or replacing an entry
 * leaves garbage in the heap, reclaimed by compaction when the heap fills. Branches also hold the dirty child
 * of each entry, if any; the child reference stored in a dirty child's entry is stale until the child is
 * written.
 */
final class DirtyNode {
    final int level;
    long blockIndex;
    int count;
    /** Entries from here on were appended to the heap; bytes before it may be garbage. */
    private int[] slots;
    private byte[] heap;
    private int heapEnd;
    /** Bytes of live entries in the heap (slots excluded). */
    private int liveBytes;
    DirtyNode[] children;

    DirtyNode(int level, long blockIndex, int heapCapacity) {
        this.level = level;
        this.blockIndex = blockIndex;
        this.slots = new int[16];
        this.heap = new byte[Math.max(256, heapCapacity)];
        if (level > 0) {
            children = new DirtyNode[16];
        }
    }

    /** A dirty copy of a verified node block: the block's bytes become the heap as they are. */
    static DirtyNode copyOf(NodeView view, long blockIndex, int blockSizeBytes) {
        DirtyNode node = new DirtyNode(view.level(), blockIndex, 0);
        node.heap = new byte[blockSizeBytes * 2];
        dev.cowfs.engine.block.RawMemory.copyToArray(view.memory, view.base, node.heap, 0, blockSizeBytes);
        node.heapEnd = blockSizeBytes;
        int count = view.count();
        node.slots = new int[Math.max(16, count + 8)];
        if (node.level > 0) {
            node.children = new DirtyNode[node.slots.length];
        }
        for (int i = 0; i < count; i++) {
            node.slots[i] = Bytes.getUnsignedShort(node.heap, NodeLayout.HEADER_BYTES + i * NodeLayout.SLOT_BYTES);
            node.liveBytes += node.rawSize(node.slots[i]);
        }
        node.count = count;
        return node;
    }

    boolean isLeaf() {
        return level == 0;
    }

    /** Bytes the entries and their slots would take in a block. */
    int entryBytes() {
        return liveBytes + count * NodeLayout.SLOT_BYTES;
    }

    private int headerBytes() {
        return isLeaf() ? NodeLayout.LEAF_ENTRY_HEADER_BYTES : NodeLayout.BRANCH_ENTRY_HEADER_BYTES;
    }

    private int rawSize(int offset) {
        int keyLength = Bytes.getUnsignedShort(heap, offset);
        return isLeaf() ? NodeLayout.LEAF_ENTRY_HEADER_BYTES + keyLength
                + Bytes.getUnsignedShort(heap, offset + NodeLayout.LEAF_ENTRY_VALUE_LENGTH_OFFSET)
                : NodeLayout.BRANCH_ENTRY_HEADER_BYTES + keyLength + BlockRefLayout.BYTES;
    }

    /** Bytes the entry and its slot take in a block. */
    int entrySize(int index) {
        return rawSize(slots[index]) + NodeLayout.SLOT_BYTES;
    }

    // ------------------------------------------------------------------ reading entries

    int keyLength(int index) {
        return Bytes.getUnsignedShort(heap, slots[index]);
    }

    byte[] key(int index) {
        int offset = slots[index] + headerBytes();
        return Arrays.copyOfRange(heap, offset, offset + keyLength(index));
    }

    int compareKey(int index, byte[] key) {
        int offset = slots[index] + headerBytes();
        return Arrays.compareUnsigned(heap, offset, offset + keyLength(index), key, 0, key.length);
    }

    byte flags(int index) {
        return heap[slots[index] + NodeLayout.LEAF_ENTRY_FLAGS_OFFSET];
    }

    byte[] storedValue(int index) {
        int offset = slots[index];
        int start = offset + NodeLayout.LEAF_ENTRY_HEADER_BYTES + Bytes.getUnsignedShort(heap, offset);
        return Arrays.copyOfRange(heap, start, start
                + Bytes.getUnsignedShort(heap, offset + NodeLayout.LEAF_ENTRY_VALUE_LENGTH_OFFSET));
    }

    private int childRefOffset(int index) {
        return slots[index] + NodeLayout.BRANCH_ENTRY_HEADER_BYTES + keyLength(index);
    }

    BlockRef childRef(int index) {
        return BlockRef.decode(heap, childRefOffset(index));
    }

    void setChildRef(int index, BlockRef ref) {
        ref.encode(heap, childRefOffset(index));
    }

    int searchLeaf(byte[] key) {
        int low = 0;
        int high = count - 1;
        while (low <= high) {
            int mid = (low + high) >>> 1;
            int c = compareKey(mid, key);
            if (c < 0) {
                low = mid + 1;
            } else if (c > 0) {
                high = mid - 1;
            } else {
                return mid;
            }
        }
        return -(low + 1);
    }

    int searchBranch(byte[] key) {
        int low = 1;
        int high = count - 1;
        while (low <= high) {
            int mid = (low + high) >>> 1;
            if (compareKey(mid, key) <= 0) {
                low = mid + 1;
            } else {
                high = mid - 1;
            }
        }
        return low - 1;
    }

    // ------------------------------------------------------------------ changing entries

    private int append(int size) {
        if (heapEnd + size > heap.length) {
            if (liveBytes + size <= heap.length / 2) {
                compact();
            } else {
                heap = Arrays.copyOf(heap, Math.max(heap.length * 2, heapEnd + size));
            }
        }
        int offset = heapEnd;
        heapEnd += size;
        liveBytes += size;
        return offset;
    }

    private void compact() {
        byte[] fresh = new byte[heap.length];
        int end = 0;
        for (int i = 0; i < count; i++) {
            int size = rawSize(slots[i]);
            System.arraycopy(heap, slots[i], fresh, end, size);
            slots[i] = end;
            end += size;
        }
        heap = fresh;
        heapEnd = end;
    }

    private void openSlot(int index) {
        if (count == slots.length) {
            slots = Arrays.copyOf(slots, slots.length * 2);
            if (children != null) {
                children = Arrays.copyOf(children, slots.length);
            }
        }
        System.arraycopy(slots, index, slots, index + 1, count - index);
        if (children != null) {
            System.arraycopy(children, index, children, index + 1, count - index);
        }
        count++;
    }

    void insertLeafEntry(int index, byte[] key, byte[] value, byte entryFlags) {
        int offset = append(NodeLayout.LEAF_ENTRY_HEADER_BYTES + key.length + value.length);
        writeLeafEntry(offset, key, value, entryFlags);
        openSlot(index);
        slots[index] = offset;
    }

    private void writeLeafEntry(int offset, byte[] key, byte[] value, byte entryFlags) {
        Bytes.putShort(heap, offset, key.length);
        Bytes.putShort(heap, offset + NodeLayout.LEAF_ENTRY_VALUE_LENGTH_OFFSET, value.length);
        heap[offset + NodeLayout.LEAF_ENTRY_FLAGS_OFFSET] = entryFlags;
        System.arraycopy(key, 0, heap, offset + NodeLayout.LEAF_ENTRY_HEADER_BYTES, key.length);
        System.arraycopy(value, 0, heap, offset + NodeLayout.LEAF_ENTRY_HEADER_BYTES + key.length, value.length);
    }

    void replaceLeafValue(int index, byte[] value, byte entryFlags) {
        byte[] key = key(index);
        liveBytes -= rawSize(slots[index]);
        int offset = append(NodeLayout.LEAF_ENTRY_HEADER_BYTES + key.length + value.length);
        writeLeafEntry(offset, key, value, entryFlags);
        slots[index] = offset;
    }

    void insertBranchEntry(int index, byte[] key, BlockRef ref, DirtyNode child) {
        int offset = append(NodeLayout.BRANCH_ENTRY_HEADER_BYTES + key.length + BlockRefLayout.BYTES);
        Bytes.putShort(heap, offset, key.length);
        System.arraycopy(key, 0, heap, offset + NodeLayout.BRANCH_ENTRY_HEADER_BYTES, key.length);
        openSlot(index);
        slots[index] = offset;
        children[index] = child;
        setChildRef(index, ref != null ? ref : PLACEHOLDER);
    }

    private static final BlockRef PLACEHOLDER = new BlockRef(0, 0, 0, 0);

    void setBranchKey(int index, byte[] key) {
        BlockRef ref = childRef(index);
        DirtyNode child = children[index];
        remove(index);
        insertBranchEntry(index, key, ref, child);
    }

    void remove(int index) {
        liveBytes -= rawSize(slots[index]);
        System.arraycopy(slots, index + 1, slots, index, count - index - 1);
        if (children != null) {
            System.arraycopy(children, index + 1, children, index, count - index - 1);
            children[count - 1] = null;
        }
        count--;
    }

    /** Copies entry {@code index} of this node into {@code target} at {@code targetIndex}. */
    private void copyEntryTo(int index, DirtyNode target, int targetIndex) {
        int size = rawSize(slots[index]);
        int offset = target.append(size);
        System.arraycopy(heap, slots[index], target.heap, offset, size);
        target.openSlot(targetIndex);
        target.slots[targetIndex] = offset;
        if (children != null) {
            target.children[targetIndex] = children[index];
        }
    }

    /** Moves entries [from, count) to the end of {@code target}, which must be of the same level. */
    void moveTailTo(int from, DirtyNode target) {
        for (int i = from; i < count; i++) {
            copyEntryTo(i, target, target.count);
        }
        while (count > from) {
            remove(count - 1);
        }
    }

    /** Moves entries [from, count) to the start of {@code target}, keeping their order. */
    void moveTailToFrontOf(int from, DirtyNode target) {
        for (int i = count - 1; i >= from; i--) {
            copyEntryTo(i, target, 0);
            remove(i);
        }
    }

    /** Moves entries [0, upTo) to the end of {@code target}, keeping their order. */
    void moveHeadTo(int upTo, DirtyNode target) {
        for (int i = 0; i < upTo; i++) {
            copyEntryTo(i, target, target.count);
        }
        for (int i = 0; i < upTo; i++) {
            remove(0);
        }
    }

    /** Writes the entries in block layout into {@code block} after the header; returns nothing else. */
    void encodeEntries(byte[] block) {
        int end = block.length;
        for (int i = 0; i < count; i++) {
            int size = rawSize(slots[i]);
            end -= size;
            System.arraycopy(heap, slots[i], block, end, size);
            Bytes.putShort(block, NodeLayout.HEADER_BYTES + i * NodeLayout.SLOT_BYTES, end);
        }
    }
}
