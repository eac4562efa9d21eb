package dev.cowfs.crash;

import dev.cowfs.engine.StoreOptions;
import dev.cowfs.engine.check.CheckReport;
import dev.cowfs.engine.device.CrashStates;
import dev.cowfs.engine.device.SimulatedDevice;
import dev.cowfs.engine.error.EngineBugError;
import dev.cowfs.fs.CowFileSystem;
import dev.cowfs.fs.FsChecker;
import dev.cowfs.fs.FsOptions;
import dev.cowfs.fs.InodeNumber;

import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The crash harness: runs workloads on the simulated device from an aged image, recording every write,
 * barrier and acknowledgement; builds the images a power loss could leave ({@link CrashStates}); recovers
 * each distinct one and judges it against the {@link FsModel}: exactly the state of the last durable commit
 * (or of the one in flight, when its superblock landed), never below the last acknowledged commit, both
 * checkers clean, and work possible afterwards. While the workload runs it also checks the write order
 * (a superblock only after a barrier covering its blocks, an acknowledgement only after the barrier that
 * follows its superblock) and, through the auditing device, that no write touches a block a recoverable
 * root reaches. The engine is deterministic here (fixed clock and image id), so equal states are checked
 * once, across workloads too.
 */
public final class CrashHarness {
    /** How a run explores. */
    /**
     * @param randomSubsets random subsets of each epoch too large to enumerate
     * @param moreWorkEvery every so many unique states, work goes on after recovery and is checked again
     * @param recoveryCrashEvery every so many unique states, power is lost again during recovery and the work
     *     after it, and that is recovered and checked too
     * @param onlineChecks the checker after every commit and audited writes while the workload runs (off:
     *     only the crash states judge)
     * @param hostReserveBytes the host reserve in runs whose host filesystem runs full
     * @param realDevice workloads on the file device over a real image file, its I/O recorded beneath it
     */
    public record Config(long seed, int randomSubsets, int moreWorkEvery, int recoveryCrashEvery,
                         InjectedBug bug, int agedFiles, boolean onlineChecks,
                         java.util.Set<Fault> faults, int faultTrials, int ioFailurePoints, int noSpacePoints,
                         long hostReserveBytes, boolean realDevice) {
        public static Config defaults() {
            return new Config(1, 4, 16, 64, InjectedBug.NONE, 120, true, java.util.Set.of(), 0, 0, 0,
                    WorkloadRun.HOST_RESERVE_BYTES, false);
        }

        public Config withBug(InjectedBug value) {
            return new Config(seed, randomSubsets, moreWorkEvery, recoveryCrashEvery, value, agedFiles,
                    onlineChecks, faults, faultTrials, ioFailurePoints, noSpacePoints, hostReserveBytes, realDevice);
        }

        public Config withSeed(long value) {
            return new Config(value, randomSubsets, moreWorkEvery, recoveryCrashEvery, bug, agedFiles,
                    onlineChecks, faults, faultTrials, ioFailurePoints, noSpacePoints, hostReserveBytes, realDevice);
        }

        public Config withOnlineChecks(boolean value) {
            return new Config(seed, randomSubsets, moreWorkEvery, recoveryCrashEvery, bug, agedFiles, value,
                    faults, faultTrials, ioFailurePoints, noSpacePoints, hostReserveBytes, realDevice);
        }

        /** After each workload, {@code trials} injections of each fault class into its final image. */
        public Config withFaults(java.util.Set<Fault> value, int trials) {
            return new Config(seed, randomSubsets, moreWorkEvery, recoveryCrashEvery, bug, agedFiles,
                    onlineChecks, java.util.Set.copyOf(value), trials, ioFailurePoints, noSpacePoints, hostReserveBytes,
                    realDevice);
        }

        /** After each workload, runs it again with an I/O error at this many of its device operations. */
        public Config withIoFailures(int points) {
            return new Config(seed, randomSubsets, moreWorkEvery, recoveryCrashEvery, bug, agedFiles,
                    onlineChecks, faults, faultTrials, points, noSpacePoints, hostReserveBytes, realDevice);
        }

        /**
         * After each workload, runs it again with one write refused for lack of space, and again with the host
         * filesystem running full, each at this many of its device operations.
         */
        public Config withNoSpace(int points) {
            return new Config(seed, randomSubsets, moreWorkEvery, recoveryCrashEvery, bug, agedFiles,
                    onlineChecks, faults, faultTrials, ioFailurePoints, points, hostReserveBytes, realDevice);
        }

        /**
         * Workloads run on the file device every user runs, over a real image file, and the crash states come from
         * what that device asked of the file (a {@link dev.cowfs.engine.device.RecordingFileChannel} beneath it);
         * runs with an injected device failure stay on the simulated device, which alone can inject them.
         */
        public Config withRealDevice(boolean value) {
            return new Config(seed, randomSubsets, moreWorkEvery, recoveryCrashEvery, bug, agedFiles,
                    onlineChecks, faults, faultTrials, ioFailurePoints, noSpacePoints, hostReserveBytes, value);
        }

        /** The host space kept aside for the engine in runs whose host runs full. */
        public Config withHostReserve(long bytes) {
            return new Config(seed, randomSubsets, moreWorkEvery, recoveryCrashEvery, bug, agedFiles,
                    onlineChecks, faults, faultTrials, ioFailurePoints, noSpacePoints, bytes, realDevice);
        }
    }


