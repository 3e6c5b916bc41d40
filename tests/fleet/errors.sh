#!/bin/bash
# errors.sh — what goes wrong with a fleet store gives one clear error, at `check` where it
# can tell and at start otherwise, and nothing crashes: bad store URIs, a wrong password,
# a role without the privileges, tables of another schema version, tables a role cannot
# create. And what goes right: a role limited to the three tables works, with its password
# from systemd credentials ($CREDENTIALS_DIRECTORY), and the password shows nowhere.
. "$(dirname "$0")/lib.sh"
fleet_require

job=$(fleet_job_lines tick 'every 1s' "$WORK/runs" 0)

# check_conf NAME STORE [FLEET-LINES…]: a configuration with that store.
check_conf() {
  local name=$1 store=$2
  shift 2
  {
    printf '[app]\nname=errs\nexec=/bin/true\n\n[fleet]\nstore=%s\nlease=3s\n' "$store"
    printf '%s\n' "$@"
    printf '\n%s\n' "$job"
  } > "$WORK/$name.conf"
  chmod 0644 "$WORK/$name.conf"
}

# expect_check NAME REGEX: `sdvisor check` fails (1-127) with one line matching REGEX.
expect_check() {
  local name=$1 re=$2 err rc
  err=$("$SDVISOR" check --config "$WORK/$name.conf" 2>&1 > /dev/null)
  rc=$?
  if [ $rc -ge 1 ] && [ $rc -lt 128 ] && [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] &&
    printf '%s\n' "$err" | grep -qE -- "$re"; then
    ok "$name: check says: $err"
  else
    not_ok "$name: check (exit status $rc)"
    diag "expected one line matching: $re" "got:" "$err"
  fi
}

sock=$PG_SOCK
for bad in 'mysql://db.example/app|is not a store URI' \
  'postgresql://db.example:99999/app|is not host\[:port\]' \
  'postgresql://db.example/app%zz|percent escape' \
  'postgresql://db.example/app?sslmode|name=value' \
  'postgresql://user:s3cret@db.example:0/app|is not host\[:port\]'; do
  check_conf bad-uri "${bad%%|*}"
  expect_check bad-uri "${bad#*|}"
done
unlike "a bad URI's error does not show its password" \
  "$("$SDVISOR" check --config "$WORK/bad-uri.conf" 2>&1)" s3cret

# Roles: the tables created by an admin (sdvisor fleet schema | psql), one role with the
# GRANTs the schema lists, one with none, one that may read the version only.
"$SDVISOR" fleet schema | pg_psql > /dev/null
grants=$("$SDVISOR" fleet schema | sed -n 's/^--   \(GRANT .*\)ROLE;$/\1limited;/p')
pg_psql -c "CREATE ROLE limited LOGIN PASSWORD 'right-pw'" -c "$grants" \
  -c "CREATE ROLE noperm LOGIN PASSWORD 'np-pw'" \
  -c "CREATE ROLE versiononly LOGIN PASSWORD 'vo-pw'" \
  -c "GRANT SELECT ON sdvisor_schema_version TO versiononly" \
  -c "CREATE DATABASE otherversion" -c "CREATE DATABASE empty"
pg_psql -d otherversion -c "CREATE TABLE sdvisor_schema_version (version integer PRIMARY KEY)" \
  -c "INSERT INTO sdvisor_schema_version VALUES (2)"
uri() { echo "postgresql:///${2:-postgres}?host=$sock&user=$1"; }
printf '*:*:*:limited:wrong-pw\n' > "$WORK/wrong.pgpass"
for r in limited noperm versiononly; do
  case $r in limited) p=right-pw ;; noperm) p=np-pw ;; versiononly) p=vo-pw ;; esac
  printf '*:*:*:%s:%s\n' "$r" "$p"
