#!/bin/bash
# jobs.sh — two containers of one app that share a host state directory (bind-mounted
# at /var/lib/sdvisor, STATE_DIRECTORY pointing there, as the quadlet example does) run
# an `every 2s` job once per slot between them: the flock and state file work across
# containers because both see the same files.
#
# Each container's copy of the job appends "SLOT INSTANCE" to a file in the shared
# directory. After about 9 s with both running: every slot appears exactly once, the
# slots are consecutive (2 s apart, none missed), and there are at least 3 of them.
. "$(dirname "$0")/lib.sh"
ct_require

state=$WORK/state
mkdir -p "$state"
chmod 0755 "$state"
for i in a b; do
    ct_rootfs "jobs-$i" > /dev/null
    ct_config "jobs-$i" <<EOF
[app]
name=jobs-shared
exec=/usr/bin/python3 $C_APPS/exit_after.py 0 600
stop-timeout=5s
[job:tick]
schedule=every 2s
exec=/bin/sh -c 'echo "\$SDVISOR_JOB_SLOT $i" >> /var/lib/sdvisor/runs.log'
EOF
    ct_notify "jobs-$i"
done
for i in a b; do
    ct_start "jobs-$i" -v "$state:/var/lib/sdvisor" -e STATE_DIRECTORY=/var/lib/sdvisor --
done
up=1
for i in a b; do
    NOTIFY_LOG=$WORK/jobs-$i/notify.log notify_wait 30 '^READY=1$' > /dev/null || up=0
done
if [ $up = 0 ]; then
    not_ok "both containers start"
    show_output jobs-a
    show_output jobs-b
    finish
fi
sleep 9
for i in a b; do
    if ct_running "jobs-$i"; then ok "container $i is still running"; else not_ok "container $i is still running"; fi
done
# Stop both; slots that began while both ran are complete by now (the job is instant).
for i in a b; do podman stop -t 10 "$(ct_name "jobs-$i")" > /dev/null 2>&1 & done
for i in a b; do
    ct_wait "jobs-$i" 20
    is "container $i exits 0" "$CT_RC" 0
done

if [ ! -s "$state/runs.log" ]; then
    not_ok "the job ran (runs.log in the shared state directory)"
    diag "state directory:" "$(ls -laR "$state" 2>&1 | head -n 30)"
    show_output jobs-a
    show_output jobs-b
    finish
fi
diag "runs.log:" "$(cat "$state/runs.log")"
result=$($PY - "$state/runs.log" <<'PY'
import collections, datetime, re, sys
runs = [l.split() for l in open(sys.argv[1]) if l.strip()]
def seconds(slot):
    # SDVISOR_JOB_SLOT: a number of seconds or microseconds, or an ISO 8601 time.
    if re.fullmatch(r"\d+", slot):
        n = int(slot)
        return n / 1e6 if n > 1e12 else float(n)
    return datetime.datetime.fromisoformat(slot.replace("Z", "+00:00")).timestamp()
count = collections.Counter(r[0] for r in runs)
dups = sorted(s for s, n in count.items() if n > 1)
times = sorted(seconds(s) for s in count)
# The first and last slot may fall in a start or stop; look at what lies between.
gaps = [round(b - a, 3) for a, b in zip(times, times[1:])]
print("slots=%d dups=%s gaps=%s instances=%s" % (
    len(times), ",".join(dups) or "none", ",".join("%g" % g for g in gaps),
    "".join(sorted(set(r[1] for r in runs)))))
PY
)
diag "$result"
slots=$(sed -n 's/.*slots=\([0-9]*\).*/\1/p' <<< "$result")
dups=$(sed -n 's/.*dups=\([^ ]*\).*/\1/p' <<< "$result")
gaps=$(sed -n 's/.*gaps=\([^ ]*\).*/\1/p' <<< "$result")
is "no slot ran twice" "$dups" none
if [ "${slots:-0}" -ge 3 ]; then ok "at least 3 slots ran in about 9 s ($slots)"; else not_ok "at least 3 slots ran in about 9 s (${slots:-0})"; fi
bad_gap=$(tr ',' '\n' <<< "$gaps" | awk 'NF && $1 != 2 { print }' | head -n 1)
is "the slots are 2 s apart, none missed" "${bad_gap:-}" ""
[ "$_failed" = 0 ] || { show_output jobs-a; show_output jobs-b; }
finish
