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
# timeout: 120
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
install -d "/etc/systemd/system/$unit.d"
cat > "/etc/systemd/system/$unit.d/restart.conf" <<EOF_DROPIN
[Service]
Restart=always
RestartSec=2s
EOF_DROPIN
systemctl daemon-reload
listeners() { ss -Hltn "sport = :$port" | wc -l; }
app_pid() { curl -fsS --max-time "${1:-5}" "http://127.0.0.1:$port/pid"; }

mark=$(journal_mark)
check "systemctl start $unit returns 0" start_unit "$unit" || finish
check "sdvisor bound the port itself" \
    journal_wait "$unit" "$mark" 5 "listening on 127\\.0\\.0\\.1:$port \\(fd 3, bound\\)"
first=$(app_pid)
check "uvicorn --fd 3 answers on it (pid '$first')" test -n "$first"

# ---- sdvisor dies; Restart=always brings it back after 2 s ------------------------
mark=$(journal_mark)
sdvisor_pid=$(prop "$unit" MainPID)
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

# ---- systemctl restart: no request fails -----------------------------------------
wait_prop "$unit" ActiveState active 20
mark=$(journal_mark)
failed=0 served=0
systemctl --no-block restart "$unit"
deadline=$((SECONDS + 8))
while [ $SECONDS -lt $deadline ]; do
    if app_pid 30 >/dev/null; then served=$((served + 1)); else failed=$((failed + 1)); fi
    sleep 0.05
done
diag "$served requests served during and after systemctl restart"
is "no request failed during systemctl restart" "$failed" 0
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
