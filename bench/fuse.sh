#!/usr/bin/env bash
# bench/run fuse [--quick]: fio through the cowfs mount (served by cowfs's own FUSE server, "cowfs", and by the
# libfuse 2 adapter, "cowfsLibfuse2"), through bindfs over tmpfs (the FUSE ceiling) and on plain tmpfs, in one run,
# implementations interleaved within each repetition. One JSON object per line on
# standard output; progress on standard error. Needs root (tmpfs mounts, dropping caches), fio and bindfs.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
quick=""
[ "${1:-}" = "--quick" ] && quick=1

for tool in fio bindfs fusermount3 python3; do
  if ! command -v "$tool" >/dev/null; then
    echo "bench/run fuse: $tool is not installed (Debian: apt install fio bindfs fuse3); suite skipped" >&2
    exit 3
  fi
done
if [ "$(id -u)" != 0 ]; then
  echo "bench/run fuse: needs root (tmpfs mounts, dropping caches); suite skipped" >&2
  exit 3
fi

if [ -n "$quick" ]; then
  reps=1; seq_bytes=$((256 << 20)); rand_seconds=5; files=2000
else
  reps=5; seq_bytes=$((1 << 30)); rand_seconds=20; files=10000
fi

work="$(mktemp -d /tmp/cowfs-bench-fuse.XXXXXX)"
tmp="$work/tmpfs"; mkdir -p "$tmp"
mount -t tmpfs -o size=14g tmpfs "$tmp"
cowfs_mnt="$work/cowfs"; lib_mnt="$work/cowfs-libfuse2"; bindfs_mnt="$work/bindfs"
mkdir -p "$cowfs_mnt" "$lib_mnt" "$bindfs_mnt" "$tmp/plain" "$tmp/bindsrc"
cowfs() { COWFS_JAR="${COWFS_JAR:-$root/tools/target/cowfs.jar}" "$root/cowfs" "$@"; }
cleanup() {
  cowfs umount "$cowfs_mnt" >/dev/null 2>&1 || fusermount3 -u -z "$cowfs_mnt" 2>/dev/null || true
  cowfs umount "$lib_mnt" >/dev/null 2>&1 || fusermount3 -u -z "$lib_mnt" 2>/dev/null || true
  fusermount3 -u -z "$bindfs_mnt" 2>/dev/null || fusermount -u -z "$bindfs_mnt" 2>/dev/null || true
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
cowfs mkfs "$tmp/bench-libfuse2.img" --size 6G >/dev/null
cowfs mount "$tmp/bench-libfuse2.img" "$lib_mnt" -o backend=libfuse2 >&2
bindfs --multithreaded -o big_writes "$tmp/bindsrc" "$bindfs_mnt" 2>/dev/null \
  || bindfs --multithreaded "$tmp/bindsrc" "$bindfs_mnt"
echo "bench/run fuse: cowfs on $cowfs_mnt (own server), $lib_mnt (libfuse 2), bindfs on $bindfs_mnt, tmpfs" \
  "$tmp/plain; $reps repetition(s)" >&2
impls="cowfs cowfsLibfuse2 bindfs tmpfs"

dir_of() {
  case "$1" in
    cowfs) echo "$cowfs_mnt" ;; cowfsLibfuse2) echo "$lib_mnt" ;; bindfs) echo "$bindfs_mnt" ;; tmpfs) echo "$tmp/plain" ;;
  esac
}
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }

# fio JSON -> ops per second (the job's iops: 1 MiB requests for the sequential jobs, 4 KiB for random reads)
iops() { python3 -c 'import json,sys; j=json.load(sys.stdin)["jobs"]; print(sum(x[sys.argv[1]]["iops"] for x in j))' "$1"; }
emit() { # bench impl ops rep dataset
  printf '{"suite":"fuse","bench":"%s","impl":"%s","ops_per_s":%s,"rep":%s,"dataset_bytes":%s}\n' "$1" "$2" "$3" "$4" "$5"
}

run_seq_write() { # impl rep
  local d; d="$(dir_of "$1")"; rm -f "$d/seq"
  fio --output-format=json --name=seqWrite --filename="$d/seq" --rw=write --bs=1M --size="$seq_bytes" \
      --ioengine=psync --end_fsync=1 | iops write
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
  for bench in seqWrite seqRead randRead4k metadata; do
    for impl in $impls; do
      echo "bench/run fuse: rep $rep $bench $impl" >&2
      case "$bench" in
        seqWrite) ops=$(run_seq_write "$impl"); size=$seq_bytes ;;
        seqRead) ops=$(run_seq_read "$impl"); size=$seq_bytes ;;
        randRead4k) ops=$(run_rand_read "$impl"); size=$seq_bytes ;;
        metadata) ops=$(run_metadata "$impl"); size=$((files * 4096)) ;;
      esac
      [ "$rep" = 0 ] || emit "$bench" "$impl" "$ops" "$rep" "$size"
    done
  done
done
cowfs umount "$cowfs_mnt" >&2
cowfs umount "$lib_mnt" >&2
cowfs fsck "$tmp/bench.img" >&2
cowfs fsck "$tmp/bench-libfuse2.img" >&2
