package dev.cowfs.fs;

import dev.cowfs.engine.Cursor;
import dev.cowfs.engine.ReadTransaction;
import dev.cowfs.engine.Store;
import dev.cowfs.engine.format.Bytes;
import dev.cowfs.fs.CowFileSystem.ReceiveSummary;
import dev.cowfs.fs.CowFileSystem.SendSummary;
import dev.cowfs.fs.send.SendHeader;
import dev.cowfs.fs.send.SendStreamException;
import dev.cowfs.fs.send.SendStreamReader;
import dev.cowfs.fs.send.StreamPipelining;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.LongConsumer;

import static dev.cowfs.fs.CowFileSystem.ROOT_TREE;
import static dev.cowfs.fs.InodeNumber.inoOf;
import static dev.cowfs.fs.InodeNumber.treeOf;

/**
 * Send and receive of read-only snapshots (docs/SEND.md): the filesystem's side of it. Sending reads one committed
 * state ({@link SnapshotSender} writes the stream). Receiving stages the snapshot's tree, applies the stream
 * ({@link SnapshotReceiver}), checks the result, and only then names it, in one more commit; a receive that fails
 * undoes itself, and one cut short by a crash leaves a marker the next open for writing clears.
 */
final class Replication {
    private final Operations ops;
    private final InodeTable inodes;
    private final Subvolumes subvolumes;
    private final FileData data;
    private final Store store;

    Replication(Operations ops, InodeTable inodes, Subvolumes subvolumes, FileData data) {
        this.ops = ops;
        this.inodes = inodes;
        this.subvolumes = subvolumes;
        this.data = data;
        this.store = inodes.store();
    }

    /** {@link CowFileSystem#send}. */
    SendSummary send(long snapshot, long base, OutputStream out,
                            LongConsumer progress) throws IOException {
        if (base == snapshot) {
            throw new FsException(Errno.EINVAL, "a snapshot cannot be sent as a change from itself");
        }
        try (ReadTransaction read = store.beginRead()) {
            // The records of the commit being sent: a snapshot deleted meanwhile is simply not found.
            Map<Long, SubvolumeInfo> records = Subvolumes.readRecords(read.imageUuid(), read.cursor(ROOT_TREE));
            SubvolumeInfo[] infos = new SubvolumeInfo[2];
            long[] ids = {snapshot, base};
            for (int i = 0; i < 2; i++) {
                if (i == 1 && base < 0) {
                    break;
                }
                infos[i] = ids[i] == 0 ? subvolumes.info(0) : records.get(ids[i]);
                if (infos[i] == null) {
                    throw new FsException(Errno.ENOENT, "no subvolume " + ids[i]);
                }
                if (!infos[i].readOnly()) {
                    throw new FsException(Errno.EINVAL, (ids[i] == 0 ? "the default subvolume" : "'"
                            + infos[i].name() + "'") + " is not a read-only snapshot, and only those can be sent; "
                            + "take one with cowfs snapshot create");
                }
            }
            try (OutputStream behind = StreamPipelining.writeBehind(out)) {
                SnapshotSender.Summary sent = SnapshotSender.send(read, infos[0], infos[1], behind, progress);
                behind.flush(); // every byte has reached `out` when send returns
                return new SendSummary(sent.records(), sent.streamBytes(), sent.dataBytes(), sent.extentsSent(),
                        sent.extentsReused(), ContentHash.hex(sent.contentHash()), sent.itemsAdded(),
                        sent.itemsRemoved());
            }
        } catch (FsException e) {
            throw e;
        } catch (IOException e) {
            throw ops.translate(e);
        }
    }

    /** {@link CowFileSystem#receive}. */
    ReceiveSummary receive(InputStream in, String name, LongConsumer progress) throws IOException {
        InputStream ahead = StreamPipelining.readAhead(in);
        try {
            return receiveFrom(ahead, name, progress);
        } finally {
            ahead.close();
        }
    }

