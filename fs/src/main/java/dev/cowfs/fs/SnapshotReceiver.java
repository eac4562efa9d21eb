package dev.cowfs.fs;

import dev.cowfs.engine.Cursor;
import dev.cowfs.engine.ReadTransaction;
import dev.cowfs.engine.WriteTransaction;
import dev.cowfs.engine.format.BlockRef;
import dev.cowfs.engine.format.Bytes;
import dev.cowfs.fs.send.SendRecordLayout;
import dev.cowfs.fs.send.SendStreamException;
import dev.cowfs.fs.send.SendStreamReader;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.LongConsumer;

/**
 * Applies a send stream's records to a new subvolume tree in the open write transaction: a clone of the base
 * snapshot, or an empty tree for a full stream. Every record is checked before it changes anything: keys
 * and values must be items a subvolume may hold (names without '/' or NUL, lengths within the format's
 * limits, inode numbers in range), extents must be consistent and their bytes must match their checksum and
 * decompress to their length, and references to bytes already held must match what the target holds. The
 * stream names no host path, and every allocation is bounded by the framing's record limit. The caller
 * (CowFileSystem.receive) makes the tree visible only after the end record and the content hash check out.
 */
final class SnapshotReceiver {
    /** What a receive read and wrote. */
    record Summary(String name, long records, long streamBytes, long dataBytes, long extentsWritten,
                   long extentsReused) {
    }

    private static final LZ4SafeDecompressor DECOMPRESSOR = LZ4Factory.fastestInstance().safeDecompressor();

    private final InodeTable inodes;
    private final SendStreamReader reader;
    private final long subvolume;
    private final long tree;
    /** The base snapshot's tree as committed (null for a full stream). */
    private final ReadTransaction base;
    private final long baseTree;
    private final LongConsumer progress;
    private final ExtentItems extents;
    private final int inlineMax;
    /** Extents written from this stream's bytes, by number. */
    private final List<FileData.Item> written = new ArrayList<>();
    /** Files whose extent mappings changed (their numbers in the subvolume). */
    private final Set<Long> touchedFiles = new HashSet<>();
    /**
     * Mappings this stream made ("ino:offset"), and the files that have them. A sender never removes or
     * replaces a mapping it sent in the same stream; refusing to means an extent sent earlier in the stream is
     * still referenced when a later record refers to it, so a reference can never be taken to freed blocks.
     */
    private final Set<String> streamMappings = new HashSet<>();
    private final Set<Long> streamFiles = new HashSet<>();
    private byte[] scratch;
    private String name;
    private long createdMillis;
    private byte[] contentHash;
    private long dataBytes;
    private long extentsReused;

    SnapshotReceiver(InodeTable inodes, SendStreamReader reader, long subvolume, ReadTransaction base,
                     long baseTree, LongConsumer progress) {
        this.inodes = inodes;
        this.reader = reader;
        this.subvolume = subvolume;
        this.tree = InodeNumber.treeOfSubvolume(subvolume);
        this.base = base;
        this.baseTree = baseTree;
        this.progress = progress;
        this.extents = new ExtentItems(inodes);
        // The largest inline file of any block size: a receiver with smaller blocks than the sender keeps such a
        // file inline too (its value goes out of line in the tree); the next write past it moves it to extents.
        this.inlineMax = 2048;
    }

    /** The snapshot's name and creation time, from the stream's first record (read before anything changes). */
    String readSnapshotRecord() throws IOException {
        SendStreamReader.Record first = reader.next();
        if (first == null || first.type() != SendRecordLayout.SNAPSHOT) {
            throw refuse("it does not start with its snapshot record");
        }
        byte[] p = first.payload();
        if (p.length < 11 || Bytes.getUnsignedShort(p, 8) != p.length - 10) {
            throw refuse("its snapshot record is malformed");
        }
        createdMillis = Bytes.getLong(p, 0);
        name = new String(p, 10, p.length - 10, StandardCharsets.UTF_8);
        return name;
    }

