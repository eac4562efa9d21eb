package dev.cowfs.engine.error;

import java.nio.file.Path;

/**
 * A writable open found that the newest generation does not verify: falling back to the older one it would
 * open, and then committing, would overwrite the damaged newer commit. Nothing was written.
 */
public final class NewerGenerationDamagedException extends CorruptionException {
    private final long newestGeneration;
    private final long olderGeneration;
    private final String why;

    public NewerGenerationDamagedException(long newestGeneration, long olderGeneration, String why, String image) {
        super(-1, image + ": the newest generation, " + newestGeneration + ", does not verify (" + why
                + "); writing would overwrite it, so nothing was written. Read the image as it is (read-only "
                + "commands, cowfs mount -o ro), or give up generation " + newestGeneration + " and go on from "
                + "generation " + olderGeneration + " with: cowfs rollback " + image + " " + olderGeneration);
        this.newestGeneration = newestGeneration;
        this.olderGeneration = olderGeneration;
        this.why = why;
    }

    /** The same refusal, naming the image file. */
    public NewerGenerationDamagedException naming(Path image) {
        return new NewerGenerationDamagedException(newestGeneration, olderGeneration, why, image.toString());
    }

    public long newestGeneration() {
        return newestGeneration;
    }

    /** The newest generation that verifies: the one a read-only open falls back to. */
    public long olderGeneration() {
        return olderGeneration;
    }
}
