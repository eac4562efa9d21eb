package dev.cowfs.crash;

/** Faults outside the power-loss model, injected into a workload's final image. */
public enum Fault {
    /** A block write the device acknowledged (a barrier passed) never reached the media. */
    LOST_WRITE("lost-write"),
    /** A block write landed at another block's address. */
    MISDIRECTED_WRITE("misdirected"),
    /** Reading one block in use fails with an I/O error. */
    READ_ERROR("read-error"),
    /** One bit of a block in use comes back flipped on read. */
    BIT_FLIP("bit-flip"),
    /**
     * One bit of a root block the newest commit wrote (catalog or space tree) comes back flipped on read: the ring's
     * older generations are intact (deferred reuse keeps what they reach), so a read-only open must fall back to
     * one and hold it exactly.
     */
    DAMAGED_NEWEST_ROOT("newest-root");

    public final String label;

    Fault(String label) {
        this.label = label;
    }

    public static Fault named(String label) {
        for (Fault fault : values()) {
            if (fault.label.equals(label)) {
                return fault;
            }
        }
        throw new IllegalArgumentException("unknown fault '" + label + "' (lost-write, misdirected, "
                + "read-error, bit-flip, newest-root)");
    }
}
