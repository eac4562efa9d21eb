package dev.cowfs.engine.btree;

import dev.cowfs.engine.format.BlockRef;
import dev.cowfs.engine.format.BlockRefLayout;
import dev.cowfs.engine.format.Bytes;
import dev.cowfs.engine.format.NodeLayout;

import java.util.Arrays;

/**
 * A node of the open transaction: a mutable copy that already owns the block it will be written to.
 *
 * <p>Entries are kept in their on-disk encoding, appended to one buffer of native memory (the heap, from the
 * transaction's {@link NodeMemory}, so that hundreds of megabytes of dirty nodes cost the garbage collector
 * nothing) and addressed through an int slot array in key order. Copying a committed block in is one copy of
 * its packed entry area; searching reads contiguous memory. Removing or replacing an entry leaves garbage in
 * the heap, reclaimed by compaction when the heap fills. Branches also hold the dirty child of each entry, if
 * any; the child reference stored in a dirty child's entry is stale until the child is written.
 *
 * <p>A node's memory is freed when it is written or discarded ({@link #release}); a released node must not be
 * touched again. Cursors never keep one across a change: they re-seek when the tree's change count moves.
 */
final class DirtyNode {
    private static final java.lang.invoke.VarHandle LONG_BIG_ENDIAN =
            java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.BIG_ENDIAN);

    final int level;
    long blockIndex;
    int count;
    private final NodeMemory memory;
    private int[] slots;
    /**
     * The first eight key bytes of each slot as an unsigned big-endian long (zero-padded): a search decides by
     * these alone unless they tie, so it touches one small array instead of an entry per probe.
     */
    private long[] prefixes;
    /** Native address of the heap; 0 once released. */
    private long heap;
    private int capacity;
    /** Entries from here on are free space; bytes before it may be garbage. */
    private int heapEnd;
    /** Bytes of live entries in the heap (slots excluded). */
    private int liveBytes;
    DirtyNode[] children;

    DirtyNode(int level, long blockIndex, int heapCapacity, NodeMemory memory) {
        this.level = level;
        this.blockIndex = blockIndex;
        this.memory = memory;
        this.slots = new int[16];
        this.prefixes = new long[16];
        this.capacity = Math.max(256, heapCapacity);
        this.heap = memory.allocate(capacity);
        if (level > 0) {
            children = new DirtyNode[16];
        }
    }

    /**
     * A dirty copy of a verified node block. Written blocks keep their entries packed at the block's end, so the
     * copy is that one area; the slots are rebased onto it.
     */
    static DirtyNode copyOf(NodeView view, long blockIndex, int blockSizeBytes, int heapCapacity,
            NodeMemory memory) {
        int count = view.count();
        int first = blockSizeBytes;
        for (int i = 0; i < count; i++) {
            first = Math.min(first, view.entryOffset(i));
        }
        int area = blockSizeBytes - first;
        DirtyNode node = new DirtyNode(view.level(), blockIndex, Math.max(heapCapacity, area), memory);
        NodeMemory.copyFrom(view.memory, view.base + first, node.heap, area);
        node.heapEnd = area;
        if (count > node.slots.length) {
            node.slots = new int[count + 8];
            node.prefixes = new long[node.slots.length];
            if (node.level > 0) {
                node.children = new DirtyNode[node.slots.length];
            }
        }
        for (int i = 0; i < count; i++) {
            node.slots[i] = view.entryOffset(i) - first;
            node.prefixes[i] = node.prefixAt(node.slots[i]);
            node.liveBytes += node.rawSize(node.slots[i]);
        }
        node.count = count;
        return node;
    }

    /** Frees the node's memory; the node must not be used afterwards. */
    void release() {
        if (heap != 0) {
            memory.free(heap);
            heap = 0;
        }
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
        int keyLength = NodeMemory.getUnsignedShort(heap + offset);
        return isLeaf() ? NodeLayout.LEAF_ENTRY_HEADER_BYTES + keyLength
                + NodeMemory.getUnsignedShort(heap + offset + NodeLayout.LEAF_ENTRY_VALUE_LENGTH_OFFSET)
                : NodeLayout.BRANCH_ENTRY_HEADER_BYTES + keyLength + BlockRefLayout.BYTES;
    }

    /** Bytes the entry and its slot take in a block. */
    int entrySize(int index) {
        return rawSize(slots[index]) + NodeLayout.SLOT_BYTES;
    }

    // ------------------------------------------------------------------ reading entries

    int keyLength(int index) {
        return NodeMemory.getUnsignedShort(heap + slots[index]);
    }

    byte[] key(int index) {
        byte[] key = new byte[keyLength(index)];
        NodeMemory.copyToArray(heap + slots[index] + headerBytes(), key, 0, key.length);
        return key;
    }

    /** Unsigned lexicographic comparison of key(index) with {@code key}. */
    int compareKey(int index, byte[] key) {
        int offset = slots[index];
        int length = NodeMemory.getUnsignedShort(heap + offset);
        long address = heap + offset + headerBytes();
        int common = Math.min(length, key.length);
        int i = 0;
        for (; i + 8 <= common; i += 8) {
            long mine = Long.reverseBytes(NodeMemory.getLong(address + i));
            long theirs = (long) LONG_BIG_ENDIAN.get(key, i);
            if (mine != theirs) {
                return Long.compareUnsigned(mine, theirs);
            }
        }
        for (; i < common; i++) {
            int mine = NodeMemory.getByte(address + i) & 0xFF;
            int theirs = key[i] & 0xFF;
            if (mine != theirs) {
                return mine - theirs;
            }
        }
        return length - key.length;
    }

    /** The search prefix of {@code key}: its first eight bytes, big-endian, zero-padded. */
    static long prefixOf(byte[] key) {
        if (key.length >= 8) {
            return (long) LONG_BIG_ENDIAN.get(key, 0);
        }
        long prefix = 0;
        for (int i = 0; i < 8; i++) {
            prefix = (prefix << 8) | (i < key.length ? key[i] & 0xFF : 0);
        }
        return prefix;
    }

    private long prefixAt(int offset) {
        int length = NodeMemory.getUnsignedShort(heap + offset);
        long address = heap + offset + headerBytes();
        if (length >= 8) {
            return Long.reverseBytes(NodeMemory.getLong(address));
        }
        long prefix = 0;
        for (int i = 0; i < 8; i++) {
            prefix = (prefix << 8) | (i < length ? NodeMemory.getByte(address + i) & 0xFF : 0);
        }
        return prefix;
    }

    byte flags(int index) {
        return NodeMemory.getByte(heap + slots[index] + NodeLayout.LEAF_ENTRY_FLAGS_OFFSET);
    }

    byte[] storedValue(int index) {
        long entry = heap + slots[index];
        byte[] value = new byte[NodeMemory.getUnsignedShort(entry + NodeLayout.LEAF_ENTRY_VALUE_LENGTH_OFFSET)];
        NodeMemory.copyToArray(entry + NodeLayout.LEAF_ENTRY_HEADER_BYTES + NodeMemory.getUnsignedShort(entry),
                value, 0, value.length);
        return value;
    }

    private long childRefAddress(int index) {
        return heap + slots[index] + NodeLayout.BRANCH_ENTRY_HEADER_BYTES + keyLength(index);
    }

    BlockRef childRef(int index) {
        long at = childRefAddress(index);
        return new BlockRef(NodeMemory.getLong(at + BlockRefLayout.BLOCK_INDEX_OFFSET),
                NodeMemory.getLong(at + BlockRefLayout.BIRTH_OFFSET),
                NodeMemory.getInt(at + BlockRefLayout.CHECKSUM_OFFSET),
                NodeMemory.getInt(at + BlockRefLayout.BLOCK_COUNT_OFFSET));
    }

    void setChildRef(int index, BlockRef ref) {
        long at = childRefAddress(index);
        NodeMemory.putLong(at + BlockRefLayout.BLOCK_INDEX_OFFSET, ref.blockIndex());
        NodeMemory.putLong(at + BlockRefLayout.BIRTH_OFFSET, ref.birthGeneration());
        NodeMemory.putInt(at + BlockRefLayout.CHECKSUM_OFFSET, ref.checksum());
        NodeMemory.putInt(at + BlockRefLayout.BLOCK_COUNT_OFFSET, ref.blockCount());
    }

    int searchLeaf(byte[] key) {
        return searchLeaf(key, prefixOf(key));
    }

    /** Leaf: index of the key, or -(insertion point) - 1; {@code prefix} is {@link #prefixOf}(key). */
    int searchLeaf(byte[] key, long prefix) {
        int low = 0;
        int high = count - 1;
        while (low <= high) {
            int mid = (low + high) >>> 1;
            long mine = prefixes[mid];
            int c = mine != prefix ? Long.compareUnsigned(mine, prefix) : compareKey(mid, key);
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
        return searchBranch(key, prefixOf(key));
    }

    /** Branch: the child whose range holds the key; {@code prefix} is {@link #prefixOf}(key). */
    int searchBranch(byte[] key, long prefix) {
        int low = 1;
        int high = count - 1;
        while (low <= high) {
            int mid = (low + high) >>> 1;
            long mine = prefixes[mid];
            int c = mine != prefix ? Long.compareUnsigned(mine, prefix) : compareKey(mid, key);
            if (c <= 0) {
                low = mid + 1;
            } else {
                high = mid - 1;
            }
        }
        return low - 1;
    }

    // ------------------------------------------------------------------ changing entries

    private int append(int size) {
        if (heapEnd + size > capacity) {
            int garbage = heapEnd - liveBytes;
            // Compact when that reclaims a fair share (amortized cost per appended byte stays bounded), else grow.
            relocate(liveBytes + size <= capacity && garbage >= capacity / 8 ? capacity
                    : Math.max(capacity * 2, liveBytes + size));
        }
        int offset = heapEnd;
        heapEnd += size;
        liveBytes += size;
        return offset;
    }

    /** Moves the live entries, packed in slot order, to a new heap of {@code newCapacity} bytes. */
    private void relocate(int newCapacity) {
        long fresh = memory.allocate(newCapacity);
        int end = 0;
        for (int i = 0; i < count; i++) {
            int size = rawSize(slots[i]);
            NodeMemory.copy(heap + slots[i], fresh + end, size);
            slots[i] = end;
            end += size;
        }
        memory.free(heap);
        heap = fresh;
        capacity = newCapacity;
        heapEnd = end;
    }

    private void openSlot(int index) {
        if (count == slots.length) {
            slots = Arrays.copyOf(slots, slots.length * 2);
            prefixes = Arrays.copyOf(prefixes, slots.length);
            if (children != null) {
                children = Arrays.copyOf(children, slots.length);
            }
        }
        System.arraycopy(slots, index, slots, index + 1, count - index);
        System.arraycopy(prefixes, index, prefixes, index + 1, count - index);
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
        prefixes[index] = prefixOf(key);
    }

    private void writeLeafEntry(int offset, byte[] key, byte[] value, byte entryFlags) {
        long entry = heap + offset;
        NodeMemory.putShort(entry, key.length);
        NodeMemory.putShort(entry + NodeLayout.LEAF_ENTRY_VALUE_LENGTH_OFFSET, value.length);
        NodeMemory.putByte(entry + NodeLayout.LEAF_ENTRY_FLAGS_OFFSET, entryFlags);
        NodeMemory.copyFromArray(key, 0, entry + NodeLayout.LEAF_ENTRY_HEADER_BYTES, key.length);
        NodeMemory.copyFromArray(value, 0, entry + NodeLayout.LEAF_ENTRY_HEADER_BYTES + key.length, value.length);
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
        NodeMemory.putShort(heap + offset, key.length);
        NodeMemory.copyFromArray(key, 0, heap + offset + NodeLayout.BRANCH_ENTRY_HEADER_BYTES, key.length);
        openSlot(index);
        slots[index] = offset;
        prefixes[index] = prefixOf(key);
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
        System.arraycopy(prefixes, index + 1, prefixes, index, count - index - 1);
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
        NodeMemory.copy(heap + slots[index], target.heap + offset, size);
        target.openSlot(targetIndex);
        target.slots[targetIndex] = offset;
        target.prefixes[targetIndex] = prefixes[index];
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
            NodeMemory.copyToArray(heap + slots[i], block, end, size);
            Bytes.putShort(block, NodeLayout.HEADER_BYTES + i * NodeLayout.SLOT_BYTES, end);
        }
    }
}
