#!/usr/bin/env bash
# sdvisor's memory and idle wake-ups with N jobs configured that do not fire during the
# measurement (a yearly schedule), against the same app with no job. Measures, never fails.
#   tests/bench/jobs-idle.sh [SDVISOR_BINARY] [N=1000] [MEASURE_SECONDS=10]
# RSS and Private_Dirty come from /proc/PID/smaps_rollup; wake-ups are the context
# switches of all of sdvisor's threads over the window (voluntary + involuntary), and the
# system calls strace counts in the same window.
set -euo pipefail
bin=${1:-${SDVISOR_BINARY:-build/src/sdvisor}}
n=${2:-1000}
window=${3:-10}
work=$(mktemp -d "${TMPDIR:-/tmp}/sdvisor-bench-idle-XXXXXX")
trap 'kill -TERM $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

config() {
  printf '[app]\nname=idle\nexec=/bin/sleep infinity\n'
  for i in $(seq 1 "$1"); do
    printf '\n[job:j%d]\nschedule=*-01-01 00:00:00\nexec=/bin/true\n' "$i"
  done
}

ctxt() {
  local total=0 t v
  for t in /proc/"$1"/task/*/status; do
    v=$(awk '/ctxt_switches/ {s += $2} END {print s}' "$t" 2>/dev/null || echo 0)
    total=$((total + v))
  done
  echo "$total"
}

measure() {
  local jobs=$1
  config "$jobs" > "$work/c$jobs.conf"
  mkdir -p "$work/state$jobs"
  STATE_DIRECTORY="$work/state$jobs" "$bin" run --config "$work/c$jobs.conf" 2> "$work/err$jobs" &
  local pid=$!
  # Let the start-up checks finish and GLib's idle worker threads retire.
  sleep 20
  local rss dirty threads before after calls
  rss=$(awk '/^Rss:/ {print $2}' /proc/$pid/smaps_rollup)
  dirty=$(awk '/^Private_Dirty:/ {print $2}' /proc/$pid/smaps_rollup)
  threads=$(ls /proc/$pid/task | wc -l)
  # Two windows: strace's own attaching would count as context switches.
  before=$(ctxt $pid)
  sleep "$window"
  after=$(ctxt $pid)
  calls=n/a
  if command -v strace >/dev/null; then
    timeout -s INT "$window" strace -c -f -p "$pid" -o "$work/strace$jobs" 2>/dev/null || true
    calls=$(awk '/total/ {print $3}' "$work/strace$jobs")
  fi
  echo "jobs=$jobs rss=${rss}kB private_dirty=${dirty}kB threads=$threads" \
       "context_switches_in_${window}s=$((after - before)) syscalls_in_${window}s=${calls:-0}"
  kill -TERM "$pid"; wait "$pid" || true
}

measure 0
measure "$n"
