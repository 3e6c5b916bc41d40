#!/bin/bash
# run.sh — the system suite: boot real systemd in a container, run every
# scenario there, print one TAP stream.
#
# usage: run.sh --build-dir DIR --source-dir DIR --prefix DIR --bindir DIR
#               [--meson PROGRAM] [--install-tree DIR] [--meson-tap]
#
# 1. `meson install --destdir` of the build into BUILD/tests/system/destdir, so
#    the suite tests what `meson install` installs (--install-tree DIR uses DIR,
#    the image of PREFIX, instead).
# 2. systemd-nspawn boots the host's own /usr with an empty /etc and /var
#    (--volatile=yes) and a network namespace of its own with only loopback,
#    the install tree bound onto PREFIX, tests/system and
#    tests/apps bound read-only under /srv/sdvisor-tests, and a results
#    directory. The container boots straight into sdvisor-system-tests.service,
#    whose driver.sh runs the scenarios and powers the container off.
# 3. The driver's TAP (BUILD/tests/system/results/tap) goes to stdout.
#
# Everything is bounded: each scenario by its own timeout, the driver by its
# budget and its unit's TimeoutStartSec=, the container by timeout(1).
#
# Skips (exit 77; with --meson-tap, exit 0 after a `1..0 # SKIP` plan, because
# meson counts any other status of a TAP test as an error) when it cannot run
# here: not root, no systemd-nspawn, the apps' Python packages missing, or a
# container that does not boot. SDVISOR_SYSTEM_TESTS_REQUIRED=1 (CI) makes every
# one of those a failure instead. SDVISOR_SYSTEM_TESTS_FILTER=GLOB runs only the
# scenarios whose name matches (e.g. '02-*'). SDVISOR_REPLACE_MAX_RESETS=N sets scenario
# 43's allowance of connection resets per replacement (default 0).
set -u

build='' source='' prefix='' bindir='' meson=meson tree='' meson_tap=0
while [ $# -gt 0 ]; do
    case $1 in
    --build-dir) build=$2; shift ;;
    --source-dir) source=$2; shift ;;
    --prefix) prefix=$2; shift ;;
    --bindir) bindir=$2; shift ;;
    --meson) meson=$2; shift ;;
    --install-tree) tree=$2; shift ;;
    --meson-tap) meson_tap=1 ;;
    -h | --help) sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
if [ -z "$build" ] || [ -z "$source" ] || [ -z "$prefix" ] || [ -z "$bindir" ]; then
    echo "usage: run.sh --build-dir DIR --source-dir DIR --prefix DIR --bindir DIR [--meson PROGRAM] [--install-tree DIR] [--meson-tap]" >&2
    exit 2
