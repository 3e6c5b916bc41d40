#!/bin/bash
# jobs-idle.sh — the scale benchmark: sdvisor's memory and idle cost with many jobs and
# checks configured, against the same app with none. Six configurations: 0, 10 and N jobs
# (a yearly schedule: none fires during the measurement), each without and with 10
# [health] checks (5 tcp://, 2 unix:, 2 file:, 1 exec:, every 10 s, the default). The
# growth per job is given from 0 to N jobs and from 10 to N: the first job also brings
# in the pages of the job code and of the libraries it uses (time zones, the state
# directory), once, which the second figure leaves out. The app is listener.py
# (it accepts what the checks connect to). After SETTLE seconds: RSS and Private_Dirty
# (/proc/PID/smaps_rollup), threads, open fds, wake-ups (context switches of all threads)
# over WINDOW seconds, then the system calls strace counts over another WINDOW.
# Target: less than 1 KiB more per job. Measures, never fails.
#   BENCH_* environment: see lib.sh. SDVISOR_BENCH_JOBS (N, default 1000),
#   SDVISOR_BENCH_WINDOW (default 10), SDVISOR_BENCH_SCALE_SETTLE (default 20, 5 with
#   BENCH_QUICK=1: the checks' first round and GLib's idle worker threads retiring),
#   SDVISOR_BENCH_SCALE_CHECKS (the numbers of checks to run each with, default "0 10").
. "$(dirname "$0")/lib.sh"

n=${SDVISOR_BENCH_JOBS:-1000}
window=${SDVISOR_BENCH_WINDOW:-10}
settle=${SDVISOR_BENCH_SCALE_SETTLE:-20}
[ "$BENCH_QUICK" = 1 ] && settle=${SDVISOR_BENCH_SCALE_SETTLE:-5} window=3
port=$((20000 + RANDOM % 20000))
abstract=sdvisor-bench-$$

config() { # JOBS CHECKS
  printf '[app]\nname=scale\nexec=/usr/bin/python3 %s %d 5 %s\n' "$BENCH_SRC/listener.py" "$port" "$abstract"
  if [ "$2" -gt 0 ]; then
    printf '\n[health]\ncheck='
    for i in 0 1 2 3 4; do printf 'tcp://127.0.0.1:%d ' $((port + i)); done
    printf 'unix:@%s-0 unix:@%s-1 file:/etc/hostname file:%s exec:/bin/true\n' "$abstract" "$abstract" "$BENCH_SRC"
  fi
  local i
  for i in $(seq 1 "$1"); do
    printf '\n[job:j%d]\nschedule=*-01-01 00:00:00\nexec=/bin/true\n' "$i"
  done
}

echo "### Scale: $n jobs and 10 checks"
echo
echo "Target for sdvisor: less than 1 KiB more per job. Read ${settle} s after the start;"
echo "wake-ups and system calls over ${window} s each."
echo
echo "| configured | RSS | Private_Dirty | threads | fds | wake-ups | system calls | by call |"
echo "|---|---:|---:|---:|---:|---:|---:|---|"
declare -A RSS DIRTY
for jobs in 0 10 "$n"; do
  for checks in ${SDVISOR_BENCH_SCALE_CHECKS:-0 10}; do
    key=$jobs-$checks
    conf=$BENCH_WORK/scale-$key.conf
    config "$jobs" "$checks" > "$conf"
    chmod 0644 "$conf"
    state=$BENCH_WORK/scale-state-$key
    mkdir -p "$state"
    cmd "STATE_DIRECTORY=$state $SDVISOR run --config $conf   # $jobs jobs, $checks checks"
    STATE_DIRECTORY=$state setsid "$SDVISOR" run --config "$conf" > "$BENCH_WORK/scale-$key.log" 2>&1 < /dev/null &
    pid=$!
    sleep "$settle"
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "| $jobs jobs, $checks checks | sdvisor exited: $(tail -n 1 "$BENCH_WORK/scale-$key.log") | | | | | | |"
      continue
    fi
    RSS[$key]=$(kib "$pid" Rss)
    DIRTY[$key]=$(kib "$pid" Private_Dirty)
    nthreads=$(threads "$pid")
    fds=$(ls "/proc/$pid/fd" | wc -l)
    wakeups=$(ctxt_window "$pid" "$window")
    s=$(strace_count "$pid" "$window" "$BENCH_WORK/scale-strace-$key")
    calls=$(echo "${s#* }" | sed 's/^[0-9]*$//; s/^ //')
    [ ${#calls} -gt 160 ] && calls="${calls:0:157}…"
    printf '| %s jobs, %s checks | %s kB | %s kB | %s | %s | %s | %s | %s |\n' "$jobs" "$checks" \
      "${RSS[$key]}" "${DIRTY[$key]}" "$nthreads" "$fds" "$wakeups" "${s%% *}" "$calls"
    stop_supervisor "$pid"
  done
done
cmd "grep -E '^(Rss|Private_Dirty):' /proc/PID/smaps_rollup; ls /proc/PID/task /proc/PID/fd | wc -l"
cmd "cat /proc/PID/task/*/status | grep ctxt_switches   # before and after the window"
echo
per() { # KEY_WITH KEY_WITHOUT ARRAY JOBS_BETWEEN
  local -n a=$3
  [ -n "${a[$1]:-}" ] && [ -n "${a[$2]:-}" ] || { echo "?"; return; }
  awk -v x="${a[$1]}" -v y="${a[$2]}" -v n="$4" 'BEGIN {printf "%.0f bytes", (x - y) * 1024 / n}'
}
echo "Per job, 0 to $n jobs: RSS $(per "$n-0" 0-0 RSS $n), Private_Dirty $(per "$n-0" 0-0 DIRTY $n) without checks;"
echo "RSS $(per "$n-10" 0-10 RSS $n), Private_Dirty $(per "$n-10" 0-10 DIRTY $n) with the 10 checks."
echo "Per job, 10 to $n jobs: RSS $(per "$n-0" 10-0 RSS $((n - 10))), Private_Dirty $(per "$n-0" 10-0 DIRTY $((n - 10))) without checks;"
echo "RSS $(per "$n-10" 10-10 RSS $((n - 10))), Private_Dirty $(per "$n-10" 10-10 DIRTY $((n - 10))) with the 10 checks."
echo "(smaps_rollup counts whole 4 KiB pages, so these are ±4 bytes per job.)"
for c in ${SDVISOR_BENCH_SCALE_CHECKS:-0 10}; do
  gate "scale.rss.checks-$c" "$(per "$n-$c" "10-$c" RSS $((n - 10)) | cut -d' ' -f1)" bytes/job
  gate "scale.private_dirty.checks-$c" "$(per "$n-$c" "10-$c" DIRTY $((n - 10)) | cut -d' ' -f1)" bytes/job
done
print_commands
