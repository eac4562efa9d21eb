package dev.cowfs.tools;

import dev.cowfs.crash.AceWorkloads;
import dev.cowfs.crash.CrashHarness;
import dev.cowfs.crash.CrashReport;
import dev.cowfs.crash.Fault;
import dev.cowfs.crash.KillHarness;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/** {@code cowfs crashtest}: power loss at every write of generated workloads, judged against a model. */
@Command(name = "crashtest", mixinStandardHelpOptions = true,
        description = "Simulate power loss at every write of generated workloads on the simulated device and "
                + "check that every crash state recovers exactly to a committed state of the model, with the "
                + "checkers clean. Exit 0 when no violation is found, 5 when any is (each with a reproducer).",
        footer = {"", "Workloads:", "  seq1    every sequence of one core operation (about 130), exhaustively",
                "  seq2    sequences of two, in a seeded order covering all of them given time",
                "  seq3    sequences of three, likewise", "  random  seeded long random runs (--length operations)",
                "", "Examples:", "  cowfs crashtest", "  cowfs crashtest --workloads seq2 --time 10m --json",
                "  cowfs crashtest --replay \"seq2 #1234\"", "  cowfs crashtest --device file",
                "  cowfs crashtest --faults all --fault-trials 8"})
final class CrashtestCommand extends ToolCommand {
    @Option(names = "--workloads", paramLabel = "KIND", defaultValue = "seq1",
            description = "seq1, seq2, seq3 or random (default: ${DEFAULT-VALUE})")
    String workloads;
    @Option(names = "--seed", paramLabel = "N", defaultValue = "1", description = "seed (default: ${DEFAULT-VALUE})")
    long seed;
    @Option(names = "--time", paramLabel = "LIMIT",
            description = "start no workload after this long (e.g. 90s, 10m, 1h; the one running finishes, so a long "
                    + "random workload can overrun it); default: all of seq1, 60s otherwise")
    String time;
    @Option(names = "--count", paramLabel = "N", description = "stop after this many workloads")
    Long count;
    @Option(names = "--length", paramLabel = "N", defaultValue = "200",
            description = "operations per random workload (default: ${DEFAULT-VALUE})")
    int length;
    @Option(names = "--replay", paramLabel = "WORKLOAD",
            description = "run one workload by the name a report gives, e.g. \"seq2 #1234\"")
    String replay;
    @Option(names = "--faults", paramLabel = "LIST", split = ",",
            description = "also inject faults outside the power-loss model into each workload's final image: "
                    + "lost-write, misdirected, read-error, bit-flip, newest-root, or all")
    List<String> faults = List.of();
    @Option(names = "--fault-trials", paramLabel = "N", defaultValue = "4",
            description = "injections of each fault class per workload (default: ${DEFAULT-VALUE})")
    int faultTrials;
    @Option(names = "--io-errors", paramLabel = "N", defaultValue = "0",
            description = "also run each workload again with an I/O error at N of its writes and barriers")
    int ioErrors;
    @Option(names = "--no-space", paramLabel = "N", defaultValue = "0",
            description = "also run each workload again with one write refused for lack of space, and again with "
                    + "the host filesystem running full, each at N of its writes and barriers")
    int noSpace;
    @Option(names = "--kill", paramLabel = "N", defaultValue = "0",
            description = "also run N rounds of a child process writing an image file, killed with SIGKILL "
                    + "at a random moment and reopened")
    int kills;
    @Option(names = "--fuzz", paramLabel = "N", defaultValue = "0",
            description = "also damage a real image N times and run fsck, info, ls and cat on each")
    int fuzz;
    @Option(names = "--device", paramLabel = "KIND", defaultValue = "simulated",
            description = "simulated: workloads on the simulated device; file: on the file device every user runs, "
                    + "over a real image file, with its writes, growth, truncations and fdatasyncs recorded beneath "
                    + "it and the crash states built from that record (default: ${DEFAULT-VALUE}; runs with "
                    + "--io-errors or --no-space stay on the simulated device, which alone can inject those)")
    String device;
    @Option(names = "--json", description = "print the report as one JSON object")
    boolean json;

