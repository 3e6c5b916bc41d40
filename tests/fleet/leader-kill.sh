#!/bin/bash
# leader-kill.sh — etcd only: 3 nodes × 2 instances, a job every 1s for about 30 s; the
# etcd leader is SIGKILLed 8 s in and started again 10 s later. Every sdvisor lists the
# leader first in its endpoint list, so their requests go to the member that dies. Two
# members of three are a quorum all along: every slot from the first to the last runs
# exactly once across the fleet (none lost, none twice), and fences grow with the slots.
. "$(dirname "$0")/lib.sh"
[ "$FLEET_STORE_KIND" = etcd ] || skip_all "an etcd scenario (FLEET_STORE_KIND=etcd)"
fleet_require

leader=$(etcd_leader) || { not_ok "the cluster has a leader"; fleet_done; }
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
for n in "${names[@]}"; do fleet_stop "$n"; done
diag "leader at the end: member ${new_leader:-none}"

lines=$(grep -c '^start' "$out")
slots=$(awk '{print $2}' "$out" | sort -u | wc -l)
is "no slot ran twice ($lines runs)" "$slots" "$lines"
first=$(awk '{print $2}' "$out" | sort | head -1)
last=$(awk '{print $2}' "$out" | sort | tail -1)
span=$(($(slot_epoch "$last") - $(slot_epoch "$first") + 1))
if [ "$slots" != "$span" ]; then
  missing=$(for t in $(seq "$(slot_epoch "$first")" "$(slot_epoch "$last")"); do
    s=$(date -u -d "@$t" +%Y-%m-%dT%H:%M:%SZ)
    grep -q " $s " "$out" || echo "$s"
  done | tr '\n' ' ')
  diag "slots that did not run: $missing"
  for s in $missing; do
    diag "$s: $(cat "$WORK"/*.log | grep -F "${s%Z}" | head -3)"
  done
fi
is "every slot from $first to $last ran, none lost while a quorum was up" "$slots" "$span"
[ "$span" -ge 25 ] && ok "the run spans at least 25 slots ($span)" || not_ok "only $span slots"
bad=$(sort -k2,2 "$out" | awk 'NR > 1 && $4 <= prev {print} {prev = $4}')
is "fences strictly increase with slots" "$bad" ""
db=$(fleet_records leader tick | awk '$4 == "success" {print $1, $2, $3}')
mine=$(awk '{print $2, $3, $4}' "$out" | sort)
is "every run's slot, node and fence are the recorded claim" "$db" "$mine"
unfinished=$(fleet_records leader tick | awk '$4 != "success"')
is "no claim in the store is left without a result" "$unfinished" ""
crashes=$(cat "$WORK"/*.log | grep -cE 'AddressSanitizer|Segmentation|CRITICAL|assertion' || true)
is "no sdvisor crashed or asserted" "$crashes" 0
fleet_done
