#!/usr/bin/env bash
# bench/run fuse [--quick]: through the cowfs mount (served by cowfs's own FUSE server, "cowfs", and by the
# libfuse 2 adapter, "cowfsLibfuse2"; and, where the kernel has FUSE over io_uring, by its own server with
# -o uring, "cowfsUring", the fuse module's enable_uring switched on for the run and put back after), through bindfs over tmpfs (the FUSE ceiling of a libfuse 2 high-level
# server), through fuse-overlayfs over tmpfs (a libfuse 3 low-level server), on btrfs on a loop image in the same
# tmpfs (the kernel's copy-on-write filesystem) and on plain tmpfs, in one run, implementations interleaved within
# each repetition. Workloads: fio (seqWrite, seqRead, randRead4k, metadata) and real programs (treeCopy: cp -a of
# a tree of small files with modes and times; untar: tar -x of the same tree; sqliteTx: SQLite in WAL mode with
# synchronous=FULL, 2,000 transactions of 50 inserts; rsyncBig: rsync -a of big binaries). One JSON object per
# line on standard output; progress on standard error. Needs root (tmpfs and loop mounts, dropping caches), fio,
# bindfs, fuse-overlayfs, mkfs.btrfs, rsync, tar and python3.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
quick=""
[ "${1:-}" = "--quick" ] && quick=1

for tool in fio bindfs fusermount3 python3 fuse-overlayfs mkfs.btrfs rsync tar; do
  if ! command -v "$tool" >/dev/null; then
    echo "bench/run fuse: $tool is not installed (Debian: apt install fio bindfs fuse3 fuse-overlayfs" \
      "btrfs-progs rsync tar); suite skipped" >&2
    exit 3
  fi
done
if [ "$(id -u)" != 0 ]; then
  echo "bench/run fuse: needs root (tmpfs mounts, dropping caches); suite skipped" >&2
  exit 3
fi

if [ -n "$quick" ]; then
  reps=1; seq_bytes=$((256 << 20)); rand_seconds=5; files=2000; tree_files=4000; transactions=400
  big_bytes=$((64 << 20))
else
  reps=5; seq_bytes=$((1 << 30)); rand_seconds=20; files=10000; tree_files=20000; transactions=2000
  big_bytes=$((512 << 20))
fi

work="$(mktemp -d /tmp/cowfs-bench-fuse.XXXXXX)"
tmp="$work/tmpfs"; mkdir -p "$tmp"
mount -t tmpfs -o size=18g tmpfs "$tmp"
cowfs_mnt="$work/cowfs"; lib_mnt="$work/cowfs-libfuse2"; uring_mnt="$work/cowfs-uring"; bindfs_mnt="$work/bindfs"; ovl_mnt="$work/overlay"
btrfs_mnt="$work/btrfs"
mkdir -p "$cowfs_mnt" "$lib_mnt" "$uring_mnt" "$bindfs_mnt" "$ovl_mnt" "$btrfs_mnt" "$tmp/plain" "$tmp/bindsrc" \
  "$tmp/ovl-lower" "$tmp/ovl-upper" "$tmp/ovl-work" "$tmp/src"