    long createdMillis() {
        return createdMillis;
    }

    byte[] contentHash() {
        return contentHash;
    }

    /** Applies every record up to the end record, which the reader checks. */
    Summary apply() throws IOException {
        for (SendStreamReader.Record record = reader.next(); record != null; record = reader.next()) {
            if (contentHash != null) {
                throw refuse("record " + reader.records() + " follows the content hash, which must come last");
            }
            byte[] p = record.payload();
            switch (record.type()) {
                case SendRecordLayout.ITEM_PUT -> put(p);
                case SendRecordLayout.ITEM_DELETE -> delete(p);
                case SendRecordLayout.EXTENT -> extent(p);
                case SendRecordLayout.EXTENT_DELETE -> extentDelete(p);
                case SendRecordLayout.CONTENT_HASH -> {
                    if (p.length != SendRecordLayout.CONTENT_HASH_BYTES) {
                        throw refuse("its content hash record is malformed");
                    }
                    contentHash = java.util.Arrays.copyOf(p, ContentHash.BYTES);
                }
                case SendRecordLayout.SNAPSHOT -> throw refuse("it has a second snapshot record (record "
                        + reader.records() + ")");
                default -> throw new FsException(Errno.EBADMSG, "record " + reader.records() + " of the send stream "
                        + "has type " + record.type() + ", which this cowfs does not know; receive it with the cowfs "
                        + "that sent it");
            }
            progress.accept(reader.bytesRead());
        }
        if (contentHash == null) {
            throw refuse("it has no content hash record");
        }
        for (long file : touchedFiles) {
            long ino = InodeNumber.inoOf(subvolume, file);
            if (txn().get(tree, FsKeys.of(ino, FsKeys.INODE)) != null) {
                extents.nestIfLarge(ino);
            }
        }
        progress.accept(reader.bytesRead());
        return new Summary(name, reader.records(), reader.bytesRead(), dataBytes, written.size(), extentsReused);
    }

    private WriteTransaction txn() {
        return inodes.txn();
    }

    // ------------------------------------------------------------------ items

    private void put(byte[] p) throws IOException {
        byte[] key = key(p);
        byte[] value = java.util.Arrays.copyOfRange(p, 2 + key.length, p.length);
        checkItem(key, value);
        txn().put(tree, key, value);
    }

    private void delete(byte[] p) throws IOException {
        byte[] key = key(p);
        if (2 + key.length != p.length) {
            throw refuse("record " + reader.records() + " (an item removal) is malformed");
        }
        checkItem(key, null);
        if (FsKeys.type(key) == FsKeys.INODE && streamFiles.contains(FsKeys.ino(key))) {
            throw refuse("record " + reader.records() + " removes inode " + FsKeys.ino(key) + ", whose data the "
                    + "stream sent");
        }
        txn().delete(tree, key);
        if (FsKeys.type(key) == FsKeys.INODE) {
            removeExtents(FsKeys.ino(key));
        }
    }

    /** An inode removed: its extent mappings go with it, wherever they lie. */
    private void removeExtents(long file) throws IOException {
        long ino = InodeNumber.inoOf(subvolume, file);
        List<byte[]> keys = new ArrayList<>();
        Cursor cursor = txn().cursor(tree);
        for (boolean ok = cursor.seek(FsKeys.of(ino, FsKeys.EXTENT)); ok; ok = cursor.next()) {
            byte[] key = cursor.key();
            if (FsKeys.ino(key) != file || (FsKeys.type(key) != FsKeys.EXTENT
                    && FsKeys.type(key) != FsKeys.EXTENT_TREE)) {
                break;
            }
            keys.add(key);
        }
        for (byte[] key : keys) {
            txn().delete(tree, key);
        }
        touchedFiles.remove(file);
    }

