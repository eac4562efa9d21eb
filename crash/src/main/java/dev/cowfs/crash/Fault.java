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
    BIT_FLIP("bit-flip");

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
                + "read-error, bit-flip)");
    }
}
