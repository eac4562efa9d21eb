package dev.cowfs.fs.send;

import dev.cowfs.engine.format.Bytes;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.UUID;

/**
 * Reads and checks a send stream written by {@link SendStreamWriter}. Nothing read is trusted: the header's
 * magic, version and checksum, every record's length (checked against the limit before anything is allocated)
 * and chained checksum, the end record's count and hash, and that nothing follows it. Any failure is a
 * {@link SendStreamException} that says what is wrong, where, and what to do, and the reader refuses to go on
 * after it. Records come out before the end record is checked: a receiver stages what it applies and keeps it
 * only once {@link #next()} has returned null.
 */
public final class SendStreamReader {
    /** One record: its type (1 to 254) and payload. */
    public record Record(int type, byte[] payload) {
    }

    private final InputStream in;
    private final SendHeader header;
    private final byte[] head = new byte[SendStreamLayout.RECORD_HEAD_BYTES];
    private final byte[] checksum = new byte[SendStreamLayout.RECORD_CHECKSUM_BYTES];
    private final StreamHash contents = new StreamHash();
    private int previousChecksum;
    private long records;
    private long bytesRead;
    private boolean ended;
    /** Set by the first refusal: a stream that failed once is not read further (its offsets are lost). */
    private SendStreamException failed;

    public SendStreamReader(InputStream in) throws IOException {
        this.in = in;
        byte[] bytes = new byte[SendStreamLayout.HEADER_BYTES];
        int got = in.readNBytes(bytes, 0, bytes.length);
        if (got < 8 || Bytes.getLong(bytes, SendStreamLayout.MAGIC_OFFSET) != SendStreamLayout.MAGIC) {
            throw new SendStreamException("not a cowfs send stream (it does not start with the send stream "
                    + "magic); give receive the output of cowfs send");
        }
        if (got < bytes.length) {
            throw new SendStreamException("the send stream ends inside its header: it was cut short; send it "
                    + "again");
        }
        int version = Bytes.getUnsignedShort(bytes, SendStreamLayout.VERSION_OFFSET);
        if (version != SendStreamLayout.VERSION) {
            throw new SendStreamException("send stream version " + version + " is not supported (this cowfs "
                    + "reads version " + SendStreamLayout.VERSION + "); receive it with the cowfs that sent it");
        }
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(bytes, 0, SendStreamLayout.HEADER_CHECKSUM_OFFSET);
        int expected = Bytes.getInt(bytes, SendStreamLayout.HEADER_CHECKSUM_OFFSET);
        if ((int) crc.getValue() != expected) {
            throw new SendStreamException("the send stream's header is damaged (checksum mismatch); send it "
                    + "again");
        }
        int flags = Bytes.getUnsignedShort(bytes, SendStreamLayout.FLAGS_OFFSET);
        if ((flags & ~SendStreamLayout.FLAG_INCREMENTAL) != 0) {
            throw new SendStreamException("the send stream uses features this cowfs does not know (flags "
                    + Integer.toHexString(flags) + "); receive it with the cowfs that sent it");
        }
        UUID base = uuid(bytes, SendStreamLayout.BASE_UUID_OFFSET);
        if (((flags & SendStreamLayout.FLAG_INCREMENTAL) != 0) != (base != null)) {
            throw new SendStreamException("the send stream's header is inconsistent (incremental flag and base "
                    + "snapshot disagree); send it again");
        }
        UUID image = uuid(bytes, SendStreamLayout.IMAGE_UUID_OFFSET);
        UUID snapshot = uuid(bytes, SendStreamLayout.SNAPSHOT_UUID_OFFSET);
        if (image == null || snapshot == null) {
            throw new SendStreamException("the send stream's header names no image or snapshot; send it again");
        }
        if (Bytes.getInt(bytes, SendStreamLayout.HEADER_RESERVED_OFFSET) != 0
                || !allZero(bytes, SendStreamLayout.HEADER_RESERVED2_OFFSET, SendStreamLayout.HEADER_CHECKSUM_OFFSET)) {
            throw new SendStreamException("the send stream's header has reserved bytes set: it comes from a newer "
                    + "cowfs; receive it with the cowfs that sent it");
        }
        this.header = new SendHeader(image, snapshot, base);
        previousChecksum = expected;
        bytesRead = bytes.length;
    }

    private static boolean allZero(byte[] bytes, int from, int to) {
        for (int i = from; i < to; i++) {
            if (bytes[i] != 0) {
                return false;
            }
        }
        return true;
    }

    public SendHeader header() {
        return header;
    }

    /**
     * The next record, or null after the end record, which is checked (record count, hash, nothing
     * after it).
     */
    public Record next() throws IOException {
        if (failed != null) {
            throw failed;
        }
        if (ended) {
            return null;
        }
        try {
            return readRecord();
        } catch (SendStreamException e) {
            failed = e;
            throw e;
        }
    }

    private Record readRecord() throws IOException {
        long index = records + 1;
        readFully(head, head.length, index);
        int type = head[SendStreamLayout.RECORD_TYPE_OFFSET] & 0xFF;
        int length = Bytes.getInt(head, SendStreamLayout.RECORD_LENGTH_OFFSET);
        if (type == 0 || head[1] != 0 || head[2] != 0 || head[3] != 0 || length < 0
                || length > SendStreamLayout.MAX_PAYLOAD_BYTES
                || (type == SendStreamLayout.TYPE_END && length != SendStreamLayout.END_PAYLOAD_BYTES)) {
            throw new SendStreamException("record " + index + " of the send stream is damaged (type " + type
                    + ", length " + length + "); send it again");
        }
        byte[] payload = new byte[length];
        readFully(payload, length, index);
        readFully(checksum, checksum.length, index);
        int actual = SendStreamWriter.chainedChecksum(previousChecksum, head, payload, 0, length);
        if (actual != Bytes.getInt(checksum, 0)) {
            throw new SendStreamException("record " + index + " of the send stream is damaged or out of order "
                    + "(checksum mismatch); send it again");
        }
        previousChecksum = actual;
        bytesRead += head.length + length + checksum.length;
        if (type == SendStreamLayout.TYPE_END) {
            checkEnd(payload);
            return null;
        }
        contents.record(type, payload, 0, payload.length);
        records++;
        return new Record(type, payload);
    }

    public long records() {
        return records;
    }

    public long bytesRead() {
        return bytesRead;
    }

    private void checkEnd(byte[] payload) throws IOException {
        long count = Bytes.getLong(payload, SendStreamLayout.END_COUNT_OFFSET);
        byte[] hash = Arrays.copyOfRange(payload, SendStreamLayout.END_HASH_OFFSET,
                SendStreamLayout.END_HASH_OFFSET + SendStreamLayout.END_HASH_BYTES);
        if (count != records || !Arrays.equals(hash, contents.value())) {
            throw new SendStreamException("the send stream's records do not match its end record (" + records
                    + " read, " + count + " sent); send it again");
        }
        if (in.read() != -1) {
            throw new SendStreamException("bytes follow the end of the send stream; give receive one stream at "
                    + "a time");
        }
        ended = true;
    }

    private void readFully(byte[] into, int length, long index) throws IOException {
        int got = in.readNBytes(into, 0, length);
        if (got < length) {
            throw new SendStreamException("the send stream ends inside record " + index + ": it was cut short; "
                    + "send it again");
        }
    }

    private static UUID uuid(byte[] bytes, int offset) {
        long most = Bytes.getLong(bytes, offset);
        long least = Bytes.getLong(bytes, offset + 8);
        return most == 0 && least == 0 ? null : new UUID(most, least);
    }
}
