package dev.cowfs.crash;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;

/**
 * Bounded workloads in the manner of ACE: every sequence of 1, 2 or 3 core operations over a small file set
 * (files {@code /foo}, {@code /bar}, {@code /A/foo}, {@code /A/bar}, {@code /A/C/bar}; directories {@code /A},
 * {@code /B}, {@code /A/C}; snapshot {@code s1} and clone {@code c1}), each followed by a persistence point
 * (fsync of the file, fsync of its directory, a commit, or none; never none at the end). Before each
 * operation, dependency repair adds what it needs (a file to write exists, a name to create does not, a
 * snapshot exists before it is cloned), checked against the {@link FsModel}, so every operation is valid.
 */
public final class AceWorkloads {
    private AceWorkloads() {
    }

    /** A workload: its name (seq length and index, or seed) and its operations, repairs included. */
    public record Workload(String name, List<CrashOp> ops) {
        public String text() {
            StringBuilder text = new StringBuilder();
            for (CrashOp op : ops) {
                text.append(text.isEmpty() ? "" : "; ").append(op);
            }
            return text.toString();
        }
    }

    /** One core operation: what it is called, the path a persistence point after it concerns, what it emits. */
    record Template(String label, String mainPath, Consumer<Steps> emit) {
    }

    private static final List<Template> TEMPLATES = templates();
    private static final CrashOp.Persist.Kind[] ANY_POINT = CrashOp.Persist.Kind.values();
    private static final CrashOp.Persist.Kind[] FINAL_POINT = {CrashOp.Persist.Kind.FSYNC_FILE,
        CrashOp.Persist.Kind.FSYNC_DIR, CrashOp.Persist.Kind.COMMIT};

    public static int coreOperations() {
        return TEMPLATES.size();
    }

    public static List<String> coreLabels() {
        return TEMPLATES.stream().map(Template::label).toList();
    }

    /** How many distinct workloads of {@code length} core operations there are. */
    public static long count(int length) {
        long count = 1;
        for (int i = 0; i < length; i++) {
            count *= (long) TEMPLATES.size() * (i == length - 1 ? FINAL_POINT.length : ANY_POINT.length);
        }
        return count;
    }

    /** Workload number {@code index} (0 to {@code count(length) - 1}) of {@code length} core operations. */
    public static Workload sequence(int length, long index, FsModel start) {
        long rest = index;
        List<int[]> choices = new ArrayList<>();
        for (int i = 0; i < length; i++) {
            CrashOp.Persist.Kind[] points = i == length - 1 ? FINAL_POINT : ANY_POINT;
            int template = (int) (rest % TEMPLATES.size());
            rest /= TEMPLATES.size();
            int point = (int) (rest % points.length);
            rest /= points.length;
            choices.add(new int[] {template, points[point].ordinal()});
        }
        return build("seq" + length + " #" + index, choices, start);
    }

    /** A seeded random workload of {@code length} core operations, persistence points drawn at random. */
    public static Workload random(long seed, int length, FsModel start) {
        Random random = new Random(seed);
        List<int[]> choices = new ArrayList<>();
        for (int i = 0; i < length; i++) {
            CrashOp.Persist.Kind kind = i == length - 1 ? CrashOp.Persist.Kind.COMMIT
                    : random.nextInt(10) < 4 ? CrashOp.Persist.Kind.NONE : ANY_POINT[random.nextInt(ANY_POINT.length)];
            choices.add(new int[] {random.nextInt(TEMPLATES.size()), kind.ordinal()});
        }
        return build("random seed " + seed + " length " + length, choices, start);
    }

    private static Workload build(String name, List<int[]> choices, FsModel start) {
        Steps steps = new Steps(start.copy());
        for (int[] choice : choices) {
            Template template = TEMPLATES.get(choice[0]);
            template.emit().accept(steps);
            steps.add(persistencePoint(steps.model, template.mainPath(), CrashOp.Persist.Kind.values()[choice[1]]));
        }
        return new Workload(name + " (" + choices.stream().map(c -> TEMPLATES.get(c[0]).label() + "/"
                + CrashOp.Persist.Kind.values()[c[1]]).reduce((a, b) -> a + ", " + b).orElse("") + ")", steps.ops);
    }

    private static CrashOp.Persist persistencePoint(FsModel model, String path, CrashOp.Persist.Kind kind) {
        String parent = parentOf(path);
        while (model.typeOf(parent) != 'd') {
            parent = parentOf(parent);
        }
        return switch (kind) {
            case FSYNC_FILE -> new CrashOp.Persist(kind, model.typeOf(path) == 'f' || model.typeOf(path) == 'd'
                    ? path : parent);
            case FSYNC_DIR -> new CrashOp.Persist(kind, parent);
            default -> new CrashOp.Persist(kind, null);
        };
    }

    static String parentOf(String path) {
        int slash = path.lastIndexOf('/');
        return slash <= 0 ? "/" : path.substring(0, slash);
    }

    // ------------------------------------------------------------------ the core operations

