package dev.cowfs.fs;

import dev.cowfs.engine.Cursor;
import dev.cowfs.engine.WriteTransaction;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static dev.cowfs.fs.InodeNumber.globalIno;
import static dev.cowfs.fs.InodeNumber.inoOf;
import static dev.cowfs.fs.InodeNumber.localIno;
import static dev.cowfs.fs.InodeNumber.subvolumeOf;
import static dev.cowfs.fs.InodeNumber.treeOf;

/**
 * Open handles and orphans. A file unlinked while open keeps its inode and data until its last handle is released:
 * it is then an orphan, recorded by an {@code ORPHAN} item in its subvolume's tree (docs/FORMAT.md), so that the
 * next open of the image frees it if the filesystem stopped first. Counts are kept in memory only.
 *
 * <p>{@link #open} runs under the filesystem's read lock (the counts are a concurrent map); everything else under
 * its write lock.
 */
final class OpenFiles {
    private final Map<Long, Integer> counts = new ConcurrentHashMap<>();
    private final InodeTable inodes;
    private final FileData data;

    OpenFiles(InodeTable inodes, FileData data) {
        this.inodes = inodes;
        this.data = data;
    }

    /** One more handle to the inode; ENOENT when it has no name left and no handle keeps it. */
    void open(long ino) throws IOException {
        Inode inode = inodes.load(ino);
        if (inode.nlink() == 0 && !isOpen(ino)) {
            throw new FsException(Errno.ENOENT, "inode " + ino + " was removed");
        }
        counts.merge(ino, 1, Integer::sum);
    }

    boolean isOpen(long ino) {
        return counts.getOrDefault(ino, 0) > 0;
    }

    /**
     * One handle fewer (EBADF when none is open); the last handle of an orphan frees it, drawing on the reserved
     * pool if it must (freeing works on a full image). On a filesystem open read-only only the count changes.
     */
    void release(long ino) throws IOException {
        Integer count = counts.get(ino);
        if (count == null) {
            throw new FsException(Errno.EBADF, "inode " + ino + " is not open");
        }
        if (count > 1) {
            counts.put(ino, count - 1);
            return;
        }
        counts.remove(ino);
        WriteTransaction txn = inodes.txn();
        if (txn == null) {
            return;
        }
        Inode inode = inodes.load(ino);
        if (inode.nlink() == 0) {
            txn.space().useReservedSpace(true);
            data.discardBuffer(ino);
            inodes.deleteItems(ino);
            txn.delete(treeOf(ino), orphanKey(ino));
            txn.space().useReservedSpace(false);
        }
    }

    /** An inode whose last name went: freed now, or kept as an orphan while a handle is open. */
    void lastNameRemoved(Inode inode) throws IOException {
        if (isOpen(inode.ino())) {
            inodes.store(inode);
            inodes.txn().put(treeOf(inode.ino()), orphanKey(inode.ino()), new byte[0]);
            return;
        }
        data.discardBuffer(inode.ino());
        inodes.deleteItems(inode.ino());
    }

    /** Deletes the subvolume's orphans with everything they hold; returns how many there were. */
    int removeOrphans(long subvolume) throws IOException {
        long base = inoOf(subvolume, 0);
        WriteTransaction txn = inodes.txn();
        List<Long> orphans = new ArrayList<>();
        Cursor cursor = txn.cursor(treeOf(base));
        for (boolean ok = cursor.seek(FsKeys.of(base, FsKeys.ORPHAN, 0)); ok; ok = cursor.next()) {
            byte[] key = cursor.key();
            if (!FsKeys.is(key, base, FsKeys.ORPHAN)) {
                break;
            }
            orphans.add(inoOf(subvolume, FsKeys.number(key)));
        }
        for (long ino : orphans) {
            inodes.deleteItems(ino);
            txn.delete(treeOf(ino), orphanKey(ino));
        }
        return orphans.size();
    }

    /** EBUSY while a file of the subvolume is open. */
    void requireNoneOpenIn(long subvolume) throws FsException {
        for (long ino : counts.keySet()) {
            if (subvolumeOf(ino) == subvolume) {
                throw new FsException(Errno.EBUSY, "subvolume " + subvolume + " has open files (inode " + ino + ")");
            }
        }
    }

    /** After an abort: handles to inodes the abort undid (or whose subvolume it undid) no longer count as open. */
    void forgetUndone(Subvolumes subvolumes) {
        WriteTransaction txn = inodes.txn();
        counts.keySet().removeIf(ino -> {
            try {
                return !subvolumes.exists(subvolumeOf(ino))
                        || txn.get(treeOf(ino), FsKeys.of(ino, FsKeys.INODE)) == null;
            } catch (IOException e) {
                return false;
            }
        });
    }

    private static byte[] orphanKey(long ino) {
        return FsKeys.of(globalIno(ino, 0), FsKeys.ORPHAN, localIno(ino));
    }
}
