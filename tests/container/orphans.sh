#!/bin/bash
# orphans.sh — sdvisor as PID 1 reaps every orphan: an app that double-forks leaves no
# zombie in the container.
#
# The app (ctlib.py double-fork) makes 5 grandchildren whose parent exits at once, so
# the kernel hands them to PID 1; each writes down its new parent and exits 1 s later.
# Then `podman exec` lists the zombies from /proc inside the container. A control run
# with the app itself as PID 1 (Python does not reap what it did not start) shows that
# the same check does find the zombies when nobody reaps them.
. "$(dirname "$0")/lib.sh"
ct_require

orphans_case() {
    local name=$1
    shift
    ct_rootfs "$name" > /dev/null
    printf '[app]\nname=double-fork\nexec=/usr/bin/python3 %s/ctlib.py double-fork 5 1 /tmp/orphans\nstop-timeout=5s\n' \
        "$C_CT" | ct_config "$name"
    ct_start "$name" "$@"
    local deadline=$((SECONDS + 20)) file=$WORK/$name/root/tmp/orphans
    until [ "$(wc -l 2>/dev/null < "$file")" = 5 ]; do
        [ $SECONDS -lt $deadline ] && ct_running "$name" || return 1
        sleep 0.1
    done
    sleep 2 # every grandchild has exited (1 s), and PID 1 has had its chance to reap
    podman exec "$(ct_name "$name")" "$PY" "$C_CT/ctlib.py" zombies > "$WORK/$name/zombies"
    ZOMBIE_RC=$?
}

if orphans_case reaped --; then
    is "the 5 orphans were handed to sdvisor (PID 1)" \
        "$(awk '{ print $2 }' "$WORK/reaped/root/tmp/orphans" | sort -u)" 1
    if [ "$ZOMBIE_RC" = 0 ]; then
        ok "no zombie in the container after the orphans exited"
    else
        not_ok "no zombie in the container after the orphans exited"
        diag "zombies (pid ppid comm):" "$(cat "$WORK/reaped/zombies")"
    fi
    podman stop -t 10 "$(ct_name reaped)" > /dev/null 2>&1
    ct_wait reaped 15
    is "the container exits 0 after podman stop" "$CT_RC" 0
else
    not_ok "the double-forking app ran under sdvisor and made 5 orphans"
fi
[ "$_failed" = 0 ] || show_output reaped

# Control: the app as PID 1, no sdvisor.
if orphans_case control -- "$PY" "$C_CT/ctlib.py" double-fork 5 1 /tmp/orphans; then
    n=$(wc -l < "$WORK/control/zombies")
    if [ "$ZOMBIE_RC" = 1 ] && [ "$n" = 5 ]; then
        ok "control: without sdvisor the check finds the 5 zombies"
    else
        not_ok "control: without sdvisor the check finds the 5 zombies (found $n)"
    fi
else
    not_ok "control: the app ran as PID 1 and made 5 orphans"
    show_output control
fi
podman rm -f -t 0 "$(ct_name control)" > /dev/null 2>&1
finish
