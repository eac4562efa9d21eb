package dev.cowfs.tools;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The man pages in docs/man are exactly what the command model gives, and render cleanly. */
class ManPagesTest {
    private static final Path PAGES = Path.of(System.getProperty("cowfs.root", ".."), "docs", "man");

    private static Map<String, String> generated() {
        return ManPages.generate(new CommandLine(new Cowfs()));
    }

    @Test
    void theCommittedPagesAreWhatTheCommandModelGives() throws IOException {
        Map<String, String> pages = generated();
        TreeSet<String> committed = new TreeSet<>();
        try (Stream<Path> files = Files.list(PAGES)) {
            files.forEach(file -> committed.add(file.getFileName().toString()));
        }
        assertEquals(new TreeSet<>(pages.keySet()), committed,
                "pages differ from the commands: run ./cowfs man docs/man and commit the result");
        for (Map.Entry<String, String> page : pages.entrySet()) {
            assertEquals(page.getValue(), Files.readString(PAGES.resolve(page.getKey()), StandardCharsets.UTF_8),
                    page.getKey() + " is stale: run ./cowfs man docs/man and commit the result");
        }
        assertTrue(pages.containsKey("cowfs-snapshot-create.1") && pages.containsKey("cowfs-serve.1"), pages::toString);
        assertTrue(pages.get("cowfs.1").contains("Exit status:"), "the exit codes are in cowfs(1)");
    }

    @Test
    void everyPageRendersWithoutTroffWarnings() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/groff")), "groff is not installed here");
        for (Map.Entry<String, String> page : generated().entrySet()) {
            Path file = Files.createTempFile("cowfs", ".1");
            try {
                Files.writeString(file, page.getValue());
                Process groff = new ProcessBuilder(List.of("groff", "-man", "-Tutf8", "-ww", "-z", file.toString()))
                        .redirectErrorStream(true).start();
                String warnings = new String(groff.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertEquals(0, groff.waitFor(), page.getKey() + ": " + warnings);
                assertEquals("", warnings, page.getKey());
            } finally {
                Files.delete(file);
            }
        }
    }

    @Test
    void troffControlCharactersAreEscaped() {
        assertEquals("\\&.hidden \\e \\-x", ManPages.escape(".hidden \\ -x"));
        assertEquals("a\n\\&'quoted", ManPages.escape("a\n'quoted"));
    }
}
