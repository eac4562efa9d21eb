package dev.cowfs.fs;

import dev.cowfs.engine.device.SimulatedDevice;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The change listener hears every entry added or removed, every inode stored and every subvolume made or gone. */
class ChangeListenerTest {
    private static final long ROOT = CowFileSystem.ROOT_INO;

    /** Records what it is told, one line per change. */
    private static final class Recorder implements ChangeListener {
        final List<String> heard = new ArrayList<>();

        @Override
        public void entryChanged(long dir, byte[] name) {
            heard.add("entry " + dir + " " + new String(name, StandardCharsets.UTF_8));
        }

        @Override
        public void inodeChanged(long ino) {
            heard.add("inode " + ino);
        }

        @Override
        public void subvolumeChanged(long id, String name) {
            heard.add("subvolume " + id + " " + name);
        }
    }

    @Test
    void everyKindOfChangeIsHeardAndNothingAfterTheListenerIsRemoved() throws Exception {
        try (CowFileSystem fs = CowFileSystem.create(new SimulatedDevice(), SnapshotTest.options())) {
            Recorder recorder = new Recorder();
            fs.setChangeListener(recorder);
            long file = fs.mknod(ROOT, "a", 0644, 0, 0, 0);
            assertTrue(recorder.heard.containsAll(List.of("inode " + file, "entry " + ROOT + " a", "inode " + ROOT)),
                    recorder.heard::toString);
            recorder.heard.clear();
            fs.rename(ROOT, "a", ROOT, "b", RenameMode.REPLACE);
            assertTrue(recorder.heard.containsAll(List.of("entry " + ROOT + " a", "entry " + ROOT + " b")),
                    recorder.heard::toString);
            recorder.heard.clear();
            fs.write(file, 0, new byte[10], 0, 10);
            fs.chmod(file, 0600);
            assertEquals(List.of("inode " + file), recorder.heard.stream().distinct().toList());
            recorder.heard.clear();
            long snapshot = fs.createSnapshot(0, "snap", false);
            fs.deleteSubvolume(snapshot);
            assertEquals(List.of("subvolume " + snapshot + " snap", "subvolume " + snapshot + " snap"),
                    recorder.heard);
            recorder.heard.clear();
            fs.setChangeListener(null);
            fs.unlink(ROOT, "b");
            assertEquals(List.of(), recorder.heard);
        }
    }
}