    private static final long FIXED_TIME_MILLIS = 1_767_225_600_000L; // 2026-01-01T00:00:00Z
    private static final UUID IMAGE_ID = new UUID(0x636f7766735f6372L, 0x6173685f74657374L);
    /** Verdicts of states checked already: state key -> problem, or "" when the state was right. */
    private static final int MAX_REMEMBERED_STATES = 2_000_000;

    private final Config config;
    final SimulatedDevice.Image base;
    private final long baseGeneration;
    private final FsModel baseModel;
    private final Map<StateKey, String> verdicts = new HashMap<>();
    /** Hashes of the expected states, by identity (each is hashed once per workload). */
    private final Map<List<Map<String, String>>, Integer> expectedHashes = new java.util.IdentityHashMap<>();
    private final CrashReport report = new CrashReport();
    final Random random;
    /** Where real-device runs keep their image files (made on first use, emptied as each run ends). */
    private java.nio.file.Path scratch;

    private CrashHarness(Config config, SimulatedDevice.Image base, long baseGeneration, FsModel baseModel) {
        this.config = config;
        this.base = base;
        this.baseGeneration = baseGeneration;
        this.baseModel = baseModel;
        this.random = new Random(config.seed());
    }

    /** Options of the engine under test; strict (the checker after every commit, audited writes) when asked. */
    FsOptions options(boolean strict) {
        return options(strict, config.bug());
    }

    /** The deterministic engine options of the harness (a process it starts uses them too). */
    static FsOptions options(boolean strict, InjectedBug bug) {
        return FsOptions.builder().commitIntervalMillis(0)
                .clock(Clock.fixed(Instant.ofEpochMilli(FIXED_TIME_MILLIS), ZoneOffset.UTC))
                .store(bug.applyTo(StoreOptions.builder().checkAfterCommit(strict).dirtyCacheBytes(64 * 1024)
                        .dropReferencesPerCommit(16).imageUuid(IMAGE_ID).clockMillis(() -> FIXED_TIME_MILLIS))
                        .build())
                .build();
    }

    /**
     * A harness over an aged image: a directory of files of assorted sizes, a third of them deleted again, so
     * that trees have height two or more and free space is fragmented before any workload starts.
     */
    public static CrashHarness create(Config config) throws IOException {
        CrashHarness probe = new CrashHarness(config, null, 0, null);
        SimulatedDevice device = new SimulatedDevice();
        FsModel model = new FsModel();
        try (CowFileSystem fs = CowFileSystem.create(device, probe.options(false))) {
            Random random = new Random(config.seed() ^ 0x5DEECE66DL);
            List<CrashOp> aging = new ArrayList<>();
            aging.add(new CrashOp.Mkdir("/aged"));
            for (int i = 0; i < config.agedFiles(); i++) {
                String path = "/aged/f" + i;
                aging.add(new CrashOp.Create(path));
                aging.add(new CrashOp.Write(path, 0, random.nextInt(6000), 60_000 + i, "aging"));
            }
            for (int i = 0; i < config.agedFiles(); i += 3) {
                aging.add(new CrashOp.Unlink("/aged/f" + i));
            }
            for (CrashOp op : aging) {
                OpRunner.apply(fs, op);
                model.apply(op);
            }
            fs.sync();
            try (dev.cowfs.engine.ReadTransaction read = fs.store().beginRead()) {
                int height = read.treeHeight(InodeNumber.treeOfSubvolume(0));
                if (height < 2 && config.agedFiles() >= 100) {
                    throw new IllegalStateException("the aged image's tree has height " + height + "; it must "
                            + "have two levels or more so that splits, merges and path copies run");
                }
            }
            return new CrashHarness(config, device.image(), fs.store().generation(), model);
        }
    }