cowfs() { COWFS_JAR="${COWFS_JAR:-$root/tools/target/cowfs.jar}" "$root/cowfs" "$@"; }
uring_switch=/sys/module/fuse/parameters/enable_uring
uring_was=""
cleanup() {
  cowfs umount "$cowfs_mnt" >/dev/null 2>&1 || fusermount3 -u -z "$cowfs_mnt" 2>/dev/null || true
  cowfs umount "$uring_mnt" >/dev/null 2>&1 || fusermount3 -u -z "$uring_mnt" 2>/dev/null || true
  [ -z "$uring_was" ] || echo "$uring_was" > "$uring_switch" 2>/dev/null || true
  cowfs umount "$lib_mnt" >/dev/null 2>&1 || fusermount3 -u -z "$lib_mnt" 2>/dev/null || true
  fusermount3 -u -z "$bindfs_mnt" 2>/dev/null || fusermount -u -z "$bindfs_mnt" 2>/dev/null || true
  fusermount3 -u -z "$ovl_mnt" 2>/dev/null || true
  umount "$btrfs_mnt" 2>/dev/null || umount -l "$btrfs_mnt" 2>/dev/null || true
  umount -l "$tmp" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

if [ -z "${COWFS_JAR:-}" ] && [ -z "${COWFS_BENCH_SKIP_BUILD:-}" ]; then
  (cd "$root" && mvn -B -q -DskipTests package -pl tools -am) >&2
fi
# The image lives on the same tmpfs as the bindfs source and the plain directory: all three hold data in
# memory, so the mounts' own costs are what differs.
cowfs mkfs "$tmp/bench.img" --size 6G >/dev/null
cowfs mount "$tmp/bench.img" "$cowfs_mnt" -o backend=kernel >&2
impls="cowfs cowfsLibfuse2 bindfs fuseOverlayfs btrfs tmpfs"
if [ -w "$uring_switch" ]; then
  uring_was="$(cat "$uring_switch")"
  echo Y > "$uring_switch"
  cowfs mkfs "$tmp/bench-uring.img" --size 6G >/dev/null
  cowfs mount "$tmp/bench-uring.img" "$uring_mnt" -o backend=kernel,uring >&2
  impls="cowfs cowfsUring cowfsLibfuse2 bindfs fuseOverlayfs btrfs tmpfs"
else
  echo "bench/run fuse: this kernel's fuse module has no io_uring switch ($uring_switch); no cowfsUring column" >&2
fi
cowfs mkfs "$tmp/bench-libfuse2.img" --size 6G >/dev/null
cowfs mount "$tmp/bench-libfuse2.img" "$lib_mnt" -o backend=libfuse2 >&2
bindfs --multithreaded -o big_writes "$tmp/bindsrc" "$bindfs_mnt" 2>/dev/null \
  || bindfs --multithreaded "$tmp/bindsrc" "$bindfs_mnt"
fuse-overlayfs -o "lowerdir=$tmp/ovl-lower,upperdir=$tmp/ovl-upper,workdir=$tmp/ovl-work" "$ovl_mnt"
truncate -s 6G "$tmp/btrfs.img"
mkfs.btrfs -q "$tmp/btrfs.img" >&2
mount -o loop "$tmp/btrfs.img" "$btrfs_mnt"
echo "bench/run fuse: cowfs on $cowfs_mnt (own server), ${uring_was:+$uring_mnt (-o uring), }$lib_mnt (libfuse 2), bindfs on $bindfs_mnt," \
  "fuse-overlayfs on $ovl_mnt, btrfs on $btrfs_mnt, tmpfs $tmp/plain; $reps repetition(s)" >&2

dir_of() {
  case "$1" in
    cowfs) echo "$cowfs_mnt" ;; cowfsUring) echo "$uring_mnt" ;; cowfsLibfuse2) echo "$lib_mnt" ;;
    bindfs) echo "$bindfs_mnt" ;;
    fuseOverlayfs) echo "$ovl_mnt" ;; btrfs) echo "$btrfs_mnt" ;; tmpfs) echo "$tmp/plain" ;;
  esac
}
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }

# fio JSON -> ops per second (the job's iops: 1 MiB requests for the sequential jobs, 4 KiB for random reads)
iops() { python3 -c 'import json,sys; j=json.load(sys.stdin)["jobs"]; print(sum(x[sys.argv[1]]["iops"] for x in j))' "$1"; }
emit() { # bench impl ops rep dataset
  printf '{"suite":"fuse","bench":"%s","impl":"%s","ops_per_s":%s,"rep":%s,"dataset_bytes":%s}\n' "$1" "$2" "$3" "$4" "$5"
}

