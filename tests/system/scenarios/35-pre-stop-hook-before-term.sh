#!/bin/bash
# Issue 5: a `pre-stop` hook that takes 2 s finishes before the app gets its
# SIGTERM, and `systemctl stop` waits for both. The hook stamps its start and
# end, the app (stamp_app.py) the moment SIGTERM arrives. If the stop signal
# went out with the hook, or the hook were not waited for, the app's stamp
# would come before the hook's end, or stop would return early.
# timeout: 20
. "$(dirname "$0")/../lib.sh"

name=pre-stop-hook
unit=sdvisor@$name.service
port=8335
stamps=$(stamps_dir $name)
sv_conf $name <<EOF_CONF
[app]
exec=/usr/bin/python3 stamp_app.py --port $port --stamps $stamps
working-directory=$APPS
stop-timeout=10s

[ready]
check=tcp://127.0.0.1:$port
timeout=20s

[hook:drain]
when=pre-stop
exec=/bin/sh -c 'date +%s%N > $stamps/hook-start; sleep 2; date +%s%N > $stamps/hook-end'
EOF_CONF

start_or_finish "$unit"
mark=$(journal_mark)
t0=$(date +%s%N)
timeout 30 systemctl stop "$unit"
rc=$?
t1=$(date +%s%N)
is "systemctl stop returned 0" "$rc" 0

hook_start=$(cat "$stamps/hook-start" 2>/dev/null)
hook_end=$(cat "$stamps/hook-end" 2>/dev/null)
term=$(cut -d' ' -f2 "$stamps/term" 2>/dev/null | head -n 1)
check "the hook started and ended (start '$hook_start', end '$hook_end')" \
    test -n "$hook_start" -a -n "$hook_end"
check "the app got SIGTERM (stamp '$term')" test -n "$term"
if [ -n "$hook_start" ] && [ -n "$hook_end" ] && [ -n "$term" ]; then
    diag "from systemctl stop: hook start +$(((hook_start - t0) / 1000000)) ms," \
        "hook end +$(((hook_end - t0) / 1000000)) ms, app's SIGTERM +$(((term - t0) / 1000000)) ms," \
        "stop returned +$(((t1 - t0) / 1000000)) ms"
    check "the hook took its 2 s" test $((hook_end - hook_start)) -ge 1900000000
    check "the hook ended before the app got SIGTERM" test "$hook_end" -le "$term"
    check "systemctl stop returned after the app's SIGTERM" test "$t1" -ge "$term"
fi
check "systemctl stop took at least 2 s" test $((t1 - t0)) -ge 2000000000
is "the unit is inactive (dead), not failed" \
    "$(prop "$unit" ActiveState) ($(prop "$unit" SubState))" "inactive (dead)"
check "journal: sdvisor's stop request, then (2 s later) the app's SIGTERM" \
    journal_order "$unit" "$mark" 5 "@MESSAGE_ID=$MSG_STOP_REQUESTED" "received SIGTERM"
finish
