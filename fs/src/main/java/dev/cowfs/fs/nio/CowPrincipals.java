package dev.cowfs.fs.nio;

import java.nio.file.ProviderMismatchException;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.nio.file.attribute.UserPrincipalNotFoundException;

/**
 * Users and groups of a cowfs image, which stores only numbers. A user is found by its number ("1000") or, for
 * the user this process runs as, by its login name; a group by its number. Names that are neither give
 * {@link UserPrincipalNotFoundException}: the image has no user database to consult.
 */
final class CowPrincipals extends UserPrincipalLookupService {
    private final ProcessIdentity identity;

    CowPrincipals(ProcessIdentity identity) {
        this.identity = identity;
    }

    /** A user of the image, by uid; its name is the login name for this process's uid, else the number. */
    record User(int uid, String name) implements UserPrincipal {
        @Override
        public String getName() {
            return name;
        }

        @Override
        public String toString() {
            return name;
        }
    }

    /** A group of the image, by gid; named by its number. */
    record Group(int gid) implements GroupPrincipal {
        @Override
        public String getName() {
            return Integer.toString(gid);
        }

        @Override
        public String toString() {
            return getName();
        }
    }

    User user(int uid) {
        String name = uid == identity.uid() && identity.userName() != null ? identity.userName()
                : Integer.toUnsignedString(uid);
        return new User(uid, name);
    }

    Group group(int gid) {
        return new Group(gid);
    }

    @Override
    public User lookupPrincipalByName(String name) throws UserPrincipalNotFoundException {
        int number = number(name);
        if (number >= 0) {
            return user(number);
        }
        if (name.equals(identity.userName())) {
            return user(identity.uid());
        }
        throw new UserPrincipalNotFoundException(name);
    }

    @Override
    public Group lookupPrincipalByGroupName(String group) throws UserPrincipalNotFoundException {
        int number = number(group);
        if (number < 0) {
            throw new UserPrincipalNotFoundException(group);
        }
        return group(number);
    }

    static int uidOf(UserPrincipal principal) {
        if (principal instanceof User user) {
            return user.uid();
        }
        throw new ProviderMismatchException("not a cowfs user (look it up through the cowfs file system's "
                + "UserPrincipalLookupService): " + principal);
    }

    static int gidOf(GroupPrincipal principal) {
        if (principal instanceof Group group) {
            return group.gid();
        }
        throw new ProviderMismatchException("not a cowfs group (look it up through the cowfs file system's "
                + "UserPrincipalLookupService): " + principal);
    }

    /** The id a decimal name stands for (0 to 2^31-1), or -1 when the name is not one. */
    private static int number(String name) {
        if (name.isEmpty() || name.length() > 10) {
            return -1;
        }
        for (int i = 0; i < name.length(); i++) {
            if (name.charAt(i) < '0' || name.charAt(i) > '9') {
                return -1;
            }
        }
        long value = Long.parseLong(name);
        return value > Integer.MAX_VALUE ? -1 : (int) value;
    }
}