run_seq_write() { # impl rep (the file is removed afterwards: six implementations' data share one tmpfs)
  local d; d="$(dir_of "$1")"; rm -f "$d/seq"
  fio --output-format=json --name=seqWrite --filename="$d/seq" --rw=write --bs=1M --size="$seq_bytes" \
      --ioengine=psync --end_fsync=1 | iops write
  rm -f "$d/seq"
}
run_seq_read() { # impl [bench name]
  local d; d="$(dir_of "$1")"; drop_caches
  fio --output-format=json --name="${2:-seqRead}" --filename="$d/read" --rw=read --bs=1M --size="$seq_bytes" \
      --ioengine=psync | iops read
}
run_rand_read() {
  local d; d="$(dir_of "$1")"; drop_caches
  fio --output-format=json --name=randRead4k --filename="$d/read" --rw=randread --bs=4k --size="$seq_bytes" \
      --ioengine=psync --numjobs=2 --time_based --runtime="$rand_seconds" --randseed=42 | iops read
}
run_metadata() { # create, stat and unlink $files small files; ops = 3 x files over the total time
  local d start end; d="$(dir_of "$1")/meta"; rm -rf "$d"; mkdir -p "$d"
  start=$(date +%s.%N)
  fio --output-format=json --name=create --directory="$d" --ioengine=filecreate --nrfiles="$files" \
      --filesize=4k --openfiles=1 --create_on_open=1 --bs=4k >/dev/null
  fio --output-format=json --name=create --directory="$d" --ioengine=filestat --nrfiles="$files" \
      --filesize=4k --openfiles=1 --bs=4k >/dev/null
  fio --output-format=json --name=create --directory="$d" --ioengine=filedelete --nrfiles="$files" \
      --filesize=4k --openfiles=1 --bs=4k >/dev/null
  end=$(date +%s.%N)
  python3 -c "print(round(3 * $files / ($end - $start), 1))"
}

# The real programs' inputs, made once on the tmpfs: a tree of small files (a few hundred directories, sizes 0 to
# 16 KiB, assorted modes, times set in the past), its tar archive, the SQL of the transactions, and big binaries.
python3 - "$tmp/src/tree" "$tree_files" <<'PY'
import os, random, sys
root, count = sys.argv[1], int(sys.argv[2])
r = random.Random(24)
dirs = [root]
os.makedirs(root)
for i in range(count):
    if i % 50 == 0:
        d = os.path.join(r.choice(dirs), 'd%d' % i)
        os.mkdir(d)
        dirs.append(d)
    path = os.path.join(r.choice(dirs), 'f%d' % i)
    with open(path, 'wb') as f:
        f.write(r.randbytes(r.choice([0, 100, 1000, 4096, 9000, 16384])))
    os.chmod(path, r.choice([0o644, 0o600, 0o755, 0o444, 0o640]))
    t = 1_500_000_000 + r.randrange(100_000_000)
    os.utime(path, (t, t))
for d in reversed(dirs):
    os.utime(d, (1_600_000_000, 1_600_000_000))
PY
tree_entries=$(find "$tmp/src/tree" | wc -l)
tar -cf "$tmp/src/tree.tar" -C "$tmp/src" tree
python3 - "$tmp/src/tx.sql" "$transactions" <<'PY'
import sys
with open(sys.argv[1], 'w') as f:
    f.write('PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;\n'
            'CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT, n INTEGER);\n')
    for tx in range(int(sys.argv[2])):
        f.write('BEGIN;\n')
        for row in range(50):
            f.write('INSERT INTO t VALUES(%d, hex(randomblob(100)), %d);\n' % (tx * 50 + row, row))
        f.write('COMMIT;\n')
