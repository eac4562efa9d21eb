package dev.cowfs.fs;

import dev.cowfs.engine.format.BlockRef;
import dev.cowfs.engine.format.Bytes;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * docs/FORMAT.md specifies the filesystem's records too: its tables must agree with the fs {@code *Layout} classes,
 * field by field, and the records the code writes must hold each field where the table says.
 */
class FsFormatDocumentationTest {
    private static final Pattern SECTION = Pattern.compile("^###+ .*\\((\\w+Layout)[;)].*");
    private static final Pattern ROW = Pattern.compile("^\\| (\\d+) \\| (\\d+) \\| ([A-Z_]+) \\|.*");

    private record Row(int offset, int size, String constant) {
    }

    /** The rows of each fs layout's table, by layout, in the order documented. */
    private static Map<String, List<Row>> documented() throws Exception {
        Path doc = Path.of(System.getProperty("user.dir")).resolveSibling("docs").resolve("FORMAT.md");
        Map<String, List<Row>> tables = new LinkedHashMap<>();
        String layout = null;
        boolean filesystem = false;
        for (String line : Files.readAllLines(doc)) {
            if (line.startsWith("## ")) {
                filesystem = line.equals("## Filesystem");
                layout = null;
            } else if (line.startsWith("###")) {
                Matcher section = SECTION.matcher(line);
                layout = filesystem && section.matches() ? section.group(1) : null;
            }
            Matcher row = ROW.matcher(line);
            if (layout != null && row.matches()) {
                tables.computeIfAbsent(layout, k -> new ArrayList<>()).add(new Row(Integer.parseInt(row.group(1)),
                        Integer.parseInt(row.group(2)), row.group(3)));
            }
        }
        return tables;
    }

    private static int constant(String layout, String name) throws Exception {
        return Class.forName("dev.cowfs.fs." + layout).getDeclaredField(name).getInt(null);
    }

    @Test
    void everyDocumentedFieldMatchesItsLayoutConstantAndTheTablesLeaveNoGaps() throws Exception {
        Map<String, List<Row>> tables = documented();
        assertEquals(List.of("FsRecordLayout", "SubvolumeRecordLayout", "DirEntryLayout", "DirPositionLayout",
                "InodeLayout", "ExtentItemLayout"), List.copyOf(tables.keySet()), "the fs layouts FORMAT.md documents");
        for (Map.Entry<String, List<Row>> table : tables.entrySet()) {
            String layout = table.getKey();
            int next = 0;
            for (Row row : table.getValue()) {
                assertEquals(next, row.offset(), layout + "." + row.constant() + " follows the field before it");
                assertEquals(row.offset(), constant(layout, row.constant() + "_OFFSET"), layout + "." + row.constant());
                assertEquals(row.size(), constant(layout, row.constant() + "_SIZE"), layout + "." + row.constant());
                next = row.offset() + row.size();
            }
            try {
                assertEquals(next, constant(layout, "BYTES"), layout + ": the table covers the whole record");
            } catch (NoSuchFieldException variableLength) {
                // the record ends with a name documented as 1..255 bytes
            }
        }
    }

    @Test
    void anInodeRecordHoldsEachFieldWhereTheTableSays() throws Exception {
        Inode inode = new Inode(5, 0x0102, 0100644, 1001, 1002, 3, 0x1122334455L, 77, 0x0808, 0, 0,
                11, 12, 21, 22, 31, 32, 41, 42);
        byte[] bytes = inode.encode();
        Map<String, Integer> at = new LinkedHashMap<>();
        for (Row row : documented().get("InodeLayout")) {
            at.put(row.constant(), row.offset());
        }
        assertEquals(112, bytes.length);
        assertEquals(1, bytes[at.get("VERSION")]);
        assertEquals(0x0102, Bytes.getUnsignedShort(bytes, at.get("FLAGS")));
        assertEquals(0100644, Bytes.getInt(bytes, at.get("MODE")));
        assertEquals(1001, Bytes.getInt(bytes, at.get("UID")));
        assertEquals(1002, Bytes.getInt(bytes, at.get("GID")));
        assertEquals(3, Bytes.getInt(bytes, at.get("NLINK")));
        assertEquals(0x1122334455L, Bytes.getLong(bytes, at.get("SIZE")));
        assertEquals(77, Bytes.getLong(bytes, at.get("GENERATION")));
        assertEquals(0x0808, Bytes.getLong(bytes, at.get("RDEV")));
        assertEquals(21, Bytes.getLong(bytes, at.get("MTIME")));
        assertEquals(22, Bytes.getInt(bytes, at.get("MTIME") + 8));
        assertEquals(41, Bytes.getLong(bytes, at.get("BTIME")));
        assertEquals(inode, Inode.decode(5, bytes), "decoding gives the inode back");
    }

    @Test
    void anExtentItemHoldsEachFieldWhereTheTableSays() throws Exception {
        BlockRef extent = new BlockRef(900, 7, 0xCAFE, 3);
        byte[] bytes = new FileData.Item(4096, extent, 10_000, 12_288, 100, 200, (byte) 1).encode();
        Map<String, Integer> at = new LinkedHashMap<>();
        for (Row row : documented().get("ExtentItemLayout")) {
            at.put(row.constant(), row.offset());
        }
        assertEquals(44, bytes.length);
        assertEquals(extent, BlockRef.decode(bytes, at.get("EXTENT_REF")));
        assertEquals(10_000, Bytes.getInt(bytes, at.get("STORED_BYTES")));
        assertEquals(12_288, Bytes.getInt(bytes, at.get("LOGICAL_BYTES")));
        assertEquals(100, Bytes.getInt(bytes, at.get("FROM")));
        assertEquals(200, Bytes.getInt(bytes, at.get("LENGTH")));
        assertEquals(1, bytes[at.get("COMPRESSION")]);
        assertTrue(FileData.Item.decode(1, 4096, bytes).equals(new FileData.Item(4096, extent, 10_000, 12_288, 100,
                200, (byte) 1)), "decoding gives the item back");
    }
}
