package dev.cowfs.fs.send;

import dev.cowfs.engine.format.Bytes;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The send stream's framing: round trips, and every kind of damage refused before anything is applied. */
class SendStreamTest {
    private static final UUID IMAGE = new UUID(0x1122334455667788L, 0x99AABBCCDDEEFF00L);
    private static final UUID SNAPSHOT = new UUID(7, 8);
    private static final UUID BASE = new UUID(5, 6);

    private static byte[] stream(SendHeader header, List<byte[]> payloads) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        SendStreamWriter writer = new SendStreamWriter(out, header);
        for (int i = 0; i < payloads.size(); i++) {
            writer.write(1 + i % 254, payloads.get(i), 0, payloads.get(i).length);
        }
        writer.end();
        assertEquals(out.size(), writer.bytesWritten());
        return out.toByteArray();
    }

    /** Reads the whole stream; returns its records' payloads. */
    private static List<byte[]> readAll(byte[] stream) throws IOException {
        SendStreamReader reader = new SendStreamReader(new ByteArrayInputStream(stream));
        List<byte[]> payloads = new ArrayList<>();
        for (SendStreamReader.Record record = reader.next(); record != null; record = reader.next()) {
            assertEquals(1 + payloads.size() % 254, record.type());
            payloads.add(record.payload());
        }
        assertNull(reader.next(), "nothing after the end");
        assertEquals(stream.length, reader.bytesRead());
        return payloads;
    }

    private static List<byte[]> payloads(Random random, int count, int maxBytes) {
        List<byte[]> payloads = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            byte[] payload = new byte[random.nextInt(maxBytes + 1)];
            random.nextBytes(payload);
            payloads.add(payload);
        }
        return payloads;
    }

    @Test
    void fullAndIncrementalStreamsReadBackExactly() throws IOException {
        Random random = new Random(1);
        List<byte[]> payloads = payloads(random, 300, 3000);
        payloads.add(new byte[0]);
        payloads.add(new byte[SendStreamLayout.MAX_PAYLOAD_BYTES]);
        for (SendHeader header : List.of(new SendHeader(IMAGE, SNAPSHOT, null), new SendHeader(IMAGE, SNAPSHOT, BASE))) {
            byte[] stream = stream(header, payloads);
            assertEquals(header, new SendStreamReader(new ByteArrayInputStream(stream)).header());
            List<byte[]> back = readAll(stream);
            assertEquals(payloads.size(), back.size());
            for (int i = 0; i < payloads.size(); i++) {
                assertArrayEquals(payloads.get(i), back.get(i), "record " + (i + 1));
            }
        }
    }

    @Test
    void everyDamagedByteAndEveryCutIsRefused() throws IOException {
        byte[] stream = stream(new SendHeader(IMAGE, SNAPSHOT, BASE), payloads(new Random(2), 6, 40));
        for (int at = 0; at < stream.length; at++) {
            for (int bit : new int[] {0, 7}) {
                byte[] damaged = stream.clone();
                damaged[at] ^= (byte) (1 << bit);
                assertThrows(SendStreamException.class, () -> readAll(damaged), "bit " + bit + " of byte " + at);
            }
        }
        for (int length = 0; length < stream.length; length++) {
            byte[] cut = Arrays.copyOf(stream, length);
            SendStreamException e = assertThrows(SendStreamException.class, () -> readAll(cut), "cut at " + length);
            assertTrue(e.getMessage().contains(length < 8 ? "not a cowfs send stream" : "cut short"),
                    e.getMessage());
        }
        byte[] longer = Arrays.copyOf(stream, stream.length + 1);
        assertTrue(assertThrows(SendStreamException.class, () -> readAll(longer)).getMessage()
                .contains("bytes follow the end"));
    }

    @Test
    void recordsReorderedDroppedRepeatedOrFromAnotherStreamAreRefused() throws IOException {
        List<byte[]> payloads = List.of(new byte[] {1}, new byte[] {2, 2}, new byte[] {3, 3, 3});
        byte[] stream = stream(new SendHeader(IMAGE, SNAPSHOT, null), payloads);
        int first = SendStreamLayout.HEADER_BYTES;
        int[] starts = new int[4];
        starts[0] = first;
        for (int i = 0; i < 3; i++) {
            starts[i + 1] = starts[i] + SendStreamLayout.RECORD_HEAD_BYTES + payloads.get(i).length
                    + SendStreamLayout.RECORD_CHECKSUM_BYTES;
        }
        byte[] r1 = Arrays.copyOfRange(stream, starts[0], starts[1]);
        byte[] r2 = Arrays.copyOfRange(stream, starts[1], starts[2]);
        byte[] r3 = Arrays.copyOfRange(stream, starts[2], starts[3]);
        byte[] header = Arrays.copyOf(stream, first);
        byte[] end = Arrays.copyOfRange(stream, starts[3], stream.length);
        assertEquals(3, readAll(concat(header, r1, r2, r3, end)).size(), "the pieces put back in order");
        assertThrows(SendStreamException.class, () -> readAll(concat(header, r2, r1, r3, end)), "reordered");
        assertThrows(SendStreamException.class, () -> readAll(concat(header, r1, r3, end)), "dropped");
        assertThrows(SendStreamException.class, () -> readAll(concat(header, r1, r1, r2, r3, end)), "repeated");
        byte[] other = stream(new SendHeader(IMAGE, new UUID(9, 9), null), payloads);
        byte[] otherR2 = Arrays.copyOfRange(other, starts[1], starts[2]);
        assertThrows(SendStreamException.class, () -> readAll(concat(header, r1, otherR2, r3, end)), "spliced");
    }

    @Test
    void aHugeLengthIsRefusedBeforeAnyMemoryIsTaken() throws IOException {
        byte[] stream = stream(new SendHeader(IMAGE, SNAPSHOT, null), List.of(new byte[10]));
        for (int length : new int[] {Integer.MAX_VALUE, -1, SendStreamLayout.MAX_PAYLOAD_BYTES + 1}) {
            byte[] damaged = stream.clone();
            Bytes.putInt(damaged, SendStreamLayout.HEADER_BYTES + SendStreamLayout.RECORD_LENGTH_OFFSET, length);
            SendStreamException e = assertThrows(SendStreamException.class, () -> readAll(damaged));
            assertTrue(e.getMessage().startsWith("record 1 of the send stream is damaged"), e.getMessage());
        }
    }

    @Test
    void aRefusedRecordLeavesTheWriterWholeAndStopsTheReader() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        SendStreamWriter writer = new SendStreamWriter(out, new SendHeader(IMAGE, SNAPSHOT, null));
        writer.write(1, new byte[] {1, 2}, 0, 2);
        assertThrows(IllegalArgumentException.class,
                () -> writer.write(2, new byte[SendStreamLayout.MAX_PAYLOAD_BYTES + 1], 0,
                        SendStreamLayout.MAX_PAYLOAD_BYTES + 1));
        writer.write(2, new byte[] {3}, 0, 1);
        writer.end();
        assertEquals(2, readAll(out.toByteArray()).size(), "the refused record is not counted");

        byte[] damaged = out.toByteArray();
        damaged[SendStreamLayout.HEADER_BYTES + SendStreamLayout.RECORD_HEAD_BYTES] ^= 1;
        SendStreamReader reader = new SendStreamReader(new ByteArrayInputStream(damaged));
        SendStreamException first = assertThrows(SendStreamException.class, reader::next);
        assertEquals(first, assertThrows(SendStreamException.class, reader::next), "no reading on after a refusal");
    }

    @Test
    void otherInputIsNotTakenForAStream() {
        for (byte[] input : new byte[][] {new byte[0], "hello, this is not a stream".getBytes(), new byte[200]}) {
            SendStreamException e = assertThrows(SendStreamException.class, () -> readAll(input));
            assertTrue(e.getMessage().startsWith("not a cowfs send stream"), e.getMessage());
        }
    }

    private static final Pattern ROW = Pattern.compile("^\\| (\\d+) \\| (\\d+) \\| ([A-Z_0-9]+) \\|.*");

    /** docs/SEND.md's tables are the specification: every documented field agrees with the layout constants. */
    @Test
    void theDocumentedTablesMatchTheLayout() throws Exception {
        Path doc = Path.of(System.getProperty("user.dir")).resolveSibling("docs").resolve("SEND.md");
        int rows = 0;
        for (String line : Files.readAllLines(doc)) {
            if (line.startsWith("# Records of a snapshot")) {
                break; // what records say is pinned by SendReceiveTest
            }
            Matcher row = ROW.matcher(line);
            if (row.matches()) {
                String constant = row.group(3) + "_OFFSET";
                assertEquals(Integer.parseInt(row.group(1)), SendStreamLayout.class.getField(constant).getInt(null),
                        constant);
                rows++;
            }
        }
        assertEquals(14, rows, "header, record and end record fields");
        assertEquals(80, SendStreamLayout.HEADER_BYTES);
        assertEquals(SendStreamLayout.HEADER_BYTES, SendStreamLayout.HEADER_CHECKSUM_OFFSET + 4);
        assertEquals(16, SendStreamLayout.END_PAYLOAD_BYTES);
        byte[] magic = new byte[8];
        Bytes.putLong(magic, 0, SendStreamLayout.MAGIC);
        assertEquals("cowfsSND", new String(magic, java.nio.charset.StandardCharsets.US_ASCII));
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }
}
