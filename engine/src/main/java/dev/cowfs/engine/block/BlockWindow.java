package dev.cowfs.engine.block;

import net.openhft.chronicle.bytes.BytesStore;

/**
 * Where a block's bytes can be read without copying: byte i of the block is {@code store.readByte(base + i)}.
 * A device fills one in; readers keep one per cursor level so that reading allocates nothing.
 */
public final class BlockWindow {
    public BytesStore<?, ?> store;
    public long base;

    public void set(BytesStore<?, ?> store, long base) {
        this.store = store;
        this.base = base;
    }
}
