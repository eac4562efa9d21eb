package dev.cowfs.crash;

import dev.cowfs.engine.StoreOptions;
import dev.cowfs.engine.device.BlockDevice;
import dev.cowfs.engine.device.CrashStates;
import dev.cowfs.engine.device.MappedFileDevice;
import dev.cowfs.engine.device.RecordingFileChannel;
import dev.cowfs.engine.device.SimulatedDevice;
import dev.cowfs.engine.error.EngineBugError;
import dev.cowfs.engine.error.OutOfSpaceException;
import dev.cowfs.fs.CowFileSystem;
import dev.cowfs.fs.Errno;
import dev.cowfs.fs.FsException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One run of a workload on the simulated device from the harness's aged image: records the device log and, for
 * every commit generation, the model states it may hold; checks the live filesystem against the model after
 * every operation and the committed state at every persistence point.
 *
 * <p>With a {@link DeviceFailure} armed, the device fails during the run (an I/O error, a refused write, a
 * full host). Every operation that fails must fail cleanly with the error that fits (EIO or EROFS; ENOSPC),
 * and leave the live filesystem either as it was before the operation or at the last commit (the engine drops
 * the work since the last commit after a failed change, and says so). The workload stops at the first
 * failure (what follows may depend on what it refused or undid). After an I/O error the engine is read-only:
 * a commit must fail cleanly. After one refused write the device works again: new work must succeed and
 * become durable. On a full host, deleting every snapshot and clone and the workload's files, and
 * committing, must succeed (the engine keeps a host reserve for them). The log of such a run yields crash
 * states like any other.
 */
final class WorkloadRun {
    /** A failure of the device from the device operation (write or barrier) after {@code point} of them. */
    record DeviceFailure(SimulatedDevice.Failure kind, long point) {
        String describe() {
            String what = switch (kind) {
                case IO_ERROR -> "I/O error";
                case NO_SPACE -> "no space for one write";
                case HOST_FULL -> "host full";
            };
            return what + " at device operation " + point;
        }
    }

    /** The log of one run, and the states of the model a recovery may land on, by generation. */
    record Recording(List<SimulatedDevice.Op> log, Map<Long, List<Map<String, String>>> expected,
                     boolean failed, boolean hostFullDeletes) {
    }

    /** The host reserve of a run whose host runs full: 1/32 of the engine's default of 4 MiB. */
    static final long HOST_RESERVE_BYTES = 128 << 10;

    /** The harness's own acknowledgement, logged when an operation that promises durability returns. */
    static final String PERSISTED = "persisted ";

    private final CrashHarness harness;
    private final AceWorkloads.Workload workload;
    private final DeviceFailure failure;
    private final List<CrashReport.Violation> found;
    /** The simulated device the workload runs on; or, on the real device path, null. */
    private final SimulatedDevice device;
    /** On the real device path: the image file, and the layer beneath the file device that records its I/O. */
    private final RealImage real;
    private final String where;
    private CowFileSystem fs;
    private FsModel model;
    private Map<String, String> current;
    private long generation;
    private final Map<Long, List<Map<String, String>>> expected = new HashMap<>();
    /** Generations a failed commit wrote a superblock for without acknowledging it. */
    private final Set<Long> attempted = new HashSet<>();
    /** The model of the last commit (failure runs only): what the live filesystem falls back to after a failure. */
    private FsModel committed;
    private boolean failed;

    private WorkloadRun(CrashHarness harness, AceWorkloads.Workload workload, DeviceFailure failure,
                        List<CrashReport.Violation> found) {
        this.harness = harness;
        this.workload = workload;
        this.failure = failure;
        this.found = found;
        this.real = harness.config().realDevice() && failure == null ? new RealImage(harness) : null;
        this.device = real == null ? SimulatedDevice.ofImage(harness.base) : null;
        this.where = failure == null ? "(while running)" : "(" + failure.describe() + ")";
    }

    /** Runs the workload; null when it went wrong (the violation is in {@code found}). */
    static Recording record(CrashHarness harness, AceWorkloads.Workload workload, DeviceFailure failure,
                            List<CrashReport.Violation> found) throws IOException {
        return new WorkloadRun(harness, workload, failure, found).run();
    }

