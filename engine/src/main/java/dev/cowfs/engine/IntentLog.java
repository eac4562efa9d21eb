package dev.cowfs.engine;

import dev.cowfs.engine.btree.BlockAllocator;
import dev.cowfs.engine.btree.NodeReader;
import dev.cowfs.engine.device.BlockDevice;
import dev.cowfs.engine.device.Checksums;
import dev.cowfs.engine.format.BlockExtent;
import dev.cowfs.engine.format.BlockRef;
import dev.cowfs.engine.format.BlockRefLayout;
import dev.cowfs.engine.format.Bytes;
import dev.cowfs.engine.format.Limits;
import dev.cowfs.engine.format.LogUnitLayout;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The intent log: what a durable operation between two commits (an fsync of one file) needs to survive a crash,
 * written as a chain of units with one barrier, without a commit. The owner of the trees (the filesystem) gives
 * each such operation's records as one opaque group; after a crash, opening the image reads back every whole group
 * whose units verify, in order, and the owner replays them over the commit the log extends.
 *
 * <p>Units: the anchor, {@link LogUnitLayout#ANCHOR_BYTES} at {@link LogUnitLayout#ANCHOR_OFFSET} in the header
 * region (no block of any tree lives there), is the first unit of every generation's log; each unit names the
 * block where the next one will go, allocated when the unit is written, so the chain can be followed without a
 * superblock update. Each unit carries the generation its log extends and its place in the chain, and is checked
 * as a whole (CRC32C): a unit left over from an earlier generation's log, or torn, ends the chain. A group may span
 * units but never shares one with another group, and no unit is written twice: a torn write can only lose the
 * group it was writing, never one an earlier barrier made durable.
 *
 * <p>The blocks of the chain and every block the transaction frees after its first group wait for the commit
 * (pending-free at its generation, {@code SpaceAllocator.holdFreesUntilCommit}): until the commit lands, a crash
 * replays the log over the commit before it, where those blocks must still hold what the groups name. The commit
 * folds the log by itself: the operations it logged are in the trees it writes, and the anchor's next unit names
 * the new generation.
 */
public final class IntentLog {
    /** Chain units one log may reach when read back: far more than a commit interval's fsyncs write. */
    static final int MAX_UNITS = 1 << 22;

    /** A data extent a group names: written before the group, made durable by the same barrier. */
    public record Extent(BlockRef ref, int storedBytes) {
    }

    /** One group: the owner's records, and the data extents they name. */
    public record Group(byte[] records, List<Extent> extents) {
    }

    /**
     * The whole groups a log holds whose extents verify, in order, and the chained blocks they lie in (the anchor
     * aside).
     */
    public record Pending(long baseGeneration, List<Group> groups, List<BlockExtent> chainBlocks) {
        public boolean isEmpty() {
            return groups.isEmpty();
        }

        /** Every extent the groups name, each once. */
        public List<Extent> extents() {
            java.util.LinkedHashMap<Long, Extent> distinct = new java.util.LinkedHashMap<>();
            for (Group group : groups) {
                for (Extent extent : group.extents()) {
                    distinct.putIfAbsent(extent.ref().blockIndex(), extent);
                }
            }
            return List.copyOf(distinct.values());
        }
    }

    /** Bytes of one extent in a group's frame: its reference, then its stored bytes (u32). */
    private static final int EXTENT_BYTES = BlockRefLayout.BYTES + 4;

    /** The bytes logged for a group: extent count (u32), the extents, then the owner's records. */
    static byte[] frame(Group group) {
        byte[] framed = new byte[4 + group.extents().size() * EXTENT_BYTES + group.records().length];
        Bytes.putInt(framed, 0, group.extents().size());
        int at = 4;
        for (Extent extent : group.extents()) {
            extent.ref().encode(framed, at);
            Bytes.putInt(framed, at + BlockRefLayout.BYTES, extent.storedBytes());
            at += EXTENT_BYTES;
        }
        System.arraycopy(group.records(), 0, framed, at, group.records().length);
        return framed;
    }

    /** The group a frame holds, or null when it is malformed. */
    private static Group unframe(byte[] framed) {
        if (framed.length < 4) {
            return null;
        }
        int count = Bytes.getInt(framed, 0);
        if (count < 0 || count > (framed.length - 4) / EXTENT_BYTES) {
            return null;
        }
        List<Extent> extents = new ArrayList<>(count);
        int at = 4;
        for (int i = 0; i < count; i++) {
            int stored = Bytes.getInt(framed, at + BlockRefLayout.BYTES);
            BlockRef ref = BlockRef.decode(framed, at);
            if (stored <= 0 || ref.blockCount() < 1
                    || (long) ref.blockCount() * 65536 < stored) {
                return null;
            }
            extents.add(new Extent(ref, stored));
            at += EXTENT_BYTES;
        }
        return new Group(java.util.Arrays.copyOfRange(framed, at, framed.length), List.copyOf(extents));
    }

    private final BlockDevice device;
    private final int blockSizeBytes;
    private final long baseGeneration;
    private final BlockAllocator allocator;
    private long sequence;
    /** Byte offset of the next unit. */
    private long nextOffset = LogUnitLayout.ANCHOR_OFFSET;
    private final List<BlockExtent> chain = new ArrayList<>();
    private long bytesWritten;

    IntentLog(BlockDevice device, int blockSizeBytes, long baseGeneration, BlockAllocator allocator) {
        this.device = device;
        this.blockSizeBytes = blockSizeBytes;
        this.baseGeneration = baseGeneration;
        this.allocator = allocator;
    }

    /** Writes one group into new units (no barrier: the caller's makes it durable with what it names). */
    void append(Group logged) throws IOException {
        byte[] group = frame(logged);
        if (group.length == 0 || group.length > LogUnitLayout.MAX_GROUP_BYTES) {
            throw new IllegalArgumentException("an intent log group holds 1 to " + LogUnitLayout.MAX_GROUP_BYTES
                    + " bytes, not " + group.length);
        }
        int offset = 0;
        while (offset < group.length) {
            int unitBytes = sequence == 0 ? LogUnitLayout.ANCHOR_BYTES : blockSizeBytes;
            int payload = Math.min(unitBytes - LogUnitLayout.HEADER_BYTES, group.length - offset);
            long next = allocator.allocate(1);
            chain.add(new BlockExtent(next, 1));
            byte[] unit = new byte[unitBytes];
            Bytes.putShort(unit, LogUnitLayout.MAGIC_OFFSET, LogUnitLayout.MAGIC);
            unit[LogUnitLayout.VERSION_OFFSET] = LogUnitLayout.VERSION;
            Bytes.putLong(unit, LogUnitLayout.BASE_GENERATION_OFFSET, baseGeneration);
            Bytes.putLong(unit, LogUnitLayout.SEQUENCE_OFFSET, sequence);
            Bytes.putLong(unit, LogUnitLayout.NEXT_BLOCK_OFFSET, next);
            Bytes.putInt(unit, LogUnitLayout.UNIT_BYTES_OFFSET, unitBytes);
            Bytes.putInt(unit, LogUnitLayout.PAYLOAD_BYTES_OFFSET, payload);
            Bytes.putInt(unit, LogUnitLayout.GROUP_BYTES_OFFSET, group.length);
            Bytes.putInt(unit, LogUnitLayout.GROUP_OFFSET_OFFSET, offset);
            System.arraycopy(group, offset, unit, LogUnitLayout.HEADER_BYTES, payload);
            Bytes.putInt(unit, LogUnitLayout.CHECKSUM_OFFSET, Checksums.crc32c(unit, 4, unitBytes - 4));
            device.write(nextOffset, unit, 0, unitBytes);
            bytesWritten += unitBytes;
            nextOffset = next * blockSizeBytes;
            sequence++;
            offset += payload;
        }
    }

    private static boolean extentsVerify(Group group, NodeReader reader) {
        for (Extent extent : group.extents()) {
            try {
                reader.verifyExtent(extent.ref(), extent.storedBytes());
            } catch (IOException | RuntimeException e) {
                return false;
            }
        }
        return true;
    }

    /** Blocks allocated for the chain: each unit's successor (the last one is not written yet). */
    List<BlockExtent> chainBlocks() {
        return List.copyOf(chain);
    }

    long unitsWritten() {
        return sequence;
    }

    long bytesWritten() {
        return bytesWritten;
    }

    /**
     * The log extending generation {@code baseGeneration}, as far as it verifies: each unit must be whole (its
     * checksum), of this log (generation, version) and next in the chain (sequence, a group offset that continues
     * the group before); the first unit that is not ends the log, and a group it leaves unfinished is dropped. So
     * does the first group naming an extent that does not verify (a crash before the group's barrier may land its
     * units and not its data), and everything after it.
     */
    static Pending read(BlockDevice device, int blockSizeBytes, long baseGeneration, NodeReader reader)
            throws IOException {
        List<Group> groups = new ArrayList<>();
        List<BlockExtent> chain = new ArrayList<>();
        List<BlockExtent> chainOfWholeGroups = new ArrayList<>();
        ByteArrayOutputStream group = null;
        int groupBytes = 0;
        long offset = LogUnitLayout.ANCHOR_OFFSET;
        for (long sequence = 0; sequence < MAX_UNITS; sequence++) {
            int unitBytes = sequence == 0 ? LogUnitLayout.ANCHOR_BYTES : blockSizeBytes;
            if (offset < 0 || offset + unitBytes > device.lengthBytes()) {
                break;
            }
            byte[] unit = new byte[unitBytes];
            device.read(offset, unit, 0, unitBytes);
            int payload = Bytes.getInt(unit, LogUnitLayout.PAYLOAD_BYTES_OFFSET);
            int total = Bytes.getInt(unit, LogUnitLayout.GROUP_BYTES_OFFSET);
            int at = Bytes.getInt(unit, LogUnitLayout.GROUP_OFFSET_OFFSET);
            long next = Bytes.getLong(unit, LogUnitLayout.NEXT_BLOCK_OFFSET);
            boolean valid = Bytes.getInt(unit, LogUnitLayout.CHECKSUM_OFFSET) == Checksums.crc32c(unit, 4, unitBytes - 4)
                    && Bytes.getUnsignedShort(unit, LogUnitLayout.MAGIC_OFFSET) == LogUnitLayout.MAGIC
                    && unit[LogUnitLayout.VERSION_OFFSET] == LogUnitLayout.VERSION
                    && Bytes.getLong(unit, LogUnitLayout.BASE_GENERATION_OFFSET) == baseGeneration
                    && Bytes.getLong(unit, LogUnitLayout.SEQUENCE_OFFSET) == sequence
                    && Bytes.getInt(unit, LogUnitLayout.UNIT_BYTES_OFFSET) == unitBytes
                    && payload > 0 && payload <= unitBytes - LogUnitLayout.HEADER_BYTES
                    && total > 0 && total <= LogUnitLayout.MAX_GROUP_BYTES
                    && at >= 0 && (long) at + payload <= total
                    && (group == null ? at == 0 : total == groupBytes && at == group.size())
                    && next >= Limits.firstDataBlock(blockSizeBytes) && next < Limits.MAX_BLOCK_INDEX
                    && !Limits.isReservedBlock(next, blockSizeBytes);
            if (!valid) {
                break;
            }
            if (sequence > 0) {
                chain.add(new BlockExtent(offset / blockSizeBytes, 1));
            }
            if (group == null) {
                group = new ByteArrayOutputStream(total);
                groupBytes = total;
            }
            group.write(unit, LogUnitLayout.HEADER_BYTES, payload);
            if (group.size() == groupBytes) {
                Group whole = unframe(group.toByteArray());
                if (whole == null || !extentsVerify(whole, reader)) {
                    break;
                }
                groups.add(whole);
                chainOfWholeGroups = List.copyOf(chain);
                group = null;
            }
            offset = next * blockSizeBytes;
        }
        return new Pending(baseGeneration, List.copyOf(groups), chainOfWholeGroups);
    }
}
