package dev.cowfs.crash;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** What a crash-harness run did and found: counts, rates, recovery times, and every violation's reproducer. */
public final class CrashReport {
    /** Violations kept in full (the count goes on past this). */
    static final int MAX_VIOLATIONS_KEPT = 50;
    private static final int MAX_TIMINGS = 1 << 20;

    /** A violation: the workload (replayable by name), the crash state, and what was wrong. */
    public record Violation(String workload, String operations, String state, String problem) {
        public String reproducer() {
            return "cowfs crashtest --replay \"" + workloadKey() + "\"  # state: " + state;
        }

        /** The part of the workload's name {@link CrashHarness#workloadNamed} reads back. */
        public String workloadKey() {
            int paren = workload.indexOf(" (");
            return paren < 0 ? workload : workload.substring(0, paren);
        }
    }

    long workloads;
    long operations;
    long statesGenerated;
    long statesUnique;
    long statesChecked;
    long epochs;
    long exhaustiveEpochs;
    /** States drawn from recoveries cut short, and how many of them were distinct (judged). */
    long recoveryCrashStates;
    long recoveryCrashUnique;
    long violationCount;
    long elapsedNanos;
    long recordNanos;
    long kills;
    long killedAcknowledged;
    long judgeNanos;
    final List<Violation> violations = new ArrayList<>();
    private long[] recoveryMicros = new long[1024];
    private int timings;
    /** Outcomes per fault class: exact, detected, silent. */
    final Map<String, long[]> faultOutcomes = new LinkedHashMap<>();
    /** Runs whose host filesystem ran full and where deleting snapshots, clones and files then succeeded. */
    long hostFullDeleteRuns;

    void recoveryTime(long nanos) {
        if (timings == recoveryMicros.length && timings < MAX_TIMINGS) {
            recoveryMicros = Arrays.copyOf(recoveryMicros, timings * 2);
        }
        if (timings < recoveryMicros.length) {
            recoveryMicros[timings++] = nanos / 1000;
        }
    }

    void violation(Violation violation) {
        violationCount++;
        if (violations.size() < MAX_VIOLATIONS_KEPT) {
            violations.add(violation);
        }
    }

    public long workloads() {
        return workloads;
    }

    public long statesChecked() {
        return statesChecked;
    }

    public long statesUnique() {
        return statesUnique;
    }

    public long statesGenerated() {
        return statesGenerated;
    }

    public long violationCount() {
        return violationCount;
    }

    public List<Violation> violations() {
        return List.copyOf(violations);
    }

    /** Unique states recovered, checked and compared with the model, per second of the run. */
    public double statesPerSecond() {
        return elapsedNanos == 0 ? 0 : statesUnique * 1e9 / elapsedNanos;
    }

    public double exhaustiveEpochPercent() {
        return epochs == 0 ? 100 : 100.0 * exhaustiveEpochs / epochs;
    }

    long recoveryMicrosPercentile(double percentile) {
        if (timings == 0) {
            return 0;
        }
        long[] sorted = Arrays.copyOf(recoveryMicros, timings);
        Arrays.sort(sorted);
        return sorted[(int) Math.min(timings - 1, Math.floor(percentile / 100 * timings))];
    }

