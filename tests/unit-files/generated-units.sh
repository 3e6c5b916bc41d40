#!/bin/bash
# generated-units.sh — what `sdvisor print-unit` and `print-quadlet` emit is valid, and
# `sdvisor check --unit` agrees with it but not with a unit whose timeouts are short.
#
# usage: generated-units.sh SDVISOR SRCDIR      Prints TAP.
set -u
sdvisor=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0
result() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi; }

cat > "$tmp/web.conf" <<'CONF'
[app]
name=web
exec=/usr/bin/python3 -m http.server 8000
stop-timeout=45s
stop-delay=5s
[ready]
check=tcp://127.0.0.1:8000
timeout=2min
[health]
check=http://127.0.0.1:8000/
[hook:migrate]
when=pre-start
exec=/bin/true
timeout=1min
[job:cleanup]
schedule=@daily
exec=/bin/true
CONF
chmod 0644 "$tmp/web.conf"
cp "$src/data/examples/demo.conf" "$tmp/demo.conf"; chmod 0644 "$tmp/demo.conf"

echo "1..8"
for conf in web demo; do
  "$sdvisor" print-unit --config "$tmp/$conf.conf" > "$tmp/$conf.service"
  if command -v systemd-analyze >/dev/null; then
    out=$(systemd-analyze verify "$tmp/$conf.service" 2>&1); rc=$?
    [ -n "$out" ] && { echo "$out" | sed 's/^/# /'; rc=1; }
    result $rc "print-unit for $conf.conf passes systemd-analyze verify"
  else
    echo "ok $((n += 1)) # SKIP systemd-analyze is not installed"
  fi
  "$sdvisor" check --config "$tmp/$conf.conf" --unit "$tmp/$conf.service" > "$tmp/out" 2>&1
  grep -q "agree with the configuration" "$tmp/out" && ! grep -q warning "$tmp/out"
  result $? "check --unit agrees with the generated unit for $conf.conf"
done

"$sdvisor" print-quadlet --config "$tmp/web.conf" --image localhost/web:1 > "$tmp/web.container"
/usr/bin/python3 - "$tmp/web.container" <<'PY'
import configparser, sys
p = configparser.ConfigParser(strict=False, interpolation=None)
p.optionxform = str
p.read(sys.argv[1])
c, s = p["Container"], p["Service"]
assert c["Image"] == "localhost/web:1" and c["Notify"] == "true", dict(c)
assert c["Exec"].startswith("/usr/bin/sdvisor run --config /etc/sdvisor/web.conf")
assert s["TimeoutStopSec"] and s["WatchdogSec"] and s["TimeoutStartSec"]
PY
result $? "print-quadlet output parses, with Image, Notify=true, Exec and the [Service] timeouts"
if [ -x /usr/libexec/podman/quadlet ] && /usr/libexec/podman/quadlet -help >/dev/null 2>&1; then
  mkdir -p "$tmp/q" "$tmp/out-q"; cp "$tmp/web.container" "$tmp/q/"
  QUADLET_UNIT_DIRS="$tmp/q" /usr/libexec/podman/quadlet -no-kmsg-log "$tmp/out-q" >/dev/null 2>&1 && [ -f "$tmp/out-q/web.service" ]
  result $? "podman's quadlet generator accepts the file"
else
  echo "ok $((n += 1)) # SKIP podman's quadlet generator is not installed (podman < 4.4)"
fi
"$sdvisor" check --config "$tmp/web.conf" --unit "$tmp/web.container" > "$tmp/out" 2>&1
! grep -q warning "$tmp/out"
result $? "check --unit agrees with the generated quadlet file"

printf '[Service]\nExecStart=/bin/true\nTimeoutStopSec=10s\n' > "$tmp/short.service"
"$sdvisor" check --config "$tmp/web.conf" --unit "$tmp/short.service" > "$tmp/out" 2>&1
grep -q "TimeoutStopSec=10s is shorter" "$tmp/out" && grep -q "TimeoutStartSec=1min 30s (systemd's default) is shorter" "$tmp/out" &&
  grep -q "no WatchdogSec=" "$tmp/out"
result $? "check --unit warns about a short TimeoutStopSec, the default TimeoutStartSec and a missing WatchdogSec"
exit $failed
