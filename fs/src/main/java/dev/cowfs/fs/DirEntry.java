package dev.cowfs.fs;

/**
 * One directory entry as readdir returns it: the name, the inode it names, its file type (the S_IFMT bits of
 * the mode) and the position to resume a listing after it.
 */
public record DirEntry(String name, long ino, int type, long nextPosition) {
}
