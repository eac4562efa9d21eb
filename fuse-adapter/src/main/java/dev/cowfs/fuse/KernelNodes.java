package dev.cowfs.fuse;

import dev.cowfs.fs.CowFileSystem;
import dev.cowfs.fs.Errno;
import dev.cowfs.fs.FsException;
import dev.cowfs.fs.Inode;
import dev.cowfs.fs.InodeNumber;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static dev.cowfs.fuse.FuseProtocol.*;

/**
 * The kernel's view of the files: node ids (the cowfs inode numbers, but the mounted subvolume's root is node 1 and
 * inode 1 takes its number in exchange), the lookups the kernel holds of each node (LOOKUP, the creating operations
 * and READDIRPLUS add one, FORGET takes them back), names resolved with the virtual directory {@code .snapshots},
 * and the entry and attribute answers with their timeouts.
 */
final class KernelNodes {
    private final CowFileSystem fs;
    private final long root;
    private static final int STATX_BASIC_STATS = 0x7FF;
    private static final int STATX_BTIME = 0x800;

    /** Names and attributes trusted for a day when the kernel is told of every change it would not see itself. */
    static final long LONG_TIMEOUT_NANOS = 86_400L * 1_000_000_000L;
    /** Otherwise for a second, as libfuse does. */
    static final long SHORT_TIMEOUT_NANOS = 1_000_000_000L;

    private final MountOptions options;
    private volatile long entryNanos = SHORT_TIMEOUT_NANOS;
    private volatile long attrNanos = SHORT_TIMEOUT_NANOS;
    /** Lookups the kernel holds per node (its reference count of each inode it caches). */
    private final Map<Long, Long> lookups = new ConcurrentHashMap<>();

    KernelNodes(CowFileSystem fs, long root, MountOptions options) {
        this.fs = fs;
        this.root = root;
        this.options = options;
    }

    /**
     * Chooses the timeouts at INIT: those given as options, else a day when {@code coherent} (the kernel can be made
     * to forget every name at once, FUSE_NOTIFY_INC_EPOCH, so a rollback that replaces a whole subvolume is seen at
     * once; each other change is told name by name or inode by inode) and caching is on, else a second.
     */
    void chooseTimeouts(boolean coherent) {
        long fallback = coherent && options.cache() != MountOptions.Cache.NONE ? LONG_TIMEOUT_NANOS
                : SHORT_TIMEOUT_NANOS;
        entryNanos = options.entryTimeoutNanos() >= 0 ? options.entryTimeoutNanos() : fallback;
        attrNanos = options.attrTimeoutNanos() >= 0 ? options.attrTimeoutNanos() : fallback;
    }

    /** The entry timeout in use, in nanoseconds. */
    long entryTimeoutNanos() {
        return entryNanos;
    }

    /** Whether the kernel holds node {@code node} (looked up and not forgotten); the root always. */
    boolean holds(long node) {
        return node == ROOT_ID || lookups.containsKey(node);
    }

    /** The nodes the kernel holds now, the root included. */
    List<Long> heldNodes() {
        List<Long> nodes = new ArrayList<>(lookups.keySet());
        nodes.add(ROOT_ID);
        return nodes;
    }

    /** The node id of inode {@code ino}. */
    long nodeOf(long ino) {
        return swap(ino);
    }

    /** The inode of node id {@code node}. */
    long inodeOf(long node) {
        return swap(node);
    }

    /** The node id of an inode, and the inode of a node id: the root and inode 1 trade numbers. */
    long swap(long number) {
        return number == root ? ROOT_ID : number == ROOT_ID ? root : number;
    }

    void forget(long node, long count) {
        lookups.computeIfPresent(node, (key, held) -> held - count <= 0 ? null : held - count);
    }

    void batchForget(FuseMessage m) {
        int count = m.argInt(0);
        for (int i = 0; i < count; i++) {
            forget(m.argLong(8 + 16 * i), m.argLong(16 + 16 * i));
        }
    }

    /**
     * The entry for a name; a name that does not exist is answered with node id 0 and the entry timeout, which the
     * kernel keeps as a negative entry (a create there, or a notification, ends it), so a program looking for the
     * same missing file again does not ask again.
     */
    void lookup(FuseMessage m, long dir) throws IOException {
        long ino = lookupChild(dir, m.name(0));
        if (ino < 0) {
            m.putLong(0).putLong(0);
            putTimeout(m, true);
            m.zeros(ATTR_SIZE);
            return;
        }
        putEntry(m, ino);
    }

    /**
     * The entry {@code name} of directory {@code dir} names, with the virtual directory's names; -1 when a directory
     * of the filesystem has no such entry (no exception: lookups of missing names are frequent).
     */
    long lookupChild(long dir, String name) throws IOException {
        if (dir == FusePaths.SNAPSHOTS_INO) {
            if (name.equals(".")) {
                return dir;
            }
            if (name.equals("..")) {
                return root;
            }
            long subvolume = fs.subvolumeId(name);
            if (subvolume == InodeNumber.subvolumeOf(root)) {
                throw new FsException(Errno.ENOENT, "the mounted subvolume is the root, not in " + FusePaths.SNAPSHOTS);
            }
            return InodeNumber.rootOf(subvolume);
        }
        if (dir == root && name.equals(FusePaths.SNAPSHOTS)) {
            return FusePaths.SNAPSHOTS_INO;
        }
        if (name.equals("..")) {
            return parentOf(dir);
        }
        return name.equals(".") ? dir : fs.lookupIfExists(dir, name);
    }

