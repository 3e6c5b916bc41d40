#!/bin/bash
# jobs-lateness.sh — lateness of scheduled job starts: N jobs `every 1s` on one sdvisor
# for SECONDS seconds; start time minus slot, two ways: as sdvisor logs it ("…; NNNus
# after its time", taken right after fork returned), and as the job itself sees it
# (jobstamp: CLOCK_REALTIME first thing in main() minus SDVISOR_JOB_SLOT, so exec and
# the dynamic loader are included). Median, p90, p99, max. Measures, never fails.
#
# The state directory's file system matters: each claim and each result is an fsync'd
# atomic replace (README, [job:NAME]), so it runs twice: with the state directory on $TMPDIR
# (a disk, like /var/lib/sdvisor) and on /dev/shm (tmpfs: sdvisor's own share).
# Then the floor, with no supervisor: spawnfloor starts the same N jobstamps at each whole
# second with posix_spawn() and nothing else, from one thread and from two; what sdvisor
# cannot beat by any change of its own, since the job's exec is in both figures.
#   BENCH_* environment: see lib.sh. SDVISOR_BENCH_LATE_JOBS (N, default 100),
#   SDVISOR_BENCH_LATE_SECONDS (default 60; 10 with BENCH_QUICK=1), SDVISOR_BENCH_LATE_FLOOR=0
#   (no floor).
. "$(dirname "$0")/lib.sh"

n=${SDVISOR_BENCH_LATE_JOBS:-100}
seconds=${SDVISOR_BENCH_LATE_SECONDS:-60}
[ "$BENCH_QUICK" = 1 ] && seconds=${SDVISOR_BENCH_LATE_SECONDS:-10}

echo "### Job lateness: $n jobs every second for $seconds s"
echo
echo "Target for sdvisor: median ≤ 10 ms, p99 ≤ 50 ms. Lateness = start − slot, in ms."
echo
echo "| state directory | runs | skipped | seen by | median | p90 | p99 | max |"
echo "|---|---:|---:|---|---:|---:|---:|---:|"
ms() { awk '{printf "%.2f\n", $1 / 1000}'; }
# row LABEL RUNS SKIPPED SEEN_BY FILE: one line of the table from FILE's lateness figures
# (µs, one a line); RUNS "" = as many as FILE has.
row() {
  local cnt med p90 p99 max
  read -r cnt med p90 p99 _ max _ <<< "$(stats < "$5" 2> /dev/null || echo "0 - - - - - -")"
  if [ "${cnt:-0}" = 0 ]; then
    printf '| %s | %s | %s | %s | no data | | | |\n' "$1" "${2:-0}" "$3" "$4"
    return
  fi
  printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$1" "${2:-$cnt}" "$3" "$4" \
    "$(echo "$med" | ms)" "$(echo "$p90" | ms)" "$(echo "$p99" | ms)" "$(echo "$max" | ms)"
}
for parent in "${TMPDIR:-/tmp}" /dev/shm; do
  fs=$(stat -f -c %T "$parent")
  tag=${fs//[^a-z0-9]/_}
  state=$(mktemp -d "$parent/sdvisor-bench-state-XXXXXX")
  stamps=$BENCH_WORK/lateness-stamps-$tag-$RANDOM
  conf=$BENCH_WORK/lateness.conf
  {
    printf '[app]\nname=bench\nexec=/bin/sleep infinity\n'
    for i in $(seq 1 "$n"); do
      printf '\n[job:j%d]\nschedule=every 1s\nexec=%s %s\n' "$i" "$BENCH_BIN/jobstamp" "$stamps"
    done
  } > "$conf"
  chmod 0644 "$conf"
  log=$BENCH_WORK/lateness-$tag.log
  cmd "STATE_DIRECTORY=$state $SDVISOR run --config $conf   # $n × [job:jN] schedule=every 1s exec=$BENCH_BIN/jobstamp FILE; TERM after ${seconds}s"
  STATE_DIRECTORY=$state setsid "$SDVISOR" run --config "$conf" > "$log" 2>&1 < /dev/null &
  pid=$!
  sleep "$seconds"
  stop_supervisor "$pid"
  grep -o '; [0-9-]*us after its time' "$log" | grep -o '[0-9-]*' > "$BENCH_WORK/late-sdvisor" || true
  runs=$(wc -l < "$BENCH_WORK/late-sdvisor")
  skips=$(grep -c 'skipped: ' "$log" || true)
  row "$parent ($fs)" "$runs" "$skips" "sdvisor's log" "$BENCH_WORK/late-sdvisor"
  row "$parent ($fs)" "$runs" "$skips" "the job (jobstamp)" "$stamps"
  # Runs lost: every job's run of every slot between the first and the last one seen (the
  # first and the last are partial: start-up, TERM); a skipped slot is one of them.
  gate "jobs.lost.$([ "$parent" = /dev/shm ] && echo shm || echo tmpdir)" "$(grep -o '^.*job j[0-9]* started (pid [0-9]*) for slot [^;]*;' "$log" |
    awk -v n="$n" '
      { job = $0; sub(/.* job /, "", job); sub(/ .*/, "", job)
        slot = $0; sub(/.* for slot /, "", slot); sub(/;$/, "", slot)
        ran[job " " slot] = 1; slots[slot] = 1 }
      END {
        m = 0; for (s in slots) list[++m] = s
        if (m < 3) { print "-"; exit }
        for (i = 1; i <= m; i++) for (k = i + 1; k <= m; k++) if (list[k] < list[i]) { t = list[i]; list[i] = list[k]; list[k] = t }
        for (i = 2; i < m; i++) for (j = 1; j <= n; j++) if (!(("j" j " " list[i]) in ran)) lost++
        print lost + 0 }')" runs
  rm -rf "$state"
done
cmd "grep -o '; [0-9-]*us after its time' LOG   # sdvisor's own figure, per run"
floor_threads="1 2"
[ "${SDVISOR_BENCH_LATE_FLOOR:-1}" = 1 ] || floor_threads=
for t in $floor_threads; do
  stamps=$BENCH_WORK/lateness-stamps-floor-$t-$RANDOM
  cmd "$BENCH_BIN/spawnfloor -n $n -s $seconds -t $t -- $BENCH_BIN/jobstamp FILE   # no supervisor: posix_spawn() only, $t thread(s)"
  "$BENCH_BIN/spawnfloor" -n "$n" -s "$seconds" -t "$t" -- "$BENCH_BIN/jobstamp" "$stamps" || true
  row "none: posix_spawn() loop, $t thread$([ "$t" = 1 ] || echo s)" "" – "the job (jobstamp)" "$stamps"
done
echo
echo "$n jobs × $seconds s would be $((n * seconds)) runs if every slot ran; a slot still running"
echo "when the next comes is skipped (overlap=skip), and the first and last seconds are partial."
print_commands
