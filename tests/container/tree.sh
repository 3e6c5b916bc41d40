#!/bin/bash
# tree.sh — issue 18 in a container: uvicorn started through a wrapper shell
# (`sh -c '…; echo after'`), sdvisor as PID 1, `podman stop` during a 3 s request.
# The shell dies of SIGTERM at once; uvicorn, its child, gets the stop signal too and
# drains: the client gets 200 and the container exits 0 (ct_stop_in_flight). The
# container's cgroup is read-only, so sdvisor follows the app's tree through /proc.
. "$(dirname "$0")/lib.sh"
ct_require fastapi uvicorn

port=$(free_port)
ct_rootfs wrapper > /dev/null
ct_config wrapper <<EOF
[app]
name=fastapi-wrapper
exec=sh -c '/usr/bin/python3 -m uvicorn app_fastapi:app --host 127.0.0.1 --port $port; echo after'
working-directory=$C_APPS
stop-timeout=20s
[ready]
check=http://127.0.0.1:$port/health
timeout=30s
EOF
ct_notify wrapper
ct_start wrapper --
if ! notify_wait 40 '^READY=1$' > /dev/null; then
    not_ok "the wrapped FastAPI container becomes ready"
    show_output wrapper
    finish
fi

ct_stop_in_flight wrapper "$port"
check "sdvisor says it follows the tree through /proc" \
    grep -q "process trees: subreaper view" "$WORK/wrapper/err"
check "uvicorn shut down on its own" grep -q "Finished server process" "$WORK/wrapper/err"
[ "$_failed" = 0 ] || show_output wrapper
finish
