#!/bin/bash
# exactly-once.sh — 3 nodes × 2 instances (distinct node= and state directories), a job
# every 1s for 30 s, random SIGKILLs of instances (each restarted at once): every slot
# from the first to the last runs exactly once across the fleet, and fences grow with
# the slots. The job appends "start SLOT NODE FENCE" to one file; the test counts, and
# compares with the claims in the store (FLEET_STORE_KIND: PostgreSQL or etcd).
#
# The kills land between 0.3 and 0.8 s after a whole second: a job here takes a few
# milliseconds, so a killed instance is never between its claim and its job's line (a
# claim whose node dies before starting the job is an interrupted slot, by design not run
# again without retry-interrupted=true; the self-fence test covers that).
. "$(dirname "$0")/lib.sh"
fleet_require

out=$WORK/runs
job=$(fleet_job_lines tick 'every 1s' "$out" 0)
names=()
for node in a b c; do
  for i in 1 2; do
    fleet_conf "$WORK/$node$i.conf" once "node-$node" "$(fleet_lease)" "$job"
    names+=("$node$i")
  done
done
for n in "${names[@]}"; do fleet_start "$n" "$WORK/$n.conf"; done

kills=0
end=$(($(date +%s) + 30))
while [ "$(date +%s)" -lt "$end" ]; do
  sleep "$((RANDOM % 2 + 1))"
  # to between 0.3 and 0.8 s past the second
  now_ns=$(date +%N)
  frac=$((10#$now_ns / 1000000))
  target=$((300 + RANDOM % 500))
  wait_ms=$(((target - frac + 1000) % 1000))
  sleep "$(printf '0.%03d' "$wait_ms")"
  victim=${names[$((RANDOM % ${#names[@]}))]}
  fleet_kill "$victim" && kills=$((kills + 1))
  fleet_start "$victim" "$WORK/$victim.conf"
done
for n in "${names[@]}"; do fleet_stop "$n"; done
diag "$kills instances SIGKILLed and restarted"

lines=$(grep -c '^start' "$out")
slots=$(awk '{print $2}' "$out" | sort -u | wc -l)
is "no slot ran twice ($lines runs)" "$slots" "$lines"
first=$(awk '{print $2}' "$out" | sort | head -1)
last=$(awk '{print $2}' "$out" | sort | tail -1)
span=$(($(slot_epoch "$last") - $(slot_epoch "$first") + 1))
is "every slot from $first to $last ran" "$slots" "$span"
[ "$span" -ge 25 ] && ok "the run spans at least 25 slots ($span)" || not_ok "only $span slots"
like "every run has a fence and a node in its environment" "$(awk 'NF != 4' "$out" | wc -l)" '^0$'

# Fences strictly increase with the slots.
bad=$(sort -k2,2 "$out" | awk 'NR > 1 && $4 <= prev {print} {prev = $4}')
is "fences strictly increase with slots" "$bad" ""

# The store agrees: one record per slot, with the node and fence the job saw.
db=$(fleet_records once tick | awk '$4 == "success" {print $1, $2, $3}')
mine=$(awk '{print $2, $3, $4}' "$out" | sort)
is "every run's slot, node and fence are the recorded claim" "$db" "$mine"
nodes=$(awk '{print $3}' "$out" | sort -u | wc -l)
diag "slots run by $nodes different nodes"
crashes=$(cat "$WORK"/*.log | grep -cE 'AddressSanitizer|Segmentation|CRITICAL|assertion' || true)
is "no sdvisor crashed or asserted" "$crashes" 0
fleet_done
