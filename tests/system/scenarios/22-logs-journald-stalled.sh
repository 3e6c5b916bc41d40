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

# The MARKER lines of UNIT since CURSOR that sdvisor sent in the native protocol, and
# the number that came through a stream (stdout/stderr) instead.
native_lines() {
    journalctl -q -u "$1" _TRANSPORT=journal --cursor "$2" -o cat | grep "^$3 [0-9]"
}
stream_lines() {
    journalctl -q -u "$1" _TRANSPORT=stdout --cursor "$2" -o cat | grep -c "^$3 [0-9]"
}

journald=$(prop systemd-journald.service MainPID)
[ -n "$journald" ] && [ "$journald" != 0 ] || skip_all "no systemd-journald main PID"
# Whatever happens below, journald runs again.
trap 'kill -CONT "$journald" 2>/dev/null' EXIT

N=300000
marker="j$RANDOM"
unit=sdvisor@logs-stall.service
sv_app logs-stall "/usr/bin/python3 burst.py $N $marker" name=stall
mark=$(journal_mark)
start_or_finish "$unit"
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
# Counted where they must be: entries sdvisor sent in the native protocol
# (_TRANSPORT=journal); a fallback to its stdout (_TRANSPORT=stdout, systemd's stream)
# would show the same text under -o cat.
lines=$(native_lines "$unit" "$mark" "$marker")
is "all $N lines arrived after the stall, in the native protocol" "$(grep -c . <<<"$lines")" "$N"
check "in order" consecutive <<<"$lines"
is "none of them came through sdvisor's stdout or stderr" "$(stream_lines "$unit" "$mark" "$marker")" 0
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
sv_app logs-stall2 "/usr/bin/python3 /run/sdvisor-logs-test/endless.py $marker2" name=stall2
mark=$(journal_mark)
start_or_finish "$unit2"
pid=$(prop "$unit2" MainPID)
# The app: sdvisor's child running endless.py (it may take a moment to appear).
app=
deadline=$((SECONDS + 10))
until [ -n "$app" ] || [ $SECONDS -ge $deadline ]; do
    for c in $(pgrep -P "$pid"); do
        grep -q endless.py "/proc/$c/cmdline" 2>/dev/null && app=$c
    done
    [ -n "$app" ] || sleep 0.05
done
if [ -z "$app" ] || ! kill -0 "$app" 2>/dev/null; then
    not_ok "the endless app runs under sdvisor (pid ${app:-none})"
    finish
fi
# Flooding: its lines reach the journal before the stall.
deadline=$((SECONDS + 10))
until [ "$(native_lines "$unit2" "$mark" "$marker2" | head -n 2 | grep -c .)" = 2 ] ||
    [ $SECONDS -ge $deadline ]; do
    sleep 0.1
done
kill -STOP "$journald"
sleep 1
t0=$(now_ms)
kill -TERM "$pid"
gone=
while [ $(($(now_ms) - t0)) -le 1000 ]; do
    if ! kill -0 "$app" 2>/dev/null || [ "$(ps -o stat= -p "$app" 2>/dev/null | cut -c1)" = Z ]; then
        gone=$(($(now_ms) - t0))
        break
    fi
    sleep 0.01
done
check "with journald stopped, SIGTERM to sdvisor stopped the app within 1 s (${gone:-not} ms)" \
    test -n "$gone" -a "${gone:-1001}" -le 1000
check "... while sdvisor itself waits to write what it read" kill -0 "$pid"
sleep 1
kill -CONT "$journald"
t0=$(now_ms)
check "once journald resumes, sdvisor exits" wait_prop "$unit2" ActiveState inactive 20
resumed_ms=$(($(now_ms) - t0))
check "... within 5 s: what it still held was written at once (${resumed_ms} ms)" \
    test "$resumed_ms" -lt 5000
lines=$(native_lines "$unit2" "$mark" "$marker2")
n=$(grep -c . <<<"$lines")
# The app died mid-write: its very last line may be cut short; every other is there.
check "none of the $n lines it wrote is lost (consecutive from 0)" \
    consecutive cut <<<"$lines"
check "... and there were many (more than 10,000)" test "$n" -gt 10000
is "none of them came through sdvisor's stdout or stderr" "$(stream_lines "$unit2" "$mark" "$marker2")" 0
check "sdvisor logged the stop after them" \
    journal_order "$unit2" "$mark" 5 "^$marker2 [0-9]+" "@MESSAGE_ID=$MSG_STOPPED"
finish
