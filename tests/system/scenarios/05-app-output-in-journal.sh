#!/bin/bash
# Issue 3, scenario 5: a line the app prints (stdout), and a line it logs with
# the logging module (stderr), appear in `journalctl -u` for the unit.
# timeout: 40
. "$(dirname "$0")/../lib.sh"

unit=sdvisor@uvicorn-output.service
sv_app uvicorn-output "$(fastapi_exec 8151)"

start_serving "$unit" 8151
marker="line-$RANDOM$RANDOM"
mark=$(journal_mark)
check "the app echoes $marker" curl -fsS --max-time 5 "http://127.0.0.1:8151/echo?line=$marker"
check "its print() is in journalctl -u $unit" \
    journal_wait "$unit" "$mark" 5 "^echo stdout: $marker\$"
check "its logging line is in journalctl -u $unit" \
    journal_wait "$unit" "$mark" 5 "app_fastapi: echo stderr: $marker\$"
check "the printed line is attributed to the app's process, in the unit" \
    journal_wait "$unit" "$mark" 1 "^echo stdout: $marker\$" "_SYSTEMD_UNIT=$unit" "_COMM=python3"
stop_quietly "$unit"
finish
