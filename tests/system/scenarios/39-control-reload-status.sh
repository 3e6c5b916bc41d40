#!/bin/bash
# Issue 20: `systemctl reload` goes through `sdvisor reload` (ExecReload= of the shipped
# template) and waits for it. A broken configuration fails the reload (systemctl returns
# non-zero, the journal has the file:line error) and changes nothing: the app gets no
# SIGHUP, the unit stays active with the same sdvisor. A good one returns 0 after the app
# got its SIGHUP. `sdvisor status NAME` and `sdvisor run-job NAME JOB` reach the instance
# by its name (/run/sdvisor/NAME/control). With the old ExecReload=/bin/kill -s HUP, the
# broken reload returned 0 and the app was signalled.
# timeout: 90
. "$(dirname "$0")/../lib.sh"

name=control-reload
unit=sdvisor@$name.service
port=8370
conf=/etc/sdvisor/$name.conf
sv_conf $name <<EOF_CONF
[app]
exec=/usr/bin/python3 -m uvicorn app_fastapi:app --host 127.0.0.1 --port $port
working-directory=$APPS
reload-signal=HUP

[ready]
check=http://127.0.0.1:$port/health

[job:stamp]
schedule=@daily
exec=/bin/sh -c 'echo "stamp manual=\$SDVISOR_JOB_MANUAL"'
EOF_CONF

start_or_finish "$unit"
main_pid=$(prop "$unit" MainPID)
sdvisor=$(command -v sdvisor || echo /usr/local/bin/sdvisor)

check "the control socket is /run/sdvisor/$name/control" test -S "/run/sdvisor/$name/control"
status=$("$sdvisor" status "$name" --json 2>&1)
diag "$status"
check "sdvisor status $name: running" grep -q '"state" : "running"' <<<"$status"
check "sdvisor status $name: the app's pid" grep -q '"app_pid" : [1-9]' <<<"$status"

mark=$(journal_mark)
cp "$conf" "$conf.good"
echo "intervall=2s" >> "$conf"
check "systemctl reload fails on a broken configuration" \
    sh -c "! timeout 20 systemctl reload $unit"
check "the journal has the file:line error" journal_wait "$unit" "$mark" 5 \
    "$conf:[0-9]+: .*intervall"
is "the app got no SIGHUP" "$(journal_count "$unit" "$mark" "app_fastapi: received SIGHUP")" 0
is "the unit is active" "$(prop "$unit" ActiveState)" active
is "same sdvisor (MainPID)" "$(prop "$unit" MainPID)" "$main_pid"

mv "$conf.good" "$conf"
mark=$(journal_mark)
check "systemctl reload returns 0 on a good configuration" timeout 20 systemctl reload "$unit"
check "the app got its SIGHUP" journal_wait "$unit" "$mark" 5 "app_fastapi: received SIGHUP"
check "sdvisor logged reloaded (READY=1 again)" journal_wait "$unit" "$mark" 5 "@MESSAGE_ID=$MSG_RELOADED"
is "the unit is active" "$(prop "$unit" ActiveState)" active

mark=$(journal_mark)
check "sdvisor run-job $name --wait stamp exits 0" timeout 20 "$sdvisor" run-job "$name" --wait stamp
check "the job ran, marked manual" journal_wait "$unit" "$mark" 5 "stamp manual=1"
check "its entries carry SDVISOR_JOB_MANUAL=1" journal_wait "$unit" "$mark" 5 "@SDVISOR_JOB_MANUAL=1"

stop_quietly "$unit"
finish
