package dev.cowfs.fs;

/**
 * A subvolume, snapshot or writable clone. {@code id} 0 is the default subvolume (made by mkfs, unnamed);
 * {@code parentId} is the subvolume a snapshot or clone was taken of (-1 for none); {@code generation} the
 * commit that created it. Files in it have inode numbers {@code (id << 40) | ino}; its root directory is
 * {@link CowFileSystem#rootOf(long)}.
 */
public record SubvolumeInfo(long id, String name, long parentId, long createdMillis, long generation,
                            boolean readOnly, boolean snapshot) {
    public long rootIno() {
        return CowFileSystem.rootOf(id);
    }
}
