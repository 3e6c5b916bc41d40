# pg.sh — a throw-away PostgreSQL 15 server for the fleet tests and benchmarks: initdb in a
# temporary directory, listening on a unix socket there only (no TCP port to collide
# on). Source it, then:
#   pg_usable              → 0, or 1 with the reason on stdout (the caller skips)
#   pg_start DIR           → initdb (once) and start; sets PG_SOCK, PG_DATA
#   pg_stop DIR / pg_kill  → fast shutdown / SIGKILL of the postmaster
#   pg_psql SQL…           → run SQL as the superuser
#   pg_uri [USER]          → a postgresql:// URI for the socket
# As root the server runs as the postgres user (initdb refuses root). Roles other than
# postgres log in with a password (scram-sha-256), so wrong passwords can be tested.
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

pg_as() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_usable() {
  if [ ! -x "$PG_BIN/initdb" ] || [ ! -x "$PG_BIN/pg_ctl" ]; then
    echo "PostgreSQL 15 server binaries not found in $PG_BIN (Debian: postgresql-15)"
    return 1
  fi
  if ! command -v psql > /dev/null; then
    echo "psql not found (Debian: postgresql-client-15)"
    return 1
  fi
  if [ "$(id -u)" = 0 ] && { ! id postgres > /dev/null 2>&1 || ! command -v runuser > /dev/null; }; then
    echo "running as root without a postgres user (or runuser) to run initdb as"
    return 1
  fi
  if ! [ -e /usr/lib/x86_64-linux-gnu/libpq.so.5 ] && ! ldconfig -p 2> /dev/null | grep -q 'libpq\.so\.5'; then
    echo "libpq.so.5 not installed (Debian: libpq5)"
    return 1
  fi
  return 0
}

pg_start() {
  local dir=$1
  PG_DATA=$dir/data
  PG_SOCK=$dir/sock
  if [ ! -d "$PG_DATA" ]; then
    mkdir -p "$dir" "$PG_SOCK"
    chmod 0755 "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir" "$PG_SOCK"
    pg_as "$PG_BIN/initdb" -A trust -U postgres -D "$PG_DATA" > "$dir/initdb.log" 2>&1 || {
      cat "$dir/initdb.log" >&2
      return 1
    }
    printf 'local all postgres trust\nlocal all all scram-sha-256\n' > "$PG_DATA/pg_hba.conf"
    [ "$(id -u)" = 0 ] && chown postgres "$PG_DATA/pg_hba.conf"
  fi
  # fsync=off: a test server that loses its data on a crash is fine, and it is faster.
  pg_as "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$dir/server.log" -w -t 30 \
    -o "-k $PG_SOCK -c listen_addresses= -c fsync=off -c max_connections=60" start > /dev/null
}

pg_stop() {
  pg_as "$PG_BIN/pg_ctl" -D "${1:-$(dirname "$PG_DATA")}/data" -m fast -w -t 30 stop > /dev/null 2>&1 || true
}

pg_psql() {
  psql -X -q -At -v ON_ERROR_STOP=1 -h "$PG_SOCK" -U postgres -d postgres "$@"
}

pg_uri() {
  echo "postgresql:///postgres?host=$PG_SOCK&user=${1:-postgres}"
}
