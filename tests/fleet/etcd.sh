# etcd.sh — a throw-away 3-member etcd 3.4 cluster for the fleet tests and benchmarks, on
# loopback ports picked at random (client ports BASE..BASE+2, peer ports BASE+10..+12),
# data in temporary directories. Source it, then:
#   etcd_usable             → 0, or 1 with the reason on stdout (the caller skips)
#   etcd_start DIR          → start the members and wait for a leader
#   etcd_member_start I / etcd_member_kill I / etcd_member_signal I SIG   (I = 1..3)
#   etcd_leader             → the index of the current leader (empty if none)
#   etcd_uri [I…]           → an etcd:// URI for members I… (all by default)
#   etcd_records APP JOB    → "SLOT NODE FENCE RESULT ATTEMPTS" per record, by slot
#   etcd_stop               → SIGKILL every member
# Set before etcd_start:
#   ETCD_MEMBERS=N          → a cluster of N members (1 to 3; default 3)
#   ETCD_TLS=1              → clients speak TLS to the members, which require a client
#                             certificate: etcd_start makes a throw-away CA, a certificate for
#                             127.0.0.1 and a client certificate with openssl in DIR/tls
#                             (ETCD_TLS_DIR: ca.pem, client.pem, client-key.pem, and
#                             other-ca.pem, a CA that signed none of them); etcd_uri says
#                             etcds://. The peers speak plain HTTP among themselves.
ETCD_PREFIX=/sdvisor-test
ETCD_PIDS=()
ETCD_MEMBERS=${ETCD_MEMBERS:-3}
ETCD_TLS=${ETCD_TLS:-0}
ETCD_TLS_DIR=

etcd_ids() { seq "$ETCD_MEMBERS"; }
etcd_scheme() { if [ "$ETCD_TLS" = 1 ]; then echo https; else echo http; fi; }

etcd_usable() {
  if ! command -v etcd > /dev/null || ! command -v etcdctl > /dev/null; then
    echo "etcd or etcdctl not found (Debian: etcd-server, etcd-client)"
    return 1
  fi
  if ! etcd --version 2> /dev/null | grep -q '^etcd Version: 3\.[4-9]'; then
    echo "etcd is not 3.4 or later: $(etcd --version 2>&1 | head -1)"
    return 1
  fi
  if [ "$ETCD_TLS" = 1 ] && ! command -v openssl > /dev/null; then
    echo "openssl not found (Debian: openssl), for the test's certificates"
    return 1
  fi
  if ! command -v jq > /dev/null; then
    echo "jq not found (Debian: jq)"
    return 1
  fi
  if ! ldconfig -p 2> /dev/null | grep -q 'libsoup-3\.0\.so\.0'; then
    echo "libsoup-3.0.so.0 not installed (Debian: libsoup-3.0-0)"
    return 1
  fi
  return 0
}

