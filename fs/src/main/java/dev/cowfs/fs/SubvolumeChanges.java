package dev.cowfs.fs;

import dev.cowfs.engine.Store;
import dev.cowfs.engine.WriteTransaction;
import dev.cowfs.engine.format.Bytes;

import java.io.IOException;
import java.time.Instant;

import static dev.cowfs.fs.InodeNumber.inoOf;
import static dev.cowfs.fs.InodeNumber.rootOf;
import static dev.cowfs.fs.InodeNumber.treeOf;

/**
 * The operations that make, snapshot, delete and roll back whole subvolumes (the public ones are on
 * {@link CowFileSystem}, which documents them), each durable on return and told to the change listener once done.
 */
final class SubvolumeChanges {
    private final Store store;
    private final Operations ops;
    private final InodeTable inodes;
    private final Subvolumes subvolumes;
    private final FileData data;
    private final OpenFiles openFiles;

    SubvolumeChanges(Store store, Operations ops, InodeTable inodes, Subvolumes subvolumes, FileData data,
                     OpenFiles openFiles) {
        this.store = store;
        this.ops = ops;
        this.inodes = inodes;
        this.subvolumes = subvolumes;
        this.data = data;
        this.openFiles = openFiles;
    }

    private WriteTransaction txn() {
        return ops.txn();
    }

    /** A new subvolume's tree: its root directory (mode 0755) and its counters. */
    static void writeEmptySubvolume(WriteTransaction txn, long subvolume, Instant now) throws IOException {
        long tree = treeOf(inoOf(subvolume, 0));
        txn.createTree(tree);
        Inode root = Inode.create(rootOf(subvolume), Inode.S_IFDIR | 0755, 0, 0, 0, 0, txn.generation(),
                rootOf(subvolume), now);
        txn.put(tree, FsKeys.of(root.ino(), FsKeys.INODE), root.encode());
        byte[] state = new byte[8];
        Bytes.putLong(state, 0, CowFileSystem.ROOT_INO + 1);
        txn.put(tree, Subvolumes.stateKey(subvolume), state);
    }

    long createSubvolume(String name) throws IOException {
        byte[] nameBytes = Subvolumes.checkName(name);
        return subvolumeChanged(name, ops.update(() -> {
            ops.requireSpace(8);
            subvolumes.requireNameFree(nameBytes);
            long id = subvolumes.allocateId(txn());
            writeEmptySubvolume(txn(), id, inodes.now());
            long created = inodes.now().toEpochMilli();
            subvolumes.add(txn(), new SubvolumeInfo(id, name, -1, created, txn().generation(), false,
                    false, Subvolumes.identity(store.imageUuid(), id, txn().generation(), created), null));
            ops.commitLocked();
            return id;
        }));
    }

    /** Tells the change listener that subvolume {@code id} was made, removed or replaced; returns {@code id}. */
    long subvolumeChanged(String name, long id) {
        inodes.changes().subvolumeChanged(id, name);
        return id;
    }

    long createSnapshot(long source, String name, boolean writable) throws IOException {
        byte[] nameBytes = Subvolumes.checkName(name);
        return subvolumeChanged(name, ops.update(() -> {
            ops.requireSpace(8);
            subvolumes.info(source);
            subvolumes.requireNameFree(nameBytes);
            data.flushAll();
            long id = subvolumes.allocateId(txn());
            txn().cloneTree(treeOf(inoOf(source, 0)), treeOf(inoOf(id, 0)));
            openFiles.removeOrphans(id);
            long created = inodes.now().toEpochMilli();
            subvolumes.add(txn(), new SubvolumeInfo(id, name, source, created, txn().generation(),
                    !writable, true, Subvolumes.identity(store.imageUuid(), id, txn().generation(), created), null));
            ops.commitLocked();
            return id;
        }));
    }

    void deleteSubvolume(long id) throws IOException {
        String name = ops.query(() -> subvolumes.info(id)).name();
        ops.freeing(0, data::flushAll, () -> {
            if (id == 0) {
                throw new FsException(Errno.EPERM, "the default subvolume cannot be deleted");
            }
            subvolumes.info(id);
            openFiles.requireNoneOpenIn(id);
            data.flushAll();
            subvolumes.remove(txn(), id);
            txn().dropTree(treeOf(inoOf(id, 0)));
            ops.commitLocked();
        });
        subvolumeChanged(name, id);
    }

    void rollback(long id, long snapshot) throws IOException {
        ops.freeing(0, data::flushAll, () -> {
            subvolumes.requireWritable(id);
            subvolumes.info(snapshot);
            if (id == snapshot) {
                throw new FsException(Errno.EINVAL, "a subvolume cannot be rolled back to itself");
            }
            openFiles.requireNoneOpenIn(id);
            data.flushAll();
            long next = Math.max(subvolumes.nextIno(id), subvolumes.nextIno(snapshot));
            txn().dropTree(treeOf(inoOf(id, 0)));
            txn().cloneTree(treeOf(inoOf(snapshot, 0)), treeOf(inoOf(id, 0)));
            openFiles.removeOrphans(id);
            subvolumes.setNextIno(txn(), id, next);
            ops.commitLocked();
        });
        subvolumeChanged(ops.query(() -> subvolumes.info(id)).name(), id);
    }
}
