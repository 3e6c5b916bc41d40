/* fleet.h — the pure half of "once per fleet": store URIs, node names, slot keys and the
 * SQL that the PostgreSQL claim store (store-pg.c) sends. No I/O, so every piece is unit
 * tested and `sdvisor fleet schema` prints exactly what sdvisor would create.
 *
 * docs/fleet.md has the algorithm and its failure analysis. */
#pragma once
#include <glib.h>

#define SV_FLEET_ERROR (sv_fleet_error_quark())
GQuark sv_fleet_error_quark(void);

typedef enum {
  SV_FLEET_ERROR_URI,         /* store= is not a URI sdvisor can use */
  SV_FLEET_ERROR_UNAVAILABLE, /* the store cannot be reached now (network, server down) */
  SV_FLEET_ERROR_SCHEMA,      /* the tables are of another version, or cannot be created */
  SV_FLEET_ERROR_PRIVILEGE,   /* the role lacks a privilege on the tables */
  SV_FLEET_ERROR_AUTH,        /* the server refused the login */
  SV_FLEET_ERROR_LIBRARY,     /* libpq (libsoup for etcd) cannot be loaded */
} SvFleetError;

/* The version of the tables below; a database holding another one is refused. */
#define SV_FLEET_SCHEMA_VERSION 1

/* The kinds of store behind store=. */
typedef enum {
  SV_FLEET_STORE_POSTGRESQL,
  SV_FLEET_STORE_ETCD, /* etcd:// and etcds:// (etcd.h) */
} SvFleetStoreKind;

/* Checks store= without contacting anything: an etcd:// or etcds:// URI
 * (sv_etcd_uri_parse()), or a postgresql:// (or postgres://) URI whose
 * authority and port parse, percent escapes that decode, no spaces or control
 * characters. Messages never contain the password. */
gboolean sv_fleet_store_validate(const char *uri, SvFleetStoreKind *out_kind, GError **error);

/* URI with a password (in the user-info part or a password= parameter) replaced by
 * "***": what `check`, the journal and error messages show. */
char *sv_fleet_store_redact(const char *uri);

/* The default node= : "<machine-id>/<app>". Two hosts never collide (machine ids are
 * unique); instances of one app on one host share a node (and the claim decides
 * between them, as it does between hosts). */
char *sv_fleet_default_node(const char *machine_id, const char *app);

/* The slot as the key column holds it: a UTC timestamptz literal with microseconds,
 * "2026-12-07T02:00:00.000000Z", the same text on every node. */
char *sv_fleet_slot_key(gint64 slot_usec);

/* A lease as an interval parameter: "30000000 microseconds". */
char *sv_fleet_interval(gint64 usec);

/* The schema, version SV_FLEET_SCHEMA_VERSION: idempotent statements an admin can run
 * (`sdvisor fleet schema | psql`), with the GRANTs a role limited to these tables needs as
 * comments. */
extern const char sv_fleet_sql_schema[];
/* The schema created on first use: inside a transaction, under an advisory lock, so two
 * nodes starting together do not race on CREATE … IF NOT EXISTS (which is not safe
 * against concurrent creation). */
char *sv_fleet_sql_create(void);
/* "SELECT version FROM sdvisor_schema_version", and the privileges check. */
extern const char sv_fleet_sql_version[];
extern const char sv_fleet_sql_privileges[];

/* The claim: one statement. $1 app, $2 job, $3 slot key, $4 node, $5 pid, $6 lease,
 * $7 retry an interrupted claim (bool), $8 skip while an earlier slot runs (bool).
 * Returns one row (outcome, fence, node, result, lease_left_usec, attempts, slot_usec):
 * outcome 'granted' (ours, fence from the sequence, lease by the database's now()),
 * 'busy' (an earlier slot still holds a live lease: overlap) or 'taken' (another claim
 * holds this slot); no row at all is 'taken' by a claim committed while ours waited. */
extern const char sv_fleet_sql_claim[];
/* $1 app, $2 job, $3 slot, $4 fence, $5 lease: one row back = renewed. */
extern const char sv_fleet_sql_renew[];
/* $1 app, $2 job, $3 slot, $4 fence, $5 result, $6 exit code: one row back = recorded.
 * Also drops this job's finished rows older than a week (never the slot itself). */
extern const char sv_fleet_sql_finish[];
/* $1 app: each job's latest slot (job, slot_usec, node, fence, pid, result, exit_code,
 * state) with state 'running', 'finished' or 'interrupted' (lease ended unfinished). */
extern const char sv_fleet_sql_last_runs[];
/* $1 app, $2 job: the latest slot of the job claimed but never finished, whose lease
 * ended, and that was not retried yet: what a node retries at start
 * (retry-interrupted=true). slot_usec or no row. */
extern const char sv_fleet_sql_interrupted[];

/* Parses the claim row's slot_usec / lease_left_usec columns (decimal text). */
gboolean sv_fleet_parse_int64(const char *text, gint64 *out);

/* One job's latest slot in the store (`sdvisor jobs`, `check`). */
typedef struct {
  char *job;
  gint64 slot;
  char *node;
  gint64 fence;
  int pid;
  char *result;  /* NULL while running or interrupted */
  int exit_code; /* -1 = none */
  char *state;   /* "running", "finished", "interrupted" */
} SvFleetRun;

void sv_fleet_run_free(SvFleetRun *run); /* NULL-safe */
