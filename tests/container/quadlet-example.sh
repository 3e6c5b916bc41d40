#!/bin/bash
# quadlet-example.sh — units/examples/fastapi-app.container is a valid quadlet file that
# agrees with the configuration docs/containers.md gives for it, is installed where
# quadlet looks, and works: run here the way quadlet would run it.
#
# systemd-analyze verify cannot read a .container file (it is not a unit), and Debian
# 12's podman 4.3 has no quadlet generator. So: a parse check as systemd reads unit
# files, [Container] keys that quadlet knows, a comment for every line; `sdvisor check
# --unit` against the documented configuration; quadlet's generator when it is
# installed; and the [Container] section translated into the `podman run` arguments
# quadlet makes of it, run with podman: READY=1 arrives once the app answers, WATCHDOG=1
# pings arrive (systemd's WATCHDOG_USEC reaches sdvisor), podman stop exits 0.
#
# The same run with `sdvisor print-quadlet`'s file for that configuration checks the
# generated file the same way.
. "$(dirname "$0")/lib.sh"
ct_require fastapi uvicorn

example=$SRC/units/examples/fastapi-app.container
doc=$SRC/docs/containers.md
q=$WORK/q
mkdir -p "$q"

# 1. Parse check.
if keys=$($CTLIB quadlet-check "$example" 2>&1); then
    ok "the example parses as a unit file; quadlet knows every [Container] key; a comment explains every line"
else
    not_ok "the example parses as a unit file; quadlet knows every [Container] key; a comment explains every line"
    diag "$keys"
    finish
fi
check "the example has what the issue asks for (Notify, journal socket, state directory, WatchdogSec, sdvisor as Exec)" \
    $PY - "$keys" <<'PY'
import json, shlex, sys
k = json.loads(sys.argv[1])
get = lambda name: k.get(name, [])
problems = []
if get("Container.Notify") != ["true"]:
    problems.append("Notify=true")
exec_ = shlex.split(get("Container.Exec")[0]) if get("Container.Exec") else []
if exec_[:3] != ["/usr/bin/sdvisor", "run", "--config"]:
    problems.append("Exec=/usr/bin/sdvisor run --config …")
volumes = [v.split(":") for v in get("Container.Volume")]
if not any(v[1] == "/run/systemd/journal/socket" for v in volumes):
    problems.append("Volume= for /run/systemd/journal/socket")
if len(exec_) > 3 and not any(v[1] == exec_[3] for v in volumes):
    problems.append("Volume= for the configuration %s" % exec_[3])
state = [e.split("=", 1)[1] for e in get("Container.Environment") if e.startswith("STATE_DIRECTORY=")]
if not state or not any(v[1] == state[0] for v in volumes):
    problems.append("Environment=STATE_DIRECTORY= on a Volume= from the host")
if not get("Service.WatchdogSec"):
    problems.append("WatchdogSec= in [Service]")
args = " ".join(get("Container.PodmanArgs"))
if "--env=WATCHDOG_USEC" not in args.split() and "WATCHDOG_USEC" not in get("Container.Environment"):
    problems.append("WATCHDOG_USEC passed into the container")
if problems:
    print("missing: " + "; ".join(problems))
    sys.exit(1)
PY
spans_ok=1
for key in Service.TimeoutStartSec Service.TimeoutStopSec Service.WatchdogSec; do
    v=$($PY -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]][0])' "$keys" "$key")
    systemd-analyze timespan "$v" > /dev/null 2>&1 || { spans_ok=0; diag "${key#Service.}=$v is not a systemd time span"; }
done
[ $spans_ok = 1 ] && ok "[Service] time spans parse (systemd-analyze timespan)" || not_ok "[Service] time spans parse"

# 2. The configuration docs/containers.md gives for the example agrees with it.
sed -n '/<!-- fastapi-app.conf -->/,/^```$/p' "$doc" 2>/dev/null | sed '1,2d;$d' > "$q/fastapi-app.conf"
chmod 0644 "$q/fastapi-app.conf"
if [ ! -s "$q/fastapi-app.conf" ]; then
    not_ok "docs/containers.md has the example's configuration (after <!-- fastapi-app.conf -->)"
else
    "$SDVISOR" check --config "$q/fastapi-app.conf" --unit "$example" > "$q/check.out" 2>&1
    if grep -q "agree with the configuration" "$q/check.out" && ! grep -qi warning "$q/check.out"; then
        ok "sdvisor check --unit: the example agrees with docs/containers.md's configuration"
    else
        not_ok "sdvisor check --unit: the example agrees with docs/containers.md's configuration"
        diag "$(cat "$q/check.out")"
    fi
    stop_timeout=$("$SDVISOR" check --config "$q/fastapi-app.conf" 2>/dev/null | sed -n 's/^stop-timeout=//p' | head -n 1)
    check "podman's --stop-timeout covers stop-timeout ($stop_timeout) and is shorter than TimeoutStopSec" \
        $PY - "$keys" "$stop_timeout" <<'PY'
import json, re, subprocess, sys
k, stop_timeout = json.loads(sys.argv[1]), sys.argv[2]
def usec(span):
    out = subprocess.run(["systemd-analyze", "timespan", span], capture_output=True, text=True).stdout
    return int(re.search(r"μs: (\d+)", out).group(1))
podman = [a.split("=", 1)[1] for a in " ".join(k["Container.PodmanArgs"]).split() if a.startswith("--stop-timeout=")]
assert podman, "no --stop-timeout= in PodmanArgs="
p = int(podman[0]) * 10**6
assert p > usec(stop_timeout), "--stop-timeout=%s is not longer than stop-timeout=%s" % (podman[0], stop_timeout)
assert p < usec(k["Service.TimeoutStopSec"][0]), "--stop-timeout=%s is not shorter than TimeoutStopSec=%s" % (podman[0], k["Service.TimeoutStopSec"][0])
PY
fi

