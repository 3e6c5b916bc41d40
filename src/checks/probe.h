/* probe.h — readiness and liveness checks.
 *
 * A check is one thing to look at, parsed by checkspec.h (pure). A probe runs its checks
 * again and again on the main loop — all of them at once, all must pass — and reports
 * transitions (healthy ↔ unhealthy) after its thresholds. It never blocks the loop, never
 * reaps a child itself (exec: checks go through the reaper), and builds HTTP machinery
 * only when an http check runs, since that alone costs megabytes of RSS. Logging is the
 * caller's: the callback gets the detail. */
#pragma once
#include <glib.h>
#include <sys/types.h>

#include "checkspec.h"

#define SV_PROBE_ERROR (sv_probe_error_quark())
GQuark sv_probe_error_quark(void);

typedef enum {
  SV_PROBE_ERROR_INVALID, /* a check or a probe setting that cannot be used */
} SvProbeError;

typedef enum {
  /* `notify` passes once READY=1 has been received (since sv_probe_new()). */
  SV_PROBE_READINESS,
  /* `notify` passes while the app's last WATCHDOG=1 (or READY=1) is fresh: received
   * within interval + timeout before the attempt. */
  SV_PROBE_LIVENESS,
} SvProbeMode;

typedef struct {
  SvProbeMode mode;
  GPtrArray *checks;        /* of SvCheckSpec*, all must pass; the probe keeps a reference */
  gint64 interval_usec;     /* from the end of one attempt to the start of the next */
  gint64 timeout_usec;      /* bound on one attempt (all its checks together) */
  guint failure_threshold;  /* consecutive failed attempts → unhealthy */
  guint success_threshold;  /* consecutive passed attempts → healthy */
  gint64 start_period_usec; /* failures of attempts begun this soon after start don't count */
} SvProbeConfig;

typedef enum {
  SV_PROBE_STATE_UNKNOWN, /* no verdict yet (or stopped before one) */
  SV_PROBE_STATE_HEALTHY,
  SV_PROBE_STATE_UNHEALTHY,
} SvProbeState;

typedef struct SvProbe SvProbe;

/* Called for the first verdict and then for every change of verdict, from the main
 * loop (never from inside an sv_probe_*() call). DETAIL is what the attempt that
 * decided saw: the failing checks' errors, or every check's success detail, e.g.
 * "http://127.0.0.1:8000/health: 500 Internal Server Error". The callback may stop or
 * free the probe. */
typedef void (*SvProbeFunc)(SvProbe *probe, gboolean healthy, const char *detail,
                            gpointer user_data);

/* Checks CONFIG (a person reads the error) and copies it. The probe uses the
 * thread-default main context of this call. */
SvProbe *sv_probe_new(const SvProbeConfig *config, SvProbeFunc func, gpointer user_data,
                      GError **error);
/* The pid exec: checks see as SDVISOR_APP_PID; 0 leaves it out. */
void sv_probe_set_pid(SvProbe *probe, pid_t app_pid);
/* Base environment of exec: checks (copied); NULL = sv_spawn_base_environ(). */
void sv_probe_set_environment(SvProbe *probe, char *const *envp);
/* Issue 6: exec: checks' stdout and stderr go to the journal through STREAMS
 * (logstream.h; SDVISOR_SOURCE=check, SDVISOR_CHECK=the check), which must outlive the
 * probe; NULL (the default) = shared with sdvisor. */
typedef struct SvLogStreams SvLogStreams;
void sv_probe_set_log_streams(SvProbe *probe, SvLogStreams *streams);

/* Starts attempting: the first attempt runs at once (from the loop), the state is
 * UNKNOWN, the counters and the start period begin anew. Starting a running probe
 * restarts it. */
void sv_probe_start(SvProbe *probe);
/* Cancels the attempt in flight (exec: checks are killed with SIGKILL to their process
 * group) and the next one; no callback comes after this. The state is kept. */
void sv_probe_stop(SvProbe *probe);

/* The app sent READY=1: satisfies `notify`. A probe that is not yet healthy attempts at
 * once rather than after the rest of its interval, so a fast READY is passed on fast. */
void sv_probe_notify_ready(SvProbe *probe);
/* The app sent WATCHDOG=1: keeps `notify` fresh in a liveness probe. */
void sv_probe_notify_watchdog(SvProbe *probe);

SvProbeState sv_probe_get_state(SvProbe *probe);
gboolean sv_probe_is_healthy(SvProbe *probe); /* state == HEALTHY */
/* Each check's result in the last finished attempt (N_OUT of them, in configuration order;
 * none before the first) and when it ended (*OUT_TIME, CLOCK_REALTIME µs; may be NULL).
 * Valid until the next attempt ends. For `sdvisor status`. */
typedef struct {
  const char *check; /* its spelling in the configuration */
  gboolean ok;
  const char *detail;
} SvProbeCheckResult;
const SvProbeCheckResult *sv_probe_get_last_results(SvProbe *probe, guint *n_out, gint64 *out_time);

/* Called after every finished attempt, before any verdict callback, with the attempt's
 * outcome and the consecutive failures counted so far (USER_DATA is the probe's). Must
 * not stop or free the probe: it is for logging a first failure before the threshold. */
typedef void (*SvProbeAttemptFunc)(SvProbe *probe, gboolean ok, const char *detail, guint failures,
                                   gpointer user_data);
void sv_probe_set_attempt_func(SvProbe *probe, SvProbeAttemptFunc func);

/* The detail of the last finished attempt, or NULL before the first. */
const char *sv_probe_last_detail(SvProbe *probe);

void sv_probe_free(SvProbe *probe); /* NULL-safe; stops first */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvProbe, sv_probe_free)
