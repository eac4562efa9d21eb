package dev.cowfs.engine.btree;

import dev.cowfs.engine.error.CorruptionException;
import dev.cowfs.engine.format.BlockRefLayout;
import dev.cowfs.engine.format.Bytes;
import dev.cowfs.engine.format.Limits;
import dev.cowfs.engine.format.NodeLayout;

import java.util.Arrays;

/**
 * The structural check of a node block (btrfs calls it the tree-checker): run on a block's bytes before they are
 * written and after they are first read. Every offset and length is bounds-checked here, so that readers may
 * trust them afterwards.
 */
public final class NodeValidator {
    private NodeValidator() {
    }

    public static void validate(byte[] block, int blockSizeBytes, long blockIndex) throws CorruptionException {
        if ((short) Bytes.getUnsignedShort(block, NodeLayout.MAGIC_OFFSET) != NodeLayout.MAGIC) {
            throw new CorruptionException(blockIndex, "not a node block (bad magic)");
        }
        byte kind = block[NodeLayout.KIND_OFFSET];
        int level = block[NodeLayout.LEVEL_OFFSET] & 0xFF;
        boolean leaf = kind == NodeLayout.KIND_LEAF;
        if ((!leaf && kind != NodeLayout.KIND_BRANCH) || (leaf != (level == 0)) || level >= Limits.MAX_TREE_HEIGHT) {
            throw new CorruptionException(blockIndex, "node kind " + kind + " does not fit level " + level);
        }
        for (int i = NodeLayout.RESERVED_OFFSET; i < NodeLayout.RESERVED_OFFSET + NodeLayout.RESERVED_SIZE; i++) {
            if (block[i] != 0) {
                throw new CorruptionException(blockIndex, "reserved header bytes are not zero");
            }
        }
        int count = Bytes.getUnsignedShort(block, NodeLayout.ENTRY_COUNT_OFFSET);
        int slotsEnd = NodeLayout.HEADER_BYTES + count * NodeLayout.SLOT_BYTES;
        if (slotsEnd > blockSizeBytes || (!leaf && count < 1)) {
            throw new CorruptionException(blockIndex, "entry count " + count + " impossible for this node");
        }
        byte[] previousKey = null;
        for (int i = 0; i < count; i++) {
            int offset = Bytes.getUnsignedShort(block, NodeLayout.HEADER_BYTES + i * NodeLayout.SLOT_BYTES);
            int headerBytes = leaf ? NodeLayout.LEAF_ENTRY_HEADER_BYTES : NodeLayout.BRANCH_ENTRY_HEADER_BYTES;
            if (offset < slotsEnd || offset + headerBytes > blockSizeBytes) {
                throw new CorruptionException(blockIndex, "entry " + i + " offset " + offset + " out of bounds");
            }
            int keyLength = Bytes.getUnsignedShort(block, offset);
            int tailBytes = leaf ? Bytes.getUnsignedShort(block, offset + NodeLayout.LEAF_ENTRY_VALUE_LENGTH_OFFSET)
                    : BlockRefLayout.BYTES;
            if (keyLength > Limits.MAX_KEY_BYTES || offset + headerBytes + keyLength + tailBytes > blockSizeBytes) {
                throw new CorruptionException(blockIndex, "entry " + i + " (key " + keyLength + " bytes, value "
                        + tailBytes + " bytes) overruns the block");
            }
            if (leaf) {
                checkLeafFlags(block[offset + NodeLayout.LEAF_ENTRY_FLAGS_OFFSET], tailBytes, blockIndex, i);
            } else if (i == 0 && keyLength != 0) {
                throw new CorruptionException(blockIndex, "first branch entry must have an empty key");
            }
            byte[] key = Arrays.copyOfRange(block, offset + headerBytes, offset + headerBytes + keyLength);
            if (previousKey != null && Arrays.compareUnsigned(previousKey, key) >= 0) {
                throw new CorruptionException(blockIndex, "keys out of order at entry " + i);
            }
            previousKey = key;
        }
    }

    private static void checkLeafFlags(byte flags, int valueLength, long blockIndex, int entry)
            throws CorruptionException {
        if ((flags & ~NodeLayout.KNOWN_FLAGS) != 0 || Integer.bitCount(flags & 0xFF) > 1) {
            throw new CorruptionException(blockIndex, "entry " + entry + " has unknown flags " + flags);
        }
        EntryValue kind = EntryValue.of(flags);
        boolean fits = kind == EntryValue.DATA_EXTENT ? valueLength >= kind.minimumBytes()
                : kind == EntryValue.INLINE || valueLength == kind.minimumBytes();
        if (!fits) {
            throw new CorruptionException(blockIndex, "entry " + entry + " has a malformed " + switch (kind) {
                case OUT_OF_LINE -> "out-of-line descriptor";
                case SUBTREE_ROOT -> "subtree reference";
                default -> "data extent reference";
            });
        }
    }
}
