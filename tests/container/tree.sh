#!/bin/bash
# tree.sh — issue 18 in a container: uvicorn started through a wrapper shell
# (`sh -c '…; echo after'`), sdvisor as PID 1, `podman stop` during a 3 s request.
# The shell dies of SIGTERM at once; uvicorn, its child, gets the stop signal too and
# drains: the client gets 200 and the container exits 0 (ct_stop_in_flight). The
# container's cgroup is read-only, so sdvisor follows the app's tree through /proc.
. "$(dirname "$0")/lib.sh"
ct_require fastapi uvicorn

port=$(free_port)
ct_http_app wrapper fastapi-wrapper "$port" 20s "sh -c '$(fastapi_exec "$port"); echo after'"
ct_start_ready wrapper "the wrapped FastAPI container becomes ready"

ct_stop_in_flight wrapper "$port"
check "sdvisor says it follows the tree through /proc" \
    grep -q "process trees: subreaper view" "$WORK/wrapper/err"
check "uvicorn shut down on its own" grep -q "Finished server process" "$WORK/wrapper/err"
[ "$_failed" = 0 ] || show_output wrapper
finish
