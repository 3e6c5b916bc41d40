# shellcheck shell=bash
# lib.sh — helpers for the fleet suite: once-per=fleet jobs on a real store that the test
# starts itself — PostgreSQL 15 (pg.sh) or a 3-member etcd 3.4 cluster (etcd.sh), as
# FLEET_STORE_KIND says — and several sdvisors playing the nodes of a fleet.
#
#     . "$(dirname "$0")/lib.sh"
#     fleet_require            # skips (or fails, SDVISOR_STORE_TESTS_REQUIRED=1) with a reason
#
# Environment (set by meson.build; the defaults suit a run by hand from a build dir):
#   SDVISOR_BINARY                    the sdvisor to test
#   FLEET_MESON_TAP=1                 a skip prints `1..0 # SKIP` and exits 0 (meson counts
#                                     exit 77 of a TAP test as an error); by hand it exits 77
#   SDVISOR_STORE_TESTS_REQUIRED=1    a skip is a failure (CI)
#   FLEET_KEEP=1                      keep the work directory
#   FLEET_STORE_KIND=pg|etcd          the store the scenario runs on (default pg)
set -u

FLEET_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$FLEET_DIR/pg.sh"
. "$FLEET_DIR/etcd.sh"
FLEET_STORE_KIND=${FLEET_STORE_KIND:-pg}
SDVISOR=${SDVISOR_BINARY:-}

_pids=()
WORK=

TAP_NUMBERED=1
TAP_REQUIRED_VAR=SDVISOR_STORE_TESTS_REQUIRED
TAP_TEST=fleet/fleet-$([ "$FLEET_STORE_KIND" = pg ] || echo etcd-)$(basename "$0" .sh)
TAP_MESON=${FLEET_MESON_TAP:-0}
# shellcheck source=../common/tap.sh
. "$FLEET_DIR/../common/tap.sh"

# like DESCRIPTION TEXT REGEX: ok when TEXT matches REGEX (grep -E)
like() {
  if printf '%s\n' "$2" | grep -qE -- "$3"; then
    ok "$1"
  else
    not_ok "$1"
    diag "expected to match: $3" "got:" "$2"
  fi
}

# unlike DESCRIPTION TEXT REGEX
unlike() {
  if printf '%s\n' "$2" | grep -qE -- "$3"; then
    not_ok "$1"
    diag "expected NOT to match: $3" "got:" "$2"
  else
    ok "$1"
  fi
}

fleet_cleanup() {
  local pid
  for pid in "${_pids[@]}"; do
    kill -CONT "$pid" 2> /dev/null
    kill -KILL "$pid" 2> /dev/null
  done
  [ -n "$WORK" ] && [ -d "$WORK/pg/data" ] && pg_stop "$WORK/pg"
  etcd_stop
  if [ -n "$WORK" ] && [ "${FLEET_KEEP:-0}" != 1 ] && [ "$_failed" = 0 ]; then
    rm -rf "$WORK"
  elif [ -n "$WORK" ]; then
    echo "# work directory kept: $WORK"
  fi
}

# Starts the store (FLEET_STORE_KIND) in a fresh work directory, or skips saying why.
fleet_require() {
  [ -n "$SDVISOR" ] && [ -x "$SDVISOR" ] || skip_all "SDVISOR_BINARY is not set to a built sdvisor"
  local why
  why=$("${FLEET_STORE_KIND}_usable") || skip_all "$why"
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/sdvisor-fleet-XXXXXX")
  chmod 0755 "$WORK"
  trap fleet_cleanup EXIT
  if [ "$FLEET_STORE_KIND" = etcd ]; then
    etcd_start "$WORK/etcd" || skip_all "the etcd cluster does not start here (see $WORK/etcd)"
  else
    pg_start "$WORK/pg" || skip_all "PostgreSQL 15 does not start here (see $WORK/pg)"
  fi
}

