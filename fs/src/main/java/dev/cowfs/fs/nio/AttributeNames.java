package dev.cowfs.fs.nio;

import java.io.IOException;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.UserPrincipal;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Attributes by name, as {@code Files.readAttributes(path, "view:name,name")} and
 * {@code Files.setAttribute(path, "view:name", value)} use them. The views, each a superset of the one before:
 * "basic"; "owner" (just owner); "posix" (basic, permissions, owner, group); "unix" (posix, mode, ino, nlink,
 * uid, gid, rdev, ctime). The unix view has no "dev": an image has no device number.
 */
final class AttributeNames {
    private static final Map<String, Function<CowFileAttributes, Object>> BASIC = new LinkedHashMap<>();
    private static final Map<String, Function<CowFileAttributes, Object>> OWNER = new LinkedHashMap<>();
    private static final Map<String, Function<CowFileAttributes, Object>> POSIX = new LinkedHashMap<>();
    private static final Map<String, Function<CowFileAttributes, Object>> UNIX = new LinkedHashMap<>();
    /** The views by name, for {@code FileSystem.supportedFileAttributeViews()}. */
    static final Set<String> VIEWS = Set.of("basic", "owner", "posix", "unix");

    static {
        BASIC.put("lastModifiedTime", CowFileAttributes::lastModifiedTime);
        BASIC.put("lastAccessTime", CowFileAttributes::lastAccessTime);
        BASIC.put("creationTime", CowFileAttributes::creationTime);
        BASIC.put("size", CowFileAttributes::size);
        BASIC.put("isRegularFile", CowFileAttributes::isRegularFile);
        BASIC.put("isDirectory", CowFileAttributes::isDirectory);
        BASIC.put("isSymbolicLink", CowFileAttributes::isSymbolicLink);
        BASIC.put("isOther", CowFileAttributes::isOther);
        BASIC.put("fileKey", CowFileAttributes::fileKey);
        OWNER.put("owner", CowFileAttributes::owner);
        POSIX.putAll(BASIC);
        POSIX.put("permissions", CowFileAttributes::permissions);
        POSIX.put("owner", CowFileAttributes::owner);
        POSIX.put("group", CowFileAttributes::group);
        UNIX.putAll(POSIX);
        UNIX.put("mode", CowFileAttributes::mode);
        UNIX.put("ino", CowFileAttributes::ino);
        UNIX.put("nlink", CowFileAttributes::nlink);
        UNIX.put("uid", CowFileAttributes::uid);
        UNIX.put("gid", CowFileAttributes::gid);
        UNIX.put("rdev", CowFileAttributes::rdev);
        UNIX.put("ctime", CowFileAttributes::changeTime);
    }

    private AttributeNames() {
    }

    /** The attributes {@code spec} ("[view:]name,name" or "[view:]*") names, read from {@code path}. */
    static Map<String, Object> read(CowPath path, String spec, boolean followLinks) throws IOException {
        ViewAndNames parsed = parse(spec);
        Map<String, Function<CowFileAttributes, Object>> view = view(parsed.view);
        List<String> names = parsed.names.equals("*") ? List.copyOf(view.keySet())
                : List.of(parsed.names.split(","));
        for (String name : names) {
            if (!name.equals("*") && !view.containsKey(name)) {
                throw new IllegalArgumentException("'" + name + "' not recognized by view '" + parsed.view + "'");
            }
        }
        CowFileAttributes attributes = path.getFileSystem().namespace().attributes(path, followLinks);
        Map<String, Object> values = new LinkedHashMap<>();
        for (String name : names) {
            if (name.equals("*")) {
                view.forEach((key, getter) -> values.put(key, getter.apply(attributes)));
            } else {
                values.put(name, view.get(name).apply(attributes));
            }
        }
        return values;
    }

    /** Sets one attribute, named "[view:]name"; a value of the wrong type is a {@link ClassCastException}. */
    static void write(CowPath path, String spec, Object value, boolean followLinks) throws IOException {
        ViewAndNames parsed = parse(spec);
        if (!view(parsed.view).containsKey(parsed.names)) {
            throw new IllegalArgumentException("'" + parsed.names + "' not recognized by view '" + parsed.view
                    + "'");
        }
        CowFileAttributeView view = new CowFileAttributeView(parsed.view, path, followLinks);
        switch (parsed.names) {
            case "lastModifiedTime" -> view.setTimes((FileTime) value, null, null);
            case "lastAccessTime" -> view.setTimes(null, (FileTime) value, null);
            case "creationTime" -> view.setTimes(null, null, (FileTime) value);
            case "owner" -> view.setOwner((UserPrincipal) value);
            case "group" -> view.setGroup((GroupPrincipal) value);
            case "permissions" -> view.setPermissions(permissionSet(value));
            case "mode" -> view.setMode((Integer) value);
            case "uid" -> view.chown((Integer) value, -1);
            case "gid" -> view.chown(-1, (Integer) value);
            default -> throw new IllegalArgumentException("'" + parsed.names + "' of view '" + parsed.view
                    + "' cannot be set");
        }
    }

    private record ViewAndNames(String view, String names) {
    }

    private static ViewAndNames parse(String spec) {
        int colon = spec.indexOf(':');
        return colon < 0 ? new ViewAndNames("basic", spec)
                : new ViewAndNames(spec.substring(0, colon), spec.substring(colon + 1));
    }

    private static Map<String, Function<CowFileAttributes, Object>> view(String name) {
        return switch (name) {
            case "basic" -> BASIC;
            case "owner" -> OWNER;
            case "posix" -> POSIX;
            case "unix" -> UNIX;
            default -> throw new UnsupportedOperationException("View '" + name + "' not available");
        };
    }

    private static Set<PosixFilePermission> permissionSet(Object value) {
        Set<?> set = (Set<?>) value;
        for (Object element : set) {
            PosixFilePermission.class.cast(element);
        }
        @SuppressWarnings("unchecked")
        Set<PosixFilePermission> permissions = (Set<PosixFilePermission>) set;
        return permissions;
    }
}
