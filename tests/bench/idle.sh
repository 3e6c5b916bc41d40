#!/bin/bash
# idle.sh — what an idle supervisor costs: the system calls of all its threads over a
# window (strace -c -f -p), and its wake-ups (context switches, counted without strace
# in a window of the same length just before). The app is `sleep infinity`.
# sdvisor runs twice: with nothing configured (no checks, no jobs, no watchdog), then
# under a 30 s watchdog: NOTIFY_SOCKET is notify-sink.py's socket, WATCHDOG_USEC=30000000
# and WATCHDOG_PID=sdvisor's pid, as systemd sets them for WatchdogSec=30s; it should
# ping every 15 s and do nothing else. Measures, never fails.
#   BENCH_* environment: see lib.sh. SDVISOR_BENCH_WINDOW (seconds, default 10);
#   SDVISOR_BENCH_IDLE_WATCHDOG=0 leaves out the run under the watchdog.
. "$(dirname "$0")/lib.sh"

window=${SDVISOR_BENCH_WINDOW:-10}
wd_window=30
settle=5
if [ "$BENCH_QUICK" = 1 ]; then
  window=3 wd_window=16 settle=2
fi

echo "### Idle cost"
echo
echo "Target for sdvisor: no system call at all with nothing configured; otherwise only the"
echo "configured timers. Counted after ${settle} s."
echo
echo "| supervisor | configured | window | system calls (strace -c -f) | by call | wake-ups (context switches) |"
echo "|---|---|---:|---:|---|---:|"

row() {
  local name=$1 what=$2 secs=$3 pid=$4 wakeups s
  sleep "$settle"
  wakeups=$(ctxt_window "$pid" "$secs")
  cmd "cat /proc/PID/task/*/status | grep ctxt_switches   # before and after the window"
  s=$(strace_count "$pid" "$secs" "$BENCH_WORK/idle-strace-$name-$secs")
  if [ "$name $what" = "sdvisor nothing" ] && [ -e "$BENCH_WORK/idle-strace-$name-$secs.counted" ]; then
    gate idle.syscalls "${s%% *}" "calls/${secs}s"
  fi
  printf '| %s | %s | %s s | %s | %s | %s |\n' "$name" "$what" "$secs" "${s%% *}" \
    "$(echo "${s#* }" | sed 's/^[0-9]*$//; s/^ //')" "$wakeups"
}

start_supervisor sdvisor "$BENCH_WORK/idle-sdvisor.log" /bin/sleep infinity
row sdvisor "nothing" "$window" "$SUP_PID"
stop_supervisor "$SUP_PID"
# SDVISOR_BENCH_IDLE_WATCHDOG=0 (the CI gate): not the run under the watchdog, whose
# 30 s period needs a window of its own length.
watchdog=${SDVISOR_BENCH_IDLE_WATCHDOG:-1}
if [ "$watchdog" = 1 ]; then
  # Under a watchdog: the environment systemd gives a Type=notify unit with WatchdogSec=30s.
  sock=$BENCH_WORK/notify.sock
  pings=$BENCH_WORK/notify.log
  : > "$pings"
  python3 "$BENCH_SRC/notify-sink.py" "$sock" "$pings" &
  sink=$!
  for _ in $(seq 1 50); do [ -S "$sock" ] && break; sleep 0.1; done
  cmd "$BENCH_SRC/notify-sink.py $sock LOG &"
  wd_cmd="sh -c 'WATCHDOG_PID=\$\$ exec $SDVISOR run -- /bin/sleep infinity'"
  cmd "NOTIFY_SOCKET=$sock WATCHDOG_USEC=30000000 $wd_cmd"
  NOTIFY_SOCKET=$sock WATCHDOG_USEC=30000000 setsid sh -c "WATCHDOG_PID=\$\$ exec $SDVISOR run -- /bin/sleep infinity" \
    > "$BENCH_WORK/idle-sdvisor-wd.log" 2>&1 < /dev/null &
  wd_pid=$!
  row sdvisor "WatchdogSec=30s" "$wd_window" "$wd_pid"
  stop_supervisor "$wd_pid"
  kill "$sink" 2>/dev/null
  wait "$sink" 2>/dev/null
fi

for name in $(peers); do
  start_supervisor "$name" "$BENCH_WORK/idle-$name.log" /bin/sleep infinity
  row "$name" "nothing" "$window" "$SUP_PID"
  stop_supervisor "$SUP_PID"
done
echo
if [ "$watchdog" = 1 ]; then
  n=$(grep -c 'WATCHDOG=1' "$pings" || true)
  gaps=$(grep 'WATCHDOG=1' "$pings" | awk 'NR > 1 {printf "%s%.1f s", sep, $1 - prev; sep = ", "} {prev = $1}')
  echo "Under the watchdog sdvisor sent WATCHDOG=1 $n times in $((settle + wd_window + settle)) s${gaps:+, at intervals of $gaps}."
fi
echo "The peers have no watchdog support; supervisord wakes once a second (its poll timeout)."
print_commands