    @Override
    public Integer call() throws IOException {
        java.util.Set<Fault> chosen = chosenFaults();
        if (faultTrials < 0 || faultTrials > 10_000) {
            throw new Cowfs.UsageException("--fault-trials must be from 0 to 10000");
        }
        if (ioErrors < 0 || noSpace < 0 || kills < 0 || fuzz < 0) {
            throw new Cowfs.UsageException("--io-errors, --no-space, --kill and --fuzz take a count of 0 or more");
        }
        if (!device.equals("simulated") && !device.equals("file")) {
            throw new Cowfs.UsageException("unknown --device '" + device + "' (simulated or file)");
        }
        CrashHarness harness = CrashHarness.create(CrashHarness.Config.defaults().withSeed(seed)
                .withFaults(chosen, faultTrials).withIoFailures(ioErrors).withNoSpace(noSpace)
                .withRealDevice(device.equals("file")));
        if (replay != null) {
            try {
                harness.run(harness.workloadNamed(replay));
            } catch (IllegalArgumentException e) {
                throw new Cowfs.UsageException(e.getMessage());
            }
            return finish(harness.report(), replay, null);
        }
        int sequenceLength = switch (workloads) {
            case "seq1" -> 1;
            case "seq2" -> 2;
            case "seq3" -> 3;
            case "random" -> 0;
            default -> throw new Cowfs.UsageException("unknown workloads '" + workloads
                    + "' (seq1, seq2, seq3 or random)");
        };
        if (length < 1 || length > 100_000) {
            throw new Cowfs.UsageException("--length must be from 1 to 100000");
        }
        long limitNanos = time != null ? parseDuration(time).toNanos()
                : sequenceLength == 1 ? Long.MAX_VALUE : Duration.ofSeconds(60).toNanos();
        long total = sequenceLength == 0 ? Long.MAX_VALUE : AceWorkloads.count(sequenceLength);
        long maxWorkloads = Math.min(total, count == null ? Long.MAX_VALUE : count);
        long ran = runWorkloads(harness, sequenceLength, total, maxWorkloads, limitNanos);
        String coverage = sequenceLength == 0 ? ran + " random workloads of " + length + " operations"
                : String.format(Locale.ROOT, "%d of %d %s workloads (%.1f%%)", ran, total, workloads,
                100.0 * ran / total);
        return runKillsAndFuzz(harness, coverage);
    }

    /** The --fault names chosen ("all" for every fault). */
    private java.util.Set<Fault> chosenFaults() {
        java.util.Set<Fault> chosen = java.util.EnumSet.noneOf(Fault.class);
        for (String fault : faults) {
            if (fault.equals("all")) {
                chosen.addAll(java.util.EnumSet.allOf(Fault.class));
            } else {
                try {
                    chosen.add(Fault.named(fault));
                } catch (IllegalArgumentException e) {
                    throw new Cowfs.UsageException(e.getMessage());
                }
            }
        }
        return chosen;
    }

    /**
     * Runs workloads until {@code maxWorkloads} or the time limit: sequences visited in a scattered order (every one
     * once), or random ones ({@code sequenceLength} 0). Returns how many ran.
     */
    private long runWorkloads(CrashHarness harness, int sequenceLength, long total, long maxWorkloads,
                              long limitNanos) throws IOException {
        long start = System.nanoTime();
        long stride = stride(total);
        long ran = 0;
        try (Progress bar = progress("crashtest " + workloads, maxWorkloads == Long.MAX_VALUE ? -1 : maxWorkloads,
                "workloads")) {
            while (ran < maxWorkloads && System.nanoTime() - start < limitNanos) {
                AceWorkloads.Workload workload = sequenceLength == 0
                        ? AceWorkloads.random(seed * 1_000_003 + ran, length, harness.startModel())
                        : AceWorkloads.sequence(sequenceLength, Math.floorMod(seed + ran * stride, total),
                        harness.startModel());
                harness.run(workload);
                ran++;
                bar.step(1);
            }
        }
        return ran;
    }

    /** The kill rounds and image fuzzing asked for, then the report; returns the exit code. */
    private int runKillsAndFuzz(CrashHarness harness, String coverage) throws IOException {
        Path scratch = Files.createTempDirectory("cowfs-crashtest");
        try {
            if (kills > 0) {
                try (Progress bar = progress("kill -9", kills, "rounds")) {
                    new KillHarness(harness, scratch, seed).run(kills, 60, 1500);
                    bar.step(kills);
                }
            }
            ImageFuzzer fuzzer = fuzz > 0 ? new ImageFuzzer(scratch, seed) : null;
            if (fuzzer != null) {
                try (Progress bar = progress("fuzz", fuzz, "images")) {
                    for (int i = 0; i < fuzz; i++) {
                        fuzzer.runCase();
                        bar.step(1);
                    }
                }
            }
            int code = finish(harness.report(), coverage, fuzzer);
            printSmallestFailures(harness);
            return code;
        } finally {
            deleteTree(scratch);
        }
    }

