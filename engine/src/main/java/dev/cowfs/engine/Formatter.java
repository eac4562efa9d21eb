package dev.cowfs.engine;

import dev.cowfs.engine.btree.BTree;
import dev.cowfs.engine.btree.NodeReader;
import dev.cowfs.engine.btree.TreeContext;
import dev.cowfs.engine.device.BlockDevice;
import dev.cowfs.engine.device.VerifiedBlocks;
import dev.cowfs.engine.format.BlockRef;
import dev.cowfs.engine.format.Limits;
import dev.cowfs.engine.format.TreeIds;
import dev.cowfs.engine.space.ReaderRegistry;
import dev.cowfs.engine.space.SpaceAllocator;
import dev.cowfs.engine.superblock.Superblock;
import dev.cowfs.engine.superblock.SuperblockRing;

import java.io.IOException;
import java.util.UUID;
import java.util.function.LongSupplier;

/** Writes generation 1 of a new image: empty catalog, space and default trees, then the superblocks. */
final class Formatter {
    private Formatter() {
    }

    static Superblock format(BlockDevice device, int blockSizeBytes, UUID uuid, LongSupplier clock,
                             long capacityBlocks)
            throws IOException {
        device.ensureLength(Limits.HEADER_REGION_BYTES);
        SpaceAllocator allocator = new SpaceAllocator(device, blockSizeBytes, 1, new ReaderRegistry(), null);
        TreeContext ctx = new TreeContext(1, allocator, new NodeReader(device, blockSizeBytes, new VerifiedBlocks()));
        BlockRef catalogRoot;
        BlockRef spaceRoot;
        try {
            BTree space = BTree.create(TreeIds.SPACE, ctx);
            allocator.attach(space);
            BTree catalog = BTree.create(TreeIds.CATALOG, ctx);
            BTree defaultTree = BTree.create(TreeIds.DEFAULT, ctx);
            catalog.putSubtreeRoot(TreeIds.catalogKey(TreeIds.DEFAULT), defaultTree.flush());
            catalogRoot = catalog.flush();
            allocator.persist();
            spaceRoot = space.flush();
        } finally {
            ctx.memory().releaseAll();
        }
        byte[] empty = new byte[Limits.SUPERBLOCK_SLOT_BYTES];
        for (int slot = 0; slot < Limits.SUPERBLOCK_RING_SLOTS; slot++) {
            device.write(Limits.superblockSlotOffset(slot), empty, 0, empty.length);
        }
        device.barrier();
        Superblock first = new Superblock(1, uuid, blockSizeBytes, 0, 0, 0, 0, clock.getAsLong(),
                allocator.highWaterBlock(), allocator.freeBlocks(), allocator.pendingBlocks(), catalogRoot, spaceRoot,
                capacityBlocks);
        SuperblockRing.writeRingSlot(device, first);
        SuperblockRing.writeFarCopy(device, first);
        device.barrier();
        return first;
    }
}
