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
 * contents (CRC32 and CRC32C together), extended attributes and, for files with several names, all of their
 * names. Times and inode numbers are left out: the model does not predict them.
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
            List<FileEntry> files = new ArrayList<>();
            walk(fs, info.rootIno(), "", prefix, out, names, files);
            for (FileEntry file : files) {
                long ino = file.inode().ino();
                Inode inode = file.inode();
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
                out.put(file.path(), read == bytes.length ? entry : entry + " short-read=" + read); // never a model's
            }
        }
        return out;
    }

    /** A regular file met in the walk: its path and its inode as read then. */
    private record FileEntry(String path, Inode inode) {
    }

    private static void walk(CowFileSystem fs, long dir, String path, String prefix, Map<String, String> out,
                             Map<Long, List<String>> names, List<FileEntry> files) throws IOException {
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
                files.add(new FileEntry(prefix + child, inode));
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
                .append(" crc64=")
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
     * Contents are compared by 64 bits: CRC32 (IEEE) and CRC32C of the bytes, both computed by the processor.
     * Not the engine's CRC32C alone: an error pattern its extent checksum misses (one divisible by the CRC32C
     * polynomial) would pass a whole-file CRC32C too, but not, in general, a CRC32 over another polynomial.
     */
    static long hash(byte[] bytes) {
        java.util.zip.CRC32 ieee = new java.util.zip.CRC32();
        ieee.update(bytes);
        java.util.zip.CRC32C castagnoli = new java.util.zip.CRC32C();
        castagnoli.update(bytes);
        return ieee.getValue() << 32 | castagnoli.getValue();
    }

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
