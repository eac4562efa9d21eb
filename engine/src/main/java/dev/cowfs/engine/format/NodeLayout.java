package dev.cowfs.engine.format;

/**
 * A B+tree node block: header, then a slot array of 2-byte entry offsets sorted by key, then free space,
 * then the entries themselves packed towards the end of the block. All integers little-endian.
 *
 * <p>Leaf entry: key length (u16), value length (u16), flags (u8), key bytes, value bytes. With
 * {@link #FLAG_OUT_OF_LINE} the value bytes are an out-of-line descriptor: total value length (u32) then a
 * block reference to the raw extent holding it. With {@link #FLAG_SUBTREE_ROOT} the value is a block
 * reference to the root of another tree (the catalog uses it). With {@link #FLAG_DATA_EXTENT} the value starts
 * with a block reference to a data extent (raw blocks owned through reference counts: see
 * {@link TreeIds#REFS}) and the number of bytes stored in it (u32; the CRC32C covers exactly these, the rest
 * of the last block is zero), followed by bytes the owner of the tree defines (a file's extent descriptor).
 *
 * <p>Branch entry: key length (u16), key bytes, block reference of the child. Entry 0 has an empty key:
 * child i holds keys k with key(i) &lt;= k &lt; key(i+1).
 */
public final class NodeLayout {
    public static final int CHECKSUM_OFFSET = 0;
    public static final int CHECKSUM_SIZE = 4;
    public static final int MAGIC_OFFSET = CHECKSUM_OFFSET + CHECKSUM_SIZE;
    public static final int MAGIC_SIZE = 2;
    public static final int KIND_OFFSET = MAGIC_OFFSET + MAGIC_SIZE;
    public static final int KIND_SIZE = 1;
    public static final int LEVEL_OFFSET = KIND_OFFSET + KIND_SIZE;
    public static final int LEVEL_SIZE = 1;
    public static final int BLOCK_INDEX_OFFSET = LEVEL_OFFSET + LEVEL_SIZE;
    public static final int BLOCK_INDEX_SIZE = 8;
    public static final int BIRTH_OFFSET = BLOCK_INDEX_OFFSET + BLOCK_INDEX_SIZE;
    public static final int BIRTH_SIZE = 8;
    public static final int TREE_ID_OFFSET = BIRTH_OFFSET + BIRTH_SIZE;
    public static final int TREE_ID_SIZE = 8;
    public static final int ENTRY_COUNT_OFFSET = TREE_ID_OFFSET + TREE_ID_SIZE;
    public static final int ENTRY_COUNT_SIZE = 2;
    public static final int RESERVED_OFFSET = ENTRY_COUNT_OFFSET + ENTRY_COUNT_SIZE;
    public static final int RESERVED_SIZE = 6;
    public static final int HEADER_BYTES = RESERVED_OFFSET + RESERVED_SIZE;
    public static final int SLOT_BYTES = 2;

    /** "Cn" little-endian: the first bytes after the checksum of every node block. */
    public static final short MAGIC = (short) 0x6E43;
    public static final byte KIND_LEAF = 1;
    public static final byte KIND_BRANCH = 2;

    public static final int LEAF_ENTRY_KEY_LENGTH_OFFSET = 0;
    public static final int LEAF_ENTRY_VALUE_LENGTH_OFFSET = 2;
    public static final int LEAF_ENTRY_FLAGS_OFFSET = 4;
    public static final int LEAF_ENTRY_HEADER_BYTES = 5;

    public static final int BRANCH_ENTRY_KEY_LENGTH_OFFSET = 0;
    public static final int BRANCH_ENTRY_HEADER_BYTES = 2;

    public static final byte FLAG_OUT_OF_LINE = 0x01;
    public static final byte FLAG_SUBTREE_ROOT = 0x02;
    public static final byte FLAG_DATA_EXTENT = 0x04;
    public static final byte KNOWN_FLAGS = FLAG_OUT_OF_LINE | FLAG_SUBTREE_ROOT | FLAG_DATA_EXTENT;

    /** Data extent entry value: extent reference, stored bytes (u32), then owner-defined bytes. */
    public static final int DATA_EXTENT_REF_OFFSET = 0;
    public static final int DATA_EXTENT_STORED_BYTES_OFFSET = DATA_EXTENT_REF_OFFSET + BlockRefLayout.BYTES;
    public static final int DATA_EXTENT_HEADER_BYTES = DATA_EXTENT_STORED_BYTES_OFFSET + 4;

    /** Out-of-line descriptor: value length (u32) then the extent reference. */
    public static final int OUT_OF_LINE_LENGTH_OFFSET = 0;
    public static final int OUT_OF_LINE_REF_OFFSET = 4;
    public static final int OUT_OF_LINE_DESCRIPTOR_BYTES = OUT_OF_LINE_REF_OFFSET + BlockRefLayout.BYTES;

    private NodeLayout() {
    }

    public static int leafEntryBytes(int keyLength, int valueLength) {
        return SLOT_BYTES + LEAF_ENTRY_HEADER_BYTES + keyLength + valueLength;
    }

    public static int branchEntryBytes(int keyLength) {
        return SLOT_BYTES + BRANCH_ENTRY_HEADER_BYTES + keyLength + BlockRefLayout.BYTES;
    }

    public static int payloadBytes(int blockSizeBytes) {
        return blockSizeBytes - HEADER_BYTES;
    }
}
