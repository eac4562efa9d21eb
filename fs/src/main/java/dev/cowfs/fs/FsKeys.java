package dev.cowfs.fs;

import dev.cowfs.engine.format.Bytes;

import java.util.Arrays;

/**
 * Keys of a subvolume tree: the inode number (u64 big-endian), an item type (u8), then what the type needs,
 * so that all items of one inode are adjacent and ordered by type. See docs/FORMAT.md, "Filesystem".
 */
final class FsKeys {
    static final byte INODE = 0x01;
    static final byte DIR_NAME = 0x02;
    static final byte DIR_INDEX = 0x03;
    static final byte XATTR = 0x04;
    static final byte INLINE_DATA = 0x05;
    static final byte SYMLINK = 0x06;
    /** A name the inode has: the directory holding it (u64 BE) and the name; one per link (a back reference). */
    static final byte INODE_REF = 0x07;
    static final byte EXTENT = 0x08;
    /** A file's own extent tree (nested; keys: file offset u64 BE), once it has many extent items. */
    static final byte EXTENT_TREE = 0x09;
    /** Under inode 0: the subvolume's counters. */
    static final byte SUBVOLUME_STATE = 0x10;
    /** Under inode 0, then an inode number: an unlinked inode still open somewhere, reclaimed at next open. */
    static final byte ORPHAN = 0x11;

    private FsKeys() {
    }

    /** The key of an item of {@code ino}: only its number within its subvolume goes into the key. */
    static byte[] of(long ino, byte type) {
        byte[] key = new byte[9];
        Bytes.putLongBigEndian(key, 0, InodeNumber.localIno(ino));
        key[8] = type;
        return key;
    }

    static byte[] of(long ino, byte type, long number) {
        byte[] key = new byte[17];
        Bytes.putLongBigEndian(key, 0, InodeNumber.localIno(ino));
        key[8] = type;
        Bytes.putLongBigEndian(key, 9, number);
        return key;
    }

    static byte[] of(long ino, byte type, byte[] name) {
        byte[] key = Arrays.copyOf(of(ino, type), 9 + name.length);
        System.arraycopy(name, 0, key, 9, name.length);
        return key;
    }

    /** The back reference of {@code ino} for its name {@code name} in directory {@code dir}. */
    static byte[] ref(long ino, long dir, byte[] name) {
        byte[] key = Arrays.copyOf(of(ino, INODE_REF, InodeNumber.localIno(dir)), 17 + name.length);
        System.arraycopy(name, 0, key, 17, name.length);
        return key;
    }

    /** The inode number within the subvolume. */
    static long ino(byte[] key) {
        return Bytes.getLongBigEndian(key, 0);
    }

    static byte type(byte[] key) {
        return key[8];
    }

    static long number(byte[] key) {
        return Bytes.getLongBigEndian(key, 9);
    }

    static byte[] name(byte[] key) {
        return Arrays.copyOfRange(key, 9, key.length);
    }

    /** True when {@code key} is an item of inode {@code ino} with type {@code type}. */
    static boolean is(byte[] key, long ino, byte type) {
        return key.length >= 9 && ino(key) == InodeNumber.localIno(ino) && type(key) == type;
    }
}
