#!/bin/bash
# catch-up.sh — persistent=true across a fleet: every instance (3 nodes × 2, distinct
# node= and state directories) is down across a slot and then started again together: the
# missed slot is caught up once across the fleet, not once per node or per instance; a
# slot that ran is not caught up again when the fleet restarts; the store has one claim
# per slot. The job runs every 10 s; the test lines itself up with the slots.
. "$(dirname "$0")/lib.sh"
fleet_require

out=$WORK/runs
job=$(fleet_job_lines nightly 'every 10s' "$out" 0 'persistent=true')
fleet_confs_3x2 catchup "$job"
start_all() { for n in "${names[@]}"; do fleet_start "$n" "$WORK/$n.conf"; done; }
stop_all() { fleet_stop "${names[@]}"; }
# Sleeps until OFFSET seconds (decimal) past the slot that began at BASE (epoch seconds).
sleep_until() {
  local left
  left=$(awk -v b="$1" -v o="$2" -v n="$(date +%s.%N)" 'BEGIN { printf "%.3f", b + o - n }')
  case $left in -* | 0.000) return ;; esac
  sleep "$left"
}
started() { grep -c "^start $1 " "$out" 2> /dev/null || true; }
# Waits (at most 5 s) until every instance's start-up check (the catch-up claim) is over,
# as `sdvisor status` says.
checked_all() {
  local n left
  for _ in $(seq 50); do
    left=0
    for n in "${names[@]}"; do
      "$SDVISOR" status --socket "$WORK/$n.run/control" --json 2> /dev/null |
        grep -q '"checking" : false' || left=$((left + 1))
    done
    [ "$left" = 0 ] && return 0
    sleep 0.1
  done
  diag "$left instances still in their start-up check"
  return 1
}
slot_name() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

# Line up: start 2 s into a slot (base), with at least 1 s before it began.
now=$(date +%s)
base=$((now - now % 10 + 10))
sleep_until "$base" 2
s0=$(slot_name "$base") s1=$(slot_name $((base + 10))) s2=$(slot_name $((base + 20)))

# 1. The fleet's first start, 2 s after slot s0 that nobody ran: caught up once; s1 runs
#    on time.
start_all
sleep_until "$base" 12
stop_all
is "first start: slot $s0 (missed before the fleet existed) caught up once" "$(started "$s0")" 1
is "slot $s1 ran once, on time" "$(started "$s1")" 1

# 2. Every instance down across s2; all started again 2 s after it.
sleep_until "$base" 22
start_all
checked_all
sleep 0.5
is "slot $s2, missed by the whole fleet, caught up exactly once" "$(started "$s2")" 1

# 3. All restarted again within the same slot: s2 ran, so nobody catches it up again.
stop_all
start_all
checked_all && ok "every restarted instance made its catch-up check" || not_ok "start-up checks not over"
sleep 0.5
stop_all
is "a restart after the catch-up does not run $s2 again" "$(started "$s2")" 1
lines=$(grep -c '^start' "$out")
is "three runs in all, one per slot" "$lines" 3

db=$(pg_psql -F ' ' -c "SELECT to_char(slot AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
  node, fence, result, attempts FROM sdvisor_slots WHERE app = 'catchup'
  AND slot <= '$s2' ORDER BY slot")
mine=$(awk '{print $2, $3, $4, "success", 1}' "$out" | sort)
is "the store holds one finished claim per slot, with the node and fence the job saw" "$db" "$mine"
no_crashes
finish
