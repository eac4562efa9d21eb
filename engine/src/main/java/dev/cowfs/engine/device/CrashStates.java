package dev.cowfs.engine.device;

import dev.cowfs.engine.format.Bytes;
import dev.cowfs.engine.format.Limits;
import dev.cowfs.engine.format.SuperblockLayout;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Rebuilds the images a power loss could leave, from an initial image and the log a {@link SimulatedDevice}
 * recorded on top of it. Writes before a barrier are durable; writes after the last barrier before the crash
 * (the crash epoch) may each have reached the media or not, and may be torn at 512-byte sectors.
 *
 * <p>For each epoch: the state with none of its writes; every subset when the epoch has at most
 * {@link #EXHAUSTIVE_LIMIT} writes, otherwise all, each drop-one, each keep-one and seeded random subsets; and
 * torn versions of the superblock writes and the last data write (first-k sectors, last-k sectors, a random
 * sector mask), with the old bytes in the sectors that did not land, and once with noise in them.
 */
public final class CrashStates {
    public static final int SECTOR_BYTES = 512;
    public static final int EXHAUSTIVE_LIMIT = 10;

    /** One crash state: how it was made, the device holding it, and which epoch writes landed whole. */
    public record State(String description, SimulatedDevice device, int durableOps,
                        List<SimulatedDevice.Write> landed, List<SimulatedDevice.Write> torn) {
    }

    private final SimulatedDevice.Image initial;
    private final List<SimulatedDevice.Op> log;

    public CrashStates(SimulatedDevice.Image initial, List<SimulatedDevice.Op> log) {
        this.initial = initial;
        this.log = List.copyOf(log);
        this.replay = SimulatedDevice.ofImage(initial);
    }


    /** What a test asserts of one crash state, given the generation recovery must open it at. */
    @FunctionalInterface
    public interface Judge {
        void judge(State state, long expectedGeneration) throws java.io.IOException;
    }

    /**
     * The crash-state walk every crash test shares: for each epoch (the writes between two barriers), every state
     * of it ({@link #statesInEpoch}, with {@code randomSubsets} random subsets of its writes landed) is handed to
     * {@code judge} with the generation it must recover to. Returns how many states were judged.
     */
    public int judgeEveryState(long initialGeneration, Random random, int randomSubsets, Judge judge)
            throws java.io.IOException {
        int judged = 0;
        for (int start : epochStarts()) {
            long durable = durableGeneration(start, initialGeneration);
            for (State state : statesInEpoch(start, random, randomSubsets)) {
                judge.judge(state, expectedGeneration(state, durable));
                judged++;
            }
        }
        return judged;
    }
    /** Indexes into the log of each barrier, plus the end of the log. */
    public List<Integer> epochStarts() {
        List<Integer> starts = new ArrayList<>();
        starts.add(0);
        for (int i = 0; i < log.size(); i++) {
            if (log.get(i) instanceof SimulatedDevice.Barrier) {
                starts.add(i + 1);
            }
        }
        return starts;
    }

    /** The writes of the epoch starting at log index {@code start}, up to the next barrier. */
    public List<SimulatedDevice.Write> epochWrites(int start) {
        List<SimulatedDevice.Write> writes = new ArrayList<>();
        for (int i = start; i < log.size() && !(log.get(i) instanceof SimulatedDevice.Barrier); i++) {
            if (log.get(i) instanceof SimulatedDevice.Write write) {
                writes.add(write);
            }
        }
        return writes;
    }

    /** The image with every write before log index {@code end} applied. */
    public SimulatedDevice.Image durableImage(int end) {
        return durable(end).image();
    }

    /** An image a crash state is built on, with its {@link SimulatedDevice#contentDigest}. */
    public record Durable(SimulatedDevice.Image image, SimulatedDevice.Digest digest) {
    }

    /** The durable image before log index {@code end}, with its hash; cheap for ends visited in order. */
    public Durable durable(int end) {
        if (lastDurable != null && lastDurableEnd == end) {
            return lastDurable;
        }
        if (replayEnd > end) {
            replay = SimulatedDevice.ofImage(initial);
            replayEnd = 0;
            reset = true;
        }
        for (int i = replayEnd; i < end; i++) {
            if (log.get(i) instanceof SimulatedDevice.Write write) {
                replay.apply(write.offset(), write.bytes(), 0, write.bytes().length);
            } else if (log.get(i) instanceof SimulatedDevice.Shrink shrink) {
                replay.applyShrink(shrink.lengthBytes());
                reset = true; // the pages were rebuilt: the digest is computed afresh
            }
        }
        replayEnd = end;
        lastDurableEnd = end;
        // The digest follows from the last one and the pages changed since (the replay's own pages until
        // frozen); the image takes those pages over without copying them.
        SimulatedDevice.Digest digest = lastDurable == null || reset ? replay.contentDigest()
                : replay.contentDigestFrom(lastDurable.digest(), lastDurable.image().lengthBytes());
        reset = false;
        lastDurable = new Durable(replay.freeze(), digest);
        return lastDurable;
    }

    private SimulatedDevice replay;
    private int replayEnd;
    private boolean reset;
    private Durable lastDurable;
    private int lastDurableEnd = -1;

    /**
     * The newest generation whose superblock write was made durable by a barrier before log index {@code end}
     * ({@code initialGeneration} when none was).
     */
    public long durableGeneration(int end, long initialGeneration) {
        long generation = initialGeneration;
        int lastBarrier = -1;
        for (int i = 0; i < end; i++) {
            if (log.get(i) instanceof SimulatedDevice.Barrier) {
                lastBarrier = i;
            }
        }
        for (int i = 0; i < lastBarrier; i++) {
            if (log.get(i) instanceof SimulatedDevice.Write write && isSuperblockWrite(write)) {
                generation = Math.max(generation, superblockGeneration(write));
            }
        }
        return generation;
    }

    /**
     * The oracle: the generation a crash state must recover. That is the last durable one, or the in-flight one
     * exactly when one of the writes of its superblock is intact in the crash image: byte for byte what the
     * log says was written (a torn write can still leave one intact, when the sectors that did not land held
     * the same bytes). It does not use the engine's own reading of superblocks, which it judges.
     */
    public static long expectedGeneration(State state, long durableGeneration) throws java.io.IOException {
        List<SimulatedDevice.Write> written = new ArrayList<>(state.landed());
        written.addAll(state.torn());
        int bytes = dev.cowfs.engine.format.SuperblockLayout.BYTES;
        for (SimulatedDevice.Write write : written) {
            if (!isSuperblockWrite(write) || write.bytes().length < bytes
                    || superblockGeneration(write) != durableGeneration + 1) {
                continue;
            }
            byte[] found = new byte[bytes];
            state.device().read(write.offset(), found, 0, bytes);
            if (java.util.Arrays.equals(found, 0, bytes, write.bytes(), 0, bytes)) {
                return durableGeneration + 1;
            }
        }
        return durableGeneration;
    }

    /**
     * The generation a logged superblock write carries, or -1 (a zeroed slot, written at format time or when a
     * generation is given up). Read from the layout, not through the engine's decoding, which the oracle judges.
     */
    public static long superblockGeneration(SimulatedDevice.Write write) {
        byte[] bytes = write.bytes();
        if (bytes.length < SuperblockLayout.BYTES
                || Bytes.getLong(bytes, SuperblockLayout.MAGIC_OFFSET) != SuperblockLayout.MAGIC) {
            return -1;
        }
        return Bytes.getLong(bytes, SuperblockLayout.GENERATION_OFFSET);
    }

    /** All crash states for a crash during the epoch starting at log index {@code start}. */
    public List<State> statesInEpoch(int start, Random random, int randomSubsets) {
        SimulatedDevice.Image base = durable(start).image();
        List<SimulatedDevice.Write> writes = epochWrites(start);
        List<State> states = new ArrayList<>();
        int n = writes.size();
        List<long[]> masks = masks(n, random, randomSubsets);
        for (long[] mask : masks) {
            SimulatedDevice device = SimulatedDevice.ofImage(base);
            List<SimulatedDevice.Write> landed = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                if ((mask[i >>> 6] & (1L << i)) != 0) {
                    SimulatedDevice.Write write = writes.get(i);
                    device.apply(write.offset(), write.bytes(), 0, write.bytes().length);
                    landed.add(write);
                }
            }
            states.add(new State("epoch@" + start + " subset " + describe(mask, n), device, start, landed, List.of()));
        }
        addTornStates(base, writes, random, start, states);
        return states;
    }

    /**
     * A crash state described but not built: which of the epoch's writes landed whole, its content hash (as
     * {@link SimulatedDevice#contentDigest} of the built state would be) and the generation it must recover.
     * Equal states can be recognised, and skipped, before any page is copied.
     */
    public record Candidate(int start, long[] mask, int writes, SimulatedDevice.Digest digest,
                            long expectedGeneration) {
        public String description() {
            return "epoch@" + start + " subset " + describe(mask, writes);
        }
    }

    /**
     * The subset states of the epoch starting at {@code start} (the same masks as {@link #statesInEpoch}), as
     * candidates; the torn states, fewer and each different, come built from {@link #tornStatesInEpoch}.
     */
    public List<Candidate> candidatesInEpoch(int start, Random random, int randomSubsets, long durableGeneration)
            throws java.io.IOException {
        Durable base = durable(start);
        List<SimulatedDevice.Write> writes = epochWrites(start);
        EpochPages pages = new EpochPages(base, writes);
        long[] superblockGeneration = new long[writes.size()];
        for (int i = 0; i < writes.size(); i++) {
            superblockGeneration[i] = isSuperblockWrite(writes.get(i)) ? superblockGeneration(writes.get(i)) : -1;
        }
        List<Candidate> candidates = new ArrayList<>();
        for (long[] mask : masks(writes.size(), random, randomSubsets)) {
            long expected = durableGeneration;
            for (int i = 0; i < writes.size(); i++) {
                if ((mask[i >>> 6] & (1L << i)) != 0 && superblockGeneration[i] == durableGeneration + 1) {
                    expected = durableGeneration + 1;
                }
            }
            candidates.add(new Candidate(start, mask, writes.size(), pages.digest(mask), expected));
        }
        return candidates;
    }

    /** Builds a candidate's state. */
    public State build(Candidate candidate) {
        SimulatedDevice device = SimulatedDevice.ofImage(durable(candidate.start()).image());
        List<SimulatedDevice.Write> writes = epochWrites(candidate.start());
        List<SimulatedDevice.Write> landed = new ArrayList<>();
        for (int i = 0; i < writes.size(); i++) {
            if ((candidate.mask()[i >>> 6] & (1L << i)) != 0) {
                SimulatedDevice.Write write = writes.get(i);
                device.apply(write.offset(), write.bytes(), 0, write.bytes().length);
                landed.add(write);
            }
        }
        return new State(candidate.description(), device, candidate.start(), landed, List.of());
    }

    /** The torn states of the epoch starting at {@code start}, built. */
    public List<State> tornStatesInEpoch(int start, Random random) {
        List<State> states = new ArrayList<>();
        addTornStates(durable(start).image(), epochWrites(start), random, start, states);
        return states;
    }

    private static List<long[]> masks(int n, Random random, int randomSubsets) {
        List<long[]> masks = new ArrayList<>();
        if (n <= EXHAUSTIVE_LIMIT) {
            for (long mask = 0; mask < (1L << n); mask++) {
                masks.add(new long[] {mask});
            }
            return masks;
        }
        masks.add(new long[Math.max(1, (n + 63) / 64)]);
        masks.add(bitsAll(n));
        for (int i = 0; i < n; i++) {
            long[] dropOne = bitsAll(n);
            dropOne[i >>> 6] &= ~(1L << i);
            masks.add(dropOne);
            long[] keepOne = new long[Math.max(1, (n + 63) / 64)];
            keepOne[i >>> 6] |= 1L << i;
            masks.add(keepOne);
        }
        for (int r = 0; r < randomSubsets; r++) {
            long[] mask = new long[Math.max(1, (n + 63) / 64)];
            for (int i = 0; i < n; i++) {
                if (random.nextBoolean()) {
                    mask[i >>> 6] |= 1L << i;
                }
            }
            masks.add(mask);
        }
        return masks;
    }

    /**
     * Content hashes of an epoch's subset states without building them: each page's contribution depends only
     * on which of the writes touching it landed, and is computed once per such combination.
     */
    private static final class EpochPages {
        private final Durable base;
        private final List<SimulatedDevice.Write> writes;
        /** Page -> the indexes (in order) of the writes touching it. */
        private final java.util.Map<Long, int[]> writersByPage = new java.util.HashMap<>();
        /** (page, combination of its writers) -> hash contribution beyond the base page's. */
        private final java.util.Map<Long, SimulatedDevice.Digest> deltas = new java.util.HashMap<>();
        private static final int MAX_CACHED_WRITERS = 20;
        private final SimulatedDevice baseDevice;

        EpochPages(Durable base, List<SimulatedDevice.Write> writes) {
            this.base = base;
            this.writes = writes;
            this.baseDevice = SimulatedDevice.ofImage(base.image());
            java.util.Map<Long, List<Integer>> byPage = new java.util.HashMap<>();
            for (int i = 0; i < writes.size(); i++) {
                SimulatedDevice.Write write = writes.get(i);
                long first = write.offset() / SimulatedDevice.PAGE_BYTES;
                long last = (write.offset() + write.bytes().length - 1) / SimulatedDevice.PAGE_BYTES;
                for (long page = first; page <= last && write.bytes().length > 0; page++) {
                    byPage.computeIfAbsent(page, key -> new ArrayList<>()).add(i);
                }
            }
            byPage.forEach((page, indexes) -> writersByPage.put(page,
                    indexes.stream().mapToInt(Integer::intValue).toArray()));
        }

        SimulatedDevice.Digest digest(long[] mask) {
            long length = base.image().lengthBytes();
            java.util.Set<Long> touched = new java.util.HashSet<>();
            for (int i = 0; i < writes.size(); i++) {
                if ((mask[i >>> 6] & (1L << i)) != 0) {
                    SimulatedDevice.Write write = writes.get(i);
                    length = Math.max(length, write.offset() + write.bytes().length);
                    long first = write.offset() / SimulatedDevice.PAGE_BYTES;
                    long last = (write.offset() + write.bytes().length - 1) / SimulatedDevice.PAGE_BYTES;
                    for (long page = first; page <= last && write.bytes().length > 0; page++) {
                        touched.add(page);
                    }
                }
            }
            SimulatedDevice.Digest digest = SimulatedDevice.withLength(base.digest(), base.image().lengthBytes(),
                    length);
            for (long page : touched) {
                int[] writers = writersByPage.get(page);
                if (writers.length > MAX_CACHED_WRITERS) {
                    digest = digest.plus(delta(page, writers, mask));
                    continue;
                }
                long combination = 0;
                for (int w = 0; w < writers.length; w++) {
                    if ((mask[writers[w] >>> 6] & (1L << writers[w])) != 0) {
                        combination |= 1L << w;
                    }
                }
                digest = digest.plus(deltas.computeIfAbsent((page << MAX_CACHED_WRITERS) | combination,
                        key -> delta(page, writers, mask)));
            }
            return digest;
        }

        private SimulatedDevice.Digest delta(long page, int[] writers, long[] mask) {
            byte[] before = baseDevice.pageCopy(page);
            byte[] after = before.clone();
            long pageStart = page * SimulatedDevice.PAGE_BYTES;
            for (int writer : writers) {
                if ((mask[writer >>> 6] & (1L << writer)) == 0) {
                    continue;
                }
                SimulatedDevice.Write write = writes.get(writer);
                long from = Math.max(pageStart, write.offset());
                long to = Math.min(pageStart + SimulatedDevice.PAGE_BYTES, write.offset() + write.bytes().length);
                System.arraycopy(write.bytes(), (int) (from - write.offset()), after, (int) (from - pageStart),
                        (int) (to - from));
            }
            return SimulatedDevice.pageDigest(page, after).minus(SimulatedDevice.pageDigest(page, before));
        }
    }

    private void addTornStates(SimulatedDevice.Image base, List<SimulatedDevice.Write> writes, Random random,
                               int start, List<State> states) {
        List<SimulatedDevice.Write> tearable = new ArrayList<>();
        SimulatedDevice.Write lastData = null;
        for (SimulatedDevice.Write write : writes) {
            if (isSuperblockWrite(write)) {
                tearable.add(write);
            } else if (!write.isGrowth()) {
                lastData = write;
            }
        }
        if (lastData != null) {
            tearable.add(lastData);
        }
        for (SimulatedDevice.Write write : tearable) {
            int sectors = Math.max(1, write.bytes().length / SECTOR_BYTES);
            for (int k = 1; k < sectors; k = k * 2) {
                states.add(torn(base, writes, write, firstSectors(sectors, k), "first " + k, start));
                states.add(torn(base, writes, write, lastSectors(sectors, k), "last " + k, start));
            }
            boolean[] mask = new boolean[sectors];
            for (int s = 0; s < sectors; s++) {
                mask[s] = random.nextBoolean();
            }
            states.add(torn(base, writes, write, mask, "random", start));
            State garbage = torn(base, writes, write, mask, "random, garbage in the rest", start);
            for (int s = 0; s < sectors; s++) { // sectors that did not land hold noise, as a dying drive may leave
                if (!mask[s]) {
                    byte[] noise = new byte[SECTOR_BYTES];
                    random.nextBytes(noise);
                    int length = Math.min(SECTOR_BYTES, write.bytes().length - s * SECTOR_BYTES);
                    garbage.device().apply(write.offset() + (long) s * SECTOR_BYTES, noise, 0, length);
                }
            }
            states.add(garbage);
        }
    }

    /** A state where every other epoch write landed whole and {@code victim} landed only in {@code mask} sectors. */
    private State torn(SimulatedDevice.Image base, List<SimulatedDevice.Write> writes, SimulatedDevice.Write victim,
                       boolean[] mask, String how, int start) {
        SimulatedDevice device = SimulatedDevice.ofImage(base);
        List<SimulatedDevice.Write> landed = new ArrayList<>();
        for (SimulatedDevice.Write write : writes) {
            if (write == victim) {
                for (int s = 0; s < mask.length; s++) {
                    int from = s * SECTOR_BYTES;
                    int length = Math.min(SECTOR_BYTES, write.bytes().length - from);
                    if (mask[s] && length > 0) {
                        device.apply(write.offset() + from, write.bytes(), from, length);
                    }
                }
            } else {
                device.apply(write.offset(), write.bytes(), 0, write.bytes().length);
                landed.add(write);
            }
        }
        return new State("epoch@" + start + " torn " + how + " of write " + victim.sequence() + " at "
                + victim.offset(), device, start, landed, List.of(victim));
    }

    public static boolean isSuperblockWrite(SimulatedDevice.Write write) {
        if (write.isGrowth()) {
            return false;
        }
        long offset = write.offset();
        // The ring's slots, not the rest of the header region (the intent log's anchor lies there).
        return offset < (long) Limits.SUPERBLOCK_RING_SLOTS * Limits.SUPERBLOCK_SLOT_BYTES
                || offset == Limits.FAR_SUPERBLOCK_OFFSET_BYTES;
    }

    private static boolean[] firstSectors(int sectors, int k) {
        boolean[] mask = new boolean[sectors];
        for (int s = 0; s < k; s++) {
            mask[s] = true;
        }
        return mask;
    }

    private static boolean[] lastSectors(int sectors, int k) {
        boolean[] mask = new boolean[sectors];
        for (int s = sectors - k; s < sectors; s++) {
            mask[s] = true;
        }
        return mask;
    }

    private static long[] bitsAll(int n) {
        long[] mask = new long[Math.max(1, (n + 63) / 64)];
        for (int i = 0; i < n; i++) {
            mask[i >>> 6] |= 1L << i;
        }
        return mask;
    }

    private static String describe(long[] mask, int n) {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < n; i++) {
            text.append((mask[i >>> 6] & (1L << i)) != 0 ? '1' : '0');
        }
        return text.toString();
    }
}
