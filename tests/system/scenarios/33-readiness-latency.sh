#!/bin/bash
# Issue 4, a measurement: how long after the app's listen() READY=1 reaches
# systemd, with `[ready] check=tcp://…` at its default interval (100ms). 20
# starts of stamp_app.py, which listens after a random 0-200 ms (so the moment
# of listen() falls anywhere between two checks) and stamps CLOCK_MONOTONIC
# right after listen(); systemd stamps ActiveEnterTimestampMonotonic when it
# processes READY=1 of a Type=notify unit. The figures are printed as
# diagnostics, not asserted; what is asserted is that every start succeeded and
# that READY=1 never came before listen().
# timeout: 25
. "$(dirname "$0")/../lib.sh"

name=ready-latency
unit=sdvisor@$name.service
port=8333
runs=20
stamps=$(stamps_dir $name)
sv_app $name "/usr/bin/python3 stamp_app.py --port $port --stamps $stamps --jitter 0.2" \
    "[ready]" "check=tcp://127.0.0.1:$port"
track "$unit"

lat=() failed=0 early=0
for _ in $(seq 1 "$runs"); do
    : > "$stamps/listen"
    if ! timeout 20 systemctl start "$unit"; then
        failed=$((failed + 1))
        continue
    fi
    active=$(prop "$unit" ActiveEnterTimestampMonotonic)
    # The app may listen after READY=1 only if something is wrong: wait for it.
    for _ in $(seq 50); do [ -s "$stamps/listen" ] && break; sleep 0.05; done
    read -r listen_ns _ <<< "$(tail -n 1 "$stamps/listen")"
    timeout 20 systemctl stop "$unit"
    if [ -z "$listen_ns" ] || [ -z "$active" ] || [ "$active" = 0 ]; then
        failed=$((failed + 1))
        continue
    fi
    us=$((active - listen_ns / 1000))
    [ "$us" -ge 0 ] || early=$((early + 1))
    lat+=("$us")
done

is "all $runs starts succeeded and were measured" "$failed" 0
is "READY=1 never reached systemd before the app's listen()" "$early" 0
if [ ${#lat[@]} -gt 0 ]; then
    diag "readiness latency, listen() -> READY=1 processed by systemd, [ready] check=tcp:// interval=100ms (default):"
    printf '%s\n' "${lat[@]}" | "$PY" -c '
import statistics, sys
v = sorted(int(x) for x in sys.stdin)
ms = lambda us: f"{us / 1000:.1f} ms"
print(f"# {len(v)} starts: median {ms(statistics.median(v))}, min {ms(v[0])}, max {ms(v[-1])}")
print("# all (ms): " + " ".join(f"{x / 1000:.1f}" for x in v))'
    diag "measured as: ActiveEnterTimestampMonotonic (systemctl show -P ActiveEnterTimestampMonotonic $unit, µs)" \
        "minus the app's clock_gettime(CLOCK_MONOTONIC) right after listen() (stamp_app.py), per start;" \
        "each start: systemctl start $unit, then systemctl stop $unit"
fi
stop_quietly "$unit"
finish
