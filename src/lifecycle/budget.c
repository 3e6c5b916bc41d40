/* budget.c — how long a start and a stop may take, from the configuration. */
#include "budget.h"

#include "timespan.h"

#define SV_HOOK_GRACE_MIN_USEC (100 * G_GINT64_CONSTANT(1000))
#define SV_HOOK_GRACE_MAX_USEC (2 * SV_USEC_PER_SEC)

gboolean
sv_budget_hook_has_timeout(const SvHookConfig *hook)
{
  g_return_val_if_fail(hook != NULL, FALSE);
  return hook->timeout_usec > 0 && hook->timeout_usec != G_MAXINT64;
}

/* A tenth of the timeout gives a short hook a proportionate chance to clean up; the
 * bounds keep it long enough for a shell to run a trap, and short enough that a stuck
 * hook does not hold up a stop by much. */
gint64
sv_budget_hook_grace(const SvHookConfig *hook)
{
  g_return_val_if_fail(hook != NULL, SV_HOOK_GRACE_MAX_USEC);
  if (!sv_budget_hook_has_timeout(hook))
    return SV_HOOK_GRACE_MAX_USEC;
  return CLAMP(hook->timeout_usec / 10, SV_HOOK_GRACE_MIN_USEC, SV_HOOK_GRACE_MAX_USEC);
}

gint64
sv_budget_hook(const SvHookConfig *hook)
{
  g_return_val_if_fail(hook != NULL, 0);
  if (!sv_budget_hook_has_timeout(hook))
    return G_MAXINT64;
  return sv_timespan_add(hook->timeout_usec, sv_budget_hook_grace(hook));
}

gint64
sv_budget_hooks(GPtrArray *hooks, SvHookEvent event)
{
  gint64 total = 0;
  for (guint i = 0; hooks != NULL && i < hooks->len; i++) {
    const SvHookConfig *hook = hooks->pdata[i];
    if (hook->when & event)
      total = sv_timespan_add(total, sv_budget_hook(hook));
  }
  return total;
}

void
sv_budget_compute(const SvConfig *config, SvBudget *out)
{
  g_return_if_fail(config != NULL && out != NULL);

  out->pre_start = sv_budget_hooks(config->hooks, SV_HOOK_PRE_START);
  /* An empty check= is no check (an override clears the file's checks with it): the app
   * is ready once spawned and the [ready] timeout never runs, so it is no part of the
   * start. */
  gboolean has_ready = config->ready.checks != NULL && config->ready.checks->len > 0;
  out->ready = has_ready ? config->ready.timeout_usec : 0;
  out->pre_stop = sv_budget_hooks(config->hooks, SV_HOOK_PRE_STOP);
  out->stop_delay = config->app.stop_delay_usec;
  out->stop_timeout = config->app.stop_timeout_usec;
  out->post_stop = sv_budget_hooks(config->hooks, SV_HOOK_POST_STOP);

  out->start = sv_timespan_add(out->pre_start, out->ready);
  out->after_signal = sv_timespan_add(out->stop_timeout, out->post_stop);
  out->jobs_stop = sv_timespan_add(out->stop_delay, out->stop_timeout);
  out->stop = sv_timespan_add(sv_timespan_add(out->pre_stop, out->jobs_stop), out->post_stop);
}
