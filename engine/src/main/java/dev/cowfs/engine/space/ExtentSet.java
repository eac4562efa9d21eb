package dev.cowfs.engine.space;

import java.util.Map;
import java.util.TreeMap;

/**
 * A set of blocks kept as disjoint extents (start -> count), adjacent ones merged: the extents one transaction has
 * been handed and not given back, which it alone may write. Every operation is O(log extents).
 */
final class ExtentSet {
    private final TreeMap<Long, Long> extents = new TreeMap<>();

    /** Adds blocks {@code [start, start + count)}; they must not be in the set already. */
    void add(long start, long count) {
        long end = start + count;
        Map.Entry<Long, Long> before = extents.floorEntry(start);
        if (before != null && before.getKey() + before.getValue() == start) {
            start = before.getKey();
            extents.remove(start);
        }
        Long afterCount = extents.remove(end);
        if (afterCount != null) {
            end += afterCount;
        }
        extents.put(start, end - start);
    }

    /** Removes blocks {@code [start, start + count)}, splitting the extent that holds them; they must be in the set. */
    void remove(long start, long count) {
        Map.Entry<Long, Long> holder = extents.floorEntry(start);
        if (holder == null || holder.getKey() + holder.getValue() < start + count) {
            return; // not all in the set: nothing to take back (contains() will say so at the write)
        }
        long holderStart = holder.getKey();
        long holderEnd = holderStart + holder.getValue();
        extents.remove(holderStart);
        if (holderStart < start) {
            extents.put(holderStart, start - holderStart);
        }
        if (start + count < holderEnd) {
            extents.put(start + count, holderEnd - start - count);
        }
    }

    /** Whether every block of {@code [start, start + count)} is in the set. */
    boolean contains(long start, long count) {
        Map.Entry<Long, Long> holder = extents.floorEntry(start);
        return holder != null && holder.getKey() + holder.getValue() >= start + count;
    }

    void clear() {
        extents.clear();
    }
}
