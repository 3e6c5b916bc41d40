#!/bin/bash
# Issue 3, scenario 4: `systemctl reload` reaches the app as SIGHUP (the app logs
# it) and the unit stays active, with the same sdvisor and the same app.
# timeout: 40
. "$(dirname "$0")/../lib.sh"

unit=sdvisor@uvicorn-reload.service
sv_app uvicorn-reload "$(fastapi_exec 8141)" reload-signal=HUP

# The app installs its SIGHUP handler at startup; until then SIGHUP would kill it.
start_serving "$unit" 8141
main_pid=$(prop "$unit" MainPID)
mark=$(journal_mark)

check "systemctl reload returns 0" timeout 20 systemctl reload "$unit"
check "the app logged the SIGHUP" journal_wait "$unit" "$mark" 5 "app_fastapi: received SIGHUP"
check "sdvisor logged the reload" journal_wait "$unit" "$mark" 5 "@MESSAGE_ID=$MSG_RELOAD"
check "the unit is active (running) again" wait_prop "$unit" SubState running 5
is "the unit is active" "$(prop "$unit" ActiveState)" active
is "sdvisor was not restarted (same MainPID)" "$(prop "$unit" MainPID)" "$main_pid"
check "the app still answers /health" wait_http http://127.0.0.1:8141/health 5
is "the app was not restarted (one start in the journal)" \
    "$(journal_count "$unit" "" "app_fastapi: started, pid")" 1
stop_quietly "$unit"
finish
