package dev.cowfs.engine.btree;

import dev.cowfs.engine.device.Checksums;
import dev.cowfs.engine.format.Bytes;
import dev.cowfs.engine.format.NodeLayout;

import java.util.Arrays;

/** Turns a dirty node into block bytes. (A verified block becomes a dirty node by {@link DirtyNode#copyOf}.) */
final class NodeCodec {
    private NodeCodec() {
    }

    /** Writes the node into {@code block} and returns the CRC32C the parent's reference carries. */
    static int encode(DirtyNode node, long birth, long treeId, byte[] block) {
        Arrays.fill(block, 0, NodeLayout.HEADER_BYTES, (byte) 0);
        Bytes.putShort(block, NodeLayout.MAGIC_OFFSET, NodeLayout.MAGIC);
        block[NodeLayout.KIND_OFFSET] = node.isLeaf() ? NodeLayout.KIND_LEAF : NodeLayout.KIND_BRANCH;
        block[NodeLayout.LEVEL_OFFSET] = (byte) node.level;
        Bytes.putLong(block, NodeLayout.BLOCK_INDEX_OFFSET, node.blockIndex);
        Bytes.putLong(block, NodeLayout.BIRTH_OFFSET, birth);
        Bytes.putLong(block, NodeLayout.TREE_ID_OFFSET, treeId);
        Bytes.putShort(block, NodeLayout.ENTRY_COUNT_OFFSET, node.count);
        int slotsEnd = NodeLayout.HEADER_BYTES + node.count * NodeLayout.SLOT_BYTES;
        int entriesStart = block.length - (node.entryBytes() - node.count * NodeLayout.SLOT_BYTES);
        Arrays.fill(block, slotsEnd, entriesStart, (byte) 0);
        node.encodeEntries(block);
        int checksum = Checksums.crc32c(block, NodeLayout.CHECKSUM_SIZE, block.length - NodeLayout.CHECKSUM_SIZE);
        Bytes.putInt(block, NodeLayout.CHECKSUM_OFFSET, checksum);
        return checksum;
    }
}
