package dev.cowfs.fuse;

import dev.cowfs.fs.CowFileSystem;
import dev.cowfs.fs.InodeNumber;
import dev.cowfs.fs.Errno;
import dev.cowfs.fs.FsException;

import java.io.IOException;

/**
 * Turns the paths libfuse hands over into inode numbers: the mounted subvolume at {@code /}, and every other
 * subvolume, snapshot and clone under the virtual directory {@code /.snapshots/NAME/} (ZFS's
 * {@code .zfs/snapshot}). Paths from libfuse are absolute and never pass through a symbolic link (the kernel
 * resolves links itself), so the last component is never followed.
 */
final class FusePaths {
    /** The name of the virtual directory of snapshots in the root. */
    static final String SNAPSHOTS = ".snapshots";
    /**
     * The inode number of {@code /.snapshots}: the highest local number of subvolume 0, which the inode
     * counter never reaches, so it is distinct from every real inode of every subvolume.
     */
    static final long SNAPSHOTS_INO = CowFileSystem.MAX_INO;
    private static final String SNAPSHOTS_PATH = "/" + SNAPSHOTS;

    private final CowFileSystem fs;
    private final long root;

    FusePaths(CowFileSystem fs, long rootSubvolume) {
        this.fs = fs;
        this.root = InodeNumber.rootOf(rootSubvolume);
    }

    long root() {
        return root;
    }

    /** The inode {@code path} names (the last component not followed). */
    long resolve(String path) throws IOException {
        if (path.equals("/")) {
            return root;
        }
        if (path.equals(SNAPSHOTS_PATH)) {
            return SNAPSHOTS_INO;
        }
        if (path.startsWith(SNAPSHOTS_PATH + "/")) {
            String rest = path.substring(SNAPSHOTS_PATH.length() + 1);
            int slash = rest.indexOf('/');
            long subvolumeRoot = InodeNumber.rootOf(fs.subvolumeId(slash < 0 ? rest : rest.substring(0, slash)));
            String inside = slash < 0 ? "" : rest.substring(slash + 1);
            return inside.isEmpty() ? subvolumeRoot : fs.resolve(subvolumeRoot, inside, false);
        }
        return fs.resolve(root, path.substring(1), false);
    }

    /** The directory that holds {@code path}'s last component. */
    long parentOf(String path) throws IOException {
        int slash = path.lastIndexOf('/');
        return resolve(slash <= 0 ? "/" : path.substring(0, slash));
    }

    /** The last component of {@code path}. */
    static String nameOf(String path) throws FsException {
        String name = path.substring(path.lastIndexOf('/') + 1);
        if (name.isEmpty()) {
            throw new FsException(Errno.EINVAL, "path '" + path + "' names no entry");
        }
        return name;
    }

    /** Whether {@code dir}/{@code name} is the reserved name of the virtual directory in the root. */
    boolean isSnapshotsEntry(long dir, String name) {
        return dir == root && name.equals(SNAPSHOTS);
    }
}
