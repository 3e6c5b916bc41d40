#!/bin/bash
# Issue 3, scenario 2, for an app with no SIGTERM handler: it dies of the stop
# signal, which is what was asked for, so the unit ends inactive, not failed
# (sdvisor exits 0, not 143).
# timeout: 30
. "$(dirname "$0")/../lib.sh"

unit=sdvisor@sleeper.service
sv_conf sleeper <<EOF_CONF
[app]
exec=/usr/bin/sleep 600
stop-timeout=10s
EOF_CONF
mark=$(journal_mark)

start_or_finish "$unit"
check "systemctl stop returns 0" timeout 20 systemctl stop "$unit"
check "sdvisor saw the app die of SIGTERM" journal_wait "$unit" "$mark" 5 "stopped by SIGTERM"
is "the unit is inactive (dead), not failed" \
    "$(prop "$unit" ActiveState) ($(prop "$unit" SubState))" "inactive (dead)"
is "its Result is success" "$(prop "$unit" Result)" success
is "sdvisor exited 0 (ExecMainStatus)" "$(prop "$unit" ExecMainStatus)" 0
systemctl reset-failed "$unit" 2>/dev/null
finish
