#!/bin/bash
# stop.sh — `podman stop` reaches the app through sdvisor as PID 1, and a clean stop is
# exit status 0 for podman (and so for systemd).
#
# 1. During a 3 s request to the FastAPI app (uvicorn finishes requests in flight on
#    SIGTERM): the client gets 200 and the whole body, and the container exits 0. A PID 1
#    that relied on SIGTERM's default disposition would never see the signal (the
#    kernel drops it for PID 1): podman would SIGKILL it after its timeout, exit 137.
# 2. An app that dies of SIGTERM (Python's default action): that is how it stops, so
#    exit 0 too, not 143, and at once rather than at podman's timeout.
. "$(dirname "$0")/lib.sh"
ct_require fastapi uvicorn

port=$(free_port)
ct_http_app inflight fastapi-stop "$port" 20s "$(fastapi_exec "$port")"
ct_start_ready inflight "the FastAPI container becomes ready"

ct_stop_in_flight inflight "$port"
check "sdvisor passed SIGTERM on to the app" grep -q "sending SIGTERM to app (pid [0-9]*)" "$WORK/inflight/err"
[ "$_failed" = 0 ] || show_output inflight

# 2. An app that dies of SIGTERM.
ct_rootfs dies > /dev/null
ct_config dies <<EOF
[app]
name=dies-of-term
exec=/usr/bin/python3 $C_APPS/exit_after.py 0 600
stop-timeout=20s
EOF
ct_notify dies
ct_start dies --
notify_wait 30 '^READY=1$' > /dev/null && wait_log dies "exit_after: started" 10 # Python runs exit_after.py
t_stop=$(mono_now)
podman stop -t 30 "$(ct_name dies)" > /dev/null 2>&1
ct_wait dies 30
t_exit=$(mono_now)
is "an app killed by the stop signal: the container exits 0" "$CT_RC" 0
secs=$(elapsed "$t_stop" "$t_exit")
if lt "$secs" 5; then ok "… within 5 s (${secs} s)"; else not_ok "… within 5 s (${secs} s)"; fi
check "sdvisor reported the app stopped by SIGTERM" grep -q "stopped by SIGTERM" "$WORK/dies/err"
[ "$_failed" = 0 ] || show_output dies
finish
