# shellcheck shell=bash
# lib.sh — helpers for the container suite (sdvisor as PID 1 under real podman).
# Source it first:
#
#     . "$(dirname "$0")/lib.sh"
#     ct_require
#
# Every test is one script that prints TAP and runs containers with `ct_start`: podman
# with runc, `--sdnotify=container`, the host network, the host's /usr read-only in a
# minimal root of the test's own (`ct_rootfs`), the built sdvisor at
# /opt/sdvisor/sdvisor, tests/apps at /srv/apps and tests/container at /srv/ct, and
# NOTIFY_SOCKET pointing at a datagram socket the test reads (`ct_notify`).
#
# Environment (set by meson.build; the defaults suit a run by hand from a build dir):
#   SDVISOR_BINARY       the sdvisor to test
#   SDVISOR_SOURCE_ROOT  the source tree (tests/apps, units/, docs/)
#   CT_MESON_TAP=1       a skip prints `1..0 # SKIP` and exits 0 (meson counts exit 77
#                        of a TAP test as an error); by hand it exits 77
#   SDVISOR_CONTAINER_TESTS_REQUIRED=1  a skip is a failure (CI)
#   CT_KEEP=1            keep the work directory (it is kept anyway when a check failed)

set -u

CT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=${SDVISOR_SOURCE_ROOT:-$(cd "$CT_DIR/../.." && pwd)}
SDVISOR=${SDVISOR_BINARY:-}
APPS=$SRC/tests/apps
PY=/usr/bin/python3
CTLIB="$PY $CT_DIR/ctlib.py"
# Inside every container.
C_SDVISOR=/opt/sdvisor/sdvisor
C_APPS=/srv/apps
C_CT=/srv/ct

# Every container: podman with runc, the host network and the host's /usr.
CT_RUN=(podman --runtime=runc run --rm --network=host --sdnotify=container
    --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 -v /usr:/usr:ro)
_names=()   # containers to remove at exit
_pids=()    # background processes to end at exit
WORK=

TAP_NUMBERED=1
TAP_REQUIRED_VAR=SDVISOR_CONTAINER_TESTS_REQUIRED
TAP_TEST=container/$(basename "$0" .sh)
TAP_MESON=${CT_MESON_TAP:-0}
# shellcheck source=../common/tap.sh
. "$CT_DIR/../common/tap.sh"
# shellcheck source=../common/apps.sh
. "$CT_DIR/../common/apps.sh"

# ct_require [python-module...]: skip unless this host can run the suite.
ct_require() {
    # ./dev test-fresh: no container inside its container (the reason is the value).
    [ -z "${SDVISOR_NO_NESTED_CONTAINERS:-}" ] || skip_all "$SDVISOR_NO_NESTED_CONTAINERS"
    [ "$(id -u)" = 0 ] || skip_all "needs root (podman with runc, host network, bind mounts)"
    command -v podman >/dev/null || skip_all "podman is not installed (Debian: apt-get install podman)"
    command -v runc >/dev/null || skip_all "runc is not installed (Debian: apt-get install runc)"
    command -v timeout >/dev/null || skip_all "timeout(1) is not installed"
    [ -x "$PY" ] || skip_all "$PY is not installed"
    command -v curl >/dev/null || skip_all "curl is not installed"
    [ -n "$SDVISOR" ] && [ -x "$SDVISOR" ] || skip_all "SDVISOR_BINARY does not name the built sdvisor"
    local m
    for m in "$@"; do
        $PY -c "import $m" 2>/dev/null || skip_all "the Python module $m is not installed (Debian: python3-$m)"
    done
    WORK=$(mktemp -d /tmp/sdvisor-ct.XXXXXX) || skip_all "mktemp failed"
    trap ct_cleanup EXIT
    trap 'exit 130' INT TERM
    ct_probe
}

# ct_probe: podman with runc really starts a container here, as ct_start runs them (where
# podman is installed but cannot run one, as inside another container, the suite skips
# with podman's own words).
ct_probe() {
    local root out
    root=$(ct_rootfs probe)
    if ! out=$(timeout -k 5 60 "${CT_RUN[@]}" --rootfs "$root" /usr/bin/true 2>&1 < /dev/null); then
        skip_all "podman cannot run a container here: $(printf '%s\n' "$out" | grep -v '^$' | tail -n 1)"
    fi
}

