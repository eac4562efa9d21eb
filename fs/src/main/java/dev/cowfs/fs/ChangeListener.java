package dev.cowfs.fs;

/**
 * Told of every change to the filesystem's namespace and inodes as it is made, in the thread making it (under the
 * filesystem's lock: a listener must only note the change and return, never call back into the filesystem). A
 * FUSE server uses it to keep the kernel's caches true when something other than the kernel changes the files
 * (the control channel's commands, rollback, receive). Changes of an operation that later fails may be reported.
 */
public interface ChangeListener {
    /** The entry {@code name} of directory {@code dir} was added or removed. */
    void entryChanged(long dir, byte[] name);

    /** The attributes or the data of inode {@code ino} changed. */
    void inodeChanged(long ino);

    /**
     * Subvolume {@code id}, named {@code name}, was made, removed, or replaced whole (a snapshot, clone or received
     * snapshot made, a subvolume deleted, a rollback).
     */
    void subvolumeChanged(long id, String name);

    /**
     * Returns once every change reported before the call has been passed on (for a FUSE server: written to the
     * kernel), so that a command which changed the files ends only when its changes are seen everywhere. Called
     * outside the filesystem's lock, never while answering the kernel.
     */
    default void awaitPassedOn() {
    }

    /** Listens to nothing. */
    ChangeListener NONE = new ChangeListener() {
        @Override
        public void entryChanged(long dir, byte[] name) {
        }

        @Override
        public void inodeChanged(long ino) {
        }

        @Override
        public void subvolumeChanged(long id, String name) {
        }
    };
}
