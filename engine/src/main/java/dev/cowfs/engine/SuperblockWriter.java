package dev.cowfs.engine;

import dev.cowfs.engine.block.BlockDevice;
import dev.cowfs.engine.format.Limits;
import dev.cowfs.engine.txn.Superblock;

import java.io.IOException;

/** Writes a superblock into its ring slot, then the far copy that mirrors the newest slot. */
final class SuperblockWriter {
    private SuperblockWriter() {
    }

    static void write(BlockDevice device, Superblock superblock) throws IOException {
        byte[] bytes = superblock.encode();
        device.write(Limits.superblockSlotOffset(superblock.ringSlot()), bytes, 0, bytes.length);
        device.write(Limits.FAR_SUPERBLOCK_OFFSET_BYTES, bytes, 0, bytes.length);
    }

    /** Repairs the ring when the newest superblock survived only in the far copy. */
    static void writeRingSlot(BlockDevice device, Superblock superblock) throws IOException {
        byte[] bytes = superblock.encode();
        device.write(Limits.superblockSlotOffset(superblock.ringSlot()), bytes, 0, bytes.length);
    }
}
