package dev.cowfs.fs.send;

import dev.cowfs.engine.format.Bytes;
import net.jpountz.xxhash.StreamingXXHash64;
import net.jpountz.xxhash.XXHashFactory;

/**
 * The end record's hash of a send stream: XXH64 (seed 0) over every record's type byte and payload, in order.
 * It is a second check of the whole stream beside the chained record checksums, fast enough (several GB/s) not
 * to bound how fast a stream goes; like them it detects damage, not forgery.
 */
final class StreamHash {
    private static final XXHashFactory XXHASH = XXHashFactory.fastestInstance();

    private final StreamingXXHash64 hash = XXHASH.newStreamingHash64(0);
    private final byte[] type = new byte[1];

    void record(int recordType, byte[] payload, int offset, int length) {
        type[0] = (byte) recordType;
        hash.update(type, 0, 1);
        hash.update(payload, offset, length);
    }

    /** The hash so far, as the end record stores it (u64 little-endian). */
    byte[] value() {
        byte[] bytes = new byte[SendStreamLayout.END_HASH_BYTES];
        Bytes.putLong(bytes, 0, hash.getValue());
        return bytes;
    }
}
