#!/usr/bin/env bash
# bench/run all [--quick]: every suite (engine, fs, snap, send, fuse, crash) in one run, then the report.
# Writes bench/results/: RESULTS.json (every JSON line of the run), machine.json (CPU, cores, memory, kernel,
# JDK, commit), commands.txt (each suite's exact command and how long it took, or why it was skipped), and
# report.md with its PNG charts, built from RESULTS.json alone. Progress goes to standard error.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
quick=""
[ "${1:-}" = "--quick" ] && quick="--quick"
out="$root/bench/results"
mkdir -p "$out"
rm -f "$out"/RESULTS.json "$out"/commands.txt "$out"/*.png "$out"/report.md
touch "$out/RESULTS.json"

if [ -z "${COWFS_BENCH_SKIP_BUILD:-}" ]; then
  (cd "$root" && mvn -B -q -DskipTests install -pl tools,bench -am) >&2
fi
export COWFS_BENCH_SKIP_BUILD=1
java_bin="${JAVA_HOME:+$JAVA_HOME/bin/}java"

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
json.dump({"cpu": cpu, "cores": os.cpu_count(), "memory_bytes": mem, "kernel": platform.release(),
           "jdk": jdk[0] if jdk else "", "commit": commit[0] if commit else "",
           "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")},
          open(path, "w"), indent=1)
PY

# One suite: its JSON lines go to RESULTS.json; its command, time and outcome to commands.txt.
run_suite() {
  local name="$1"; shift
  local started=$SECONDS status=0
  echo "== bench/run all: suite $name: $*" >&2
  "$@" > "$out/$name.jsonl" || status=$?
  cat "$out/$name.jsonl" >> "$out/RESULTS.json"
  local outcome="ok"
  if [ "$status" = 3 ]; then outcome="skipped (exit 3: see its message above)";
  elif [ "$status" != 0 ]; then outcome="failed (exit $status)"; fi
  printf '%s\t%s s\t%s\t%s\n' "$name" "$((SECONDS - started))" "$outcome" "$*" >> "$out/commands.txt"
  rm -f "$out/$name.jsonl"
}

for suite in engine fs snap send; do
  run_suite "$suite" "$root/bench/run" "$suite" $quick
done
run_suite fuse "$root/bench/run" fuse $quick

# The crash harness reports as suite "crash": states per second over seq1 (and seq2 in a full run), and against
# workload length (seeded random workloads).
crash_lines() {
  local bench="$1" length="$2"; shift 2
  java @"$root/engine/jvm.args" -jar "$root/tools/target/cowfs.jar" crashtest --json "$@" | python3 -c '
import json, sys
bench, length = sys.argv[1], int(sys.argv[2])
report = json.load(sys.stdin)
line = {"suite": "crash", "bench": bench, "impl": "cowfs", "rep": 0,
        "states_per_second": report["states_per_second"], "states_unique": report["states_unique"],
        "workloads": report["workloads"], "violations": report["violations"],
        "recovery_us_p99": report["recovery_us_p99"]}
if length:
    line["length"] = length
print(json.dumps(line, separators=(",", ":")))
if report["violations"]:
    sys.exit(5)
' "$bench" "$length"
}
crash_suite() {
  if [ -n "$quick" ]; then
    crash_lines seq1 0 --workloads seq1
    for length in 10 50 200; do crash_lines random "$length" --workloads random --length "$length" --time 20s; done
  else
    crash_lines seq1 0 --workloads seq1 --faults all --io-errors 16 --no-space 16
    crash_lines seq2 0 --workloads seq2 --time 10m
    for length in 10 30 100 300 1000; do
      crash_lines random "$length" --workloads random --length "$length" --time 60s
    done
  fi
}
run_suite crash crash_suite

java -cp "$root/bench/target/benchmarks.jar" dev.cowfs.bench.Report "$out/RESULTS.json" "$out" \
  "cowfs benchmark report$([ -n "$quick" ] && echo ' (quick run)')" >&2
echo "bench/run all: $(wc -l < "$out/RESULTS.json") lines; report in $out/report.md" >&2
