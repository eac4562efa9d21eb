package dev.cowfs.engine;

import dev.cowfs.engine.device.BlockDevice;
import dev.cowfs.engine.format.Limits;
import dev.cowfs.engine.txn.Superblock;

import java.io.IOException;

/**
 * Writes superblocks. A commit writes its superblock into its ring slot after the first barrier; the far copy
 * gets the previous commit's superblock, written with the commit's data blocks before that barrier. The far
 * copy therefore always holds a generation inside the retention window (its blocks are never reused while it
 * can be chosen), and the final flush of a commit writes a single page.
 */
final class SuperblockWriter {
    private SuperblockWriter() {
    }

    /** Returns the superblock's checksum, which the next commit records as its parent's. */
    static int writeRingSlot(BlockDevice device, Superblock superblock) throws IOException {
        byte[] bytes = superblock.encode();
        device.write(Limits.superblockSlotOffset(superblock.ringSlot()), bytes, 0, bytes.length);
        return dev.cowfs.engine.format.Bytes.getInt(bytes, dev.cowfs.engine.format.SuperblockLayout.CHECKSUM_OFFSET);
    }

    static void writeFarCopy(BlockDevice device, Superblock superblock) throws IOException {
        byte[] bytes = superblock.encode();
        device.write(Limits.FAR_SUPERBLOCK_OFFSET_BYTES, bytes, 0, bytes.length);
    }

}
