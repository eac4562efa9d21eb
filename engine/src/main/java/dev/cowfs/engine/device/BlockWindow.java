package dev.cowfs.engine.device;

/**
 * Where a block's bytes can be read without copying: byte i of the block is at {@code (base, offset + i)} for
 * {@link RawMemory} (base null and offset a native address for mapped bytes; base a byte[] for heap bytes).
 * A device fills one in; readers keep one per cursor level so that reading allocates nothing.
 */
public final class BlockWindow {
    public Object base;
    public long offset;

    public void set(Object base, long offset) {
        this.base = base;
        this.offset = offset;
    }
}
