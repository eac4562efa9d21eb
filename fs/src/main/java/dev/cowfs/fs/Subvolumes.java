package dev.cowfs.fs;

import dev.cowfs.engine.Cursor;
import dev.cowfs.engine.ReadTransaction;
import dev.cowfs.engine.Store;
import dev.cowfs.engine.WriteTransaction;
import dev.cowfs.engine.format.Bytes;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;

/**
 * The subvolumes of a filesystem: the default one (id 0, made by mkfs) and every subvolume, snapshot and clone
 * made since, each a tree of its own ({@code 257 + id}). Their records live in tree 256: by id (key {@code 01},
 * id) and by name (key {@code 02}, name). Inode numbers of subvolume {@code id} are {@code (id << 40) | ino}.
 * Also keeps each subvolume's inode counter: numbers are never handed out twice, even after an abort.
 * Guarded by the filesystem's lock.
 */
final class Subvolumes {
    static final byte RECORD_BY_ID = 0x01;
    static final byte RECORD_BY_NAME = 0x02;
    /** Subvolume ids stay below 2^23, so that inode numbers {@code (id << 40) | ino} stay positive. */
    static final long MAX_ID = (1L << 23) - 1;
    /** Key of an unfinished receive's marker in tree 256: {@code 03}, subvolume id (u64 BE). */
    static final byte RECEIVING = 0x03;

    private final Store store;
    /** Every subvolume but the default one, as committed or changed by the open transaction. */
    private final TreeMap<Long, SubvolumeInfo> records = new TreeMap<>();
    /** Per subvolume: the next inode number to hand out. */
    private final Map<Long, Long> nextIno = new HashMap<>();
    /** Per subvolume: the highest inode number ever handed out by this mount (kept across aborts). */
    private final Map<Long, Long> inoHighWater = new HashMap<>();

    Subvolumes(Store store) {
        this.store = store;
    }

    // ------------------------------------------------------------------ records

    static byte[] idKey(long id) {
        byte[] key = new byte[9];
        key[0] = RECORD_BY_ID;
        Bytes.putLongBigEndian(key, 1, id);
        return key;
    }

    static byte[] receivingKey(long id) {
        byte[] key = idKey(id);
        key[0] = RECEIVING;
        return key;
    }

    static byte[] nameKey(byte[] name) {
        byte[] key = new byte[1 + name.length];
        key[0] = RECORD_BY_NAME;
        System.arraycopy(name, 0, key, 1, name.length);
        return key;
    }

    static byte[] encode(SubvolumeInfo info) {
        byte[] name = info.name().getBytes(StandardCharsets.UTF_8);
        byte[] value = new byte[SubvolumeRecordLayout.NAME_OFFSET + name.length];
        Bytes.putLong(value, SubvolumeRecordLayout.CREATED_OFFSET, info.createdMillis());
        Bytes.putLong(value, SubvolumeRecordLayout.GENERATION_OFFSET, info.generation());
        Bytes.putLong(value, SubvolumeRecordLayout.PARENT_ID_OFFSET, info.parentId());
        Bytes.putInt(value, SubvolumeRecordLayout.FLAGS_OFFSET, (info.readOnly() ? SubvolumeRecordLayout.FLAG_READ_ONLY : 0)
                | (info.snapshot() ? SubvolumeRecordLayout.FLAG_SNAPSHOT : 0) | SubvolumeRecordLayout.FLAG_IDENTITY);
        putUuid(value, SubvolumeRecordLayout.UUID_OFFSET, info.uuid());
        putUuid(value, SubvolumeRecordLayout.RECEIVED_UUID_OFFSET, info.receivedUuid());
        System.arraycopy(name, 0, value, SubvolumeRecordLayout.NAME_OFFSET, name.length);
        return value;
    }

