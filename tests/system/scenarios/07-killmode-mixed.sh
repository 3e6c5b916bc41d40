#!/bin/bash
# The template's KillMode=mixed: on `systemctl stop`, systemd signals sdvisor
# alone and the app hears only sdvisor's stop-signal= (SIGINT here), never
# systemd's SIGTERM. With KillMode=control-group the app would get both.
# timeout: 30
. "$(dirname "$0")/../lib.sh"

unit=sdvisor@killmode.service
sv_app killmode "/usr/bin/python3 stubborn.py" stop-signal=INT stop-timeout=1s

start_or_finish "$unit"
check "the app is up" journal_wait "$unit" "" 15 "stubborn: started"
mark=$(journal_mark)
check "systemctl stop returns 0" timeout 20 systemctl stop "$unit"
check "the app received sdvisor's SIGINT" journal_wait "$unit" "$mark" 5 "received SIGINT"
is "the app received no SIGTERM" "$(journal_count "$unit" "$mark" "received SIGTERM")" 0
systemctl reset-failed "$unit" 2>/dev/null
finish
