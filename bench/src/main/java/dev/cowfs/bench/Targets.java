package dev.cowfs.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The figures issues set as acceptance points, checked against a run's lines: each target met, missed or not
 * measured, in a table near the top of the report, so that a regression is seen where the run is read.
 */
final class Targets {
    private Targets() {
    }

    /** A bench's figure against a peer's (median of per-repetition ratios, at least {@code minimumRatio}). */
    private record RatioTarget(String suite, String bench, String peer, double minimumRatio, String source) {
    }

    /** cowfs's own median of {@code metric}, at most {@code maximum}. */
    private record LimitTarget(String suite, String bench, String metric, double maximum, String unit,
                               String source) {
    }

    private static final List<RatioTarget> RATIOS = List.of(
            new RatioTarget("fuse", "randRead4k", "bindfs", 1.0, "issue 22: random 4 KiB reads through the mount"),
            new RatioTarget("fuse", "seqWrite", "bindfs", 1.5, "issue 24: 1 MiB writes through the mount"),
            new RatioTarget("fuse", "seqRead", "bindfs", 1.5, "issue 24: 1 MiB reads through the mount"),
            new RatioTarget("fuse", "metadata", "bindfs", 1.2, "issue 24: create, stat, unlink through the mount"),
            new RatioTarget("fuse", "seqWrite", "fuseOverlayfs", 1.0, "issue 24: against a libfuse 3 low-level server"),
            new RatioTarget("fuse", "seqRead", "fuseOverlayfs", 1.0, "issue 24: against a libfuse 3 low-level server"),
            new RatioTarget("fuse", "treeCopy", "btrfs", 0.5, "issue 24: cp -a of a tree of small files"),
            new RatioTarget("fuse", "sqliteTx", "btrfs", 0.7, "issue 24: SQLite, WAL, synchronous=FULL"),
            new RatioTarget("fs", "fsyncOne", "cowfsAlone", 0.5,
                    "issue 26: fsync of one file with 10,000 others changed, within 2x of it alone"));
    private static final List<LimitTarget> LIMITS = List.of(
            new LimitTarget("cli", "snapshotCreate", "seconds", 0.3, "s",
                    "issue 22: a command sent to a holder, median of 20"));

    /** The report's section: one row per target, or "" when the run measured none of them. */
    static String section(List<Report.Line> lines) {
        List<String> rows = new ArrayList<>();
        for (RatioTarget target : RATIOS) {
            rows.add(ratioRow(lines, target, "cowfs", ""));
            if (!matching(lines, target.suite(), target.bench(), URING).isEmpty()) {
                rows.add(ratioRow(lines, target, URING, " (-o uring)"));
            }
        }
        for (LimitTarget target : LIMITS) {
            List<Double> values = new ArrayList<>();
            for (Report.Line line : matching(lines, target.suite(), target.bench(), "cowfs")) {
                if (line.number(target.metric()) != null) {
                    values.add(line.number(target.metric()));
                }
            }
            double median = Report.median(values);
            boolean measured = !values.isEmpty();
            rows.add(row(target.suite() + " / " + target.bench() + " (cowfs)",
                    String.format(Locale.ROOT, "at most %.2f %s", target.maximum(), target.unit()),
                    measured ? String.format(Locale.ROOT, "%.2f %s (median of %d)", median, target.unit(),
                            values.size()) : null,
                    measured ? median <= target.maximum() : null, target.source()));
        }
        if (rows.stream().allMatch(row -> row.contains("not measured"))) {
            return "";
        }
        StringBuilder md = new StringBuilder("## Targets\n\nFigures issues set as acceptance points, from this run.\n\n");
        md.append("| target | wanted | this run | | from |\n|---|---|---|---|---|\n");
        rows.forEach(md::append);
        return md.append('\n').toString();
    }

    /** The mount's io_uring variant, measured beside the default where the kernel allows it. */
    private static final String URING = "cowfsUring";

    private static String ratioRow(List<Report.Line> lines, RatioTarget target, String impl, String label) {
        List<Report.Line> mine = matching(lines, target.suite(), target.bench(), impl);
        List<Report.Line> theirs = matching(lines, target.suite(), target.bench(), target.peer());
        double[] ratio = mine.isEmpty() || theirs.isEmpty() ? null : Report.ratio(mine, theirs, mine.get(0).metric());
        return row(target.suite() + " / " + target.bench() + " vs " + target.peer() + label,
                String.format(Locale.ROOT, "at least %.2fx", target.minimumRatio()),
                ratio == null ? null : String.format(Locale.ROOT, "%.2fx (%.2f-%.2f)", ratio[0], ratio[1], ratio[2]),
                ratio == null ? null : ratio[0] >= target.minimumRatio(), target.source());
    }

    private static List<Report.Line> matching(List<Report.Line> lines, String suite, String bench, String impl) {
        List<Report.Line> matching = new ArrayList<>();
        for (Report.Line line : lines) {
            if (suite.equals(line.text("suite")) && bench.equals(line.text("bench")) && impl.equals(line.text("impl"))
                    && line.metric() != null) {
                matching.add(line);
            }
        }
        return matching;
    }

    private static String row(String what, String wanted, String measured, Boolean met, String source) {
        return "| " + what + " | " + wanted + " | " + (measured == null ? "not measured" : measured) + " | "
                + (met == null ? "" : met ? "met" : "**MISSED**") + " | " + source + " |\n";
    }
}
