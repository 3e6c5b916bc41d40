#!/bin/bash
# The template's NotifyAccess=main: only sdvisor speaks for the unit. An app
# that writes to systemd's notification socket itself is ignored, and systemd
# says so. With NotifyAccess=all its STATUS= would replace sdvisor's.
# timeout: 30
. "$(dirname "$0")/../lib.sh"

unit=sdvisor@intruder.service
sv_app intruder "/usr/bin/python3 notify_intruder.py"
mark=$(journal_mark)

start_or_finish "$unit"
check "the app sent its STATUS=" journal_wait "$unit" "$mark" 15 "sent STATUS= to /run/systemd/notify"
check "systemd refused it" \
    journal_wait "$unit" "$mark" 5 "reception only permitted for main PID"
status=$(prop "$unit" StatusText)
check "StatusText is still sdvisor's ('$status')" \
    bash -c '[ -n "$1" ] && [[ $1 != *"set by the app"* ]]' _ "$status"
stop_quietly "$unit"
finish
