package dev.cowfs.engine.error;

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

    /**
     * As {@link #check(boolean, String)}, for checks on hot paths: the message is made from {@code template}
     * (with {@code %d} for the figure) only when the check fails, so passing costs no string building.
     */
    public static void check(boolean condition, String template, long figure) {
        if (!condition) {
            throw new EngineBugError(String.format(template, figure));
        }
    }

    /** As {@link #check(boolean, String, long)}, with two figures. */
    public static void check(boolean condition, String template, long first, long second) {
        if (!condition) {
            throw new EngineBugError(String.format(template, first, second));
        }
    }
}