    private Recording run() throws IOException {
        model = harness.startModel();
        current = model.dump();
        committed = failure == null ? null : model.copy();
        fs = CowFileSystem.open(real == null ? device : real.open(),
                harness.options(harness.config().onlineChecks()));
        boolean hostFullDeletes = false;
        try {
            clearLog();
            generation = fs.store().generation();
            expected.put(generation, List.of(current));
            if (failure != null) {
                device.setHostReserveBytes(harness.config().hostReserveBytes());
                device.failAfter(failure.point(), failure.kind());
            }
            for (CrashOp op : workload.ops()) {
                if (!step(op, false)) {
                    return null;
                }
                if (failed) {
                    break; // the rest may depend on what the failure refused or undid
                }
            }
            if (failure != null && !finishFailureRun()) {
                return null;
            }
            if (failure != null && failed && failure.kind() == SimulatedDevice.Failure.NO_SPACE
                    && !workAfterRefusedWrite()) {
                return null;
            }
            if (failure != null && failure.kind() == SimulatedDevice.Failure.HOST_FULL && device.hostFull()) {
                if (!deleteOnFullHost()) {
                    return null;
                }
                hostFullDeletes = true;
            }
        } finally {
            if (real == null) {
                device.setRecording(false);
            } else {
                real.recorder().setRecording(false);
            }
            try {
                fs.close();
            } catch (IOException e) {
                if (failure == null || !(device.failureInjected() || device.hostFull())) {
                    throw e;
                }
                // after the failure, closing may refuse to commit (read-only, or no room): a clean refusal
            } finally {
                if (real != null) {
                    real.delete();
                }
            }
        }
        return new Recording(log(), expected, failed, hostFullDeletes);
    }

    private List<SimulatedDevice.Op> log() {
        return real == null ? device.log() : real.recorder().log();
    }

    private void clearLog() {
        if (real == null) {
            device.clearLog();
        } else {
            real.recorder().clearLog();
        }
    }

    /** Whether an injected failure met the device (never on the real device path, where none is armed). */
    private boolean failureInjected() {
        return real == null && device.failureInjected();
    }

    private void marker(String label) {
        if (real == null) {
            device.marker(label);
        } else {
            real.recorder().marker(label);
        }
    }

    /**
     * The harness's aged image as a real file in a scratch directory (memory-backed where the host has one), opened
     * through the file device every user runs, with a {@link RecordingFileChannel} beneath it: the crash states
     * come from what that device asked of its file.
     */
    private static final class RealImage {
        private final CrashHarness harness;
        private Path file;
        private RecordingFileChannel recorder;

        RealImage(CrashHarness harness) {
            this.harness = harness;
        }

        BlockDevice open() throws IOException {
            file = Files.createTempFile(harness.scratchDirectory(), "crash-", ".img");
            SimulatedDevice.Image image = harness.base;
            try (FileChannel out = FileChannel.open(file, StandardOpenOption.WRITE)) {
                for (Map.Entry<Long, byte[]> page : image.pages().entrySet()) {
                    ByteBuffer bytes = ByteBuffer.wrap(page.getValue());
                    long at = page.getKey() * SimulatedDevice.PAGE_BYTES;
                    while (bytes.hasRemaining()) {
                        at += out.write(bytes, at);
                    }
                }
                out.truncate(image.lengthBytes());
                if (out.size() < image.lengthBytes()) {
                    out.write(ByteBuffer.allocate(1), image.lengthBytes() - 1);
                }
            }
            StoreOptions defaults = StoreOptions.builder().build();
            boolean dropBarriers = harness.config().bug() == InjectedBug.FILE_DEVICE_LOSES_FDATASYNC;
            return MappedFileDevice.openLayered(file, defaults.mappingChunkBytes(), defaults.growthStepBytes(),
                    channel -> {
                        recorder = new RecordingFileChannel(channel);
                        recorder.dropBarriersForTesting(dropBarriers);
                        return recorder;
                    });
        }

        RecordingFileChannel recorder() {
            return recorder;
        }

        void delete() throws IOException {
            if (file != null) {
                Files.deleteIfExists(file);
            }
        }
    }

