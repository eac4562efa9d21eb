package dev.cowfs.fs;

import dev.cowfs.engine.StoreOptions;
import dev.cowfs.engine.device.SimulatedDevice;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The filesystem over a failing device: what it shows after a failure, and reads that never write. */
class FsDeviceFailureTest {
    private static FsOptions options() {
        return FsOptions.builder().commitIntervalMillis(0)
                .store(StoreOptions.builder().checkAfterCommit(true).build()).build();
    }

    private static long writeFile(CowFileSystem fs, String name, byte[] bytes) throws IOException {
        long ino = fs.mknod(CowFileSystem.ROOT_INO, name, 0100644, 0, 0, 0);
        fs.write(ino, 0, bytes, 0, bytes.length);
        return ino;
    }

    private static byte[] pattern(int length, int seed) {
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++) {
            bytes[i] = (byte) (i * 31 + seed);
        }
        return bytes;
    }

    private static byte[] readAll(CowFileSystem fs, long ino, int length) throws IOException {
        byte[] bytes = new byte[length];
        assertEquals(length, fs.read(ino, 0, bytes, 0, length));
        return bytes;
    }

    /** Found by the crash harness: a failed snapshot commit left its name listed with no tree behind it. */
    @Test
    void aSnapshotWhoseCommitFailsWithAnIoErrorIsNotListedAndTheFilesystemStaysReadable() throws IOException {
        SimulatedDevice device = new SimulatedDevice();
        CowFileSystem fs = CowFileSystem.create(device, options());
        {
            long ino = writeFile(fs, "kept", pattern(9000, 1));
            fs.sync();
            device.failAfter(0);
            FsException error = assertThrows(FsException.class, () -> fs.createSnapshot(0, "s1", false));
            assertEquals(Errno.EIO, error.errno(), error.getMessage());
            List<SubvolumeInfo> subvolumes = fs.listSubvolumes();
            assertEquals(1, subvolumes.size(), subvolumes.toString());
            assertEquals(0, subvolumes.get(0).id());
            assertArrayEquals(pattern(9000, 1), readAll(fs, ino, 9000));
            assertEquals(1, fs.readdir(CowFileSystem.ROOT_INO, 0, 100).size());
            FsException lost = assertThrows(FsException.class, fs::sync); // the work since the commit is gone
            assertEquals(Errno.EIO, lost.errno(), lost.getMessage());
            FsException readOnly = assertThrows(FsException.class, () -> fs.createSnapshot(0, "s2", false));
            assertEquals(Errno.EROFS, readOnly.errno(), readOnly.getMessage());
            FsException closing = assertThrows(FsException.class, fs::close);
            assertTrue(closing.getMessage().contains("read-only"), closing.getMessage());
        }
    }

    /**
     * Found by the crash harness: once a commit on a full host had taken the host reserve, later writes took what
     * it gave back, and deleting files and snapshots then failed for lack of space. Now only commits and deletes
     * may grow the image while the reserve is given up.
     */
    @Test
    void onAFullHostWritesCannotTakeTheSpaceTheReserveGaveBackForDeletes() throws IOException {
        SimulatedDevice device = new SimulatedDevice();
        CowFileSystem fs = CowFileSystem.create(device, options());
        for (int i = 0; i < 4; i++) {
            writeFile(fs, "f" + i, pattern(150_000, i));
            fs.sync();
        }
        fs.createSnapshot(0, "s", false);
        device.setHostReserveBytes(256 << 10);
        device.failAfter(0, SimulatedDevice.Failure.HOST_FULL);
        device.barrier(); // the host is full from here on
        for (int i = 0; i < 200 && !device.hostReserveGivenUp(); i++) {
            fs.mkdir(CowFileSystem.ROOT_INO, "d" + i, 0755, 0, 0); // commits of new tree blocks: they may take it
            fs.sync();
        }
        assertTrue(device.hostReserveGivenUp(), "no commit needed the host reserve");
        writeFile(fs, "stream", pattern(64 << 10, 9));
        FsException refused = assertThrows(FsException.class, fs::sync); // its data may not grow the image
        assertEquals(Errno.ENOSPC, refused.errno(), refused.getMessage());
        fs.deleteSubvolume(fs.subvolumeId("s"));
        for (int i = 0; i < 4; i++) {
            fs.unlink(CowFileSystem.ROOT_INO, "f" + i);
        }
        FsException lost = assertThrows(FsException.class, fs::sync); // once: the refused write's data is gone
        assertTrue(lost.getMessage().contains("lost"), lost.getMessage());
        fs.sync();
        assertEquals(1, fs.listSubvolumes().size());
        assertTrue(fs.store().check().isClean(), fs.store().check().summary());
        assertTrue(FsChecker.check(fs.store()).isEmpty());
        fs.close();
    }

    /**
     * read(2) never fails for lack of space: a read of a file with unwritten data lays that data over what is
     * stored instead of writing it out first, so it works on a full host and writes nothing.
     */
    @Test
    void aReadOfUnwrittenDataWritesNothingAndWorksOnAFullHost() throws IOException {
        SimulatedDevice device = new SimulatedDevice();
        CowFileSystem fs = CowFileSystem.create(device, options());
        {
            byte[] expected = pattern(200_000, 2);
            long ino = writeFile(fs, "f", expected);
            fs.sync();
            byte[] overwrite = pattern(7000, 3);
            fs.write(ino, 50_000, overwrite, 0, overwrite.length); // buffered over stored extents
            System.arraycopy(overwrite, 0, expected, 50_000, overwrite.length);
            byte[] tail = pattern(3000, 4);
            fs.write(ino, 200_000, tail, 0, tail.length); // growing the file, buffered
            expected = Arrays.copyOf(expected, 203_000);
            System.arraycopy(tail, 0, expected, 200_000, tail.length);
            device.setHostReserveBytes(0);
            device.failAfter(0, SimulatedDevice.Failure.HOST_FULL);
            device.barrier(); // the host is full from here on
            int logged = device.log().size();
            assertArrayEquals(expected, readAll(fs, ino, expected.length));
            byte[] middle = new byte[5000];
            assertEquals(5000, fs.read(ino, 48_000, middle, 0, 5000));
            assertArrayEquals(Arrays.copyOfRange(expected, 48_000, 53_000), middle);
            assertEquals(logged, device.log().size(), "a read wrote to the device");
            FsException full = assertThrows(FsException.class, fs::sync);
            assertEquals(Errno.ENOSPC, full.errno(), full.getMessage());
            FsException lost = assertThrows(FsException.class, fs::close); // says the buffered writes were lost
            assertEquals(Errno.ENOSPC, lost.errno(), lost.getMessage());
            assertTrue(lost.getMessage().contains("lost"), lost.getMessage());
        }
    }
}