    /**
     * The core operations, each on a few fixed paths, in a fixed order (a sequence workload's number names its
     * templates by their place in this list).
     */
    private static List<Template> templates() {
        List<Template> all = new ArrayList<>();
        addCreates(all);
        addFileChanges(all);
        addNameChanges(all);
        addAttributesAndSubvolumes(all);
        return List.copyOf(all);
    }

    private static void addCreates(List<Template> all) {
        for (String file : List.of("/foo", "/A/foo", "/A/C/bar")) {
            all.add(new Template("create " + file, file, s -> {
                s.ensureDir(parentOf(file));
                s.ensureAbsent(file);
                s.add(new CrashOp.Create(file));
            }));
        }
        for (String dir : List.of("/B", "/A/C")) {
            all.add(new Template("mkdir " + dir, dir, s -> {
                s.ensureDir(parentOf(dir));
                s.ensureAbsent(dir);
                s.add(new CrashOp.Mkdir(dir));
            }));
        }
    }

    private static void addFileChanges(List<Template> all) {
        for (String file : List.of("/foo", "/A/foo")) {
            for (String kind : List.of("append", "aligned", "unaligned", "crossing", "large", "hole")) {
                all.add(new Template("write " + file + " " + kind, file, s -> {
                    s.ensureFile(file);
                    long size = s.model.sizeOf(file);
                    long offset = switch (kind) {
                        case "append" -> size;
                        case "unaligned" -> 1000;
                        case "crossing" -> 4000;
                        case "hole" -> size + 65_536;
                        default -> 0;
                    };
                    int length = switch (kind) {
                        case "append" -> 1500;
                        case "aligned" -> 8192;
                        case "unaligned" -> 3000;
                        case "crossing" -> 200;
                        case "large" -> 300_000;
                        default -> 1000;
                    };
                    s.add(new CrashOp.Write(file, offset, length, s.nextTag(), kind));
                }));
            }
            all.add(new Template("truncate " + file + " down", file, s -> {
                s.ensureFile(file);
                if (s.model.sizeOf(file) < 4096) {
                    s.add(new CrashOp.Write(file, s.model.sizeOf(file), 12_000, s.nextTag(), "fill"));
                }
                s.add(new CrashOp.Truncate(file, s.model.sizeOf(file) / 3));
            }));
            all.add(new Template("truncate " + file + " up", file, s -> {
                s.ensureFile(file);
                s.add(new CrashOp.Truncate(file, s.model.sizeOf(file) + 20_000));
            }));
            all.add(new Template("punch a hole in " + file, file, s -> {
                s.ensureFile(file);
                if (s.model.sizeOf(file) < 16_384) {
                    s.add(new CrashOp.Write(file, s.model.sizeOf(file), 200_000, s.nextTag(), "fill"));
                }
                s.add(new CrashOp.PunchHole(file, 3000, s.model.sizeOf(file) / 2));
            }));
            all.add(new Template("unlink " + file, file, s -> {
                s.ensureFile(file);
                s.add(new CrashOp.Unlink(file));
            }));
        }
    }

    private static void addNameChanges(List<Template> all) {
        for (String dir : List.of("/B", "/A/C")) {
            all.add(new Template("rmdir " + dir, dir, s -> {
                s.ensureEmptyDir(dir);
                s.add(new CrashOp.Rmdir(dir));
            }));
        }
        all.add(rename("/foo", "/bar", false));
        all.add(rename("/foo", "/bar", true));
        all.add(rename("/foo", "/A/bar", false));
        all.add(rename("/A/foo", "/B/foo", false));
        all.add(new Template("rename dir /A/C /B/C", "/B/C", s -> {
            s.ensureDir("/A/C");
            s.ensureFile("/A/C/bar");
            s.ensureDir("/B");
            s.ensureAbsent("/B/C");
            s.add(new CrashOp.Rename("/A/C", "/B/C"));
        }));
        for (String[] link : List.of(new String[] {"/foo", "/bar"}, new String[] {"/foo", "/A/bar"})) {
            all.add(new Template("link " + link[0] + " " + link[1], link[1], s -> {
                s.ensureFile(link[0]);
                s.ensureDir(parentOf(link[1]));
                s.ensureAbsent(link[1]);
                s.add(new CrashOp.Link(link[0], link[1]));
            }));
        }
        for (String[] symlink : List.of(new String[] {"foo", "/bar"}, new String[] {"../foo", "/A/bar"})) {
            all.add(new Template("symlink " + symlink[1], symlink[1], s -> {
                s.ensureDir(parentOf(symlink[1]));
                s.ensureAbsent(symlink[1]);
                s.add(new CrashOp.Symlink(symlink[0], symlink[1]));
            }));
        }
    }

