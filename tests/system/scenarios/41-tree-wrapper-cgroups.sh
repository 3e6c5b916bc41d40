#!/bin/bash
# Issue 18: uvicorn behind a wrapper shell (`sh -c '…; echo after'`) under the
# template's Delegate=yes. While the app, a hook and a job run, the unit's cgroup
# holds sdvisor in supervisor/ and each of them in a sub-cgroup of its own; then
# `systemctl stop` with a 3-second request in flight: 200, Result=success, and
# nothing left for systemd to kill.
# timeout: 60
. "$(dirname "$0")/../lib.sh"
. "$SYSTEM_TESTS/stop-in-flight.sh"

name=tree
unit=sdvisor@$name.service
out=$SCENARIO_RESULTS
# A hook and a job that say where they run, and stay a while.
conf() {
    cat <<EOF_CONF
[app]
exec=sh -c '/usr/bin/python3 -m uvicorn app_fastapi:app --host 127.0.0.1 --port 8137; echo after'
working-directory=$APPS
stop-timeout=20s
[hook:where]
when=post-start
exec=sh -c 'cat /proc/self/cgroup > $out/hook.cgroup; sleep 4'
timeout=20s
[job:where]
schedule=every 2s
exec=sh -c 'cat /proc/self/cgroup > $out/job.cgroup; sleep 3'
EOF_CONF
}

conf | sv_conf "$name"
start_or_finish "$unit"
track "$unit"
check "the app answers /health" wait_http "http://127.0.0.1:8137/health" 20
check "the journal says sdvisor uses its delegated cgroup" \
    journal_wait "$unit" "" 10 "@SDVISOR_PROCESS_TREES=cgroup"

# The unit's own cgroup (hybrid: the unified hierarchy at /sys/fs/cgroup/unified).
cg=$(prop "$unit" ControlGroup)
root=/sys/fs/cgroup
[ -d "$root/unified$cg" ] && root=$root/unified
dir=$root$cg
main=$(prop "$unit" MainPID)
deadline=$((SECONDS + 15))
until [ -s "$out/hook.cgroup" ] && [ -s "$out/job.cgroup" ]; do
    [ $SECONDS -lt $deadline ] || break
    sleep 0.1
done
diag "$(cd "$dir" && for d in */; do echo "$d: $(tr '\n' ' ' < "$d/cgroup.procs")"; done)"
is "sdvisor (MainPID) is alone in supervisor/" "$(cat "$dir/supervisor/cgroup.procs")" "$main"
is "the unit's cgroup itself holds no process" "$(cat "$dir/cgroup.procs")" ""
check "the app's processes are in app-N/" \
    sh -c "cat $dir/app-*/cgroup.procs | grep -q ."
check "uvicorn runs in app-N/, beside its wrapper shell" \
    sh -c "for p in \$(cat $dir/app-*/cgroup.procs); do cat /proc/\$p/cmdline; echo; done | grep -q uvicorn"
check "the hook ran in hook-where-N/" grep -q "^0::$cg/hook-where-[0-9]*\$" "$out/hook.cgroup"
check "the job ran in job-where-N/" grep -q "^0::$cg/job-where-[0-9]*\$" "$out/job.cgroup"

# The stop itself, as in 02-stop-in-flight-*, through the wrapper.
conf | stop_in_flight "$name" 8137 "Shutting down"
finish
