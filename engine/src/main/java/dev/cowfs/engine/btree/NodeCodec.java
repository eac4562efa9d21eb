package dev.cowfs.engine.btree;

import dev.cowfs.engine.block.BlockRef;
import dev.cowfs.engine.block.Checksums;
import dev.cowfs.engine.format.BlockRefLayout;
import dev.cowfs.engine.format.Bytes;
import dev.cowfs.engine.format.NodeLayout;

import java.util.Arrays;

/** Turns a dirty node into block bytes, and a verified block into a dirty node. */
final class NodeCodec {
    private NodeCodec() {
    }

    /** Writes the node into {@code block} (zeroed first) and returns the CRC32C the parent's reference carries. */
    static int encode(DirtyNode node, long birth, long treeId, byte[] block) {
        Arrays.fill(block, (byte) 0);
        Bytes.putShort(block, NodeLayout.MAGIC_OFFSET, NodeLayout.MAGIC);
        block[NodeLayout.KIND_OFFSET] = node.isLeaf() ? NodeLayout.KIND_LEAF : NodeLayout.KIND_BRANCH;
        block[NodeLayout.LEVEL_OFFSET] = (byte) node.level;
        Bytes.putLong(block, NodeLayout.BLOCK_INDEX_OFFSET, node.blockIndex);
        Bytes.putLong(block, NodeLayout.BIRTH_OFFSET, birth);
        Bytes.putLong(block, NodeLayout.TREE_ID_OFFSET, treeId);
        Bytes.putShort(block, NodeLayout.ENTRY_COUNT_OFFSET, node.count);
        int end = block.length;
        for (int i = 0; i < node.count; i++) {
            byte[] key = node.keys[i];
            if (node.isLeaf()) {
                byte[] value = node.values[i];
                end -= NodeLayout.LEAF_ENTRY_HEADER_BYTES + key.length + value.length;
                Bytes.putShort(block, end, key.length);
                Bytes.putShort(block, end + NodeLayout.LEAF_ENTRY_VALUE_LENGTH_OFFSET, value.length);
                block[end + NodeLayout.LEAF_ENTRY_FLAGS_OFFSET] = node.flags[i];
                System.arraycopy(key, 0, block, end + NodeLayout.LEAF_ENTRY_HEADER_BYTES, key.length);
                System.arraycopy(value, 0, block, end + NodeLayout.LEAF_ENTRY_HEADER_BYTES + key.length, value.length);
            } else {
                end -= NodeLayout.BRANCH_ENTRY_HEADER_BYTES + key.length + BlockRefLayout.BYTES;
                Bytes.putShort(block, end, key.length);
                System.arraycopy(key, 0, block, end + NodeLayout.BRANCH_ENTRY_HEADER_BYTES, key.length);
                node.childRefs[i].encode(block, end + NodeLayout.BRANCH_ENTRY_HEADER_BYTES + key.length);
            }
            Bytes.putShort(block, NodeLayout.HEADER_BYTES + i * NodeLayout.SLOT_BYTES, end);
        }
        int checksum = Checksums.crc32c(block, NodeLayout.CHECKSUM_SIZE, block.length - NodeLayout.CHECKSUM_SIZE);
        Bytes.putInt(block, NodeLayout.CHECKSUM_OFFSET, checksum);
        return checksum;
    }

    /** A dirty copy of a verified node, to be written to {@code blockIndex}. */
    static DirtyNode decode(NodeView view, long blockIndex) {
        DirtyNode node = new DirtyNode(view.level(), blockIndex, view.count() + 1);
        for (int i = 0; i < view.count(); i++) {
            if (view.isLeaf()) {
                node.insertLeafEntry(i, view.key(i), view.storedValue(i), view.flags(i));
            } else {
                node.insertBranchEntry(i, view.key(i), view.childRef(i), null);
            }
        }
        return node;
    }
}
