package dev.cowfs.fs;

/** The POSIX error a failed filesystem operation stands for (Linux numbering, as FUSE passes it on). */
public enum Errno {
    EPERM(1, "operation not permitted"),
    ENOENT(2, "no such file or directory"),
    EIO(5, "input/output error"),
    EBADF(9, "bad file handle"),
    EACCES(13, "permission denied"),
    EBUSY(16, "busy"),
    EEXIST(17, "file exists"),
    EXDEV(18, "cross-device link"),
    ENOTDIR(20, "not a directory"),
    EISDIR(21, "is a directory"),
    EINVAL(22, "invalid argument"),
    EFBIG(27, "file too large"),
    ENOSPC(28, "no space left on device"),
    EROFS(30, "read-only file system"),
    EMLINK(31, "too many links"),
    ERANGE(34, "result too large"),
    ENAMETOOLONG(36, "file name too long"),
    ENOTEMPTY(39, "directory not empty"),
    ELOOP(40, "too many levels of symbolic links"),
    ENODATA(61, "no data available"),
    /** A send stream that is damaged or not valid. */
    EBADMSG(74, "bad message"),
    ENXIO(6, "no such device or address"),
    E2BIG(7, "argument list too long"),
    EOPNOTSUPP(95, "operation not supported"),
    ENODEV(19, "no such device"),
    ENOSYS(38, "function not implemented"),
    EPROTO(71, "protocol error");

    private final int number;
    private final String description;

    Errno(int number, String description) {
        this.number = number;
        this.description = description;
    }

    /** The Linux errno value. */
    public int number() {
        return number;
    }

    public String description() {
        return description;
    }
}
