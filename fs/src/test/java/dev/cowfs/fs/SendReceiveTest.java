package dev.cowfs.fs;

import dev.cowfs.engine.device.SimulatedDevice;
import dev.cowfs.fs.send.SendHeader;
import dev.cowfs.fs.send.SendRecordLayout;
import dev.cowfs.fs.send.SendStreamWriter;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.UUID;
import java.util.zip.CRC32C;

import static dev.cowfs.fs.FsSemanticsTest.assertErrno;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Send and receive between two images: chains of full and incremental streams rebuild every snapshot exactly
 * (names, inode numbers, modes, owners, times, hard links, symbolic links, extended attributes, sparse,
 * compressed and cloned files, files with their own extent trees); damaged, cut, reordered and hostile
 * streams are refused with the target untouched.
 */
class SendReceiveTest {
    private static final long ROOT = CowFileSystem.ROOT_INO;

    static byte[] send(CowFileSystem fs, long snapshot, long base) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        fs.send(snapshot, base, out, bytes -> { });
        return out.toByteArray();
    }

    static CowFileSystem.ReceiveSummary receive(CowFileSystem fs, byte[] stream) throws IOException {
        return fs.receive(new ByteArrayInputStream(stream), null, bytes -> { });
    }

    /** Everything a user can see of one subvolume, by path; inode numbers included (a receive keeps them). */
    static Map<String, String> dump(CowFileSystem fs, long subvolume) throws IOException {
        Map<String, String> out = new TreeMap<>();
        walk(fs, InodeNumber.rootOf(subvolume), "", out);
        return out;
    }

    private static void walk(CowFileSystem fs, long dir, String path, Map<String, String> out) throws IOException {
        List<DirEntry> entries = new ArrayList<>();
        for (long position = 0; ; ) {
            List<DirEntry> page = fs.readdir(dir, position, 100);
            if (page.isEmpty()) {
                break;
            }
            entries.addAll(page);
            position = page.get(page.size() - 1).nextPosition();
        }
        out.put(path + "/", describe(fs, dir) + " entries=" + entries.stream().map(e -> e.name() + "@"
                + e.nextPosition()).toList());
        for (DirEntry entry : entries) {
            String child = path + "/" + entry.name();
            Inode inode = fs.stat(entry.ino());
            if (inode.isDirectory()) {
                walk(fs, entry.ino(), child, out);
            } else {
                out.put(child, describe(fs, entry.ino()));
            }
        }
    }

    private static String describe(CowFileSystem fs, long ino) throws IOException {
        Inode inode = fs.stat(ino);
        StringBuilder text = new StringBuilder();
        text.append("ino=").append(InodeNumber.localIno(ino)).append(" mode=").append(Integer.toOctalString(
                inode.mode())).append(" uid=").append(inode.uid()).append(" gid=").append(inode.gid())
                .append(" nlink=").append(inode.nlink()).append(" size=").append(inode.size()).append(" flags=")
                .append(inode.flags()).append(" times=").append(inode.atimeSeconds()).append('.')
                .append(inode.atimeNanos()).append('/').append(inode.mtimeSeconds()).append('.')
                .append(inode.mtimeNanos()).append('/').append(inode.ctimeSeconds()).append('.')
                .append(inode.ctimeNanos()).append('/').append(inode.btimeSeconds());
        for (String name : fs.listXattrs(ino)) {
            text.append(" xattr ").append(name).append('=').append(Arrays.hashCode(fs.getXattr(ino, name)));
        }
        if (inode.isSymbolicLink()) {
            text.append(" -> ").append(fs.readlink(ino));
        } else if (inode.isRegularFile()) {
            CRC32C crc = new CRC32C();
            byte[] buffer = new byte[1 << 20];
            for (long offset = 0; offset < inode.size(); ) {
                int n = fs.read(ino, offset, buffer, 0, buffer.length);
                assertTrue(n > 0, "short read of inode " + ino);
                crc.update(buffer, 0, n);
                offset += n;
            }
            text.append(" crc=").append(Long.toHexString(crc.getValue()));
        }
        return text.toString();
    }

    static void assertClean(CowFileSystem fs) throws IOException {
        fs.sync();
        var report = fs.store().check();
        assertTrue(report.isClean(), report.summary());
        assertEquals(List.of(), FsChecker.check(fs.store()));
    }

    /** A new file of 0 to 3 MiB, some of it compressible, written at 0 or past 5 MiB. */
    private static void newFile(CowFileSystem fs, Random random, long dir, String name) throws IOException {
        long ino = fs.mknod(dir, name, 0100644, 0, random.nextInt(3), 7);
        if (random.nextInt(4) == 0) {
            fs.setCompression(ino, true);
        }
        int size = switch (random.nextInt(4)) {
            case 0 -> random.nextInt(100);
            case 1 -> random.nextInt(20_000);
            case 2 -> random.nextInt(3 << 20);
            default -> 0;
        };
        byte[] data = new byte[size];
        random.nextBytes(data);
        if (random.nextBoolean()) {
            Arrays.fill(data, 0, size / 2, (byte) 'a'); // compressible
        }
        fs.write(ino, random.nextInt(3) == 0 ? 5 << 20 : 0, data, 0, size);
    }

    /** Many small writes far apart into a regular file: it gets its own extent tree. */
    private static void scatteredWrites(CowFileSystem fs, Random random, Inode inode) throws IOException {
        if (inode == null || !inode.isRegularFile()) {
            return;
        }
        long ino = inode.ino();
        byte[] data = new byte[100];
        for (int i = 0; i < 40; i++) {
            random.nextBytes(data);
            fs.write(ino, (long) random.nextInt(200) * 8192, data, 0, data.length);
        }
    }

    /** An extended attribute of 10 bytes or 5,000, some with a name that looks like a path. */
    private static void randomXattr(CowFileSystem fs, Random random, long ino) throws IOException {
        byte[] value = new byte[random.nextInt(3) == 0 ? 5000 : 10];
        random.nextBytes(value);
        fs.setXattr(ino, "user.k" + random.nextInt(3) + (random.nextBoolean() ? "/.." : ""), value, false, false);
    }

    /** A random change to the live subvolume: files of every kind and size, and every way to change them. */
    private static void randomChange(CowFileSystem fs, Random random, List<Long> dirs, List<String> log)
            throws IOException {
        long dir = dirs.get(random.nextInt(dirs.size()));
        List<DirEntry> entries = fs.readdir(dir, 0, 1000);
        DirEntry some = entries.isEmpty() ? null : entries.get(random.nextInt(entries.size()));
        Inode someInode = some == null ? null : fs.stat(some.ino());
        String name = "n" + random.nextInt(40);
        try {
            switch (random.nextInt(14)) {
                case 0, 1 -> newFile(fs, random, dir, name);
                case 2 -> dirs.add(fs.mkdir(dir, name, 0750, 1, 1));
                case 3 -> fs.symlink(dir, name, "target/" + random.nextInt(1000), 0, 0);
                case 4 -> {
                    if (someInode != null && someInode.isRegularFile()) {
                        byte[] data = new byte[1 + random.nextInt(300_000)];
                        random.nextBytes(data);
                        fs.write(some.ino(), random.nextLong(Math.max(1, someInode.size() + 100_000)), data, 0,
                                data.length);
                    }
                }
                case 5 -> {
                    if (someInode != null && someInode.isRegularFile()) {
                        fs.truncate(some.ino(), random.nextLong(Math.max(1, someInode.size() * 2)));
                    }
                }
                case 6 -> {
                    if (someInode != null && !someInode.isDirectory()) {
                        fs.unlink(dir, some.name());
                    }
                }
                case 7 -> {
                    if (some != null) {
                        long to = dirs.get(random.nextInt(dirs.size()));
                        fs.rename(dir, some.name(), to, name, RenameMode.REPLACE);
                    }
                }
                case 8 -> {
                    if (someInode != null && someInode.isRegularFile()) {
                        fs.link(some.ino(), dirs.get(random.nextInt(dirs.size())), name);
                    }
                }
                case 9 -> {
                    if (some != null) {
                        randomXattr(fs, random, some.ino());
                    }
                }
                case 10 -> {
                    if (someInode != null && someInode.isRegularFile()) {
                        long clone = fs.mknod(dirs.get(random.nextInt(dirs.size())), name, 0100600, 0, 0, 0);
                        fs.reflink(some.ino(), clone);
                    }
                }
                case 11 -> {
                    if (some != null) {
                        fs.chmod(some.ino(), random.nextInt(0777));
                        fs.chown(some.ino(), random.nextInt(5), random.nextInt(5));
                    }
                }
                case 12 -> scatteredWrites(fs, random, someInode);
                default -> {
                    if (someInode != null && someInode.isDirectory()) {
                        fs.rmdir(dir, some.name());
                        dirs.remove((Long) some.ino());
                    }
                }
            }
        } catch (FsException refused) {
            log.add(refused.errno().name()); // EEXIST, ENOTEMPTY and the like: the model of a user's mistakes
        }
    }

    @Test
    void chainsOfIncrementalStreamsRebuildEverySnapshotExactly() throws Exception {
        Random random = new Random(42);
        try (CowFileSystem a = CowFileSystem.create(new SimulatedDevice(), SnapshotTest.options());
             CowFileSystem b = CowFileSystem.create(new SimulatedDevice(), SnapshotTest.options())) {
            List<Long> dirs = new ArrayList<>(List.of(ROOT));
            List<String> log = new ArrayList<>();
            long previous = -1;
            long previousSize = 0;
            long reused = 0;
            for (int round = 0; round < 8; round++) {
                for (int i = 0; i < 60; i++) {
                    randomChange(a, random, dirs, log);
                }
                long snapshot = a.createSnapshot(0, "s" + round, false);
                byte[] stream = send(a, snapshot, previous);
                CowFileSystem.ReceiveSummary received = receive(b, stream);
                reused += received.extentsReused();
                assertEquals("s" + round, received.snapshot().name());
                assertTrue(received.snapshot().readOnly());
                assertEquals(a.subvolume(snapshot).uuid(), received.snapshot().receivedUuid());
                assertEquals(dump(a, snapshot), dump(b, received.snapshot().id()), "round " + round);
                assertClean(b);
                if (round > 0) {
                    assertTrue(stream.length < previousSize * 3 + (8 << 20), "incremental stream of " + stream.length
                            + " bytes");
                }
                previous = snapshot;
                previousSize = stream.length;
            }
            assertTrue(reused > 0, "no stream reused extents the receiver held (clones, parts of rewritten extents)");
            // The received snapshots share what their originals share: the last one is no larger than the first
            // image's whole data.
            assertTrue(b.statfs().usedBlocks() <= a.statfs().usedBlocks() * 2,
                    b.statfs().usedBlocks() + " blocks used by the receiver, " + a.statfs().usedBlocks()
                            + " by the sender");
        }
    }

    @Test
    void aStreamIsSentOnlyFromReadOnlySnapshotsAndReceivedOnce() throws Exception {
        try (CowFileSystem a = CowFileSystem.create(new SimulatedDevice(), SnapshotTest.options());
             CowFileSystem b = CowFileSystem.create(new SimulatedDevice(), SnapshotTest.options())) {
            long ino = a.mknod(ROOT, "f", 0100644, 0, 0, 0);
            a.write(ino, 0, new byte[] {1, 2, 3}, 0, 3);
            assertErrno(Errno.EINVAL, () -> send(a, 0, -1));
            long clone = a.createSnapshot(0, "rw", true);
            assertErrno(Errno.EINVAL, () -> send(a, clone, -1));
            long s1 = a.createSnapshot(0, "s1", false);
            a.write(ino, 3, new byte[] {4}, 0, 1);
            long s2 = a.createSnapshot(0, "s2", false);
            byte[] full = send(a, s1, -1);
            byte[] incremental = send(a, s2, s1);
            assertErrno(Errno.ENOENT, () -> receive(b, incremental)); // its base is not there yet
            receive(b, full);
            assertErrno(Errno.EEXIST, () -> receive(b, full));
            CowFileSystem.ReceiveSummary second = receive(b, incremental);
            assertEquals(dump(a, s2), dump(b, second.snapshot().id()));
            // And back: the first image takes a change made on the second image's copy... as a new snapshot.
            assertErrno(Errno.EEXIST, () -> receive(a, send(b, second.snapshot().id(), -1)));
            assertClean(b);
        }
    }

    /** The receiver's state, to show that a refused stream left nothing behind. */
    private static String state(CowFileSystem fs) throws IOException {
        fs.sync();
        StringBuilder text = new StringBuilder();
        for (SubvolumeInfo info : fs.listSubvolumes()) {
            text.append(info).append(dump(fs, info.id()));
        }
        return text.toString();
    }

    @Test
    void damagedCutAndReorderedStreamsAreRefusedAndLeaveTheTargetAsItWas() throws Exception {
        try (CowFileSystem a = CowFileSystem.create(new SimulatedDevice(), SnapshotTest.options());
             CowFileSystem b = CowFileSystem.create(new SimulatedDevice(), SnapshotTest.options())) {
            Random random = new Random(7);
            List<Long> dirs = new ArrayList<>(List.of(ROOT));
            for (int i = 0; i < 80; i++) {
                randomChange(a, random, dirs, new ArrayList<>());
            }
            long s1 = a.createSnapshot(0, "s1", false);
            byte[] stream = send(a, s1, -1);
            long preexisting = b.mknod(ROOT, "kept", 0100644, 0, 0, 0);
            b.write(preexisting, 0, new byte[] {9}, 0, 1);
            String before = state(b);
            List<byte[]> bad = new ArrayList<>();
            for (int cut : new int[] {0, 10, 80, 90, stream.length / 3, stream.length - 49, stream.length - 1}) {
                bad.add(Arrays.copyOf(stream, cut));
            }
            for (int i = 0; i < 20; i++) {
                byte[] flipped = stream.clone();
                flipped[random.nextInt(flipped.length)] ^= (byte) (1 << random.nextInt(8));
                bad.add(flipped);
            }
            byte[] longer = Arrays.copyOf(stream, stream.length + 1);
            bad.add(longer);
            for (byte[] damaged : bad) {
                FsException refused = org.junit.jupiter.api.Assertions.assertThrows(FsException.class,
                        () -> receive(b, damaged));
                assertEquals(Errno.EBADMSG, refused.errno(), refused.getMessage());
                assertTrue(refused.getMessage().contains("send"), refused.getMessage());
                assertEquals(before, state(b));
            }
            assertClean(b);
            receive(b, stream); // the good one still goes in
            assertEquals(dump(a, s1), dump(b, b.subvolumeId("s1")));
        }
    }

    /** Streams written by hand with valid framing and hostile contents. */
    @Test
    void hostileRecordsAreRefused() throws Exception {
        try (CowFileSystem b = CowFileSystem.create(new SimulatedDevice(), SnapshotTest.options())) {
            String before = state(b);
            byte[] dotdot = FsKeys.of(1, FsKeys.DIR_NAME, "..".getBytes());
            byte[] slash = FsKeys.of(1, FsKeys.DIR_NAME, "a/b".getBytes());
            byte[] orphan = FsKeys.of(0, FsKeys.ORPHAN, 5);
            byte[] extentItem = FsKeys.of(2, FsKeys.EXTENT, 0);
            byte[] hugeIno = FsKeys.of(CowFileSystem.MAX_INO, FsKeys.INODE);
            hugeIno[2] = 0x7F; // an inode number past the limit
            for (byte[] key : List.of(dotdot, slash, orphan, extentItem, hugeIno)) {
                byte[] stream = handMade(List.of(itemPut(key, new byte[17])));
                FsException refused = org.junit.jupiter.api.Assertions.assertThrows(FsException.class,
                        () -> receive(b, stream));
                assertEquals(Errno.EBADMSG, refused.errno(), refused.getMessage());
            }
            // A record of a type this version does not know, an extent whose bytes do not match their checksum,
            // and a stream without its content hash.
            byte[] unknown = handMade(List.of(new Rec(99, new byte[4])));
            byte[] extent = new byte[SendRecordLayout.EXTENT_HEAD_BYTES + 10];
            dev.cowfs.engine.format.Bytes.putLong(extent, 0, 2);
            dev.cowfs.engine.format.Bytes.putInt(extent, SendRecordLayout.EXTENT_LENGTH_OFFSET, 10);
            dev.cowfs.engine.format.Bytes.putInt(extent, SendRecordLayout.EXTENT_LOGICAL_OFFSET, 10);
            dev.cowfs.engine.format.Bytes.putInt(extent, SendRecordLayout.EXTENT_STORED_OFFSET, 10);
            dev.cowfs.engine.format.Bytes.putInt(extent, SendRecordLayout.EXTENT_CHECKSUM_OFFSET, 12345);
            byte[] badExtent = handMade(List.of(new Rec(SendRecordLayout.EXTENT, extent)));
            // A good extent whose mapping the stream then removes, and a second mapping referring to it: the
            // reference would be taken to freed blocks.
            byte[] good = extent.clone();
            java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
            crc.update(good, SendRecordLayout.EXTENT_HEAD_BYTES, 10);
            dev.cowfs.engine.format.Bytes.putInt(good, SendRecordLayout.EXTENT_CHECKSUM_OFFSET, (int) crc.getValue());
            byte[] removal = new byte[SendRecordLayout.EXTENT_DELETE_BYTES];
            dev.cowfs.engine.format.Bytes.putLong(removal, 0, 2);
            byte[] reuse = java.util.Arrays.copyOf(good, SendRecordLayout.EXTENT_HEAD_BYTES);
            dev.cowfs.engine.format.Bytes.putLong(reuse, SendRecordLayout.EXTENT_INO_OFFSET, 3);
            reuse[SendRecordLayout.EXTENT_SOURCE_OFFSET] = SendRecordLayout.SOURCE_STREAM;
            byte[] removedThenReused = handMade(List.of(new Rec(SendRecordLayout.EXTENT, good),
                    new Rec(SendRecordLayout.EXTENT_DELETE, removal), new Rec(SendRecordLayout.EXTENT, reuse)));
            byte[] mappedTwice = handMade(List.of(new Rec(SendRecordLayout.EXTENT, good),
                    new Rec(SendRecordLayout.EXTENT, good)));
            for (byte[] stream : List.of(unknown, badExtent, removedThenReused, mappedTwice)) {
                FsException refused = org.junit.jupiter.api.Assertions.assertThrows(FsException.class,
                        () -> receive(b, stream));
                assertEquals(Errno.EBADMSG, refused.errno(), refused.getMessage());
            }
            byte[] dangling = danglingEntryStream();
            FsException refused = org.junit.jupiter.api.Assertions.assertThrows(FsException.class,
                    () -> receive(b, dangling));
            assertTrue(refused.getMessage().contains("not a consistent filesystem"), refused.getMessage());
            assertEquals(before, state(b));
            assertClean(b);
        }
    }

    /**
     * Well-formed items, with their true content hash, that do not make a filesystem: a root directory whose entry
     * names an inode that does not exist.
     */
    private static byte[] danglingEntryStream() throws Exception {
        Inode root = new Inode(ROOT, 0, Inode.S_IFDIR | 0755, 0, 0, 2, 0, 0, 0, ROOT, 3, 0, 0, 0, 0, 0, 0, 0, 0);
        byte[] entry = new byte[17];
        entry[0] = 55;
        byte[] state = new byte[8];
        state[0] = 2;
        List<byte[][]> items = List.of(new byte[][] {FsKeys.of(0, FsKeys.SUBVOLUME_STATE), state},
                new byte[][] {FsKeys.of(ROOT, FsKeys.INODE), root.encode()},
                new byte[][] {FsKeys.of(ROOT, FsKeys.DIR_NAME, "x".getBytes()), entry});
        ContentHash hash = new ContentHash();
        List<Rec> records = new ArrayList<>();
        for (byte[][] item : items) {
            hash.item(item[0], null, item[1]);
            records.add(itemPut(item[0], item[1]));
        }
        byte[] hashRecord = java.util.Arrays.copyOf(hash.toBytes(), SendRecordLayout.CONTENT_HASH_BYTES);
        records.add(new Rec(SendRecordLayout.CONTENT_HASH, hashRecord));
        return handMade(records);
    }

    private record Rec(int type, byte[] payload) {
    }

    private static Rec itemPut(byte[] key, byte[] value) {
        byte[] payload = new byte[2 + key.length + value.length];
        dev.cowfs.engine.format.Bytes.putShort(payload, 0, key.length);
        System.arraycopy(key, 0, payload, 2, key.length);
        System.arraycopy(value, 0, payload, 2 + key.length, value.length);
        return new Rec(SendRecordLayout.ITEM_PUT, payload);
    }

    /** A framed stream: the snapshot record, then the given records. */
    private static byte[] handMade(List<Rec> records) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        SendStreamWriter writer = new SendStreamWriter(out, new SendHeader(UUID.randomUUID(), UUID.randomUUID(),
                null));
        byte[] snapshot = new byte[11];
        dev.cowfs.engine.format.Bytes.putShort(snapshot, 8, 1);
        snapshot[10] = 'h';
        writer.write(SendRecordLayout.SNAPSHOT, snapshot, 0, snapshot.length);
        for (Rec record : records) {
            writer.write(record.type(), record.payload(), 0, record.payload().length);
        }
        writer.end();
        return out.toByteArray();
    }

    /** docs/SEND.md's record tables are the specification: the extent record's fields and the record types. */
    @Test
    void theDocumentedRecordsMatchTheCode() throws Exception {
        java.nio.file.Path doc = java.nio.file.Path.of(System.getProperty("user.dir")).resolveSibling("docs")
                .resolve("SEND.md");
        java.util.regex.Pattern row = java.util.regex.Pattern.compile(
                "^\\| (\\d+) \\| (\\d+) \\| (EXTENT_[A-Z_]+) \\|.*");
        java.util.regex.Pattern type = java.util.regex.Pattern.compile(
                "^\\| (\\d) \\| (snapshot|item put|item delete|extent|extent delete|content hash) \\|.*");
        int fields = 0;
        int types = 0;
        for (String line : java.nio.file.Files.readAllLines(doc)) {
            java.util.regex.Matcher field = row.matcher(line);
            if (field.matches()) {
                assertEquals(Integer.parseInt(field.group(1)),
                        SendRecordLayout.class.getDeclaredField(field.group(3) + "_OFFSET").getInt(null), field.group(3));
                fields++;
            }
            java.util.regex.Matcher recordType = type.matcher(line);
            if (recordType.matches()) {
                String constant = recordType.group(2).toUpperCase(java.util.Locale.ROOT).replace(' ', '_');
                assertEquals(Integer.parseInt(recordType.group(1)),
                        SendRecordLayout.class.getDeclaredField(constant).getInt(null), constant);
                types++;
            }
        }
        assertEquals(11, fields, "extent record fields");
        assertEquals(6, types, "record types");
        assertEquals(48, SendRecordLayout.EXTENT_HEAD_BYTES);
    }

    @Test
    void identitiesAreStoredAndDistinct() throws Exception {
        try (CowFileSystem a = CowFileSystem.create(new SimulatedDevice(), SnapshotTest.options())) {
            long s1 = a.createSnapshot(0, "s1", false);
            long s2 = a.createSnapshot(0, "s2", false);
            assertNotEquals(a.subvolume(s1).uuid(), a.subvolume(s2).uuid());
            assertEquals(null, a.subvolume(s1).receivedUuid());
        }
    }
}
