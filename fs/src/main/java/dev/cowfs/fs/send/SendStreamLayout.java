package dev.cowfs.fs.send;

/**
 * Byte layout of a send stream (docs/SEND.md): a fixed header, then records, each followed by a checksum that
 * chains it to everything before it, and an end record. Little-endian, offsets computed one after another.
 */
public final class SendStreamLayout {
    /** "cowfsSND" as bytes, read as a little-endian u64. */
    public static final long MAGIC = 0x444E5373_66776F63L;
    public static final int VERSION = 1;
    /** Header flag: the stream carries changes since a base snapshot. */
    public static final int FLAG_INCREMENTAL = 1;

    public static final int MAGIC_OFFSET = 0;
    public static final int VERSION_OFFSET = MAGIC_OFFSET + 8;
    public static final int FLAGS_OFFSET = VERSION_OFFSET + 2;
    public static final int HEADER_RESERVED_OFFSET = FLAGS_OFFSET + 2;
    public static final int IMAGE_UUID_OFFSET = HEADER_RESERVED_OFFSET + 4;
    public static final int SNAPSHOT_UUID_OFFSET = IMAGE_UUID_OFFSET + 16;
    public static final int BASE_UUID_OFFSET = SNAPSHOT_UUID_OFFSET + 16;
    public static final int HEADER_RESERVED2_OFFSET = BASE_UUID_OFFSET + 16;
    public static final int HEADER_CHECKSUM_OFFSET = HEADER_RESERVED2_OFFSET + 12;
    public static final int HEADER_BYTES = HEADER_CHECKSUM_OFFSET + 4;

    public static final int RECORD_TYPE_OFFSET = 0;
    public static final int RECORD_RESERVED_OFFSET = RECORD_TYPE_OFFSET + 1;
    public static final int RECORD_LENGTH_OFFSET = RECORD_RESERVED_OFFSET + 3;
    public static final int RECORD_HEAD_BYTES = RECORD_LENGTH_OFFSET + 4;
    public static final int RECORD_CHECKSUM_BYTES = 4;
    /** Largest payload: a whole data extent (1 MiB) with room for its description. */
    public static final int MAX_PAYLOAD_BYTES = (1 << 20) + 4096;

    /** Record type of the end record; types 1 to 254 are the records of docs/SEND.md. */
    public static final int TYPE_END = 255;
    public static final int END_COUNT_OFFSET = 0;
    public static final int END_HASH_OFFSET = END_COUNT_OFFSET + 8;
    public static final int END_HASH_BYTES = 8;
    public static final int END_PAYLOAD_BYTES = END_HASH_OFFSET + END_HASH_BYTES;

    private SendStreamLayout() {
    }
}
