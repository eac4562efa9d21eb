package dev.cowfs.fs.nio;

import java.io.IOException;
import java.net.URI;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.util.Map;

/** Opening images for the provider's tests. */
final class CowNioTesting {
    private CowNioTesting() {
    }

    /** The cowfs URI of an image file. */
    static URI uriOf(Path image) {
        return URI.create("cowfs:" + image.toUri().getPath());
    }

    /** Makes a new image and opens it; commits only on sync, force and close, so tests control durability. */
    static FileSystem create(Path image) throws IOException {
        return FileSystems.newFileSystem(uriOf(image), Map.of("create", true, "commitIntervalMillis", 0));
    }

    /** Opens an existing image, committing only on sync, force and close. */
    static FileSystem open(Path image) throws IOException {
        return FileSystems.newFileSystem(uriOf(image), Map.of("commitIntervalMillis", 0));
    }
}
