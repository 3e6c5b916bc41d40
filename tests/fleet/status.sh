#!/bin/bash
# status.sh — what a running sdvisor says of its fleet jobs, and the journal fields of a
# fleet run. Two nodes, each sdvisor against a fake journald (a mount namespace of its
# own). While a run of the fleet job goes on, `sdvisor status` (--json and text) of the
# node running it shows this node, the run's fence and the store's view of the slot
# (node, pid, fence, running); the other node shows the same slot, and no fence of its
# own; a once-per-host job has no fleet part. Once the run ended, the store's view says
# finished, success. With the store down (PostgreSQL stopped; etcd's quorum lost,
# FLEET_STORE_KIND=etcd), status still answers, at once, saying that the store cannot be
# asked. Every journal entry of the run (started, its output, finished) carries
# SDVISOR_JOB_FENCE and SDVISOR_FLEET_NODE, with the fence and node the job saw in its
# environment.
. "$(dirname "$0")/lib.sh"
fleet_require
fleet_require_journal

out=$WORK/runs
job=$(printf '[job:work]\nschedule=every 5s\nonce-per=fleet\n'
  printf "exec=/bin/sh -c 'echo \"start \$SDVISOR_JOB_SLOT \$SDVISOR_FLEET_NODE \$SDVISOR_JOB_FENCE\" >> %s; echo fleet-job-says-hello; sleep 3; echo \"end \$SDVISOR_JOB_SLOT \$SDVISOR_FLEET_NODE \$SDVISOR_JOB_FENCE\" >> %s'\n" "$out" "$out"
  printf '\n[job:local]\nschedule=every 1h\nexec=/bin/true\n')
for node in a b; do
  fleet_conf "$WORK/$node.conf" stat "node-$node" "$(fleet_lease)" "$job"
  fleet_start "$node" "$WORK/$node.conf"
done

# status_json NAME: `sdvisor status --json` of node NAME into $WORK/NAME.json.
status_json() {
  "$SDVISOR" status --socket "$WORK/$1.run/control" --json > "$WORK/$1.json" 2> "$WORK/$1.err"
}
status_text() { "$SDVISOR" status --socket "$WORK/$1.run/control" 2>&1; }
# q NAME EXPR: EXPR over node NAME's last status (d: the reply; w, l: jobs work and local;
# f: work's fleet part); lists and tuples print space-separated.
q() {
  /usr/bin/python3 - "$WORK/$1.json" "$2" << 'PY'
import json, sys
d = json.load(open(sys.argv[1]))
w = next(j for j in d["jobs"] if j["name"] == "work")
l = next(j for j in d["jobs"] if j["name"] == "local")
f = w.get("fleet") or {}
v = eval(sys.argv[2])
print(" ".join(map(str, v)) if isinstance(v, (list, tuple)) else v)
PY
}

for _ in $(seq 150); do
  grep -q '^start' "$out" 2> /dev/null && break
  sleep 0.1
done
read -r _ slot runner fence < <(grep -m1 '^start' "$out")
diag "slot $slot: node $runner, fence $fence"
me=${runner#node-}
other=a
[ "$me" = a ] && other=b

status_json "$me"
is "runner: status --json answers" "$?" 0
is "runner: this node and the fence of its run" "$(q "$me" '(f["node"], f["fence"], f["error"])')" \
  "$runner $fence None"
pid=$(q "$me" 'f["last_run"]["pid"]')
is "runner: the store's last slot is this run, running" \
  "$(q "$me" '[f["last_run"][k] for k in ("slot", "node", "fence", "state", "result", "exit_code")]')" \
  "$slot $runner $fence running None None"
is "the store's pid of the run is the runner's sdvisor" "$pid" "$(cat "$WORK/$me.pid")"
is "a once-per-host job has no fleet part" "$(q "$me" '"fleet" in l')" False
like "runner: the text says so" "$(status_text "$me")" \
  "^    fleet: node $runner, running here with fence $fence; last slot $slot: node $runner \(pid $pid\), fence $fence, running$"
status_json "$other"
is "other node: its name, no run here, the same slot running on $runner" \
  "$(q "$other" '(f["node"], f["fence"], f["last_run"]["node"], f["last_run"]["fence"], f["last_run"]["state"])')" \
  "node-$other None $runner $fence running"

for _ in $(seq 100); do
  grep -q "^end $slot " "$out" && break
  sleep 0.1
done
sleep 0.5
status_json "$other"
is "after the run: the store says finished, success, exit 0" \
  "$(q "$other" '[f["last_run"][k] for k in ("slot", "node", "fence", "state", "result", "exit_code")]')" \
  "$slot $runner $fence finished success 0"
like "other node: the text says so" "$(status_text "$other")" \
  "^    fleet: node node-$other; last slot $slot: node $runner \(pid $pid\), fence $fence, success$"

fleet_store_down
t0=$(date +%s%N)
status_json "$other"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
is "store stopped: status still answers" "$rc" 0
[ "$ms" -lt 5000 ] && ok "store stopped: within 5 s ($ms ms)" || not_ok "store stopped: took $ms ms"
like "store stopped: the fleet part says the store cannot be asked" "$(q "$other" 'f["error"]')" '.'
is "store stopped: no last run shown" "$(q "$other" 'f["last_run"]')" None
like "store stopped: the text says so" "$(status_text "$other")" "^    fleet: node node-$other; the fleet store: "
fleet_stop a b

# The journal entries of the run, on the node that ran it.
entries=$(journal_select "$WORK/$me.journal" SDVISOR_JOB=work "SDVISOR_JOB_SLOT=$slot")
for what in "MESSAGE_ID=eaf3e56483234fbab8af81aae1ae5719 started" \
  "MESSAGE_ID=e741381ef6df4e0fb82e667bd3f6d1af finished" "MESSAGE=fleet-job-says-hello output"; do
  read -r sel name <<< "$what"
  e=$(journal_select "$WORK/$me.journal" SDVISOR_JOB=work "SDVISOR_JOB_SLOT=$slot" "$sel")
  like "journal: the run's $name entry carries its fence" "$e" "^SDVISOR_JOB_FENCE=$fence\$"
  like "journal: the run's $name entry carries its node" "$e" "^SDVISOR_FLEET_NODE=$runner\$"
done
n=$(printf '%s\n' "$entries" | grep -c '^SDVISOR_JOB=work$')
m=$(printf '%s\n' "$entries" | grep -c "^SDVISOR_JOB_FENCE=$fence\$")
is "journal: all $n entries of the run carry the fence" "$m" "$n"
unlike "journal: the node that did not run it tags no entry with that fence" \
  "$(cat "$WORK/$other.journal")" "^SDVISOR_JOB_FENCE=$fence\$"
no_crashes
finish
