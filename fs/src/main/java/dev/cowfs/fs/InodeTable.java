package dev.cowfs.fs;

import dev.cowfs.engine.Cursor;
import dev.cowfs.engine.Store;
import dev.cowfs.engine.WriteTransaction;

import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static dev.cowfs.fs.InodeNumber.localIno;
import static dev.cowfs.fs.InodeNumber.subvolumeOf;
import static dev.cowfs.fs.InodeNumber.treeOf;

/**
 * Inodes by number, and the items kept beside them in their subvolume's tree (entries, extents, attributes), as the
 * open write transaction sees them (or the last commit, on a filesystem open read-only). The one place that reads and
 * writes inode records and sets their times; the callers hold the filesystem's lock.
 */
final class InodeTable {
    /** The filesystem's open write transaction, or null when it is read-only. */
    interface OpenTransaction {
        WriteTransaction current();
    }

    private final Store store;
    private final OpenTransaction open;
    private final Subvolumes subvolumes;
    private final Clock clock;

    private volatile ChangeListener changes = ChangeListener.NONE;
    private volatile boolean posixAcls;

    InodeTable(Store store, OpenTransaction open, Subvolumes subvolumes, Clock clock) {
        this.store = store;
        this.open = open;
        this.subvolumes = subvolumes;
        this.clock = clock;
    }

    /** The open write transaction (null on a filesystem open read-only). */
    WriteTransaction txn() {
        return open.current();
    }

    Store store() {
        return store;
    }

    int blockSize() {
        return store.blockSizeBytes();
    }

    /** The inode (change it with its {@code with...} methods and {@link #store} the result); ENOENT when it or its subvolume does not exist. */
    Inode load(long ino) throws IOException {
        if (!subvolumes.exists(subvolumeOf(ino))) {
            throw new FsException(Errno.ENOENT, "inode " + ino + ": no subvolume " + subvolumeOf(ino));
        }
        byte[] bytes = get(ino, FsKeys.of(ino, FsKeys.INODE));
        if (bytes == null) {
            throw new FsException(Errno.ENOENT, "inode " + ino + " does not exist");
        }
        return Inode.decode(ino, bytes);
    }

    /** Writes the inode's record into the open transaction. */
    void store(Inode inode) throws IOException {
        txn().put(treeOf(inode.ino()), FsKeys.of(inode.ino(), FsKeys.INODE), inode.encode());
        changes.inodeChanged(inode.ino());
    }

    /** Who is told of changes ({@link ChangeListener}). */
    ChangeListener changes() {
        return changes;
    }

    /** Whether POSIX ACLs are kept ({@link CowFileSystem#enablePosixAcls}). */
    boolean posixAcls() {
        return posixAcls;
    }

    void enablePosixAcls() {
        posixAcls = true;
    }

    void setChangeListener(ChangeListener listener) {
        changes = listener == null ? ChangeListener.NONE : listener;
    }

    /** An item of the subvolume {@code ino} belongs to. */
    byte[] get(long ino, byte[] key) throws IOException {
        WriteTransaction txn = txn();
        if (txn != null) {
            return txn.get(treeOf(ino), key);
        }
        try (var read = store.beginRead()) {
            return read.get(treeOf(ino), key);
        }
    }

    /** A cursor over the open transaction's tree of the subvolume {@code ino} belongs to. */
    Cursor cursor(long ino) throws IOException {
        return txn().cursor(treeOf(ino));
    }

    /** Deletes every item of the inode, its record included (its data extents drop their references). */
    void deleteItems(long ino) throws IOException {
        WriteTransaction txn = txn();
        while (true) {
            List<byte[]> keys = new ArrayList<>();
            Cursor cursor = txn.cursor(treeOf(ino));
            for (boolean ok = cursor.seek(FsKeys.of(ino, (byte) 0)); ok && keys.size() < 4096; ok = cursor.next()) {
                byte[] key = cursor.key();
                if (FsKeys.ino(key) != localIno(ino)) {
                    break;
                }
                keys.add(key);
            }
            if (keys.isEmpty()) {
                return;
            }
            for (byte[] key : keys) {
                txn.delete(treeOf(ino), key);
            }
        }
    }

    Instant now() {
        return clock.instant();
    }

    /** The inode with its change and/or modification time set to now. */
    Inode touch(Inode inode, boolean modify, boolean change) {
        Instant now = now();
        return inode.withTimes(false, modify, change, now.getEpochSecond(), now.getNano());
    }
}
