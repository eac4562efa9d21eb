package dev.cowfs.fs;

/** Rename variants, as Linux renameat2 offers them. */
public enum RenameMode {
    /** Replace an existing target of a compatible type. */
    REPLACE,
    /** Fail with EEXIST when the target exists (RENAME_NOREPLACE). */
    NOREPLACE,
    /** Swap source and target atomically; both must exist (RENAME_EXCHANGE). */
    EXCHANGE
}
