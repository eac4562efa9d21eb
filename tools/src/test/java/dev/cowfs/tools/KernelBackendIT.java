package dev.cowfs.tools;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What only the kernel backend (cowfs's own FUSE server, by inode) gets right, on a real mount: every name of a
 * file is one kernel inode, so a change through one name shows at once through the other; an open file unlinked
 * keeps answering fstat with no links; rename's exchange and no-replace modes; SEEK_DATA and SEEK_HOLE over a
 * sparse file; changes made through the control channel are seen at once although the kernel may trust what it
 * was told for a minute. Each check runs a small program in the mount and compares what it prints. FUSE must be
 * there ({@link FuseMountIT#requireFuse}).
 */
class KernelBackendIT {
    private static Path dir;
    private static Path image;
    private static Path mnt;
    private static long serverPid;

    @BeforeAll
    static void mount() throws IOException {
        ToolProcess.requireJar();
        FuseMountIT.requireFuse();
        dir = Files.createTempDirectory("cowfs-kernel-it");
        image = dir.resolve("data.img");
        mnt = Files.createDirectory(dir.resolve("mnt"));
        ok("mkfs", image.toString(), "--size", "2G");
        // the defaults: names and attributes trusted for a day (protocol 7.44 and later), so only notifications can
        // make a change outside the kernel seen
        ToolProcess.Result mounted = ok("mount", image.toString(), mnt.toString(), "-o", "backend=kernel");
        java.util.regex.Matcher pid = java.util.regex.Pattern.compile("pid (\\d+)").matcher(mounted.out());
        assertTrue(pid.find(), mounted.toString());
        serverPid = Long.parseLong(pid.group(1));
    }

    @AfterAll
    static void unmount() {
        if (mnt != null) {
            ok("umount", mnt.toString());
            ToolProcess.Result fsck = ToolProcess.run(dir, "fsck", image.toString());
            assertEquals(0, fsck.code(), fsck.toString());
        }
    }

    private static ToolProcess.Result ok(String... args) {
        ToolProcess.Result result = ToolProcess.run(dir, args);
        assertEquals(0, result.code(), "cowfs " + String.join(" ", args) + ": " + result);
        return result;
    }

    /**
     * Runs a Python program in the mount point, with {@code cowfs(*args)} running the tool ({@code IMG} in the
     * arguments is the image); returns what it printed.
     */
    private static String python(String program) {
        String prelude = "import subprocess, sys\n"
                + "def cowfs(*args):\n"
                + "    args = [sys.argv[2] if a == 'IMG' else a for a in args]\n"
                + "    done = subprocess.run([sys.argv[1] + '/cowfs'] + args, capture_output=True, text=True)\n"
                + "    assert done.returncode == 0, done\n";
        ProcessBuilder builder = new ProcessBuilder("python3", "-c", prelude + program, ToolProcess.ROOT.toString(),
                image.toString()).directory(mnt.toFile());
        builder.environment().put("COWFS_JAR", ToolProcess.JAR.toString());
        ToolProcess.Result result = ToolProcess.run(builder);
        assertEquals(0, result.code(), "program failed:\n" + program + "\n" + result);
        return result.out().strip();
    }

    @Test
    void aChangeThroughOneNameShowsAtOnceThroughTheOther() {
        String out = python("""
                import os, time
                open('a', 'w').write('data')
                os.stat('a'); os.link('a', 'b')
                print(os.stat('b').st_nlink, os.stat('a').st_nlink)
                os.chmod('b', 0o600); print(oct(os.stat('a').st_mode & 0o777))
                os.chown('a', 65534, 65534); print(os.stat('b').st_uid, os.stat('b').st_gid)
                before = os.stat('b').st_ctime_ns
                time.sleep(0.01)
                os.rename('a', 'c'); print(os.stat('b').st_ctime_ns > before)
                os.unlink('c'); print(os.stat('b').st_nlink)
                """);
        assertEquals("2 2\n0o600\n65534 65534\nTrue\n1", out);
    }

    @Test
    void anUnlinkedOpenFileHasNoLinksAndKeepsItsData() {
        String out = python("""
                import os
                fd = os.open('gone', os.O_CREAT | os.O_RDWR, 0o644)
                os.write(fd, b'x' * 100000)
                os.unlink('gone')
                st = os.fstat(fd); print(st.st_nlink, st.st_size)
                os.ftruncate(fd, 10); print(os.fstat(fd).st_size, os.pread(fd, 20, 0))
                os.close(fd); print(os.path.exists('gone'))
                """);
        assertEquals("0 100000\n10 b'xxxxxxxxxx'\nFalse", out);
    }

    @Test
    void renameExchangesAndRefusesToReplaceWhenAsked() {
        String out = python("""
                import ctypes, os
                libc = ctypes.CDLL(None, use_errno=True)
                open('x', 'w').write('x'); open('y', 'w').write('y'); os.mkdir('dir')
                AT = -100
                print(libc.renameat2(AT, b'x', AT, b'y', 2), open('x').read(), open('y').read())
                print(libc.renameat2(AT, b'x', AT, b'dir', 2), os.path.isdir('x'), open('dir').read())
                print(libc.renameat2(AT, b'x', AT, b'y', 1), ctypes.get_errno())
                print(libc.renameat2(AT, b'y', AT, b'new', 1), open('new').read())
                """);
        assertEquals("0 y x\n0 True y\n-1 17\n0 x", out);
    }

    @Test
    void seekDataAndSeekHoleFollowTheExtentsOfASparseFile() {
        String out = python("""
                import os
                fd = os.open('sparse', os.O_CREAT | os.O_WRONLY, 0o644)
                os.pwrite(fd, b'a' * 4096, 0); os.pwrite(fd, b'b' * 4096, 8 << 20)
                os.close(fd)
                fd = os.open('sparse', os.O_RDONLY)
                print(os.lseek(fd, 0, os.SEEK_DATA), os.lseek(fd, 0, os.SEEK_HOLE))
                print(os.lseek(fd, 4096, os.SEEK_DATA) >= 4096, os.lseek(fd, 4096, os.SEEK_DATA) <= 8 << 20)
                print(os.lseek(fd, 8 << 20, os.SEEK_HOLE))
                for whence in (os.SEEK_DATA, os.SEEK_HOLE):
                    try:
                        os.lseek(fd, (8 << 20) + 4096, whence)
                    except OSError as e:
                        print('errno', e.errno)
                print(os.pread(fd, 4, 8 << 20), os.pread(fd, 4, 4 << 20))
                """);
        String[] lines = out.split("\n");
        assertTrue(lines[0].startsWith("0 ") && Long.parseLong(lines[0].split(" ")[1]) >= 4096
                && Long.parseLong(lines[0].split(" ")[1]) <= 8 << 20, out);
        assertEquals("True True", lines[1], out);
        assertEquals(String.valueOf((8 << 20) + 4096), lines[2], out);
        assertEquals("errno 6", lines[3], out); // at the end of the file: ENXIO for both, as Linux
        assertEquals("errno 6", lines[4], out);
        assertEquals("b'bbbb' b'\\x00\\x00\\x00\\x00'", lines[5], out);
    }

    @Test
    void changesThroughTheControlChannelAreSeenAtOnceByAProgramHoldingTheDirectory() throws IOException {
        Path host = Files.writeString(dir.resolve("host.txt"), "from the channel\n");
        String out = python("""
                import os
                os.mkdir('chan'); open('chan/gone', 'w').write('x'); open('chan/moved', 'w').write('y')
                held = os.open('chan', os.O_RDONLY)
                print(sorted(os.listdir(held)), os.path.exists('chan/gone'), os.path.exists('chan/moved'))
                cowfs('put', 'IMG', '%s', '/chan/new')
                cowfs('rm', 'IMG', '/chan/gone')
                cowfs('mv', 'IMG', '/chan/moved', '/chan/renamed')
                print(sorted(os.listdir(held)), os.path.exists('chan/gone'), os.path.exists('chan/moved'))
                print(open('chan/new').read().strip(), open('chan/renamed').read())
                os.listdir('.snapshots')
                cowfs('snapshot', 'create', 'IMG', 'default', 'viachannel')
                print(os.listdir('.snapshots'), open('.snapshots/viachannel/chan/new').read().strip())
                cowfs('snapshot', 'delete', 'IMG', 'viachannel')
                print(os.path.exists('.snapshots/viachannel'), os.listdir('.snapshots'))
                os.close(held)
                """.formatted(host));
        assertEquals("['gone', 'moved'] True True\n['new', 'renamed'] False False\nfrom the channel y\n"
                + "['viachannel'] from the channel\nFalse []", out);
    }

    /**
     * A rollback through the control channel replaces the whole subvolume: names removed since the snapshot come
     * back, names added go, and attributes and data are the snapshot's, at once, although the kernel was told it
     * could trust what it holds for a day (INC_EPOCH makes it look every name up again).
     */
    @Test
    void aRollbackThroughTheControlChannelIsSeenAtOnce() throws IOException {
        String log = Files.readString(dir.resolve("data.img.mount.log"));
        String out = python("""
                import os
                os.mkdir('rb'); open('rb/kept', 'w').write('old'); open('rb/removed', 'w').write('r')
                os.chmod('rb/kept', 0o600)
                cowfs('snapshot', 'create', 'IMG', 'default', 'before-rollback')
                os.remove('rb/removed'); open('rb/added', 'w').write('a'); open('rb/kept', 'w').write('newer')
                os.chmod('rb/kept', 0o644)
                def show():
                    print(os.path.exists('rb/removed'), os.path.exists('rb/added'), oct(os.stat('rb/kept').st_mode),
                          open('rb/kept').read(), sorted(os.listdir('rb')))
                show()
                cowfs('snapshot', 'rollback', 'IMG', 'default', 'before-rollback')
                show()
                cowfs('snapshot', 'delete', 'IMG', 'before-rollback')
                """);
        assertEquals("False True 0o100644 newer ['added', 'kept']\nTrue False 0o100600 old ['kept', 'removed']", out);
        assertTrue(log.contains("names and attributes trusted for 86400.0 s"), log);
    }

    /**
     * The server drops privileges as Linux does (HANDLE_KILLPRIV_V2): a write or truncate by a user without
     * CAP_FSETID clears set-user-ID, and set-group-ID on a group-executable file or one whose group the writer is not
     * in; a write as root keeps them; chown clears set-user-ID. The mode is seen changed at once, as on tmpfs.
     */
    @Test
    void writesAndTruncatesByOtherUsersDropSetIdBitsAtOnce() {
        String out = python("""
                import os, subprocess
                open('suid', 'w').write('x'); os.chmod('suid', 0o4777)
                open('sgid', 'w').write('y'); os.chmod('sgid', 0o2777)
                open('sgid-noexec', 'w').write('z'); os.chmod('sgid-noexec', 0o2766)
                with open('suid', 'a') as f: f.write('root')
                print(oct(os.stat('suid').st_mode & 0o7777))
                nobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups']
                for name in ('suid', 'sgid', 'sgid-noexec'):
                    subprocess.run(nobody + ['sh', '-c', 'echo more >> ' + name], check=True)
                print(' '.join(oct(os.stat(n).st_mode & 0o7777) for n in ('suid', 'sgid', 'sgid-noexec')))
                os.chmod('suid', 0o4777)
                subprocess.run(nobody + ['truncate', '-s', '1', 'suid'], check=True)
                print(oct(os.stat('suid').st_mode & 0o7777))
                os.chmod('suid', 0o4755); os.chown('suid', 65534, -1)
                print(oct(os.stat('suid').st_mode & 0o7777))
                """);
        assertEquals("0o4777\n0o777 0o777 0o766\n0o777\n0o755", out);
    }

    /**
     * copy_file_range of a whole file onto an empty one is a reflink (cowfs du counts every byte of both as shared,
     * and the copy reads back the same), and so is plain {@code cp}, which asks for it; a range whose offsets sit at
     * the same place in a block shares its aligned middle and copies the unaligned head and tail; a range at
     * different places in a block is copied byte for byte.
     */
    @Test
    void copyFileRangeSharesWholeFilesAndAlignedRangesAndCopiesTheRest() {
        String out = python("""
                import os, json
                data = os.urandom(16 << 20)
                with open('orig', 'wb') as f: f.write(data)
                src = os.open('orig', os.O_RDONLY)
                dst = os.open('copy', os.O_CREAT | os.O_WRONLY, 0o644)
                done = 0
                while done < len(data):
                    done += os.copy_file_range(src, dst, len(data) - done)
                os.close(dst)
                part = os.open('part', os.O_CREAT | os.O_WRONLY, 0o644)
                os.copy_file_range(src, part, 777, 1234, 5000)
                os.close(part)
                old = os.urandom(3 << 20)
                with open('mid', 'wb') as f: f.write(old)
                mid = os.open('mid', os.O_RDWR)
                n = os.copy_file_range(src, mid, (4 << 20) + 100, (5 << 20) + 100, (6 << 20) + 100)
                os.close(mid); os.close(src)
                mine = bytearray((10 << 20) + 200)
                mine[:len(old)] = old
                mine[(6 << 20) + 100:(10 << 20) + 200] = data[(5 << 20) + 100:(9 << 20) + 200]
                print(n, open('mid', 'rb').read() == bytes(mine))
                print(open('copy', 'rb').read() == data, open('part', 'rb').read() == bytes(5000) + data[1234:2011])
                subprocess.run(['cp', 'orig', 'cp-copy'], check=True)
                print(open('cp-copy', 'rb').read() == data)
                du = subprocess.run([sys.argv[1] + '/cowfs', 'du', sys.argv[2], '/orig', '/copy', '/cp-copy', '/mid',
                                     '--json'], capture_output=True, text=True)
                print([item['shared_bytes'] for item in json.loads(du.stdout)['items']])
                """);
        // mid: its first 3 MiB its own; of the 4 MiB + 100 bytes from orig's 5 MiB + 100, the aligned middle (5 MiB
        // + 4 KiB to 9 MiB) shares four of orig's 1 MiB extents (du counts extents whole), head and tail copied
        assertEquals(((4 << 20) + 100) + " True\nTrue True\nTrue\n[16777216, 16777216, 16777216, " + (4 << 20) + "]",
                out);
    }

    /**
     * fallocate's PUNCH_HOLE and ZERO_RANGE: zeros where asked, the size kept or grown as Linux documents, the
     * extents inside the range freed (cowfs du); PUNCH_HOLE without KEEP_SIZE is EOPNOTSUPP, as on Linux.
     */
    @Test
    void punchingAHoleAndZeroingARangeReadAsZerosAndFreeTheSpace() {
        String out = python("""
                import ctypes, os, json
                libc = ctypes.CDLL(None, use_errno=True)
                libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
                KEEP_SIZE, PUNCH_HOLE, ZERO_RANGE = 1, 2, 0x10
                data = os.urandom(4 << 20)
                with open('holes', 'wb') as f: f.write(data)
                fd = os.open('holes', os.O_RDWR)
                print(libc.fallocate(fd, PUNCH_HOLE | KEEP_SIZE, 1 << 20, 2 << 20), os.fstat(fd).st_size)
                print(os.pread(fd, 2 << 20, 1 << 20) == bytes(2 << 20), os.pread(fd, 4096, 0) == data[:4096])
                os.close(fd)  # SEEK_HOLE is refused while a writer may hold data in the kernel's cache
                reader = os.open('holes', os.O_RDONLY)
                print(os.lseek(reader, 0, os.SEEK_HOLE), os.lseek(reader, 1 << 20, os.SEEK_DATA))
                os.close(reader)
                fd = os.open('holes', os.O_RDWR)
                print(libc.fallocate(fd, ZERO_RANGE, (4 << 20) - 4096, 1 << 20), os.fstat(fd).st_size)
                print(os.pread(fd, 8192, (4 << 20) - 4096) == bytes(8192))
                print(libc.fallocate(fd, ZERO_RANGE | KEEP_SIZE, 6 << 20, 4096), os.fstat(fd).st_size)
                print(libc.fallocate(fd, PUNCH_HOLE, 0, 4096), ctypes.get_errno())
                os.close(fd)
                du = subprocess.run([sys.argv[1] + '/cowfs', 'du', sys.argv[2], '/holes', '--json'],
                                    capture_output=True, text=True)
                print(json.loads(du.stdout)['items'][0]['referenced_bytes'])
                """);
        // the two whole 1 MiB extents in the hole are freed; the last extent, cut by 4 KiB, is still held whole
        assertEquals("0 4194304\nTrue True\n" + (1 << 20) + " " + (3 << 20) + "\n0 " + ((5 << 20) - 4096)
                + "\nTrue\n0 " + ((5 << 20) - 4096) + "\n-1 95\n" + (2 << 20), out);
    }

    /**
     * STATX: a program asking for the birth time (stat(1) does) gets the inode's creation time, which later changes
     * of the times, the data or the name leave alone; devices keep their numbers.
     */
    @Test
    void statxGivesTheBirthTime() {
        String out = python("""
                import os, time
                before = int(time.time())
                open('born', 'w').write('x')
                os.utime('born', (1_000_000_000, 1_000_000_000))
                os.rename('born', 'born2'); open('born2', 'a').write('y'); os.utime('born2', (1_000_000_000, 1_000_000_000))
                os.mknod('dev', 0o600 | 0o020000, os.makedev(259, 300))
                born, mtime, major, minor = subprocess.run(['stat', '-c', '%W %Y', 'born2'], capture_output=True,
                    text=True, check=True).stdout.split() + subprocess.run(['stat', '-c', '%Hr %Lr', 'dev'],
                    capture_output=True, text=True, check=True).stdout.split()
                print(before <= int(born) <= int(time.time()), mtime, major, minor)
                """);
        assertEquals("True 1000000000 259 300", out);
    }

    @Test
    void fifosAndDevicesAreMadeWithTheirKinds() {
        String out = python("""
                import os, stat
                os.mkfifo('fifo'); print(stat.S_ISFIFO(os.stat('fifo').st_mode))
                os.mknod('null', 0o666 | stat.S_IFCHR, os.makedev(1, 3))
                st = os.stat('null'); print(stat.S_ISCHR(st.st_mode), os.major(st.st_rdev), os.minor(st.st_rdev))
                """);
        assertEquals("True\nTrue 1 3", out);
    }

    /**
     * The receiving thread asks for requests without sleeping for a moment after each one (see receivers in
     * KernelSession), but a mount nobody uses must sleep: sampled after a pause, the thread is asleep (in poll).
     */
    @Test
    void anIdleMountsReceivingThreadSleeps() throws Exception {
        assertEquals("ok", python("open('idle', 'w').write('x'); print('ok')"));
        Path receiver = null;
        try (var tasks = Files.list(Path.of("/proc/" + serverPid + "/task"))) {
            for (Path task : tasks.toList()) {
                if (Files.readString(task.resolve("comm")).strip().equals("cowfs-fuse-0")) {
                    receiver = task;
                }
            }
        }
        assertTrue(receiver != null, "no thread cowfs-fuse-0 in process " + serverPid);
        Thread.sleep(300);
        int running = 0;
        StringBuilder states = new StringBuilder();
        for (int i = 0; i < 20; i++) {
            String stat = Files.readString(receiver.resolve("stat"));
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            states.append(state);
            if (state == 'R') {
                running++;
            }
            Thread.sleep(10);
        }
        assertTrue(running <= 2, "the idle receiving thread ran in " + running + " of 20 samples: " + states);
    }
}
