package dev.cowfs.crash;

import dev.cowfs.fs.CowFileSystem;
import dev.cowfs.fs.DirEntry;
import dev.cowfs.fs.Inode;
import dev.cowfs.fs.SubvolumeInfo;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The visible state of a filesystem as a sorted map, the shape the harness compares: one entry per
 * subvolume ({@code @NAME:#}), directory ({@code /a/}), file and symbolic link, with link counts, sizes,
 * contents (a 64-bit xxHash), extended attributes and, for files with several names, all of their names. Times and
 * inode numbers are left out: the model does not predict them.
 */
public final class FsDump {
    /** Entries past this many are not listed (the harness's trees are small; a runaway tree still ends). */
    static final int MAX_ENTRIES = 1_000_000;

    private FsDump() {
    }

    public static Map<String, String> of(CowFileSystem fs) throws IOException {
        Map<String, String> out = new TreeMap<>();
        for (SubvolumeInfo info : fs.listSubvolumes()) {
            String prefix = info.id() == 0 ? "" : "@" + info.name() + ":";
            out.put(prefix + "#", "read-only=" + info.readOnly());
            Map<Long, List<String>> names = new HashMap<>();
            List<String[]> files = new ArrayList<>();
            walk(fs, info.rootIno(), "", prefix, out, names, files);
            for (String[] file : files) {
                long ino = Long.parseLong(file[1]);
                Inode inode = fs.stat(ino);
                byte[] bytes = new byte[(int) Math.min(inode.size(), Integer.MAX_VALUE - 8)];
                int read = 0;
                while (read < bytes.length) {
                    int n = fs.read(ino, read, bytes, read, bytes.length - read);
                    if (n <= 0) {
                        break;
                    }
                    read += n;
                }
                String entry = file(inode.nlink(), bytes, names.get(ino), xattrs(fs, ino));
                out.put(file[0], read == bytes.length ? entry : entry + " short-read=" + read); // never equals a model
            }
        }
        return out;
    }

    private static void walk(CowFileSystem fs, long dir, String path, String prefix, Map<String, String> out,
                             Map<Long, List<String>> names, List<String[]> files) throws IOException {
        List<DirEntry> entries = new ArrayList<>();
        for (long position = 0; out.size() < MAX_ENTRIES; ) {
            List<DirEntry> page = fs.readdir(dir, position, 256);
            if (page.isEmpty()) {
                break;
            }
            entries.addAll(page);
            position = page.get(page.size() - 1).nextPosition();
        }
        out.put(prefix + path + "/", directory(fs.stat(dir).nlink(), xattrs(fs, dir)));
        for (DirEntry entry : entries) {
            String child = path + "/" + entry.name();
            Inode inode = fs.stat(entry.ino());
            if (inode.isDirectory()) {
                walk(fs, entry.ino(), child, prefix, out, names, files);
            } else if (inode.isSymbolicLink()) {
                out.put(prefix + child, symlink(fs.readlink(entry.ino()), xattrs(fs, entry.ino())));
            } else {
                names.computeIfAbsent(entry.ino(), key -> new ArrayList<>()).add(child);
                files.add(new String[] {prefix + child, Long.toString(entry.ino())});
            }
        }
    }

    private static Map<String, byte[]> xattrs(CowFileSystem fs, long ino) throws IOException {
        Map<String, byte[]> values = new TreeMap<>();
        for (String name : fs.listXattrs(ino)) {
            values.put(name, fs.getXattr(ino, name));
        }
        return values;
    }

    // ------------------------------------------------------------------ the shared format

    /** A directory: its link count and extended attributes. */
    static String directory(long nlink, Map<String, byte[]> xattrs) {
        return "dir nlink=" + nlink + xattrText(xattrs);
    }

    static String symlink(String target, Map<String, byte[]> xattrs) {
        return "symlink -> " + target + xattrText(xattrs);
    }

    /** A file: size and contents, its names when it has several, extended attributes. */
    static String file(long nlink, byte[] data, List<String> names, Map<String, byte[]> xattrs) {
        StringBuilder text = new StringBuilder("file nlink=").append(nlink).append(" size=").append(data.length)
                .append(" xxh64=")
                .append(Long.toHexString(hash(data)));
        if (names != null && names.size() > 1) {
            List<String> sorted = new ArrayList<>(names);
            sorted.sort(null);
            text.append(" names=").append(String.join(",", sorted));
        }
        return text.append(xattrText(xattrs)).toString();
    }

    private static String xattrText(Map<String, byte[]> xattrs) {
        StringBuilder text = new StringBuilder();
        xattrs.forEach((name, value) -> text.append(' ').append(name).append('=').append(value.length).append(':')
                .append(Long.toHexString(hash(value))));
        return text.toString();
    }

    /**
     * Contents are compared by a 64-bit hash, not by the engine's own CRC32C: a wrong block that happens to carry
     * a matching CRC (stale, misdirected) must not pass the oracle too.
     */
    static long hash(byte[] bytes) {
        return XXHASH.hash(bytes, 0, bytes.length, 0x6f7261636c65L);
    }

    private static final net.jpountz.xxhash.XXHash64 XXHASH =
            net.jpountz.xxhash.XXHashFactory.safeInstance().hash64();

    /** The first differences between two dumps, at most {@code max}, one line each. */
    public static List<String> differences(Map<String, String> expected, Map<String, String> actual, int max) {
        List<String> out = new ArrayList<>();
        java.util.TreeSet<String> keys = new java.util.TreeSet<>(expected.keySet());
        keys.addAll(actual.keySet());
        for (String key : keys) {
            String want = expected.get(key);
            String found = actual.get(key);
            if (!java.util.Objects.equals(want, found)) {
                out.add(key + ": expected " + (want == null ? "nothing" : want) + ", found "
                        + (found == null ? "nothing" : found));
                if (out.size() >= max) {
                    break;
                }
            }
        }
        return out;
    }
}
