package dev.cowfs.bench;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.CategorySeries;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.awt.Color;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Turns the JSON lines of a benchmark run into a report: for each suite a table of every bench, cowfs beside
 * each peer with the median of per-repetition ratios (min and max), and PNG charts: one bar chart of the ratios
 * per suite, and one curve per bench that was measured at several sizes (files, bytes, extents, changes).
 *
 * <p>Usage: {@code Report RESULTS_DIR REPORT.md [TITLE] [INTRO.md]}: reads {@code RESULTS_DIR/RESULTS.json} (and the
 * run's machine.json, commands.txt and skipped.txt beside it), writes the charts into {@code RESULTS_DIR} and the
 * report to {@code REPORT.md}, with the hand-written method ({@code INTRO.md}) after the summary. Every figure
 * comes from the JSON lines given; nothing is typed in.
 */
public final class Report {
    /**
     * Fields that measure, in the order one is taken as a line's figure; true: higher is better, null: neither
     * (a quantity to show, not a race: no ratio is taken).
     */
    private static final Map<String, Boolean> METRICS = new LinkedHashMap<>();

    static {
        METRICS.put("ops_per_s", true);
        METRICS.put("mib_per_s", true);
        METRICS.put("states_per_second", true);
        METRICS.put("us", false);
        METRICS.put("p50_us", false);
        METRICS.put("seconds", false);
        METRICS.put("blocks_written", false);
        METRICS.put("exclusive_bytes", null);
        METRICS.put("used_bytes", null);
    }

    /** Fields that say how large the measured work was: a bench measured at several of them is a curve. */
    private static final List<String> SIZES = List.of("dataset_bytes", "datasetMiB", "keys", "storeKeys",
            "commitStoreKeys", "dirtyKeys", "pageValueKeys", "fileMiB", "files", "size_bytes", "extents", "changed",
            "written_bytes", "bytes", "length");

    private Report() {
    }

    /** One JSON line: flat, values strings, numbers, booleans or null. */
    record Line(Map<String, Object> fields) {
        String text(String key) {
            Object value = fields.get(key);
            return value == null ? null : value.toString();
        }

        Double number(String key) {
            return fields.get(key) instanceof Number number ? number.doubleValue() : null;
        }

        String metric() {
            for (String metric : METRICS.keySet()) {
                if (number(metric) != null) {
                    return metric;
                }
            }
            return null;
        }

        /** What the work's size was, as "field=value" pairs, or "" when the line names none. */
        String size() {
            StringBuilder text = new StringBuilder();
            for (String size : SIZES) {
                if (number(size) != null) {
                    text.append(text.isEmpty() ? "" : ", ").append(size).append('=').append(format(number(size)));
                }
            }
            return text.toString();
        }
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 2) {
            System.err.println("usage: Report RESULTS_DIR REPORT.md [TITLE] [INTRO.md]");
            System.exit(2);
        }
        Path results = Path.of(args[0]).toAbsolutePath();
        List<Line> lines = read(results.resolve("RESULTS.json"));
        Path report = Path.of(args[1]).toAbsolutePath();
        String title = args.length > 2 ? args[2] : "Benchmark report";
        String intro = args.length > 3 ? Files.readString(Path.of(args[3]), StandardCharsets.UTF_8) : "";
        Files.writeString(report, document(lines, results, report.getParent(), title, intro), StandardCharsets.UTF_8);
        System.err.println("report: " + lines.size() + " lines into " + report);
    }

    /**
     * The whole report: the run (machine, each suite's command and time, peers skipped and why), where cowfs
     * leads and trails, the method ({@code intro}), then a section per suite. Charts go into {@code results};
     * links are relative to {@code reportDir}.
     */
    static String document(List<Line> lines, Path results, Path reportDir, String title, String intro)
            throws IOException {
        StringBuilder md = new StringBuilder("# ").append(title).append("\n\n");
        md.append("Generated by `bench/run all` from the JSON lines of one run (`")
                .append(reportDir.relativize(results.resolve("RESULTS.json")))
                .append("`, ").append(lines.size()).append(" lines); nothing in it is typed in. Older runs, with "
                        + "notes on what changed between them: [HISTORY.md](HISTORY.md).\n\n");
        md.append("## The run\n\n");
        Path machine = results.resolve("machine.json");
        if (Files.exists(machine)) {
            Map<String, Object> fields = parse(Files.readString(machine).replaceAll("\\s*\\n\\s*", " "));
            md.append("| machine | |\n|---|---|\n");
            fields.forEach((key, value) -> md.append("| ").append(key).append(" | ")
                    .append(key.equals("memory_bytes") && value instanceof Double bytes
                            ? String.format(Locale.ROOT, "%.1f GiB", bytes / (1L << 30))
                            : value instanceof Double number ? format(number) : String.valueOf(value))
                    .append(" |\n"));
            md.append('\n');
        }
        Path commands = results.resolve("commands.txt");
        if (Files.exists(commands)) {
            md.append("| suite | seconds | outcome | command |\n|---|---:|---|---|\n");
            for (String row : Files.readAllLines(commands, StandardCharsets.UTF_8)) {
                String[] cells = row.split("\t", 4);
                if (cells.length == 4) {
                    md.append("| ").append(cells[0]).append(" | ").append(cells[1].replace(" s", "")).append(" | ")
                            .append(cells[2]).append(" | `").append(cells[3]).append("` |\n");
                }
            }
            md.append('\n');
        }
        Path skipped = results.resolve("skipped.txt");
        if (Files.exists(skipped) && Files.size(skipped) > 0) {
            md.append("Skipped in this run:\n\n");
            for (String row : Files.readAllLines(skipped, StandardCharsets.UTF_8)) {
                md.append("- ").append(row).append('\n');
            }
            md.append('\n');
        }
        md.append(Targets.section(lines));
        md.append(standing(lines));
        md.append(intro.isBlank() ? "" : intro.strip() + "\n\n");
        md.append(write(lines, results, reportDir));
        return md.toString();
    }

    /** Where cowfs leads and trails: every row with a ratio, best to worst. */
    private static String standing(List<Line> lines) {
        List<Object[]> rows = new ArrayList<>();
        Map<String, List<Line>> bySuite = new TreeMap<>();
        for (Line line : lines) {
            if (line.metric() != null) {
                bySuite.computeIfAbsent(line.text("suite"), k -> new ArrayList<>()).add(line);
            }
        }
        bySuite.forEach((suite, suiteLines) -> {
            Map<String, Map<String, List<Line>>> byRow = new LinkedHashMap<>();
            for (Line line : suiteLines) {
                byRow.computeIfAbsent(rowOf(line), k -> new LinkedHashMap<>())
                        .computeIfAbsent(line.text("impl"), k -> new ArrayList<>()).add(line);
            }
            byRow.forEach((row, impls) -> {
                List<Line> mine = impls.get("cowfs");
                if (mine == null) {
                    return;
                }
                impls.forEach((impl, theirs) -> {
                    if (!impl.equals("cowfs")) {
                        double[] ratio = ratio(mine, theirs, mine.get(0).metric());
                        if (ratio != null) {
                            rows.add(new Object[] {suite + " / " + row + " vs " + impl, ratio});
                        }
                    }
                });
            });
        });
        if (rows.isEmpty()) {
            return "";
        }
        rows.sort(Comparator.comparingDouble(row -> -((double[]) row[1])[0]));
        StringBuilder md = new StringBuilder("## Where cowfs leads and where it trails\n\n");
        long leads = rows.stream().filter(row -> ((double[]) row[1])[0] >= 1.1).count();
        long trails = rows.stream().filter(row -> ((double[]) row[1])[0] <= 0.9).count();
        md.append(String.format(Locale.ROOT, "Of %d comparisons, cowfs leads in %d (ratio at least 1.1), trails in "
                + "%d (at most 0.9) and is level in %d. Ratio: cowfs's advantage (above 1: cowfs leads), the median "
                + "of per-repetition ratios (min-max).%n%n", rows.size(), leads, trails,
                rows.size() - leads - trails));
        md.append("| comparison | ratio |\n|---|---:|\n");
        for (Object[] row : rows) {
            double[] ratio = (double[]) row[1];
            md.append("| ").append(row[0]).append(" | ").append(String.format(Locale.ROOT, "%.2fx (%.2f-%.2f)",
                    ratio[0], ratio[1], ratio[2])).append(" |\n");
        }
        return md.append('\n').toString();
    }

    static List<Line> read(Path path) throws IOException {
        List<Line> lines = new ArrayList<>();
        for (String text : Files.readAllLines(path, StandardCharsets.UTF_8)) {
            text = text.trim();
            if (text.startsWith("{\"suite\"")) {
                lines.add(new Line(parse(text)));
            }
        }
        return lines;
    }

    /** A section per suite: its table and charts. Charts are written into {@code out}, linked from {@code base}. */
    static String write(List<Line> lines, Path out, Path base) throws IOException {
        StringBuilder md = new StringBuilder();
        Map<String, List<Line>> bySuite = new TreeMap<>();
        for (Line line : lines) {
            if (line.metric() != null) {
                bySuite.computeIfAbsent(line.text("suite"), k -> new ArrayList<>()).add(line);
            }
        }
        String prefix = base.relativize(out.toAbsolutePath()).toString();
        prefix = prefix.isEmpty() ? "" : prefix + "/";
        for (Map.Entry<String, List<Line>> suite : bySuite.entrySet()) {
            md.append("## Suite `").append(suite.getKey()).append("`\n\n");
            md.append(table(suite.getKey(), suite.getValue(), out, prefix));
            md.append(curves(suite.getKey(), suite.getValue(), out, prefix));
        }
        return md.toString();
    }

    /** The key of a row: the bench and the size it ran at. */
    private static String rowOf(Line line) {
        String size = line.size();
        return line.text("bench") + (size.isEmpty() ? "" : " (" + size + ")");
    }

    private static String table(String suite, List<Line> lines, Path out, String prefix) throws IOException {
        Map<String, Map<String, List<Line>>> rows = new LinkedHashMap<>();
        TreeSet<String> peers = new TreeSet<>();
        for (Line line : lines) {
            rows.computeIfAbsent(rowOf(line), k -> new LinkedHashMap<>())
                    .computeIfAbsent(line.text("impl"), k -> new ArrayList<>()).add(line);
            if (!"cowfs".equals(line.text("impl"))) {
                peers.add(line.text("impl"));
            }
        }
        StringBuilder md = new StringBuilder("| bench | metric | cowfs |");
        for (String peer : peers) {
            md.append(' ').append(peer).append(" | cowfs vs ").append(peer).append(" |");
        }
        md.append("\n|---|---|---:|");
        md.append("---:|---|".repeat(peers.size()));
        md.append('\n');
        Map<String, Map<String, Double>> ratios = new LinkedHashMap<>();
        for (Map.Entry<String, Map<String, List<Line>>> row : rows.entrySet()) {
            List<Line> mine = row.getValue().getOrDefault("cowfs", List.of());
            String metric = (mine.isEmpty() ? row.getValue().values().iterator().next() : mine).get(0).metric();
            md.append("| ").append(row.getKey()).append(" | ").append(metric).append(" | ")
                    .append(mine.isEmpty() ? "-" : format(median(values(mine, metric)))).append(" |");
            for (String peer : peers) {
                List<Line> theirs = row.getValue().getOrDefault(peer, List.of());
                md.append(' ').append(theirs.isEmpty() ? "-" : format(median(values(theirs, metric)))).append(" | ");
                double[] ratio = mine.isEmpty() || theirs.isEmpty() ? null : ratio(mine, theirs, metric);
                if (ratio == null) {
                    md.append("- |");
                } else {
                    md.append(String.format(Locale.ROOT, "%.2fx (%.2f-%.2f) |", ratio[0], ratio[1], ratio[2]));
                    ratios.computeIfAbsent(row.getKey(), k -> new LinkedHashMap<>()).put(peer, ratio[0]);
                }
            }
            md.append('\n');
        }
        md.append(peers.isEmpty() ? "\n" : "\nRatios are cowfs's advantage (above 1: cowfs leads), the median of "
                + "per-repetition ratios with their min and max; one repetition gives one ratio.\n\n");
        TreeSet<String> compared = new TreeSet<>();
        ratios.values().forEach(row -> compared.addAll(row.keySet()));
        for (String peer : compared) {
            String file = "ratios-" + suite + "-" + peer + ".png";
            ratioChart(suite, peer, ratios, out.resolve(file));
            md.append("![cowfs against ").append(peer).append(", suite ").append(suite).append("](").append(prefix)
                    .append(file)
                    .append(")\n\n");
        }
        return md.toString();
    }

    /** Median, min and max of cowfs's advantage over the peer, repetition by repetition where both have them. */
    static double[] ratio(List<Line> mine, List<Line> theirs, String metric) {
        if (METRICS.containsKey(metric) && METRICS.get(metric) == null) {
            return null;
        }
        boolean higherBetter = METRICS.getOrDefault(metric, true);
        Map<String, Double> mineByRep = byRep(mine, metric);
        Map<String, Double> theirsByRep = byRep(theirs, metric);
        List<Double> ratios = new ArrayList<>();
        for (Map.Entry<String, Double> rep : mineByRep.entrySet()) {
            Double other = theirsByRep.get(rep.getKey());
            if (other != null && other > 0 && rep.getValue() > 0) {
                ratios.add(higherBetter ? rep.getValue() / other : other / rep.getValue());
            }
        }
        if (ratios.isEmpty()) {
            double a = median(values(mine, metric));
            double b = median(values(theirs, metric));
            if (a <= 0 || b <= 0) {
                return null;
            }
            ratios.add(higherBetter ? a / b : b / a);
        }
        ratios.sort(Comparator.naturalOrder());
        return new double[] {median(ratios), ratios.get(0), ratios.get(ratios.size() - 1)};
    }

    private static Map<String, Double> byRep(List<Line> lines, String metric) {
        Map<String, Double> byRep = new LinkedHashMap<>();
        for (Line line : lines) {
            String rep = line.text("rep");
            if (rep != null && line.number(metric) != null) {
                byRep.put(rep, line.number(metric));
            }
        }
        return byRep;
    }

    private static List<Double> values(List<Line> lines, String metric) {
        List<Double> values = new ArrayList<>();
        for (Line line : lines) {
            if (line.number(metric) != null) {
                values.add(line.number(metric));
            }
        }
        return values;
    }

    static double median(List<Double> values) {
        if (values.isEmpty()) {
            return Double.NaN;
        }
        List<Double> sorted = new ArrayList<>(values);
        sorted.sort(Comparator.naturalOrder());
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    /** One bar per bench the peer ran: cowfs's advantage (1 is parity). */
    private static void ratioChart(String suite, String peer, Map<String, Map<String, Double>> ratios, Path file)
            throws IOException {
        List<String> benches = new ArrayList<>();
        List<Double> values = new ArrayList<>();
        for (Map.Entry<String, Map<String, Double>> row : ratios.entrySet()) {
            Double ratio = row.getValue().get(peer);
            if (ratio != null && ratio > 0) {
                benches.add(row.getKey());
                values.add(ratio);
            }
        }
        double low = values.stream().mapToDouble(Double::doubleValue).min().orElse(1);
        double high = values.stream().mapToDouble(Double::doubleValue).max().orElse(1);
        // Ratios from 0.1 to 1000 on one linear axis hide every bar near 1, so a wide spread goes on a log axis.
        boolean log = high / low > 20;
        CategoryChart chart = new CategoryChartBuilder().width(1000).height(760)
                .title("Suite " + suite + ": cowfs's advantage over " + peer + " (above 1: cowfs leads; line: parity)")
                .xAxisTitle("bench").yAxisTitle(log ? "ratio (log scale)" : "ratio").build();
        chart.getStyler().setLegendVisible(false); // the title names the line; a legend box covers bars
        // Upright labels sit under their own bar; slanted ones read as the neighbour's.
        chart.getStyler().setXAxisLabelRotation(90);
        chart.getStyler().setYAxisLogarithmic(log);
        chart.getStyler().setOverlapped(true); // the parity line over the bars, not a bar group beside them
        if (log) {
            // Bars rise from the axis floor, which on a log axis must sit above zero: the decade under the least
            // ratio (a decade lower for a ratio of exactly 1, whose bar would otherwise have no height).
            chart.getStyler().setYAxisMin(Math.pow(10, Math.floor(Math.log10(low) - 1e-9)));
        }
        chart.addSeries("cowfs vs " + peer, benches, values);
        // On a log axis every bar rises from the floor, so a trailing ratio would look like a lead without it.
        chart.addSeries("parity (1)", benches, Collections.nCopies(benches.size(), 1.0))
                .setChartCategorySeriesRenderStyle(CategorySeries.CategorySeriesRenderStyle.Line)
                .setMarker(SeriesMarkers.NONE)
                .setLineColor(Color.BLACK);
        BitmapEncoder.saveBitmap(chart, file.toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    /** A chart for every bench measured at several sizes: cost as the work grows, one series per implementation. */
    private static String curves(String suite, List<Line> lines, Path out, String prefix) throws IOException {
        // The size a bench's curve runs along: the first size field that takes several values in its lines.
        Map<String, String> along = new TreeMap<>();
        Map<String, Map<String, TreeSet<Double>>> seen = new TreeMap<>();
        for (Line line : lines) {
            for (String size : SIZES) {
                if (line.number(size) != null) {
                    seen.computeIfAbsent(line.text("bench"), k -> new TreeMap<>())
                            .computeIfAbsent(size, k -> new TreeSet<>()).add(line.number(size));
                }
            }
        }
        seen.forEach((bench, sizes) -> SIZES.stream().filter(size -> sizes.containsKey(size)
                && sizes.get(size).size() >= 2).findFirst().ifPresent(size -> along.put(bench, size)));
        Map<String, Map<String, TreeMap<Double, List<Double>>>> benches = new TreeMap<>();
        Map<String, String[]> axes = new TreeMap<>();
        for (Line line : lines) {
            String sizeField = along.get(line.text("bench"));
            if (sizeField == null || line.number(sizeField) == null) {
                continue;
            }
            String metric = line.metric();
            String bench = line.text("bench");
            axes.putIfAbsent(bench, new String[] {sizeField, metric});
            if (!axes.get(bench)[0].equals(sizeField) || !axes.get(bench)[1].equals(metric)) {
                continue;
            }
            benches.computeIfAbsent(bench, k -> new TreeMap<>())
                    .computeIfAbsent(line.text("impl"), k -> new TreeMap<>())
                    .computeIfAbsent(line.number(sizeField), k -> new ArrayList<>()).add(line.number(metric));
        }
        StringBuilder md = new StringBuilder();
        for (Map.Entry<String, Map<String, TreeMap<Double, List<Double>>>> bench : benches.entrySet()) {
            boolean several = bench.getValue().values().stream().anyMatch(points -> points.size() >= 2);
            if (!several) {
                continue;
            }
            String[] axis = axes.get(bench.getKey());
            XYChart chart = new XYChartBuilder().width(800).height(480)
                    .title(suite + " / " + bench.getKey() + ": " + axis[1] + " against " + axis[0])
                    .xAxisTitle(axis[0]).yAxisTitle(axis[1]).build();
            chart.getStyler().setXAxisLogarithmic(true);
            // figures spread over more than two orders of magnitude (a clone of 100 or 100,000 extents): log too
            double low = Double.MAX_VALUE;
            double high = 0;
            for (TreeMap<Double, List<Double>> points : bench.getValue().values()) {
                for (List<Double> values : points.values()) {
                    low = Math.min(low, median(values));
                    high = Math.max(high, median(values));
                }
            }
            chart.getStyler().setYAxisLogarithmic(low > 0 && high / low > 100);
            chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNW);
            for (Map.Entry<String, TreeMap<Double, List<Double>>> impl : bench.getValue().entrySet()) {
                List<Double> x = new ArrayList<>();
                List<Double> y = new ArrayList<>();
                impl.getValue().forEach((size, values) -> {
                    x.add(size);
                    y.add(median(values));
                });
                chart.addSeries(impl.getKey(), x, y);
            }
            String file = "curve-" + suite + "-" + bench.getKey() + ".png";
            BitmapEncoder.saveBitmap(chart, out.resolve(file).toString(), BitmapEncoder.BitmapFormat.PNG);
            md.append("![").append(suite).append(" / ").append(bench.getKey()).append("](").append(prefix)
                    .append(file)
                    .append(")\n\n");
        }
        return md.toString();
    }

    static String format(double value) {
        if (Double.isNaN(value)) {
            return "-";
        }
        if (value == Math.rint(value) && Math.abs(value) < 1e15) {
            return String.format(Locale.ROOT, "%,d", (long) value);
        }
        return Math.abs(value) >= 100 ? String.format(Locale.ROOT, "%,.0f", value)
                : String.format(Locale.ROOT, "%.3g", value);
    }

    // ------------------------------------------------------------------ a flat JSON object

    static Map<String, Object> parse(String text) {
        Map<String, Object> fields = new LinkedHashMap<>();
        int[] at = {skip(text, 0)};
        expect(text, at, '{');
        while (true) {
            at[0] = skip(text, at[0]);
            if (text.charAt(at[0]) == '}') {
                return fields;
            }
            String key = string(text, at);
            at[0] = skip(text, at[0]);
            expect(text, at, ':');
            at[0] = skip(text, at[0]);
            fields.put(key, value(text, at));
            at[0] = skip(text, at[0]);
            if (text.charAt(at[0]) == ',') {
                at[0]++;
            }
        }
    }

    private static Object value(String text, int[] at) {
        char c = text.charAt(at[0]);
        if (c == '"') {
            return string(text, at);
        }
        if (c == '{' || c == '[') { // nested: kept as its text, not measured
            int depth = 0;
            int start = at[0];
            boolean inString = false;
            for (; ; at[0]++) {
                char d = text.charAt(at[0]);
                if (inString) {
                    if (d == '\\') {
                        at[0]++;
                    } else if (d == '"') {
                        inString = false;
                    }
                } else if (d == '"') {
                    inString = true;
                } else if (d == '{' || d == '[') {
                    depth++;
                } else if ((d == '}' || d == ']') && --depth == 0) {
                    at[0]++;
                    return text.substring(start, at[0]);
                }
            }
        }
        int start = at[0];
        while (at[0] < text.length() && ",}] \t".indexOf(text.charAt(at[0])) < 0) {
            at[0]++;
        }
        String word = text.substring(start, at[0]);
        return switch (word) {
            case "true" -> Boolean.TRUE;
            case "false" -> Boolean.FALSE;
            case "null" -> null;
            default -> Double.parseDouble(word);
        };
    }

    private static String string(String text, int[] at) {
        expect(text, at, '"');
        StringBuilder out = new StringBuilder();
        while (true) {
            char c = text.charAt(at[0]++);
            if (c == '"') {
                return out.toString();
            }
            if (c == '\\') {
                char e = text.charAt(at[0]++);
                switch (e) {
                    case 'n' -> out.append('\n');
                    case 't' -> out.append('\t');
                    case 'u' -> {
                        out.append((char) Integer.parseInt(text.substring(at[0], at[0] + 4), 16));
                        at[0] += 4;
                    }
                    default -> out.append(e);
                }
            } else {
                out.append(c);
            }
        }
    }

    private static void expect(String text, int[] at, char wanted) {
        if (text.charAt(at[0]) != wanted) {
            throw new IllegalArgumentException("expected '" + wanted + "' at " + at[0] + " in " + text);
        }
        at[0]++;
    }

    private static int skip(String text, int at) {
        while (at < text.length() && Character.isWhitespace(text.charAt(at))) {
            at++;
        }
        return at;
    }
}