    public String text() {
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "workloads          %d (%d operations)%n", workloads, operations));
        out.append(String.format(Locale.ROOT, "crash states       %d generated, %d unique, %d checked (of them "
                + "during recovery: %d generated, %d unique)%n", statesGenerated, statesUnique, statesChecked,
                recoveryCrashStates, recoveryCrashUnique));
        out.append(String.format(Locale.ROOT, "rate               %.0f unique states/s over %.1f s%n",
                statesPerSecond(), elapsedNanos / 1e9));
        out.append(String.format(Locale.ROOT, "time               %.1f s running workloads, %.1f s recovering and "
                + "judging, %.1f s building states%n", recordNanos / 1e9, judgeNanos / 1e9,
                (elapsedNanos - recordNanos - judgeNanos) / 1e9));
        out.append(String.format(Locale.ROOT, "epochs             %d, %.1f%% enumerated exhaustively%n", epochs,
                exhaustiveEpochPercent()));
        out.append(String.format(Locale.ROOT, "recovery time      p50 %d us, p99 %d us%n",
                recoveryMicrosPercentile(50), recoveryMicrosPercentile(99)));
        faultOutcomes.forEach((fault, counts) -> out.append(String.format(Locale.ROOT,
                "fault %-12s %d exact, %d detected, %d silent%n", fault, counts[0], counts[1], counts[2])));
        if (hostFullDeleteRuns > 0) {
            out.append(String.format(Locale.ROOT, "full host          %d runs deleted snapshots, clones and files "
                    + "after the host ran full%n", hostFullDeleteRuns));
        }
        if (kills > 0) {
            out.append(String.format(Locale.ROOT, "kill -9            %d processes killed and reopened (%d after "
                    + "acknowledged commits)%n", kills, killedAcknowledged));
        }
        out.append(String.format(Locale.ROOT, "violations         %d%n", violationCount));
        for (Violation violation : violations) {
            out.append("  ").append(violation.workload()).append('\n')
                    .append("    operations: ").append(violation.operations()).append('\n')
                    .append("    state:      ").append(violation.state()).append('\n')
                    .append("    problem:    ").append(violation.problem()).append('\n')
                    .append("    reproduce:  ").append(violation.reproducer()).append('\n');
        }
        return out.toString();
    }

    public String json() {
        StringBuilder out = new StringBuilder("{");
        out.append("\"workloads\":").append(workloads).append(",\"operations\":").append(operations)
                .append(",\"states_generated\":").append(statesGenerated).append(",\"states_unique\":")
                .append(statesUnique).append(",\"states_checked\":").append(statesChecked)
                .append(",\"recovery_crash_states\":").append(recoveryCrashStates)
                .append(",\"recovery_crash_states_unique\":").append(recoveryCrashUnique)
                .append(",\"states_per_second\":").append(String.format(Locale.ROOT, "%.1f", statesPerSecond()))
                .append(",\"elapsed_seconds\":").append(String.format(Locale.ROOT, "%.3f", elapsedNanos / 1e9))
                .append(",\"epochs\":").append(epochs).append(",\"exhaustive_epoch_percent\":")
                .append(String.format(Locale.ROOT, "%.1f", exhaustiveEpochPercent()))
                .append(",\"recovery_us_p50\":").append(recoveryMicrosPercentile(50))
                .append(",\"recovery_us_p99\":").append(recoveryMicrosPercentile(99))
                .append(",\"kills\":").append(kills).append(",\"kills_after_acknowledged_commits\":")
                .append(killedAcknowledged).append(",\"host_full_delete_runs\":").append(hostFullDeleteRuns)
                .append(",\"faults\":{");
        boolean first = true;
        for (Map.Entry<String, long[]> fault : faultOutcomes.entrySet()) {
            out.append(first ? "" : ",").append(quote(fault.getKey())).append(":{\"exact\":")
                    .append(fault.getValue()[0]).append(",\"detected\":").append(fault.getValue()[1])
                    .append(",\"silent\":").append(fault.getValue()[2]).append('}');
            first = false;
        }
        out.append("},\"violations\":").append(violationCount).append(",\"violation_details\":[");
        for (int i = 0; i < violations.size(); i++) {
            Violation violation = violations.get(i);
            out.append(i > 0 ? "," : "").append("{\"workload\":").append(quote(violation.workload()))
                    .append(",\"operations\":").append(quote(violation.operations())).append(",\"state\":")
                    .append(quote(violation.state())).append(",\"problem\":").append(quote(violation.problem()))
                    .append(",\"reproducer\":").append(quote(violation.reproducer())).append('}');
        }
        return out.append("]}").toString();
    }

    static String quote(String text) {
        StringBuilder out = new StringBuilder("\"");
        for (char c : text.toCharArray()) {
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"').toString();
    }
}