    static SubvolumeInfo decode(UUID image, long id, byte[] value) throws FsException {
        int flags = value.length >= SubvolumeRecordLayout.NAME_WITHOUT_IDENTITY_OFFSET
                ? Bytes.getInt(value, SubvolumeRecordLayout.FLAGS_OFFSET) : -1;
        int nameOffset = (flags & SubvolumeRecordLayout.FLAG_IDENTITY) != 0 ? SubvolumeRecordLayout.NAME_OFFSET
                : SubvolumeRecordLayout.NAME_WITHOUT_IDENTITY_OFFSET;
        if (flags < 0 || (flags & ~SubvolumeRecordLayout.KNOWN_FLAGS) != 0 || value.length <= nameOffset
                || value.length > nameOffset + CowFileSystem.NAME_MAX) {
            throw new FsException(Errno.EIO, "subvolume " + id + ": malformed record; run cowfs fsck");
        }
        String name = new String(value, nameOffset, value.length - nameOffset, StandardCharsets.UTF_8);
        long generation = Bytes.getLong(value, SubvolumeRecordLayout.GENERATION_OFFSET);
        UUID uuid = (flags & SubvolumeRecordLayout.FLAG_IDENTITY) != 0 ? getUuid(value, SubvolumeRecordLayout.UUID_OFFSET)
                : identityOfOldRecord(image, id, generation);
        UUID received = (flags & SubvolumeRecordLayout.FLAG_IDENTITY) != 0 ? getUuid(value, SubvolumeRecordLayout.RECEIVED_UUID_OFFSET) : null;
        if (uuid == null) {
            throw new FsException(Errno.EIO, "subvolume " + id + ": record without its UUID; run cowfs fsck");
        }
        return new SubvolumeInfo(id, name, Bytes.getLong(value, SubvolumeRecordLayout.PARENT_ID_OFFSET),
                Bytes.getLong(value, SubvolumeRecordLayout.CREATED_OFFSET), generation,
                (flags & SubvolumeRecordLayout.FLAG_READ_ONLY) != 0, (flags & SubvolumeRecordLayout.FLAG_SNAPSHOT) != 0, uuid, received);
    }

    /**
     * The identity a subvolume gets: a name-based UUID of the image's UUID, the subvolume id, the generation that
     * created it and the time it was made (ms). The time keeps two byte-for-byte copies of one image apart when
     * both go on making snapshots; computing it again gives the same UUID (records made before identities were
     * stored get theirs this way, and the crash harness, with its fixed clock, stays deterministic).
     */
    static UUID identity(UUID image, long id, long generation, long createdMillis) {
        byte[] seed = new byte[44];
        Bytes.putLongBigEndian(seed, 0, image.getMostSignificantBits());
        Bytes.putLongBigEndian(seed, 8, image.getLeastSignificantBits());
        Bytes.putLongBigEndian(seed, 16, id);
        Bytes.putLongBigEndian(seed, 24, generation);
        Bytes.putLongBigEndian(seed, 32, createdMillis);
        System.arraycopy("subv".getBytes(StandardCharsets.US_ASCII), 0, seed, 40, 4);
        return UUID.nameUUIDFromBytes(seed);
    }

    /**
     * The identity of a subvolume whose record predates stored identities: the name-based UUID of the image's
     * UUID, the subvolume id and its creating generation (u64 big-endian each), then ASCII {@code subv}. Fixed,
     * so that streams sent from such a snapshot keep naming it alike.
     */
    static UUID identityOfOldRecord(UUID image, long id, long generation) {
        byte[] seed = new byte[36];
        Bytes.putLongBigEndian(seed, 0, image.getMostSignificantBits());
        Bytes.putLongBigEndian(seed, 8, image.getLeastSignificantBits());
        Bytes.putLongBigEndian(seed, 16, id);
        Bytes.putLongBigEndian(seed, 24, generation);
        System.arraycopy("subv".getBytes(StandardCharsets.US_ASCII), 0, seed, 32, 4);
        return UUID.nameUUIDFromBytes(seed);
    }

    private static void putUuid(byte[] value, int offset, UUID uuid) {
        if (uuid != null) {
            Bytes.putLongBigEndian(value, offset, uuid.getMostSignificantBits());
            Bytes.putLongBigEndian(value, offset + 8, uuid.getLeastSignificantBits());
        }
    }

