package dev.cowfs.fs;

/**
 * The records a send stream carries inside its framing (docs/SEND.md, "Records"). Integers little-endian;
 * keys are subvolume tree keys as stored (docs/FORMAT.md), inode numbers the subvolume's own.
 */
final class SendRecords {
    /** First and once: the snapshot's creation time (u64 ms), name length (u16) and name. */
    static final int SNAPSHOT = 1;
    /** An item to store: key length (u16), key, value (the rest). */
    static final int ITEM_PUT = 2;
    /** An item to remove: key length (u16), key. Removing an inode (item type 01) removes its extents too. */
    static final int ITEM_DELETE = 3;
    /** An extent mapping of a file, with its bytes or where the receiver finds them (layout below). */
    static final int EXTENT = 4;
    /** An extent mapping to remove: ino (u64), file offset (u64). */
    static final int EXTENT_DELETE = 5;
    /** Last: the content hash of the change (32 bytes), items added (u64), items removed (u64). */
    static final int CONTENT_HASH = 6;

    static final int EXTENT_INO_OFFSET = 0;
    static final int EXTENT_FILE_OFFSET_OFFSET = 8;
    static final int EXTENT_LENGTH_OFFSET = 16;
    static final int EXTENT_FROM_OFFSET = 20;
    static final int EXTENT_LOGICAL_OFFSET = 24;
    static final int EXTENT_STORED_OFFSET = 28;
    static final int EXTENT_CHECKSUM_OFFSET = 32;
    static final int EXTENT_COMPRESSION_OFFSET = 36;
    static final int EXTENT_SOURCE_OFFSET = 37;
    static final int EXTENT_RESERVED_OFFSET = 38;
    static final int EXTENT_ARGUMENT_OFFSET = 40;
    static final int EXTENT_HEAD_BYTES = 48;
    /** The stored bytes follow the head. */
    static final int SOURCE_DATA = 0;
    /** The bytes of the extent sent with the given number (0: the first sent with its bytes) in this stream. */
    static final int SOURCE_STREAM = 1;
    /** The bytes of the extent that the base's same file maps at the given file offset. */
    static final int SOURCE_BASE = 2;

    static final int EXTENT_DELETE_BYTES = 16;
    static final int CONTENT_HASH_BYTES = ContentHash.BYTES + 16;

    /** The bytes {@link #putMapping} writes: the extent record's head up to its source byte. */
    static final int MAPPING_BYTES = EXTENT_SOURCE_OFFSET;

    private SendRecords() {
    }

    /**
     * Writes an extent mapping as the extent record lays it out (inode to compression, {@link #MAPPING_BYTES}
     * bytes) at {@code at}: the record's head, and the content hash's digest of a mapping, which is the same
     * bytes after its type byte.
     */
    static void putMapping(byte[] dst, int at, long ino, FileData.Item item) {
        dev.cowfs.engine.format.Bytes.putLong(dst, at + EXTENT_INO_OFFSET, InodeNumber.localIno(ino));
        dev.cowfs.engine.format.Bytes.putLong(dst, at + EXTENT_FILE_OFFSET_OFFSET, item.offset());
        dev.cowfs.engine.format.Bytes.putInt(dst, at + EXTENT_LENGTH_OFFSET, item.length());
        dev.cowfs.engine.format.Bytes.putInt(dst, at + EXTENT_FROM_OFFSET, item.from());
        dev.cowfs.engine.format.Bytes.putInt(dst, at + EXTENT_LOGICAL_OFFSET, item.logicalBytes());
        dev.cowfs.engine.format.Bytes.putInt(dst, at + EXTENT_STORED_OFFSET, item.storedBytes());
        dev.cowfs.engine.format.Bytes.putInt(dst, at + EXTENT_CHECKSUM_OFFSET, item.extent().checksum());
        dst[at + EXTENT_COMPRESSION_OFFSET] = item.compression();
    }
}
