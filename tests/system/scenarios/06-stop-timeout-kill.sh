#!/bin/bash
# Issue 3, scenario 6: an app that ignores SIGTERM is SIGKILLed by sdvisor at
# its stop-timeout (2 s), long before systemd's own TimeoutStopSec (20 s here).
# timeout: 40
. "$(dirname "$0")/../lib.sh"

name=stubborn
unit=sdvisor@$name.service
sv_app $name "/usr/bin/python3 stubborn.py" stop-timeout=2s
unit_drop_in "$unit" timeout <<'EOF_DROPIN'
[Service]
TimeoutStopSec=20s
EOF_DROPIN

start_or_finish "$unit"
mark=$(journal_mark)
check "the app is up (it logged its start)" journal_wait "$unit" "" 15 "stubborn: started"
is "TimeoutStopSec is 20s" "$(prop "$unit" TimeoutStopUSec)" 20s

t0=$(now_ms)
timeout 30 systemctl stop "$unit"
rc=$?
ms=$(($(now_ms) - t0))
diag "systemctl stop took $ms ms"
is "systemctl stop returned 0" "$rc" 0
check "the stop took about 2 s (1800-6000 ms, not 20 s): $ms ms" \
    test "$ms" -ge 1800 -a "$ms" -lt 6000
check "the app received SIGTERM and ignored it" \
    journal_wait "$unit" "$mark" 5 "received SIGTERM, ignoring it"
check "sdvisor logged the kill at its deadline, then the app's end" journal_order "$unit" "$mark" 5 \
    "@MESSAGE_ID=$MSG_STOP_REQUESTED" "@MESSAGE_ID=$MSG_STOP_DEADLINE" "@MESSAGE_ID=$MSG_STOPPED"
is "sdvisor exited 137 (ExecMainStatus)" "$(prop "$unit" ExecMainStatus)" 137
is "Result is exit-code (systemd's own timeout would say timeout)" "$(prop "$unit" Result)" exit-code
is "systemd did not time out or kill anything itself" \
    "$(journal_count "$unit" "$mark" "timed out|Killing process")" 0
is "no python3 stubborn.py is left" "$(pgrep -fc 'stubborn\.py')" 0
systemctl reset-failed "$unit" 2>/dev/null
finish