    /** {@link #receive}, from a stream read ahead. */
    private ReceiveSummary receiveFrom(InputStream in, String name, LongConsumer progress) throws IOException {
        SendStreamReader reader;
        try {
            reader = new SendStreamReader(new FilterInputStream(in) {
                @Override
                public int read(byte[] bytes, int offset, int length) throws IOException {
                    try {
                        return super.read(bytes, offset, length);
                    } catch (IOException e) {
                        throw unreadable(e);
                    }
                }

                @Override
                public int read() throws IOException {
                    try {
                        return super.read();
                    } catch (IOException e) {
                        throw unreadable(e);
                    }
                }
            });
        } catch (SendStreamException e) {
            throw SnapshotReceiver.refused(e);
        }
        SendHeader header = reader.header();
        // Owning, not an update: a failed receive undoes itself (what others did was committed first), and must not
        // be reported to the next sync as lost work.
        return ops.owning(() -> {
            for (SubvolumeInfo info : subvolumes.list()) {
                if (info.is(header.snapshot())) {
                    throw new FsException(Errno.EEXIST, "snapshot " + header.snapshot() + " is here already, as '"
                            + info.name() + "'; nothing was received");
                }
            }
            SubvolumeInfo found = null;
            if (header.incremental()) {
                for (SubvolumeInfo info : subvolumes.list()) {
                    if (info.readOnly() && info.is(header.base())) {
                        found = info;
                    }
                }
                if (found == null) {
                    throw new FsException(Errno.ENOENT, "the stream is the change since snapshot " + header.base()
                            + ", which this image does not have; receive that snapshot first, or send a full "
                            + "stream; nothing was received");
                }
            }
            try {
                data.flushAll();
                ops.commitLocked(); // what others did is durable: a failed receive undoes only itself
            } catch (IOException e) {
                throw ops.failed(e);
            } catch (RuntimeException | Error e) {
                ops.failed(new IOException("operation failed unexpectedly: " + e, e));
                throw e;
            }
            return receiveLocked(reader, header, found, name, progress);
        });
    }

    /** The stream's source failed (a broken pipe, a dropped connection), not this filesystem. */
    private static IOException unreadable(IOException e) {
        return e instanceof SendStreamException ? e : new SendStreamException(
                "the send stream could not be read (" + e.getMessage() + "); send it again");
    }

    /**
     * Stages the snapshot's tree (a new one, or a clone of the base's), applies the stream to it and commits; then
     * checks it against the stream's content hash and the filesystem checker, and names it in one more commit.
     */
    private ReceiveSummary receiveLocked(SendStreamReader reader, SendHeader header, SubvolumeInfo base, String name,
                                         LongConsumer progress) throws IOException {
        long id = -1;
        boolean staged = false;
        try (ReadTransaction baseRead = base == null ? null : store.beginRead()) {
            long baseTree = base == null ? -1 : treeOf(inoOf(base.id(), 0));
            id = subvolumes.allocateId(inodes.txn());
            SnapshotReceiver receiver = new SnapshotReceiver(inodes, reader, id, baseRead, baseTree, progress);
            String finalName = name != null ? name : receiver.readSnapshotRecord();
            if (name != null) {
                receiver.readSnapshotRecord();
            }
            byte[] nameBytes = Subvolumes.checkName(finalName);
            subvolumes.requireNameFree(nameBytes);
            long tree = treeOf(inoOf(id, 0));
            if (base == null) {
                inodes.txn().createTree(tree);
            } else {
                inodes.txn().cloneTree(baseTree, tree);
            }
            inodes.txn().put(ROOT_TREE, Subvolumes.receivingKey(id), new byte[0]);
            SnapshotReceiver.Summary applied = receiver.apply();
            ops.commitLocked(); // staged: durable, named by no record
            staged = true;
            String problem = problemWithStaged(baseTree, tree, receiver.contentHash());
            if (problem != null) {
                throw new FsException(Errno.EBADMSG, "the send stream is not valid: " + problem
                        + "; nothing was received");
            }
            inodes.txn().delete(ROOT_TREE, Subvolumes.receivingKey(id));
            SubvolumeInfo info = new SubvolumeInfo(id, finalName, base == null ? -1 : base.id(),
                    receiver.createdMillis(), inodes.txn().generation(), true, true,
                    Subvolumes.identity(store.imageUuid(), id, inodes.txn().generation(), inodes.now().toEpochMilli()),
                    header.snapshot());
            subvolumes.add(inodes.txn(), info);
            ops.commitLocked();
            return new ReceiveSummary(info, applied.records(), applied.streamBytes(), applied.dataBytes(),
                    applied.extentsWritten(), applied.extentsReused(), ContentHash.hex(receiver.contentHash()));
        } catch (IOException | RuntimeException | Error e) {
            undoReceive(id, staged);
            if (e instanceof SendStreamException stream) {
                throw SnapshotReceiver.refused(stream);
            }
            if (e instanceof IOException io) {
                throw ops.translate(io);
            }
            throw e;
        }
    }

