#!/bin/bash
# overlap.sh — overlap= holds across the fleet: a job whose run (7 s) outlasts its interval
# never runs on two nodes at once. Two apps side by side, 3 nodes each (lease 2 s):
#   skip  (every 3s): the slots that come while a run goes on are skipped by every node,
#         the ones without the run included ("still runs on node …"), and the next slot
#         after the run's end runs on time;
#   queue (every 5s): the slot that comes while a run goes on starts once, on one node,
#         as soon as the run ends; one slot waits at most: the first (S+15 of a run of
#         S+10 from S+14 to S+21), and every node says that S+20 is skipped, the ones
#         without the run included (nodes that kept the later slot would claim S+15 and
#         S+20 at once when the run ends, and two different slots are not serialised).
# The job appends "start|end SLOT NODE FENCE TIME" to a file per app; the test reads the
# order of the lines. Watched until 24.5 s after the queue variant's first slot.
. "$(dirname "$0")/lib.sh"
fleet_require

for v in skip queue; do
  every=3
  [ "$v" = queue ] && every=5
  o=$WORK/$v.out
  line="\$SDVISOR_JOB_SLOT \$SDVISOR_FLEET_NODE \$SDVISOR_JOB_FENCE"
  job=$(printf '[job:long]\nschedule=every %ss\nonce-per=fleet\noverlap=%s\n' "$every" "$v"
    printf "exec=/bin/sh -c 'echo \"start %s \$(date +%%s.%%N)\" >> %s; sleep 7; echo \"end %s \$(date +%%s.%%N)\" >> %s'\n" \
      "$line" "$o" "$line" "$o")
  for node in x y z; do
    fleet_conf "$WORK/$v-$node.conf" "overlap-$v" "$v-$node" 2s "$job"
  done
done
# Start on a 5 s boundary + 1 s, so that the queue variant's first slot is 4 s away.
now=$(date +%s)
sleep $((5 - now % 5 + 1))
first_queue=$(($(date +%s) - $(date +%s) % 5 + 5))
for v in skip queue; do for node in x y z; do fleet_start "$v-$node" "$WORK/$v-$node.conf"; done; done
sleep $((first_queue + 24 - $(date +%s)))
sleep 0.5
# What a node starts after the others were told to stop is not watched: a stopping node
# kills its run without an "end" line, and frees its claim for the nodes still running.
stop_at=$(date +%s.%N)
fleet_stop skip-x skip-y skip-z queue-x queue-y queue-z

for v in skip queue; do
  diag "$v:" "$(cat "$WORK/$v.out" 2> /dev/null)"
  o=$WORK/$v.watched
  awk -v t="$stop_at" '$5 < t + 0' "$WORK/$v.out" > "$o" 2> /dev/null
  # In the order written: start, end, start, end…, each end of the run just started.
  bad=$(awk '$1 == "start" { if (running) print "overlap: " $0; running = 1; slot = $2; next }
             $1 == "end" { if (!running || $2 != slot) print "stray end: " $0; running = 0 }' "$o")
  is "$v: no two runs at once across the fleet" "$bad" ""
  runs=$(grep -c '^start' "$o")
  is "$v: no slot ran twice" "$(awk '$1 == "start" {print $2}' "$o" | sort -u | wc -l)" "$runs"
  # lateness of each start against its slot, and gap since the previous end
  timing=$(awk '$1 == "start" { cmd = "date -u -d " $2 " +%s"; cmd | getline s; close(cmd)
                                printf "%s %.1f %.1f\n", $2, $5 - s, prev ? $5 - prev : -1 }
                $1 == "end" { prev = $5 }' "$o")
  diag "slot, lateness, since the previous end:" "$timing"
  if [ "$v" = skip ]; then
    [ "$runs" -ge 2 ] && ok "skip: $runs runs" || not_ok "skip: only $runs runs"
    late=$(echo "$timing" | awk '$2 > 1.5')
    is "skip: every run started on time (nothing was held back for later)" "$late" ""
    runner=$(awk '$1 == "start" {print $3; exit}' "$o")
    elsewhere=$(cat "$WORK"/skip-[xyz].log | grep -E "still runs on node $runner \(fence" |
      grep -vc "^$" || true)
    [ "$elsewhere" -ge 2 ] && ok "skip: other nodes skipped the slots due during $runner's run ($elsewhere)" ||
      not_ok "skip: no node said that $runner's run still runs ($elsewhere)"
  else
    s0=$(awk '$1 == "start" {print $2; exit}' "$o")
    at() { date -u -d "@$(($(slot_epoch "$s0") + $1))" +%Y-%m-%dT%H:%M:%SZ; }
    is "queue: four runs, the first slot and three queued ones" \
      "$(awk '$1 == "start" {printf "%s ", $2}' "$o")" "$s0 $(at 5) $(at 10) $(at 15) "
    queued=$(echo "$timing" | awk 'NR > 1 && $2 >= 1 && $3 >= 0 && $3 < 1.5' | wc -l)
    is "queue: each queued slot started late, within 1.5 s of the previous run's end" "$queued" 3
    for node in x y z; do
      like "queue: node $node skipped $(at 20), one slot being queued already" \
        "$(cat "$WORK/queue-$node.log")" "slot $(at 20) skipped: .*already queued"
    done
  fi
done
no_crashes
finish