    Config config() {
        return config;
    }

    /**
     * A directory for the image files of real-device runs: in memory where the host offers one (/dev/shm), as the
     * harness's simulated device is, else the temporary directory. Deleted when the JVM exits.
     */
    synchronized java.nio.file.Path scratchDirectory() throws IOException {
        if (scratch == null) {
            java.nio.file.Path shm = java.nio.file.Path.of("/dev/shm");
            scratch = java.nio.file.Files.isDirectory(shm) && java.nio.file.Files.isWritable(shm)
                    ? java.nio.file.Files.createTempDirectory(shm, "cowfs-crash-")
                    : java.nio.file.Files.createTempDirectory("cowfs-crash-");
            scratch.toFile().deleteOnExit();
        }
        return scratch;
    }

    public CrashReport report() {
        return report;
    }

    /** The model of the aged image workloads start from. */
    public FsModel startModel() {
        return baseModel.copy();
    }

    /** A workload by the name a report gives ({@code seq2 #123}, {@code random seed 7 length 300}). */
    public AceWorkloads.Workload workloadNamed(String name) {
        Matcher seq = Pattern.compile("seq(\\d) #(\\d+)").matcher(name.trim());
        if (seq.matches()) {
            int length = Integer.parseInt(seq.group(1));
            long index = Long.parseLong(seq.group(2));
            if (length < 1 || length > 3 || index >= AceWorkloads.count(length)) {
                throw new IllegalArgumentException("no workload " + name + " (seq1..seq3, index below "
                        + "the sequence count)");
            }
            return AceWorkloads.sequence(length, index, baseModel);
        }
        Matcher random = Pattern.compile("random seed (-?\\d+) length (\\d+)").matcher(name.trim());
        if (random.matches()) {
            return AceWorkloads.random(Long.parseLong(random.group(1)), Integer.parseInt(random.group(2)), baseModel);
        }
        throw new IllegalArgumentException("'" + name + "' names no workload (seqN #INDEX or random seed S length L)");
    }

    /**
     * The shortest prefix of a failing random workload that still fails (a random workload of length L' is
     * the first L' operations of the longer one, ending in a commit), found by bisection on a fresh harness;
     * the workload itself when it is not a random one or no shorter prefix fails.
     */
    public String minimize(String workloadName) throws IOException {
        Matcher random = Pattern.compile("random seed (-?\\d+) length (\\d+)").matcher(workloadName.trim());
        if (!random.matches()) {
            return workloadName;
        }
        long seed = Long.parseLong(random.group(1));
        int failing = Integer.parseInt(random.group(2));
        CrashHarness scratch = create(config);
        int passing = 0;
        while (failing - passing > 1) {
            int middle = (passing + failing) >>> 1;
            if (scratch.run(AceWorkloads.random(seed, middle, baseModel)).isEmpty()) {
                passing = middle;
            } else {
                failing = middle;
            }
        }
        return "random seed " + seed + " length " + failing;
    }

    /** Runs one workload and judges every crash state it yields; returns the violations it found. */
    public List<CrashReport.Violation> run(AceWorkloads.Workload workload) {
        long start = System.nanoTime();
        List<CrashReport.Violation> found = new ArrayList<>();
        try {
            long recordStart = System.nanoTime();
            WorkloadRun.Recording recording = WorkloadRun.record(this, workload, null, found);
            report.recordNanos += System.nanoTime() - recordStart;
            if (recording != null) {
                String order = WriteOrderCheck.check(recording.log(), baseGeneration);
                if (!order.isEmpty()) {
                    found.add(violation(workload, "(write order)", order));
                }
                judgeStates(workload, recording, found);
                if (!config.faults().isEmpty() && config.faultTrials() > 0) {
                    new FaultInjection(this).judge(workload, recording.log(), recording.expected(), found);
                }
                if (config.ioFailurePoints() > 0) {
                    new IoFailureSweep(this).judge(workload, recording.log(), SimulatedDevice.Failure.IO_ERROR,
                            config.ioFailurePoints(), found);
                }
                if (config.noSpacePoints() > 0) {
                    new IoFailureSweep(this).judge(workload, recording.log(), SimulatedDevice.Failure.NO_SPACE,
                            config.noSpacePoints(), found);
                    new IoFailureSweep(this).judge(workload, recording.log(), SimulatedDevice.Failure.HOST_FULL,
                            config.noSpacePoints(), found);
                }
            }
        } catch (IOException | RuntimeException | EngineBugError e) {
            found.add(violation(workload, "(harness)", "the harness failed: " + describe(e)));
        }
        found.forEach(report::violation);
        expectedHashes.clear();
        report.workloads++;
        report.operations += workload.ops().size();
        report.elapsedNanos += System.nanoTime() - start;
        return found;
    }

