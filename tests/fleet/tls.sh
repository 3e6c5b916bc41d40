#!/bin/bash
# tls.sh — an etcds:// store: one etcd 3.4 member that speaks TLS to its clients and
# requires their certificates (--client-cert-auth), all signed by a throw-away CA that
# openssl makes in the test's directory (etcd.sh, ETCD_TLS=1). Two nodes given the CA and
# a client certificate ([fleet] tls-ca=, tls-certificate=, tls-key=) run a job every
# second for 30 s: every slot exactly once, fences increasing, as the store records them.
# Meanwhile, as apps of their own on the same member, a node given another CA (which did
# not sign the member's certificate) and a node with the right CA but no client
# certificate cannot use the store: each logs an error naming the store and the TLS
# problem, and goes on with its slots as on-store-unavailable= says (skip: an error entry
# each; local: run once per host), answering `sdvisor status` (which names the problem
# too) and stopping on SIGTERM as usual.
FLEET_STORE_KIND=etcd ETCD_MEMBERS=1 ETCD_TLS=1
. "$(dirname "$0")/lib.sh"
fleet_require

lease=$(fleet_lease)
out=$WORK/runs
job=$(fleet_job_lines tick 'every 1s' "$out" 0)
for node in a b; do
  fleet_conf "$WORK/$node.conf" tls "node-$node" "$lease" "$job"
done
tls=$ETCD_TLS_DIR
FLEET_STORE_TLS=$(printf 'tls-ca=%s\ntls-certificate=%s\ntls-key=%s' "$tls/other-ca.pem" \
  "$tls/client.pem" "$tls/client-key.pem") fleet_conf "$WORK/bad-ca.conf" tls-bad-ca bad-ca \
  "$lease" "$(fleet_job_lines tick 'every 1s' "$WORK/bad-ca.out" 0 on-store-unavailable=skip)"
FLEET_STORE_TLS="tls-ca=$tls/ca.pem" fleet_conf "$WORK/no-cert.conf" tls-no-cert no-cert \
  "$lease" "$(fleet_job_lines tick 'every 1s' "$WORK/no-cert.out" 0 on-store-unavailable=local)"
for n in a b bad-ca no-cert; do fleet_start "$n" "$WORK/$n.conf"; done
sleep 30

# The nodes that cannot use the store still answer, at once, and say why.
store="fleet store $(fleet_store_uri)"
declare -A why=(
  [bad-ca]="Unacceptable TLS certificate: the member's certificate is not signed by a CA of \[fleet\] tls-ca=$tls/other-ca\.pem"
  [no-cert]="the member requires a client certificate \(\[fleet\] tls-certificate=, tls-key=\)"
)
for n in bad-ca no-cert; do
  t0=$(date +%s%N)
  text=$("$SDVISOR" status --socket "$WORK/$n.run/control" 2>&1)
  rc=$?
  ms=$((($(date +%s%N) - t0) / 1000000))
  is "$n: sdvisor status answers" "$rc" 0
  [ "$ms" -lt 6000 ] && ok "$n: within 6 s ($ms ms)" || not_ok "$n: status took $ms ms"
  like "$n: status says the fleet store cannot be used, and why" "$text" \
    "^    fleet: node $n; the fleet store: .*127\.0\.0\.1:[0-9]+: .*${why[$n]}"
done
stopped=""
for n in a b bad-ca no-cert; do
  t0=$(date +%s)
  fleet_stop "$n"
  [ $(($(date +%s) - t0)) -lt 10 ] || stopped+=" $n"
done
is "every node stopped on SIGTERM within 10 s" "$stopped" ""

fleet_check_once "$out" tls tick

# The TLS problems, as the nodes log them: one error naming the store, then what
# on-store-unavailable= says for each slot.
for n in bad-ca no-cert; do
  like "$n: the store and the TLS problem are logged as an error" "$(cat "$WORK/$n.log")" \
    "^<3>sdvisor: $store: 127\.0\.0\.1:[0-9]+: .*${why[$n]}\$"
  is "$n: that error is logged once" "$(grep -c "^<3>sdvisor: $store: " "$WORK/$n.log")" 1
done
bad_ca=$(cat "$WORK/bad-ca.log")
is "another CA: no slot ran" "$(cat "$WORK/bad-ca.out" 2> /dev/null)" ""
skips=$(grep -c "slot .* skipped: the fleet store cannot be used (127\.0\.0\.1:[0-9]*: .*${why[bad-ca]}; on-store-unavailable=skip)" <<< "$bad_ca")
[ "$skips" -ge 20 ] && ok "another CA: the slots are skipped with an error entry each, saying why ($skips)" ||
  not_ok "another CA: $skips skip entries"
is "another CA: no slot skipped for another reason" \
  "$(grep 'skipped: ' <<< "$bad_ca" | grep -vc 'the fleet store cannot be used')" 0
no_cert=$(cat "$WORK/no-cert.log")
locals=$(awk 'NF == 2' "$WORK/no-cert.out" 2> /dev/null | wc -l)
[ "$locals" -ge 20 ] && ok "no client certificate: the slots ran once per host ($locals)" ||
  not_ok "no client certificate: $locals local runs"
is "no client certificate: none with a fence" "$(awk 'NF != 2' "$WORK/no-cert.out" 2> /dev/null)" ""
like "no client certificate: the fallback is logged" "$no_cert" \
  "the fleet store cannot be used \(127\.0\.0\.1:[0-9]+: .*${why[no-cert]}\); running it once per host instead"
finish
