package dev.cowfs.fs.nio;

import dev.cowfs.fs.FsOptions;

import java.util.Map;
import java.util.Set;

/**
 * The environment map of {@code FileSystems.newFileSystem} for a cowfs image, read once into typed values.
 * Keys: "create" (make the image when it does not exist, like zipfs), "compress" (new images compress file
 * data with LZ4), "commitIntervalMillis" (group-commit interval; 0 commits only on sync, force and close).
 * Values are the type itself or its string form ("true", "5000"). An unknown key is refused, so that a typo does
 * not go unnoticed.
 *
 * @param create  make a new image when none exists
 * @param options how the image is opened or made
 */
record ImageEnvironment(boolean create, FsOptions options) {
    static final String CREATE = "create";
    static final String COMPRESS = "compress";
    static final String COMMIT_INTERVAL_MILLIS = "commitIntervalMillis";
    private static final Set<String> KEYS = Set.of(CREATE, COMPRESS, COMMIT_INTERVAL_MILLIS);

    static ImageEnvironment parse(Map<String, ?> env) {
        for (String key : env.keySet()) {
            if (!KEYS.contains(key)) {
                throw new IllegalArgumentException("unknown cowfs environment key '" + key + "' (known: "
                        + String.join(", ", KEYS.stream().sorted().toList()) + ")");
            }
        }
        FsOptions.Builder options = FsOptions.builder();
        options.compress(bool(env, COMPRESS));
        Object interval = env.get(COMMIT_INTERVAL_MILLIS);
        if (interval != null) {
            options.commitIntervalMillis(number(COMMIT_INTERVAL_MILLIS, interval));
        }
        return new ImageEnvironment(bool(env, CREATE), options.build());
    }

    private static long number(String key, Object value) {
        if (value instanceof Integer || value instanceof Long) {
            return ((Number) value).longValue();
        }
        try {
            return Long.parseLong(value.toString());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("cowfs environment key '" + key + "' must be a whole number, got "
                    + value, e);
        }
    }

    private static boolean bool(Map<String, ?> env, String key) {
        Object value = env.get(key);
        if (value == null) {
            return false;
        }
        if (value instanceof Boolean flag) {
            return flag;
        }
        if (value instanceof String text && (text.equalsIgnoreCase("true") || text.equalsIgnoreCase("false"))) {
            return Boolean.parseBoolean(text);
        }
        throw new IllegalArgumentException("cowfs environment key '" + key + "' must be a Boolean or \"true\"/"
                + "\"false\", got " + value);
    }
}
