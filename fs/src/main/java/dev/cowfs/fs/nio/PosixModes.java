package dev.cowfs.fs.nio;

import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;

/** Converts between permission sets and the permission bits of a mode; reads initial attributes. */
final class PosixModes {
    /** New files: 0666 less the usual umask 022, as the JDK's unix provider creates them. */
    static final int DEFAULT_FILE_PERMISSIONS = 0644;
    /** New directories: 0777 less the usual umask 022. */
    static final int DEFAULT_DIRECTORY_PERMISSIONS = 0755;

    /** The permissions in the order of their bits, highest (owner read, 0400) first. */
    private static final PosixFilePermission[] BY_BIT = {
            PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_EXECUTE,
            PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE,
            PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE,
    };

    private PosixModes() {
    }

    static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> permissions = EnumSet.noneOf(PosixFilePermission.class);
        for (int i = 0; i < BY_BIT.length; i++) {
            if ((mode & (0400 >> i)) != 0) {
                permissions.add(BY_BIT[i]);
            }
        }
        return permissions;
    }

    static int bits(Set<PosixFilePermission> permissions) {
        int bits = 0;
        for (int i = 0; i < BY_BIT.length; i++) {
            if (permissions.contains(BY_BIT[i])) {
                bits |= 0400 >> i;
            }
        }
        return bits;
    }

    /**
     * The permission bits for a new file: those of a "posix:permissions" (or "unix:permissions") initial
     * attribute, else {@code defaultPermissions}. Any other initial attribute is refused, as the JDK does.
     */
    static int initialPermissions(int defaultPermissions, FileAttribute<?>... attributes) {
        int permissions = defaultPermissions;
        for (FileAttribute<?> attribute : attributes) {
            Objects.requireNonNull(attribute, "file attribute");
            String name = attribute.name();
            if (!name.equals("posix:permissions") && !name.equals("unix:permissions")) {
                throw new UnsupportedOperationException("'" + name + "' not supported as initial attribute");
            }
            Set<?> values = (Set<?>) attribute.value();
            EnumSet<PosixFilePermission> set = EnumSet.noneOf(PosixFilePermission.class);
            for (Object value : values) {
                set.add((PosixFilePermission) Objects.requireNonNull(value, "permission"));
            }
            permissions = bits(set);
        }
        return permissions;
    }
}
