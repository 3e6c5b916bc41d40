#!/bin/bash
# driver.sh — runs every scenario inside the test container and writes one TAP
# stream to /results/tap.
#
# It is the ExecStart= of sdvisor-system-tests.service, the unit the container
# boots into; run.sh reads /results when the container has powered off. Each
# scenario (scenarios/NN-name.sh) runs alone, in name order, under its own
# timeout (a `# timeout: SECONDS` line in the script, else $SCENARIO_TIMEOUT),
# and gets a directory /results/NN-name for its output. Its TAP lines are
# renumbered and prefixed with its name; when it fails, its stderr and the
# journal of the units it tracked come along as diagnostics.
set -u

RESULTS=/results
. "$RESULTS/harness.env" # PREFIX BINDIR SCENARIO_FILTER SCENARIO_TIMEOUT BUDGET SDVISOR_SYSTEM_TESTS_REQUIRED
: > "$RESULTS/started"
export SDVISOR_SYSTEM_TESTS_REQUIRED
[ -z "${SDVISOR_REPLACE_MAX_RESETS:-}" ] || export SDVISOR_REPLACE_MAX_RESETS

export SYSTEM_TESTS=/srv/sdvisor-tests/system
export APPS=/srv/sdvisor-tests/apps
export SDVISOR=$BINDIR/sdvisor
export PREFIX
export PYTHONDONTWRITEBYTECODE=1
export LC_ALL=C.UTF-8

tap=$RESULTS/tap.partial
: > "$tap"
n=0
deadline=$((SECONDS + BUDGET))

emit() { echo "$*" >> "$tap"; }
emit_diag() { sed 's/^/# /' >> "$tap"; }

# The units a failed scenario touched, as journal entries (compact JSON).
dump_units() {
    local dir=$1 unit safe
    [ -s "$dir/units" ] || return 0
    for unit in $(sort -u "$dir/units"); do
        safe=${unit//[^A-Za-z0-9@._-]/_}
        journalctl --no-pager -o json -u "$unit" > "$dir/journal-$safe.json" 2>&1
        echo "journalctl -u $unit -o json (last 60 entries; all in $dir/journal-$safe.json):" | emit_diag
        python3 "$SYSTEM_TESTS/journal.py" dump -u "$unit" -n 60 | emit_diag
        echo "systemctl status $unit:" | emit_diag
        systemctl status --no-pager -n 0 "$unit" 2>&1 | emit_diag
    done
}

run_scenario() {
    local script=$1 name dir limit rc start ms line desc bad=0 lines=0 reason=
    name=$(basename "$script" .sh)
    dir=$RESULTS/$name
    mkdir -p "$dir"
    limit=$(sed -n 's/^# timeout: *\([0-9][0-9]*\).*/\1/p' "$script" | head -n 1)
    limit=${limit:-$SCENARIO_TIMEOUT}

    if [ $((SECONDS + limit)) -gt "$deadline" ]; then
        n=$((n + 1))
        emit "not ok $n - $name: not run, the suite's time budget (${BUDGET}s) is spent"
        return
    fi

    start=$(date +%s%N)
    SCENARIO=$name SCENARIO_RESULTS=$dir \
        timeout -k 5 "$limit" "$script" > "$dir/stdout" 2> "$dir/stderr" < /dev/null
    rc=$?
    ms=$((($(date +%s%N) - start) / 1000000))

    while IFS= read -r line || [ -n "$line" ]; do
        if [[ $line =~ ^(not\ )?ok([[:space:]]+[0-9]+)?([[:space:]]+-)?[[:space:]]*(.*)$ ]]; then
            n=$((n + 1))
            lines=$((lines + 1))
            desc=${BASH_REMATCH[4]}
            if [ -n "${BASH_REMATCH[1]}" ]; then
                bad=1
                emit "not ok $n - $name: $desc"
            else
                emit "ok $n - $name: $desc"
            fi
        elif [[ $line =~ ^[[:space:]]*#[[:space:]]*SKIP[[:space:]]*(.*)$ ]]; then
            reason=${BASH_REMATCH[1]}
            emit "$line"
        elif [[ $line =~ ^[[:space:]]*# ]]; then
            emit "$line"
        elif [[ $line =~ ^[0-9]+\.\.[0-9]+ ]]; then
            : # a scenario's own plan: the driver writes the plan
        else
            emit "# $line"
        fi
    done < "$dir/stdout"

    case $rc in
    0)
        if [ $lines -eq 0 ]; then
            n=$((n + 1))
            emit "ok $n - $name"
        fi
        ;;
    77)
        n=$((n + 1))
        if [ "$SDVISOR_SYSTEM_TESTS_REQUIRED" = 1 ]; then
            bad=1
            emit "not ok $n - $name: skipped (${reason:-no reason given}), and SDVISOR_SYSTEM_TESTS_REQUIRED=1"
        else
            emit "ok $n - $name # SKIP ${reason:-the scenario skipped itself}"
        fi
        ;;
    124 | 137)
        n=$((n + 1))
        bad=1
        emit "not ok $n - $name: timed out after ${limit}s"
        ;;
    *)
        if [ $bad -eq 0 ]; then
            n=$((n + 1))
            bad=1
            emit "not ok $n - $name: exited with status $rc"
        fi
        ;;
    esac
    emit "# $name: ${ms} ms"

    if [ $bad -ne 0 ]; then
        if [ -s "$dir/stderr" ]; then
            echo "stderr of $name (last 40 lines):" | emit_diag
            tail -n 40 "$dir/stderr" | emit_diag
        fi
        dump_units "$dir"
    fi
}

emit "# systemd $(systemctl --version | head -n 1 | cut -d' ' -f2-), sdvisor at $SDVISOR"
# The probe: this systemd can start a service that notifies it and logs to its journal
# (where nspawn runs inside another container, it boots but may not). run.sh skips the
# suite with the reason written to /results/unusable. (No D-Bus here: systemctl talks to
# PID 1's private socket, systemd-run cannot.)
cat > /run/systemd/system/sdvisor-probe.service <<'UNIT'
[Service]
Type=notify
NotifyAccess=all
ExecStart=/bin/sh -c 'echo sdvisor-probe-line; systemd-notify --ready; sleep 0.2'
UNIT
systemctl daemon-reload
if ! probe_out=$(timeout 30 systemctl start sdvisor-probe.service 2>&1); then
    echo "systemd in the container cannot run a Type=notify service (systemctl start: $(echo "$probe_out" | tail -n 1))" > "$RESULTS/unusable"
    exit 0
fi
if ! timeout 10 sh -c 'until journalctl -q -u sdvisor-probe -o cat | grep -q sdvisor-probe-line; do sleep 0.1; done'; then
    echo "journald in the container did not record a service's output within 10 s" > "$RESULTS/unusable"
    exit 0
fi
for script in "$SYSTEM_TESTS"/scenarios/*.sh; do
    [ -e "$script" ] || continue
    # shellcheck disable=SC2053 # SCENARIO_FILTER is a glob on purpose
    [[ $(basename "$script" .sh) == $SCENARIO_FILTER ]] || continue
    run_scenario "$script"
done
emit "1..$n"
mv "$tap" "$RESULTS/tap"