    CrashReport.Violation violation(AceWorkloads.Workload workload, String state, String problem) {
        return new CrashReport.Violation(workload.name(), workload.text(), state, problem);
    }

    /** Builds the crash states of a recorded run and judges each distinct one. */
    void judgeStates(AceWorkloads.Workload workload, WorkloadRun.Recording recording,
                     List<CrashReport.Violation> found) throws IOException {
        CrashStates states = new CrashStates(base, recording.log());
        List<Integer> starts = states.epochStarts();
        for (int e = 0; e < starts.size(); e++) {
            int start = starts.get(e);
            int end = e + 1 < starts.size() ? starts.get(e + 1) : recording.log().size();
            long durable = states.durableGeneration(start, baseGeneration);
            long acknowledged = acknowledgedBefore(recording.log(), end);
            report.epochs++;
            if (states.epochWrites(start).size() <= CrashStates.EXHAUSTIVE_LIMIT) {
                report.exhaustiveEpochs++;
            }
            CrashStates.Durable durableImage = states.durable(start);
            List<Pending> epochStates = new ArrayList<>();
            for (CrashStates.Candidate candidate : states.candidatesInEpoch(start, random, config.randomSubsets(),
                    durable)) {
                epochStates.add(new Pending(candidate::description, candidate.digest(),
                        candidate.expectedGeneration(), () -> states.build(candidate)));
            }
            for (CrashStates.State torn : states.tornStatesInEpoch(start, random)) {
                SimulatedDevice.Digest digest = torn.device().contentDigestFrom(durableImage.digest(),
                        durableImage.image().lengthBytes());
                epochStates.add(new Pending(torn::description, digest, CrashStates.expectedGeneration(torn, durable),
                        () -> torn));
            }
            // The epoch's new states are recovered and judged on every core at once; verdicts are taken in order.
            List<java.util.function.Supplier<String>> verdictsInOrder = new ArrayList<>();
            for (Pending next : epochStates) {
                report.statesGenerated++;
                long expectedGeneration = next.expectedGeneration();
                List<Map<String, String>> expected = recording.expected().get(expectedGeneration);
                if (expectedGeneration < acknowledged) {
                    String problem = "only generation " + expectedGeneration + " can be recovered, but " + acknowledged
                            + " was acknowledged";
                    verdictsInOrder.add(() -> problem);
                } else if (expected == null) {
                    verdictsInOrder.add(() -> "no model state for generation " + expectedGeneration);
                } else {
                    verdictsInOrder.add(judgeInBackground(next.build(), next.digest(), expectedGeneration, expected));
                }
            }
            long judging = System.nanoTime();
            try {
                for (int i = 0; i < verdictsInOrder.size(); i++) {
                    String problem = verdictsInOrder.get(i).get();
                    if (!problem.isEmpty()) {
                        found.add(violation(workload, epochStates.get(i).description().get(), problem));
                        if (found.size() >= 3) {
                            return; // one workload's first failures say enough; the run goes on with others
                        }
                    }
                }
            } finally {
                settleInFlight(); // every verdict of the epoch recorded before the next one starts
                report.judgeNanos += System.nanoTime() - judging; // wall time: the judging threads overlap
            }
        }
    }

    /**
     * What a verdict depends on: the crash image (a 128-bit digest of its contents), the generation it must
     * recover and the model states it may hold there (compared in full, not by hash).
     */
    private static final class StateKey {
        private final SimulatedDevice.Digest digest;
        private final long generation;
        private final List<Map<String, String>> expected;
        private final int hash;

