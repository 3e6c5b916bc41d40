#!/bin/bash
# Issue 6, real journald frozen (SIGSTOP) for 2 s during a flood:
#  1. no line is lost: sdvisor's queue fills, it stops reading, the app blocks on
#     its pipe, and everything arrives once journald runs again;
#  2. sdvisor's main loop is not held up meanwhile: a SIGTERM sent to it while
#     journald is still stopped gets the app stopped at once;
#  3. after journald resumes, sdvisor finishes writing and exits promptly.
# timeout: 90
. "$(dirname "$0")/../lib.sh"

# consecutive [cut]: stdin's lines are "MARKER 0", "MARKER 1", … with none missing;
# with "cut", the last may be cut short (its writer died mid-write). (No awk here:
# the container's /etc, and so /etc/alternatives/awk, is empty.)
consecutive() {
    $PY -c '
import sys
lines = sys.stdin.read().splitlines()
for i, line in enumerate(lines):
    got = line.split(" ", 1)[1]
    if got != str(i) and not (sys.argv[1:] == ["cut"] and i == len(lines) - 1 and str(i).startswith(got)):
        sys.exit(f"line {i + 1}: {line!r}")
' "$@"
}

journald=$(prop systemd-journald.service MainPID)
[ -n "$journald" ] && [ "$journald" != 0 ] || skip_all "no systemd-journald main PID"
# Whatever happens below, journald runs again.
trap 'kill -CONT "$journald" 2>/dev/null' EXIT

N=300000
marker="j$RANDOM"
unit=sdvisor@logs-stall.service
sv_conf logs-stall <<EOF_CONF
[app]
name=stall
exec=/usr/bin/python3 burst.py $N $marker
working-directory=$APPS
EOF_CONF
mark=$(journal_mark)
start_unit "$unit" || { not_ok "systemctl start $unit"; finish; }
pid=$(prop "$unit" MainPID)
kill -STOP "$journald"
# journalctl reads the files, not journald: the flood's last line is not there yet, so
# the stall came in the middle of it.
check "journald was stopped in the middle of the flood" \
    sh -c "! journalctl -q -u '$unit' -o cat | grep -qx '$marker done'"
sleep 2
# While journald is stopped: sdvisor's main thread waits in poll, not in a send.
waits=
for t in /proc/"$pid"/task/*/wchan; do waits+="$(cat "$t" 2>/dev/null) "; done
diag "while journald was stopped, sdvisor's threads waited in: $waits(main: poll; writer: the socket)"
kill -CONT "$journald"

deadline=$((SECONDS + 40))
until journalctl -q -u "$unit" -n 3 -o cat | grep -qx "$marker done" || [ $SECONDS -ge $deadline ]; do
    sleep 0.2
done
lines=$(journalctl -q -u "$unit" --cursor "$mark" -o cat | grep "^$marker [0-9]")
is "all $N lines arrived after the stall" "$(grep -c . <<<"$lines")" "$N"
check "in order" consecutive <<<"$lines"
t0=$(now_ms)
check "systemctl stop $unit after journald resumed" timeout 30 systemctl stop "$unit"
stop_ms=$(($(now_ms) - t0))
check "... took under 3 s (it took ${stop_ms} ms)" test "$stop_ms" -lt 3000

# SIGTERM during the stall, with the app flooding without end.
marker2="k$RANDOM"
unit2=sdvisor@logs-stall2.service
install -d -m 0755 /run/sdvisor-logs-test
cat > /run/sdvisor-logs-test/endless.py <<'EOF_PY'
import itertools, sys
marker = sys.argv[1]
for i in itertools.count():
    sys.stdout.write(f"{marker} {i}\n")
EOF_PY
sv_conf logs-stall2 <<EOF_CONF
[app]
name=stall2
exec=/usr/bin/python3 /run/sdvisor-logs-test/endless.py $marker2
EOF_CONF
mark=$(journal_mark)
start_unit "$unit2" || { not_ok "systemctl start $unit2"; finish; }
pid=$(prop "$unit2" MainPID)
app=$(pgrep -P "$pid" | head -n 1)
sleep 0.5
kill -STOP "$journald"
sleep 1
t0=$(now_ms)
kill -TERM "$pid"
gone=
for _ in $(seq 100); do
    if ! kill -0 "$app" 2>/dev/null || [ "$(ps -o stat= -p "$app" 2>/dev/null | cut -c1)" = Z ]; then
        gone=$(($(now_ms) - t0))
        break
    fi
    sleep 0.01
done
check "with journald stopped, SIGTERM to sdvisor stopped the app within 1 s (${gone:-never} ms)" \
    test -n "$gone"
check "... while sdvisor itself waits to write what it read" kill -0 "$pid"
sleep 1
kill -CONT "$journald"
t0=$(now_ms)
check "once journald resumes, sdvisor exits" wait_prop "$unit2" ActiveState inactive 20
resumed_ms=$(($(now_ms) - t0))
check "... within 5 s: what it still held was written at once (${resumed_ms} ms)" \
    test "$resumed_ms" -lt 5000
lines=$(journalctl -q -u "$unit2" --cursor "$mark" -o cat | grep "^$marker2 [0-9]")
n=$(grep -c . <<<"$lines")
# The app died mid-write: its very last line may be cut short; every other is there.
check "none of the $n lines it wrote is lost (consecutive from 0)" \
    consecutive cut <<<"$lines"
check "... and there were many (more than 10,000)" test "$n" -gt 10000
check "sdvisor logged the stop after them" \
    journal_order "$unit2" "$mark" 5 "^$marker2 [0-9]+" "@MESSAGE_ID=$MSG_STOPPED"
finish