# The lease of the scenarios: etcd writes wait for a quorum's agreement and its requests
# wait up to half the lease, so a longer one keeps a loaded machine's slow answers from
# turning into skipped slots.
fleet_lease() { if [ "$FLEET_STORE_KIND" = etcd ]; then echo 6s; else echo 3s; fi; }

# The store unavailable, and back: PostgreSQL stopped; etcd's quorum lost (members 2 and 3
# of 3 killed; the sdvisors' endpoint lists hold all three).
fleet_store_down() {
  if [ "$FLEET_STORE_KIND" = etcd ]; then
    etcd_member_kill 2
    etcd_member_kill 3
  else
    pg_stop "$WORK/pg"
  fi
}
fleet_store_up() {
  if [ "$FLEET_STORE_KIND" = etcd ]; then
    etcd_member_start 2
    etcd_member_start 3
  else
    pg_start "$WORK/pg"
  fi
}

# The URI of the test store.
fleet_store_uri() { if [ "$FLEET_STORE_KIND" = etcd ]; then etcd_uri; else pg_uri; fi; }

# The [fleet] TLS keys of the test store: the CA and the client certificate of an etcd
# whose members require one (ETCD_TLS=1, etcd.sh); none otherwise.
fleet_store_tls() {
  [ "$FLEET_STORE_KIND" = etcd ] && [ "$ETCD_TLS" = 1 ] || return 0
  printf 'tls-ca=%s\ntls-certificate=%s\ntls-key=%s\n' "$ETCD_TLS_DIR/ca.pem" \
    "$ETCD_TLS_DIR/client.pem" "$ETCD_TLS_DIR/client-key.pem"
}

# fleet_records APP JOB: "SLOT NODE FENCE RESULT ATTEMPTS" of every slot the store holds
# (RESULT "-" while unfinished), SLOT as SDVISOR_JOB_SLOT spells it, sorted by slot.
fleet_records() {
  if [ "$FLEET_STORE_KIND" = etcd ]; then
    etcd_records "$1" "$2"
  else
    pg_psql -F ' ' -c "SELECT to_char(slot AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
      node, fence, coalesce(result, '-'), attempts
      FROM sdvisor_slots WHERE app = '$1' AND job = '$2' ORDER BY slot"
  fi
}

# fleet_conf FILE APP NODE LEASE [JOB-LINES…]: a configuration whose app waits for its
# sdvisor to go (a SIGKILLed sdvisor leaves nothing behind) and whose [fleet] store is the
# test server (or $FLEET_STORE), with its TLS keys (or the lines of $FLEET_STORE_TLS, if
# set); extra lines (the [job:…] groups) follow.
fleet_conf() {
  local file=$1 app=$2 node=$3 lease=$4 tls
  shift 4
  tls=${FLEET_STORE_TLS-$(fleet_store_tls)}
  {
    printf '[app]\nname=%s\n' "$app"
    printf "exec=/bin/sh -c 'while kill -0 \$PPID 2>/dev/null; do sleep 0.5; done'\n\n"
    printf '[fleet]\nstore=%s\nnode=%s\nlease=%s\n' "${FLEET_STORE:-$(fleet_store_uri)}" "$node" "$lease"
    [ -z "$tls" ] || printf '%s\n' "$tls"
    printf '\n'
    printf '%s\n' "$@"
  } > "$file"
  chmod 0644 "$file"
}

# fleet_confs_3x2 APP JOB-LINES: the configurations of 3 nodes × 2 instances of APP
# (node-a … node-c, lease 3 s), $WORK/a1.conf … c2.conf; their names in the array names.
fleet_confs_3x2() {
  local node i
  names=()
  for node in a b c; do
    for i in 1 2; do
      fleet_conf "$WORK/$node$i.conf" "$1" "node-$node" 3s "$2"
      names+=("$node$i")
    done
  done
}

