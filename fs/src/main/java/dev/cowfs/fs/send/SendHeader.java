package dev.cowfs.fs.send;

import java.util.UUID;

/**
 * What a send stream is: which image it comes from, which snapshot it carries, and for an incremental stream the
 * base snapshot the receiving side must already have ({@code base} null for a full stream).
 */
public record SendHeader(UUID image, UUID snapshot, UUID base) {
    public SendHeader {
        if (image == null || snapshot == null) {
            throw new IllegalArgumentException("a send stream names its image and snapshot");
        }
    }

    public boolean incremental() {
        return base != null;
    }
}
