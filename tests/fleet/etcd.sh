# etcd.sh — a throw-away 3-member etcd 3.4 cluster for the fleet tests and benchmarks, on
# loopback ports picked at random (client ports BASE..BASE+2, peer ports BASE+10..+12),
# data in temporary directories. Source it, then:
#   etcd_usable             → 0, or 1 with the reason on stdout (the caller skips)
#   etcd_start DIR          → start the three members and wait for a leader
#   etcd_member_start I / etcd_member_kill I / etcd_member_signal I SIG   (I = 1..3)
#   etcd_leader             → the index of the current leader (empty if none)
#   etcd_uri [I…]           → an etcd:// URI for members I… (all by default)
#   etcd_records APP JOB    → "SLOT NODE FENCE RESULT ATTEMPTS" per record, by slot
#   etcd_stop               → SIGKILL every member
ETCD_PREFIX=/sdvisor-test
ETCD_PIDS=()

etcd_usable() {
  if ! command -v etcd > /dev/null || ! command -v etcdctl > /dev/null; then
    echo "etcd or etcdctl not found (Debian: etcd-server, etcd-client)"
    return 1
  fi
  if ! etcd --version 2> /dev/null | grep -q '^etcd Version: 3\.[4-9]'; then
    echo "etcd is not 3.4 or later: $(etcd --version 2>&1 | head -1)"
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

etcd_member_start() {
  local i=$1 cluster="" j
  for j in 1 2 3; do cluster+="${cluster:+,}m$j=http://127.0.0.1:$((ETCD_BASE + 9 + j))"; done
  etcd --name "m$i" --data-dir "$ETCD_DATA/m$i" \
    --listen-client-urls "http://127.0.0.1:$((ETCD_BASE + i - 1))" \
    --advertise-client-urls "http://127.0.0.1:$((ETCD_BASE + i - 1))" \
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
  for i in ${*:-1 2 3}; do out+="${out:+,}127.0.0.1:$((ETCD_BASE + i - 1))"; done
  echo "$out"
}

etcd_uri() { echo "etcd://$(etcd_endpoints "$@")$ETCD_PREFIX"; }

etcdctl_all() { ETCDCTL_API=3 etcdctl --endpoints "$(etcd_endpoints)" --command-timeout 3s "$@"; }

etcd_leader() {
  local i status
  for i in 1 2 3; do
    status=$(ETCDCTL_API=3 etcdctl --endpoints "127.0.0.1:$((ETCD_BASE + i - 1))" \
      --command-timeout 1s endpoint status -w json 2> /dev/null) || continue
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
  local i attempt up
  for attempt in 1 2 3; do
    # Below the kernel's ephemeral range (32768–60999 on Debian): a port there may be the
    # local end of some client's connection (the load tests make thousands), and a member
    # that cannot bind its port never joins.
    ETCD_BASE=$((20000 + RANDOM % 120 * 100))
    for i in 1 2 3; do etcd_member_start "$i"; done
    # Every member answers, and there is a leader.
    for _ in $(seq 100); do
      up=0
      for i in 1 2 3; do
        ETCDCTL_API=3 etcdctl --endpoints "127.0.0.1:$((ETCD_BASE + i - 1))" --command-timeout 1s \
          endpoint health > /dev/null 2>&1 && up=$((up + 1))
      done
      [ "$up" = 3 ] && etcd_leader > /dev/null && return 0
      sleep 0.2
    done
    echo "# etcd: the cluster on ports $ETCD_BASE… did not come up (attempt $attempt); again" >&2
    for i in 1 2 3; do [ -n "${ETCD_PIDS[i]:-}" ] && etcd_member_kill "$i"; done
    rm -rf "${ETCD_DATA:?}"/* 2> /dev/null
  done
  return 1
}

etcd_stop() {
  local i
  for i in 1 2 3; do [ -n "${ETCD_PIDS[i]:-}" ] && etcd_member_kill "$i"; done
  case ${ETCD_DATA:-} in /dev/shm/sdvisor-etcd-*) rm -rf "$ETCD_DATA" ;; esac
  return 0
}

etcd_records() {
  etcdctl_all get --prefix "$ETCD_PREFIX/$1/$2!/" -w json |
    jq -r '.kvs[]? | [(.key | @base64d | sub(".*/"; "") | sub("\\.000000Z$"; "Z")),
                     ((.value | @base64d | fromjson) as $v | $v.node, ($v.fence // .mod_revision),
                      ($v.result // "-"), $v.attempts)] | map(tostring) | join(" ")'
}