    /** Applies one operation and checks what follows; false after a violation. */
    private boolean step(CrashOp op, boolean mustSucceed) {
        FsModel before = failure == null ? null : model.copy();
        boolean injectedBefore = failureInjected();
        Throwable error = null;
        try {
            OpRunner.apply(fs, op);
        } catch (IOException | RuntimeException | EngineBugError e) {
            error = e;
        }
        long now = fs.store().generation();
        if (error == null && !injectedBefore && failureInjected()) {
            return violation("the injected failure met " + op + ", which returned as if it had worked: the failure "
                    + "was swallowed");
        }
        if (error != null) {
            // On a full host the engine may refuse by itself, before the device fails a write.
            boolean failing = failure != null && (failureInjected()
                    || failure.kind() == SimulatedDevice.Failure.HOST_FULL && device.hostFull());
            if (!failing || mustSucceed || !(error instanceof IOException io)) {
                return violation(op + " failed" + (mustSucceed ? " after the failure, where it must succeed" : "")
                        + ": " + CrashHarness.describe(error));
            }
            String wrong = wrongError(io);
            if (!wrong.isEmpty()) {
                return violation(op + " failed with " + wrong + ": " + CrashHarness.describe(error));
            }
            failed = true;
            return afterFailure(op, before, now);
        }
        model.apply(op);
        Map<String, String> after = model.dump();
        List<String> live;
        try {
            live = FsDump.differences(after, FsDump.of(fs), 3);
        } catch (IOException | RuntimeException e) {
            return violation("after " + op + " the live filesystem cannot be read: " + CrashHarness.describe(e));
        }
        if (!live.isEmpty()) {
            return violation("after " + op + " the live filesystem differs from the model: " + live);
        }
        for (long between = generation + 1; between < now; between++) {
            put(between, List.of(current, after)); // inside one operation: before or after it
        }
        if (now != generation) {
            put(now, List.of(after));
            if (failure != null) {
                committed = model.copy();
            }
        }
        if (makesDurable(op)) {
            // Checked here, not taken from the engine: when this returns, what is visible is committed.
            List<Map<String, String>> held = expected.get(now);
            if (attempted.contains(now) ? !held.contains(after) : !held.equals(List.of(after))) {
                return violation(op + " returned, but the committed generation " + now
                        + " does not hold what was visible");
            }
            marker(PERSISTED + now);
        }
        generation = now;
        current = after;
        return true;
    }

    /**
     * After an operation failed as the injected failure allows: the live filesystem must be as it was before the
     * operation (refused, or a report of work lost earlier) or at the last commit (the work since was dropped).
     * A commit made during the operation, or attempted and not acknowledged, may hold the state before it, the
     * state it would have made, or what is live now.
     */
    private boolean afterFailure(CrashOp op, FsModel before, long now) {
        FsModel wouldBe = before.copy();
        wouldBe.apply(op);
        Map<String, String> wouldBeDump = wouldBe.dump();
        Map<String, String> live;
        try {
            live = FsDump.of(fs);
        } catch (IOException | RuntimeException e) {
            return violation("after " + op + " failed, the filesystem cannot be read: " + CrashHarness.describe(e));
        }
        if (!live.equals(current)) {
            // The work since the last commit was dropped: that commit is one made during the operation (holding
            // the state before it or the one it would have made) or, when there was none, the one before.
            Map<String, String> last = now != generation ? wouldBeDump : committed.dump();
            if (!live.equals(last)) {
                return violation("after " + op + " failed, the live filesystem is neither as before it nor as at "
                        + "the last commit: " + FsDump.differences(last, live, 3));
            }
            model = now != generation ? wouldBe : committed.copy();
        }
        // A commit made during the operation, or attempted and not acknowledged, holds the state before it or the
        // one it would have made: never an older one.
        List<Map<String, String>> held = current.equals(wouldBeDump) ? List.of(current)
                : List.of(current, wouldBeDump);
        for (long g = generation + 1; g <= now; g++) {
            put(g, held);
        }
        long unacknowledged = now + 1;
        if (superblockWritten(unacknowledged)) {
            attempted.add(unacknowledged);
            put(unacknowledged, held);
        }
        if (now != generation) {
            committed = model.copy();
        }
        generation = now;
        current = live;
        return true;
    }

    /** After the workload of a failure run: the failure reached a caller, and a read-only engine refuses cleanly. */
    private boolean finishFailureRun() {
        if (device.failureInjected() && !failed) {
            return violation("the injected failure reached no caller: it was swallowed");
        }
        if (failed && failure.kind() == SimulatedDevice.Failure.IO_ERROR) {
            try {
                fs.sync(); // after a failed commit the engine is read-only: this fails cleanly or does nothing
            } catch (IOException e) {
                // a clean refusal
            } catch (RuntimeException | EngineBugError e) {
                return violation("sync after the I/O error: not a clean error: " + CrashHarness.describe(e));
            }
        }
        return true;
    }