    long parentOf(long dir) throws IOException {
        if (dir == FusePaths.SNAPSHOTS_INO) {
            return root;
        }
        if (dir == InodeNumber.rootOf(InodeNumber.subvolumeOf(dir)) && dir != root) {
            return FusePaths.SNAPSHOTS_INO;
        }
        return dir == root ? root : fs.lookup(dir, "..");
    }

    Inode statOf(long ino) throws IOException {
        if (ino == FusePaths.SNAPSHOTS_INO) {
            Inode r = fs.stat(root);
            return new Inode(FusePaths.SNAPSHOTS_INO, 0, Inode.S_IFDIR | 0555, r.uid(), r.gid(), 2, 0, 0, 0, root, 0,
                    r.atimeSeconds(), r.atimeNanos(), r.mtimeSeconds(), r.mtimeNanos(), r.ctimeSeconds(),
                    r.ctimeNanos(), r.btimeSeconds(), r.btimeNanos());
        }
        return fs.stat(ino);
    }

    /** A struct fuse_entry_out for {@code ino}; the kernel now holds one more lookup of it. */
    void putEntry(FuseMessage m, long ino) throws IOException {
        Inode inode = statOf(ino);
        long node = swap(ino);
        m.putLong(node).putLong(inode.generation());
        putTimeout(m, true);
        putAttr(m, inode);
        lookups.merge(node, 1L, Long::sum);
    }

    /** entry_valid, attr_valid and their nanoseconds (an entry), or attr_valid, its nanoseconds and padding. */
    void putTimeout(FuseMessage m, boolean entry) {
        long entryNanos = this.entryNanos;
        long attrNanos = this.attrNanos;
        if (entry) {
            m.putLong(entryNanos / 1_000_000_000L).putLong(attrNanos / 1_000_000_000L)
                    .putInt((int) (entryNanos % 1_000_000_000L)).putInt((int) (attrNanos % 1_000_000_000L));
        } else {
            m.putLong(attrNanos / 1_000_000_000L).putInt((int) (attrNanos % 1_000_000_000L)).putInt(0);
        }
    }

    void putAttrOut(FuseMessage m, long ino) throws IOException {
        putTimeout(m, false);
        putAttr(m, statOf(ino));
    }

    /**
     * struct fuse_statx_out, asked for when a program wants the birth time (statx with STATX_BTIME): the basic
     * fields as for GETATTR (the kernel caches them the same way) and the inode's creation time.
     */
    void putStatxOut(FuseMessage m, long ino) throws IOException {
        Inode inode = statOf(ino);
        putTimeout(m, false); // attr_valid, attr_valid_nsec, and flags 0
        m.zeros(16); // spare
        int rdev = (int) inode.rdev(); // as the kernel encodes a device number for FUSE (new_encode_dev)
        m.putInt(STATX_BASIC_STATS | STATX_BTIME).putInt(4096).putLong(0)
                .putInt(inode.nlink()).putInt(inode.uid()).putInt(inode.gid()).putShort(inode.mode()).putShort(0)
                .putLong(inode.ino()).putLong(inode.size()).putLong((inode.size() + 511) / 512).putLong(0);
        putTime(m, inode.atimeSeconds(), inode.atimeNanos());
        putTime(m, inode.btimeSeconds(), inode.btimeNanos());
        putTime(m, inode.ctimeSeconds(), inode.ctimeNanos());
        putTime(m, inode.mtimeSeconds(), inode.mtimeNanos());
        m.putInt((rdev & 0xFFF00) >>> 8).putInt(rdev & 0xFF | (rdev >>> 12) & 0xFFF00).putInt(0).putInt(0)
                .zeros(14 * 8);
    }

    /** struct fuse_sx_time. */
    private static void putTime(FuseMessage m, long seconds, int nanos) {
        m.putLong(seconds).putInt(nanos).putInt(0);
    }

    /** struct fuse_attr. */
    static void putAttr(FuseMessage m, Inode inode) {
        m.putLong(inode.ino()).putLong(inode.size()).putLong((inode.size() + 511) / 512)
                .putLong(inode.atimeSeconds()).putLong(inode.mtimeSeconds()).putLong(inode.ctimeSeconds())
                .putInt(inode.atimeNanos()).putInt(inode.mtimeNanos()).putInt(inode.ctimeNanos())
                .putInt(inode.mode()).putInt(inode.nlink()).putInt(inode.uid()).putInt(inode.gid())
                .putInt((int) inode.rdev()).putInt(4096).putInt(0);
    }
}
