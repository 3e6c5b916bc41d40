/* etcd.h — the pure half of the etcd fleet store (store-etcd.c): etcd:// URIs, the key
 * layout, the JSON requests sent to etcd's v3 gateway and the parsing of its answers. No
 * I/O, so every piece is unit tested.
 *
 * Keys (docs/fleet.md, "etcd"): PREFIX/APP/JOB/SLOT is the live claim, attached to the
 * claimant's lease (it disappears when the lease ends); PREFIX/APP/JOB!/SLOT is the
 * durable, lease-free record of the slot ('!' cannot occur in a job name, and sorts
 * before '/', so a range over PREFIX/APP/JOB/ holds live claims only). Keys and values
 * travel base64-encoded; int64 fields come back as JSON strings. */
#pragma once
#include <glib.h>

#include "fleet.h"

typedef struct {
  gboolean tls;     /* etcds:// */
  char **endpoints; /* "host:port", an IPv6 address in brackets */
  char *prefix;     /* "/PREFIX" without a trailing '/'; "/sdvisor" when none is given */
} SvEtcdUri;

/* etcd://HOST:PORT[,HOST:PORT…][/PREFIX] or etcds://…; the port is required. */
SvEtcdUri *sv_etcd_uri_parse(const char *uri, GError **error);
void sv_etcd_uri_free(SvEtcdUri *uri);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvEtcdUri, sv_etcd_uri_free)
/* "http://HOST:PORT" (https for etcds) of endpoint I. */
char *sv_etcd_uri_base(const SvEtcdUri *uri, guint i);

char *sv_etcd_live_key(const char *prefix, const char *app, const char *job, gint64 slot);
char *sv_etcd_record_key(const char *prefix, const char *app, const char *job, gint64 slot);
/* The end of the range of every key starting with KEY (KEY with its last byte + 1). */
char *sv_etcd_prefix_end(const char *key);

/* ---- requests (JSON bodies) ------------------------------------------------------------------ */

char *sv_etcd_json_grant(gint64 ttl_sec);
char *sv_etcd_json_lease(gint64 lease_id); /* keepalive, revoke */

typedef struct {
  const char *prefix, *app, *job, *node;
  gint64 slot;
  int pid;
  gint64 lease_id;
  gboolean skip_if_running;
  gint64 retry_mod_revision; /* > 0: take over the record at this revision (attempt 2) */
  gint64 claimed_usec;       /* the claimant's clock, µs since the epoch (for overlaps only) */
} SvEtcdClaimSpec;

/* The claim: one txn. Compares: the record and the live key do not exist
 * (create_revision == 0) — or, for a retry, the record is unchanged since it was read
 * (mod_revision) and the live key is gone — and, with SKIP_IF_RUNNING, no earlier slot
 * of the job holds a live key. Success: puts the live key (with the lease) and the
 * record (without). Failure: reads the record, the live key and the latest earlier
 * live key, for the answer. */
char *sv_etcd_json_claim(const SvEtcdClaimSpec *spec);

/* The finish: the record becomes finished only if its mod_revision is still FENCE (our
 * claim's); the live key goes, and the job's records older than a week go too. */
char *sv_etcd_json_finish(const char *prefix, const char *app, const char *job, gint64 slot,
                          gint64 fence, const char *node, int pid, int attempts, const char *result,
                          int exit_code);

/* A read of the job's latest records and its live keys (find_interrupted). */
char *sv_etcd_json_read_job(const char *prefix, const char *app, const char *job);
/* A range over everything of APP (sdvisor jobs, check). */
char *sv_etcd_json_read_app(const char *prefix, const char *app);

/* ---- answers -------------------------------------------------------------------------------- */

gboolean sv_etcd_parse_grant(const char *body, gsize len, gint64 *out_id, GError **error);
/* The TTL a keepalive answers; 0 (or none) = the lease is gone. */
gboolean sv_etcd_parse_keepalive(const char *body, gsize len, gint64 *out_ttl, GError **error);

typedef struct {
  gboolean exists;
  char *node;
  int pid;
  int attempts;
  gint64 fence; /* the claim's revision */
  gint64 mod_revision;
  gint64 claimed_usec; /* the claimant's clock when it claimed; 0 = not said */
  char *result;        /* NULL = not finished */
  int exit_code;       /* -1 = none */
} SvEtcdRecord;

typedef struct {
  gboolean succeeded;
  gint64 revision;     /* the txn's: the fence when it succeeded */
  SvEtcdRecord record; /* the slot's, on failure */
  gboolean live;       /* the slot's live key exists (its lease runs) */
  gint64 live_lease;   /* its lease, and the revision that created it (the claim's fence): */
  gint64 live_create_revision; /* a claim sent again finds its own first attempt by them */
  SvEtcdRecord busy;           /* the latest earlier live key, on failure with skip_if_running */
  gint64 busy_slot;
} SvEtcdTxn;

/* A txn answer (claim or finish). */
gboolean sv_etcd_parse_txn(const char *body, gsize len, const char *prefix, const char *app,
                           const char *job, SvEtcdTxn *out, GError **error);
void sv_etcd_txn_clear(SvEtcdTxn *txn);

/* From a sv_etcd_json_read_job() answer: the latest slot whose record is unfinished,
 * whose live key is gone and that was not retried yet, or -1. */
gint64 sv_etcd_find_interrupted(const char *body, gsize len, const char *prefix, const char *app,
                                const char *job, GError **error);

/* From a sv_etcd_json_read_app() answer: each job's latest slot (SvFleetRun*). */
GPtrArray *sv_etcd_last_runs(const char *body, gsize len, const char *prefix, const char *app,
                             GError **error);
