package dev.cowfs.engine.device;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/** CRC32C, the checksum of every block, extent and superblock. */
public final class Checksums {
    private Checksums() {
    }

    public static int crc32c(byte[] bytes, int offset, int length) {
        CRC32C crc = new CRC32C(); // small and short-lived; cheaper than a thread-local lookup
        crc.update(bytes, offset, length);
        return (int) crc.getValue();
    }

    /** The checksum of {@code length} bytes of {@code bytes} from {@code index}; its position and limit stay. */
    public static int crc32c(ByteBuffer bytes, int index, int length) {
        CRC32C crc = new CRC32C();
        crc.update(bytes.slice(index, length));
        return (int) crc.getValue();
    }
}
