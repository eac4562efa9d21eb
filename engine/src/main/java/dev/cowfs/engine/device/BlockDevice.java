package dev.cowfs.engine.device;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The storage under the engine: a byte-addressed image with a durable barrier. Two real implementations: a
 * memory-mapped file ({@link MappedFileDevice}) and a simulated device that records every write and barrier
 * so that crash states can be rebuilt ({@code dev.cowfs.engine.device.SimulatedDevice}).
 *
 * <p>Writes may be reordered, dropped or torn by a crash until the next {@link #barrier()} returns; after it,
 * every earlier write is durable.
 */
public interface BlockDevice extends Closeable {

    /** Bytes the device holds now; reads and writes must stay below it. */
    long lengthBytes();

    /** Makes the device at least this long, reserving the space so that later writes cannot fail for room. */
    void ensureLength(long lengthBytes) throws IOException;

    /**
     * Points {@code window} at the bytes [offset, offset + length) without copying. The range must not cross
     * a multiple of {@link #windowAlignmentBytes()}. The bytes stay valid until the device is closed.
     */
    void window(long offset, int length, BlockWindow window) throws IOException;

    /** Windows never cross a multiple of this; a power of two at least as large as the largest block. */
    long windowAlignmentBytes();

    /** Copies bytes out of the device. */
    void read(long offset, byte[] dst, int dstOffset, int length) throws IOException;

    void write(long offset, byte[] src, int srcOffset, int length) throws IOException;

    /**
     * Copies bytes out of the device into {@code dst} at {@code dstIndex}; its position and limit stay. A device
     * that can fill a direct buffer without an array in between overrides this.
     */
    default void read(long offset, ByteBuffer dst, int dstIndex, int length) throws IOException {
        if (dst.hasArray()) {
            read(offset, dst.array(), dst.arrayOffset() + dstIndex, length);
            return;
        }
        byte[] bytes = new byte[length];
        read(offset, bytes, 0, length);
        dst.put(dstIndex, bytes);
    }

    /**
     * Writes {@code length} bytes of {@code src} from {@code srcIndex}; its position and limit stay. A device that
     * can write a direct buffer without an array in between overrides this.
     */
    default void write(long offset, ByteBuffer src, int srcIndex, int length) throws IOException {
        if (src.hasArray()) {
            write(offset, src.array(), src.arrayOffset() + srcIndex, length);
            return;
        }
        byte[] bytes = new byte[length];
        src.get(srcIndex, bytes);
        write(offset, bytes, 0, length);
    }

    /**
     * Cuts the device to {@code minimumBytes} rounded up to {@link #shrinkUnitBytes()}, when that is shorter than
     * it is, and returns the length after. The caller guarantees that no superblock the image keeps reaches past
     * the cut; the cut is durable when this returns. A device that cannot shrink keeps its length.
     */
    default long shrink(long minimumBytes) throws IOException {
        return lengthBytes();
    }

    /** The unit {@link #shrink} cuts in: 0 when the device cannot shrink. */
    default long shrinkUnitBytes() {
        return 0;
    }

    /** Makes every write issued before this call durable. */
    void barrier() throws IOException;

    boolean isReadOnly();

    /**
     * Lets writes draw on a host-side reserve once the host filesystem is full (true while the engine commits or
     * frees space, so that those always find room), or not (false: ordinary writes). Devices without one ignore it.
     */
    default void allowHostReserve(boolean allowed) {
    }

    /**
     * True while the host reserve is given up (the host filesystem ran full and a commit or delete took the
     * reserve's space) and not yet made again: the image may then grow only for commits and deletes, so that what
     * is left stays for them. Devices without a reserve say false.
     */
    default boolean hostReserveGivenUp() {
        return false;
    }

    /**
     * Whether the bytes [offset, offset + length) are exactly bytes this device (or one sharing its storage)
     * already verified for the same claim (what was checked about them: which checksum, over how many bytes,
     * as a node or as an extent), so that verifying them again would only repeat the same computation.
     * Only a device that can prove the bytes unchanged may say yes: the simulated device does, for pages of the
     * immutable images its crash states share. Every other device says no, and every read is verified.
     */
    default boolean verifiedBefore(long offset, int length, long claim) {
        return false;
    }

    /** Tells the device that [offset, offset + length) verified for {@code claim} (see {@link #verifiedBefore}). */
    default void rememberVerified(long offset, int length, long claim) {
    }

    /**
     * How many more bytes the device's storage can take (the usable space of an image file's host filesystem):
     * what an image without a capacity of its own may still grow by. Long.MAX_VALUE when unknown or unbounded.
     */
    default long growableBytes() throws IOException {
        return Long.MAX_VALUE;
    }

    /** Records a point of interest (such as "commit 12 acknowledged") where the device keeps a log; else nothing. */
    default void marker(String label) {
    }
}
