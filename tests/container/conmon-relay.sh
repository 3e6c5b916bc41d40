#!/bin/bash
# conmon-relay.sh — which sd_notify messages reach the NOTIFY_SOCKET given to podman
# when a container sends them through `--sdnotify=container` (quadlet's Notify=true).
# Measures this host's podman and conmon, without sdvisor: a Python process as the
# container's PID 1 sends each message of ctlib.py's RELAY_PROBES as one datagram,
# 0.25 s apart, and the test matches what arrives to what was sent by time.
#
# sdvisor depends on READY=1 and WATCHDOG=1 getting through: those are checks. The
# whole table is printed as diagnostics; when this host's conmon is the version
# docs/containers.md was measured with, the table must match the document.
#
#     conmon-relay.sh --markdown     print the table for docs/containers.md
. "$(dirname "$0")/lib.sh"
markdown=0
[ "${1:-}" = --markdown ] && markdown=1
ct_require

root=$(ct_rootfs relay)
ct_notify relay
ct_start relay -- "$PY" "$C_CT/ctlib.py" notify-send 0.25
ct_wait relay 60
[ "$CT_RC" = 0 ] || { not_ok "the sending container ran (podman run exited with '$CT_RC')"; show_output relay; finish; }
sleep 0.3 # the last relay

conmon_version=$(conmon --version 2>/dev/null | sed -n 's/^conmon version //p')
podman_version=$(podman version --format '{{.Client.Version}}' 2>/dev/null)

table=$($PY - "$WORK/relay/out" "$NOTIFY_LOG" "$CT_DIR" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[3])
from ctlib import RELAY_PROBES
sent = []
for line in open(sys.argv[1]):
    i, t = line.split("\t")
    sent.append((float(t), int(i)))
arrived = {i: [] for i in range(len(RELAY_PROBES))}
for line in open(sys.argv[2]):
    r = json.loads(line)
    before = [i for t, i in sent if t <= r["t"]]
    if before:                      # podman's own MAINPID= comes before the first probe
        arrived[before[-1]].append(r["data"])
for i, (name, text) in enumerate(RELAY_PROBES):
    got = arrived[i]
    shown = " + ".join("`%s`" % g.replace("\n", "\\n") for g in got) if got else "nothing"
    print("%s\t%s\t%s" % (name, text.split("%")[0].replace("\n", "\\n"), shown))
PY
)
if [ $markdown = 1 ]; then
    echo "Measured with podman $podman_version, conmon $conmon_version, runc $(runc --version | sed -n 's/^runc version //p')."
    echo
    echo "| sent from the container | arrives at podman's NOTIFY_SOCKET |"
    echo "|---|---|"
    printf '%s\n' "$table" | awk -F'\t' '{ printf "| `%s` | %s |\n", $2, $3 }'
    exit 0
fi

diag "podman $podman_version, conmon $conmon_version: sent → arrived"
printf '%s\n' "$table" | awk -F'\t' '{ printf "# %-45s → %s\n", $1, $3 }'
relayed() { printf '%s\n' "$table" | awk -F'\t' -v n="$1" '$1 == n { print $3 }'; }
is "READY=1 reaches podman's NOTIFY_SOCKET" "$(relayed READY=1)" '`READY=1`'
is "WATCHDOG=1 reaches podman's NOTIFY_SOCKET" "$(relayed WATCHDOG=1)" '`WATCHDOG=1`'
mainpid=$($PY -c '
import json, sys
for l in open(sys.argv[1]):
    d = json.loads(l)["data"]
    if d.startswith("MAINPID="): print(d); break' "$NOTIFY_LOG")
case $mainpid in
MAINPID=[0-9]*) ok "podman itself sends $mainpid (conmon's pid), before the container's messages" ;;
*) not_ok "podman itself sends MAINPID=" ; diag "got: '$mainpid'" ;;
esac

# The table in docs/containers.md, between its markers, for the conmon it names.
doc=$SRC/docs/containers.md
documented=$(sed -n '/<!-- conmon-relay-table -->/,/<!-- \/conmon-relay-table -->/p' "$doc" 2>/dev/null)
doc_conmon=$(printf '%s\n' "$documented" | sed -n 's/.*conmon \([0-9][0-9.]*\).*/\1/p' | head -n 1)
if [ -z "$documented" ]; then
    not_ok "docs/containers.md has the relay table"
elif [ "$doc_conmon" != "$conmon_version" ]; then
    skip_one "docs/containers.md was measured with conmon $doc_conmon, this is $conmon_version: run conmon-relay.sh --markdown"
else
    want=$(printf '%s\n' "$documented" | grep '^| `' )
    got=$(printf '%s\n' "$table" | awk -F'\t' '{ printf "| `%s` | %s |\n", $2, $3 }')
    if [ "$want" = "$got" ]; then
        ok "docs/containers.md's table is what conmon $conmon_version does"
    else
        not_ok "docs/containers.md's table is what conmon $conmon_version does"
        diag "measured:" "$got"
    fi
fi
finish
