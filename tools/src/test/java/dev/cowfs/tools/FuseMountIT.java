package dev.cowfs.tools;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Real mounts of the packaged tool, used by everyday programs through the kernel: coreutils, tar, git, sqlite3,
 * a sparse file past 4 GiB, concurrent readers and a writer, snapshots browsed while a writer runs, unmount
 * and remount, and a mount process killed with SIGKILL mid-write. Needs {@code /dev/fuse}, libfuse 2 and
 * fusermount; without them the tests are skipped with the reason printed, except under {@code CI=true}, where
 * a platform without FUSE fails the run. The build runs the class once per FUSE backend: the system property
 * {@code cowfs.it.backend} ({@code libfuse2} or {@code kernel}) is added to every mount as {@code -o backend=...}.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FuseMountIT {
    private static final long SUITE_START = System.currentTimeMillis();
    private static final String BACKEND = System.getProperty("cowfs.it.backend", "libfuse2");
    private static Path dir;
    private static Path image;
    private static Path mnt;

    @BeforeAll
    static void mount() throws IOException {
        ToolProcess.requireJar();
        requireFuse();
        dir = Files.createTempDirectory("cowfs-fuse-it");
        image = dir.resolve("data.img");
        mnt = Files.createDirectory(dir.resolve("mnt"));
        ok("mkfs", image.toString(), "--size", "16G");
        ToolProcess.Result mounted = ok("mount", image.toString(), mnt.toString());
        assertTrue(mounted.out().contains("mounted " + image), mounted.toString());
        assertTrue(mountInfo().contains(" " + mnt + " ") && mountInfo().contains("fuse.cowfs"), mountInfo());
    }

    @AfterAll
    static void unmount() throws IOException {
        if (mnt != null && mountInfo().contains(" " + mnt + " ")) {
            ok("umount", mnt.toString());
        }
        if (image != null) {
            ToolProcess.Result fsck = ToolProcess.run(dir, "fsck", image.toString());
            assertEquals(0, fsck.code(), fsck.toString());
        }
        // A mount process that crashed after unmounting still looks stopped: the JVM's crash report gives it away.
        List<Path> reports = new java.util.ArrayList<>();
        for (Path where : dir == null ? List.of(Path.of("")) : List.of(Path.of(""), dir)) {
            try (var files = Files.list(where.toAbsolutePath())) {
                files.filter(f -> f.getFileName().toString().matches("hs_err_pid\\d+\\.log"))
                        .filter(f -> f.toFile().lastModified() >= SUITE_START).forEach(reports::add);
            }
        }
        assertTrue(reports.isEmpty(), "a JVM crashed during the tests: " + reports);
    }

    /** FUSE must be there; a platform without it skips, except in CI where that is a failure. */
    static void requireFuse() {
        String missing = !Files.exists(Path.of("/dev/fuse")) ? "/dev/fuse does not exist"
                : !libfuse2Installed() ? "libfuse.so.2 is not installed (Debian: libfuse2)"
                : dev.cowfs.fuse.FuseMount.onPath("fusermount") == null
                && dev.cowfs.fuse.FuseMount.onPath("fusermount3") == null
                ? "fusermount is not installed (Debian: fuse3)" : null;
        if (missing != null) {
            if ("true".equals(System.getenv("CI"))) {
                throw new AssertionError("FUSE is required in CI, but " + missing);
            }
            System.out.println("FuseMountIT: SKIPPED, this platform lacks FUSE: " + missing);
            Assumptions.abort("this platform lacks FUSE: " + missing);
        }
    }

    private static boolean libfuse2Installed() {
        for (String directory : List.of("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64",
                "/usr/lib", "/lib", "/usr/lib/aarch64-linux-gnu", "/lib/aarch64-linux-gnu")) {
            if (Files.exists(Path.of(directory, "libfuse.so.2"))) {
                return true;
            }
        }
        return false;
    }

    private static String mountInfo() throws IOException {
        return Files.readString(Path.of("/proc/self/mountinfo"));
    }

    /** Runs the tool, a mount with the backend under test, and requires success. */
    private static ToolProcess.Result ok(String... args) {
        if (args[0].equals("mount")) {
            args = java.util.stream.Stream.concat(java.util.Arrays.stream(args), java.util.stream.Stream.of("-o",
                    "backend=" + BACKEND)).toArray(String[]::new);
        }
        ToolProcess.Result result = ToolProcess.run(dir, args);
        assertEquals(0, result.code(), "cowfs " + String.join(" ", args) + ": " + result);
        return result;
    }

    /** Runs a bash script in the mount point with errexit and pipefail; returns its standard output. */
    private static String shell(String script) {
        return shell(mnt, script);
    }

    private static String shell(Path workingDirectory, String script) {
        ProcessBuilder builder = new ProcessBuilder("bash", "-euo", "pipefail", "-c", script)
                .directory(workingDirectory.toFile());
        builder.environment().put("M", mnt.toString());
        builder.environment().put("IMG", image.toString());
        builder.environment().put("D", dir.toString());
        builder.environment().put("ROOT", ToolProcess.ROOT.toString());
        builder.environment().put("BACKEND", BACKEND);
        builder.environment().put("GIT_CONFIG_NOSYSTEM", "1");
        builder.environment().put("HOME", dir.toString());
        ToolProcess.Result result = ToolProcess.run(builder);
        assertEquals(0, result.code(), "script failed:\n" + script + "\n" + result);
        return result.out();
    }

    @Test
    @Order(1)
    void coreutilsCopyMoveLinkTruncateStatAndFindBehave() {
        String out = shell("""
                cp -a "$ROOT/docs" docs
                diff -r "$ROOT/docs" docs
                mv docs/man docs/manual && test -d docs/manual && ! test -e docs/man
                ln docs/FORMAT.md hard && ln -s docs/FORMAT.md soft
                test "$(stat -c %i hard)" = "$(stat -c %i docs/FORMAT.md)" && test "$(stat -c %h hard)" = 2
                test "$(readlink soft)" = docs/FORMAT.md && cmp soft "$ROOT/docs/FORMAT.md"
                truncate -s 10000 t && test "$(stat -c %s t)" = 10000 && truncate -s 3 t && test "$(stat -c %s t)" = 3
                chmod 640 t && test "$(stat -c %a t)" = 640
                touch -d '2001-02-03 04:05:06' t && test "$(stat -c %Y t)" = "$(date -d '2001-02-03 04:05:06' +%s)"
                mkfifo fifo && test -p fifo
                python3 -c 'import os; os.setxattr("t", "user.color", b"blue")'
                python3 -c 'import os; assert os.getxattr("t", "user.color") == b"blue"; print(os.listxattr("t"))'
                find docs -type f | wc -l
                test "$(find docs -type f | wc -l)" = "$(find "$ROOT/docs" -type f | wc -l)"
                (mkdir docs 2>&1 || true) | grep 'File exists' >/dev/null
                (rmdir docs 2>&1 || true) | grep 'Directory not empty' >/dev/null
                (ls nothing 2>&1 || true) | grep 'No such file or directory' >/dev/null
                python3 -c 'import os, errno
                try: os.rename("docs", "docs/manual/inside")
                except OSError as e: assert e.errno == errno.EINVAL, e
                else: raise SystemExit("a directory moved into itself")'
                rm -r docs hard soft t fifo
                test -z "$(ls -A | grep -v '^\\.snapshots$' || true)"
                """);
        assertTrue(out.contains("user.color"), out);
    }

    /**
     * cp -a and cp -p set a copy's final mode with an access ACL (fsetxattr of system.posix_acl_access), and fall
     * back to chmod only when that is refused: every mode must arrive. Through libfuse 2, whose kernel side does not
     * enforce ACLs, an ACL the mode cannot express fails visibly and a minimal one becomes the mode; through the
     * kernel backend ACLs are kept, in step with the mode, inherited and copied, as on tmpfs.
     */
    @Test
    @Order(2)
    void copiesKeepEveryModeAndAclsAreKeptOrRefusedNeverIgnored() {
        shell("""
                src="$D/modes"; rm -rf "$src"; mkdir -p "$src/open" "$src/private" "$src/shared"
                echo a > "$src/f644"; echo b > "$src/f600"; echo c > "$src/x755"; echo d > "$src/shared/in"
                chmod 644 "$src/f644"; chmod 600 "$src/f600"; chmod 755 "$src/x755" "$src/open" "$src"
                chmod 700 "$src/private"; chmod 2775 "$src/shared"; chmod 640 "$src/shared/in"
                cp -a "$src" copied-a
                cp -rp "$src" copied-p
                modes() { (cd "$1" && find . -printf '%p %m\n' | sort); }
                diff <(modes "$src") <(modes copied-a)
                diff <(modes "$src") <(modes copied-p)
                test "$(modes copied-a | wc -l)" = 8
                python3 -c 'import os, sys; sys.exit(any(os.listxattr(p) for p in sys.argv[1:]))' \
                    copied-a/f644 copied-a/shared copied-p/x755
                if [ "$BACKEND" = kernel ]; then
                    # the kernel enforces ACLs: kept, in step with the mode, copied by cp -a, as on tmpfs
                    setfacl -m u:nobody:r copied-a/f644 && getfacl -c copied-a/f644 | grep -qx 'user:nobody:r--'
                    test "$(stat -c %a copied-a/f644)" = 644
                    chmod 600 copied-a/f644 && getfacl -c copied-a/f644 | grep -qx 'mask::---'
                    setfacl -d -m u:nobody:rx copied-a/open && touch copied-a/open/inherits
                    getfacl -c copied-a/open/inherits | grep -q '^user:nobody:r-x'
                    cp -a copied-a copied-acl && diff <(getfacl -cR copied-a) <(getfacl -cR copied-acl)
                    rm -r copied-acl
                    echo > err
                elif setfacl -m u:nobody:r copied-a/f644 2>err; then
                    echo "a named ACL entry was accepted"; exit 1
                else
                    grep -q 'Operation not supported' err
                fi
                setfacl -b copied-a/f644 && setfacl -m o::--- copied-a/f644
                test "$(stat -c %a copied-a/f644)" = "$([ "$BACKEND" = kernel ] && echo 600 || echo 640)"
                getfacl -c copied-a/f644 | grep -qx 'other::---'
                rm -r copied-a copied-p err
                """);
    }

    @Test
    @Order(2)
    void tarRoundTripKeepsSymlinksHardLinksModesAndTimes() {
        shell("""
                src="$D/src"; rm -rf "$src"; mkdir -p "$src/a/b"
                cp -a "$ROOT/fs/src/main/java/dev/cowfs/fs" "$src/a/b/fs"
                echo one > "$src/a/one"; ln "$src/a/one" "$src/a/b/one-again"; ln -s ../one "$src/a/b/link"
                chmod 750 "$src/a/b"; touch -d '2010-01-01' "$src/a/one"
                mkdir tarred
                tar -C "$src" -cf - . | tar -C tarred -xpf -
                diff -r --no-dereference "$src" tarred
                test "$(stat -c %i tarred/a/one)" = "$(stat -c %i tarred/a/b/one-again)"
                test "$(stat -c %a tarred/a/b)" = 750
                test "$(stat -c %Y tarred/a/one)" = "$(stat -c %Y "$src/a/one")"
                tar -C tarred -cf - . | tar -tvf - > "$D/listing-from-mount"
                tar -C "$src" -cf - . | tar -tvf - > "$D/listing-from-host"
                diff <(awk '{print $1, $3, $6}' "$D/listing-from-host" | sort) \
                     <(awk '{print $1, $3, $6}' "$D/listing-from-mount" | sort)
                rm -rf tarred
                """);
    }

    @Test
    @Order(3)
    void gitInitAddCommitAndFsckInsideTheMount() {
        String out = shell("""
                mkdir repo && cd repo
                git init -q . && git config user.email t@example.com && git config user.name tester
                cp -a "$ROOT/engine/src/main/java/dev/cowfs/engine" src
                git add -A && git commit -q -m first
                echo change >> src/Store.java && git commit -q -am second
                git fsck --full 2>&1
                git log --oneline | wc -l
                git status --porcelain | wc -l
                """);
        assertTrue(out.trim().endsWith("2\n0"), out);
    }

    @Test
    @Order(4)
    void sqliteTransactionsCommitAndRollBack() {
        String out = shell("""
                sqlite3 db.sqlite 'PRAGMA journal_mode=WAL; CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT);' >/dev/null
                for round in 1 2 3; do
                  { echo 'BEGIN;'; for i in $(seq 1 500); do echo "INSERT INTO t(v) VALUES ('r$round-$i');"; done; \
                    echo 'COMMIT;'; } | sqlite3 db.sqlite
                done
                sqlite3 db.sqlite "BEGIN; DELETE FROM t; ROLLBACK;"
                sqlite3 db.sqlite 'PRAGMA journal_mode=DELETE;' >/dev/null
                sqlite3 db.sqlite 'SELECT count(*) FROM t; PRAGMA integrity_check;'
                """);
        assertEquals("1500\nok", out.trim());
    }

    @Test
    @Order(5)
    void aSparseFilePastFourGibibytesReadsBackWhatWasWritten() {
        String out = shell("""
                truncate -s 5G big
                head -c 1048576 /dev/urandom > "$D/chunk"
                dd if="$D/chunk" of=big bs=1M seek=4700 conv=notrunc,fsync status=none
                dd if=big bs=1M skip=4700 count=1 status=none | cmp - "$D/chunk"
                dd if=big bs=1M skip=100 count=1 status=none | cmp - <(head -c 1048576 /dev/zero)
                stat -c %s big
                rm big
                """);
        assertEquals(String.valueOf(5L << 30), out.trim());
    }

    @Test
    @Order(6)
    void concurrentReadersSeeTheSameBytesWhileAWriterWrites() {
        String out = shell("""
                head -c 33554432 /dev/urandom > "$D/blob" && cp "$D/blob" blob
                expected=$(md5sum < "$D/blob")
                ( for i in $(seq 1 2000); do printf '%099d\\n' "$i"; done > stream ) &
                writer=$!
                for r in 1 2 3 4 5 6; do (md5sum < blob > "$D/sum-$r") & done
                wait
                for r in 1 2 3 4 5 6; do test "$(cat "$D/sum-$r")" = "$expected"; done
                stat -c %s stream
                rm blob stream
                """);
        assertEquals("200000", out.trim());
    }

    @Test
    @Order(7)
    void snapshotsTakenDuringAWriteStreamAreBrowsableAndWhole() {
        shell("""
                ( for i in $(seq 1 4000); do printf '%099d\\n' "$i"; done > log ) &
                writer=$!
                sleep 0.3
                java @"$ROOT/engine/jvm.args" -jar "$ROOT/tools/target/cowfs.jar" snapshot create "$IMG" default during
                mkdir .snapshots/by-mkdir
                wait $writer
                ls .snapshots | grep -x during >/dev/null && ls .snapshots | grep -x by-mkdir >/dev/null
                test -z "$(ls -A | grep -x .snapshots || true)"
                size=$(stat -c %s .snapshots/during/log)
                test $((size % 100)) = 0
                cmp -n "$size" .snapshots/during/log log
                (touch .snapshots/during/new 2>&1 || true) | grep 'Read-only file system' >/dev/null
                test "$(stat -c %i .snapshots/during/log)" != "$(stat -c %i log)"
                rmdir .snapshots/by-mkdir && ! test -e .snapshots/by-mkdir
                """);
    }

    /**
     * Reads, writes, fsync and ftruncate through the handle work after unlink (hard_remove with nullpath_ok).
     * fstat is left out: the kernel sends getattr without the handle, and libfuse 2's path layer has no path
     * for the removed file, so once the cached attributes lapse fstat says ENOENT (docs/ARCHITECTURE.md).
     */
    @Test
    @Order(8)
    void anUnlinkedOpenFileStaysUsableAndLeavesNoHiddenFiles() {
        String out = shell("""
                python3 - <<'PY'
                import os
                with open("f", "w+") as f:
                    f.write("first\\n"); f.flush()
                    os.unlink("f")
                    f.write("second\\n"); f.flush(); os.fsync(f.fileno())
                    f.seek(0); assert f.read() == "first\\nsecond\\n"
                    os.ftruncate(f.fileno(), 3); f.seek(0); assert f.read() == "fir"
                print(len([name for name in os.listdir(".") if "fuse_hidden" in name]))
                PY
                """);
        assertEquals("0", out.trim());
    }

    @Test
    @Order(9)
    void unmountAndRemountKeepEveryFile() throws IOException {
        String before = shell("""
                mkdir -p keep/deep && cp -a "$ROOT/docs" keep/deep/docs && echo tail > keep/last
                find . -path ./.snapshots -prune -o -type f -print0 | sort -z | xargs -0 md5sum
                """);
        ok("umount", mnt.toString());
        assertFalse(mountInfo().contains(" " + mnt + " "));
        ToolProcess.Result fsck = ToolProcess.run(dir, "fsck", image.toString());
        assertEquals(0, fsck.code(), fsck.toString());
        ok("mount", image.toString(), mnt.toString());
        String after = shell("find . -path ./.snapshots -prune -o -type f -print0 | sort -z | xargs -0 md5sum");
        assertEquals(before, after);
    }

    /**
     * Every way to stop a mount commits and releases the image: umount(8) after mount(8) through the installed
     * helper, fusermount -u, SIGTERM and SIGINT to the mount process. What was written without fsync is there
     * after each, and the image checks clean.
     */
    @Test
    @Order(10)
    void everyWayToStopAMountCommitsAndReleasesTheImage() throws Exception {
        Path stopsImage = dir.resolve("stops.img");
        Path stopsMnt = Files.createDirectory(dir.resolve("stops-mnt"));
        ok("mkfs", stopsImage.toString(), "--size", "1G");
        Path helpers = Files.createDirectory(dir.resolve("helpers"));
        ok("install-mount-helper", "--dir", helpers.toString());
        Path systemHelper = Path.of("/sbin/mount.fuse.cowfs");
        boolean installed = !Files.exists(systemHelper) && Files.isWritable(systemHelper.getParent());
        if (installed) {
            Files.copy(helpers.resolve("mount.fuse.cowfs"), systemHelper);
        }
        try {
            String[] stops = {"umount", "fusermount", "TERM", "INT"};
            for (int i = 0; i < stops.length; i++) {
                String mountCommand = i == 0 && installed
                        ? "mount -t fuse.cowfs \"$0\" \"$1\" -o snapdir=visible,backend=" + BACKEND
                        : "\"$2/mount.fuse.cowfs\" \"$0\" \"$1\" -o rw,snapdir=visible,noauto,backend=" + BACKEND;
                ProcessBuilder mount = new ProcessBuilder("bash", "-c", mountCommand, stopsImage.toString(),
                        stopsMnt.toString(), helpers.toString());
                ToolProcess.Result mounted = ToolProcess.run(mount);
                assertEquals(0, mounted.code(), mounted.toString());
                Matcher pid = Pattern.compile("pid (\\d+)").matcher(mounted.out());
                assertTrue(pid.find(), mounted.toString());
                shell(stopsMnt, "ls -A | grep -x .snapshots >/dev/null && echo " + stops[i] + " > " + stops[i]);
                String stop = switch (stops[i]) {
                    case "umount" -> "umount \"$0\"";
                    case "fusermount" -> "fusermount -u \"$0\" || fusermount3 -u \"$0\"";
                    default -> "kill -" + stops[i] + " " + pid.group(1);
                };
                assertEquals(0, new ProcessBuilder("bash", "-c", stop, stopsMnt.toString()).inheritIO().start()
                        .waitFor(), stop);
                ProcessHandle process = ProcessHandle.of(Long.parseLong(pid.group(1))).orElse(null);
                if (process != null) {
                    process.onExit().get(60, TimeUnit.SECONDS);
                }
                assertFalse(mountInfo().contains(" " + stopsMnt + " "), stops[i]);
                String log = Files.readString(dir.resolve("stops.img.mount.log"));
                String lastLine = log.strip().substring(log.strip().lastIndexOf('\n') + 1);
                assertTrue(lastLine.startsWith("unmounted " + stopsMnt + "; committed generation"), log);
                ToolProcess.Result fsck = ToolProcess.run(dir, "fsck", stopsImage.toString());
                assertEquals(0, fsck.code(), stops[i] + ": " + fsck);
                for (int j = 0; j <= i; j++) {
                    ToolProcess.Result cat = ToolProcess.run(dir, "cat", stopsImage.toString(), "/" + stops[j]);
                    assertEquals(stops[j] + "\n", cat.out(), stops[i] + ": " + cat);
                }
            }
        } finally {
            if (installed) {
                Files.deleteIfExists(systemHelper);
            }
        }
    }

    /**
     * default_permissions: the kernel checks modes for other users; without allow_other they cannot enter the
     * mount at all, with it they can read what the modes allow and nothing more. The kernel backend lets them in
     * by default ({@code -o noallow_other} keeps them out), libfuse 2 only with {@code -o allow_other}.
     */
    @Test
    @Order(11)
    void permissionsHoldForOtherUsersAndOnlyAllowOtherLetsThemIn() throws Exception {
        Path permsImage = dir.resolve("perms.img");
        Path permsMnt = Files.createDirectory(dir.resolve("perms-mnt"));
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        ok("mkfs", permsImage.toString(), "--size", "1G");
        String asNobody = "setpriv --reuid=65534 --regid=65534 --clear-groups ";
        for (boolean allowOther : new boolean[] {false, true}) {
            boolean kernel = BACKEND.equals("kernel");
            if (allowOther == kernel) {
                ok("mount", permsImage.toString(), permsMnt.toString()); // each backend's default
            } else {
                ok("mount", permsImage.toString(), permsMnt.toString(), "-o",
                        kernel ? "noallow_other" : "allow_other");
            }
            try {
                String out = shell(permsMnt, """
                        echo public > public && chmod 644 public
                        echo secret > secret && chmod 600 secret
                        echo hidden > hidden && chmod 644 hidden && setfacl -m o::--- hidden
                        mkdir -p shared && chmod 1777 shared
                        """ + asNobody + "ls . >/dev/null 2>&1 && echo list-ok || echo list-denied\n"
                        + asNobody + "cat public 2>/dev/null || echo read-public-denied\n"
                        + asNobody + "cat hidden 2>/dev/null || echo read-hidden-denied\n"
                        + asNobody + "cat secret 2>/dev/null || echo read-secret-denied\n"
                        + asNobody + "touch new 2>/dev/null || echo create-denied\n"
                        + "if " + asNobody + "sh -c 'echo mine > shared/mine' 2>/dev/null; then "
                        + "stat -c %u shared/mine; rm shared/mine; else echo write-shared-denied; fi\n");
                assertEquals(allowOther
                                ? "list-ok\npublic\nread-hidden-denied\nread-secret-denied\ncreate-denied\n65534"
                                : "list-denied\nread-public-denied\nread-hidden-denied\nread-secret-denied\n"
                                + "create-denied\nwrite-shared-denied",
                        out.strip(), "allow_other " + allowOther);
            } finally {
                ok("umount", permsMnt.toString());
            }
        }
    }

    /**
     * On a 64 MiB image holding a committed 40 MiB file: rm it and write 40 MiB again, 20 times in a row; each
     * time the freed space is waiting for the superblock ring, and each write must find it. df tells the truth on
     * the way: the capacity asked for, writes counted before they are committed, freed space counted as free once
     * the idle mount has made it reusable. The image file is the size asked for.
     */
    @Test
    @Order(12)
    void removeThenRewriteOnASmallImageAndDfTellsTheTruth() throws Exception {
        Path smallImage = dir.resolve("small.img");
        Path smallMnt = Files.createDirectory(dir.resolve("small-mnt"));
        ok("mkfs", smallImage.toString(), "--size", "64M");
        assertTrue(Files.size(smallImage) < 65L << 20, "a 64 MiB image is a file of " + Files.size(smallImage));
        ok("mount", smallImage.toString(), smallMnt.toString(), "-o", "commit=1");
        try {
            String out = shell(smallMnt, """
                    head -c $((40 << 20)) /dev/urandom > "$D/forty"
                    kib() { df --output="$1" -k . | tail -1 | tr -d ' '; }
                    echo "size $(kib size)"
                    before=$(kib used)
                    cp "$D/forty" f
                    echo "grew $(( $(kib used) - before ))"
                    sync f
                    for i in $(seq 20); do rm f; cp "$D/forty" f; done
                    cmp f "$D/forty"
                    rm f
                    for i in $(seq 100); do [ "$(kib used)" -lt 2048 ] && break; sleep 0.2; done
                    echo "after $(kib used)"
                    """);
            List<String> lines = out.lines().toList();
            assertEquals("size 65536", lines.get(0), out);
            assertTrue(Long.parseLong(lines.get(1).substring(5)) >= 40 << 10, "df did not count the write: " + out);
            assertTrue(Long.parseLong(lines.get(2).substring(6)) < 2048, "freed space not free when idle: " + out);
        } finally {
            ok("umount", smallMnt.toString());
        }
        ToolProcess.Result fsck = ToolProcess.run(dir, "fsck", smallImage.toString());
        assertEquals(0, fsck.code(), fsck.toString());
    }

    @Test
    @Order(13)
    void aMountProcessKilledMidWriteLeavesFsyncedDataAndACleanImage() throws Exception {
        Path killedImage = dir.resolve("killed.img");
        Path killedMnt = Files.createDirectory(dir.resolve("killed-mnt"));
        ok("mkfs", killedImage.toString(), "--size", "2G");
        ToolProcess.Result mounted = ok("mount", killedImage.toString(), killedMnt.toString(), "-o", "commit=60");
        Matcher pid = Pattern.compile("pid (\\d+)").matcher(mounted.out());
        assertTrue(pid.find(), mounted.toString());
        shell(killedMnt, """
                head -c 3000000 /dev/urandom > "$D/synced"
                dd if="$D/synced" of=synced bs=64k conv=fsync status=none
                """);
        Process writer = new ProcessBuilder("bash", "-c",
                "while head -c 65536 /dev/urandom >> unsynced; do :; done").directory(killedMnt.toFile())
                .redirectErrorStream(true).start();
        Path unsynced = killedMnt.resolve("unsynced");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while ((!Files.exists(unsynced) || Files.size(unsynced) < (1 << 20)) && System.nanoTime() < deadline) {
            Thread.sleep(10); // until the writer is well under way: the kill lands in the middle of its writes
        }
        new ProcessBuilder("kill", "-9", pid.group(1)).start().waitFor();
        writer.waitFor(20, TimeUnit.SECONDS);
        writer.destroyForcibly();
        new ProcessBuilder("bash", "-c", "fusermount -u -z \"$0\" || fusermount3 -u -z \"$0\"", killedMnt.toString())
                .start().waitFor();
        ToolProcess.Result fsck = ToolProcess.run(dir, "fsck", killedImage.toString());
        assertEquals(0, fsck.code(), fsck.toString());
        ok("mount", killedImage.toString(), killedMnt.toString());
        try {
            shell(killedMnt, "cmp synced \"$D/synced\"");
        } finally {
            ok("umount", killedMnt.toString());
        }
        ToolProcess.Result after = ToolProcess.run(dir, "fsck", killedImage.toString());
        assertEquals(0, after.code(), after.toString());
    }
}
