package dev.cowfs.engine.space;

import java.util.Map;
import java.util.TreeMap;

/**
 * Generations held by open read views. A block born at B and freed at F stays pending while a reader holds a
 * generation g with B &lt;= g &lt; F: a long reader pins only what it can reach.
 */
public final class ReaderRegistry {
    /** Open readers per generation. Guarded by {@code this}. */
    private final TreeMap<Long, Integer> readersByGeneration = new TreeMap<>();

    public synchronized void register(long generation) {
        readersByGeneration.merge(generation, 1, Integer::sum);
    }

    public synchronized void unregister(long generation) {
        readersByGeneration.computeIfPresent(generation, (g, n) -> n == 1 ? null : n - 1);
    }

    public boolean pins(long birthGeneration, long freeGeneration) {
        return oldestReaching(birthGeneration, freeGeneration) >= 0;
    }

    /**
     * The oldest generation an open reader holds that reaches a block born at {@code birthGeneration} and freed at
     * {@code freeGeneration} ({@link RetentionWindow#readerReaches}), or -1: no reader pins it.
     */
    public synchronized long oldestReaching(long birthGeneration, long freeGeneration) {
        Long holder = readersByGeneration.ceilingKey(birthGeneration);
        return holder != null && RetentionWindow.readerReaches(holder, birthGeneration, freeGeneration) ? holder : -1;
    }

    public synchronized Map<Long, Integer> snapshot() {
        return new TreeMap<>(readersByGeneration);
    }
}
