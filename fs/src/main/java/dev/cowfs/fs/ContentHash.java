package dev.cowfs.fs;

import dev.cowfs.engine.format.Bytes;
import dev.cowfs.fs.send.SendRecordLayout;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;

/**
 * The content hash of a subvolume's logical contents: a sum, lane by lane (four 64-bit lanes, each modulo
 * 2^64), of the SHA-256 of every item. Being a sum, it can be moved from a base snapshot to a later one by
 * adding the items the later one has and subtracting those it lost, at a cost that follows the change.
 * Items are taken logically, so that two images holding the same files hash alike whatever their blocks:
 * every item of the subvolume tree but extents (key and value, out-of-line values read in full) and every
 * extent mapping of every file (its offset, range and the checksum of its stored bytes, not where they lie).
 * See docs/SEND.md. It checks that a receiver rebuilt what the sender had; it is not a signature.
 */
final class ContentHash {
    static final int BYTES = SendRecordLayout.CONTENT_HASH_DIGEST_BYTES;
    private static final byte ITEM = 1;
    private static final byte EXTENT = 2;

    private final long[] lanes = new long[4];
    private final MessageDigest sha = sha256();
    private long added;
    private long removed;

    void item(byte[] key, byte[] before, byte[] after) {
        if (before != null) {
            apply(itemDigest(key, before), -1);
            removed++;
        }
        if (after != null) {
            apply(itemDigest(key, after), +1);
            added++;
        }
    }

    void extents(long ino, List<FileData.Item> before, List<FileData.Item> after) {
        for (FileData.Item item : before) {
            apply(extentDigest(ino, item), -1);
            removed++;
        }
        for (FileData.Item item : after) {
            apply(extentDigest(ino, item), +1);
            added++;
        }
    }

    long itemsAdded() {
        return added;
    }

    long itemsRemoved() {
        return removed;
    }

    byte[] toBytes() {
        byte[] bytes = new byte[BYTES];
        for (int i = 0; i < 4; i++) {
            Bytes.putLong(bytes, 8 * i, lanes[i]);
        }
        return bytes;
    }

    static String hex(byte[] hash) {
        StringBuilder text = new StringBuilder();
        for (byte b : hash) {
            text.append(String.format("%02x", b));
        }
        return text.toString();
    }

    private void apply(byte[] digest, int sign) {
        for (int i = 0; i < 4; i++) {
            lanes[i] += sign * Bytes.getLong(digest, 8 * i);
        }
    }

    private byte[] itemDigest(byte[] key, byte[] value) {
        byte[] head = new byte[7];
        head[0] = ITEM;
        Bytes.putShort(head, 1, key.length);
        Bytes.putInt(head, 3, value.length);
        sha.update(head);
        sha.update(key);
        sha.update(value);
        return sha.digest();
    }

    private byte[] extentDigest(long ino, FileData.Item item) {
        byte[] bytes = new byte[1 + SendRecordLayout.MAPPING_BYTES + 4]; // 42: the type, the mapping, four zeros
        bytes[0] = EXTENT;
        SendRecords.putMapping(bytes, 1, ino, item);
        sha.update(bytes);
        return sha.digest();
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }
}
