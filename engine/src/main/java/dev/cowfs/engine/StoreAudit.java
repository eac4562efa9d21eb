package dev.cowfs.engine;

import dev.cowfs.engine.check.AuditingDevice;
import dev.cowfs.engine.check.CheckReport;
import dev.cowfs.engine.check.Checker;
import dev.cowfs.engine.device.BlockDevice;
import dev.cowfs.engine.error.EngineBugError;
import dev.cowfs.engine.format.Limits;
import dev.cowfs.engine.space.RetentionWindow;
import dev.cowfs.engine.superblock.Superblock;
import dev.cowfs.engine.superblock.SuperblockRing;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongConsumer;

/** Strict mode: the full checker after every commit, and a device that refuses writes to protected blocks. */
final class StoreAudit {
    private final Store store;

    StoreAudit(Store store) {
        this.store = store;
    }

    static BlockDevice wrap(BlockDevice device) {
        return new AuditingDevice(device);
    }

    void afterCommit() throws IOException {
        CheckReport report = check(store);
        if (!report.isClean()) {
            throw new EngineBugError("checker after commit: " + report.summary());
        }
        if (store.device() instanceof AuditingDevice auditing) {
            auditing.protect(report.protectedBlocks(), store.superblock().ringSlot(), store.blockSizeBytes());
        }
    }

    /**
     * Checks the store's newest commit, with the retained roots: the ring superblocks of the last
     * {@link Limits#SUPERBLOCK_RING_SLOTS} generations, and open readers. A ring slot holding an older
     * generation (its overwrite by a newer commit did not land) is stale: its blocks may have been reused.
     */
    static CheckReport check(Store store) throws IOException {
        return check(store, blocks -> { });
    }

    static CheckReport check(Store store, LongConsumer progress) throws IOException {
        Superblock newest = store.superblock();
        List<Superblock> retained = new ArrayList<>();
        for (Superblock copy : SuperblockRing.readCopies(store.device(), new ArrayList<>())) {
            if (copy.generation() != newest.generation()
                    && RetentionWindow.ringRetains(newest.generation(), copy.generation())) {
                retained.add(copy);
            }
        }
        for (Superblock held : store.readerSuperblocks()) {
            if (held.generation() < newest.generation() && !retained.contains(held)) {
                retained.add(held);
            }
        }
        return Checker.check(store.device(), newest, retained, progress);
    }
}
