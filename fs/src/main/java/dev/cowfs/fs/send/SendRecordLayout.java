package dev.cowfs.fs.send;

/**
 * The records a send stream carries inside its framing ({@link SendStreamLayout}): their types and the extent
 * record's fields (docs/SEND.md, "Records"). Integers little-endian; keys are subvolume tree keys as stored
 * (docs/FORMAT.md), inode numbers the subvolume's own. With {@link SendStreamLayout}, the one home of the stream's
 * layout; the filesystem's sender and receiver write and read the records.
 */
public final class SendRecordLayout {
    /** First and once: the snapshot's creation time (u64 ms), name length (u16) and name. */
    public static final int SNAPSHOT = 1;
    /** An item to store: key length (u16), key, value (the rest). */
    public static final int ITEM_PUT = 2;
    /** An item to remove: key length (u16), key. Removing an inode (item type 01) removes its extents too. */
    public static final int ITEM_DELETE = 3;
    /** An extent mapping of a file, with its bytes or where the receiver finds them (layout below). */
    public static final int EXTENT = 4;
    /** An extent mapping to remove: ino (u64), file offset (u64). */
    public static final int EXTENT_DELETE = 5;
    /** Last: the content hash of the change (32 bytes), items added (u64), items removed (u64). */
    public static final int CONTENT_HASH = 6;

    public static final int EXTENT_INO_OFFSET = 0;
    public static final int EXTENT_FILE_OFFSET_OFFSET = 8;
    public static final int EXTENT_LENGTH_OFFSET = 16;
    public static final int EXTENT_FROM_OFFSET = 20;
    public static final int EXTENT_LOGICAL_OFFSET = 24;
    public static final int EXTENT_STORED_OFFSET = 28;
    public static final int EXTENT_CHECKSUM_OFFSET = 32;
    public static final int EXTENT_COMPRESSION_OFFSET = 36;
    public static final int EXTENT_SOURCE_OFFSET = 37;
    public static final int EXTENT_RESERVED_OFFSET = 38;
    public static final int EXTENT_ARGUMENT_OFFSET = 40;
    public static final int EXTENT_HEAD_BYTES = 48;
    /** The stored bytes follow the head. */
    public static final int SOURCE_DATA = 0;
    /** The bytes of the extent sent with the given number (0: the first sent with its bytes) in this stream. */
    public static final int SOURCE_STREAM = 1;
    /** The bytes of the extent that the base's same file maps at the given file offset. */
    public static final int SOURCE_BASE = 2;

    public static final int EXTENT_DELETE_BYTES = 16;
    /** The content hash record: the digest, then items added (u64) and items removed (u64). */
    public static final int CONTENT_HASH_DIGEST_BYTES = 32;
    public static final int CONTENT_HASH_BYTES = CONTENT_HASH_DIGEST_BYTES + 16;

    /** The bytes of an extent mapping: the extent record's head up to its source byte (also what the hash digests). */
    public static final int MAPPING_BYTES = EXTENT_SOURCE_OFFSET;

    private SendRecordLayout() {
    }
}