PY
mkdir -p "$tmp/src/big"
find /usr/lib /usr/bin /usr/libexec -xdev -type f -size +1M -printf '%s %p\n' 2>/dev/null | sort -rn \
  | awk -v limit="$big_bytes" '{ if (sum + $1 > limit) next; sum += $1; print $2 }' \
  | while read -r f; do cp -a "$f" "$tmp/src/big/$(echo "${f#/}" | tr / _)"; done
big_total=$(du -sb "$tmp/src/big" | cut -f1)
echo "bench/run fuse: tree of $tree_entries entries, $transactions SQLite transactions, $big_total bytes of" \
  "binaries" >&2

timed() { # command...: seconds it took; a failed command ends the whole run (no figure from a failed copy)
  local start end; start=$(date +%s.%N)
  "$@" >/dev/null || { echo "bench/run fuse: '$*' failed; run abandoned" >&2; kill "$$"; exit 1; }
  end=$(date +%s.%N)
  python3 -c "print($end - $start)"
}
per_second() { python3 -c "print(round($1 / $2, 1))"; }
# treeCopy, untar: entries per second; the copy removed afterwards, untimed. sqliteTx: transactions per second.
# rsyncBig: MiB per second.
run_tree_copy() {
  local d; d="$(dir_of "$1")"; rm -rf "$d/tree"; sync
  per_second "$tree_entries" "$(timed cp -a "$tmp/src/tree" "$d/tree")"
  rm -rf "$d/tree"
}
run_untar() {
  local d; d="$(dir_of "$1")"; rm -rf "$d/tree"; sync
  per_second "$tree_entries" "$(timed tar -xf "$tmp/src/tree.tar" -C "$d")"
  rm -rf "$d/tree"
}
run_sqlite() {
  local d; d="$(dir_of "$1")"; rm -f "$d"/tx.db*; sync
  per_second "$transactions" "$(timed sqlite3 "$d/tx.db" ".read $tmp/src/tx.sql")"
  [ "$(sqlite3 "$d/tx.db" 'select count(*) from t')" = $((transactions * 50)) ] \
    || { echo "bench/run fuse: sqliteTx on $1 lost rows" >&2; exit 1; }
  rm -f "$d"/tx.db*
}
run_rsync() {
  local d; d="$(dir_of "$1")"; rm -rf "$d/big"; sync
  per_second "$((big_total >> 20))" "$(timed rsync -a "$tmp/src/big/" "$d/big/")"
  rm -rf "$d/big"
}

# The read jobs read a file written once here, and read before in the warm-up repetition: the repetitions
# measure reads of data read before, as for the peers. After the warm-up, the first read of a newly written
# file is reported on its own as seqReadFirstTouch: for cowfs it verifies every extent's checksum (once per
# extent per mount) and maps the image's freshly written pages.
for impl in $impls; do
  d="$(dir_of "$impl")"
  fio --output-format=json --name=setup --filename="$d/read" --rw=write --bs=1M --size="$seq_bytes" \
      --ioengine=psync --end_fsync=1 >/dev/null
done
first_touch() {
  for impl in $impls; do
    d="$(dir_of "$impl")"
    fio --output-format=json --name=setup --filename="$d/first" --rw=write --bs=1M --size="$seq_bytes" \
        --ioengine=psync --end_fsync=1 >/dev/null
    echo "bench/run fuse: first read $impl" >&2
    drop_caches
    emit seqReadFirstTouch "$impl" "$(fio --output-format=json --name=seqReadFirstTouch --filename="$d/first" \
        --rw=read --bs=1M --size="$seq_bytes" --ioengine=psync | iops read)" 1 "$seq_bytes"
    rm -f "$d/first"
  done
}
# Repetition 0 warms up (the mount process's JIT compiler, the page cache's structures) and is not reported.
for rep in $(seq 0 "$reps"); do
  [ "$rep" = 1 ] && first_touch
  for bench in seqWrite seqRead randRead4k metadata treeCopy untar sqliteTx rsyncBig; do
    for impl in $impls; do
      echo "bench/run fuse: rep $rep $bench $impl" >&2
      case "$bench" in
        seqWrite) ops=$(run_seq_write "$impl"); size=$seq_bytes ;;
        seqRead) ops=$(run_seq_read "$impl"); size=$seq_bytes ;;
        randRead4k) ops=$(run_rand_read "$impl"); size=$seq_bytes ;;
        metadata) ops=$(run_metadata "$impl"); size=$((files * 4096)) ;;
        treeCopy) ops=$(run_tree_copy "$impl"); size=$tree_entries ;;
        untar) ops=$(run_untar "$impl"); size=$tree_entries ;;
        sqliteTx) ops=$(run_sqlite "$impl"); size=$transactions ;;
        rsyncBig) ops=$(run_rsync "$impl"); size=$big_total ;;
      esac
      [ "$rep" = 0 ] || emit "$bench" "$impl" "$ops" "$rep" "$size"
    done
  done
done
cowfs umount "$cowfs_mnt" >&2
cowfs umount "$lib_mnt" >&2
cowfs fsck "$tmp/bench.img" >&2
if [ -n "$uring_was" ]; then
  cowfs umount "$uring_mnt" >&2
  cowfs fsck "$tmp/bench-uring.img" >&2
fi
cowfs fsck "$tmp/bench-libfuse2.img" >&2
fusermount3 -u "$ovl_mnt" >&2
umount "$btrfs_mnt" >&2