ct_cleanup() {
    local rc=$? name pid
    for name in "${_names[@]}"; do
        timeout 30 podman rm -f -t 0 "$name" >/dev/null 2>&1
    done
    for pid in "${_pids[@]}"; do
        kill "$pid" 2>/dev/null
    done
    wait 2>/dev/null
    if [ $_failed = 0 ] && [ "${CT_KEEP:-0}" != 1 ]; then
        rm -rf "$WORK"
    else
        diag "logs, configs and roots are in $WORK"
    fi
    exit $rc
}

# ct_rootfs NAME: a minimal root for one container: /usr comes from the host at run
# time; bin, lib, lib64 and sbin point into it. Prints the path.
ct_rootfs() {
    local root=$WORK/$1/root d
    mkdir -p "$root"/{etc/sdvisor,proc,sys,dev,tmp,run,var/lib,usr,opt/sdvisor,srv/apps,srv/ct}
    for d in bin lib lib64 sbin; do ln -sfn "usr/$d" "$root/$d"; done
    chmod 1777 "$root/tmp"
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/usr/sbin/nologin\n' > "$root/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
    echo "$root"
}

# ct_config NAME < CONFIG: /etc/sdvisor/app.conf in NAME's root, 0644 as an
# administrator writes it (sdvisor refuses a configuration others can write).
ct_config() {
    (umask 022 && cat > "$WORK/$1/root/etc/sdvisor/app.conf")
}

# ct_notify NAME: start a receiver for NAME's NOTIFY_SOCKET; sets NOTIFY_LOG.
# Paths stay short: a socket path has at most 107 bytes.
ct_notify() {
    local sock=$WORK/$1/notify.sock
    NOTIFY_LOG=$WORK/$1/notify.log
    : > "$NOTIFY_LOG"
    $CTLIB notify-recv "$sock" "$NOTIFY_LOG" &
    _pids+=("$!")
    ct_wait_path "$sock" 5
}

ct_wait_path() { wait_until "$2" 0.02 test -e "$1"; }


