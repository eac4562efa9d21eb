package dev.cowfs.fs.send;

import dev.cowfs.engine.format.Bytes;

import java.io.IOException;
import java.io.OutputStream;
import java.util.UUID;
import java.util.zip.CRC32C;

/**
 * Writes a send stream: the header at construction, then records, then the end record with their count and an
 * XXH64 hash over every record's type and payload. Each record's checksum covers the previous checksum too, so a
 * receiver notices a record dropped, repeated, reordered or taken from another stream.
 */
public final class SendStreamWriter {
    private final OutputStream out;
    private final byte[] head = new byte[SendStreamLayout.RECORD_HEAD_BYTES];
    private final byte[] checksum = new byte[SendStreamLayout.RECORD_CHECKSUM_BYTES];
    private final StreamHash contents = new StreamHash();
    private int previousChecksum;
    private long records;
    private long bytesWritten;
    private boolean ended;

    public SendStreamWriter(OutputStream out, SendHeader header) throws IOException {
        this.out = out;
        byte[] bytes = new byte[SendStreamLayout.HEADER_BYTES];
        Bytes.putLong(bytes, SendStreamLayout.MAGIC_OFFSET, SendStreamLayout.MAGIC);
        Bytes.putShort(bytes, SendStreamLayout.VERSION_OFFSET, (short) SendStreamLayout.VERSION);
        Bytes.putShort(bytes, SendStreamLayout.FLAGS_OFFSET,
                (short) (header.incremental() ? SendStreamLayout.FLAG_INCREMENTAL : 0));
        putUuid(bytes, SendStreamLayout.IMAGE_UUID_OFFSET, header.image());
        putUuid(bytes, SendStreamLayout.SNAPSHOT_UUID_OFFSET, header.snapshot());
        putUuid(bytes, SendStreamLayout.BASE_UUID_OFFSET, header.base());
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, SendStreamLayout.HEADER_CHECKSUM_OFFSET);
        previousChecksum = (int) crc.getValue();
        Bytes.putInt(bytes, SendStreamLayout.HEADER_CHECKSUM_OFFSET, previousChecksum);
        out.write(bytes);
        bytesWritten = bytes.length;
    }

    /** Writes one record of type 1 to 254 with {@code length} payload bytes of {@code payload} from {@code offset}. */
    public void write(int type, byte[] payload, int offset, int length) throws IOException {
        if (type < 1 || type >= SendStreamLayout.TYPE_END) {
            throw new IllegalArgumentException("record type " + type + " is not 1 to 254");
        }
        writeRecord(type, payload, offset, length); // checks the length first
        contents.record(type, payload, offset, length);
        records++;
    }

    /** Writes the end record; nothing may follow. */
    public void end() throws IOException {
        byte[] payload = new byte[SendStreamLayout.END_PAYLOAD_BYTES];
        Bytes.putLong(payload, SendStreamLayout.END_COUNT_OFFSET, records);
        System.arraycopy(contents.value(), 0, payload, SendStreamLayout.END_HASH_OFFSET,
                SendStreamLayout.END_HASH_BYTES);
        writeRecord(SendStreamLayout.TYPE_END, payload, 0, payload.length);
        ended = true;
        out.flush();
    }

    public long records() {
        return records;
    }

    public long bytesWritten() {
        return bytesWritten;
    }

    private void writeRecord(int type, byte[] payload, int offset, int length) throws IOException {
        if (ended) {
            throw new IllegalStateException("the stream has ended");
        }
        if (length < 0 || length > SendStreamLayout.MAX_PAYLOAD_BYTES) {
            throw new IllegalArgumentException("a record holds at most " + SendStreamLayout.MAX_PAYLOAD_BYTES
                    + " bytes, not " + length);
        }
        head[SendStreamLayout.RECORD_TYPE_OFFSET] = (byte) type;
        Bytes.putInt(head, SendStreamLayout.RECORD_LENGTH_OFFSET, length);
        previousChecksum = chainedChecksum(previousChecksum, head, payload, offset, length);
        Bytes.putInt(checksum, 0, previousChecksum);
        out.write(head);
        out.write(payload, offset, length);
        out.write(checksum);
        bytesWritten += head.length + length + checksum.length;
    }

    /** CRC32C over the previous checksum, the record head and the payload. */
    static int chainedChecksum(int previous, byte[] head, byte[] payload, int offset, int length) {
        byte[] chain = new byte[4];
        Bytes.putInt(chain, 0, previous);
        CRC32C crc = new CRC32C();
        crc.update(chain);
        crc.update(head, 0, SendStreamLayout.RECORD_HEAD_BYTES);
        crc.update(payload, offset, length);
        return (int) crc.getValue();
    }

    static void putUuid(byte[] bytes, int offset, UUID uuid) {
        if (uuid != null) {
            Bytes.putLong(bytes, offset, uuid.getMostSignificantBits());
            Bytes.putLong(bytes, offset + 8, uuid.getLeastSignificantBits());
        }
    }
}
