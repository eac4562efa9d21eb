package dev.cowfs.tools;

import picocli.CommandLine.Option;

/** {@code --generation N}: read a retained older generation of the image instead of the newest. */
final class GenerationOption {
    @Option(names = "--generation", paramLabel = "N",
            description = "read retained generation N, read-only (cowfs info --generations lists them)")
    long value;
}
