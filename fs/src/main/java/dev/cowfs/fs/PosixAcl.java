package dev.cowfs.fs;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * A POSIX access control list as Linux passes it in the {@code system.posix_acl_access} and
 * {@code system.posix_acl_default} attributes: a 4-byte version (2), then 8-byte entries (tag, permissions, id),
 * little-endian, sorted by tag and id. Stored as that value (docs/FORMAT.md). The rules are the kernel's own for
 * filesystems that keep ACLs: an access ACL sets the mode's owner, group (its mask, when it has one) and other bits
 * and is not kept when the mode says as much; chmod sets them back into it; a new inode under a directory with a
 * default ACL takes it, masked by the mode asked for, and a new directory keeps it as its own default.
 */
record PosixAcl(List<Entry> entries) {
    static final String ACCESS = "system.posix_acl_access";
    static final String DEFAULT = "system.posix_acl_default";
    private static final int VERSION = 2;
    static final int USER_OBJ = 0x01;
    static final int USER = 0x02;
    static final int GROUP_OBJ = 0x04;
    static final int GROUP = 0x08;
    static final int MASK = 0x10;
    static final int OTHER = 0x20;
    private static final int UNDEFINED_ID = -1;

    /** One entry: its tag, permissions (rwx, 3 bits) and the user or group id (USER and GROUP only). */
    record Entry(int tag, int perm, int id) {
        Entry withPerm(int value) {
            return new Entry(tag, value & 7, id);
        }
    }

    /** Whether {@code name} is one of the two ACL attributes. */
    static boolean isAclName(String name) {
        return ACCESS.equals(name) || DEFAULT.equals(name);
    }

    /**
     * Decodes and checks a value: EINVAL unless it has the version, whole entries in order, exactly one of each of
     * USER_OBJ, GROUP_OBJ and OTHER, and a MASK whenever it names users or groups (at most one mask).
     */
    static PosixAcl decode(byte[] value) throws FsException {
        if (value.length < 4 || (value.length - 4) % 8 != 0) {
            throw invalid("a value of " + value.length + " bytes");
        }
        ByteBuffer in = ByteBuffer.wrap(value).order(ByteOrder.LITTLE_ENDIAN);
        if (in.getInt() != VERSION) {
            throw invalid("version " + in.getInt(0));
        }
        List<Entry> entries = new ArrayList<>();
        while (in.hasRemaining()) {
            int tag = in.getShort() & 0xFFFF;
            int perm = in.getShort() & 0xFFFF;
            int id = in.getInt();
            if (perm > 7 || Integer.bitCount(tag) != 1 || tag > OTHER) {
                throw invalid("entry with tag " + tag + " and permissions " + perm);
            }
            entries.add(new Entry(tag, perm, tag == USER || tag == GROUP ? id : UNDEFINED_ID));
        }
        PosixAcl acl = new PosixAcl(List.copyOf(entries));
        acl.check();
        return acl;
    }

    private void check() throws FsException {
        int[] counts = new int[OTHER + 1];
        Entry previous = null;
        for (Entry entry : entries) {
            counts[entry.tag]++;
            if (previous != null && ORDER.compare(previous, entry) >= 0) {
                throw invalid("entries out of order or repeated");
            }
            previous = entry;
        }
        boolean named = counts[USER] + counts[GROUP] > 0;
        if (counts[USER_OBJ] != 1 || counts[GROUP_OBJ] != 1 || counts[OTHER] != 1 || counts[MASK] > 1
                || named && counts[MASK] == 0) {
            throw invalid("an ACL needs one owner, group and other entry, and a mask with named entries");
        }
    }

    private static final Comparator<Entry> ORDER = Comparator.<Entry>comparingInt(Entry::tag)
            .thenComparingInt(e -> e.id);

    private static FsException invalid(String what) {
        return new FsException(Errno.EINVAL, "not a POSIX ACL: " + what);
    }

    byte[] encode() {
        ByteBuffer out = ByteBuffer.allocate(4 + 8 * entries.size()).order(ByteOrder.LITTLE_ENDIAN);
        out.putInt(VERSION);
        for (Entry entry : entries) {
            out.putShort((short) entry.tag).putShort((short) entry.perm).putInt(entry.id);
        }
        return out.array();
    }

    private Entry find(int tag) {
        for (Entry entry : entries) {
            if (entry.tag == tag) {
                return entry;
            }
        }
        return null;
    }

    /** Whether the mode alone says all of it (only the owner, group and other entries). */
    boolean equivalentToMode() {
        return entries.size() == 3;
    }

    /** The permission bits (0777) it gives: owner, then the mask or else the group entry, then other. */
    int permissionBits() {
        Entry group = find(MASK) != null ? find(MASK) : find(GROUP_OBJ);
        return find(USER_OBJ).perm << 6 | group.perm << 3 | find(OTHER).perm;
    }

    /** The ACL after chmod to {@code mode}: owner, mask (or group) and other entries take the mode's bits. */
    PosixAcl chmod(int mode) {
        int groupTag = find(MASK) != null ? MASK : GROUP_OBJ;
        List<Entry> changed = new ArrayList<>();
        for (Entry entry : entries) {
            if (entry.tag == USER_OBJ) {
                changed.add(entry.withPerm(mode >> 6));
            } else if (entry.tag == groupTag) {
                changed.add(entry.withPerm(mode >> 3));
            } else if (entry.tag == OTHER) {
                changed.add(entry.withPerm(mode));
            } else {
                changed.add(entry);
            }
        }
        return new PosixAcl(List.copyOf(changed));
    }

    /**
     * A directory's default ACL applied to a new inode asked for with {@code mode} (type and permission bits):
     * each of the owner, mask (or group) and other entries keeps only what the mode allows, and the mode keeps only
     * what they allow. Returns the new inode's access ACL; its mode is {@link #permissionBits()} with the type and
     * special bits of {@code mode}.
     */
    PosixAcl inheritedBy(int mode) {
        return chmod(permissionBitsAnd(mode));
    }

    private int permissionBitsAnd(int mode) {
        return permissionBits() & mode & 0777;
    }
}