    private byte[] key(byte[] p) throws FsException {
        if (p.length < 2) {
            throw refuse("record " + reader.records() + " is malformed");
        }
        int length = Bytes.getUnsignedShort(p, 0);
        if (length < 9 || length > 2 + 8 + CowFileSystem.NAME_MAX + 9 || 2 + length > p.length) {
            throw refuse("record " + reader.records() + " has a key of " + length + " bytes");
        }
        return java.util.Arrays.copyOfRange(p, 2, 2 + length);
    }

    /** A key (and value, unless null) that a subvolume tree may hold, as docs/FORMAT.md describes it. */
    private void checkItem(byte[] key, byte[] value) throws FsException {
        long ino = FsKeys.ino(key);
        byte type = FsKeys.type(key);
        boolean ok;
        if (type == FsKeys.SUBVOLUME_STATE) {
            ok = ino == 0 && key.length == 9 && (value == null || (value.length == 8
                    && Bytes.getLong(value, 0) > CowFileSystem.ROOT_INO
                    && Bytes.getLong(value, 0) <= CowFileSystem.MAX_INO + 1));
        } else if (ino < 1 || ino > CowFileSystem.MAX_INO) {
            ok = false;
        } else {
            ok = switch (type) {
                case FsKeys.INODE -> key.length == 9 && (value == null || validInode(ino, value));
                case FsKeys.DIR_NAME -> validName(key, 9, key.length) && (value == null
                        || (value.length == DirEntryLayout.BYTES
                        && validIno(Bytes.getLong(value, DirEntryLayout.INO_OFFSET))));
                case FsKeys.DIR_INDEX -> key.length == 17 && (value == null
                        || (value.length > DirPositionLayout.NAME_OFFSET
                        && validIno(Bytes.getLong(value, DirPositionLayout.INO_OFFSET))
                        && validName(value, DirPositionLayout.NAME_OFFSET, value.length)));
                case FsKeys.XATTR -> validAttributeName(key, 9, key.length) && (value == null
                        || value.length <= CowFileSystem.XATTR_VALUE_MAX);
                case FsKeys.INLINE_DATA -> key.length == 9 && (value == null || value.length <= inlineMax);
                case FsKeys.SYMLINK -> key.length == 9 && (value == null || (value.length >= 1
                        && value.length <= CowFileSystem.SYMLINK_MAX));
                case FsKeys.INODE_REF -> key.length > 17 && validIno(Bytes.getLongBigEndian(key, 9))
                        && validName(key, 17, key.length) && (value == null || value.length == 0);
                default -> false; // extents come as extent records; orphans are never sent
            };
        }
        if (!ok) {
            throw refuse("record " + reader.records() + " holds an item this filesystem cannot hold (inode " + ino
                    + ", item type " + type + ", key of " + key.length + " bytes"
                    + (value == null ? "" : ", value of " + value.length + " bytes") + ")");
        }
    }

    private static boolean validIno(long ino) {
        return ino >= 1 && ino <= CowFileSystem.MAX_INO;
    }

    private static boolean validInode(long ino, byte[] value) {
        try {
            Inode.decode(ino, value);
            return true;
        } catch (FsException e) {
            return false;
        }
    }

    /** An extended attribute's name: 1 to 255 bytes, no NUL. */
    private static boolean validAttributeName(byte[] bytes, int from, int to) {
        if (to - from < 1 || to - from > CowFileSystem.XATTR_NAME_MAX) {
            return false;
        }
        for (int i = from; i < to; i++) {
            if (bytes[i] == 0) {
                return false;
            }
        }
        return true;
    }

    /** A file name: 1 to 255 bytes, no '/' or NUL, not "." or "..". */
    static boolean validName(byte[] bytes, int from, int to) {
        int length = to - from;
        if (length < 1 || length > CowFileSystem.NAME_MAX) {
            return false;
        }
        for (int i = from; i < to; i++) {
            if (bytes[i] == '/' || bytes[i] == 0) {
                return false;
            }
        }
        return !(bytes[from] == '.' && (length == 1 || (length == 2 && bytes[from + 1] == '.')));
    }

