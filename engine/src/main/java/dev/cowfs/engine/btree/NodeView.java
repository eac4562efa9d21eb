package dev.cowfs.engine.btree;

import dev.cowfs.engine.device.RawMemory;
import dev.cowfs.engine.format.BlockRefLayout;
import dev.cowfs.engine.format.NodeLayout;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * A read-only flyweight over a verified node block, reading the mapped bytes in place. Only
 * {@link NodeReader} positions one, after the block passed its checksum and structure checks, so the offsets
 * read here are trusted. Reusable: one instance per cursor level, no object per entry.
 */
public final class NodeView {
    private static final VarHandle LONG_BIG_ENDIAN =
            MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);

    final dev.cowfs.engine.device.BlockWindow window = new dev.cowfs.engine.device.BlockWindow();
    /** The block's bytes are at (memory, base + i): see {@link RawMemory}. */
    Object memory;
    long base;
    int count;
    int level;
    long blockIndex;

    void position(Object memory, long base, long blockIndex) {
        this.memory = memory;
        this.base = base;
        this.blockIndex = blockIndex;
        this.count = RawMemory.getUnsignedShort(memory, base + NodeLayout.ENTRY_COUNT_OFFSET);
        this.level = RawMemory.getUnsignedByte(memory, base + NodeLayout.LEVEL_OFFSET);
    }

    public int count() {
        return count;
    }

    public int level() {
        return level;
    }

    public boolean isLeaf() {
        return level == 0;
    }

    public long blockIndex() {
        return blockIndex;
    }

    public long birthGeneration() {
        return RawMemory.getLong(memory, base + NodeLayout.BIRTH_OFFSET);
    }

    public long treeId() {
        return RawMemory.getLong(memory, base + NodeLayout.TREE_ID_OFFSET);
    }

    int entryOffset(int index) {
        return RawMemory.getUnsignedShort(memory, base + NodeLayout.HEADER_BYTES + (long) index * NodeLayout.SLOT_BYTES);
    }

    public int keyLength(int index) {
        return RawMemory.getUnsignedShort(memory, base + entryOffset(index));
    }

    private long keyAddress(int index, int entryOffset) {
        return base + entryOffset + (level == 0 ? NodeLayout.LEAF_ENTRY_HEADER_BYTES
                : NodeLayout.BRANCH_ENTRY_HEADER_BYTES);
    }

    public byte[] key(int index) {
        int offset = entryOffset(index);
        byte[] key = new byte[RawMemory.getUnsignedShort(memory, base + offset)];
        RawMemory.copyToArray(memory, keyAddress(index, offset), key, 0, key.length);
        return key;
    }

    /** Unsigned lexicographic comparison of key(index) with {@code key}. */
    public int compareKey(int index, byte[] key) {
        int offset = entryOffset(index);
        int length = RawMemory.getUnsignedShort(memory, base + offset);
        long address = keyAddress(index, offset);
        int common = Math.min(length, key.length);
        int i = 0;
        for (; i + 8 <= common; i += 8) {
            long mine = Long.reverseBytes(RawMemory.getLong(memory, address + i));
            long theirs = (long) LONG_BIG_ENDIAN.get(key, i);
            if (mine != theirs) {
                return Long.compareUnsigned(mine, theirs);
            }
        }
        for (; i < common; i++) {
            int mine = RawMemory.getUnsignedByte(memory, address + i);
            int theirs = key[i] & 0xFF;
            if (mine != theirs) {
                return mine - theirs;
            }
        }
        return length - key.length;
    }

    /** Leaf: index of the key, or -(insertion point) - 1. */
    public int searchLeaf(byte[] key) {
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

    /** Branch: the child whose range holds {@code key}: the last entry whose key is &lt;= key (entry 0 is -inf). */
    public int searchBranch(byte[] key) {
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

    // ---- leaf entries

    public int valueLength(int index) {
        return RawMemory.getUnsignedShort(memory, base + entryOffset(index) + NodeLayout.LEAF_ENTRY_VALUE_LENGTH_OFFSET);
    }

    public byte flags(int index) {
        return RawMemory.getByte(memory, base + entryOffset(index) + NodeLayout.LEAF_ENTRY_FLAGS_OFFSET);
    }

    /** The value bytes as stored in the node (for out-of-line values, the descriptor). */
    public byte[] storedValue(int index) {
        int offset = entryOffset(index);
        int keyLength = RawMemory.getUnsignedShort(memory, base + offset);
        int valueLength = RawMemory.getUnsignedShort(memory, base + offset + NodeLayout.LEAF_ENTRY_VALUE_LENGTH_OFFSET);
        byte[] value = new byte[valueLength];
        RawMemory.copyToArray(memory, base + offset + NodeLayout.LEAF_ENTRY_HEADER_BYTES + keyLength, value, 0,
                valueLength);
        return value;
    }

    long storedValueAddress(int index) {
        int offset = entryOffset(index);
        return base + offset + NodeLayout.LEAF_ENTRY_HEADER_BYTES + RawMemory.getUnsignedShort(memory, base + offset);
    }

    // ---- branch entries

    private long childRefAddress(int index) {
        int offset = entryOffset(index);
        return base + offset + NodeLayout.BRANCH_ENTRY_HEADER_BYTES + RawMemory.getUnsignedShort(memory, base + offset);
    }

    public long childBlockIndex(int index) {
        return RawMemory.getLong(memory, childRefAddress(index) + BlockRefLayout.BLOCK_INDEX_OFFSET);
    }

    public long childBirth(int index) {
        return RawMemory.getLong(memory, childRefAddress(index) + BlockRefLayout.BIRTH_OFFSET);
    }

    public int childChecksum(int index) {
        return RawMemory.getInt(memory, childRefAddress(index) + BlockRefLayout.CHECKSUM_OFFSET);
    }

    public dev.cowfs.engine.format.BlockRef childRef(int index) {
        long address = childRefAddress(index);
        return new dev.cowfs.engine.format.BlockRef(RawMemory.getLong(memory, address + BlockRefLayout.BLOCK_INDEX_OFFSET),
                RawMemory.getLong(memory, address + BlockRefLayout.BIRTH_OFFSET),
                RawMemory.getInt(memory, address + BlockRefLayout.CHECKSUM_OFFSET),
                RawMemory.getInt(memory, address + BlockRefLayout.BLOCK_COUNT_OFFSET));
    }
}
