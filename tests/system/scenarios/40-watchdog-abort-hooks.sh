#!/bin/bash
# Issue 20: when systemd's watchdog fires (WatchdogSec=, a frozen app: sdvisor stops
# pinging), systemd sends sdvisor SIGABRT. sdvisor handles it as a fast stop: one journal
# entry (MESSAGE_ID watchdog abort) naming the last health result, the frozen app's group
# SIGKILLed, on-failure and post-stop hooks run, and the unit restarts (Restart=). Before,
# sdvisor died of the SIGABRT (status=6/ABRT) and no hook ran.
# timeout: 90
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

name=watchdog-hooks
unit=sdvisor@$name.service
port=8380
marks=/run/$name-hooks
rm -f "$marks"
{
    fastapi_health_conf $port 20s
    cat <<EOF_CONF
on-unhealthy=none

[hook:failed]
when=on-failure
exec=/bin/sh -c 'echo "on-failure \$SDVISOR_EXIT_STATUS" >> $marks'

[hook:cleanup]
when=post-stop
exec=/bin/sh -c 'echo post-stop >> $marks'
EOF_CONF
} | sv_conf $name
unit_drop_in "$unit" watchdog <<'EOF_DROPIN'
[Service]
WatchdogSec=3
Restart=on-failure
RestartSec=200ms
EOF_DROPIN

start_or_finish "$unit"
app_child "$unit" 'uvicorn app_fastapi'
mark=$(journal_mark)
kill -STOP "$app_pid"
diag "kill -STOP $app_pid"

check "systemd restarted the unit (NRestarts 1) within 20 s" wait_prop "$unit" NRestarts 1 20
check "sdvisor logged the watchdog abort" journal_wait "$unit" "$mark" 5 "@MESSAGE_ID=$MSG_WATCHDOG_ABORT"
check "... naming the last health result" journal_wait "$unit" "$mark" 5 \
    "watchdog timeout .*last health result: unhealthy"
is "one watchdog entry" "$(journal_count "$unit" "$mark" "watchdog timeout \\(SIGABRT")" 1
is "on-failure then post-stop ran" "$(tr '\n' ' ' < "$marks" 2>/dev/null)" "on-failure killed post-stop "
is "the frozen app is gone" \
    "$(ps -o stat= -p "$app_pid" >/dev/null 2>&1 && echo "still there" || echo gone)" gone
check "the unit is active (running) again" wait_prop "$unit" SubState running 20
check "the new app answers /health" wait_http "http://127.0.0.1:$port/health" 10

stop_quietly "$unit"
systemctl reset-failed "$unit" 2>/dev/null
finish
