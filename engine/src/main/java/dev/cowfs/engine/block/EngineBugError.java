package dev.cowfs.engine.block;

/** A check on the engine's own logic failed: a programming error, never a property of the image. */
public class EngineBugError extends Error {
    public EngineBugError(String message) {
        super(message);
    }

    public static void check(boolean condition, String message) {
        if (!condition) {
            throw new EngineBugError(message);
        }
    }
}
