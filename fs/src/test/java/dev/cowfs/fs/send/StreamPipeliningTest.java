package dev.cowfs.fs.send;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Read-ahead and write-behind pass every byte in order, and pass failures on to the caller. */
class StreamPipeliningTest {
    @Test
    void bytesGoThroughInOrderWhateverTheSizesOfReadsAndWrites() throws Exception {
        Random random = new Random(4);
        byte[] data = new byte[5_000_000];
        random.nextBytes(data);
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        try (OutputStream behind = StreamPipelining.writeBehind(sink)) {
            for (int at = 0; at < data.length; ) {
                int n = Math.min(data.length - at, random.nextInt(3) == 0 ? 1 : random.nextInt(700_000));
                if (n == 1) {
                    behind.write(data[at]);
                } else {
                    behind.write(data, at, n);
                }
                at += n;
                if (random.nextInt(10) == 0) {
                    behind.flush();
                    assertEquals(at, sink.size(), "flush returns once every byte has reached the stream");
                }
            }
        }
        assertArrayEquals(data, sink.toByteArray());
        ByteArrayOutputStream read = new ByteArrayOutputStream();
        try (InputStream ahead = StreamPipelining.readAhead(new ByteArrayInputStream(data))) {
            byte[] buffer = new byte[1 << 20];
            for (int n; (n = random.nextInt(5) == 0 ? single(ahead, buffer) : ahead.read(buffer, 0,
                    1 + random.nextInt(buffer.length))) >= 0; ) {
                read.write(buffer, 0, n);
            }
            assertEquals(-1, ahead.read(), "the end stays the end");
        }
        assertArrayEquals(data, read.toByteArray());
    }

    private static int single(InputStream in, byte[] buffer) throws IOException {
        int b = in.read();
        if (b < 0) {
            return -1;
        }
        buffer[0] = (byte) b;
        return 1;
    }

    @Test
    void aFailingStreamFailsTheCaller() {
        OutputStream broken = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                throw new IOException("Broken pipe");
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                throw new IOException("Broken pipe");
            }
        };
        IOException written = assertThrows(IOException.class, () -> {
            try (OutputStream behind = StreamPipelining.writeBehind(broken)) {
                for (int i = 0; i < 1000; i++) {
                    behind.write(new byte[100_000]);
                }
            }
        });
        assertTrue(written.getMessage().contains("Broken pipe"), written.getMessage());

        InputStream failing = new InputStream() {
            private int left = 300_000;

            @Override
            public int read() throws IOException {
                if (left-- > 0) {
                    return 7;
                }
                throw new IOException("Connection reset");
            }
        };
        IOException read = assertThrows(IOException.class, () -> {
            try (InputStream ahead = StreamPipelining.readAhead(failing)) {
                ahead.readAllBytes();
            }
        });
        assertTrue(read.getMessage().contains("Connection reset"), read.getMessage());
    }

    /** A stream that throws something other than an I/O error must not leave the other side waiting. */
    @Test
    void anUncheckedFailureOfTheStreamEndsTheWaitToo() {
        InputStream bursting = new InputStream() {
            @Override
            public int read() {
                throw new IllegalStateException("the source broke");
            }
        };
        IOException read = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(
                java.time.Duration.ofSeconds(20), () -> assertThrows(IOException.class, () -> {
                    try (InputStream ahead = StreamPipelining.readAhead(bursting)) {
                        ahead.readAllBytes();
                    }
                }));
        assertTrue(read.getMessage().contains("the source broke"), read.getMessage());
        OutputStream bursts = new OutputStream() {
            @Override
            public void write(int b) {
                throw new IllegalStateException("the sink broke");
            }

            @Override
            public void write(byte[] b, int off, int len) {
                throw new IllegalStateException("the sink broke");
            }
        };
        IOException written = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(
                java.time.Duration.ofSeconds(20), () -> assertThrows(IOException.class, () -> {
                    try (OutputStream behind = StreamPipelining.writeBehind(bursts)) {
                        for (int i = 0; i < 1000; i++) {
                            behind.write(new byte[100_000]);
                        }
                    }
                }));
        assertTrue(written.getMessage().contains("the sink broke"), written.getMessage());
    }
}
