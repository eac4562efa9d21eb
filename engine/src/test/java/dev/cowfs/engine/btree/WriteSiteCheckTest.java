package dev.cowfs.engine.btree;

import dev.cowfs.engine.device.SimulatedDevice;
import dev.cowfs.engine.device.VerifiedBlocks;
import dev.cowfs.engine.error.EngineBugError;
import dev.cowfs.engine.space.ReaderRegistry;
import dev.cowfs.engine.space.SpaceAllocator;
import org.junit.jupiter.api.Test;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The always-on check at the write site (DESIGN.md invariant 1): a transaction writes only blocks its allocator
 * handed it and it has not given back; any other write is refused before it reaches the device.
 */
class WriteSiteCheckTest {
    private static final int BLOCK = 4096;

    @Test
    void onlyBlocksHandedToThisTransactionAreWritten() throws IOException {
        SimulatedDevice device = new SimulatedDevice();
        SpaceAllocator allocator = new SpaceAllocator(device, BLOCK, 1, new ReaderRegistry(), null);
        TreeContext ctx = new TreeContext(1, allocator, new NodeReader(device, BLOCK, new VerifiedBlocks()));
        long first = allocator.allocate(2);
        ctx.writeBlocks(first, new byte[2 * BLOCK], 0, 2 * BLOCK); // its own blocks: written
        ctx.writeBlocks(first + 1, new byte[100], 0, 100);

        EngineBugError past = assertThrows(EngineBugError.class,
                () -> ctx.writeBlocks(first + 2, new byte[BLOCK], 0, BLOCK), "a block never handed out");
        assertTrue(past.getMessage().contains("did not hand"), past.getMessage());
        assertThrows(EngineBugError.class, () -> ctx.writeBlocks(first + 1, new byte[2 * BLOCK], 0, 2 * BLOCK),
                "an extent running past what was handed out");
        assertThrows(EngineBugError.class, () -> ctx.writeBlocks(1, new byte[BLOCK], 0, BLOCK),
                "a block of the header region");

        allocator.free(first, 2, 1); // given back: reusable, but no longer this transaction's to write
        assertThrows(EngineBugError.class, () -> ctx.writeBlocks(first, new byte[BLOCK], 0, BLOCK),
                "a block given back");
        long again = allocator.allocate(1); // handed out again: writable again
        ctx.writeBlocks(again, new byte[BLOCK], 0, BLOCK);
    }
}
