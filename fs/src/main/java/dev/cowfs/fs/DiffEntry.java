package dev.cowfs.fs;

/**
 * One change between two states of a subvolume, by path: a name added or removed, a file or directory whose
 * contents or attributes changed, or an inode that moved ({@code path} is the old path, {@code newPath} the new).
 */
public record DiffEntry(Kind kind, String path, String newPath) {
    public enum Kind { ADDED, REMOVED, MODIFIED, RENAMED }

    @Override
    public String toString() {
        return switch (kind) {
            case ADDED -> "+ " + path;
            case REMOVED -> "- " + path;
            case MODIFIED -> "M " + path;
            case RENAMED -> "R " + path + " -> " + newPath;
        };
    }
}
