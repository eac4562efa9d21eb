package dev.cowfs.engine.btree;

import dev.cowfs.engine.error.EngineBugError;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The native memory of dirty nodes: the allocation registry (an open-addressing set with backward-shift
 * deletion) agrees with a model through long random sequences of allocations and frees, the byte count is
 * exact, memory holds what was written, and a bad free or a use after release is refused.
 */
class NodeMemoryTest {

    @Test
    void registryAgreesWithAModelAndMemoryKeepsItsBytes() {
        Random random = new Random(42);
        NodeMemory memory = new NodeMemory();
        Map<Long, Integer> model = new HashMap<>();
        List<Long> live = new ArrayList<>();
        long expectedBytes = 0;
        for (int step = 0; step < 200_000; step++) {
            if (live.isEmpty() || random.nextInt(100) < 55) {
                int size = 16 + random.nextInt(9000);
                long address = memory.allocate(size);
                // Stamp the first and last bytes with something derived from the address.
                NodeMemory.putByte(address, (byte) address);
                NodeMemory.putByte(address + size - 1, (byte) (address >>> 8));
                model.put(address, size);
                live.add(address);
                expectedBytes += size;
            } else {
                long address = live.remove(random.nextInt(live.size()));
                int size = model.remove(address);
                assertEquals((byte) address, NodeMemory.getByte(address));
                assertEquals((byte) (address >>> 8), NodeMemory.getByte(address + size - 1));
                memory.free(address);
                expectedBytes -= size;
            }
            assertEquals(expectedBytes, memory.bytes());
        }
        long someLive = live.get(0);
        memory.free(someLive);
        assertThrows(EngineBugError.class, () -> memory.free(someLive), "a double free is refused");
        memory.releaseAll();
        assertEquals(0, memory.bytes());
        assertThrows(EngineBugError.class, () -> memory.allocate(64), "no allocation after release");
        memory.releaseAll(); // idempotent
    }
}
