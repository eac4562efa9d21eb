package dev.cowfs.fs;

/**
 * A filesystem-wide inode number: {@code (subvolume << 40) | local}, where {@code local} is the inode's number inside
 * its subvolume's tree (what the tree's keys hold) and subvolume 0 is the default one. A mount showing several
 * subvolumes and snapshots exposes it as a distinct, stable st_ino for every file of every one of them.
 *
 * <p>Operations pass the number as a {@code long} (the static methods here take one apart); the record is for code
 * that wants the two parts by name.
 */
public record InodeNumber(long subvolume, long local) {
    /** Where the subvolume starts in the number. */
    public static final int SUBVOLUME_SHIFT = 40;
    /** Inode numbers inside a subvolume stay at or below this (2^40 - 1). */
    public static final long MAX_LOCAL = (1L << SUBVOLUME_SHIFT) - 1;
    /** The root directory's number inside every subvolume. */
    public static final long ROOT_LOCAL = 1;
    /** The engine tree of the default subvolume; subvolume {@code s} lives in tree {@code DEFAULT_TREE + s}. */
    static final long DEFAULT_TREE = 257;

    public InodeNumber {
        if (subvolume < 0 || subvolume > (Long.MAX_VALUE >>> SUBVOLUME_SHIFT) || local < 0 || local > MAX_LOCAL) {
            throw new IllegalArgumentException("inode number out of range: subvolume " + subvolume + ", local "
                    + local);
        }
    }

    /** The parts of a filesystem-wide number. */
    public static InodeNumber of(long ino) {
        return new InodeNumber(subvolumeOf(ino), localIno(ino));
    }

    /** The filesystem-wide number. */
    public long value() {
        return inoOf(subvolume, local);
    }

    /** The engine tree holding this inode's subvolume. */
    public long tree() {
        return treeOfSubvolume(subvolume);
    }

    /** The subvolume an inode number belongs to: its top bits (0 for the default subvolume). */
    public static long subvolumeOf(long ino) {
        return ino >>> SUBVOLUME_SHIFT;
    }

    /** The inode number as stored inside its subvolume's tree. */
    public static long localIno(long ino) {
        return ino & MAX_LOCAL;
    }

    /** The filesystem-wide inode number of {@code localIno} in {@code subvolume}. */
    public static long inoOf(long subvolume, long localIno) {
        return (subvolume << SUBVOLUME_SHIFT) | localIno;
    }

    /** The root directory of a subvolume. */
    public static long rootOf(long subvolume) {
        return inoOf(subvolume, ROOT_LOCAL);
    }

    /** The engine tree that holds subvolume {@code subvolume} (its inodes, entries and extents). */
    public static long treeOfSubvolume(long subvolume) {
        return DEFAULT_TREE + subvolume;
    }

    /** The tree holding the inode's subvolume. */
    public static long treeOf(long ino) {
        return DEFAULT_TREE + subvolumeOf(ino);
    }

    /** A number stored inside the tree of {@code sameSubvolumeAs}'s subvolume, made filesystem-wide. */
    public static long globalIno(long sameSubvolumeAs, long storedIno) {
        return (sameSubvolumeAs & ~MAX_LOCAL) | storedIno;
    }
}
