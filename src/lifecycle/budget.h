/* budget.h — how long a start and a stop may take, from the configuration.
 *
 * Pure: configuration in, microseconds out. One computation for both readers:
 * supervisor.c asks systemd for that much more time (EXTEND_TIMEOUT_USEC) as each phase
 * begins, and unitgen.c writes TimeoutStartSec=/TimeoutStopSec= (and `check --unit`
 * compares a unit with them), so the two cannot disagree. G_MAXINT64 is "no bound"
 * throughout, and every sum saturates there (sv_timespan_add). */
#pragma once
#include <glib.h>

#include "config.h"

typedef struct {
  /* The terms. */
  gint64 pre_start;    /* every pre-start hook at its longest (sv_budget_hook) */
  gint64 ready;        /* [ready] timeout; 0 without a check: READY=1 follows the spawn */
  gint64 pre_stop;     /* every pre-stop hook at its longest */
  gint64 stop_delay;   /* [app] stop-delay */
  gint64 stop_timeout; /* [app] stop-timeout */
  gint64 post_stop;    /* every post-stop hook at its longest */

  /* The sums their readers need. */
  gint64 start;        /* pre_start + ready: TimeoutStartSec, and the extension at start */
  gint64 stop;         /* pre_stop + stop_delay + stop_timeout + post_stop: TimeoutStopSec,
                        * and the extension at STOPPING=1 */
  gint64 after_signal; /* stop_timeout + post_stop: the extension as the stop signal goes out */
  gint64 jobs_stop;    /* stop_delay + stop_timeout: what running jobs get at a stop */
} SvBudget;

void sv_budget_compute(const SvConfig *config, SvBudget *out);

/* Whether HOOK is bounded: timeout=0 means "no timeout", as TimeoutSec=0 does in
 * systemd, and so does infinity. */
gboolean sv_budget_hook_has_timeout(const SvHookConfig *hook);

/* How long HOOK gets after its SIGTERM at the timeout before SIGKILL: a tenth of the
 * timeout within [100 ms, 2 s]; 2 s for a hook without a timeout (cancelled at a stop). */
gint64 sv_budget_hook_grace(const SvHookConfig *hook);

/* The longest one hook can take: its timeout plus the grace; G_MAXINT64 without a
 * timeout (timeout=0 or infinity). */
gint64 sv_budget_hook(const SvHookConfig *hook);

/* The longest all hooks of EVENT in HOOKS (SvHookConfig*, NULL = none) can take one after
 * another: G_MAXINT64 if one has no timeout, 0 if none runs. */
gint64 sv_budget_hooks(GPtrArray *hooks, SvHookEvent event);