    // ------------------------------------------------------------------ extents

    private void extent(byte[] p) throws IOException {
        if (p.length < SendRecordLayout.EXTENT_HEAD_BYTES) {
            throw refuse("record " + reader.records() + " (an extent) is malformed");
        }
        long file = Bytes.getLong(p, SendRecordLayout.EXTENT_INO_OFFSET);
        long offset = Bytes.getLong(p, SendRecordLayout.EXTENT_FILE_OFFSET_OFFSET);
        int stored = Bytes.getInt(p, SendRecordLayout.EXTENT_STORED_OFFSET);
        int logical = Bytes.getInt(p, SendRecordLayout.EXTENT_LOGICAL_OFFSET);
        int checksum = Bytes.getInt(p, SendRecordLayout.EXTENT_CHECKSUM_OFFSET);
        byte compression = p[SendRecordLayout.EXTENT_COMPRESSION_OFFSET];
        int source = p[SendRecordLayout.EXTENT_SOURCE_OFFSET];
        long argument = Bytes.getLong(p, SendRecordLayout.EXTENT_ARGUMENT_OFFSET);
        if (!streamMappings.add(file + ":" + offset)) {
            throw refuse("record " + reader.records() + " maps inode " + file + " at offset " + offset
                    + " a second time");
        }
        streamFiles.add(file);
        boolean shapeOk = validIno(file) && offset >= 0 && stored > 0 && logical > 0
                && logical <= FileData.MAX_EXTENT_BYTES && stored <= FileData.MAX_EXTENT_BYTES
                && Bytes.getUnsignedShort(p, SendRecordLayout.EXTENT_RESERVED_OFFSET) == 0
                && (source == SendRecordLayout.SOURCE_DATA
                    ? p.length == SendRecordLayout.EXTENT_HEAD_BYTES + stored && argument == 0
                    : p.length == SendRecordLayout.EXTENT_HEAD_BYTES);
        if (!shapeOk) {
            throw refuse("record " + reader.records() + " holds an extent this filesystem cannot hold (inode " + file
                    + ", offset " + offset + ")");
        }
        BlockRef extent = sourceExtent(p, source, argument, stored, logical, checksum, compression, file, offset);
        FileData.Item item;
        try {
            FileData.Item candidate = new FileData.Item(offset, extent, stored, logical,
                    Bytes.getInt(p, SendRecordLayout.EXTENT_FROM_OFFSET), Bytes.getInt(p, SendRecordLayout.EXTENT_LENGTH_OFFSET),
                    compression);
            item = FileData.Item.decode(file, offset, candidate.encode()); // the format's own checks
        } catch (FsException e) {
            throw refuse("record " + reader.records() + " holds an inconsistent extent (inode " + file + ", offset "
                    + offset + ")");
        }
        if (source == SendRecordLayout.SOURCE_DATA) {
            written.add(item);
        }
        extents.of(InodeNumber.inoOf(subvolume, file)).put(item);
        touchedFiles.add(file);
    }