    /** The UUID at {@code offset}, or null when all 16 bytes are zero (none). */
    private static UUID getUuid(byte[] value, int offset) {
        long most = Bytes.getLongBigEndian(value, offset);
        long least = Bytes.getLongBigEndian(value, offset + 8);
        return most == 0 && least == 0 ? null : new UUID(most, least);
    }

    /** The records of every subvolume but the default one, from a committed state. */
    static TreeMap<Long, SubvolumeInfo> readRecords(UUID image, Cursor cursor) throws IOException {
        TreeMap<Long, SubvolumeInfo> found = new TreeMap<>();
        for (boolean ok = cursor.seek(new byte[] {RECORD_BY_ID}); ok; ok = cursor.next()) {
            byte[] key = cursor.key();
            if (key.length != 9 || key[0] != RECORD_BY_ID) {
                break;
            }
            long id = Bytes.getLongBigEndian(key, 1);
            found.put(id, decode(image, id, cursor.value()));
        }
        return found;
    }

    /** A subvolume name: a file name (1..255 bytes, no '/', NUL, "." or "..") without ':' or a leading '@'. */
    static byte[] checkName(String name) throws FsException {
        byte[] bytes = DirectoryTree.nameBytes(name);
        if (name.indexOf(':') >= 0 || name.startsWith("@")) {
            throw new FsException(Errno.EINVAL, "subvolume name '" + name + "' may not contain ':' or start with '@'"
                    + " (paths name snapshots as @NAME:/path)");
        }
        return bytes;
    }

    // ------------------------------------------------------------------ state

    void load(ReadTransaction read, byte[] fsRecord) throws IOException {
        records.clear();
        records.putAll(readRecords(store.imageUuid(), read.cursor(CowFileSystem.ROOT_TREE)));
        nextIno.clear();
        for (long id : ids()) {
            long next = readNextIno(read.get(InodeNumber.treeOf(InodeNumber.inoOf(id, 0)), stateKey(id)), id);
            nextIno.put(id, next);
            inoHighWater.merge(id, next - 1, Math::max);
        }
    }

    /** After an abort: the records and counters of the last commit, inode numbers still never reused. */
    void reload(WriteTransaction txn) throws IOException {
        records.clear();
        records.putAll(readRecords(store.imageUuid(), txn.cursor(CowFileSystem.ROOT_TREE)));
        nextIno.clear();
        for (long id : ids()) {
            long next = readNextIno(txn.get(InodeNumber.treeOf(InodeNumber.inoOf(id, 0)), stateKey(id)), id);
            nextIno.put(id, Math.max(next, inoHighWater.getOrDefault(id, 0L) + 1));
        }
    }

    private static long readNextIno(byte[] state, long id) throws FsException {
        if (state == null || state.length != 8 || Bytes.getLong(state, 0) <= CowFileSystem.ROOT_INO) {
            throw new FsException(Errno.EIO, "subvolume " + id + ": counters missing or malformed; run cowfs fsck");
        }
        return Bytes.getLong(state, 0);
    }

    static byte[] stateKey(long id) {
        return FsKeys.of(InodeNumber.inoOf(id, 0), FsKeys.SUBVOLUME_STATE);
    }

    /** Every subvolume id, the default one (0) first. */
    List<Long> ids() {
        List<Long> ids = new ArrayList<>();
        ids.add(0L);
        ids.addAll(records.keySet());
        return ids;
    }

    List<Long> writableIds() {
        List<Long> ids = new ArrayList<>();
        for (long id : ids()) {
            if (id == 0 || !records.get(id).readOnly()) {
                ids.add(id);
            }
        }
        return ids;
    }

    boolean exists(long id) {
        return id == 0 || records.containsKey(id);
    }

    SubvolumeInfo info(long id) throws FsException {
        if (id == 0) {
            return new SubvolumeInfo(0, "", -1, 0, 0, false, false, identityOfOldRecord(store.imageUuid(), 0, 1), null);
        }
        SubvolumeInfo info = records.get(id);
        if (info == null) {
            throw new FsException(Errno.ENOENT, "no subvolume " + id);
        }
        return info;
    }

    List<SubvolumeInfo> list() throws FsException {
        List<SubvolumeInfo> all = new ArrayList<>();
        for (long id : ids()) {
            all.add(info(id));
        }
        return all;
    }