        StateKey(SimulatedDevice.Digest digest, long generation, List<Map<String, String>> expected,
                 int expectedHash) {
            this.digest = digest;
            this.generation = generation;
            this.expected = expected;
            this.hash = java.util.Objects.hash(digest, generation, expectedHash);
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof StateKey key && key.digest.equals(digest) && key.generation == generation
                    && (key.expected == expected || key.expected.equals(expected));
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }

    /** A crash state to judge: described, hashed and expected before it is built (only if new). */
    private record Pending(java.util.function.Supplier<String> description, SimulatedDevice.Digest digest,
                           long expectedGeneration, java.util.function.Supplier<CrashStates.State> build) {
    }

    static long acknowledgedBefore(List<SimulatedDevice.Op> log, int end) {
        long acknowledged = 0;
        for (int i = 0; i < end; i++) {
            if (log.get(i) instanceof SimulatedDevice.Marker marker) {
                String label = marker.label();
                if (label.startsWith("commit ") && label.endsWith(" acknowledged")) {
                    acknowledged = Math.max(acknowledged, Long.parseLong(label.split(" ")[1]));
                } else if (label.startsWith(WorkloadRun.PERSISTED)) {
                    acknowledged = Math.max(acknowledged,
                            Long.parseLong(label.substring(WorkloadRun.PERSISTED.length())));
                }
            }
        }
        return acknowledged;
    }

    /** Verdicts being computed on the judging threads, by state (the epoch's own duplicates wait for them). */
    private final Map<StateKey, java.util.concurrent.Future<String>> inFlight = new HashMap<>();
    private java.util.concurrent.ExecutorService judges;

    /**
     * {@link #judgeOnce} for a workload's state, with the judging itself on a thread of a pool as large as the machine's cores: what is known,
     * counted and sampled is decided here, in order, so the report and the verdicts are as a sequential run's; only
     * the recovery and the comparison run meanwhile. A state that loses power again during recovery
     * ({@link RecoveryCrashes}, which draws from the shared random source) is judged when its verdict is asked for,
     * on this thread.
     */
    private java.util.function.Supplier<String> judgeInBackground(
            java.util.function.Supplier<CrashStates.State> build, SimulatedDevice.Digest digest,
            long expectedGeneration, List<Map<String, String>> expected) {
        StateKey key = new StateKey(digest, expectedGeneration, expected,
                expectedHashes.computeIfAbsent(expected, List::hashCode));
        String known = verdicts.get(key);
        if (known != null) {
            return () -> known;
        }
        java.util.concurrent.Future<String> running = inFlight.get(key);
        if (running != null) {
            return () -> await(running);
        }
        report.statesUnique++;
        boolean sample = config.moreWorkEvery() > 0 && report.statesUnique % config.moreWorkEvery() == 0;
        boolean crashRecovery = config.recoveryCrashEvery() > 0
                && report.statesUnique % config.recoveryCrashEvery() == 0;
        if (crashRecovery) {
            java.util.concurrent.CompletableFuture<String> later = new java.util.concurrent.CompletableFuture<>();
            inFlight.put(key, later);
            return () -> {
                if (!later.isDone()) {
                    CrashStates.State state = build.get();
                    SimulatedDevice.Image image = state.device().image();
                    String problem = judge(state.device(), expectedGeneration, expected, sample);
                    if (problem.isEmpty()) {
                        problem = new RecoveryCrashes(this).judge(image, expectedGeneration, expected);
                    }
                    later.complete(problem);
                }
                return await(later);
            };
        }
        if (judges == null) {
            int threads = Math.max(1, Runtime.getRuntime().availableProcessors());
            judges = java.util.concurrent.Executors.newFixedThreadPool(threads, runnable -> {
                Thread thread = new Thread(runnable, "cowfs-crash-judge");
                thread.setDaemon(true);
                return thread;
            });
        }
        java.util.concurrent.Future<String> future = judges.submit(
                () -> judge(build.get().device(), expectedGeneration, expected, sample));
        inFlight.put(key, future);
        return () -> await(future);
    }

    private static String await(java.util.concurrent.Future<String> future) {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "the harness was interrupted while a state was judged";
        } catch (java.util.concurrent.ExecutionException e) {
            return "the harness failed judging a state: " + describe(e.getCause());
        }
    }