# 3. meson install puts it where quadlet looks for distribution files.
if [ -n "${MESON_BUILD_ROOT:-}" ] && command -v meson > /dev/null; then
    installed=$(meson introspect --installed "$MESON_BUILD_ROOT" 2>/dev/null |
        $PY -c 'import json,sys; print("\n".join(v for k, v in json.load(sys.stdin).items() if k.endswith("/fastapi-app.container")))')
    case $installed in
    */share/containers/systemd/fastapi-app.container) ok "meson install puts it in the quadlet directory ($installed)" ;;
    *) not_ok "meson install puts it in DATADIR/containers/systemd (got '$installed')" ;;
    esac
else
    skip_one "no MESON_BUILD_ROOT: not run from meson test"
fi

# 4. quadlet's own generator, where podman has it (4.4 and later).
if [ -x /usr/libexec/podman/quadlet ]; then
    mkdir -p "$q/units" "$q/gen"
    cp "$example" "$q/units/"
    if QUADLET_UNIT_DIRS=$q/units /usr/libexec/podman/quadlet -no-kmsg-log "$q/gen" > "$q/gen.out" 2>&1 &&
        grep -q -- "--sdnotify=container" "$q/gen/fastapi-app.service" &&
        grep -q "^WatchdogSec=" "$q/gen/fastapi-app.service"; then
        ok "quadlet generates fastapi-app.service with --sdnotify=container and WatchdogSec="
        command -v systemd-analyze > /dev/null &&
            check "the generated service passes systemd-analyze verify" systemd-analyze verify "$q/gen/fastapi-app.service"
    else
        not_ok "quadlet generates fastapi-app.service"
        diag "$(cat "$q/gen.out" "$q/gen/fastapi-app.service" 2>/dev/null)"
    fi
else
    skip_one "podman's quadlet generator is not installed (Debian 12 has podman 4.3; quadlet came with 4.4)"
fi

# 5. Run a quadlet file's [Container] section here: NAME FILE.
run_quadlet() {
    local name=$1 file=$2 port args
    port=$(free_port)
    ct_rootfs "$name" > /dev/null
    mkdir -p "$WORK/$name/state"
    local jsock=$WORK/$name/journal.sock jlog=$WORK/$name/journal.log
    : > "$jlog"
    $CTLIB journal-recv "$jsock" "$jlog" &
    _pids+=("$!")
    ct_wait_path "$jsock" 5
    mapfile -t args < <($CTLIB quadlet-args "$file" \
        /usr/bin/sdvisor="$C_SDVISOR" \
        /etc/sdvisor/fastapi-app.conf="$q/fastapi-app.conf" \
        /run/systemd/journal/socket="$jsock" \
        /var/lib/sdvisor="$WORK/$name/state")
    if [ ${#args[@]} = 0 ]; then
        not_ok "$name: translate the [Container] section"
        return 1
    fi
    ct_notify "$name"
    # What systemd gives podman for WatchdogSec= (2 s here, to see pings soon), and the
    # test's app and port instead of the image's, as environment overrides.
    WATCHDOG_USEC=2000000 ct_start "$name" \
        -e "SDVISOR_APP_EXEC=/usr/bin/python3 -m uvicorn app_fastapi:app --host 127.0.0.1 --port $port" \
        -e "SDVISOR_APP_WORKING_DIRECTORY=$C_APPS" \
        -e "SDVISOR_READY_CHECK=http://127.0.0.1:$port/health" \
        -e "SDVISOR_HEALTH_CHECK=http://127.0.0.1:$port/health" \
        "${args[@]}"

    if ! notify_wait 40 '^READY=1$' > /dev/null; then
        not_ok "$name: READY=1 arrives"
        show_output "$name"
        return 1
    fi
    is "$name: READY=1 arrives once the app answers" \
        "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/health")" 200
    sleep 3
    local pings
    pings=$($PY -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l)["data"] == "WATCHDOG=1"))' "$NOTIFY_LOG")
    if [ "$pings" -ge 2 ]; then
        ok "$name: WATCHDOG=1 pings reach podman's NOTIFY_SOCKET ($pings in 3 s at WATCHDOG_USEC=2s)"
    else
        not_ok "$name: WATCHDOG=1 pings reach podman's NOTIFY_SOCKET ($pings in 3 s at WATCHDOG_USEC=2s)"
    fi
    podman stop -t 60 "$(ct_name "$name")" > /dev/null 2>&1
    ct_wait "$name" 60
    is "$name: podman stop, exit status 0" "$CT_RC" 0
    return 0
}

if [ -s "$q/fastapi-app.conf" ]; then
    # Inside the container the configuration is at /etc/sdvisor/fastapi-app.conf, 0644.
    run_quadlet example "$example" || true
    [ "$_failed" = 0 ] || show_output example
    before=$_failed
    _failed=0
    if "$SDVISOR" print-quadlet --config "$q/fastapi-app.conf" --image localhost/fastapi-app:latest \
            --container-config /etc/sdvisor/fastapi-app.conf > "$q/generated.container" 2> "$q/generated.err"; then
        run_quadlet generated "$q/generated.container" || true
        [ "$_failed" = 0 ] || { diag "print-quadlet's file:" "$(cat "$q/generated.container")"; show_output generated; }
    else
        not_ok "sdvisor print-quadlet runs"
        diag "$(cat "$q/generated.err")"
    fi
    _failed=$((before | _failed))
fi
finish
