package dev.cowfs.crash;

import java.util.Locale;

/**
 * Data that says where it belongs (fsx style): the 8-byte word at file offset {@code 8k} holds the writing
 * operation's tag, the file's tag and {@code k}, so a block found in the wrong place names the write, file and
 * offset it came from. Bytes are a pure function of (tag, file, offset), whatever the write's alignment.
 */
public final class DataPattern {
    private DataPattern() {
    }

    /** The byte at {@code offset} of {@code file} written by operation {@code tag}. */
    public static byte byteAt(int tag, int fileTag, long offset) {
        long word = word(tag, fileTag, offset >>> 3);
        return (byte) (word >>> (8 * (offset & 7)));
    }

    private static long word(int tag, int fileTag, long wordIndex) {
        return ((long) (tag & 0xffff) << 48) | ((long) (fileTag & 0xff) << 40) | (wordIndex & 0xff_ffff_ffffL);
    }

    public static byte[] bytes(int tag, int fileTag, long offset, int length) {
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++) {
            bytes[i] = byteAt(tag, fileTag, offset + i);
        }
        return bytes;
    }

    /** A stable small tag for a path. */
    public static int fileTag(String path) {
        return path.hashCode() & 0xff;
    }

    /** What the aligned word at {@code offset} of {@code bytes} (file offset {@code base}) says about itself. */
    public static String explain(byte[] bytes, int index, long fileOffset) {
        int start = index - (int) (fileOffset & 7);
        if (start < 0 || start + 8 > bytes.length) {
            return "byte " + (bytes[index] & 0xff);
        }
        long word = 0;
        for (int i = 7; i >= 0; i--) {
            word = (word << 8) | (bytes[start + i] & 0xff);
        }
        if (word == 0) {
            return "zeros";
        }
        return String.format(Locale.ROOT, "data of write #%d to file tag %d at offset %d", word >>> 48,
                (word >>> 40) & 0xff, (word & 0xff_ffff_ffffL) * 8);
    }
}
