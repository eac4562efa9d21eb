#!/usr/bin/env bash
# bench/run all [--quick]: every suite (engine, fs, snap, send, fuse, crash) in one run, then the report.
# Writes bench/results/: RESULTS.json (every JSON line of the run), machine.json (CPU, cores, memory, kernel,
# JDK, disks, commit), commands.txt (each suite's exact command, how long it took and its outcome), skipped.txt
# (peers or suites skipped and why), each suite's log and the PNG charts; then bench/RESULTS.md, the report,
# built from those files alone (with bench/METHOD.md, the hand-written method). Progress goes to standard error.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
quick=""
[ "${1:-}" = "--quick" ] && quick="--quick"
out="$root/bench/results"
mkdir -p "$out"
rm -f "$out"/RESULTS.json "$out"/commands.txt "$out"/skipped.txt "$out"/*.png "$out"/*.log "$out"/report.md
touch "$out/RESULTS.json" "$out/skipped.txt"

if [ -z "${COWFS_BENCH_SKIP_BUILD:-}" ]; then
  (cd "$root" && mvn -B -q -DskipTests install -pl tools,bench -am) >&2
fi
export COWFS_BENCH_SKIP_BUILD=1
java_bin="${JAVA_HOME:+$JAVA_HOME/bin/}java"
java_args=(@"$root/engine/jvm.args")
major=$("$java_bin" -XshowSettings:properties -version 2>&1 | sed -n 's/ *java.specification.version = //p')
if [ "${major%%.*}" -ge 24 ] 2>/dev/null; then java_args+=(@"$root/engine/jvm24.args"); fi

# What a run killed midway leaves on tmpfs (loop mounts of the snap suite's peers, datasets of killed forks)
# holds memory the next suites need: cleared before the run and after it, however it ends.
memdir=/dev/shm # the suites' default (cowfs.bench.memdir)
clear_leftovers() {
  local dir mount
  for dir in "$memdir"/cowfs-snap* "$memdir"/cowfs-send* "$memdir"/cowfs-bench-*; do
    [ -e "$dir" ] || continue
    for mount in "$dir"/*.mnt; do
      if [ -d "$mount" ] && mountpoint -q "$mount"; then umount -l "$mount" || true; fi
    done
    echo "bench/run all: removing $dir, left by a run that did not finish" >&2
    rm -rf "$dir"
  done
}
clear_leftovers
trap clear_leftovers EXIT

# The machine, as the run saw it.
python3 - "$out/machine.json" "$java_bin" "$root" <<'PY'
import json, os, platform, subprocess, sys, datetime
path, java, root = sys.argv[1:4]
def run(*cmd):
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        return done.stdout + done.stderr
    except Exception:
        return ""
cpu = ""
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        cpu = line.split(":", 1)[1].strip()
        break
mem = 0
for line in open("/proc/meminfo"):
    if line.startswith("MemTotal"):
        mem = int(line.split()[1]) * 1024
jdk = run(java, "-version").strip().splitlines()
commit = run("git", "-C", root, "rev-parse", "--short", "HEAD").strip().splitlines()
def disk(path):
    rows = run("df", "-hT", path).strip().splitlines()
    return " ".join(rows[-1].split()[:3]) if len(rows) > 1 else ""
json.dump({"cpu": cpu, "cores": os.cpu_count(), "memory_bytes": mem, "kernel": platform.release(),
           "jdk": jdk[0] if jdk else "", "commit": commit[0] if commit else "",
           "memory_dir": disk("/dev/shm"), "project_disk": disk(os.path.join(root, "bench")),
           "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")},
          open(path, "w"), indent=1)
PY

# One suite: its JSON lines go to RESULTS.json; its command, time and outcome to commands.txt.
run_suite() {
  local name="$1"; shift
  local started=$SECONDS status=0
  echo "== bench/run all: suite $name: $*" >&2
  set +e
  "$@" 2>&1 > "$out/$name.jsonl" | tee "$out/$name.log" >&2 # progress to the terminal and the suite's log
  status=${PIPESTATUS[0]}
  set -e
  grep -i "skipped" "$out/$name.log" | sed "s/^/$name: /" >> "$out/skipped.txt" || true
  cat "$out/$name.jsonl" >> "$out/RESULTS.json"
  local outcome="ok"
  if [ "$status" = 3 ]; then outcome="skipped (see below)";
  elif [ "$status" != 0 ]; then outcome="failed (exit $status)"; fi
  printf '%s\t%s s\t%s\t%s\n' "$name" "$((SECONDS - started))" "$outcome" "$*" >> "$out/commands.txt"
  rm -f "$out/$name.jsonl"
}

for suite in engine fs snap send; do
  run_suite "$suite" "$root/bench/run" "$suite" $quick
done
run_suite fuse "$root/bench/run" fuse $quick
run_suite cli "$root/bench/run" cli $quick

# The crash harness reports as suite "crash": states per second over seq1 (and seq2 in a full run), and against
# workload length (seeded random workloads). Every line carries its workloads' length (seqN: N operations).
crash_lines() {
  local bench="$1" length="$2"; shift 2
  local command=("$java_bin" "${java_args[@]}" -jar "$root/tools/target/cowfs.jar" crashtest --json "$@")
  local started=$SECONDS status=0
  echo "== bench/run all: crash $bench: ${command[*]}" >&2
  set +e
  "${command[@]}" | python3 -c '
import json, sys
bench, length = sys.argv[1], int(sys.argv[2])
report = json.load(sys.stdin)
line = {"suite": "crash", "bench": bench, "impl": "cowfs", "rep": 0,
        "states_per_second": report["states_per_second"], "states_unique": report["states_unique"],
        "workloads": report["workloads"], "violations": report["violations"],
        "recovery_us_p99": report["recovery_us_p99"]}
line["length"] = length  # operations a workload does (seqN: N)
print(json.dumps(line, separators=(",", ":")))
if report["violations"]:
    sys.exit(5)
' "$bench" "$length" >> "$out/RESULTS.json"
  status=$?
  set -e
  local outcome="ok" label="crash $bench"
  if [ "$status" != 0 ]; then outcome="failed (exit $status)"; fi
  if [ "$bench" = random ]; then label="$label, length $length"; fi
  printf '%s\t%s s\t%s\t%s\n' "$label" "$((SECONDS - started))" "$outcome" "${command[*]}" >> "$out/commands.txt"
}
# Each crash harness run is a row of its own in commands.txt (its exact command).
crash_suite() {
  if [ -n "$quick" ]; then
    crash_lines seq1 1 --workloads seq1
    for length in 10 50 200; do crash_lines random "$length" --workloads random --length "$length" --time 20s; done
  else
    crash_lines seq1 1 --workloads seq1 --faults all --io-errors 16 --no-space 16
    crash_lines seq2 2 --workloads seq2 --time 3m
    for length in 10 30 100 300 1000; do
      crash_lines random "$length" --workloads random --length "$length" --time 20s
    done
  fi
}
crash_suite

"$java_bin" -cp "$root/bench/target/benchmarks.jar" dev.cowfs.bench.Report "$out" "$root/bench/RESULTS.md" \
  "cowfs benchmark report$([ -n "$quick" ] && echo ' (quick run)')" "$root/bench/METHOD.md" >&2
echo "bench/run all: $(wc -l < "$out/RESULTS.json") lines; report in bench/RESULTS.md, charts in $out" >&2