    /**
     * The extent an extent record's bytes come from: written from the record (SOURCE_DATA, its checksum checked), or
     * one this stream or the base already holds, taking one more reference (its bytes must be the record's).
     */
    private BlockRef sourceExtent(byte[] p, int source, long argument, int stored, int logical, int checksum,
                                  byte compression, long file, long offset) throws IOException {
        switch (source) {
            case SendRecordLayout.SOURCE_DATA -> {
                if (compression == FileData.COMPRESSION_LZ4) {
                    checkDecompresses(p, stored, logical, file, offset);
                }
                BlockRef extent = txn().writeDataExtent(p, SendRecordLayout.EXTENT_HEAD_BYTES, stored);
                if (extent.checksum() != checksum) {
                    throw refuse("the bytes of inode " + file + "'s extent at offset " + offset + " do not match "
                            + "their checksum");
                }
                dataBytes += stored;
                return extent;
            }
            case SendRecordLayout.SOURCE_STREAM -> {
                if (argument < 0 || argument >= written.size()) {
                    throw refuse("record " + reader.records() + " refers to extent " + argument + " of the stream, "
                            + "which has sent " + written.size());
                }
                FileData.Item earlier = written.get((int) argument);
                requireSameBytes(earlier, stored, logical, checksum, compression, file, offset);
                txn().addDataExtentReference(earlier.extent());
                extentsReused++;
                return earlier.extent();
            }
            case SendRecordLayout.SOURCE_BASE -> {
                FileData.Item held = baseItem(file, argument);
                requireSameBytes(held, stored, logical, checksum, compression, file, offset);
                txn().addDataExtentReference(held.extent());
                extentsReused++;
                return held.extent();
            }
            default -> throw refuse("record " + reader.records() + " has an extent source " + source
                    + " this cowfs does not know");
        }
    }

    private void checkDecompresses(byte[] p, int stored, int logical, long file, long offset) throws FsException {
        if (scratch == null) {
            scratch = new byte[FileData.MAX_EXTENT_BYTES];
        }
        int produced;
        try {
            produced = DECOMPRESSOR.decompress(p, SendRecordLayout.EXTENT_HEAD_BYTES, stored, scratch, 0, logical);
        } catch (LZ4Exception e) {
            produced = -1;
        }
        if (produced != logical) {
            throw refuse("inode " + file + "'s compressed extent at offset " + offset + " does not decompress to its "
                    + logical + " bytes");
        }
    }

    private void requireSameBytes(FileData.Item held, int stored, int logical, int checksum, byte compression,
                                  long file, long offset) throws FsException {
        if (held.storedBytes() != stored || held.logicalBytes() != logical || held.extent().checksum() != checksum
                || held.compression() != compression) {
            throw refuse("inode " + file + "'s extent at offset " + offset + " refers to bytes the target holds "
                    + "differently");
        }
    }

    /** The base's extent item of file {@code file} at {@code offset}. */
    private FileData.Item baseItem(long file, long offset) throws IOException {
        if (base == null) {
            throw refuse("record " + reader.records() + " refers to a base snapshot, but the stream is full");
        }
        List<FileData.Item> items = new ArrayList<>();
        Cursor nested = base.nestedCursor(baseTree, ExtentItems.treeKey(file));
        if (nested != null) {
            ExtentItems.collectNested(nested, file, offset, offset + 1, items);
        } else {
            byte[] value = base.get(baseTree, FsKeys.of(file, FsKeys.EXTENT, offset));
            if (value != null) {
                items.add(FileData.Item.decode(file, offset, value));
            }
        }
        for (FileData.Item item : items) {
            if (item.offset() == offset) {
                return item;
            }
        }
        throw refuse("inode " + file + "'s extent refers to the base's extent at offset " + offset
                + ", which the target's base snapshot does not have");
    }

    private void extentDelete(byte[] p) throws IOException {
        if (p.length != SendRecordLayout.EXTENT_DELETE_BYTES || !validIno(Bytes.getLong(p, 0)) || Bytes.getLong(p, 8) < 0) {
            throw refuse("record " + reader.records() + " (an extent removal) is malformed");
        }
        long file = Bytes.getLong(p, 0);
        if (streamMappings.contains(file + ":" + Bytes.getLong(p, 8))) {
            throw refuse("record " + reader.records() + " removes a mapping of inode " + file + " that the stream "
                    + "sent");
        }
        extents.of(InodeNumber.inoOf(subvolume, file)).delete(Bytes.getLong(p, 8));
        touchedFiles.add(file);
    }

    private FsException refuse(String why) {
        return new FsException(Errno.EBADMSG, "the send stream is not valid: " + why + "; nothing was received");
    }

    static FsException refused(SendStreamException e) {
        return new FsException(Errno.EBADMSG, e.getMessage() + " (nothing was received)", e);
    }
}
