#!/bin/bash
# Issue 21, first part: with [app] listen=, sdvisor binds the port, hands the socket
# to systemd's fd store (FDSTORE=1, FileDescriptorStoreMax=16 in sdvisor@.service)
# and takes it back when it is started again. What systemd 252 does with the store
# (docs/deploys.md):
#   - sdvisor SIGKILLed, Restart=always: the port stays bound while nothing of the
#     unit runs; a connection made then waits in the backlog and is served by the
#     next app;
#   - `systemctl restart`: the same (the restart job keeps the store), no request
#     made during the restart fails;
#   - `systemctl stop`: the store is closed, the port with it; the next start binds
#     anew.
# Under load (hey, 4 connections, a new one per request, bounded to 8 s): none is refused
# across the SIGKILL (requests the killed app had accepted may be cut: systemd kills it
# too), and none fails across `systemctl restart`.
# timeout: 150
. "$(dirname "$0")/../lib.sh"

name=fdstore
unit=sdvisor@$name.service
port=8341
sv_conf $name <<EOF_CONF
[app]
exec=/usr/bin/python3 -m uvicorn --fd 3 app_fastapi:app
working-directory=$APPS
environment=PYTHONUNBUFFERED=1
listen=127.0.0.1:$port
stop-timeout=10s

[ready]
check=http://127.0.0.1:$port/health
EOF_CONF
unit_drop_in "$unit" restart <<EOF_DROPIN
[Service]
Restart=always
RestartSec=2s
EOF_DROPIN
listeners() { ss -Hltn "sport = :$port" | wc -l; }
app_pid() { curl -fsS --max-time "${1:-5}" "http://127.0.0.1:$port/pid"; }
# load FILE: 8 s of requests in the background, each on a new connection.
load() { hey -z 8s -c 4 -t 30 -disable-keepalive "http://127.0.0.1:$port/pid" > "$1" 2>&1 & }
served() { sed -n 's/^ *\[200\][[:space:]]*\([0-9]*\) responses.*/\1/p' "$1"; }
errors() { sed -n '/^Error distribution:/,$p' "$1" | sed 1d; }
command -v hey >/dev/null || skip_all "no hey (apt-get install hey)"

mark=$(journal_mark)
check "systemctl start $unit returns 0" start_unit "$unit" || finish
check "sdvisor bound the port itself" \
    journal_wait "$unit" "$mark" 5 "listening on 127\\.0\\.0\\.1:$port \\(fd 3, bound\\)"
first=$(app_pid)
check "uvicorn --fd 3 answers on it (pid '$first')" test -n "$first"

# ---- sdvisor dies; Restart=always brings it back after 2 s ------------------------
mark=$(journal_mark)
sdvisor_pid=$(prop "$unit" MainPID)
load "$SCENARIO_RESULTS/hey-kill"
hey_pid=$!
sleep 2
kill -KILL "$sdvisor_pid"
wait_until 10 0.1 bash -c "! kill -0 $first 2>/dev/null"
is "the old app is gone" "$(kill -0 "$first" 2>/dev/null && echo alive || echo gone)" gone
is "the port still listens while nothing of the unit runs (systemd's fd store holds it)" \
    "$(listeners)" 1
t0=$(now_ms)
second=$(app_pid 30)
rc=$?
diag "the connection made while sdvisor was down waited $(($(now_ms) - t0)) ms"
is "that connection is served after the restart" "$rc" 0
check "by the next app (pid '$second', the first was $first)" test -n "$second" -a "$second" != "$first"
check "the next sdvisor took the socket from the fd store" \
    journal_wait "$unit" "$mark" 5 "listening on 127\\.0\\.0\\.1:$port \\(fd 3, from the service manager\\)"
check "it is a new sdvisor" test "$(prop "$unit" MainPID)" != "$sdvisor_pid"
wait "$hey_pid"
diag "under load across the SIGKILL: $(served "$SCENARIO_RESULTS/hey-kill") served" \
    "$(errors "$SCENARIO_RESULTS/hey-kill")"
check "under load, requests were served across the SIGKILL" test -n "$(served "$SCENARIO_RESULTS/hey-kill")"
is "under load, no connection was refused across the SIGKILL" \
    "$(errors "$SCENARIO_RESULTS/hey-kill" | grep -c 'connection refused')" 0

# ---- systemctl restart: no request fails -----------------------------------------
wait_prop "$unit" ActiveState active 20
mark=$(journal_mark)
load "$SCENARIO_RESULTS/hey-restart"
hey_pid=$!
sleep 2
systemctl --no-block restart "$unit"
wait "$hey_pid"
diag "under load across systemctl restart: $(served "$SCENARIO_RESULTS/hey-restart") served" \
    "$(errors "$SCENARIO_RESULTS/hey-restart")"
check "under load, requests were served across systemctl restart" \
    test -n "$(served "$SCENARIO_RESULTS/hey-restart")"
is "under load, no request failed across systemctl restart" \
    "$(errors "$SCENARIO_RESULTS/hey-restart" | grep -c .)" 0
check "the restarted sdvisor took the socket from the fd store" \
    journal_wait "$unit" "$mark" 10 "listening on 127\\.0\\.0\\.1:$port \\(fd 3, from the service manager\\)"

# ---- systemctl stop closes the store ----------------------------------------------
check "systemctl stop $unit returns 0" timeout 30 systemctl stop "$unit"
is "no socket listens on :$port after a stop" "$(listeners)" 0
mark=$(journal_mark)
check "systemctl start $unit returns 0 again" start_unit "$unit"
check "after a stop, sdvisor binds anew (the store was closed)" \
    journal_wait "$unit" "$mark" 5 "listening on 127\\.0\\.0\\.1:$port \\(fd 3, bound\\)"
stop_quietly "$unit"
rm -r "/etc/systemd/system/$unit.d"
systemctl daemon-reload
finish
