#!/bin/bash
# Issue 7: three template instances of the same app on one host (sdvisor@jobs-a,
# -b, -c, each with its own /etc/sdvisor/jobs-X.conf but the same [app] name, so
# they share $STATE_DIRECTORY/<app>/) all know an `every 2s` job. For 20 s, each
# slot must run exactly once on the host: the job appends $SDVISOR_JOB_SLOT to a
# file, and every slot from the first to the last must be there once. Without
# the once-per-host claim every slot would be there three times; without the
# jobs, not at all.
# timeout: 35
. "$(dirname "$0")/../lib.sh"

ticks=/var/lib/ticks-jobs
rm -f "$ticks"
units=()
for x in a b c; do
    name=jobs-$x
    units+=("sdvisor@$name.service")
    # The job's command is the same for all three; INSTANCE only says who ran it.
    sv_conf "$name" <<EOF_CONF
[app]
name=ticker
exec=/bin/sleep infinity

[job:tick]
schedule=every 2s
environment=INSTANCE=$x
exec=/bin/sh -c 'echo "\$SDVISOR_JOB_SLOT \$INSTANCE" >> $ticks'
EOF_CONF
    track "sdvisor@$name.service"
done

check "systemctl start ${units[*]} returns 0" timeout 30 systemctl start "${units[@]}" || {
    stop_quietly "${units[@]}"
    finish
}
t0=$(now_ms)
sleep 20
active=$(for u in "${units[@]}"; do prop "$u" ActiveState; done | sort | uniq -c | xargs)
is "all three instances still active after 20 s" "$active" "3 active"
stop_quietly "${units[@]}"
diag "ran $(($(now_ms) - t0)) ms; $(wc -l < "$ticks" 2>/dev/null || echo 0) lines in $ticks"

check "the job ran, and each slot from the first to the last ran exactly once" \
    "$PY" "$SYSTEM_TESTS/slots.py" "$ticks" 2 8
for u in "${units[@]}"; do systemctl reset-failed "$u" 2>/dev/null; done
finish