# fleet_start NAME CONF: starts an sdvisor (state directory $WORK/NAME.state, runtime
# directory, so its control socket, $WORK/NAME.run, log $WORK/NAME.log, appended); its pid
# in $WORK/NAME.pid. With FLEET_JOURNAL=1 (see fleet_require_journal) it runs in a mount
# namespace of its own whose /run/systemd/journal/socket is a fake journald: its entries
# go to $WORK/NAME.journal (journal-dump's format), across restarts.
fleet_start() {
  local name=$1 conf=$2
  mkdir -p "$WORK/$name.state" "$WORK/$name.run"
  if [ "${FLEET_JOURNAL:-0}" = 1 ]; then
    fleet_journal "$name"
    STATE_DIRECTORY=$WORK/$name.state RUNTIME_DIRECTORY=$WORK/$name.run \
      FLEET_JOURNAL_SOCKET=$WORK/$name.jsock setsid unshare -m --propagation private /bin/sh -c \
      'mount -t tmpfs -o mode=0755 tmpfs /run && mkdir -p /run/systemd/journal &&
       : > /run/systemd/journal/socket &&
       mount --bind "$FLEET_JOURNAL_SOCKET" /run/systemd/journal/socket &&
       exec "$0" run --config "$1"' "$SDVISOR" "$conf" >> "$WORK/$name.log" 2>&1 < /dev/null &
  else
    STATE_DIRECTORY=$WORK/$name.state RUNTIME_DIRECTORY=$WORK/$name.run setsid "$SDVISOR" run \
      --config "$conf" >> "$WORK/$name.log" 2>&1 < /dev/null &
  fi
  echo $! > "$WORK/$name.pid"
  _pids+=("$!")
}

# Skips unless sdvisor's journal entries can be caught here (root, unshare, journal-dump);
# then every fleet_start runs its sdvisor against a fake journald.
fleet_require_journal() {
  [ "$(id -u)" = 0 ] || skip_all "catching sdvisor's journal entries needs root (a mount namespace)"
  command -v unshare > /dev/null || skip_all "unshare(1) not found (Debian: util-linux)"
  [ -x "${FLEET_JOURNAL_DUMP:-}" ] || skip_all "FLEET_JOURNAL_DUMP is not set to the built journal-dump"
  FLEET_JOURNAL=1
}

# fleet_journal NAME: the fake journald of node NAME, started once.
fleet_journal() {
  local name=$1
  [ -S "$WORK/$name.jsock" ] && return 0
  "$FLEET_JOURNAL_DUMP" "$WORK/$name.jsock" "$WORK/$name.journal" &
  _pids+=("$!")
  for _ in $(seq 100); do
    [ -S "$WORK/$name.jsock" ] && return 0
    sleep 0.05
  done
  echo "# journal-dump did not bind $WORK/$name.jsock" >&2
  return 1
}

# journal_select FILE FIELD=VALUE…: the entries of FILE (journal-dump's) that have every
# FIELD=VALUE (no spaces in them), each followed by a blank line.
journal_select() {
  local file=$1
  shift
  awk -v conds="$*" 'BEGIN { RS = ""; FS = "\n"; n = split(conds, c, " ") }
    {
      for (i = 1; i <= n; i++) {
        found = 0
        for (k = 1; k <= NF; k++) if ($k == c[i]) found = 1
        if (!found) next
      }
      print; print ""
    }' "$file"
}

# fleet_stop NAME...: SIGTERM to all at once (a node stopped after the others would keep
# claiming slots the others left), then wait (at most 20 s in all) and reap.
fleet_stop() {
  local name pid alive pids=()
  for name in "$@"; do
    pid=$(cat "$WORK/$name.pid")
    pids+=("$pid")
    kill -CONT "$pid" 2> /dev/null
    kill -TERM "$pid" 2> /dev/null
  done
  for _ in $(seq 200); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2> /dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do
    kill -KILL "$pid" 2> /dev/null
    { wait "$pid"; } 2> /dev/null
  done
  return 0
}

