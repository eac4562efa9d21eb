package dev.cowfs.fs;

import java.util.UUID;

/**
 * A subvolume, snapshot or writable clone. {@code id} 0 is the default subvolume (made by mkfs, unnamed);
 * {@code parentId} is the subvolume a snapshot or clone was taken of (-1 for none); {@code generation} the
 * commit that created it. Files in it have inode numbers {@code (id << 40) | ino}; its root directory is
 * {@link CowFileSystem#rootOf(long)}. {@code uuid} is its identity, unique across images; {@code receivedUuid},
 * for a snapshot made by receiving a send stream, is the identity of the snapshot it was sent from (null
 * otherwise), so that later incremental streams find their base here.
 */
public record SubvolumeInfo(long id, String name, long parentId, long createdMillis, long generation,
                            boolean readOnly, boolean snapshot, UUID uuid, UUID receivedUuid) {
    public long rootIno() {
        return InodeNumber.rootOf(id);
    }

    /**
     * The identity its contents go by in send streams: the snapshot it was received from, or its own. A chain
     * of images (one sends to a second, the second to a third) and a stream sent back to where it came from
     * thus name the same snapshot alike.
     */
    public UUID origin() {
        return receivedUuid != null ? receivedUuid : uuid;
    }

    /** True when the subvolume is the snapshot {@code identity}, or was received from it. */
    public boolean is(UUID identity) {
        return identity.equals(uuid) || identity.equals(receivedUuid);
    }
}
