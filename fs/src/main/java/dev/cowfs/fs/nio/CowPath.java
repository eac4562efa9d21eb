package dev.cowfs.fs.nio;

import java.io.IOException;
import java.net.URI;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.ProviderMismatchException;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A path inside one cowfs image, with the unix provider's semantics: '/' separates names, "/" is the only root,
 * repeated and trailing separators are dropped when parsing, and the empty path "" is a relative path of one
 * empty name. Relative paths are taken from the image's root directory, which is the working directory.
 *
 * <p>Purely lexical: only {@link #toRealPath} looks at the image. Immutable.
 */
final class CowPath implements Path {
    private static final String EMPTY_NAME = "";

    private final CowNioFileSystem fileSystem;
    private final boolean absolute;
    /** The names; the root has none, the empty path has the one name "". */
    private final List<String> names;
    private final String text;

    private CowPath(CowNioFileSystem fileSystem, boolean absolute, List<String> names) {
        this.fileSystem = fileSystem;
        this.absolute = absolute;
        this.names = !absolute && names.isEmpty() ? List.of(EMPTY_NAME) : List.copyOf(names);
        this.text = (absolute ? "/" : "") + String.join("/", this.names);
    }

    /** Parses {@code text}: a leading '/' makes the path absolute, empty names are dropped. */
    static CowPath parse(CowNioFileSystem fileSystem, String text) {
        if (text.indexOf('\0') >= 0) {
            throw new InvalidPathException(text, "Nul character not allowed");
        }
        List<String> names = new ArrayList<>();
        for (String name : text.split("/")) {
            if (!name.isEmpty()) {
                names.add(name);
            }
        }
        return new CowPath(fileSystem, text.startsWith("/"), names);
    }

    static CowPath root(CowNioFileSystem fileSystem) {
        return new CowPath(fileSystem, true, List.of());
    }

    /** The path as a cowfs path, or a {@link ProviderMismatchException} naming what it is instead. */
    static CowPath cast(Path path) {
        Objects.requireNonNull(path, "path");
        if (!(path instanceof CowPath cowPath)) {
            throw new ProviderMismatchException("not a cowfs path: " + path + " (" + path.getClass().getName() + ")");
        }
        return cowPath;
    }

    /** The names as a list; empty for the root and for the empty path. */
    List<String> names() {
        return isEmpty() ? List.of() : names;
    }

    boolean isEmpty() {
        return !absolute && names.size() == 1 && names.get(0).isEmpty();
    }

    @Override
    public CowNioFileSystem getFileSystem() {
        return fileSystem;
    }

    @Override
    public boolean isAbsolute() {
        return absolute;
    }

    @Override
    public CowPath getRoot() {
        return absolute ? fileSystem.rootDirectory() : null;
    }

    @Override
    public CowPath getFileName() {
        if (names.isEmpty()) {
            return null;
        }
        if (isEmpty()) {
            return this;
        }
        return new CowPath(fileSystem, false, List.of(names.get(names.size() - 1)));
    }

    @Override
    public CowPath getParent() {
        int count = names.size();
        if (count == 0 || (count == 1 && !absolute)) {
            return null;
        }
        return new CowPath(fileSystem, absolute, names.subList(0, count - 1));
    }

    @Override
    public int getNameCount() {
        return names.size();
    }

    @Override
    public CowPath getName(int index) {
        if (index < 0 || index >= names.size()) {
            throw new IllegalArgumentException("name index " + index + " out of range for '" + text + "' ("
                    + names.size() + " names)");
        }
        return new CowPath(fileSystem, false, List.of(names.get(index)));
    }

    @Override
    public CowPath subpath(int beginIndex, int endIndex) {
        if (beginIndex < 0 || beginIndex >= names.size() || endIndex > names.size() || beginIndex >= endIndex) {
            throw new IllegalArgumentException("subpath [" + beginIndex + ", " + endIndex + ") out of range for '"
                    + text + "' (" + names.size() + " names)");
        }
        return new CowPath(fileSystem, false, names.subList(beginIndex, endIndex));
    }

    @Override
    public boolean startsWith(Path other) {
        if (!(other instanceof CowPath that) || that.fileSystem != fileSystem || that.absolute != absolute) {
            return false;
        }
        if (that.isEmpty()) {
            return isEmpty();
        }
        return that.names.size() <= names.size() && names.subList(0, that.names.size()).equals(that.names);
    }

    @Override
    public boolean endsWith(Path other) {
        if (!(other instanceof CowPath that) || that.fileSystem != fileSystem) {
            return false;
        }
        if (that.absolute) {
            return equals(that);
        }
        if (that.isEmpty()) {
            return isEmpty();
        }
        int offset = names.size() - that.names.size();
        return offset >= 0 && !isEmpty() && names.subList(offset, names.size()).equals(that.names);
    }

    @Override
    public CowPath normalize() {
        List<String> normal = new ArrayList<>();
        for (String name : names()) {
            if (name.equals(".")) {
                continue;
            }
            if (name.equals("..")) {
                if (!normal.isEmpty() && !normal.get(normal.size() - 1).equals("..")) {
                    normal.remove(normal.size() - 1);
                } else if (!absolute) {
                    normal.add(name);
                }
                continue;
            }
            normal.add(name);
        }
        return new CowPath(fileSystem, absolute, normal);
    }

    @Override
    public CowPath resolve(Path other) {
        CowPath that = cast(other);
        if (that.absolute) {
            return that.fileSystem == fileSystem ? that : new CowPath(fileSystem, true, that.names);
        }
        if (that.isEmpty()) {
            return this;
        }
        List<String> joined = new ArrayList<>(names());
        joined.addAll(that.names);
        return new CowPath(fileSystem, absolute, joined);
    }

    @Override
    public CowPath resolve(String other) {
        return resolve(parse(fileSystem, other));
    }

    /**
     * As the JDK's unix paths: the empty path relativizes to the other path as it is; otherwise both are
     * normalized when either has "." or ".." names, and the names of this path past the common prefix become
     * ".." (they must not include ".." themselves).
     */
    @Override
    public CowPath relativize(Path other) {
        CowPath child = cast(other);
        if (child.fileSystem != fileSystem) {
            child = new CowPath(fileSystem, child.absolute, child.names);
        }
        if (child.equals(this)) {
            return new CowPath(fileSystem, false, List.of());
        }
        if (child.absolute != absolute) {
            throw new IllegalArgumentException("cannot relativize '" + child + "' against '" + this
                    + "': one is absolute, the other relative");
        }
        if (isEmpty()) {
            return child;
        }
        CowPath base = this;
        if (base.hasDotOrDotDot() || child.hasDotOrDotDot()) {
            base = base.normalize();
            child = child.normalize();
        }
        List<String> baseNames = base.names();
        List<String> childNames = child.names();
        int common = 0;
        while (common < baseNames.size() && common < childNames.size()
                && baseNames.get(common).equals(childNames.get(common))) {
            common++;
        }
        List<String> relative = new ArrayList<>();
        for (String name : baseNames.subList(common, baseNames.size())) {
            if (name.equals(".") || name.equals("..")) {
                throw new IllegalArgumentException("unable to compute a relative path from '" + this + "' to '"
                        + other + "'");
            }
            relative.add("..");
        }
        relative.addAll(childNames.subList(common, childNames.size()));
        return new CowPath(fileSystem, false, relative);
    }

    private boolean hasDotOrDotDot() {
        return names.contains(".") || names.contains("..");
    }

    @Override
    public URI toUri() {
        return fileSystem.uriOf(toAbsolutePath());
    }

    @Override
    public CowPath toAbsolutePath() {
        return absolute ? this : new CowPath(fileSystem, true, names());
    }

    @Override
    public CowPath toRealPath(LinkOption... options) throws IOException {
        return fileSystem.namespace().realPath(this, LinkOptions.follow(options));
    }

    /** Watching is not offered (the file system has no watch service), so any watcher is another provider's. */
    @Override
    public WatchKey register(WatchService watcher, WatchEvent.Kind<?>[] events, WatchEvent.Modifier... modifiers) {
        Objects.requireNonNull(watcher, "watcher");
        throw new ProviderMismatchException("cowfs has no watch service; this watcher belongs to another "
                + "file system (path " + text + ")");
    }

    @Override
    public int compareTo(Path other) {
        return text.compareTo(((CowPath) other).text);
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof CowPath that && that.fileSystem == fileSystem && that.text.equals(text);
    }

    @Override
    public int hashCode() {
        return text.hashCode();
    }

    @Override
    public String toString() {
        return text;
    }
}
