package dev.cowfs.tools;

import dev.cowfs.engine.StoreOptions;
import dev.cowfs.engine.check.CheckReport;
import dev.cowfs.engine.error.ImageLockedException;
import dev.cowfs.fs.CowFileSystem;
import dev.cowfs.fs.Errno;
import dev.cowfs.fs.FsChecker;
import dev.cowfs.fs.FsException;
import dev.cowfs.fs.FsOptions;
import dev.cowfs.fs.InodeNumber;
import dev.cowfs.fs.SubvolumeInfo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.LongConsumer;

/** Opening images and naming things in them from the command line. */
final class Images {
    private Images() {
    }

    /** How a run opens images. */
    interface Access {
        Session open(Path image, boolean writable) throws IOException;
    }

    /** An image open for one command. Closing it makes what the command wrote durable. */
    interface Session extends AutoCloseable {
        CowFileSystem fs();

        /** What opening the image reported (a newer commit passed over, a superblock copy rewritten). */
        default List<String> warnings() {
            return fs().store().openWarnings();
        }

        /** Checks the newest committed state: engine problems first, then filesystem problems. */
        Check check(LongConsumer progress) throws IOException;

        @Override
        void close() throws IOException;
    }

    /**
     * What {@link Session#check} found: {@code superblocks} (commits lost to superblocks or roots that do not verify),
     * then the engine's and the filesystem's problems, all in {@code problems}.
     */
    record Check(CheckReport engine, List<String> superblocks, List<String> problems) {
    }

    /** Opens images in this process; an image another process holds is reached through its channel. */
    static final Access LOCAL = (image, writable) -> openLocal(image, writable, 0);

    /** Opens retained generation {@code generation} of the image read-only, in this process. */
    static Session openGeneration(Path image, long generation) throws IOException {
        return openLocal(image, false, generation);
    }

    /**
     * Refuses work that cannot go through the control channel of the process holding {@code image} (a mount or
     * {@code cowfs serve}, which keeps committing): {@code then} says what the user does once it has stopped.
     */
    static ImageLockedException heldElsewhere(Path image, String then) {
        return new ImageLockedException(image + " is held by a process that keeps committing (a mount or cowfs "
                + "serve); " + then, true);
    }

    private static Session openLocal(Path image, boolean writable, long generation) throws IOException {
        FsOptions options = FsOptions.builder().commitIntervalMillis(0)
                .store(StoreOptions.builder().readOnly(!writable).openGeneration(generation).build()).build();
        if (Files.isDirectory(image)) {
            throw new Cowfs.UsageException(image + " is a directory, not an image file");
        }
        CowFileSystem fs;
        try {
            fs = CowFileSystem.open(image, options);
        } catch (ImageLockedException e) {
            Path socket = Channel.socketOf(image);
            if (e.otherProcess() && Files.exists(socket)) {
                if (generation != 0) {
                    throw heldElsewhere(image, "read older generations once it has stopped");
                }
                throw new Channel.HeldElsewhere(socket);
            }
            throw e;
        }
        return new Session() {
            @Override
            public CowFileSystem fs() {
                return fs;
            }

            @Override
            public Check check(LongConsumer progress) throws IOException {
                // this process holds the image, so nothing commits meanwhile: the retained roots are checked too
                CheckReport report = fs.store().check(progress);
                List<String> superblocks = new ArrayList<>();
                if (fs.store().openedOlderCommit()) {
                    superblocks.addAll(fs.store().openWarnings()); // a newer commit landed but does not verify
                }
                superblocks.addAll(fs.store().damagedSuperblockCopies());
                List<String> problems = new ArrayList<>(superblocks);
                problems.addAll(report.problems());
                problems.addAll(FsChecker.check(fs.store()));
                return new Check(report, superblocks, problems);
            }

            @Override
            public void close() throws IOException {
                fs.close();
            }
        };
    }

    /**
     * The inode a path names: {@code /a/b} in the default subvolume, {@code @NAME:/a/b} in subvolume or
     * snapshot NAME.
     */
    static long resolve(CowFileSystem fs, String spec, boolean followLast) throws IOException {
        Long root = null;
        String path = spec;
        if (spec.startsWith("@")) {
            int colon = spec.indexOf(':');
            if (colon < 0) {
                return InodeNumber.rootOf(subvolume(fs, spec.substring(1)));
            }
            root = InodeNumber.rootOf(subvolume(fs, spec.substring(1, colon)));
            path = spec.substring(colon + 1).isEmpty() ? "/" : spec.substring(colon + 1);
        }
        try {
            return root == null ? fs.resolve(path, followLast) : fs.resolve(root, path, followLast);
        } catch (FsException e) {
            if (e.errno() == Errno.ENOENT || e.errno() == Errno.ENOTDIR || e.errno() == Errno.ELOOP) {
                throw new FsException(e.errno(), spec, e); // name the path the user gave, not an inode
            }
            throw e;
        }
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
