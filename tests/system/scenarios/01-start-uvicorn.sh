#!/bin/bash
# Issue 3, scenario 1: `systemctl start sdvisor@uvicorn` returns, the unit is
# active (running), and sdvisor has set StatusText.
# timeout: 40
. "$(dirname "$0")/../lib.sh"

unit=sdvisor@uvicorn.service
sv_app uvicorn "$(fastapi_exec 8101)" name=uvicorn environment=PYTHONUNBUFFERED=1 stop-timeout=20s
mark=$(journal_mark)

check "systemctl start $unit returns 0" start_unit "$unit"
is "the unit is active (running)" "$(prop "$unit" ActiveState) ($(prop "$unit" SubState))" "active (running)"
status=$(prop "$unit" StatusText)
check "StatusText is set (it is '$status')" test -n "$status"
check "systemctl status shows it" bash -c "systemctl status --no-pager '$unit' | grep -F 'Status: \"$status\"'"
is "the main PID is sdvisor" "$(ps -o comm= -p "$(prop "$unit" MainPID)")" "sdvisor"
check "the app answers /health" wait_http http://127.0.0.1:8101/health 15
check "sdvisor logged the app's start" journal_wait "$unit" "$mark" 5 "@MESSAGE_ID=$MSG_APP_STARTED"
stop_quietly "$unit"
finish