    long idOf(String name) throws FsException {
        for (SubvolumeInfo info : records.values()) {
            if (info.name().equals(name)) {
                return info.id();
            }
        }
        throw new FsException(Errno.ENOENT, "no subvolume or snapshot named '" + name + "'");
    }

    void requireWritable(long id) throws FsException {
        SubvolumeInfo info = info(id);
        if (info.readOnly()) {
            throw new FsException(Errno.EROFS, "snapshot '" + info.name() + "' is read-only");
        }
    }

    void requireNameFree(byte[] name) throws FsException {
        String text = new String(name, StandardCharsets.UTF_8);
        for (SubvolumeInfo info : records.values()) {
            if (info.name().equals(text)) {
                throw new FsException(Errno.EEXIST, "a subvolume or snapshot named '" + text + "' exists");
            }
        }
    }

    /** Takes the next subvolume id (recorded in the filesystem record, never reused). */
    long allocateId(WriteTransaction txn) throws IOException {
        byte[] info = txn.get(CowFileSystem.ROOT_TREE, CowFileSystem.FS_INFO_KEY);
        long id = Math.max(1, Bytes.getLong(info, FsRecordLayout.NEXT_ID_OFFSET));
        if (id > MAX_ID) {
            throw new FsException(Errno.ENOSPC, "no subvolume ids left (" + MAX_ID + " used)");
        }
        byte[] updated = Arrays.copyOf(info, info.length);
        Bytes.putLong(updated, FsRecordLayout.NEXT_ID_OFFSET, id + 1);
        txn.put(CowFileSystem.ROOT_TREE, CowFileSystem.FS_INFO_KEY, updated);
        return id;
    }

    void add(WriteTransaction txn, SubvolumeInfo info) throws IOException {
        byte[] id = new byte[8];
        Bytes.putLong(id, 0, info.id());
        txn.put(CowFileSystem.ROOT_TREE, idKey(info.id()), encode(info));
        txn.put(CowFileSystem.ROOT_TREE, nameKey(info.name().getBytes(StandardCharsets.UTF_8)), id);
        records.put(info.id(), info);
        long next = readNextIno(txn.get(InodeNumber.treeOf(InodeNumber.inoOf(info.id(), 0)),
                stateKey(info.id())), info.id());
        nextIno.put(info.id(), Math.max(next, inoHighWater.getOrDefault(info.id(), 0L) + 1));
    }

    void remove(WriteTransaction txn, long id) throws IOException {
        SubvolumeInfo info = info(id);
        txn.delete(CowFileSystem.ROOT_TREE, idKey(id));
        txn.delete(CowFileSystem.ROOT_TREE, nameKey(info.name().getBytes(StandardCharsets.UTF_8)));
        records.remove(id);
        nextIno.remove(id);
    }

    long nextIno(long id) {
        return nextIno.get(id);
    }

    /** Sets the subvolume's counter (rollback keeps numbers increasing past everything handed out before). */
    void setNextIno(WriteTransaction txn, long id, long next) throws IOException {
        byte[] state = new byte[8];
        Bytes.putLong(state, 0, next);
        txn.put(InodeNumber.treeOf(InodeNumber.inoOf(id, 0)), stateKey(id), state);
        nextIno.put(id, next);
    }

    /** Hands out the next inode number of the subvolume (filesystem-wide form) and records the counter. */
    long takeIno(WriteTransaction txn, long id) throws IOException {
        long local = nextIno.get(id);
        if (local > CowFileSystem.MAX_INO) {
            throw new FsException(Errno.ENOSPC, "no inode numbers left in this subvolume (" + CowFileSystem.MAX_INO
                    + " used)");
        }
        setNextIno(txn, id, local + 1);
        inoHighWater.merge(id, local, Math::max);
        return InodeNumber.inoOf(id, local);
    }

    /** Inode numbers handed out over all subvolumes (statfs's file count). */
    long inodesHandedOut() {
        long total = 0;
        for (long next : nextIno.values()) {
            total += next - 1;
        }
        return total;
    }
}
