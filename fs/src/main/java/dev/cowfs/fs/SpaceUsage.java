package dev.cowfs.fs;

/**
 * Space a subvolume, snapshot or file holds, exact for the commit {@code generation}: bytes it references
 * (every block once) and bytes only it holds, which deleting it alone would free. Shared bytes are the rest.
 * For a file, only its data and attribute blocks count (tree nodes hold other files' items too).
 */
public record SpaceUsage(long referencedBytes, long exclusiveBytes, long generation) {
    public long sharedBytes() {
        return referencedBytes - exclusiveBytes;
    }
}
