#!/bin/bash
# self-fence.sh — the node running a 10 s job is SIGSTOPped past its lease (2 s) and
# resumed (the job, 10 s rather than 5, still runs when a loaded machine resumes it late): its sdvisor kills the job by the self-fence as soon as it runs again, and no
# result of that run is recorded. With retry-interrupted=true the other node takes the
# slot over once, after the lease ended, with a higher fence; with false nobody runs it
# again. Both variants run side by side (two apps, two nodes each) on one server.
. "$(dirname "$0")/lib.sh"
fleet_require

for v in retry noretry; do
  r=false
  [ "$v" = retry ] && r=true
  job=$(fleet_job_lines work 'every 15s' "$WORK/$v.out" 10 "retry-interrupted=$r")
  for node in x y; do
    fleet_conf "$WORK/$v-$node.conf" "fence-$v" "$v-$node" 2s "$job"
    fleet_start "$v-$node" "$WORK/$v-$node.conf"
  done
done

# When a variant's first run starts, stop its node's sdvisor for 3.5 s (the job goes
# on: it is in its own process group).
declare -A stopped_at victim slot fence
deadline=$(($(date +%s) + 30))
while [ "$(date +%s)" -lt "$deadline" ]; do
  for v in retry noretry; do
    [ -n "${stopped_at[$v]:-}" ] && continue
    line=$(grep -m1 '^start' "$WORK/$v.out" 2> /dev/null) || continue
    read -r _ s n f <<< "$line"
    victim[$v]=$n slot[$v]=$s fence[$v]=$f
    kill -STOP "$(cat "$WORK/$n.pid")"
    stopped_at[$v]=$(date +%s%N)
  done
  for v in retry noretry; do
    [ -n "${stopped_at[$v]:-}" ] || continue
    [ "${stopped_at[$v]}" = done ] && continue
    if [ $(($(date +%s%N) - stopped_at[$v])) -ge 3500000000 ]; then
      kill -CONT "$(cat "$WORK/${victim[$v]}.pid")"
      stopped_at[$v]=done
    fi
  done
  [ "${stopped_at[retry]:-}" = done ] && [ "${stopped_at[noretry]:-}" = done ] && break
  sleep 0.05
done
# Now, before the next slot: `sdvisor jobs` of the variant nobody retries.
if [ -n "${victim[noretry]:-}" ]; then
  n=${victim[noretry]}
  jobs_out=$("$SDVISOR" jobs --config "$WORK/$n.conf" --state-directory "$WORK/$n.state" 2>&1)
fi
# The retried run (10 s, from when the lease ended) ends about 13 s after its slot: wait
# for its end line (at most 25 s: a loaded machine is slow).
for _ in $(seq 250); do
  [ -n "${slot[retry]:-}" ] && grep -q "^end ${slot[retry]} " "$WORK/retry.out" 2> /dev/null && break
  sleep 0.1
done
fleet_stop retry-x retry-y noretry-x noretry-y

for v in retry noretry; do
  s=${slot[$v]:-} n=${victim[$v]:-} f=${fence[$v]:-}
  if [ -z "$s" ]; then
    not_ok "$v: a run started"
    continue
  fi
  diag "$v: slot $s first run by $n with fence $f"
  like "$v: the stopped node's sdvisor self-fenced its job" "$(cat "$WORK/$n.log")" \
    "job work \(pid [0-9]+, slot $s, fence $f\): its lease could not be renewed in time; stopping it"
  like "$v: and said its result is not recorded" "$(cat "$WORK/$n.log")" \
    "ended after its self-fence; its result is not recorded"
  unlike "$v: the fenced job did not run to its end" "$(cat "$WORK/$v.out")" "^end $s $n $f\$"
  row=$(pg_psql -F ' ' -c "SELECT node, fence, coalesce(result, '-'), attempts FROM sdvisor_slots
    WHERE app = 'fence-$v' AND job = 'work' AND slot = '$s'")
  others=$(grep -c "^start $s " "$WORK/$v.out")
  if [ "$v" = retry ]; then
    read -r rn rf rr ra <<< "$row"
    [ "$rn" != "$n" ] && [ "$rf" -gt "$f" ] && ok "retry: another node took the slot over with a higher fence ($rn, $rf)" ||
      not_ok "retry: row is '$row'"
    is "retry: its run finished and was recorded once (attempt 2)" "$rr $ra" "success 2"
    is "retry: the slot started twice in all: the fenced run and one retry" "$others" 2
    like "retry: the retry ran to its end with its own fence" "$(cat "$WORK/$v.out")" "^end $s $rn $rf\$"
  else
    is "noretry: the store still holds the fenced claim, without a result" "$row" "$n $f - 1"
    is "noretry: nobody ran the slot again" "$others" 1
    like "noretry: sdvisor jobs shows the slot as interrupted, with its node and fence" \
      "${jobs_out:-}" "^work +$s +$n \(pid [0-9]+\) +$f +interrupted"
  fi
done
finish