    /**
     * What is wrong with a staged tree, or null: it must hash, as the change from its base, to the stream's content
     * hash, and it must be a consistent filesystem.
     */
    private String problemWithStaged(long baseTree, long tree, byte[] streamHash) throws IOException {
        try (ReadTransaction read = store.beginRead()) {
            ContentHash hash = new ContentHash();
            SnapshotChanges.walk(read, baseTree, tree, new SnapshotChanges.Sink() {
                @Override
                public void item(byte[] key, byte[] before, byte[] after) {
                    hash.item(key, before, after);
                }

                @Override
                public void extents(long ino, List<FileData.Item> removed, List<FileData.Item> added, boolean gone) {
                    hash.extents(ino, removed, added);
                }
            });
            if (!Arrays.equals(hash.toBytes(), streamHash)) {
                return "what it built does not match the stream's content hash (stream " + ContentHash.hex(streamHash)
                        + ", built " + ContentHash.hex(hash.toBytes()) + ")";
            }
            List<String> problems = FsChecker.checkTree(read, tree);
            return problems.isEmpty() ? null : "what it built is not a consistent filesystem (" + problems.get(0)
                    + (problems.size() > 1 ? " and " + (problems.size() - 1) + " more" : "") + ")";
        }
    }

    /**
     * A receive failed. Its transaction, which holds only the receive, is abandoned; after the staged commit,
     * the staged tree and its marker are then dropped in one more commit. Should that fail too (a failing
     * device), the marker stays and the next open for writing drops the tree; the filesystem is then
     * read-only, as after any failed commit.
     */
    private void undoReceive(long id, boolean staged) {
        try {
            ops.abortAndRestart();
            if (staged) {
                discardReceived(id);
                ops.commitLocked();
            }
        } catch (IOException | RuntimeException again) {
            // The store turned read-only (a failed commit): the marker lets the next open for writing clean up.
            ops.settleAfterFailure();
        }
    }

    /** Receives cut short by a crash left a tree no record names: it is dropped, with its marker. */
    void discardUnfinishedReceives() throws IOException {
        List<Long> unfinished = new ArrayList<>();
        Cursor cursor = inodes.txn().cursor(ROOT_TREE);
        for (boolean ok = cursor.seek(new byte[] {Subvolumes.RECEIVING}); ok; ok = cursor.next()) {
            byte[] key = cursor.key();
            if (key.length != 9 || key[0] != Subvolumes.RECEIVING) {
                break;
            }
            unfinished.add(Bytes.getLongBigEndian(key, 1));
        }
        for (long id : unfinished) {
            discardReceived(id);
        }
        if (!unfinished.isEmpty()) {
            ops.commitLocked();
        }
    }

    /** Drops a staged received tree and its marker (in the open transaction). */
    private void discardReceived(long id) throws IOException {
        if (!subvolumes.exists(id) && inodes.txn().hasTree(treeOf(inoOf(id, 0)))) {
            inodes.txn().dropTree(treeOf(inoOf(id, 0)));
        }
        inodes.txn().delete(ROOT_TREE, Subvolumes.receivingKey(id));
    }
}
