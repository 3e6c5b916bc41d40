#!/bin/bash
# verify-units.sh — `systemd-analyze verify` on every unit file sdvisor ships.
#
# usage: verify-units.sh INSTALLED-SDVISOR BUILT-SDVISOR UNIT-FILE...
#
# verify insists that ExecStart='s program exists. Where the unit's sdvisor
# (INSTALLED-SDVISOR, e.g. /usr/local/bin/sdvisor) is not installed yet, the
# unit is checked with that one path replaced by the built binary; nothing else
# in the file is touched. (The system suite checks the installed files as they
# are, inside its container.) Any message from verify fails the test, warnings
# included: systemd ignores an unknown or misspelt setting with only a warning.
# Prints TAP.
set -u

installed=$1 built=$2
shift 2

if ! command -v systemd-analyze >/dev/null; then
    echo "1..0 # SKIP systemd-analyze is not installed"
    exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "1..$#"
n=0
for unit in "$@"; do
    n=$((n + 1))
    name=$(basename "$unit")
    mkdir "$tmp/$n"
    note=
    if [ -x "$installed" ]; then
        cp "$unit" "$tmp/$n/$name"
    else
        # '|' cannot be in either path: both come from meson, not from a user.
        sed "s|$installed|$built|g" "$unit" > "$tmp/$n/$name"
        note=" (ExecStart= on the built $built)"
    fi
    # A template is checked as an instance: verify would pick the name "i".
    target=$tmp/$n/$name
    case $name in *@.*) target=$tmp/$n/${name/@./@verify.} ;; esac
    out=$(cd "$tmp/$n" && systemd-analyze verify --man=no "$target" 2>&1)
    rc=$?
    if [ $rc -eq 0 ] && [ -z "$out" ]; then
        echo "ok $n - $name$note"
    else
        echo "not ok $n - $name$note: systemd-analyze verify exited $rc"
        printf '%s\n' "$out" | sed 's/^/# /'
    fi
done
exit 0
