#!/bin/bash
# The harness itself: systemd runs a unit in this container, journald has its
# output, and the scenario helpers see it. Needs no sdvisor.
# timeout: 20
. "$(dirname "$0")/../lib.sh"

unit=sv-test-journal-$$.service
marker="harness-marker-$RANDOM-$RANDOM"
mark=$(journal_mark)
track "$unit"

check "systemd-run starts a oneshot unit" \
    timeout 15 systemd-run --quiet --unit="$unit" -p Type=oneshot -p RemainAfterExit=yes \
    /bin/echo "$marker"
is "the unit ended active (exited)" "$(prop "$unit" ActiveState)/$(prop "$unit" SubState)" "active/exited"
check "its output reached journalctl -u $unit" journal_wait "$unit" "$mark" 5 "^$marker\$"
check "systemd's own lines about the unit come in order" \
    journal_order "$unit" "$mark" 5 "^Starting $unit" "^Finished $unit"
stop_quietly "$unit"
finish
