package dev.cowfs.engine.format;

import dev.cowfs.engine.format.BlockRefLayout;
import dev.cowfs.engine.format.Bytes;

/**
 * A reference to a block or extent: where it is, how many blocks it spans, the CRC32C of its bytes and the
 * generation that wrote it. Every reference is verified against the bytes it points to before they are used.
 */
public record BlockRef(long blockIndex, long birthGeneration, int checksum, int blockCount) {

    public void encode(byte[] dst, int offset) {
        Bytes.putLong(dst, offset + BlockRefLayout.BLOCK_INDEX_OFFSET, blockIndex);
        Bytes.putLong(dst, offset + BlockRefLayout.BIRTH_OFFSET, birthGeneration);
        Bytes.putInt(dst, offset + BlockRefLayout.CHECKSUM_OFFSET, checksum);
        Bytes.putInt(dst, offset + BlockRefLayout.BLOCK_COUNT_OFFSET, blockCount);
    }

    public static BlockRef decode(byte[] src, int offset) {
        return new BlockRef(Bytes.getLong(src, offset + BlockRefLayout.BLOCK_INDEX_OFFSET),
                Bytes.getLong(src, offset + BlockRefLayout.BIRTH_OFFSET),
                Bytes.getInt(src, offset + BlockRefLayout.CHECKSUM_OFFSET),
                Bytes.getInt(src, offset + BlockRefLayout.BLOCK_COUNT_OFFSET));
    }

    public byte[] toBytes() {
        byte[] bytes = new byte[BlockRefLayout.BYTES];
        encode(bytes, 0);
        return bytes;
    }

    @Override
    public String toString() {
        return "block " + blockIndex + (blockCount == 1 ? "" : "+" + blockCount) + " (birth " + birthGeneration
                + ", crc32c " + String.format("%08x", checksum) + ")";
    }
}
