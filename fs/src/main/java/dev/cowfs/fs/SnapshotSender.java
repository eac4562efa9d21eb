package dev.cowfs.fs;

import dev.cowfs.engine.ReadTransaction;
import dev.cowfs.engine.format.Bytes;
import dev.cowfs.fs.send.SendHeader;
import dev.cowfs.fs.send.SendRecordLayout;
import dev.cowfs.fs.send.SendStreamWriter;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongConsumer;

/**
 * Writes a snapshot as a send stream (docs/SEND.md): whole, or as its changes since a base snapshot, found by
 * the engine's tree diff so that the cost follows the change. Items go as they are; each file's extent
 * mappings go with their stored bytes, except where the receiver already holds the bytes: an extent sent
 * earlier in the stream, or one the base's same file references.
 */
final class SnapshotSender implements SnapshotChanges.Sink {
    /** What a send wrote. */
    record Summary(long records, long streamBytes, long dataBytes, long extentsSent, long extentsReused,
                   byte[] contentHash, long itemsAdded, long itemsRemoved) {
    }

    private final ReadTransaction read;
    private final SendStreamWriter writer;
    private final LongConsumer progress;
    private final ContentHash hash = new ContentHash();
    /** Extents sent with their bytes in this stream: first block -> number (in the order they were sent). */
    private final Map<Long, Long> sentExtents = new HashMap<>();
    private final byte[] buffer = new byte[SendRecordLayout.EXTENT_HEAD_BYTES + FileData.MAX_EXTENT_BYTES];
    private long dataBytes;
    private long extentsReused;

    private SnapshotSender(ReadTransaction read, SendStreamWriter writer, LongConsumer progress) {
        this.read = read;
        this.writer = writer;
        this.progress = progress;
    }

    static Summary send(ReadTransaction read, SubvolumeInfo snapshot, SubvolumeInfo base, OutputStream out,
                        LongConsumer progress) throws IOException {
        SendHeader header = new SendHeader(read.imageUuid(), snapshot.origin(), base == null ? null : base.origin());
        SendStreamWriter writer = new SendStreamWriter(out, header);
        SnapshotSender sender = new SnapshotSender(read, writer, progress);
        sender.writeSnapshotRecord(snapshot);
        long tree = InodeNumber.treeOfSubvolume(snapshot.id());
        long baseTree = base == null ? -1 : InodeNumber.treeOfSubvolume(base.id());
        SnapshotChanges.walk(read, baseTree, tree, sender);
        byte[] contentHash = sender.hash.toBytes();
        byte[] payload = new byte[SendRecordLayout.CONTENT_HASH_BYTES];
        System.arraycopy(contentHash, 0, payload, 0, ContentHash.BYTES);
        Bytes.putLong(payload, ContentHash.BYTES, sender.hash.itemsAdded());
        Bytes.putLong(payload, ContentHash.BYTES + 8, sender.hash.itemsRemoved());
        writer.write(SendRecordLayout.CONTENT_HASH, payload, 0, payload.length);
        writer.end();
        progress.accept(writer.bytesWritten());
        return new Summary(writer.records(), writer.bytesWritten(), sender.dataBytes, sender.sentExtents.size(),
                sender.extentsReused, contentHash, sender.hash.itemsAdded(), sender.hash.itemsRemoved());
    }

    private void writeSnapshotRecord(SubvolumeInfo snapshot) throws IOException {
        byte[] name = snapshot.name().getBytes(StandardCharsets.UTF_8);
        byte[] payload = new byte[10 + name.length];
        Bytes.putLong(payload, 0, snapshot.createdMillis());
        Bytes.putShort(payload, 8, name.length);
        System.arraycopy(name, 0, payload, 10, name.length);
        writer.write(SendRecordLayout.SNAPSHOT, payload, 0, payload.length);
    }

    @Override
    public void item(byte[] key, byte[] before, byte[] after) throws IOException {
        hash.item(key, before, after);
        if (after != null) {
            byte[] payload = new byte[2 + key.length + after.length];
            Bytes.putShort(payload, 0, key.length);
            System.arraycopy(key, 0, payload, 2, key.length);
            System.arraycopy(after, 0, payload, 2 + key.length, after.length);
            write(SendRecordLayout.ITEM_PUT, payload, payload.length);
        } else {
            byte[] payload = new byte[2 + key.length];
            Bytes.putShort(payload, 0, key.length);
            System.arraycopy(key, 0, payload, 2, key.length);
            write(SendRecordLayout.ITEM_DELETE, payload, payload.length);
        }
    }

    @Override
    public void extents(long ino, List<FileData.Item> removed, List<FileData.Item> added, boolean gone)
            throws IOException {
        hash.extents(ino, removed, added);
        if (gone) {
            return; // the inode's removal takes its extents with it
        }
        Set<Long> replaced = new HashSet<>();
        for (FileData.Item item : added) {
            replaced.add(item.offset());
        }
        Map<Long, FileData.Item> baseHolds = new HashMap<>();
        for (FileData.Item item : removed) {
            baseHolds.putIfAbsent(item.extent().blockIndex(), item);
            if (!replaced.contains(item.offset())) {
                byte[] payload = new byte[SendRecordLayout.EXTENT_DELETE_BYTES];
                Bytes.putLong(payload, 0, ino);
                Bytes.putLong(payload, 8, item.offset());
                write(SendRecordLayout.EXTENT_DELETE, payload, payload.length);
            }
        }
        for (FileData.Item item : added) {
            Long number = sentExtents.get(item.extent().blockIndex());
            FileData.Item inBase = baseHolds.get(item.extent().blockIndex());
            int source;
            long argument;
            int length = SendRecordLayout.EXTENT_HEAD_BYTES;
            if (number != null) {
                source = SendRecordLayout.SOURCE_STREAM;
                argument = number;
                extentsReused++;
            } else if (inBase != null) {
                source = SendRecordLayout.SOURCE_BASE;
                argument = inBase.offset();
                extentsReused++;
            } else {
                source = SendRecordLayout.SOURCE_DATA;
                argument = 0;
                read.readDataExtent(item.extent(), item.storedBytes(), 0, buffer, SendRecordLayout.EXTENT_HEAD_BYTES,
                        item.storedBytes());
                length += item.storedBytes();
                sentExtents.put(item.extent().blockIndex(), (long) sentExtents.size());
                dataBytes += item.storedBytes();
            }
            SendRecords.putMapping(buffer, 0, ino, item);
            buffer[SendRecordLayout.EXTENT_SOURCE_OFFSET] = (byte) source;
            Bytes.putShort(buffer, SendRecordLayout.EXTENT_RESERVED_OFFSET, 0);
            Bytes.putLong(buffer, SendRecordLayout.EXTENT_ARGUMENT_OFFSET, argument);
            write(SendRecordLayout.EXTENT, buffer, length);
        }
    }

    private void write(int type, byte[] payload, int length) throws IOException {
        writer.write(type, payload, 0, length);
        progress.accept(writer.bytesWritten());
    }
}
