# lib.sh — helpers for system-test scenarios. Source it first:
#
#     . "$(dirname "$0")/../lib.sh"
#
# A scenario runs inside the test container as root, under real systemd, and
# reports with TAP lines: `ok - what` / `not ok - what`, `# note` for anything
# else. The driver numbers the lines and prefixes the scenario's name. Exit 77
# (skip_all REASON) when the scenario cannot run here; the exit status is
# otherwise 1 if any check failed (finish does that).
#
# Environment (set by the driver): SCENARIO (e.g. 02-stop-in-flight),
# SCENARIO_RESULTS (a directory of its own under /results), APPS (the test apps),
# SYSTEM_TESTS (tests/system), PREFIX (where the install tree is), SDVISOR (the
# installed binary).

set -u

PY=/usr/bin/python3

# sdvisor's MESSAGE_IDs (src/message-ids.h; they never change), for
# `journal_order ... "@MESSAGE_ID=$MSG_STOP_REQUESTED"`.
# shellcheck disable=SC2034 # for the scenarios
declare -r \
    MSG_APP_STARTED=b10f3ce08b4f4e4d9249d2559fa95ff2 \
    MSG_READY=11a0e46b76d94884bb8585d94afff6f3 \
    MSG_APP_EXITED=a3895a9585dc48e7b4e86e541883b372 \
    MSG_STOP_REQUESTED=49e79feffe7140dd9e1112202aeb4937 \
    MSG_STOP_DEADLINE=99c59698e8b24b3cae16111c795c9b89 \
    MSG_STOPPED=a13ce7b51caf409db79dab25fa335a02 \
    MSG_RELOAD=0fb8758401e94598bc3ff5cf5ebd889e \
    MSG_RELOADED=bd90a44abf644b5db836b2a304dc1a50 \
    MSG_WATCHDOG_ABORT=32742198d71241a39b3aa933d01b1ad4

JOURNAL="$PY $SYSTEM_TESTS/journal.py"

# The driver numbers the lines and turns a skip into a failure where
# SDVISOR_SYSTEM_TESTS_REQUIRED=1 (harness.env).
TAP_NUMBERED=0
TAP_REQUIRED_VAR=SDVISOR_SYSTEM_TESTS_REQUIRED
TAP_TEST=system/system
# shellcheck source=../common/tap.sh
. "$SYSTEM_TESTS/../common/tap.sh"
# shellcheck source=../common/apps.sh
. "$SYSTEM_TESTS/../common/apps.sh"

skip_all() { echo "# SKIP $*"; exit 77; }
finish() { exit $_failed; }

# sv_conf NAME < CONFIG: /etc/sdvisor/NAME.conf, as an administrator writes it.
sv_conf() {
    install -d -m 0755 /etc/sdvisor
    (umask 022 && cat > "/etc/sdvisor/$1.conf")
}

# sv_app NAME EXEC [LINE...]: sv_conf NAME for EXEC, run in the test apps' directory; the
# LINEs follow in [app] (more keys, then other groups).
sv_app() {
    local name=$1 exec=$2
    shift 2
    printf '%s\n' "[app]" "exec=$exec" "working-directory=$APPS" "$@" | sv_conf "$name"
}


# fastapi_health_conf PORT STOP-TIMEOUT: for sv_conf, the FastAPI app on PORT, ready once
# /health answers and unhealthy after it fails twice (checked every 500 ms); more lines
# may follow in [health].
fastapi_health_conf() {
    cat <<EOF_CONF
[app]
exec=$(fastapi_exec "$1")
working-directory=$APPS
stop-timeout=$2

[ready]
check=http://127.0.0.1:$1/health
timeout=30s

[health]
check=http://127.0.0.1:$1/health
interval=500ms
timeout=500ms
failure-threshold=2
EOF_CONF
}

# unit_drop_in UNIT NAME < CONTENT: /etc/systemd/system/UNIT.d/NAME.conf, then daemon-reload.
unit_drop_in() {
    install -d "/etc/systemd/system/$1.d"
    cat > "/etc/systemd/system/$1.d/$2.conf"
    systemctl daemon-reload
}

