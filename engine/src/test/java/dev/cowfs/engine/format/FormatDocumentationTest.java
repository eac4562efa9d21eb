package dev.cowfs.engine.format;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** docs/FORMAT.md is the format's specification: its tables must agree with the layout constants. */
class FormatDocumentationTest {
    private static final Pattern SECTION = Pattern.compile("^## .*\\((\\w+Layout)\\).*");
    private static final Pattern ROW = Pattern.compile("^\\| (\\d+) \\| (\\d+) \\| ([A-Z_]+) \\|.*");

    private record Row(String layout, int offset, int size, String constant) {
    }

    private static List<Row> documentedRows() throws Exception {
        Path doc = Path.of(System.getProperty("user.dir")).resolveSibling("docs").resolve("FORMAT.md");
        List<Row> rows = new ArrayList<>();
        String layout = null;
        for (String line : Files.readAllLines(doc)) {
            Matcher section = SECTION.matcher(line);
            if (section.matches()) {
                layout = section.group(1);
            } else if (line.startsWith("## ") || line.startsWith("### ")) {
                layout = line.startsWith("### ") ? layout : null;
            }
            Matcher row = ROW.matcher(line);
            if (layout != null && row.matches()) {
                rows.add(new Row(layout, Integer.parseInt(row.group(1)), Integer.parseInt(row.group(2)), row.group(3)));
            }
        }
        return rows;
    }

    @Test
    void everyDocumentedFieldMatchesItsLayoutConstant() throws Exception {
        List<Row> rows = documentedRows();
        assertTrue(rows.size() >= 30, "expected the superblock, block reference and node tables, found " + rows);
        for (Row row : rows) {
            Class<?> layout = Class.forName("dev.cowfs.engine.format." + row.layout());
            assertEquals(row.offset(), layout.getField(row.constant() + "_OFFSET").getInt(null),
                    row.layout() + "." + row.constant() + " offset");
            assertEquals(row.size(), layout.getField(row.constant() + "_SIZE").getInt(null),
                    row.layout() + "." + row.constant() + " size");
        }
    }

    @Test
    void layoutsAreContiguousAndFillTheirStructures() {
        assertEquals(4096, SuperblockLayout.BYTES);
        assertEquals(SuperblockLayout.CHECKSUM_OFFSET, SuperblockLayout.RESERVED_B_OFFSET + SuperblockLayout.RESERVED_B_SIZE);
        assertEquals(24, BlockRefLayout.BYTES);
        assertEquals(40, NodeLayout.HEADER_BYTES);
        assertEquals(28, NodeLayout.OUT_OF_LINE_DESCRIPTOR_BYTES);
        // Four of the largest entries must fit in a node of the smallest block, so splits always succeed.
        int largestBranchEntry = NodeLayout.branchEntryBytes(Limits.MAX_KEY_BYTES);
        int largestOutOfLineEntry = NodeLayout.leafEntryBytes(Limits.MAX_KEY_BYTES, NodeLayout.OUT_OF_LINE_DESCRIPTOR_BYTES);
        assertTrue(largestBranchEntry <= Limits.maxInlineEntryBytes(Limits.MIN_BLOCK_SIZE_BYTES));
        assertTrue(largestOutOfLineEntry <= Limits.maxInlineEntryBytes(Limits.MIN_BLOCK_SIZE_BYTES));
    }
}
