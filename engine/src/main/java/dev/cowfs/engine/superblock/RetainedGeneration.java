package dev.cowfs.engine.superblock;

/**
 * A generation the image keeps a superblock copy of ({@code where}: its ring slot or the far copy), and whether its
 * roots verify ({@code failure} says why not; null when they do).
 */
public record RetainedGeneration(long generation, long commitTimeMillis, String where, String failure) {
}
