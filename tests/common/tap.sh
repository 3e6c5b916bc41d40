# shellcheck shell=bash
# tap.sh — TAP output for the shell suites (tests/system scenarios, tests/container,
# tests/fleet). Each suite's lib.sh sources it after setting:
#   TAP_NUMBERED=1|0   number the lines (container, fleet) or leave that to a driver (system)
#   TAP_REQUIRED_VAR   the variable that makes a skip a failure, e.g.
#                      SDVISOR_CONTAINER_TESTS_REQUIRED (CI sets it to 1)
#   TAP_TEST           the test's name as tests/report.py names it, e.g. container/stop
#   TAP_MESON=1        skip_all exits 0 after its `1..0 # SKIP` plan (meson counts exit 77
#                      of a TAP test as an error); otherwise, as by hand, it exits 77
# The system suite's driver plans and numbers, so its lib.sh has skip_all and finish of its own.
# A skip of one check (skip_one) where the variable is 1 is a failure unless
# .ci/skips-allowed lists it (tests/report.py --is-allowed, the list CI's report reads).

_tap_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
_tap_n=0
_failed=0

_tap_line() {
    if [ "${TAP_NUMBERED:-1}" = 1 ]; then
        _tap_n=$((_tap_n + 1))
        echo "$1 $_tap_n $2"
    else
        echo "$1 $2"
    fi
}

ok() { _tap_line ok "- $*"; }
not_ok() {
    _tap_line "not ok" "- $*"
    _failed=1
}
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }

# tap_required: the suite's REQUIRED variable is 1.
tap_required() { [ "${!TAP_REQUIRED_VAR:-0}" = 1 ]; }

# skip_all REASON: the whole test cannot run here (a `Bail out!`, exit 1, where the
# REQUIRED variable is 1).
skip_all() {
    if tap_required; then
        echo "Bail out! cannot run, and $TAP_REQUIRED_VAR=1: $*"
        exit 1
    fi
    echo "1..0 # SKIP $*"
    [ "${TAP_MESON:-0}" = 1 ] && exit 0
    exit 77
}

# finish: the plan, then exit 1 if a check failed.
finish() {
    echo "1..$_tap_n"
    exit $_failed
}

# skip_one REASON: one check cannot run here.
skip_one() {
    if tap_required && ! /usr/bin/python3 "$_tap_here/../report.py" --is-allowed \
        --allow "$_tap_here/../../.ci/skips-allowed" all "${TAP_TEST:-?}" "$*" 2>/dev/null; then
        not_ok "$* (a skip, and $TAP_REQUIRED_VAR=1; .ci/skips-allowed does not list it)"
        return
    fi
    _tap_line ok "# SKIP $*"
}

# check DESCRIPTION COMMAND...: ok when COMMAND succeeds; its output is shown on failure.
check() {
    local desc=$1 out rc
    shift
    out=$("$@" 2>&1)
    rc=$?
    if [ $rc -eq 0 ]; then
        ok "$desc"
    else
        not_ok "$desc"
        diag "\$ $* (exit status $rc)"
        [ -z "$out" ] || printf '%s\n' "$out" | sed 's/^#* \{0,1\}/# /'
    fi
    return $rc
}

# is DESCRIPTION GOT EXPECTED
is() {
    if [ "$2" = "$3" ]; then
        ok "$1"
    else
        not_ok "$1"
        diag "got:      '$2'" "expected: '$3'"
        return 1
    fi
}

# wait_until SECONDS STEP COMMAND...: until COMMAND succeeds, every STEP seconds.
wait_until() {
    local deadline=$((SECONDS + $1)) step=$2
    shift 2
    until "$@"; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep "$step"
    done
}

_http_ok() { curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null; }
# wait_http URL SECONDS: until URL answers 2xx.
wait_http() { wait_until "$2" 0.1 _http_ok "$1"; }
