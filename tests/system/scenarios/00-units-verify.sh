#!/bin/bash
# The unit files as `meson install` installed them, unchanged, pass
# `systemd-analyze verify` here, where the sdvisor they name exists.
# timeout: 20
. "$(dirname "$0")/../lib.sh"

units=$(find "$PREFIX" -name '*.service' 2>/dev/null | sort)
[ -n "$units" ] || { not_ok "meson install put unit files under $PREFIX"; finish; }
for unit in $units; do
    target=$unit
    # A template is verified as an instance.
    case $unit in *@.service) target=${unit%@.service}@verify.service ;; esac
    check "systemd-analyze verify ${unit#"$PREFIX"/}" \
        bash -c 'out=$(systemd-analyze verify --man=no "$1" 2>&1); rc=$?; printf "%s" "$out"; [ $rc = 0 ] && [ -z "$out" ]' _ "$target"
done
finish
