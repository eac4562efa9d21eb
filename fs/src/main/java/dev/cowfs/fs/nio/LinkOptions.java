package dev.cowfs.fs.nio;

import java.nio.file.LinkOption;
import java.util.Objects;

/** Reads the {@link LinkOption}s an operation was given. */
final class LinkOptions {
    private LinkOptions() {
    }

    /** False when {@link LinkOption#NOFOLLOW_LINKS} is among the options: the last name is not followed. */
    static boolean follow(LinkOption... options) {
        boolean follow = true;
        for (LinkOption option : options) {
            if (Objects.requireNonNull(option, "link option") == LinkOption.NOFOLLOW_LINKS) {
                follow = false;
            }
        }
        return follow;
    }
}
