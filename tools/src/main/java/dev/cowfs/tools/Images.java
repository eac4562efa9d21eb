package dev.cowfs.tools;

import dev.cowfs.engine.StoreOptions;
import dev.cowfs.fs.CowFileSystem;
import dev.cowfs.fs.FsOptions;
import dev.cowfs.fs.SubvolumeInfo;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;

/** Opening images and naming things in them from the command line. */
final class Images {
    private Images() {
    }

    /** Opens an image for the command; read-only commands take a shared lock and never write. */
    static CowFileSystem open(Path image, boolean writable) throws IOException {
        FsOptions options = FsOptions.builder().commitIntervalMillis(0)
                .store(StoreOptions.builder().readOnly(!writable).build()).build();
        return CowFileSystem.open(image, options);
    }

    /**
     * The inode a path names: {@code /a/b} in the default subvolume, {@code @NAME:/a/b} in subvolume or
     * snapshot NAME.
     */
    static long resolve(CowFileSystem fs, String spec, boolean followLast) throws IOException {
        if (spec.startsWith("@")) {
            int colon = spec.indexOf(':');
            if (colon < 0) {
                return CowFileSystem.rootOf(subvolume(fs, spec.substring(1)));
            }
            String path = spec.substring(colon + 1);
            long root = CowFileSystem.rootOf(subvolume(fs, spec.substring(1, colon)));
            return fs.resolve(root, path.isEmpty() ? "/" : path, followLast);
        }
        return fs.resolve(spec, followLast);
    }

    /** The directory that will hold a new entry for {@code spec}, and the entry's name. */
    static Parent parentOf(CowFileSystem fs, String spec) throws IOException {
        String prefix = "";
        String path = spec;
        if (spec.startsWith("@")) {
            int colon = spec.indexOf(':');
            if (colon < 0) {
                throw new Cowfs.UsageException("'" + spec + "' names a subvolume, not a path in it (use @NAME:/path)");
            }
            prefix = spec.substring(0, colon + 1);
            path = spec.substring(colon + 1);
        }
        String trimmed = path.replaceAll("/+$", "");
        int slash = trimmed.lastIndexOf('/');
        String name = trimmed.substring(slash + 1);
        if (name.isEmpty()) {
            throw new Cowfs.UsageException("'" + spec + "' has no name to create");
        }
        String dir = slash <= 0 ? "/" : trimmed.substring(0, slash);
        return new Parent(resolve(fs, prefix + dir, true), name);
    }

    record Parent(long dir, String name) {
    }

    /** A subvolume by name; "default" (or "0") is the default subvolume. */
    static long subvolume(CowFileSystem fs, String name) throws IOException {
        if (name.equals("default") || name.equals("0")) {
            return 0;
        }
        return fs.subvolumeId(name);
    }

    static String nameOf(SubvolumeInfo info) {
        return info.id() == 0 ? "default" : info.name();
    }

    /** Sizes like 64M, 1G, 4096 (binary units). */
    static long parseSize(String text) {
        String value = text.trim().toUpperCase(Locale.ROOT).replace("IB", "").replace("B", "");
        long unit = 1;
        if (!value.isEmpty() && "KMGT".indexOf(value.charAt(value.length() - 1)) >= 0) {
            unit = 1L << (10 * ("KMGT".indexOf(value.charAt(value.length() - 1)) + 1));
            value = value.substring(0, value.length() - 1);
        }
        try {
            long number = Long.parseLong(value);
            if (number < 0 || number > Long.MAX_VALUE / unit) {
                throw new NumberFormatException();
            }
            return number * unit;
        } catch (NumberFormatException e) {
            throw new Cowfs.UsageException("'" + text + "' is not a size (examples: 4096, 64M, 1G)");
        }
    }

    /** 1536 -> "1.5 KiB". */
    static String humanBytes(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB"};
        double value = bytes;
        int unit = -1;
        while (value >= 1024 && unit < units.length - 1) {
            value /= 1024;
            unit++;
        }
        return String.format(Locale.ROOT, value < 10 ? "%.1f %s" : "%.0f %s", value, units[unit]);
    }

    /** A JSON string literal. */
    static String json(String text) {
        StringBuilder out = new StringBuilder("\"");
        for (char c : text.toCharArray()) {
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"').toString();
    }
}
