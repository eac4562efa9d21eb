package dev.cowfs.fs;

import dev.cowfs.engine.device.SimulatedDevice;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * POSIX ACLs kept by the filesystem once enabled, by the rules Linux filesystems follow: the access ACL and the
 * mode in step both ways, a default ACL inherited (and masked by the mode asked for), bad values and wrong
 * inodes refused. Strict mode: both checkers after every commit.
 */
class PosixAclTest {
    private static final long ROOT = CowFileSystem.ROOT_INO;
    private static final int NOBODY = 65534;

    /** An ACL value: version 2, then (tag, perm, id) triples. */
    static byte[] acl(int... entries) {
        ByteBuffer out = ByteBuffer.allocate(4 + 8 * (entries.length / 3)).order(ByteOrder.LITTLE_ENDIAN);
        out.putInt(2);
        for (int i = 0; i < entries.length; i += 3) {
            out.putShort((short) entries[i]).putShort((short) entries[i + 1]).putInt(entries[i + 2]);
        }
        return out.array();
    }

    private static final int U = PosixAcl.USER_OBJ;
    private static final int NAMED_USER = PosixAcl.USER;
    private static final int G = PosixAcl.GROUP_OBJ;
    private static final int M = PosixAcl.MASK;
    private static final int O = PosixAcl.OTHER;

    private static CowFileSystem withAcls() throws Exception {
        CowFileSystem fs = CowFileSystem.create(new SimulatedDevice(), SnapshotTest.options());
        fs.enablePosixAcls();
        return fs;
    }

    @Test
    void anAccessAclSetsTheModeAndChmodSetsTheAcl() throws Exception {
        try (CowFileSystem fs = withAcls()) {
            long file = fs.mknod(ROOT, "f", 0644, 0, 0, 0);
            byte[] named = acl(U, 6, -1, NAMED_USER, 4, NOBODY, G, 4, -1, M, 5, -1, O, 0, -1);
            fs.setXattr(file, PosixAcl.ACCESS, named, false, false);
            assertEquals(0650, fs.stat(file).mode() & 07777, "owner rw, the mask r-x as group, other none");
            assertArrayEquals(named, fs.getXattr(file, PosixAcl.ACCESS));
            assertEquals(List.of(PosixAcl.ACCESS), fs.listXattrs(file));
            fs.chmod(file, 0704);
            assertArrayEquals(acl(U, 7, -1, NAMED_USER, 4, NOBODY, G, 4, -1, M, 0, -1, O, 4, -1),
                    fs.getXattr(file, PosixAcl.ACCESS), "chmod sets the owner, mask and other entries");
            fs.setXattr(file, PosixAcl.ACCESS, acl(U, 6, -1, G, 0, -1, O, 0, -1), false, false);
            assertEquals(0600, fs.stat(file).mode() & 07777);
            assertNull(fs.findXattr(file, PosixAcl.ACCESS), "an ACL the mode says all of is not kept");
            fs.sync();
            assertTrue(FsChecker.check(fs.store()).isEmpty(), FsChecker.check(fs.store()).toString());
        }
    }

    @Test
    void aDefaultAclIsInheritedMaskedByTheModeAskedFor() throws Exception {
        try (CowFileSystem fs = withAcls()) {
            long dir = fs.mkdir(ROOT, "d", 0755, 0, 0);
            byte[] inherited = acl(U, 7, -1, NAMED_USER, 7, NOBODY, G, 5, -1, M, 7, -1, O, 0, -1);
            fs.setXattr(dir, PosixAcl.DEFAULT, inherited, false, false);
            assertTrue(fs.hasDefaultAcl(dir));
            long file = fs.mknod(dir, "new", 0666, 0, 0, 0);
            assertEquals(0660, fs.stat(file).mode() & 07777);
            assertArrayEquals(acl(U, 6, -1, NAMED_USER, 7, NOBODY, G, 5, -1, M, 6, -1, O, 0, -1),
                    fs.getXattr(file, PosixAcl.ACCESS));
            long sub = fs.mkdir(dir, "sub", 0777, 0, 0);
            assertEquals(0770, fs.stat(sub).mode() & 07777);
            assertArrayEquals(inherited, fs.getXattr(sub, PosixAcl.DEFAULT), "a new directory keeps the default");
            long link = fs.symlink(dir, "link", "new", 0, 0);
            assertNull(fs.findXattr(link, PosixAcl.ACCESS), "symbolic links take no ACL");
            assertEquals(List.of(), fs.listXattrs(link));
        }
    }

    @Test
    void badValuesAndWrongInodesAreRefusedAndWithoutEnablingNothingIsKept() throws Exception {
        try (CowFileSystem fs = withAcls()) {
            long file = fs.mknod(ROOT, "f", 0644, 0, 0, 0);
            long link = fs.symlink(ROOT, "l", "f", 0, 0);
            assertErrno(Errno.EINVAL, () -> fs.setXattr(file, PosixAcl.ACCESS, new byte[] {2, 0, 0}, false, false));
            assertErrno(Errno.EINVAL, () -> fs.setXattr(file, PosixAcl.ACCESS, acl(U, 6, -1, O, 0, -1), false,
                    false));
            assertErrno(Errno.EINVAL, () -> fs.setXattr(file, PosixAcl.ACCESS,
                    acl(U, 6, -1, NAMED_USER, 4, NOBODY, G, 4, -1, O, 0, -1), false, false), "named entries need a mask");
            assertErrno(Errno.EACCES, () -> fs.setXattr(file, PosixAcl.DEFAULT, acl(U, 6, -1, G, 4, -1, O, 0, -1),
                    false, false));
            assertErrno(Errno.EOPNOTSUPP, () -> fs.setXattr(link, PosixAcl.ACCESS, acl(U, 6, -1, G, 4, -1, O, 0, -1),
                    false, false));
            assertErrno(Errno.EOPNOTSUPP, () -> fs.setXattr(file, "system.other", new byte[1], false, false));
        }
        try (CowFileSystem fs = CowFileSystem.create(new SimulatedDevice(), SnapshotTest.options())) {
            long file = fs.mknod(ROOT, "f", 0644, 0, 0, 0);
            assertErrno(Errno.EOPNOTSUPP, () -> fs.setXattr(file, PosixAcl.ACCESS, acl(U, 6, -1, G, 4, -1, O, 0, -1),
                    false, false));
        }
    }

    private interface Action {
        void run() throws Exception;
    }

    private static void assertErrno(Errno expected, Action action) {
        assertErrno(expected, action, "");
    }

    private static void assertErrno(Errno expected, Action action, String message) {
        FsException e = assertThrows(FsException.class, action::run, message);
        assertEquals(expected, e.errno(), message + ": " + e.getMessage());
    }
}
