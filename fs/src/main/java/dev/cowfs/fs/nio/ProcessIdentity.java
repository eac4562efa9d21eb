package dev.cowfs.fs.nio;

import com.sun.security.auth.module.UnixSystem;

/**
 * Who this process runs as: new files and directories belong to it (as the kernel would make them), and its
 * user name is a name the {@link CowPrincipals lookup service} knows.
 *
 * @param userName the login name, or null where the platform does not say (no unix identity)
 * @param uid      the user id new files get
 * @param gid      the group id new files get
 */
record ProcessIdentity(String userName, int uid, int gid) {
    private static final ProcessIdentity CURRENT = detect();

    static ProcessIdentity current() {
        return CURRENT;
    }

    /**
     * The unix identity from the JDK's {@code UnixSystem}; on a platform without one (its native part is
     * missing), user and group 0 with no name, so that only numeric names can be looked up.
     */
    private static ProcessIdentity detect() {
        try {
            UnixSystem system = new UnixSystem();
            return new ProcessIdentity(system.getUsername(), (int) system.getUid(), (int) system.getGid());
        } catch (UnsatisfiedLinkError noUnixIdentity) {
            return new ProcessIdentity(null, 0, 0);
        }
    }
}
