package dev.cowfs.fuse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** The kernel's table of mounts, {@code /proc/self/mountinfo}: which cowfs mounts are live, of which image. */
public final class MountTable {
    /** The filesystem type cowfs mounts show ({@code fuse.} and the subtype). */
    public static final String TYPE = "fuse.cowfs";
    private static final Path MOUNTINFO = Path.of("/proc/self/mountinfo");

    private MountTable() {
    }

    /** One mount: where, of which type, and its source (for cowfs, the image file). */
    public record Entry(Path mountPoint, String type, String source) {
    }

    /** Every mount the kernel lists. */
    public static List<Entry> entries() throws IOException {
        List<Entry> entries = new ArrayList<>();
        for (String line : Files.readAllLines(MOUNTINFO, StandardCharsets.UTF_8)) {
            String[] fields = line.split(" ");
            int separator = List.of(fields).indexOf("-");
            if (fields.length < 5 || separator < 0 || separator + 2 >= fields.length) {
                continue;
            }
            entries.add(new Entry(Path.of(unescape(fields[4])), fields[separator + 1],
                    unescape(fields[separator + 2])));
        }
        return entries;
    }

    /** The cowfs mount at {@code mountPoint}, if one is live there (the last one, when mounts are stacked). */
    public static Optional<Entry> find(Path mountPoint) throws IOException {
        Path wanted = mountPoint.toAbsolutePath().normalize();
        Entry found = null;
        for (Entry entry : entries()) {
            if (entry.mountPoint().equals(wanted)) {
                found = entry;
            }
        }
        return found != null && found.type().equals(TYPE) ? Optional.of(found) : Optional.empty();
    }

    /** mountinfo writes space, tab, newline and backslash as octal escapes. */
    static String unescape(String field) {
        StringBuilder text = new StringBuilder(field.length());
        for (int i = 0; i < field.length(); i++) {
            char c = field.charAt(i);
            if (c == '\\' && isOctal(field, i + 1)) {
                text.append((char) Integer.parseInt(field.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                text.append(c);
            }
        }
        return text.toString();
    }

    private static boolean isOctal(String field, int from) {
        if (from + 3 > field.length()) {
            return false;
        }
        for (int i = from; i < from + 3; i++) {
            if (field.charAt(i) < '0' || field.charAt(i) > '7') {
                return false;
            }
        }
        return true;
    }
}
