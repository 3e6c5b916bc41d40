/* store.h — the claim store: what decides which node of a fleet runs a job's slot.
 *
 * jobs.c talks to every fleet store through this interface and knows none of them: a
 * store grants a slot to one claimant with a fence (a number that grows with every
 * claim), keeps that claim alive while it is renewed, and records the finish only from
 * the holder of the fence. Every call is asynchronous: it returns at once and its
 * callback runs later from the main loop (never from inside the call), unless
 * CANCELLABLE was cancelled first, in which case it never runs. A store never blocks
 * the main loop, and it reconnects by itself.
 *
 * Stores: PostgreSQL (store-pg.c), etcd (store-etcd.c). The host's own claim (flock + state file, jobstate.h)
 * stays in jobs.c's worker threads; on-store-unavailable=local falls back to it. */
#pragma once
#include <gio/gio.h>
#include <sys/types.h>

#include "config.h"
#include "fleet.h"

typedef struct SvClaimStore SvClaimStore;

typedef enum {
  SV_CLAIM_GRANTED,     /* ours: run it with FENCE */
  SV_CLAIM_TAKEN,       /* another claim holds this slot (running, finished or interrupted) */
  SV_CLAIM_BUSY,        /* an earlier slot of the job still runs somewhere (overlap) */
  SV_CLAIM_UNAVAILABLE, /* the store could not answer: ERROR says why */
} SvClaimOutcome;

typedef struct {
  const char *job;
  gint64 slot;              /* µs since the epoch (UTC) */
  gboolean retry;           /* take over a claim whose lease ended unfinished (once) */
  gboolean skip_if_running; /* BUSY when an earlier slot still holds a live lease */
} SvClaimRequest;

typedef struct {
  SvClaimOutcome outcome;
  gint64 fence;           /* GRANTED: ours; TAKEN, BUSY: the holder's (0 = not known) */
  const char *node;       /* TAKEN, BUSY: the holder (NULL = not known) */
  const char *result;     /* TAKEN: its result, NULL while not finished */
  gint64 lease_left_usec; /* TAKEN, not finished: how long its lease still runs; -1 = ended */
  gboolean retried;       /* GRANTED: over an interrupted claim; TAKEN: retried already */
  gint64 busy_slot;       /* BUSY: the slot that still runs */
  gint64 busy_since_usec; /* BUSY: when that run was claimed (µs since the epoch, the
                           * claimant's clock); 0 = not known */
  const GError *error;    /* UNAVAILABLE */
} SvClaimReply;

typedef void (*SvClaimFunc)(const SvClaimReply *reply, gpointer user_data);

/* Renew and finish: OK, or not OK with ERROR NULL (the fence is no longer the holder's:
 * the claim is lost) or with ERROR set (the store could not answer). */
typedef void (*SvStoreDoneFunc)(gboolean ok, const GError *error, gpointer user_data);

/* The app's latest slot of each job (SvFleetRun*, the rows `sdvisor jobs` shows; borrowed
 * for the call), or RUNS NULL and ERROR set when the store could not answer. */
typedef void (*SvStoreRunsFunc)(GPtrArray *runs, const GError *error, gpointer user_data);

typedef struct {
  void (*claim)(SvClaimStore *store, const SvClaimRequest *request, GCancellable *cancellable,
                SvClaimFunc func, gpointer user_data);
  void (*renew)(SvClaimStore *store, const char *job, gint64 slot, gint64 fence,
                GCancellable *cancellable, SvStoreDoneFunc func, gpointer user_data);
  void (*finish)(SvClaimStore *store, const char *job, gint64 slot, gint64 fence,
                 const char *result, int exit_code, GCancellable *cancellable, SvStoreDoneFunc func,
                 gpointer user_data);
  /* JOB's latest slot whose claim ended without a finish and was not retried, or -1
   * (FUNC's OK FALSE), for retry-interrupted=true at start. */
  void (*find_interrupted)(SvClaimStore *store, const char *job, GCancellable *cancellable,
                           void (*func)(gint64 slot, gpointer user_data), gpointer user_data);
  /* The app's latest runs (one statement on the store's connection), for `sdvisor status`. */
  void (*last_runs)(SvClaimStore *store, GCancellable *cancellable, SvStoreRunsFunc func,
                    gpointer user_data);
  void (*free)(SvClaimStore *store); /* pending callbacks never run */
} SvClaimStoreClass;

struct SvClaimStore {
  const SvClaimStoreClass *klass;
  char *node;        /* [fleet] node= */
  gint64 lease_usec; /* [fleet] lease= */
  char *description; /* the URI without its password, for messages */
};

/* The store [fleet] store= names, for APP's jobs. Loads its client library (libpq for
 * postgresql://, libsoup for etcd://) now; connects in the background. */
SvClaimStore *sv_claim_store_new(const SvFleetConfig *config, const char *app, GError **error);

static inline void
sv_claim_store_claim(SvClaimStore *store, const SvClaimRequest *request, GCancellable *cancellable,
                     SvClaimFunc func, gpointer user_data)
{
  store->klass->claim(store, request, cancellable, func, user_data);
}

static inline void
sv_claim_store_renew(SvClaimStore *store, const char *job, gint64 slot, gint64 fence,
                     GCancellable *cancellable, SvStoreDoneFunc func, gpointer user_data)
{
  store->klass->renew(store, job, slot, fence, cancellable, func, user_data);
}

static inline void
sv_claim_store_finish(SvClaimStore *store, const char *job, gint64 slot, gint64 fence,
                      const char *result, int exit_code, GCancellable *cancellable,
                      SvStoreDoneFunc func, gpointer user_data)
{
  store->klass->finish(store, job, slot, fence, result, exit_code, cancellable, func, user_data);
}

static inline void
sv_claim_store_query_runs(SvClaimStore *store, GCancellable *cancellable, SvStoreRunsFunc func,
                          gpointer user_data)
{
  store->klass->last_runs(store, cancellable, func, user_data);
}

void sv_claim_store_free(SvClaimStore *store); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvClaimStore, sv_claim_store_free)

/* ---- without the main loop (sdvisor jobs, check, fleet schema) ----------------------------- */

/* Connects (waiting at most TIMEOUT_USEC), checks the schema and privileges as a
 * running sdvisor would, and returns APP's latest slots (SvFleetRun*), for `sdvisor jobs`
 * and `check`. Blocking: for the command line only. */
GPtrArray *sv_claim_store_last_runs(const SvFleetConfig *config, const char *app,
                                    gint64 timeout_usec, GError **error);

/* The table of who ran the last slot of each once-per=fleet job among JOB_CONFIGS
 * (SvJobConfig*), from RUNS (SvFleetRun*): JOB, LAST SLOT, NODE, FENCE, RESULT. */
char *sv_claim_store_describe_runs(GPtrArray *job_configs, GPtrArray *runs);
