#!/bin/bash
# Issue 4: a uvicorn app under WatchdogSec=2 that freezes (SIGSTOP) is restarted
# by systemd. sdvisor pings the watchdog only while its [health] check passes,
# and at the failure threshold sends WATCHDOG=trigger, so systemd's Result is
# `watchdog` (SIGABRT to sdvisor, SIGKILL to the rest of the cgroup) and
# Restart=on-failure brings the unit back (NRestarts grows).
# Without it, sdvisor's own pings would keep a frozen app "alive" forever.
# A healthy app must not be killed: the unit first runs for 3 s (> WatchdogSec).
# timeout: 30
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

name=watchdog-freeze
unit=sdvisor@$name.service
port=8330
fastapi_health_conf $port 5s | sv_conf $name
unit_drop_in "$unit" watchdog <<'EOF_DROPIN'
[Service]
WatchdogSec=2
Restart=on-failure
RestartSec=200ms
EOF_DROPIN

start_or_finish "$unit"
is "WatchdogUSec is 2s" "$(prop "$unit" WatchdogUSec)" 2s
app_child "$unit" 'uvicorn app_fastapi'

# Healthy: sdvisor's pings keep the unit alive past WatchdogSec.
sleep 3
is "after 3 s healthy (> WatchdogSec): same MainPID" "$(prop "$unit" MainPID)" "$main_pid"
is "after 3 s healthy: NRestarts is 0" "$(prop "$unit" NRestarts)" 0

mark=$(journal_mark)
t0=$(now_ms)
kill -STOP "$app_pid"
diag "kill -STOP $app_pid (uvicorn) at $t0"

restarted=1
check "systemd restarted the unit (NRestarts 1) within 10 s" wait_prop "$unit" NRestarts 1 10 ||
    restarted=0
diag "NRestarts is $(prop "$unit" NRestarts) after $(($(now_ms) - t0)) ms"
check "sdvisor logged the app unhealthy" journal_wait "$unit" "$mark" 5 "is unhealthy"
# "Watchdog request" is systemd receiving WATCHDOG=trigger; a missed ping would
# be "Watchdog timeout". (sdvisor's own line saying it sends the trigger may be
# lost: systemd's SIGABRT can come before sdvisor's journal queue is written.)
check "systemd got sdvisor's WATCHDOG=trigger (\"Watchdog request\")" \
    journal_wait "$unit" "$mark" 5 "Watchdog request"
check "systemd: Failed with result 'watchdog'" \
    journal_wait "$unit" "$mark" 5 "Failed with result 'watchdog'"
diag "sdvisor's 'WATCHDOG=trigger' line in the journal: $(journal_count "$unit" "$mark" "WATCHDOG=trigger")"
if [ $restarted = 0 ]; then
    kill -KILL "$app_pid" 2>/dev/null
    stop_quietly "$unit"
    systemctl reset-failed "$unit" 2>/dev/null
    finish
fi
check "the unit is active (running) again" wait_prop "$unit" SubState running 20
new_pid=$(prop "$unit" MainPID)
check "a new sdvisor runs (MainPID $main_pid -> $new_pid)" test "$new_pid" != "$main_pid" -a "$new_pid" != 0
check "the new app answers /health" wait_http "http://127.0.0.1:$port/health" 10
is "the frozen app is gone (systemd killed the cgroup's rest)" \
    "$(ps -o stat= -p "$app_pid" >/dev/null 2>&1 && echo "still there" || echo gone)" gone

stop_quietly "$unit"
systemctl reset-failed "$unit" 2>/dev/null
finish
