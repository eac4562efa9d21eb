package dev.cowfs.engine.btree;

import dev.cowfs.engine.error.CorruptionException;
import dev.cowfs.engine.format.BlockRef;
import dev.cowfs.engine.format.Bytes;
import dev.cowfs.engine.format.Limits;
import dev.cowfs.engine.format.NodeLayout;

import java.io.IOException;

/** Point lookups in committed trees: the read path of every read transaction, allocation-free but for the value. */
public final class TreeSearch {
    private TreeSearch() {
    }

    /** The value stored under {@code key} in the committed tree rooted at {@code root}, or null. */
    public static byte[] get(NodeReader reader, BlockRef root, long treeId, byte[] key, NodeView view)
            throws IOException {
        return get(reader, root.blockIndex(), root.birthGeneration(), root.checksum(), -1, treeId, key, view);
    }

    static byte[] get(NodeReader reader, long blockIndex, long birth, int checksum, int level, long treeId,
                      byte[] key, NodeView view) throws IOException {
        reader.read(blockIndex, birth, checksum, treeId, level, view);
        for (int depth = 0; !view.isLeaf(); depth++) {
            if (depth >= Limits.MAX_TREE_HEIGHT) {
                throw new CorruptionException(view.blockIndex(), "tree deeper than " + Limits.MAX_TREE_HEIGHT);
            }
            int child = view.searchBranch(key);
            reader.read(view.childBlockIndex(child), view.childBirth(child), view.childChecksum(child), treeId,
                    view.level() - 1, view);
        }
        int index = view.searchLeaf(key);
        return index < 0 ? null : userValue(reader, view, index);
    }

    static boolean contains(NodeReader reader, BlockRef child, int level, long treeId, byte[] key, NodeView view)
            throws IOException {
        reader.read(child.blockIndex(), child.birthGeneration(), child.checksum(), treeId, level, view);
        while (!view.isLeaf()) {
            int index = view.searchBranch(key);
            reader.read(view.childBlockIndex(index), view.childBirth(index), view.childChecksum(index), treeId,
                    view.level() - 1, view);
        }
        return view.searchLeaf(key) >= 0;
    }

    /** The value a caller sees: out-of-line values are read from their extent and checked. */
    static byte[] userValue(NodeReader reader, NodeView view, int index) throws IOException {
        byte[] stored = view.storedValue(index);
        return EntryValue.of(view.flags(index)) != EntryValue.OUT_OF_LINE ? stored : readOutOfLine(reader, stored);
    }

    static byte[] readOutOfLine(NodeReader reader, byte[] descriptor) throws IOException {
        int length = Bytes.getInt(descriptor, NodeLayout.OUT_OF_LINE_LENGTH_OFFSET);
        return reader.readExtent(BlockRef.decode(descriptor, NodeLayout.OUT_OF_LINE_REF_OFFSET), length);
    }
}