fi
case $bindir in /*) ;; *) bindir=$prefix/$bindir ;; esac

filter=${SDVISOR_SYSTEM_TESTS_FILTER:-*}
required=${SDVISOR_SYSTEM_TESTS_REQUIRED:-0}
budget=660           # seconds the driver may spend starting scenarios (a guard: the suite takes about 7 min)
scenario_timeout=45  # per scenario, unless it says `# timeout: N`
container_timeout=780

skip() {
    if [ "$required" = 1 ]; then
        echo "Bail out! cannot run, and SDVISOR_SYSTEM_TESTS_REQUIRED=1: $*"
        exit 1
    fi
    echo "1..0 # SKIP $*"
    [ $meson_tap = 1 ] && exit 0
    exit 77
}
bail() {
    echo "Bail out! $*"
    exit 1
}

# ./dev test-fresh: no container inside its container (the reason is the value).
[ -z "${SDVISOR_NO_NESTED_CONTAINERS:-}" ] || skip "$SDVISOR_NO_NESTED_CONTAINERS"
[ "$(id -u)" = 0 ] || skip "needs root (systemd-nspawn boots a container)"
command -v systemd-nspawn >/dev/null || skip "systemd-nspawn is not installed (Debian: systemd-container)"
command -v timeout >/dev/null || skip "timeout(1) is not installed"
[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 is not installed"
[ -x /usr/bin/curl ] || skip "curl is not installed"
if ! missing=$(/usr/bin/python3 -c '
import importlib.util, sys
need = {"fastapi": "python3-fastapi", "uvicorn": "python3-uvicorn", "flask": "python3-flask",
        "gunicorn": "python3-gunicorn", "aiohttp": "python3-aiohttp"}
missing = [pkg for mod, pkg in need.items() if importlib.util.find_spec(mod) is None]
print(" ".join(missing))
sys.exit(1 if missing else 0)' 2>&1); then
    skip "the test apps need Python packages that /usr/bin/python3 lacks: $missing"
fi
case ${prefix%/} in
"" | /usr) skip "prefix $prefix cannot be bound over the host's; configure a build with -Dprefix=/usr/local" ;;
esac

here=$build/tests/system
results=$here/results
rm -rf "$results"
mkdir -p "$results"

if [ -z "$tree" ]; then
    destdir=$here/destdir
    rm -rf "$destdir"
    if ! "$meson" install -C "$build" --no-rebuild --destdir "$destdir" > "$here/install.log" 2>&1; then
        echo "not ok 1 - meson install --destdir $destdir"
        sed 's/^/# /' "$here/install.log" | tail -n 40
        echo "1..1"
        exit 0
    fi
    tree=$destdir$prefix
fi
[ -d "$tree" ] || bail "install tree $tree does not exist"

{
    printf 'PREFIX=%q\n' "$prefix"
    printf 'BINDIR=%q\n' "$bindir"
    printf 'SCENARIO_FILTER=%q\n' "$filter"
    printf 'SCENARIO_TIMEOUT=%q\n' "$scenario_timeout"
    printf 'BUDGET=%q\n' "$budget"
    # A scenario that skips (exit 77) is then a failure, as this script's own skips are.
    printf 'SDVISOR_SYSTEM_TESTS_REQUIRED=%q\n' "$required"
    # Scenario 43's allowance of connection resets per replacement, when set here.
    [ -z "${SDVISOR_REPLACE_MAX_RESETS:-}" ] ||
        printf 'SDVISOR_REPLACE_MAX_RESETS=%q\n' "$SDVISOR_REPLACE_MAX_RESETS"
} > "$results/harness.env"

machine=sdvisor-systest-$$
nspawn=(systemd-nspawn --quiet --directory=/ --volatile=yes --register=no
    --machine="$machine" --console=pipe
    # Loopback only: the apps' ports cannot meet the host's, nor another run's.
    --private-network
    --bind-ro="$tree:$prefix"
    --bind-ro="$source/tests/system:/srv/sdvisor-tests/system"
    --bind-ro="$source/tests/apps:/srv/sdvisor-tests/apps"
    --bind-ro="$source/tests/common:/srv/sdvisor-tests/common"
    --bind-ro="$source/tests/system/sdvisor-system-tests.service:/etc/systemd/system/sdvisor-system-tests.service"
    --bind="$results:/results")
# Where systemd is PID 1, nspawn runs the container in a scope of its own (so a
# timeout cleans up the whole cgroup); elsewhere it stays in ours.
[ -d /run/systemd/system ] || nspawn+=(--keep-unit)
nspawn+=(--boot systemd.firstboot=off systemd.unit=sdvisor-system-tests.service)

echo "# install tree: $tree, results: $results"
start=$(date +%s%N)
timeout -k 15 "$container_timeout" "${nspawn[@]}" > "$results/nspawn.log" 2>&1 < /dev/null
rc=$?
elapsed=$((($(date +%s%N) - start) / 1000000))
echo "# container ran ${elapsed} ms, systemd-nspawn exit status $rc"

if [ ! -e "$results/started" ]; then
    # systemd-nspawn's own last words say why (e.g. no cgroup hierarchy it can use).
    why=$(grep -v '^[[:space:]]*$' "$results/nspawn.log" | tail -n 1)
    reason="the container did not boot (systemd-nspawn exit status $rc: $why)"
    [ $rc = 124 ] && reason="the container did not boot within ${container_timeout}s"
    sed 's/^/# /' "$results/nspawn.log" | tail -n 20
    skip "$reason; see $results/nspawn.log"
fi
if [ -s "$results/unusable" ]; then
    skip "$(cat "$results/unusable")"
fi
if [ ! -e "$results/tap" ]; then
    cat "$results/tap.partial" 2>/dev/null
    sed 's/^/# /' "$results/nspawn.log" | tail -n 20
    if [ $rc = 124 ]; then
        bail "the container was still running after ${container_timeout}s; results so far in $results"
    fi
    bail "the driver did not finish (systemd-nspawn exit status $rc); results so far in $results"
fi
cat "$results/tap"
