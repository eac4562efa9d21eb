package dev.cowfs.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The report takes its every figure from the lines it is given: ratios per repetition, tables, charts. */
class ReportTest {
    private static final byte[] PNG = {(byte) 0x89, 'P', 'N', 'G'};

    private static Report.Line line(String json) {
        return new Report.Line(Report.parse(json));
    }

    private static List<Report.Line> lines(String... json) {
        List<Report.Line> lines = new ArrayList<>();
        for (String text : json) {
            lines.add(line(text));
        }
        return lines;
    }

    @Test
    void ratioIsTheMedianOfPerRepetitionRatiosNotTheRatioOfMedians() {
        List<Report.Line> mine = lines(
                "{\"suite\":\"engine\",\"bench\":\"scan\",\"impl\":\"cowfs\",\"rep\":0,\"ops_per_s\":100}",
                "{\"suite\":\"engine\",\"bench\":\"scan\",\"impl\":\"cowfs\",\"rep\":1,\"ops_per_s\":200}",
                "{\"suite\":\"engine\",\"bench\":\"scan\",\"impl\":\"cowfs\",\"rep\":2,\"ops_per_s\":300}");
        List<Report.Line> theirs = lines(
                "{\"suite\":\"engine\",\"bench\":\"scan\",\"impl\":\"lmdb\",\"rep\":0,\"ops_per_s\":25}",
                "{\"suite\":\"engine\",\"bench\":\"scan\",\"impl\":\"lmdb\",\"rep\":1,\"ops_per_s\":400}",
                "{\"suite\":\"engine\",\"bench\":\"scan\",\"impl\":\"lmdb\",\"rep\":2,\"ops_per_s\":150}");
        // per repetition 4, 0.5 and 2: median 2 (the medians' ratio, 200 / 150, would say 1.33)
        assertArrayEquals(new double[] {2, 0.5, 4}, Report.ratio(mine, theirs, "ops_per_s"), 1e-9);
    }

    @Test
    void forTimesThePeersFigureOverOursIsTheAdvantage() {
        List<Report.Line> mine = lines("{\"suite\":\"snap\",\"bench\":\"clone\",\"impl\":\"cowfs\",\"rep\":0,\"us\":10}");
        List<Report.Line> theirs = lines("{\"suite\":\"snap\",\"bench\":\"clone\",\"impl\":\"xfs\",\"rep\":0,\"us\":30}");
        assertArrayEquals(new double[] {3, 3, 3}, Report.ratio(mine, theirs, "us"), 1e-9);
    }

    @Test
    void quantitiesOfStateAreShownButNotRaced() {
        List<Report.Line> mine = lines("{\"suite\":\"snap\",\"bench\":\"x\",\"impl\":\"cowfs\",\"exclusive_bytes\":4}");
        List<Report.Line> theirs = lines("{\"suite\":\"snap\",\"bench\":\"x\",\"impl\":\"btrfs\",\"exclusive_bytes\":8}");
        assertNull(Report.ratio(mine, theirs, "exclusive_bytes"));
    }

    /** Targets: a ratio below its minimum and a median above its limit are MISSED; figures within them met. */
    @Test
    void targetsSayMetOrMissedFromTheRunsOwnLines() {
        String missed = Targets.section(lines(
                "{\"suite\":\"fuse\",\"bench\":\"randRead4k\",\"impl\":\"cowfs\",\"rep\":1,\"ops_per_s\":36000}",
                "{\"suite\":\"fuse\",\"bench\":\"randRead4k\",\"impl\":\"bindfs\",\"rep\":1,\"ops_per_s\":110000}",
                "{\"suite\":\"cli\",\"bench\":\"snapshotCreate\",\"impl\":\"cowfs\",\"rep\":1,\"seconds\":1.2}"));
        assertTrue(missed.contains("| fuse / randRead4k vs bindfs | at least 1.00x | 0.33x (0.33-0.33) | **MISSED**"),
                missed);
        assertTrue(missed.contains("| cli / snapshotCreate (cowfs) | at most 0.30 s | 1.20 s (median of 1) | **MISSED**"),
                missed);
        String met = Targets.section(lines(
                "{\"suite\":\"fuse\",\"bench\":\"randRead4k\",\"impl\":\"cowfs\",\"rep\":1,\"ops_per_s\":60000}",
                "{\"suite\":\"fuse\",\"bench\":\"randRead4k\",\"impl\":\"bindfs\",\"rep\":1,\"ops_per_s\":58000}"));
        assertTrue(met.contains("1.03x (1.03-1.03) | met |") && met.contains("not measured"), met);
        assertEquals("", Targets.section(lines("{\"suite\":\"engine\",\"bench\":\"scan\",\"impl\":\"cowfs\","
                + "\"rep\":0,\"ops_per_s\":1}")));
    }

