#!/bin/bash
# signals.sh — sdvisor as PID 1: the second SIGTERM stops at once, and the app's exit
# status is the container's.
#
# 1. An app that ignores SIGTERM (stubborn.py), stop-timeout=60s: after the first
#    SIGTERM the container keeps running (sdvisor waits for the app); the second makes
#    sdvisor SIGKILL the app and exit within a few seconds, 128+9.
# 2. The app's own exit status passes through podman: 3 for exit(3), 128+N for a
#    death by signal N, 127 for a command that does not exist.
. "$(dirname "$0")/lib.sh"
ct_require

ct_rootfs stubborn > /dev/null
ct_config stubborn <<EOF
[app]
name=stubborn
exec=/usr/bin/python3 $C_APPS/stubborn.py
stop-timeout=60s
EOF
ct_notify stubborn
ct_start stubborn --
cname=$(ct_name stubborn)
if ! notify_wait 30 '^READY=1$' > /dev/null || ! ct_wait_up stubborn 10; then
    not_ok "the stubborn container starts"
    show_output stubborn
    finish
fi
# stubborn.py logs "started" once its handlers are installed.
wait_log stubborn "stubborn: started" 10 || diag "stubborn.py did not log its start"
podman kill -s TERM "$cname" > /dev/null
# The SIGTERM reached the app (it logs it); the container must still run a second later
# (an absence needs a window), while sdvisor waits up to stop-timeout.
wait_log stubborn "received SIGTERM, ignoring it" 10 && sleep 1
if ct_running stubborn; then
    ok "after one SIGTERM the container still runs (sdvisor waits up to stop-timeout)"
else
    not_ok "after one SIGTERM the container still runs (sdvisor waits up to stop-timeout)"
fi
check "the first SIGTERM reached the app through sdvisor" grep -q "received SIGTERM, ignoring it" "$WORK/stubborn/err"
t_second=$(mono_now)
podman kill -s TERM "$cname" > /dev/null
ct_wait stubborn 10
t_exit=$(mono_now)
secs=$(elapsed "$t_second" "$t_exit")
if [ -n "$CT_RC" ] && lt "$secs" 3; then
    ok "the second SIGTERM ends the container within 3 s (${secs} s)"
else
    not_ok "the second SIGTERM ends the container within 3 s (${secs} s)"
fi
is "… with status 137 (the app was SIGKILLed)" "$CT_RC" 137
[ "$_failed" = 0 ] || show_output stubborn

# 2. Exit statuses.
exit_case() {
    local name=$1 want=$2 desc=$3
    shift 3
    ct_rootfs "$name" > /dev/null
    printf '[app]\nname=%s\nexec=%s\n' "$name" "$*" | ct_config "$name"
    ct_start "$name" --
    ct_wait "$name" 30
    is "$desc" "$CT_RC" "$want" || show_output "$name"
}
exit_case exit3 3 "an app that exits 3: the container exits 3" \
    /usr/bin/python3 $C_APPS/exit_after.py 3 0.5
exit_case usr2 140 "an app killed by SIGUSR2: the container exits 140" \
    "/bin/sh -c 'sleep 0.3; kill -s USR2 \$\$'"
exit_case enoent 127 "an app that cannot be found: the container exits 127" \
    /nonexistent/app
finish
