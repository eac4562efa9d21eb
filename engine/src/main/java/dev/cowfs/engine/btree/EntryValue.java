package dev.cowfs.engine.btree;

import dev.cowfs.engine.format.BlockRef;
import dev.cowfs.engine.format.BlockRefLayout;
import dev.cowfs.engine.format.Bytes;
import dev.cowfs.engine.format.NodeLayout;

/**
 * The kinds of value a leaf entry stores, decoded from its flags ({@link NodeLayout}) in this one place: where each
 * kind keeps the block reference it holds and how many bytes that block holds. {@link NodeValidator} guarantees a
 * verified node's entries have at most one known flag and a value long enough for their kind.
 */
public enum EntryValue {
    /** The value bytes themselves. */
    INLINE((byte) 0, -1, -1),
    /** A descriptor: the value's length (u32), then a block reference to the raw extent holding it. */
    OUT_OF_LINE(NodeLayout.FLAG_OUT_OF_LINE, NodeLayout.OUT_OF_LINE_REF_OFFSET, NodeLayout.OUT_OF_LINE_LENGTH_OFFSET),
    /** A block reference to the root of another tree: a user tree in the catalog, a nested tree elsewhere. */
    SUBTREE_ROOT(NodeLayout.FLAG_SUBTREE_ROOT, 0, -1),
    /**
     * A block reference to a reference-counted data extent, the bytes stored in it (u32), then bytes the tree's
     * owner defines.
     */
    DATA_EXTENT(NodeLayout.FLAG_DATA_EXTENT, NodeLayout.DATA_EXTENT_REF_OFFSET,
            NodeLayout.DATA_EXTENT_STORED_BYTES_OFFSET);

    private final byte flag;
    private final int refOffset;
    private final int lengthOffset;

    EntryValue(byte flag, int refOffset, int lengthOffset) {
        this.flag = flag;
        this.refOffset = refOffset;
        this.lengthOffset = lengthOffset;
    }

    /** The kind an entry's flags byte names. */
    public static EntryValue of(byte flags) {
        return switch (flags) {
            case 0 -> INLINE;
            case NodeLayout.FLAG_OUT_OF_LINE -> OUT_OF_LINE;
            case NodeLayout.FLAG_SUBTREE_ROOT -> SUBTREE_ROOT;
            case NodeLayout.FLAG_DATA_EXTENT -> DATA_EXTENT;
            default -> throw new IllegalArgumentException("leaf entry flags " + flags + " name no value kind");
        };
    }

    /** The flags byte an entry of this kind carries. */
    public byte flag() {
        return flag;
    }

    /** Whether the value holds a block reference (every kind but {@link #INLINE}). */
    public boolean holdsReference() {
        return refOffset >= 0;
    }

    /** Where in the stored value its block reference lies, or -1 for {@link #INLINE}. */
    public int refOffset() {
        return refOffset;
    }

    /** The block reference a stored value of this kind holds, or null for {@link #INLINE}. */
    public BlockRef target(byte[] stored) {
        return target(stored, 0);
    }

    /** The block reference of the stored value that starts at {@code valueOffset} in {@code bytes}, or null. */
    public BlockRef target(byte[] bytes, int valueOffset) {
        return refOffset < 0 ? null : BlockRef.decode(bytes, valueOffset + refOffset);
    }

    /** Whether the referenced block is a raw extent (its bytes checked as a whole), not a node. */
    public boolean referencesExtent() {
        return lengthOffset >= 0;
    }

    /**
     * The bytes the referenced extent holds (an out-of-line value's length, a data extent's stored bytes), for a
     * stored value starting at {@code valueOffset}; only for kinds that {@link #referencesExtent}.
     */
    public int extentBytes(byte[] bytes, int valueOffset) {
        if (lengthOffset < 0) {
            throw new IllegalStateException(this + " references no extent");
        }
        return Bytes.getInt(bytes, valueOffset + lengthOffset);
    }

    /** The shortest stored value of this kind a verified node may hold (exactly this long but for data extents). */
    int minimumBytes() {
        return switch (this) {
            case INLINE -> 0;
            case OUT_OF_LINE -> NodeLayout.OUT_OF_LINE_DESCRIPTOR_BYTES;
            case SUBTREE_ROOT -> BlockRefLayout.BYTES;
            case DATA_EXTENT -> NodeLayout.DATA_EXTENT_HEADER_BYTES;
        };
    }
}
