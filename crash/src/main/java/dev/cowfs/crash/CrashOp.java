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

    /** Punch a hole: [offset, offset + length) reads as zeros, the size unchanged. */
    record PunchHole(String path, long offset, long length) implements CrashOp {
        @Override
        public String toString() {
            return "punch " + path + " " + offset + "+" + length;
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

    /** A range reflink: {@code length} bytes of {@code path} from {@code offset} share {@code source}'s from {@code from}. */
    record ReflinkRange(String source, long from, String path, long offset, long length) implements CrashOp {
        @Override
        public String toString() {
            return "reflink-range " + source + " " + from + " " + path + " " + offset + "+" + length;
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

    /**
     * Compaction of the image: everything is committed first, then blocks move down in commits of their own
     * (below the far superblock copy too, as the harness's images are small); what the image holds stays.
     */
    record Compact() implements CrashOp {
        @Override
        public String toString() {
            return "compact";
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

    /** Reads back what {@link #toString} wrote (paths and names hold no spaces). */
    static CrashOp parse(String text) {
        String[] w = text.trim().split(" ");
        try {
            return switch (w[0]) {
                case "create" -> new Create(w[1]);
                case "mkdir" -> new Mkdir(w[1]);
                case "write" -> {
                    String[] range = w[3].split("\\+");
                    yield new Write(w[1], Long.parseLong(range[0]), Integer.parseInt(range[1]),
                            Integer.parseInt(w[4].substring(1)), w[2]);
                }
                case "truncate" -> new Truncate(w[1], Long.parseLong(w[2]));
                case "punch" -> {
                    String[] range = w[2].split("\\+");
                    yield new PunchHole(w[1], Long.parseLong(range[0]), Long.parseLong(range[1]));
                }
                case "unlink" -> new Unlink(w[1]);
                case "rmdir" -> new Rmdir(w[1]);
                case "rename" -> new Rename(w[1], w[2]);
                case "link" -> new Link(w[1], w[2]);
                case "symlink" -> new Symlink(w[1], w[2]);
                case "setxattr" -> new SetXattr(w[1], w[2], Integer.parseInt(w[3]),
                        Integer.parseInt(w[4].substring(1)));
                case "removexattr" -> new RemoveXattr(w[1], w[2]);
                case "reflink" -> new Reflink(w[1], w[2]);
                case "reflink-range" -> {
                    String[] range = w[4].split("\\+");
                    yield new ReflinkRange(w[1], Long.parseLong(w[2]), w[3], Long.parseLong(range[0]),
                            Long.parseLong(range[1]));
                }
                case "snapshot-create" -> new SnapshotCreate(w[1]);
                case "snapshot-delete" -> new SnapshotDelete(w[1]);
                case "rollback" -> new Rollback(w[1]);
                case "clone" -> new CloneSnapshot(w[1], w[2]);
                case "compact" -> new Compact();
                case "fsync" -> new Persist(Persist.Kind.FSYNC_FILE, w[1]);
                case "fsync-dir" -> new Persist(Persist.Kind.FSYNC_DIR, w[1]);
                case "commit" -> new Persist(Persist.Kind.COMMIT, null);
                case "no-persist" -> new Persist(Persist.Kind.NONE, null);
                default -> throw new IllegalArgumentException("unknown operation");
            };
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("'" + text + "' is not an operation: " + e.getMessage(), e);
        }
    }
}
