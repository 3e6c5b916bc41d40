#!/bin/bash
# outage.sh — the store unavailable for a while (PostgreSQL stopped for 5 s; etcd's quorum
# lost for 10 s: two members of three killed, FLEET_STORE_KIND=etcd) while two nodes run a
# job every second: no slot runs twice in the fleet; slots in the outage are skipped with an error
# entry (on-store-unavailable=skip, the default) or run once per host (=local: each
# node's state directory is a host here); coordination resumes by itself afterwards.
# Both policies run side by side, as two apps on the one server.
# On PostgreSQL, each run lasts 0.5 s and the server stops 0.3 s into a second: a run is
# going on then, and its result cannot be recorded. That run is over, so the slots after
# it are no less due (once per host with =local) while its result waits for the store.
. "$(dirname "$0")/lib.sh"
fleet_require

run_time=0
[ "$FLEET_STORE_KIND" = pg ] && run_time=0.5
for v in skip local; do
  job=$(fleet_job_lines tick 'every 1s' "$WORK/$v.out" "$run_time" "on-store-unavailable=$v")
  for node in x y; do
    fleet_conf "$WORK/$v-$node.conf" "outage-$v" "$v-$node" "$(fleet_lease)" "$job"
    fleet_start "$v-$node" "$WORK/$v-$node.conf"
  done
done
sleep 5
[ "$FLEET_STORE_KIND" = pg ] && sleep "$(date +%s.%N | awk '{ printf "%.3f", int($1) + 1.3 - $1 }')"
# The outage as the nodes see it: from when the store is gone to when it starts again
# (a fast shutdown takes a while on a loaded machine).
fleet_store_down
down_from=$(date -u +%s)
sleep "$([ "$FLEET_STORE_KIND" = etcd ] && echo 10 || echo 5)"
down_to=$(date -u +%s)
fleet_store_up || not_ok "the store starts again"
sleep 10
fleet_stop skip-x skip-y local-x local-y
diag "store down from $(date -u -d "@$down_from" +%T) to $(date -u -d "@$down_to" +%T)"

claim_wait=$([ "$FLEET_STORE_KIND" = etcd ] && echo 3 || echo 1)
for v in skip local; do
  out=$WORK/$v.starts
  grep '^start' "$WORK/$v.out" > "$out"
  fleet_runs=$(awk 'NF == 4' "$out")
  dups=$(echo "$fleet_runs" | awk '{print $2}' | sort | uniq -d)
  is "$v: no slot claimed in the fleet ran twice" "$dups" ""
  # Slots well inside the outage (its first and last second may go either way, and a claim
  # that waits for the store may go through when it is back, within the time a claim may
  # take: a third of the lease for PostgreSQL, half of it for etcd).
  inside=$(awk -v a="$down_from" -v b="$down_to" '{print $2}' "$out" | while read -r s; do
    e=$(slot_epoch "$s")
    [ "$e" -gt $((down_from + 1)) ] && [ "$e" -lt $((down_to - 1 - claim_wait)) ] && echo "$s"
  done | sort | uniq -c)
  resumed=$(awk 'NF == 4 {print $2}' "$out" | while read -r s; do
    [ "$(slot_epoch "$s")" -gt $((down_to + 3)) ] && echo "$s"
  done | wc -l)
  [ "$resumed" -ge 3 ] && ok "$v: fleet claims resumed by themselves after the outage ($resumed slots)" ||
    not_ok "$v: only $resumed fleet runs after the outage"
  last_fleet=$(awk 'NF == 4 {print $2}' "$out" | sort | tail -1)
  if [ "$v" = skip ]; then
    is "skip: nothing ran inside the outage" "$inside" ""
    errors=$(cat "$WORK"/skip-*.log | grep -c 'skipped: the fleet store cannot be used')
    [ "$errors" -ge 4 ] && ok "skip: the skipped slots are reported ($errors entries)" ||
      not_ok "skip: $errors skip entries"
  else
    inside_runs=$(echo "$inside" | awk 'NF {print $1}' | sort -u | tr '\n' ' ')
    is "local: each slot inside the outage ran once per host (twice: two hosts)" "$inside_runs" "2 "
    locals=$(awk 'NF == 2' "$out" | wc -l)
    like "local: the local runs had no fence" "$locals" '^[1-9][0-9]*$'
    like "local: the fallback is logged" "$(cat "$WORK"/local-*.log)" \
      'the fleet store cannot be used .*; running it once per host instead \(on-store-unavailable=local\)'
  fi
  like "$v: the outage is logged once as an error" "$(cat "$WORK/$v-x.log")" '<3>sdvisor: fleet store .*: '
  like "$v: and the recovery" "$(cat "$WORK/$v-x.log")" 'connected again|answering again'
  diag "$v: last fleet slot $last_fleet"
done
finish
