package dev.cowfs.engine.space;

import org.junit.jupiter.api.Test;

import java.util.BitSet;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** ExtentSet against a bit set of the same blocks, under random adds and removes of extents (merging, splitting). */
class ExtentSetTest {
    @Test
    void extentSetAgreesWithABitSetUnderRandomAddsAndRemoves() {
        Random random = new Random(23);
        for (int round = 0; round < 200; round++) {
            ExtentSet set = new ExtentSet();
            BitSet model = new BitSet();
            for (int step = 0; step < 300; step++) {
                int start = random.nextInt(400);
                int count = 1 + random.nextInt(12);
                boolean free = model.get(start, start + count).isEmpty();
                boolean held = model.get(start, start + count).cardinality() == count;
                if (free && random.nextBoolean()) {
                    set.add(start, count);
                    model.set(start, start + count);
                } else if (held) {
                    set.remove(start, count);
                    model.clear(start, start + count);
                }
                int probe = random.nextInt(410);
                int probeCount = 1 + random.nextInt(8);
                assertEquals(model.get(probe, probe + probeCount).cardinality() == probeCount,
                        set.contains(probe, probeCount), "blocks " + probe + "+" + probeCount + " at step " + step);
            }
        }
    }
}