done > "$WORK/good.pgpass"
chmod 0600 "$WORK"/*.pgpass

check_conf wrong-password "$(uri limited)" "passfile=$WORK/wrong.pgpass"
expect_check wrong-password 'password authentication failed for user "limited"'
check_conf no-privileges "$(uri noperm)" "passfile=$WORK/good.pgpass"
expect_check no-privileges 'role noperm may not read sdvisor_schema_version'
check_conf some-privileges "$(uri versiononly)" "passfile=$WORK/good.pgpass"
expect_check some-privileges 'role versiononly lacks privileges on the fleet tables'
check_conf other-version "$(uri postgres otherversion)"
expect_check other-version 'schema version 2; this sdvisor uses version 1'

# The limited role works, its password from a systemd credential; the password shows
# neither in check's output nor in the log, not even when the URI carries it.
mkdir -p "$WORK/creds"
printf 'right-pw\n' > "$WORK/creds/fleet-password"
check_conf limited "$(uri limited)"
out=$(CREDENTIALS_DIRECTORY=$WORK/creds "$SDVISOR" check --config "$WORK/limited.conf" 2>&1)
like "limited role with a credential: check shows the fleet's last runs" "$out" '^tick +- +- +- +-$'
check_conf inline "postgresql://limited:right-pw@/postgres?host=$sock"
out2=$("$SDVISOR" check --config "$WORK/inline.conf" 2>&1)
like "a password in the URI is shown as ***" "$out2" 'store=postgresql://limited:\*\*\*@/postgres'
unlike "and never in clear" "$out $out2" 'right-pw'

FLEET_STORE=$(uri limited) fleet_conf "$WORK/limited-run.conf" errs limited-node 3s "$job"
CREDENTIALS_DIRECTORY=$WORK/creds fleet_start limited-run "$WORK/limited-run.conf"

# At start: the same errors, once each in the log however long they last; the slots are
# skipped with an error entry; nothing crashes.
for name in wrong-password no-privileges other-version; do
  cp "$WORK/$name.conf" "$WORK/$name-run.conf"
  sed -i "s|^exec=/bin/true|exec=/bin/sh -c 'while kill -0 \$PPID 2>/dev/null; do sleep 0.5; done'|" "$WORK/$name-run.conf"
  fleet_start "$name-run" "$WORK/$name-run.conf"
done
check_conf cannot-create "$(uri limited empty)"
sed -i "s|^exec=/bin/true|exec=/bin/sh -c 'while kill -0 \$PPID 2>/dev/null; do sleep 0.5; done'|" "$WORK/cannot-create.conf"
CREDENTIALS_DIRECTORY=$WORK/creds fleet_start cannot-create "$WORK/cannot-create.conf"
check_conf libpq-rejects "postgresql:///postgres?host=$sock&bogus=1"
sed -i "s|^exec=/bin/true|exec=/bin/sh -c 'while kill -0 \$PPID 2>/dev/null; do sleep 0.5; done'|" "$WORK/libpq-rejects.conf"
fleet_start libpq-rejects "$WORK/libpq-rejects.conf"
sleep 5
for name in limited-run wrong-password-run no-privileges-run other-version-run cannot-create libpq-rejects; do
  alive=yes
  kill -0 "$(cat "$WORK/$name.pid")" 2> /dev/null || alive=no
  fleet_stop "$name"
  is "$name: sdvisor kept running" "$alive" yes
done
like "limited role: its jobs run in the fleet" "$(cat "$WORK/runs")" '^start [^ ]+ limited-node [0-9]+$'
log_error() { grep -E "^<3>sdvisor: fleet store [^ ]+: $2" "$WORK/$1.log" | wc -l; }
is "wrong password: one error at start" "$(log_error wrong-password-run 'cannot connect: .*password authentication failed for user "limited"')" 1
is "missing privileges: one error at start" "$(log_error no-privileges-run 'role noperm may not read')" 1
is "other version: one error at start" "$(log_error other-version-run 'the fleet tables are of schema version 2')" 1
is "tables that cannot be created: one error at start" "$(log_error cannot-create 'the fleet tables do not exist and role limited cannot create them')" 1
is "a URI libpq rejects: one error at start" "$(log_error libpq-rejects 'cannot connect: invalid URI query parameter: "bogus"')" 1
like "the slots are skipped with an error entry" "$(cat "$WORK/other-version-run.log")" \
  '^<3>sdvisor: job tick: slot .* skipped: the fleet store cannot be used \(the fleet tables are of schema version 2'
unlike "no password in any log" "$(cat "$WORK"/*.log)" 'right-pw|wrong-pw|np-pw'
no_crashes
finish
