package dev.cowfs.bench;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.Styler;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
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
 * <p>Usage: {@code Report RESULTS.json OUT_DIR [TITLE]}: writes {@code OUT_DIR/report.md} and the charts beside
 * it. Every figure comes from the JSON lines given; nothing is typed in.
 */
public final class Report {
    /** Fields that measure, in the order one is taken as a line's figure; true: higher is better. */
    private static final Map<String, Boolean> METRICS = new LinkedHashMap<>();

    static {
        METRICS.put("ops_per_s", true);
        METRICS.put("mib_per_s", true);
        METRICS.put("states_per_second", true);
        METRICS.put("us", false);
        METRICS.put("p50_us", false);
        METRICS.put("seconds", false);
        METRICS.put("blocks_written", false);
    }

    /** Fields that say how large the measured work was: a bench measured at several of them is a curve. */
    private static final List<String> SIZES = List.of("dataset_bytes", "keys", "storeKeys", "pageValueKeys",
            "fileMiB", "files", "size_bytes", "extents", "changed", "bytes", "length");

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
            System.err.println("usage: Report RESULTS.json OUT_DIR [TITLE]");
            System.exit(2);
        }
        List<Line> lines = read(Path.of(args[0]));
        Path out = Files.createDirectories(Path.of(args[1]));
        String title = args.length > 2 ? args[2] : "Benchmark report";
        Files.writeString(out.resolve("report.md"), write(lines, out, title), StandardCharsets.UTF_8);
        System.err.println("report: " + lines.size() + " lines into " + out.resolve("report.md"));
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

    /** Builds the report's Markdown and writes its charts into {@code out}. */
    static String write(List<Line> lines, Path out, String title) throws IOException {
        StringBuilder md = new StringBuilder("# ").append(title).append("\n\n");
        Map<String, List<Line>> bySuite = new TreeMap<>();
        for (Line line : lines) {
            if (line.metric() != null) {
                bySuite.computeIfAbsent(line.text("suite"), k -> new ArrayList<>()).add(line);
            }
        }
        for (Map.Entry<String, List<Line>> suite : bySuite.entrySet()) {
            md.append("## Suite `").append(suite.getKey()).append("`\n\n");
            md.append(table(suite.getKey(), suite.getValue(), out));
            md.append(curves(suite.getKey(), suite.getValue(), out));
        }
        return md.toString();
    }

    /** The key of a row: the bench and the size it ran at. */
    private static String rowOf(Line line) {
        String size = line.size();
        return line.text("bench") + (size.isEmpty() ? "" : " (" + size + ")");
    }

    private static String table(String suite, List<Line> lines, Path out) throws IOException {
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
        md.append("\nRatios are cowfs's advantage (above 1: cowfs leads), the median of per-repetition ratios with "
                + "their min and max; one repetition gives one ratio.\n\n");
        TreeSet<String> compared = new TreeSet<>();
        ratios.values().forEach(row -> compared.addAll(row.keySet()));
        for (String peer : compared) {
            String file = "ratios-" + suite + "-" + peer + ".png";
            ratioChart(suite, peer, ratios, out.resolve(file));
            md.append("![cowfs against ").append(peer).append(", suite ").append(suite).append("](").append(file)
                    .append(")\n\n");
        }
        return md.toString();
    }

    /** Median, min and max of cowfs's advantage over the peer, repetition by repetition where both have them. */
    static double[] ratio(List<Line> mine, List<Line> theirs, String metric) {
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
        CategoryChart chart = new CategoryChartBuilder().width(1000).height(520)
                .title("Suite " + suite + ": cowfs's advantage over " + peer + " (above 1: cowfs leads)")
                .xAxisTitle("bench").yAxisTitle("ratio").build();
        chart.getStyler().setLegendVisible(false);
        chart.getStyler().setXAxisLabelRotation(30);
        chart.addSeries("cowfs vs " + peer, benches, values);
        BitmapEncoder.saveBitmap(chart, file.toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    /** A chart for every bench measured at several sizes: cost as the work grows, one series per implementation. */
    private static String curves(String suite, List<Line> lines, Path out) throws IOException {
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
            md.append("![").append(suite).append(" / ").append(bench.getKey()).append("](").append(file)
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
