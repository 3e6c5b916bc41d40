#!/bin/bash
# cut-off.sh — etcd only: one sdvisor cut off from the cluster while it runs a job longer
# than its lease. Node x's endpoint list holds one member (a follower), node y's the
# other two. x catches up the job's latest slot at start (persistent=true) and runs it
# (12 s, lease 4s); y starts next and finds that slot taken. Then x's member is
# SIGSTOPped: x's keepalives go unanswered, its sdvisor kills the job by the self-fence,
# and its result is not recorded. The two members left are a quorum: y, with
# retry-interrupted=true, takes the slot over once the lease ended, with a higher fence;
# with false, nobody runs it again, not even a node that starts (and catches the slot up)
# long after the lease ended. Both variants run side by side (two apps).
. "$(dirname "$0")/lib.sh"
[ "$FLEET_STORE_KIND" = etcd ] || skip_all "an etcd scenario (FLEET_STORE_KIND=etcd)"
fleet_require

leader=$(etcd_leader) || { not_ok "the cluster has a leader"; finish; }
cut=$(((leader % 3) + 1))
rest=$(for i in 1 2 3; do [ "$i" != "$cut" ] && echo "$i"; done | tr '\n' ' ')
diag "leader: member $leader; x's member (to be stopped): $cut; y's: $rest"

# The job's latest slot must stay the same from x's start to y's: not within a minute of
# the hour.
[ "$(date -u +%M)" = 59 ] && sleep $((61 - 10#$(date -u +%S)))

for v in retry noretry; do
  r=false
  [ "$v" = retry ] && r=true
  job=$(fleet_job_lines work 'every 1h' "$WORK/$v.out" 12 "retry-interrupted=$r" persistent=true)
  FLEET_STORE=$(etcd_uri "$cut") fleet_conf "$WORK/$v-x.conf" "cut-$v" "$v-x" 4s "$job"
  # shellcheck disable=SC2086
  FLEET_STORE=$(etcd_uri $rest) fleet_conf "$WORK/$v-y.conf" "cut-$v" "$v-y" 4s "$job"
  fleet_start "$v-x" "$WORK/$v-x.conf"
done

# x's catch-up runs at once; then y starts and finds the slot taken.
declare -A slot fence
for _ in $(seq 150); do
  for v in retry noretry; do
    [ -n "${slot[$v]:-}" ] && continue
    line=$(grep -m1 '^start' "$WORK/$v.out" 2> /dev/null) || continue
    read -r _ s n f <<< "$line"
    slot[$v]=$s fence[$v]=$f
    fleet_start "$v-y" "$WORK/$v-y.conf"
  done
  [ -n "${slot[retry]:-}" ] && [ -n "${slot[noretry]:-}" ] && break
  sleep 0.1
done
if [ -z "${slot[retry]:-}" ] || [ -z "${slot[noretry]:-}" ]; then
  not_ok "both x nodes started their catch-up run"
  finish
fi
# y's catch-up claim finds the slot taken (and, with retry, watches it).
sleep 2
etcd_member_signal "$cut" STOP
stopped=$(date +%s)
diag "member $cut stopped; x nodes run slots ${slot[retry]} (fence ${fence[retry]}), ${slot[noretry]} (fence ${fence[noretry]})"

# The self-fence comes within the lease (4 s) of the last keepalive; the retry starts
# once etcd let the lease go (a TTL is a lower bound); give both 20 s.
for _ in $(seq 200); do
  grep -q 'its result is not recorded' "$WORK/retry-x.log" 2> /dev/null &&
    grep -q 'its result is not recorded' "$WORK/noretry-x.log" 2> /dev/null &&
    grep -q "^start ${slot[retry]} retry-y " "$WORK/retry.out" 2> /dev/null && break
  sleep 0.1
done
# Nobody reruns the noretry slot: wait until well past the lease as well, then start
# noretry's y again: its catch-up claims the slot once more, long after the lease ended,
# and finds the lease-free record.
sleep $((stopped + 10 - $(date +%s) > 0 ? stopped + 10 - $(date +%s) : 0))
fleet_stop noretry-y
fleet_start noretry-y "$WORK/noretry-y.conf"
sleep 3
etcd_member_signal "$cut" CONT
# The retried run (12 s) ends: wait for its end line (at most 20 s).
for _ in $(seq 200); do
  grep -q "^end ${slot[retry]} retry-y " "$WORK/retry.out" 2> /dev/null && break
  sleep 0.1
done
fleet_stop retry-x retry-y noretry-x noretry-y

for v in retry noretry; do
  s=${slot[$v]} f=${fence[$v]} n=$v-x
  like "$v: the cut-off node's sdvisor self-fenced its job" "$(cat "$WORK/$n.log")" \
    "job work \(pid [0-9]+, slot $s, fence $f\): its lease could not be renewed in time; stopping it"
  like "$v: and said its result is not recorded" "$(cat "$WORK/$n.log")" \
    "ended after its self-fence; its result is not recorded"
  unlike "$v: the fenced job did not run to its end" "$(cat "$WORK/$v.out")" "^end $s $n $f\$"
  row=$(fleet_records "cut-$v" work | awk -v s="$s" '$1 == s {print $2, $3, $4, $5}')
  starts=$(grep -c "^start $s " "$WORK/$v.out")
  if [ "$v" = retry ]; then
    read -r rn rf rr ra <<< "$row"
    [ "$rn" = retry-y ] && [ "${rf:-0}" -gt "$f" ] &&
      ok "retry: the other node took the slot over with a higher fence ($rn, $rf)" ||
      not_ok "retry: the record is '$row'"
    is "retry: its run finished and was recorded once (attempt 2)" "${rr:-} ${ra:-}" "success 2"
    is "retry: the slot started twice in all: the fenced run and one retry" "$starts" 2
    like "retry: the retry ran to its end with its own fence" "$(cat "$WORK/$v.out")" "^end $s retry-y ${rf:-x}\$"
  else
    is "noretry: the store still holds the fenced claim, without a result" "$row" "$n $f - 1"
    is "noretry: nobody ran the slot again, nor did y when it started again" "$starts" 1
  fi
done
crashes=$(cat "$WORK"/*.log | grep -cE 'AddressSanitizer|Segmentation|CRITICAL|assertion' || true)
is "no sdvisor crashed or asserted" "$crashes" 0
finish
