package dev.cowfs.engine.device;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Node and extent verifications are kept apart, and a write clears both over every block it covers. */
class VerifiedBlocksTest {
    @Test
    void aBlockVerifiedAsOneKindIsNotVerifiedAsTheOther() {
        VerifiedBlocks verified = new VerifiedBlocks();
        verified.markVerified(70_000);
        verified.markExtentVerified(1L << 39);
        assertTrue(verified.isVerified(70_000));
        assertFalse(verified.isExtentVerified(70_000));
        assertTrue(verified.isExtentVerified(1L << 39));
        assertFalse(verified.isVerified(1L << 39));
        assertFalse(verified.isVerified(70_001));
    }

    @Test
    void forgettingARangeClearsBothKindsOnEveryBlockOfItAndNothingElse() {
        VerifiedBlocks verified = new VerifiedBlocks();
        for (long block = 65_530; block < 65_545; block++) { // across a page of bits
            verified.markVerified(block);
            verified.markExtentVerified(block);
        }
        verified.forget(65_533, 8);
        for (long block = 65_530; block < 65_545; block++) {
            boolean kept = block < 65_533 || block >= 65_541;
            assertEquals(kept, verified.isVerified(block), "node bit of block " + block);
            assertEquals(kept, verified.isExtentVerified(block), "extent bit of block " + block);
        }
    }
}
