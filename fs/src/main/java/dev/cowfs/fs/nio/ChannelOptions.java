package dev.cowfs.fs.nio;

import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.StandardOpenOption;
import java.util.Objects;
import java.util.Set;

/**
 * The open options of a byte channel, checked as the JDK's unix provider checks them: APPEND implies WRITE,
 * neither means READ, READ with APPEND and APPEND with TRUNCATE_EXISTING are refused, CREATE and CREATE_NEW
 * count only when writing, and DELETE_ON_CLOSE does not follow a symbolic link (unless CREATE_NEW, which never
 * opens one). SPARSE is a hint that needs nothing: files are sparse anyway.
 *
 * @param sync SYNC or DSYNC: every write is made durable before it returns
 */
record ChannelOptions(boolean read, boolean write, boolean append, boolean truncateExisting, boolean create,
                      boolean createNew, boolean deleteOnClose, boolean sync, boolean followLinks) {

    static ChannelOptions parse(Set<? extends OpenOption> options) {
        boolean read = false;
        boolean write = false;
        boolean append = false;
        boolean truncateExisting = false;
        boolean create = false;
        boolean createNew = false;
        boolean deleteOnClose = false;
        boolean sync = false;
        boolean noFollowLinks = false;
        for (OpenOption option : options) {
            Objects.requireNonNull(option, "open option");
            if (option == LinkOption.NOFOLLOW_LINKS) {
                noFollowLinks = true;
                continue;
            }
            if (!(option instanceof StandardOpenOption standard)) {
                throw new UnsupportedOperationException("open option " + option + " is not supported by cowfs");
            }
            switch (standard) {
                case READ -> read = true;
                case WRITE -> write = true;
                case APPEND -> append = true;
                case TRUNCATE_EXISTING -> truncateExisting = true;
                case CREATE -> create = true;
                case CREATE_NEW -> createNew = true;
                case DELETE_ON_CLOSE -> deleteOnClose = true;
                case SYNC, DSYNC -> sync = true;
                case SPARSE -> {
                    // a hint: every cowfs file may have holes
                }
            }
        }
        if (read && append) {
            throw new IllegalArgumentException("READ + APPEND not allowed");
        }
        if (append && truncateExisting) {
            throw new IllegalArgumentException("APPEND + TRUNCATE_EXISTING not allowed");
        }
        write |= append;
        read |= !write;
        boolean followLinks = !noFollowLinks && !(deleteOnClose && !createNew);
        return new ChannelOptions(read, write, append, truncateExisting, create, createNew, deleteOnClose, sync,
                followLinks);
    }

    /** A new file is made when the name is free (CREATE or CREATE_NEW with WRITE). */
    boolean mayCreate() {
        return write && (create || createNew);
    }

    /** The name must be free (CREATE_NEW with WRITE). */
    boolean mustCreate() {
        return write && createNew;
    }
}