# ct_http_app NAME APP-NAME PORT STOP-TIMEOUT EXEC [LINE...]: NAME's root (ct_rootfs) and
# its app.conf: EXEC in tests/apps, ready once http://127.0.0.1:PORT/health answers. The
# LINEs follow [ready]'s keys: more of them, then other groups.
ct_http_app() {
    local name=$1 app=$2 port=$3 stop=$4 exec=$5
    shift 5
    ct_rootfs "$name" > /dev/null
    {
        printf '%s\n' "[app]" "name=$app" "exec=$exec" "working-directory=$C_APPS" \
            "stop-timeout=$stop" "[ready]" "check=http://127.0.0.1:$port/health" "timeout=30s"
        [ $# = 0 ] || printf '%s\n' "$@"
    } | ct_config "$name"
}

# ct_start NAME [PODMAN-ARGS...] -- COMMAND...: `podman run` in the background, bounded
# by CT_TIMEOUT seconds (default 60). Sets CT_PID (wait for it with ct_wait). The
# container's output is in $WORK/NAME/out and err. The default command runs sdvisor
# with /etc/sdvisor/app.conf: `ct_start NAME --`.
ct_start() {
    local name=$1 args=() sock
    shift
    while [ $# -gt 0 ] && [ "$1" != -- ]; do args+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    [ $# -gt 0 ] || set -- "$C_SDVISOR" run --config /etc/sdvisor/app.conf
    local cname=sdvisor-ct-$$-$name
    _names+=("$cname")
    sock=$WORK/$name/notify.sock
    local envs=()
    [ -S "$sock" ] && envs+=("NOTIFY_SOCKET=$sock")
    env -u NOTIFY_SOCKET "${envs[@]}" timeout -k 5 "${CT_TIMEOUT:-60}" \
        "${CT_RUN[@]}" --name "$cname" -v "$SDVISOR:$C_SDVISOR:ro" -v "$APPS:$C_APPS:ro" -v "$CT_DIR:$C_CT:ro" \
        "${args[@]}" --rootfs "$WORK/$name/root" "$@" \
        > "$WORK/$name/out" 2> "$WORK/$name/err" < /dev/null &
    CT_PID=$!
    _pids+=("$CT_PID")
    eval "CT_PID_${name//-/_}=$CT_PID"
}

# ct_start_ready NAME DESCRIPTION [PODMAN-ARGS...]: ct_notify and ct_start NAME (sdvisor
# with app.conf), then up to 40 s for READY=1; without it DESCRIPTION fails, NAME's output
# is shown and the test ends.
ct_start_ready() {
    local name=$1 what=$2
    shift 2
    ct_notify "$name"
    ct_start "$name" "$@" --
    if ! notify_wait 40 '^READY=1$' > /dev/null; then
        not_ok "$what"
        show_output "$name"
        finish
    fi
}

# ct_name NAME: the container's name for podman stop/kill/exec.
ct_name() { echo "sdvisor-ct-$$-$1"; }

# ct_running NAME: podman run for NAME has not returned yet.
ct_running() {
    local v=CT_PID_${1//-/_}
    kill -0 "${!v}" 2>/dev/null
}

# ct_wait NAME [SECONDS]: wait (at most SECONDS) for NAME's podman run to return; sets
# CT_RC to its exit status. Fails, with CT_RC empty, if it is still running.
ct_wait() {
    local v=CT_PID_${1//-/_} deadline=$((SECONDS + ${2:-3600}))
    CT_RC=
    while kill -0 "${!v}" 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.05
    done
    wait "${!v}"
    # shellcheck disable=SC2034 # read by the tests
    CT_RC=$?
}

# ct_wait_up NAME SECONDS: until podman knows the container as running (exec works).
ct_wait_up() {
    local deadline=$((SECONDS + $2)) cname
    cname=$(ct_name "$1")
    until [ "$(podman inspect -f '{{.State.Running}}' "$cname" 2>/dev/null)" = true ]; do
        [ $SECONDS -lt $deadline ] && ct_running "$1" || return 1
        sleep 0.1
    done
}

# notify_wait SECONDS PATTERN: the CLOCK_MONOTONIC time of the first datagram on
# NOTIFY_LOG matching PATTERN (a Python regex), or failure.
notify_wait() { $CTLIB wait "$NOTIFY_LOG" "$1" "$2"; }

# wait_log NAME TEXT SECONDS: until the container's output (podman run's stderr, where
# sdvisor writes the app's lines) has TEXT.
wait_log() {
    local deadline=$((SECONDS + $3))
    until grep -qF -- "$2" "$WORK/$1/err" 2> /dev/null; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.05
    done
}

free_port() { $CTLIB free-port; }
mono_now() { $CTLIB now; }

# show_output NAME: the container's output as diagnostics (after a failure).
show_output() {
    diag "--- $1: podman run stdout (last 30 lines)" "$(tail -n 30 "$WORK/$1/out")"
    diag "--- $1: podman run stderr (last 30 lines)" "$(tail -n 30 "$WORK/$1/err")"
    [ -n "${NOTIFY_LOG:-}" ] && [ -f "$WORK/$1/notify.log" ] &&
        diag "--- $1: notifications" "$(cat "$WORK/$1/notify.log")"
    return 0
}

# elapsed START END: END - START in seconds, as a decimal.
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
# lt A B: A < B, as decimals.
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

# ct_stop_in_flight NAME PORT: a 3 s request to the app's /slow in container NAME, and
# `podman stop` while it is in flight: the client gets 200 and the whole body, the
# container exits 0, and the stop waits for the request and no longer.
ct_stop_in_flight() {
    local name=$1 port=$2 curl_pid stop_pid t_stop t_exit secs
    curl -sS --max-time 30 -o "$WORK/$name/body" -w '%{http_code}' \
        "http://127.0.0.1:$port/slow?seconds=3" > "$WORK/$name/code" 2> "$WORK/$name/curl.err" &
    curl_pid=$!
    _pids+=("$curl_pid")
    # The request is in flight once the app has logged its start.
    wait_log "$name" "slow request started" 10 || diag "the app did not log the request's start"
    t_stop=$(mono_now)
    podman stop -t 30 "$(ct_name "$name")" > "$WORK/$name/stop.out" 2>&1 &
    stop_pid=$!
    wait $curl_pid
    is "the request in flight gets 200" "$(cat "$WORK/$name/code")" 200
    check "the request in flight gets the whole body (ends in END)" \
        sh -c "tail -n 1 '$WORK/$name/body' | grep -qx END"
    ct_wait "$name" 30
    t_exit=$(mono_now)
    wait $stop_pid
    is "the container exits 0 after podman stop" "$CT_RC" 0
    secs=$(elapsed "$t_stop" "$t_exit")
    if lt 1.5 "$secs" && lt "$secs" 10; then
        ok "the stop waited for the request and no longer (${secs} s)"
    else
        not_ok "the stop waited for the request and no longer (${secs} s; expected 2–10 s)"
    fi
}
