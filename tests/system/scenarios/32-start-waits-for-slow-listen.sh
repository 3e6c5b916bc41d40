#!/bin/bash
# Issue 4: `systemctl start` of an app that takes 5 s to listen returns after it
# listens, not before. With `[ready] check=tcp://…` sdvisor sends READY=1 only
# once the port accepts; a READY=1 sent at spawn would let start return at once.
# The app (stamp_app.py) stamps the moment right after its listen().
# timeout: 20
. "$(dirname "$0")/../lib.sh"

name=slow-listen
unit=sdvisor@$name.service
port=8332
stamps=$(stamps_dir $name)
sv_app $name "/usr/bin/python3 stamp_app.py --port $port --stamps $stamps --delay 5" \
    "[ready]" "check=tcp://127.0.0.1:$port" timeout=20s
track "$unit"

t0=$(date +%s%N)
timeout 30 systemctl start "$unit"
rc=$?
t1=$(date +%s%N)
check "systemctl start returned 0" test "$rc" = 0
# Taken now, the stamp would tell too little if start returned early: wait for it.
for _ in $(seq 100); do [ -s "$stamps/listen" ] && break; sleep 0.1; done
listen=$(tail -n 1 "$stamps/listen" 2>/dev/null)
check "the app listened (stamp: '$listen')" test -n "$listen" || { stop_quietly "$unit"; finish; }
read -r listen_mono listen_real _ <<< "$listen"
active_mono=$(prop "$unit" ActiveEnterTimestampMonotonic)
diag "systemctl start took $(((t1 - t0) / 1000000)) ms; it returned $(((t1 - listen_real) / 1000000)) ms after the app listened"
diag "READY=1 reached systemd (ActiveEnterTimestampMonotonic) $((active_mono - listen_mono / 1000)) µs after listen()"
check "systemctl start took at least the app's 5 s" test $((t1 - t0)) -ge 5000000000
check "systemctl start returned after the app listened" test "$t1" -ge "$listen_real"
check "the unit became active after the app listened (ActiveEnterTimestampMonotonic)" \
    test "$active_mono" -ge $((listen_mono / 1000))
check "the app answers at once (one try)" curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:$port/"
stop_quietly "$unit"
finish