    /** Records the verdicts of the states judged in the background (waiting for those still running). */
    private void settleInFlight() {
        for (Map.Entry<StateKey, java.util.concurrent.Future<String>> entry : inFlight.entrySet()) {
            java.util.concurrent.Future<String> future = entry.getValue();
            if (future instanceof java.util.concurrent.CompletableFuture<String> later && !later.isDone()) {
                continue; // a recovery-crash state whose verdict nobody asked for (the epoch ended early): not judged
            }
            if (verdicts.size() < MAX_REMEMBERED_STATES) {
                verdicts.put(entry.getKey(), await(future));
            }
        }
        inFlight.clear();
    }

    /**
     * Judges a state unless an identical state with the same expectation was judged already (a crash state of
     * a workload, or one of a recovery cut short: {@link RecoveryCrashes}); {@code samples} lets it be one of
     * those that go on with more work or lose power again during recovery.
     */
    String judgeOnce(java.util.function.Supplier<CrashStates.State> build, SimulatedDevice.Digest digest,
                     long expectedGeneration, List<Map<String, String>> expected, boolean samples) {
        StateKey key = new StateKey(digest, expectedGeneration, expected,
                expectedHashes.computeIfAbsent(expected, List::hashCode));
        String known = verdicts.get(key);
        if (known != null) {
            return known;
        }
        report.statesUnique++;
        if (!samples) {
            report.recoveryCrashUnique++;
        }
        boolean sample = samples && config.moreWorkEvery() > 0 && report.statesUnique % config.moreWorkEvery() == 0;
        boolean crashRecovery = samples && config.recoveryCrashEvery() > 0
                && report.statesUnique % config.recoveryCrashEvery() == 0;
        CrashStates.State state = build.get();
        SimulatedDevice.Image image = crashRecovery ? state.device().image() : null;
        String problem = judge(state.device(), expectedGeneration, expected, sample);
        if (problem.isEmpty() && crashRecovery) {
            problem = new RecoveryCrashes(this).judge(image, expectedGeneration, expected);
        }
        if (verdicts.size() < MAX_REMEMBERED_STATES) {
            verdicts.put(key, problem);
        }
        return problem;
    }

    /** Recovers the device and compares; empty when right. */
    String judge(SimulatedDevice device, long expectedGeneration, List<Map<String, String>> expected,
                         boolean moreWork) {
        synchronized (report) { // judged on several threads at once
            report.statesChecked++;
        }
        long start = System.nanoTime();
        try (CowFileSystem recovered = CowFileSystem.open(device, options(false))) {
            long recovery = System.nanoTime() - start;
            synchronized (report) {
                report.recoveryTime(recovery);
            }
            return judgeRecovered(recovered, expectedGeneration, expected, moreWork);
        } catch (IOException | RuntimeException | EngineBugError e) {
            return "recovery failed: " + describe(e);
        }
    }

    private String judgeRecovered(CowFileSystem recovered, long expectedGeneration,
                                  List<Map<String, String>> expected, boolean moreWork) throws IOException {
        {
            long generation = recovered.store().generation();
            if (generation != expectedGeneration) { // opening never commits
                return "recovered generation " + generation + ", expected " + expectedGeneration;
            }
            Map<String, String> dump = FsDump.of(recovered);
            if (!expected.contains(dump)) {
                return "recovered state differs from the model of generation " + expectedGeneration + ": "
                        + FsDump.differences(expected.get(expected.size() - 1), dump, 3);
            }
            String checked = check(recovered);
            if (!checked.isEmpty() || !moreWork) {
                return checked;
            }
            OpRunner.apply(recovered, new CrashOp.Mkdir("/after-crash"));
            OpRunner.apply(recovered, new CrashOp.Create("/after-crash/f"));
            OpRunner.apply(recovered, new CrashOp.Write("/after-crash/f", 0, 10_000, 99, "after"));
            recovered.sync();
            String after = check(recovered);
            return after.isEmpty() ? "" : "after more work: " + after;
        }
    }

    static String check(CowFileSystem fs) throws IOException {
        CheckReport engine = fs.store().check();
        if (!engine.isClean()) {
            return "checker: " + engine.summary();
        }
        List<String> problems = FsChecker.check(fs.store());
        return problems.isEmpty() ? "" : "filesystem checker: " + problems.subList(0, Math.min(3, problems.size()));
    }

    static String describe(Throwable e) {
        String message = e.getMessage() == null ? "" : ": " + e.getMessage();
        return e.getClass().getSimpleName() + message.replace('\n', ' ');
    }
}
