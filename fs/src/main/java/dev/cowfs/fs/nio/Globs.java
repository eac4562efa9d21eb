package dev.cowfs.fs.nio;

import java.util.regex.PatternSyntaxException;

/**
 * Translates the glob syntax of {@link java.nio.file.FileSystem#getPathMatcher} into a regular expression, for
 * '/'-separated paths: {@code *} matches within one name, {@code **} across names, {@code ?} one character of a
 * name, {@code [...]} a class ({@code [!...]} negated, ranges with '-'), {@code {a,b}} alternatives (not
 * nested), and '\' escapes the next character.
 */
final class Globs {
    private static final String REGEX_META = ".^$+{[]|()";
    private static final String GLOB_META = "\\*?[{";

    private Globs() {
    }

    static String toRegex(String glob) {
        StringBuilder regex = new StringBuilder("^");
        boolean inGroup = false;
        int i = 0;
        while (i < glob.length()) {
            char c = glob.charAt(i++);
            switch (c) {
                case '\\' -> {
                    if (i == glob.length()) {
                        throw new PatternSyntaxException("No character to escape", glob, i - 1);
                    }
                    char escaped = glob.charAt(i++);
                    if (GLOB_META.indexOf(escaped) >= 0 || REGEX_META.indexOf(escaped) >= 0) {
                        regex.append('\\');
                    }
                    regex.append(escaped);
                }
                case '[' -> i = appendClass(glob, i, regex);
                case '{' -> {
                    if (inGroup) {
                        throw new PatternSyntaxException("Cannot nest groups", glob, i - 1);
                    }
                    regex.append("(?:(?:");
                    inGroup = true;
                }
                case '}' -> {
                    regex.append(inGroup ? "))" : "\\}");
                    inGroup = false;
                }
                case ',' -> regex.append(inGroup ? ")|(?:" : ",");
                case '*' -> {
                    if (i < glob.length() && glob.charAt(i) == '*') {
                        regex.append(".*");
                        i++;
                    } else {
                        regex.append("[^/]*");
                    }
                }
                case '?' -> regex.append("[^/]");
                default -> {
                    if (REGEX_META.indexOf(c) >= 0) {
                        regex.append('\\');
                    }
                    regex.append(c);
                }
            }
        }
        if (inGroup) {
            throw new PatternSyntaxException("Missing '}'", glob, glob.length() - 1);
        }
        return regex.append('$').toString();
    }

    /** Appends the class that starts after the '[' at {@code start - 1}; returns the index after its ']'. */
    private static int appendClass(String glob, int start, StringBuilder regex) {
        int i = start;
        regex.append("[[^/]&&[");
        if (i < glob.length() && glob.charAt(i) == '^') {
            regex.append("\\^");
            i++;
        } else {
            if (i < glob.length() && glob.charAt(i) == '!') {
                regex.append('^');
                i++;
            }
            if (i < glob.length() && glob.charAt(i) == '-') {
                regex.append('-');
                i++;
            }
        }
        boolean rangeStartSeen = false;
        char last = 0;
        while (i < glob.length()) {
            char c = glob.charAt(i++);
            if (c == ']') {
                regex.append("]]");
                return i;
            }
            if (c == '/') {
                throw new PatternSyntaxException("Explicit 'name separator' in class", glob, i - 1);
            }
            if (c == '\\' || c == '[' || (c == '&' && i < glob.length() && glob.charAt(i) == '&')) {
                regex.append('\\');
            }
            regex.append(c);
            if (c == '-') {
                if (!rangeStartSeen) {
                    throw new PatternSyntaxException("Invalid range", glob, i - 1);
                }
                if (i == glob.length()) {
                    break;
                }
                char end = glob.charAt(i++);
                if (end == ']') {
                    regex.append("]]");
                    return i;
                }
                if (end < last) {
                    throw new PatternSyntaxException("Invalid range", glob, i - 3);
                }
                if (end == '\\' || end == '[' || end == '&') {
                    regex.append('\\');
                }
                regex.append(end);
                rangeStartSeen = false;
            } else {
                rangeStartSeen = true;
                last = c;
            }
        }
        throw new PatternSyntaxException("Missing ']'", glob, glob.length() - 1);
    }
}