    private static void addAttributesAndSubvolumes(List<Template> all) {
        for (String path : List.of("/foo", "/A")) {
            all.add(new Template("setxattr " + path, path, s -> {
                s.ensureNode(path);
                s.add(new CrashOp.SetXattr(path, "user.test", 100, s.nextTag()));
            }));
            all.add(new Template("removexattr " + path, path, s -> {
                s.ensureNode(path);
                if (!s.model.hasXattr(path, "user.test")) {
                    s.add(new CrashOp.SetXattr(path, "user.test", 100, s.nextTag()));
                }
                s.add(new CrashOp.RemoveXattr(path, "user.test"));
            }));
        }
        all.add(new Template("reflink /foo /A/C/bar", "/A/C/bar", s -> {
            s.ensureFile("/foo");
            if (s.model.sizeOf("/foo") == 0) {
                s.add(new CrashOp.Write("/foo", 0, 20_000, s.nextTag(), "fill"));
            }
            s.ensureDir("/A/C");
            s.ensureAbsent("/A/C/bar");
            s.add(new CrashOp.Reflink("/foo", "/A/C/bar"));
        }));
        all.add(new Template("reflink a range of /foo into /A/bar", "/A/bar", s -> {
            s.ensureFile("/foo");
            if (s.model.sizeOf("/foo") < 200_000) {
                s.add(new CrashOp.Write("/foo", s.model.sizeOf("/foo"), 300_000, s.nextTag(), "fill"));
            }
            s.ensureFile("/A/bar");
            if (s.model.sizeOf("/A/bar") < 10_000) {
                s.add(new CrashOp.Write("/A/bar", s.model.sizeOf("/A/bar"), 50_000, s.nextTag(), "fill"));
            }
            s.add(new CrashOp.ReflinkRange("/foo", 8192, "/A/bar", 4096, 150_000));
        }));
        all.add(new Template("snapshot-create s1", "/", s -> {
            s.ensureNoSubvolume("s1");
            s.add(new CrashOp.SnapshotCreate("s1"));
        }));
        all.add(new Template("snapshot-delete s1", "/", s -> {
            s.ensureSnapshot("s1");
            s.add(new CrashOp.SnapshotDelete("s1"));
        }));
        all.add(new Template("rollback s1", "/", s -> {
            s.ensureSnapshot("s1");
            s.add(new CrashOp.Rollback("s1"));
        }));
        all.add(new Template("clone s1 c1", "/", s -> {
            s.ensureSnapshot("s1");
            s.ensureNoSubvolume("c1");
            s.add(new CrashOp.CloneSnapshot("s1", "c1"));
        }));
        all.add(new Template("compact", "/", s -> s.add(new CrashOp.Compact())));
    }

    private static Template rename(String from, String to, boolean overExisting) {
        return new Template("rename " + from + " " + to + (overExisting ? " over existing" : ""), to, s -> {
            s.ensureFile(from);
            s.ensureDir(parentOf(to));
            if (overExisting) {
                s.ensureFile(to);
            } else {
                s.ensureAbsent(to);
            }
            s.add(new CrashOp.Rename(from, to));
        });
    }

    /** The operations of a workload being built, applied to its model as they are added. */
    static final class Steps {
        final FsModel model;
        final List<CrashOp> ops = new ArrayList<>();

        Steps(FsModel model) {
            this.model = model;
        }

        void add(CrashOp op) {
            model.apply(op);
            ops.add(op);
        }

        /** The tag of the next operation: its position in the workload, from 1. */
        int nextTag() {
            return ops.size() + 1;
        }

        void ensureDir(String path) {
            if (path.equals("/")) {
                return;
            }
            ensureDir(parentOf(path));
            char type = model.typeOf(path);
            if (type == 'd') {
                return;
            }
            if (type != 0) {
                add(new CrashOp.Unlink(path));
            }
            add(new CrashOp.Mkdir(path));
        }

        void ensureFile(String path) {
            ensureDir(parentOf(path));
            char type = model.typeOf(path);
            if (type == 'f') {
                return;
            }
            ensureAbsent(path);
            add(new CrashOp.Create(path));
        }

        /** A file or directory at the path (a file when nothing is there). */
        void ensureNode(String path) {
            char type = model.typeOf(path);
            if (type == 'f' || type == 'd') {
                return;
            }
            ensureFile(path);
        }

        void ensureAbsent(String path) {
            char type = model.typeOf(path);
            if (type == 0) {
                return;
            }
            if (type == 'd') {
                for (String child : model.childrenOf(path)) {
                    ensureAbsent(path + "/" + child);
                }
                add(new CrashOp.Rmdir(path));
            } else {
                add(new CrashOp.Unlink(path));
            }
        }

        void ensureEmptyDir(String path) {
            ensureDir(path);
            for (String child : model.childrenOf(path)) {
                ensureAbsent(path + "/" + child);
            }
        }

        void ensureSnapshot(String name) {
            if (model.hasSubvolume(name) && model.isReadOnly(name)) {
                return;
            }
            ensureNoSubvolume(name);
            add(new CrashOp.SnapshotCreate(name));
        }

        void ensureNoSubvolume(String name) {
            if (model.hasSubvolume(name)) {
                add(new CrashOp.SnapshotDelete(name));
            }
        }
    }
}
