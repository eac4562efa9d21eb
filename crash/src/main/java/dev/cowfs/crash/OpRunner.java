package dev.cowfs.crash;

import dev.cowfs.fs.CowFileSystem;
import dev.cowfs.fs.RenameMode;

import java.io.IOException;

/** Carries a {@link CrashOp} out on a real filesystem (the default subvolume, paths resolved each time). */
public final class OpRunner {
    private static final int FILE_MODE = 0100644;

    private OpRunner() {
    }

    public static void apply(CowFileSystem fs, CrashOp op) throws IOException {
        if (op instanceof CrashOp.Create create) {
            fs.mknod(parent(fs, create.path()), FsModel.name(create.path()), FILE_MODE, 0, 0, 0);
        } else if (op instanceof CrashOp.Mkdir mkdir) {
            fs.mkdir(parent(fs, mkdir.path()), FsModel.name(mkdir.path()), 0755, 0, 0);
        } else if (op instanceof CrashOp.Write write) {
            byte[] bytes = DataPattern.bytes(write.tag(), DataPattern.fileTag(write.path()), write.offset(),
                    write.length());
            fs.write(fs.resolve(write.path(), false), write.offset(), bytes, 0, bytes.length);
        } else if (op instanceof CrashOp.Truncate truncate) {
            fs.truncate(fs.resolve(truncate.path(), false), truncate.size());
        } else if (op instanceof CrashOp.PunchHole punch) {
            fs.punchHole(fs.resolve(punch.path(), false), punch.offset(), punch.length(), 0);
        } else if (op instanceof CrashOp.Unlink unlink) {
            fs.unlink(parent(fs, unlink.path()), FsModel.name(unlink.path()));
        } else if (op instanceof CrashOp.Rmdir rmdir) {
            fs.rmdir(parent(fs, rmdir.path()), FsModel.name(rmdir.path()));
        } else if (op instanceof CrashOp.Rename rename) {
            fs.rename(parent(fs, rename.from()), FsModel.name(rename.from()), parent(fs, rename.to()),
                    FsModel.name(rename.to()), RenameMode.REPLACE);
        } else if (op instanceof CrashOp.Link link) {
            fs.link(fs.resolve(link.target(), false), parent(fs, link.path()), FsModel.name(link.path()));
        } else if (op instanceof CrashOp.Symlink symlink) {
            fs.symlink(parent(fs, symlink.path()), FsModel.name(symlink.path()), symlink.target(), 0, 0);
        } else if (op instanceof CrashOp.SetXattr set) {
            fs.setXattr(fs.resolve(set.path(), false), set.name(), DataPattern.bytes(set.tag(), 0, 0, set.length()),
                    false, false);
        } else if (op instanceof CrashOp.RemoveXattr remove) {
            fs.removeXattr(fs.resolve(remove.path(), false), remove.name());
        } else if (op instanceof CrashOp.Reflink reflink) {
            long source = fs.resolve(reflink.source(), false);
            long copy = fs.mknod(parent(fs, reflink.path()), FsModel.name(reflink.path()), FILE_MODE, 0, 0, 0);
            fs.reflink(source, copy);
        } else if (op instanceof CrashOp.ReflinkRange range) {
            fs.reflinkRange(fs.resolve(range.source(), false), range.from(), fs.resolve(range.path(), false),
                    range.offset(), range.length());
        } else if (op instanceof CrashOp.SnapshotCreate create) {
            fs.createSnapshot(0, create.name(), false);
        } else if (op instanceof CrashOp.SnapshotDelete delete) {
            fs.deleteSubvolume(fs.subvolumeId(delete.name()));
        } else if (op instanceof CrashOp.Rollback rollback) {
            fs.rollback(0, fs.subvolumeId(rollback.name()));
        } else if (op instanceof CrashOp.CloneSnapshot clone) {
            fs.createSnapshot(fs.subvolumeId(clone.snapshot()), clone.name(), true);
        } else if (op instanceof CrashOp.Compact) {
            fs.compact(blocks -> { }, true);
        } else if (op instanceof CrashOp.Persist persist) {
            switch (persist.kind()) {
                case FSYNC_FILE, FSYNC_DIR -> fs.fsync(fs.resolve(persist.path(), false));
                case COMMIT -> fs.sync();
                case NONE -> {
                }
            }
        } else {
            throw new IllegalArgumentException("unknown operation " + op);
        }
    }

    private static long parent(CowFileSystem fs, String path) throws IOException {
        int slash = path.lastIndexOf('/');
        return fs.resolve(slash <= 0 ? "/" : path.substring(0, slash), true);
    }
}
