package dev.cowfs.crash;

import dev.cowfs.engine.device.CrashStates;
import dev.cowfs.engine.device.SimulatedDevice;

import java.util.List;

/** The commit protocol's write order, checked on a recorded log while the harness runs a workload. */
final class WriteOrderCheck {
    private WriteOrderCheck() {
    }

    /**
     * Write order, checked on the log: a superblock (ring slot or far copy) of a generation not yet durable is
     * written only right after a barrier (no block it could reference written since), and "commit N
     * acknowledged" comes only after a superblock of N was written and a barrier followed it.
     */
    static String check(List<SimulatedDevice.Op> log, long baseGeneration) {
        boolean dataSinceBarrier = false;
        long durable = baseGeneration;
        java.util.Set<Long> sinceBarrier = new java.util.HashSet<>();
        java.util.Set<Long> madeDurable = new java.util.HashSet<>();
        for (SimulatedDevice.Op op : log) {
            if (op instanceof SimulatedDevice.Barrier) {
                dataSinceBarrier = false;
                madeDurable.addAll(sinceBarrier);
                for (long generation : sinceBarrier) {
                    durable = Math.max(durable, generation);
                }
                sinceBarrier.clear();
            } else if (op instanceof SimulatedDevice.Write write) {
                if (!CrashStates.isSuperblockWrite(write)) {
                    dataSinceBarrier = true;
                    continue;
                }
                long generation = CrashStates.superblockGeneration(write);
                if (generation > durable && dataSinceBarrier) {
                    return "superblock of generation " + generation + " (write " + write.sequence() + ") follows "
                            + "block writes with no barrier between: a crash can leave it pointing at blocks that "
                            + "never landed";
                }
                if (generation > 0) {
                    sinceBarrier.add(generation);
                }
            } else if (op instanceof SimulatedDevice.Marker marker && marker.label().startsWith("commit ")
                    && marker.label().endsWith(" acknowledged")
                    && !madeDurable.contains(Long.parseLong(marker.label().split(" ")[1]))) {
                return marker.label() + " with no superblock of it made durable by a barrier before";
            }
        }
        return "";
    }
}
