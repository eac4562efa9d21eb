package dev.cowfs.engine.error;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** A failed check names its figures; a passing one throws nothing. */
class EngineBugErrorTest {
    @Test
    void aFailedCheckFillsItsTemplate() {
        assertEquals("block 7 freed twice", assertThrows(EngineBugError.class,
                () -> EngineBugError.check(false, "block %d freed twice", 7)).getMessage());
        assertEquals("free extent 40+3 missing from an index", assertThrows(EngineBugError.class,
                () -> EngineBugError.check(false, "free extent %d+%d missing from an index", 40, 3)).getMessage());
        assertDoesNotThrow(() -> EngineBugError.check(true, "block %d freed twice", 7));
        assertDoesNotThrow(() -> EngineBugError.check(true, "%d+%d", 1, 2));
    }
}
