#!/bin/bash
# leader-kill.sh — etcd only: 3 nodes × 2 instances, a job every 1s for about 30 s; the
# etcd leader is SIGKILLed 8 s in and started again 10 s later. Every sdvisor lists the
# leader first in its endpoint list, so their requests go to the member that dies. Two
# members of three are a quorum all along: every slot from the first to the last runs
# exactly once across the fleet (none lost, none twice), each with a fence of its own.
. "$(dirname "$0")/lib.sh"
[ "$FLEET_STORE_KIND" = etcd ] || skip_all "an etcd scenario (FLEET_STORE_KIND=etcd)"
fleet_require

leader=$(etcd_leader) || { not_ok "the cluster has a leader"; finish; }
others=$(for i in 1 2 3; do [ "$i" != "$leader" ] && echo "$i"; done | tr '\n' ' ')
# shellcheck disable=SC2086
FLEET_STORE=$(etcd_uri "$leader" $others)
diag "leader: member $leader; endpoints: $FLEET_STORE"

out=$WORK/runs
job=$(fleet_job_lines tick 'every 1s' "$out" 0)
names=()
for node in a b c; do
  for i in 1 2; do
    fleet_conf "$WORK/$node$i.conf" leader tick-"$node" "$(fleet_lease)" "$job"
    names+=("$node$i")
  done
done
for n in "${names[@]}"; do fleet_start "$n" "$WORK/$n.conf"; done

start=$(date +%s)
sleep 8
killed_at=$(date -u +%H:%M:%S)
etcd_member_kill "$leader"
sleep 10
etcd_member_start "$leader"
back_at=$(date -u +%H:%M:%S)
diag "member $leader killed at $killed_at, started again at $back_at"
sleep $((start + 30 - $(date +%s)))
new_leader=$(etcd_leader)
fleet_stop "${names[@]}"
diag "leader at the end: member ${new_leader:-none}"

# Fences: unique, not in slot order — a slot whose claim waited through the election may
# be claimed just after the next one.
fleet_check_once "$out" leader tick unique
unfinished=$(fleet_records leader tick | awk '$4 == "-"')
is "no claim in the store is left without a result" "$unfinished" ""
finish
