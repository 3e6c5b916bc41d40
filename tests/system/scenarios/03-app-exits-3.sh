#!/bin/bash
# Issue 3, scenario 3: the app exits with status 3 on its own; the unit is
# failed with ExecMainStatus=3 (sdvisor exits with the app's status).
# timeout: 30
. "$(dirname "$0")/../lib.sh"

unit=sdvisor@exit3.service
sv_app exit3 "/usr/bin/python3 exit_after.py 3 1.5"
mark=$(journal_mark)

check "systemctl start $unit returns 0" start_unit "$unit"
check "the unit becomes failed once the app has exited" wait_prop "$unit" ActiveState failed 15
is "ExecMainStatus is 3" "$(prop "$unit" ExecMainStatus)" 3
is "ExecMainCode is 1 (CLD_EXITED: sdvisor exited, it was not killed)" "$(prop "$unit" ExecMainCode)" 1
is "Result is exit-code" "$(prop "$unit" Result)" exit-code
check "the app said it was exiting with 3" journal_wait "$unit" "$mark" 5 "exiting with status 3"
check "sdvisor logged the app's exit" journal_wait "$unit" "$mark" 5 "@MESSAGE_ID=$MSG_APP_EXITED"
check "systemd logged the failure" journal_wait "$unit" "$mark" 5 "status=3/NOTIMPLEMENTED|exited, code=exited, status=3"
systemctl reset-failed "$unit" 2>/dev/null
finish