# fleet_kill NAME: SIGKILL and reap.
fleet_kill() {
  local pid
  pid=$(cat "$WORK/$1.pid")
  kill -KILL "$pid" 2> /dev/null || return 1
  { wait "$pid"; } 2> /dev/null
  return 0
}

# The job every fleet test runs: one line per start (and one per end, after SLEEP
# seconds): "start|end SLOT NODE FENCE".
fleet_job_lines() {
  local name=$1 schedule=$2 out=$3 sleep=${4:-0}
  shift 4
  local end=""
  [ "$sleep" != 0 ] && end="; sleep $sleep; echo \"end \$SDVISOR_JOB_SLOT \$SDVISOR_FLEET_NODE \$SDVISOR_JOB_FENCE\" >> $out"
  printf '[job:%s]\nschedule=%s\nonce-per=fleet\n' "$name" "$schedule"
  printf "exec=/bin/sh -c 'echo \"start \$SDVISOR_JOB_SLOT \$SDVISOR_FLEET_NODE \$SDVISOR_JOB_FENCE\" >> %s%s'\n" "$out" "$end"
  printf '%s\n' "$@"
}

# Seconds since the epoch of an SDVISOR_JOB_SLOT value.
slot_epoch() { date -u -d "$1" +%s; }

# No sdvisor's output shows a crash or a failed assertion.
no_crashes() {
  is "no sdvisor crashed or asserted" \
    "$(cat "$WORK"/*.log | grep -cE 'AddressSanitizer|Segmentation|CRITICAL|assertion' || true)" 0
}

# fleet_check_once OUT APP JOB [unique]: a job every second whose runs are the "start"
# lines of OUT (fleet_job_lines): every slot from the first to the last ran exactly once
# fleet-wide (those that did not are listed, with what the nodes' logs say of them), over
# at least 25 slots; fences strictly increase with the slots (with "unique": each run has
# a fence of its own — a slot that waited for a claim held up by the store may be claimed
# after the next one); the store's records are the runs; no sdvisor crashed.
fleet_check_once() {
  local out=$1 app=$2 job=$3 order=${4:-ordered} lines slots first last span missing s bad db mine
  lines=$(grep -c '^start' "$out")
  slots=$(awk '{print $2}' "$out" | sort -u | wc -l)
  is "no slot ran twice ($lines runs)" "$slots" "$lines"
  first=$(awk '{print $2}' "$out" | sort | head -1)
  last=$(awk '{print $2}' "$out" | sort | tail -1)
  span=$(($(slot_epoch "$last") - $(slot_epoch "$first") + 1))
  if [ "$slots" != "$span" ]; then
    missing=$(for t in $(seq "$(slot_epoch "$first")" "$(slot_epoch "$last")"); do
      s=$(date -u -d "@$t" +%Y-%m-%dT%H:%M:%SZ)
      grep -q " $s " "$out" || echo "$s"
    done | tr '\n' ' ')
    diag "slots that did not run: $missing"
    for s in $missing; do diag "$s: $(cat "$WORK"/*.log | grep -F "${s%Z}" | head -3)"; done
  fi
  is "every slot from $first to $last ran" "$slots" "$span"
  [ "$span" -ge 25 ] && ok "the run spans at least 25 slots ($span)" || not_ok "only $span slots"
  like "every run has a fence and a node in its environment" "$(awk 'NF != 4' "$out" | wc -l)" '^0$'
  if [ "$order" = unique ]; then
    is "every run has a fence of its own" "$(awk '{print $4}' "$out" | sort | uniq -d)" ""
  else
    bad=$(sort -k2,2 "$out" | awk 'NR > 1 && $4 <= prev {print} {prev = $4}')
    is "fences strictly increase with slots" "$bad" ""
  fi
  db=$(fleet_records "$app" "$job" | awk '$4 == "success" {print $1, $2, $3}')
  mine=$(awk '{print $2, $3, $4}' "$out" | sort)
  is "every run's slot, node and fence are the recorded claim" "$db" "$mine"
  no_crashes
}

