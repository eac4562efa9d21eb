package dev.cowfs.fs;

/**
 * A subvolume record: the value of key (01, id) in tree 256, the name after the fixed fields. Little-endian but for
 * the UUIDs (most significant half first); docs/FORMAT.md.
 */
final class SubvolumeRecordLayout {
    static final int CREATED_OFFSET = 0;
    static final int CREATED_SIZE = 8;
    static final int GENERATION_OFFSET = CREATED_OFFSET + CREATED_SIZE;
    static final int GENERATION_SIZE = 8;
    static final int PARENT_ID_OFFSET = GENERATION_OFFSET + GENERATION_SIZE;
    static final int PARENT_ID_SIZE = 8;
    static final int FLAGS_OFFSET = PARENT_ID_OFFSET + PARENT_ID_SIZE;
    static final int FLAGS_SIZE = 4;
    static final int PAD_OFFSET = FLAGS_OFFSET + FLAGS_SIZE;
    static final int PAD_SIZE = 4;
    /** Where the name starts in a record without identities (made before they were kept; flag bit 2 clear). */
    static final int NAME_WITHOUT_IDENTITY_OFFSET = PAD_OFFSET + PAD_SIZE;
    static final int UUID_OFFSET = PAD_OFFSET + PAD_SIZE;
    static final int UUID_SIZE = 16;
    static final int RECEIVED_UUID_OFFSET = UUID_OFFSET + UUID_SIZE;
    static final int RECEIVED_UUID_SIZE = 16;
    /** Where the name starts in a record with identities. */
    static final int NAME_OFFSET = RECEIVED_UUID_OFFSET + RECEIVED_UUID_SIZE;

    static final int FLAG_READ_ONLY = 1;
    static final int FLAG_SNAPSHOT = 2;
    /** The record holds the subvolume's UUID and the UUID it was received from (zero: none) before the name. */
    static final int FLAG_IDENTITY = 4;
    static final int KNOWN_FLAGS = FLAG_READ_ONLY | FLAG_SNAPSHOT | FLAG_IDENTITY;

    private SubvolumeRecordLayout() {
    }
}
