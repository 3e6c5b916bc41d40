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
fleet_confs_3x2 once "$job"
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
fleet_stop "${names[@]}"
diag "$kills instances SIGKILLed and restarted"

fleet_check_once "$out" once tick
diag "slots run by $(awk '{print $3}' "$out" | sort -u | wc -l) different nodes"
finish
