#!/bin/bash
# Issue 19: the guide's VM example. Two apps without name=, both `python3 -m
# http.server`: sdvisor@shop (User=shop) and sdvisor@api (User=api), a root
# instance (sdvisor@worker), and a second instance of shop (sdvisor@shop-2, whose
# file says name=shop, User=shop). Each has an `every 2s` job. Started in the order
# shop, api, worker, shop-2, then for 20 s each app's job must run every slot
# exactly once (shop's shared by its two instances), and no unit may log a
# permission error or a job that cannot run. Then all stop and start again in
# another order, and for 12 s the same holds.
#
# With the old template (StateDirectory=sdvisor, re-owned to each instance's
# User= at every start) shop's and api's jobs stopped at the first start of
# another user's instance ("cannot open lock file ...: Permission denied"); with the
# old default name (the program's, python3) shop and api shared their slots.
# Configuration files are root:USER 0640, as the docs say; `sdvisor check --user`
# names the group a root:root 0640 file would need.
# timeout: 120
. "$(dirname "$0")/../lib.sh"

MSG_JOB_CANNOT_RUN=85ec5c58220545d0a56b499b2fbb2918
out=/var/tmp/many-apps
install -d -m 1777 "$out"

for u in shop api; do
    id -u "$u" >/dev/null 2>&1 ||
        useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$u" ||
        skip_all "cannot create user $u"
done

# app-conf NAME PORT [EXTRA [FILE-NAME]]: /etc/sdvisor/FILE-NAME.conf for app NAME.
app_conf() {
    sv_conf "${4:-$1}" <<EOF_CONF
[app]
exec=python3 -m http.server --bind 127.0.0.1 $2
${3:-}

[job:cleanup]
schedule=every 2s
environment=INSTANCE=${4:-$1}
exec=/bin/sh -c 'echo "\$SDVISOR_JOB_SLOT \$INSTANCE" >> $out/$1'
EOF_CONF
}
app_conf shop 8371
app_conf api 8372
app_conf worker 8373
app_conf shop 8374 name=shop shop-2

# The docs' ownership for User=: root:USER 0640. First root:root, which check refuses
# by naming the group.
chmod 0640 /etc/sdvisor/shop.conf
msg=$("$SDVISOR" check --user shop /etc/sdvisor/shop.conf 2>&1 >/dev/null)
rc=$?
is "check --user shop refuses a root:root 0640 file" "$rc" 78
case $msg in
*"give it the group shop: chown root:shop /etc/sdvisor/shop.conf"*) ok "check names the group the file needs" ;;
*) not_ok "check names the group the file needs"; diag "$msg" ;;
esac
for f in shop:shop api:api shop-2:shop; do
    chown "root:${f#*:}" "/etc/sdvisor/${f%%:*}.conf"
    chmod 0640 "/etc/sdvisor/${f%%:*}.conf"
done
check "check --user shop accepts root:shop 0640 and names the app shop" \
    sh -c "'$SDVISOR' check --user shop /etc/sdvisor/shop.conf | grep -q '^# name=shop, from the template instance'"

dropin() { # UNIT TEXT
    mkdir -p "/etc/systemd/system/$1.d"
    printf '[Service]\n%s\n' "$2" > "/etc/systemd/system/$1.d/issue19.conf"
}
dropin sdvisor@shop.service "User=shop"
dropin sdvisor@api.service "User=api"
# A second unit of shop under User=shop: systemd makes shop's directory for it too.
dropin sdvisor@shop-2.service "$(printf 'User=shop\nStateDirectory=sdvisor/shop')"
systemctl daemon-reload

units=(sdvisor@shop.service sdvisor@api.service sdvisor@worker.service sdvisor@shop-2.service)
for u in "${units[@]}"; do track "$u"; done
mark=$(journal_mark)

# round WHAT SECONDS ORDER...: start the units one by one in ORDER, run SECONDS,
# stop; then check.
round() {
    local what=$1 seconds=$2 u
    shift 2
    rm -f "$out/shop" "$out/api" "$out/worker"
    for u in "$@"; do
        check "$what: systemctl start $u" timeout 30 systemctl start "$u" || return
    done
    sleep "$seconds"
    active=$(for u in "${units[@]}"; do prop "$u" ActiveState; done | sort | uniq -c | xargs)
    is "$what: all four units still active after $seconds s" "$active" "4 active"
    stop_quietly "$@"
    for app in shop api worker; do
        check "$what: $app's job ran each slot exactly once" "$PY" "$SYSTEM_TESTS/slots.py" "$out/$app" 2 $((seconds / 2 - 2))
    done
}
round "shop, api, root, shop-2" 20 sdvisor@shop.service sdvisor@api.service sdvisor@worker.service sdvisor@shop-2.service
who=$(cut -d' ' -f2 "$out/shop" | sort -u | xargs)
diag "shop's slots were run by: $who"
round "shop-2, root, api, shop" 12 sdvisor@shop-2.service sdvisor@worker.service sdvisor@api.service sdvisor@shop.service

# One journalctl for the four units (one per unit and question took a minute here).
uargs=()
for u in "${units[@]}"; do uargs+=(-u "$u"); done
denied=$(journalctl --no-pager --cursor "$mark" "${uargs[@]}" -o cat |
    grep -E "Permission denied|cannot open|cannot run")
is "no unit logged a permission error or a job that cannot run" "$denied" ""
cannot=$(journalctl --no-pager --cursor "$mark" "${uargs[@]}" -o cat "MESSAGE_ID=$MSG_JOB_CANNOT_RUN")
is "no unit logged MESSAGE_ID=$MSG_JOB_CANNOT_RUN" "$cannot" ""
is "/var/lib/sdvisor stays root's" "$(stat -c %U /var/lib/sdvisor)" root
is "/var/lib/sdvisor/shop is shop's, 0700" "$(stat -c '%U %a' /var/lib/sdvisor/shop)" "shop 700"
is "/var/lib/sdvisor/api is api's, 0700" "$(stat -c '%U %a' /var/lib/sdvisor/api)" "api 700"
check "sdvisor jobs for shop exits 0 (the state is readable, nothing failing)" \
    "$SDVISOR" jobs --config /etc/sdvisor/shop.conf

for u in "${units[@]}"; do
    systemctl reset-failed "$u" 2>/dev/null
    rm -rf "/etc/systemd/system/$u.d"
done
systemctl daemon-reload
finish
