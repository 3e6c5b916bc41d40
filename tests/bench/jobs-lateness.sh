#!/usr/bin/env bash
# Lateness of scheduled job starts: N jobs `every 1s` on one sdvisor for SECONDS seconds;
# prints the median and 99th percentile of (start - slot) as sdvisor itself logs it
# ("…; NNNus after its time", taken right after fork/exec returned). Measures, never fails.
#   tests/bench/jobs-lateness.sh [SDVISOR_BINARY] [N=100] [SECONDS=60] [STATE_DIR_PARENT=$TMPDIR]
# The state directory's file system matters: each claim and each result is an fsync'd
# atomic replace, so a slow disk shows up here. Run it once with /dev/shm as the last
# argument to see sdvisor's own share.
set -euo pipefail
bin=${1:-${SDVISOR_BINARY:-build/src/sdvisor}}
n=${2:-100}
seconds=${3:-60}
parent=${4:-${TMPDIR:-/tmp}}
work=$(mktemp -d "${TMPDIR:-/tmp}/sdvisor-bench-lateness-XXXXXX")
state=$(mktemp -d "$parent/sdvisor-bench-state-XXXXXX")
trap 'rm -rf "$work" "$state"' EXIT

{
  printf '[app]\nname=bench\nexec=/bin/sleep infinity\n'
  for i in $(seq 1 "$n"); do
    printf '\n[job:j%d]\nschedule=every 1s\nexec=/bin/true\n' "$i"
  done
} > "$work/bench.conf"

STATE_DIRECTORY="$state" "$bin" run --config "$work/bench.conf" 2> "$work/stderr" &
pid=$!
sleep "$seconds"
kill -TERM "$pid"
wait "$pid" || true

fs=$(stat -f -c %T "$state")
grep -o '; [0-9-]*us after its time' "$work/stderr" | grep -o '[0-9-]*' | sort -n > "$work/lateness"
runs=$(wc -l < "$work/lateness")
skips=$(grep -c 'skipped: ' "$work/stderr" || true)
if [ "$runs" -eq 0 ]; then
  echo "no job started; sdvisor said:"; tail -20 "$work/stderr"; exit 1
fi
pick() { sed -n "$(( ($1 * runs + 99) / 100 ))p" "$work/lateness"; }
echo "jobs=$n seconds=$seconds state-fs=$fs runs=$runs skipped=$skips"
echo "lateness: min $(head -1 "$work/lateness")us median $(pick 50)us p90 $(pick 90)us p99 $(pick 99)us max $(tail -1 "$work/lateness")us"
