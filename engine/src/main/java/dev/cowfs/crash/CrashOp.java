package dev.cowfs.crash;

/**
 * One step of a crash workload: a filesystem operation on the default subvolume (paths are absolute), a
 * snapshot operation, or a persistence point. {@link #toString} is the replayable text a reproducer prints.
 */
public sealed interface CrashOp {
    /** Make an empty regular file. */
    record Create(String path) implements CrashOp {
        @Override
        public String toString() {
            return "create " + path;
        }
    }

    record Mkdir(String path) implements CrashOp {
        @Override
        public String toString() {
            return "mkdir " + path;
        }
    }

    /**
     * Write {@code length} bytes at {@code offset}; the bytes follow the pattern of operation {@code tag}
     * ({@link DataPattern}), so a misplaced block names the write it came from.
     */
    record Write(String path, long offset, int length, int tag, String kind) implements CrashOp {
        @Override
        public String toString() {
            return "write " + path + " " + kind + " " + offset + "+" + length + " #" + tag;
        }
    }

    record Truncate(String path, long size) implements CrashOp {
        @Override
        public String toString() {
            return "truncate " + path + " " + size;
        }
    }

    record Unlink(String path) implements CrashOp {
        @Override
        public String toString() {
            return "unlink " + path;
        }
    }

    record Rmdir(String path) implements CrashOp {
        @Override
        public String toString() {
            return "rmdir " + path;
        }
    }

    /** Rename, replacing an existing target of a compatible type. */
    record Rename(String from, String to) implements CrashOp {
        @Override
        public String toString() {
            return "rename " + from + " " + to;
        }
    }

    /** A hard link {@code path} to the file {@code target}. */
    record Link(String target, String path) implements CrashOp {
        @Override
        public String toString() {
            return "link " + target + " " + path;
        }
    }

    record Symlink(String target, String path) implements CrashOp {
        @Override
        public String toString() {
            return "symlink " + target + " " + path;
        }
    }

    record SetXattr(String path, String name, int length, int tag) implements CrashOp {
        @Override
        public String toString() {
            return "setxattr " + path + " " + name + " " + length + " #" + tag;
        }
    }

    record RemoveXattr(String path, String name) implements CrashOp {
        @Override
        public String toString() {
            return "removexattr " + path + " " + name;
        }
    }

    /** Reflink: {@code path} becomes a new file sharing all of {@code source}'s data. */
    record Reflink(String source, String path) implements CrashOp {
        @Override
        public String toString() {
            return "reflink " + source + " " + path;
        }
    }

    /** A read-only snapshot of the default subvolume. */
    record SnapshotCreate(String name) implements CrashOp {
        @Override
        public String toString() {
            return "snapshot-create " + name;
        }
    }

    /** Delete a snapshot or clone. */
    record SnapshotDelete(String name) implements CrashOp {
        @Override
        public String toString() {
            return "snapshot-delete " + name;
        }
    }

    /** The default subvolume becomes what snapshot {@code name} holds. */
    record Rollback(String name) implements CrashOp {
        @Override
        public String toString() {
            return "rollback " + name;
        }
    }

    /** A writable clone {@code name} of snapshot {@code snapshot}. */
    record CloneSnapshot(String snapshot, String name) implements CrashOp {
        @Override
        public String toString() {
            return "clone " + snapshot + " " + name;
        }
    }

    /** A persistence point: fsync of a file or directory, a commit of everything, or none. */
    record Persist(Kind kind, String path) implements CrashOp {
        public enum Kind { FSYNC_FILE, FSYNC_DIR, COMMIT, NONE }

        @Override
        public String toString() {
            return switch (kind) {
                case FSYNC_FILE -> "fsync " + path;
                case FSYNC_DIR -> "fsync-dir " + path;
                case COMMIT -> "commit";
                case NONE -> "no-persist";
            };
        }
    }
}