# etcd_tls_make DIR: the CA, the members' certificate (subjectAltName IP:127.0.0.1; also
# for clients: etcd's gateway presents it when it dials the member's own gRPC), the
# client's, and another CA; keys on P-256, valid for a day.
etcd_tls_make() {
  local d=$1 name
  mkdir -p "$d"
  for name in ca other-ca; do
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
      -subj "/CN=sdvisor test $name" -keyout "$d/$name-key.pem" -out "$d/$name.pem" \
      2>> "$d/openssl.log" || return 1
  done
  for name in server client; do
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -subj "/CN=sdvisor test $name" -keyout "$d/$name-key.pem" -out "$d/$name.csr" \
      2>> "$d/openssl.log" || return 1
  done
  printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' > "$d/server.ext"
  printf 'extendedKeyUsage=clientAuth\n' > "$d/client.ext"
  for name in server client; do
    openssl x509 -req -days 1 -in "$d/$name.csr" -CA "$d/ca.pem" -CAkey "$d/ca-key.pem" \
      -set_serial "$((RANDOM * 32768 + RANDOM))" -extfile "$d/$name.ext" -out "$d/$name.pem" \
      2>> "$d/openssl.log" || return 1
  done
  chmod 0644 "$d"/*.pem
}

# etcd_ctl ENDPOINTS ARGS…: etcdctl against ENDPOINTS (host:port,…), over TLS with the
# client certificate under ETCD_TLS=1.
etcd_ctl() {
  local endpoints=$1 e list=""
  shift
  for e in ${endpoints//,/ }; do list+="${list:+,}$(etcd_scheme)://$e"; done
  if [ "$ETCD_TLS" = 1 ]; then
    set -- --cacert "$ETCD_TLS_DIR/ca.pem" --cert "$ETCD_TLS_DIR/client.pem" \
      --key "$ETCD_TLS_DIR/client-key.pem" "$@"
  fi
  ETCDCTL_API=3 etcdctl --endpoints "$list" "$@"
}

etcd_member_start() {
  local i=$1 cluster="" j client tls=()
  for j in $(etcd_ids); do cluster+="${cluster:+,}m$j=http://127.0.0.1:$((ETCD_BASE + 9 + j))"; done
  client=$(etcd_scheme)://127.0.0.1:$((ETCD_BASE + i - 1))
  if [ "$ETCD_TLS" = 1 ]; then
    tls=(--cert-file "$ETCD_TLS_DIR/server.pem" --key-file "$ETCD_TLS_DIR/server-key.pem"
      --client-cert-auth --trusted-ca-file "$ETCD_TLS_DIR/ca.pem")
  fi
  etcd --name "m$i" --data-dir "$ETCD_DATA/m$i" "${tls[@]}" \
    --listen-client-urls "$client" --advertise-client-urls "$client" \
    --listen-peer-urls "http://127.0.0.1:$((ETCD_BASE + 9 + i))" \
    --initial-advertise-peer-urls "http://127.0.0.1:$((ETCD_BASE + 9 + i))" \
    --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token sdvisor-test \
    --heartbeat-interval 100 --election-timeout 1000 --logger zap --log-outputs stderr \
    >> "$ETCD_DIR/m$i.log" 2>&1 &
  ETCD_PIDS[i]=$!
}

etcd_member_kill() {
  kill -CONT "${ETCD_PIDS[$1]}" 2> /dev/null
  kill -KILL "${ETCD_PIDS[$1]}" 2> /dev/null
  { wait "${ETCD_PIDS[$1]}"; } 2> /dev/null
  return 0
}

etcd_member_signal() { kill "-$2" "${ETCD_PIDS[$1]}"; }

etcd_endpoints() {
  local out="" i
  for i in ${*:-$(etcd_ids)}; do out+="${out:+,}127.0.0.1:$((ETCD_BASE + i - 1))"; done
  echo "$out"
}

etcd_uri() {
  local scheme=etcd
  [ "$ETCD_TLS" = 1 ] && scheme=etcds
  echo "$scheme://$(etcd_endpoints "$@")$ETCD_PREFIX"
}

etcdctl_all() { etcd_ctl "$(etcd_endpoints)" --command-timeout 3s "$@"; }

etcd_leader() {
  local i status
  for i in $(etcd_ids); do
    status=$(etcd_ctl "$(etcd_endpoints "$i")" --command-timeout 1s endpoint status -w json \
      2> /dev/null) || continue
    if [ "$(echo "$status" | jq -r '.[0].Status.leader == .[0].Status.header.member_id')" = true ]; then
      echo "$i"
      return 0
    fi
  done
  return 1
}

etcd_start() {
  ETCD_DIR=$1
  mkdir -p "$ETCD_DIR"
  # The members' data in memory where there is /dev/shm: a quorum's fsync per write on a
  # loaded disk would time the test, not sdvisor.
  if [ -d /dev/shm ] && [ -w /dev/shm ]; then
    ETCD_DATA=$(mktemp -d /dev/shm/sdvisor-etcd-XXXXXX)
  else
    ETCD_DATA=$ETCD_DIR
  fi
  if [ "$ETCD_TLS" = 1 ]; then
    ETCD_TLS_DIR=$ETCD_DIR/tls
    etcd_tls_make "$ETCD_TLS_DIR" || {
      echo "# etcd: openssl could not make the certificates (see $ETCD_TLS_DIR/openssl.log)" >&2
      return 1
    }
  fi
  local i attempt up
  for attempt in 1 2 3; do
    # Below the kernel's ephemeral range (32768–60999 on Debian): a port there may be the
    # local end of some client's connection (the load tests make thousands), and a member
    # that cannot bind its port never joins.
    ETCD_BASE=$((20000 + RANDOM % 120 * 100))
    for i in $(etcd_ids); do etcd_member_start "$i"; done
    # Every member answers, and there is a leader.
    for _ in $(seq 100); do
      up=0
      for i in $(etcd_ids); do
        etcd_ctl "$(etcd_endpoints "$i")" --command-timeout 1s endpoint health > /dev/null 2>&1 &&
          up=$((up + 1))
      done
      [ "$up" = "$ETCD_MEMBERS" ] && etcd_leader > /dev/null && return 0
      sleep 0.2
    done
    echo "# etcd: the cluster on ports $ETCD_BASE… did not come up (attempt $attempt); again" >&2
    for i in $(etcd_ids); do [ -n "${ETCD_PIDS[i]:-}" ] && etcd_member_kill "$i"; done
    rm -rf "${ETCD_DATA:?}"/* 2> /dev/null
  done
  return 1
}

etcd_stop() {
  local i
  for i in $(etcd_ids); do [ -n "${ETCD_PIDS[i]:-}" ] && etcd_member_kill "$i"; done
  case ${ETCD_DATA:-} in /dev/shm/sdvisor-etcd-*) rm -rf "$ETCD_DATA" ;; esac
  return 0
}

etcd_records() {
  etcdctl_all get --prefix "$ETCD_PREFIX/$1/$2!/" -w json |
    jq -r '.kvs[]? | [(.key | @base64d | sub(".*/"; "") | sub("\\.000000Z$"; "Z")),
                     ((.value | @base64d | fromjson) as $v | $v.node, ($v.fence // .mod_revision),
                      ($v.result // "-"), $v.attempts)] | map(tostring) | join(" ")'
}
