#!/bin/bash
# Issue 4: a .socket unit activates a gunicorn app through sdvisor, and the
# connection that triggered the start is served. systemd passes the listening
# socket to sdvisor; sdvisor passes it on at fd 3 with LISTEN_FDS,
# LISTEN_FDNAMES, and LISTEN_PID set to the app's own pid (between fork and
# exec). gunicorn 20.1 (Debian 12) then uses fd 3 by itself: no --bind needed,
# and none wanted: `--bind fd://3` with LISTEN_PID set makes gunicorn 20.1 take
# fd 3 twice and die of EBADF (it worked only while LISTEN_PID was wrong).
# If LISTEN_PID were sdvisor's, gunicorn would ignore the socket and bind its
# default 127.0.0.1:8000 instead, and the first connection would never be
# answered.
# gunicorn's own graceful timeout is below sdvisor's stop-timeout, as it should be
# in any deployment: gunicorn 20.1 can lose a worker's exit when SIGCHLD lands
# while its master writes to stderr ("reentrant call inside BufferedWriter"),
# and then waits out its graceful timeout for a worker that is already gone; with
# the test app's 20 s against stop-timeout=10s sdvisor's SIGKILL came first and
# the unit ended failed (seen once in CI).
# timeout: 30
. "$(dirname "$0")/../lib.sh"

name=gunicorn-sock
unit=sdvisor@$name.service
socket=sdvisor@$name.socket
port=8331
sv_app $name "/usr/bin/python3 -m gunicorn --config gunicorn.conf.py --graceful-timeout 5 app_flask:app" stop-timeout=10s
cat > "/etc/systemd/system/$socket" <<EOF_SOCKET
[Unit]
Description=sdvisor system test: socket for $unit

[Socket]
ListenStream=127.0.0.1:$port
FileDescriptorName=web
EOF_SOCKET
systemctl daemon-reload
track "$unit"
track "$socket"
mark=$(journal_mark)

check "systemctl start $socket returns 0" timeout 20 systemctl start "$socket" || finish
is "the service is not running yet" "$(prop "$unit" ActiveState)" inactive

t0=$(now_ms)
out=$(curl -sS --max-time 15 "http://127.0.0.1:$port/health" 2>&1)
rc=$?
diag "the first request took $(($(now_ms) - t0)) ms (it started the service)"
is "the first connection is served: curl succeeds" "$rc" 0
is "the first connection is served: the app answers ok" "$out" ok
is "the service is active (running)" "$(prop "$unit" ActiveState) ($(prop "$unit" SubState))" "active (running)"
is "the service was triggered by the socket" "$(prop "$unit" TriggeredBy)" "$socket"

main_pid=$(prop "$unit" MainPID)
master=$(pgrep -P "$main_pid" -f 'gunicorn' | head -n 1)
check "gunicorn's master (a child of sdvisor, pid $main_pid) is found: '$master'" test -n "$master"
if [ -n "$master" ]; then
    # The environment the app was started with (gunicorn unsets LISTEN_* in its
    # os.environ, but /proc shows the original block).
    env_of() { tr '\0' '\n' < "/proc/$master/environ" | sed -n "s/^$1=//p"; }
    is "the app got LISTEN_PID = its own pid" "$(env_of LISTEN_PID)" "$master"
    is "the app got LISTEN_FDS=1" "$(env_of LISTEN_FDS)" 1
    is "the app got LISTEN_FDNAMES=web" "$(env_of LISTEN_FDNAMES)" web
fi
# gunicorn serves systemd's socket, not one of its own on the same port.
is "one socket listens on :$port" "$(ss -Hltn "sport = :$port" | wc -l)" 1
check "gunicorn listens at the passed socket (its log)" \
    journal_wait "$unit" "$mark" 5 "Listening at: http://127.0.0.1:$port"
is "gunicorn did not bind its default 127.0.0.1:8000" \
    "$(ss -Hltn 'sport = :8000' | wc -l)" 0
check "a second request is served too" curl -fsS --max-time 5 -o /dev/null "http://127.0.0.1:$port/health"

systemctl stop "$socket" >/dev/null 2>&1
check "systemctl stop $unit returns 0" timeout 30 systemctl stop "$unit"
is "the service is inactive (dead), not failed" \
    "$(prop "$unit" ActiveState) ($(prop "$unit" SubState))" "inactive (dead)"
finish
