# stop-in-flight.sh — issue 3, scenario 2, for any of the test apps. Sourced by
# scenarios/02-stop-in-flight-*.sh after lib.sh:
#
#     stop_in_flight NAME PORT SHUTDOWN-REGEX < CONFIG
#
# starts sdvisor@NAME with CONFIG, sends a 3-second request to /slow, runs
# `systemctl stop` while it is in flight, and checks that the client got its
# 200 and the whole body, that the unit ends inactive (not failed), and that the
# journal shows the stop sequence (SHUTDOWN-REGEX is the app's own line saying
# it is shutting down).
#
# The journal orders entries as journald reads them, and it reads systemd's,
# sdvisor's and the app's lines from different sockets: lines written within a
# few milliseconds of each other by different processes can come in either
# order (systemd logs "Stopping" after it has sent SIGTERM, for one). So order
# is checked within each writer, and across writers only where a second passes
# between the two lines (the request is 3 s long).

stop_in_flight() {
    local name=$1 port=$2 shutdown=$3
    local unit=sdvisor@$name.service mark body=$SCENARIO_RESULTS/body curl_pid t0 ms
    sv_conf "$name"
    mark=$(journal_mark)

    start_unit "$unit" || { not_ok "systemctl start $unit"; return; }
    check "the app answers /health" wait_http "http://127.0.0.1:$port/health" 20 || return

    local c0
    c0=$(now_ms)
    curl -sS --max-time 20 -o "$body" -w '%{http_code}\n' \
        "http://127.0.0.1:$port/slow?seconds=3" > "$SCENARIO_RESULTS/curl.out" 2>&1 &
    curl_pid=$!
    check "the slow request is in flight" \
        journal_wait "$unit" "$mark" 5 "slow request started"

    t0=$(now_ms)
    check "systemctl stop returns 0" timeout 30 systemctl stop "$unit"
    ms=$(($(now_ms) - t0))
    diag "systemctl stop took $ms ms, $(($(now_ms) - c0)) ms after the request was sent"
    check "systemctl stop returned only after the request's 3 s" \
        test $(($(now_ms) - c0)) -ge 2900

    wait "$curl_pid"
    is "the client's curl succeeded" "$?" 0
    is "the client got 200" "$(head -n 1 "$SCENARIO_RESULTS/curl.out")" 200
    is "the client got the whole body" "$(tail -n 1 "$body" 2>/dev/null)" END

    is "the unit is inactive (dead), not failed" \
        "$(prop "$unit" ActiveState) ($(prop "$unit" SubState))" "inactive (dead)"
    is "its Result is success" "$(prop "$unit" Result)" success

    check "journal: systemd stopping, then stopped" journal_order "$unit" "$mark" 5 \
        "^Stopping $unit" "^Stopped $unit"
    check "journal: sdvisor passing the stop on, then seeing the app stop" \
        journal_order "$unit" "$mark" 5 "@MESSAGE_ID=$MSG_STOP_REQUESTED" "@MESSAGE_ID=$MSG_STOPPED"
    check "journal: the app shutting down, then finishing the request" \
        journal_order "$unit" "$mark" 5 "$shutdown" "slow request finished"
    check "journal: the stop came while the request was in flight" \
        journal_order "$unit" "$mark" 5 \
        "slow request started" "@MESSAGE_ID=$MSG_STOP_REQUESTED" "slow request finished"
    # With KillMode=mixed systemd SIGKILLs whatever is left in the cgroup when
    # sdvisor exits, and says so: nothing should be left.
    is "systemd had no process left to kill" \
        "$(journal_count "$unit" "$mark" "Killing process")" 0
}