# stamps_dir NAME: an empty /run/stamps-NAME (for stamp_app.py and hooks); prints its path.
stamps_dir() {
    rm -rf "/run/stamps-$1"
    mkdir -p "/run/stamps-$1"
    echo "/run/stamps-$1"
}

# track UNIT: the driver dumps UNIT's journal if the scenario fails.
track() { echo "$1" >> "$SCENARIO_RESULTS/units"; }

prop() { systemctl show -P "$2" "$1"; }

# wait_prop UNIT PROPERTY VALUE SECONDS: until `systemctl show` says so.
_prop_is() { [ "$(prop "$1" "$2")" = "$3" ]; }
wait_prop() { wait_until "$4" 0.1 _prop_is "$1" "$2" "$3"; }

# wait_procs REGEX COUNT SECONDS: until COUNT processes' command lines match
# REGEX (pgrep -f); on a timeout, prints the processes it last saw.
wait_procs() {
    local deadline=$((SECONDS + $3))
    until [ "$(pgrep -c -f "$1")" = "$2" ]; do
        if [ $SECONDS -ge $deadline ]; then
            echo "$(pgrep -c -f "$1") processes match, not $2:"
            pgrep -a -f "$1"
            return 1
        fi
        sleep 0.1
    done
}

# journal_mark: a cursor; journal_* calls with it look only at later entries.
journal_mark() { $JOURNAL cursor; }

# journal_wait UNIT CURSOR SECONDS STEP [FIELD=VALUE...]: STEP is a regex on
# MESSAGE or @FIELD=VALUE (journal.py order explains).
journal_wait() {
    local unit=$1 after=$2 timeout=$3 regex=$4 f
    shift 4
    local filters=()
    for f in "$@"; do filters+=(-f "$f"); done
    $JOURNAL wait -u "$unit" -a "$after" -t "$timeout" "${filters[@]}" -- "$regex"
}

# journal_order UNIT CURSOR SECONDS STEP...: entries matching each STEP, in order.
journal_order() {
    local unit=$1 after=$2 timeout=$3
    shift 3
    $JOURNAL order -u "$unit" -a "$after" -t "$timeout" -- "$@"
}

# journal_count UNIT CURSOR STEP [FIELD=VALUE...]
journal_count() {
    local unit=$1 after=$2 regex=$3 f
    shift 3
    local filters=()
    for f in "$@"; do filters+=(-f "$f"); done
    $JOURNAL count -u "$unit" -a "$after" "${filters[@]}" -- "$regex"
}

# start_unit UNIT: systemctl start, bounded; on failure shows the unit's status.
start_unit() {
    track "$1"
    if timeout 30 systemctl start "$1"; then
        return 0
    fi
    diag "systemctl start $1 failed:" "$(systemctl status --no-pager -n 30 "$1" 2>&1)"
    return 1
}

# start_or_finish UNIT: start_unit; where that fails, so does the scenario, and it ends.
start_or_finish() { start_unit "$1" || { not_ok "systemctl start $1"; finish; }; }

# start_serving UNIT PORT: start_or_finish UNIT, then check that the app answers
# http://127.0.0.1:PORT/health within 20 s.
start_serving() {
    start_or_finish "$1"
    check "the app answers /health" wait_http "http://127.0.0.1:$2/health" 20
}

# app_child UNIT PATTERN: sets main_pid (the unit's sdvisor) and app_pid (its child whose
# command line matches PATTERN); without such a child, that fails and the scenario ends.
app_child() {
    main_pid=$(prop "$1" MainPID)
    app_pid=$(pgrep -P "$main_pid" -f "$2" | head -n 1)
    check "the app (a child of sdvisor, pid $main_pid) is found: '$app_pid'" test -n "$app_pid" || {
        stop_quietly "$1"
        finish
    }
}

# stop_quietly UNIT...: clean-up at the end of a scenario.
stop_quietly() { timeout 30 systemctl stop "$@" >/dev/null 2>&1 || true; }

now_ms() { date +%s%3N; }
