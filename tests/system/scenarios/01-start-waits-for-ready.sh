#!/bin/bash
# Type=notify with a readiness check: `systemctl start` returns only once the
# app answers, so a client may use it at once, without retrying. (With
# Type=simple, or a READY=1 sent too early, uvicorn would still be importing.)
# timeout: 40
. "$(dirname "$0")/../lib.sh"

unit=sdvisor@uvicorn-ready.service
sv_conf uvicorn-ready <<EOF_CONF
[app]
exec=/usr/bin/python3 -m uvicorn app_fastapi:app --host 127.0.0.1 --port 8102
working-directory=$APPS

[ready]
check=http://127.0.0.1:8102/health
timeout=30s
EOF_CONF
mark=$(journal_mark)

check "systemctl start $unit returns 0" start_unit "$unit"
check "the app answers /health at once (one try)" \
    curl -fsS --max-time 2 -o /dev/null http://127.0.0.1:8102/health
is "the unit is active (running)" "$(prop "$unit" ActiveState) ($(prop "$unit" SubState))" "active (running)"
check "sdvisor logged the app ready" journal_wait "$unit" "$mark" 5 "@MESSAGE_ID=$MSG_READY"
stop_quietly "$unit"
finish
