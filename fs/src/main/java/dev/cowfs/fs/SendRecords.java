package dev.cowfs.fs;

import dev.cowfs.engine.format.Bytes;
import dev.cowfs.fs.send.SendRecordLayout;

/** Writes the extent mapping of a send stream's extent record ({@link SendRecordLayout}) from a file's item. */
final class SendRecords {
    private SendRecords() {
    }

    /**
     * Writes an extent mapping as the extent record lays it out (inode to compression,
     * {@link SendRecordLayout#MAPPING_BYTES} bytes) at {@code at}: the record's head, and the content hash's digest of
     * a mapping, which is the same bytes after its type byte.
     */
    static void putMapping(byte[] dst, int at, long ino, FileData.Item item) {
        Bytes.putLong(dst, at + SendRecordLayout.EXTENT_INO_OFFSET, InodeNumber.localIno(ino));
        Bytes.putLong(dst, at + SendRecordLayout.EXTENT_FILE_OFFSET_OFFSET, item.offset());
        Bytes.putInt(dst, at + SendRecordLayout.EXTENT_LENGTH_OFFSET, item.length());
        Bytes.putInt(dst, at + SendRecordLayout.EXTENT_FROM_OFFSET, item.from());
        Bytes.putInt(dst, at + SendRecordLayout.EXTENT_LOGICAL_OFFSET, item.logicalBytes());
        Bytes.putInt(dst, at + SendRecordLayout.EXTENT_STORED_OFFSET, item.storedBytes());
        Bytes.putInt(dst, at + SendRecordLayout.EXTENT_CHECKSUM_OFFSET, item.extent().checksum());
        dst[at + SendRecordLayout.EXTENT_COMPRESSION_OFFSET] = item.compression();
    }
}