    /** A step through all indexes in a scattered order: coprime with the count, so every index comes once. */
    private static long stride(long total) {
        if (total <= 2) {
            return 1;
        }
        long stride = (long) (total * 0.6180339887) | 1;
        while (!BigInteger.valueOf(stride).gcd(BigInteger.valueOf(total)).equals(BigInteger.ONE)) {
            stride += 2;
        }
        return stride;
    }

    private int finish(CrashReport report, String coverage, ImageFuzzer fuzzer) {
        long fuzzViolations = fuzzer == null ? 0 : fuzzer.violations.size();
        if (json) {
            String body = report.json();
            StringBuilder fuzzJson = new StringBuilder();
            if (fuzzer != null) {
                fuzzJson.append(",\"fuzz\":{\"cases\":").append(fuzzer.cases).append(",\"clean_errors\":")
                        .append(fuzzer.cleanErrors).append(",\"correct\":").append(fuzzer.correct)
                        .append(",\"violations\":[");
                for (int i = 0; i < fuzzer.violations.size(); i++) {
                    ImageFuzzer.Violation violation = fuzzer.violations.get(i);
                    fuzzJson.append(i > 0 ? "," : "").append("{\"damage\":").append(Images.json(violation.damage()))
                            .append(",\"command\":").append(Images.json(violation.command()))
                            .append(",\"problem\":").append(Images.json(violation.problem())).append('}');
                }
                fuzzJson.append("]}");
            }
            out().println("{\"coverage\":" + Images.json(coverage) + "," + body.substring(1, body.length() - 1)
                    + fuzzJson + "}");
        } else {
            out().println("coverage           " + coverage);
            out().print(report.text());
            if (fuzzer != null) {
                out().printf(Locale.ROOT, "fuzzed images      %d: %d clean errors, %d read back correct, "
                        + "%d violations%n", fuzzer.cases, fuzzer.cleanErrors, fuzzer.correct, fuzzViolations);
                for (ImageFuzzer.Violation violation : fuzzer.violations) {
                    out().println("  " + violation.damage() + ": cowfs " + violation.command() + ": "
                            + violation.problem());
                }
            }
        }
        return report.violationCount() == 0 && fuzzViolations == 0 ? 0 : Cowfs.ExitCode.DAMAGED.code;
    }

    /** For failing random workloads, the shortest failing prefix: the reproducer to start from. */
    private void printSmallestFailures(CrashHarness harness) throws IOException {
        java.util.Set<String> done = new java.util.HashSet<>();
        for (CrashReport.Violation violation : harness.report().violations()) {
            String name = violation.workloadKey();
            if (name.startsWith("random") && done.add(name) && done.size() <= 3) {
                String smallest = harness.minimize(name);
                invocation.err().println("cowfs: crashtest: " + name + " fails; its shortest failing prefix: "
                        + "cowfs crashtest --seed " + seed + " --replay \"" + smallest + "\"");
            }
        }
    }

    private static void deleteTree(Path root) throws IOException {
        try (var paths = Files.walk(root)) {
            for (Path path : (Iterable<Path>) paths.sorted(java.util.Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(path);
            }
        }
    }

    static Duration parseDuration(String text) {
        String value = text.trim().toLowerCase(Locale.ROOT);
        try {
            if (value.endsWith("ms")) {
                return Duration.ofMillis(Long.parseLong(value.substring(0, value.length() - 2)));
            }
            char unit = value.isEmpty() ? '?' : value.charAt(value.length() - 1);
            if (Character.isDigit(unit)) {
                return Duration.ofSeconds(Long.parseLong(value));
            }
            long number = Long.parseLong(value.substring(0, value.length() - 1));
            return switch (unit) {
                case 's' -> Duration.ofSeconds(number);
                case 'm' -> Duration.ofMinutes(number);
                case 'h' -> Duration.ofHours(number);
                default -> throw new NumberFormatException(text);
            };
        } catch (NumberFormatException | StringIndexOutOfBoundsException e) {
            throw new Cowfs.UsageException("'" + text + "' is not a duration (examples: 90s, 10m, 1h)");
        }
    }
}
