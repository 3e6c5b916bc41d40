#!/bin/bash
# The template's journald rate limit, which is none in effect: journald keeps
# every line of a burst far past its default limit. That limit is 10,000 lines
# per 30 s per unit, times (log2(free journal space) - 16) / 4, and the space
# counted is capped at 4 GiB (JournalMaxUse=): at most 37,500 lines, 32,500
# here. This is what showed that LogRateLimitIntervalSec=0 does not do it on
# systemd 252.
# timeout: 60
. "$(dirname "$0")/../lib.sh"

lines=80000
unit=sdvisor@burst.service
marker="burst-$RANDOM"
sv_app burst "/usr/bin/python3 burst.py $lines $marker"
mark=$(journal_mark)

start_or_finish "$unit"
# The app's last line is the unit's last entry: reading the tail is cheap,
# where journal.py would parse every one of the lines as JSON.
done_line() { journalctl -q -u "$unit" -n 3 -o cat | grep -qx "$marker done"; }
deadline=$((SECONDS + 40))
until done_line || [ $SECONDS -ge $deadline ]; do sleep 0.2; done
check "the last line arrived" done_line
count=$(journalctl -q -u "$unit" --cursor "$mark" -o cat | grep -c "^$marker [0-9]")
is "all $lines lines are in the journal" "$count" "$lines"
is "journald suppressed nothing of the unit's" \
    "$(journalctl -q -u systemd-journald -o cat | grep -c "Suppressed .*$unit")" 0
stop_quietly "$unit"
finish