    /**
     * One write was refused and the device works again: the engine stayed writable, so (after a commit that may
     * report the work the refusal dropped) new work must succeed and become durable.
     */
    private boolean workAfterRefusedWrite() {
        if (!step(new CrashOp.Persist(CrashOp.Persist.Kind.COMMIT, null), false)) {
            return false;
        }
        for (CrashOp op : List.of(new CrashOp.Mkdir("/after-failure"), new CrashOp.Create("/after-failure/f"),
                new CrashOp.Write("/after-failure/f", 0, 10_000, 98, "after"),
                new CrashOp.Persist(CrashOp.Persist.Kind.COMMIT, null))) {
            if (!step(op, true)) {
                return false;
            }
        }
        return true;
    }

    /**
     * The host is full: commit what can be (this may fail for lack of space), then delete every snapshot and
     * clone and every file of the workload's directories, and commit. Each of those must succeed.
     */
    private boolean deleteOnFullHost() {
        if (!step(new CrashOp.Persist(CrashOp.Persist.Kind.COMMIT, null), false)) {
            return false;
        }
        List<CrashOp> deletes = new ArrayList<>();
        for (String name : model.subvolumeNames()) {
            deletes.add(new CrashOp.SnapshotDelete(name));
        }
        for (String dir : List.of("/A/C", "/A", "/B", "/")) {
            if (model.typeOf(dir) != 'd') {
                continue;
            }
            for (String name : model.childrenOf(dir)) {
                String path = (dir.equals("/") ? "" : dir) + "/" + name;
                if (model.typeOf(path) != 'd') {
                    deletes.add(new CrashOp.Unlink(path));
                }
            }
        }
        deletes.add(new CrashOp.Unlink("/aged/f1"));
        deletes.add(new CrashOp.Persist(CrashOp.Persist.Kind.COMMIT, null));
        for (CrashOp op : deletes) {
            if (!step(op, true)) {
                return false;
            }
        }
        return true;
    }

    /** Why the error does not fit the injected failure; empty when it does. */
    private String wrongError(IOException error) {
        Errno errno = error instanceof FsException fsError ? fsError.errno()
                : error instanceof OutOfSpaceException ? Errno.ENOSPC : Errno.EIO;
        boolean fits = failure.kind() == SimulatedDevice.Failure.IO_ERROR
                ? errno == Errno.EIO || errno == Errno.EROFS
                : errno == Errno.ENOSPC;
        return fits ? "" : errno + " where " + (failure.kind() == SimulatedDevice.Failure.IO_ERROR ? "EIO or EROFS"
                : "ENOSPC") + " fits";
    }

    /** Whether the log holds a superblock of this generation. */
    private boolean superblockWritten(long wanted) {
        for (SimulatedDevice.Op op : log()) {
            if (op instanceof SimulatedDevice.Write write && CrashStates.isSuperblockWrite(write)
                    && CrashStates.superblockGeneration(write) == wanted) {
                return true;
            }
        }
        return false;
    }

    /** Records what a generation may hold; one a failed commit attempted keeps those states too. */
    private void put(long g, List<Map<String, String>> states) {
        if (attempted.contains(g) && expected.containsKey(g)) {
            List<Map<String, String>> merged = new ArrayList<>(expected.get(g));
            for (Map<String, String> state : states) {
                if (!merged.contains(state)) {
                    merged.add(state);
                }
            }
            expected.put(g, List.copyOf(merged));
        } else {
            expected.put(g, states);
        }
    }

    private boolean violation(String problem) {
        found.add(harness.violation(workload, where, problem));
        return false;
    }

    private static boolean makesDurable(CrashOp op) {
        return op instanceof CrashOp.Persist persist ? persist.kind() != CrashOp.Persist.Kind.NONE
                : op instanceof CrashOp.SnapshotCreate || op instanceof CrashOp.SnapshotDelete
                || op instanceof CrashOp.Rollback || op instanceof CrashOp.CloneSnapshot || op instanceof CrashOp.Compact;
    }
}
