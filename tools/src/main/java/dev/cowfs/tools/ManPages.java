package dev.cowfs.tools;

import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Man pages (troff, section 1) made from the command model, so that they say exactly what {@code --help}
 * says: {@code cowfs.1} and one page per command ({@code cowfs-snapshot-create.1}). The pages are kept in
 * {@code docs/man}; a test fails when they differ from what the model gives.
 */
final class ManPages {
    private ManPages() {
    }

    /** Page file name to page text, for the tool and every command under it. */
    static Map<String, String> generate(CommandLine top) {
        Map<String, String> pages = new LinkedHashMap<>();
        List<String> names = new ArrayList<>();
        collectNames(top, names);
        add(top, pages, names);
        return pages;
    }

    private static void collectNames(CommandLine line, List<String> names) {
        names.add(pageName(line));
        for (CommandLine sub : line.getSubcommands().values()) {
            if (!sub.getCommandSpec().usageMessage().hidden() && !sub.getCommandName().equals("help")) {
                collectNames(sub, names);
            }
        }
    }

    private static void add(CommandLine line, Map<String, String> pages, List<String> names) {
        if (!names.contains(pageName(line))) {
            return;
        }
        pages.put(pageName(line) + ".1", page(line, names));
        for (CommandLine sub : line.getSubcommands().values()) {
            add(sub, pages, names);
        }
    }

    private static String pageName(CommandLine line) {
        return line.getCommandSpec().qualifiedName("-");
    }

    private static String page(CommandLine line, List<String> names) {
        CommandSpec spec = line.getCommandSpec();
        String name = pageName(line);
        String[] description = spec.usageMessage().description();
        StringBuilder page = new StringBuilder();
        page.append(".TH \"").append(name.toUpperCase(java.util.Locale.ROOT)).append("\" \"1\" \"\" \"")
                .append(String.join(" ", spec.root().version())).append("\" \"cowfs manual\"\n");
        page.append(".SH NAME\n").append(escape(name)).append(" \\- ").append(escape(firstSentence(description)))
                .append('\n');
        page.append(".SH SYNOPSIS\n.nf\n").append(escape(line.getHelp().synopsis(0).strip()
                .replaceFirst("^Usage: ", "").replaceAll("\\s*\\n\\s*", " "))).append("\n.fi\n");
        page.append(".SH DESCRIPTION\n").append(escape(String.join(" ", description))).append('\n');
        if (!spec.subcommands().isEmpty()) {
            page.append(".SH COMMANDS\n");
            for (Map.Entry<String, CommandLine> sub : spec.subcommands().entrySet()) {
                if (names.contains(pageName(sub.getValue()))) {
                    page.append(".TP\n.B ").append(escape(sub.getKey())).append('\n')
                            .append(escape(firstSentence(sub.getValue().getCommandSpec().usageMessage().description())))
                            .append(" See \\fB").append(escape(pageName(sub.getValue()))).append("\\fR(1).\n");
                }
            }
        }
        List<PositionalParamSpec> positionals = spec.positionalParameters();
        if (!positionals.isEmpty()) {
            page.append(".SH ARGUMENTS\n");
            for (PositionalParamSpec positional : positionals) {
                item(page, positional.paramLabel(), positional);
            }
        }
        if (!spec.options().isEmpty()) {
            page.append(".SH OPTIONS\n");
            for (OptionSpec option : spec.options()) {
                String label = String.join(", ", option.names())
                        + (option.typeInfo().isBoolean() ? "" : " " + option.paramLabel());
                item(page, label, option);
            }
        }
        List<String> footer = new ArrayList<>(List.of(spec.usageMessage().footer()));
        while (!footer.isEmpty() && footer.get(0).isBlank()) {
            footer.remove(0);
        }
        if (!footer.isEmpty()) {
            page.append(".SH NOTES\n.nf\n");
            for (String footerLine : footer) {
                page.append(escape(footerLine)).append('\n');
            }
            page.append(".fi\n");
        }
        page.append(".SH SEE ALSO\n");
        List<String> related = new ArrayList<>();
        for (String other : names) {
            if (!other.equals(name) && (other.startsWith(name + "-") || name.startsWith(other + "-")
                    || other.equals("cowfs"))) {
                related.add("\\fB" + escape(other) + "\\fR(1)");
            }
        }
        page.append(related.isEmpty() ? "\\fBcowfs\\fR(1)" : String.join(", ", related)).append('\n');
        return page.toString();
    }

    private static void item(StringBuilder page, String label, ArgSpec arg) {
        page.append(".TP\n.B ").append(escape(label)).append('\n')
                .append(escape(String.join(" ", arg.description()).strip())).append('\n');
    }

    private static String firstSentence(String[] description) {
        String text = String.join(" ", description).strip();
        int end = text.indexOf(". ");
        return end < 0 ? (text.endsWith(".") ? text.substring(0, text.length() - 1) : text) : text.substring(0, end);
    }

    /** Text safe in troff: backslashes and hyphens escaped, no line starting with a control character. */
    static String escape(String text) {
        String escaped = text.replace("\\", "\\e").replace("-", "\\-");
        StringBuilder out = new StringBuilder();
        for (String line : escaped.split("\n", -1)) {
            if (!out.isEmpty()) {
                out.append('\n');
            }
            out.append(line.startsWith(".") || line.startsWith("'") ? "\\&" + line : line);
        }
        return out.toString();
    }

    @CommandLine.Command(name = "man", mixinStandardHelpOptions = true,
            description = "Write the man pages of cowfs and every command (troff) into a directory.",
            footer = {"", "Example:", "  cowfs man /usr/local/share/man/man1 && man cowfs-snapshot-create"})
    static final class Command extends ToolCommand {
        @Parameters(index = "0", paramLabel = "DIR", description = "the directory to write the pages into")
        Path dir;

        @Override
        public Integer call() throws IOException {
            Files.createDirectories(dir);
            Map<String, String> pages = generate(spec.commandLine().getParent());
            for (Map.Entry<String, String> page : pages.entrySet()) {
                Files.writeString(dir.resolve(page.getKey()), page.getValue(), StandardCharsets.UTF_8);
            }
            out().println("wrote " + pages.size() + " man pages to " + dir);
            return 0;
        }
    }
}