    /** The mount's io_uring variant gets rows of its own, only where the run measured it. */
    @Test
    void theUringVariantIsJudgedBesideTheDefaultWhenMeasured() {
        String both = Targets.section(lines(
                "{\"suite\":\"fuse\",\"bench\":\"metadata\",\"impl\":\"cowfs\",\"rep\":1,\"ops_per_s\":1100}",
                "{\"suite\":\"fuse\",\"bench\":\"metadata\",\"impl\":\"cowfsUring\",\"rep\":1,\"ops_per_s\":1400}",
                "{\"suite\":\"fuse\",\"bench\":\"metadata\",\"impl\":\"bindfs\",\"rep\":1,\"ops_per_s\":1000}"));
        assertTrue(both.contains("| fuse / metadata vs bindfs | at least 1.20x | 1.10x (1.10-1.10) | **MISSED**"), both);
        assertTrue(both.contains("| fuse / metadata vs bindfs (-o uring) | at least 1.20x | 1.40x (1.40-1.40) | met"),
                both);
        assertFalse(both.contains("seqRead vs bindfs (-o uring)"), both);
    }

    @Test
    void parsesFlatJsonWithEscapesNestedValuesAndLiterals() {
        Report.Line parsed = line("{\"suite\":\"crash\",\"note\":\"a \\\"b\\\"\\n\\u0041\",\"nested\":{\"a\":[1,2]},"
                + "\"ok\":true,\"none\":null,\"length\":1e3}");
        assertEquals("a \"b\"\nA", parsed.text("note"));
        assertEquals("{\"a\":[1,2]}", parsed.text("nested"));
        assertEquals("true", parsed.text("ok"));
        assertNull(parsed.text("none"));
        assertEquals(1000.0, parsed.number("length"));
        assertEquals("length=1,000", parsed.size());
    }

    @Test
    void documentHoldsTheRunItsTablesAndChartsFromTheseLinesAlone(@TempDir Path dir) throws IOException {
        Path results = Files.createDirectories(dir.resolve("results"));
        List<String> json = new ArrayList<>();
        for (int rep = 0; rep < 3; rep++) {
            // a wide spread of ratios (0.5 to 1000) takes the log axis; two sizes make a curve
            json.add("{\"suite\":\"snap\",\"bench\":\"clone\",\"impl\":\"cowfs\",\"extents\":100,\"rep\":" + rep
                    + ",\"us\":" + (10 + rep) + "}");
            json.add("{\"suite\":\"snap\",\"bench\":\"clone\",\"impl\":\"xfs\",\"extents\":100,\"rep\":" + rep
                    + ",\"us\":" + (5 + rep) + "}");
            json.add("{\"suite\":\"snap\",\"bench\":\"clone\",\"impl\":\"cowfs\",\"extents\":100000,\"rep\":" + rep
                    + ",\"us\":20}");
            json.add("{\"suite\":\"snap\",\"bench\":\"clone\",\"impl\":\"xfs\",\"extents\":100000,\"rep\":" + rep
                    + ",\"us\":20000}");
        }
        Files.write(results.resolve("RESULTS.json"), json, StandardCharsets.UTF_8);
        Files.writeString(results.resolve("commands.txt"), "snap\t12 s\tok\tbench/run snap\n"
                + "crash seq1\t3 s\tfailed (exit 1)\tjava -jar cowfs.jar crashtest\n");
        Files.writeString(results.resolve("skipped.txt"), "snap: btrfs: mkfs.btrfs not found\n");
        Files.writeString(results.resolve("machine.json"), "{\"cores\": 2,\n \"memory_bytes\": 2147483648}\n");

        String md = Report.document(Report.read(results.resolve("RESULTS.json")), results, dir, "T", "## Method\n");

        assertTrue(md.contains("| cores | 2 |"), md);
        assertTrue(md.contains("| memory_bytes | 2.0 GiB |"), md);
        assertTrue(md.contains("| crash seq1 | 3 | failed (exit 1) | `java -jar cowfs.jar crashtest` |"), md);
        assertTrue(md.contains("- snap: btrfs: mkfs.btrfs not found"), md);
        assertTrue(md.contains("## Method"), md);
        // 100 extents: xfs 5, 6, 7 us against 10, 11, 12: ratios 0.5, 0.545, 0.583
        assertTrue(md.contains("| clone (extents=100) | us | 11 | 6 | 0.55x (0.50-0.58) |"), md);
        assertTrue(md.contains("| clone (extents=100,000) | us | 20 | 20,000 | 1000.00x (1000.00-1000.00) |"), md);
        assertTrue(md.contains("Of 2 comparisons, cowfs leads in 1 (ratio at least 1.1), trails in 1"), md);
        assertTrue(md.contains("](results/ratios-snap-xfs.png)"), md);
        assertTrue(md.contains("](results/curve-snap-clone.png)"), md);
        assertArrayEquals(PNG, java.util.Arrays.copyOf(Files.readAllBytes(results.resolve("ratios-snap-xfs.png")), 4));
        assertArrayEquals(PNG, java.util.Arrays.copyOf(Files.readAllBytes(results.resolve("curve-snap-clone.png")), 4));
    }
}
