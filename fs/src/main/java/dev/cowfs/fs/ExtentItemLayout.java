package dev.cowfs.fs;

import dev.cowfs.engine.format.BlockRefLayout;
import dev.cowfs.engine.format.NodeLayout;

/**
 * An extent item: the value of key (ino, EXTENT, file offset), stored as an engine data extent entry (its first
 * fields are the engine's data-extent header, {@link NodeLayout#DATA_EXTENT_REF_OFFSET}). Little-endian;
 * docs/FORMAT.md.
 */
final class ExtentItemLayout {
    static final int EXTENT_REF_OFFSET = NodeLayout.DATA_EXTENT_REF_OFFSET;
    static final int EXTENT_REF_SIZE = BlockRefLayout.BYTES;
    static final int STORED_BYTES_OFFSET = NodeLayout.DATA_EXTENT_STORED_BYTES_OFFSET;
    static final int STORED_BYTES_SIZE = 4;
    static final int LOGICAL_BYTES_OFFSET = STORED_BYTES_OFFSET + STORED_BYTES_SIZE;
    static final int LOGICAL_BYTES_SIZE = 4;
    static final int FROM_OFFSET = LOGICAL_BYTES_OFFSET + LOGICAL_BYTES_SIZE;
    static final int FROM_SIZE = 4;
    static final int LENGTH_OFFSET = FROM_OFFSET + FROM_SIZE;
    static final int LENGTH_SIZE = 4;
    static final int COMPRESSION_OFFSET = LENGTH_OFFSET + LENGTH_SIZE;
    static final int COMPRESSION_SIZE = 1;
    static final int PAD_OFFSET = COMPRESSION_OFFSET + COMPRESSION_SIZE;
    static final int PAD_SIZE = 3;
    static final int BYTES = PAD_OFFSET + PAD_SIZE;

    static final byte COMPRESSION_NONE = 0;
    static final byte COMPRESSION_LZ4 = 1;

    private ExtentItemLayout() {
    }
}
