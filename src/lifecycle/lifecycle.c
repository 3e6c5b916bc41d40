/* lifecycle.c — the transition table of lifecycle.h. */
#include "lifecycle.h"

#define BIT(s) (1u << (s))

/* For each state, the states it may move to. */
static const guint allowed[SV_N_STATES] = {
    [SV_STATE_STARTING] = BIT(SV_STATE_RUNNING) | BIT(SV_STATE_FAILED) | BIT(SV_STATE_STOPPING) |
                          BIT(SV_STATE_POST_STOP),
    [SV_STATE_RUNNING] = BIT(SV_STATE_RELOADING) | BIT(SV_STATE_RESTARTING) | BIT(SV_STATE_FAILED) |
                         BIT(SV_STATE_STOPPING),
    [SV_STATE_RELOADING] = BIT(SV_STATE_RUNNING) | BIT(SV_STATE_FAILED) | BIT(SV_STATE_STOPPING),
    [SV_STATE_RESTARTING] = BIT(SV_STATE_STARTING) | BIT(SV_STATE_STOPPING),
    [SV_STATE_FAILED] = BIT(SV_STATE_STOPPING) | BIT(SV_STATE_POST_STOP),
    [SV_STATE_STOPPING] = BIT(SV_STATE_POST_STOP),
    [SV_STATE_POST_STOP] = BIT(SV_STATE_DONE),
    [SV_STATE_DONE] = 0,
};

gboolean
sv_lifecycle_can_move(SvState from, SvState to)
{
  if ((guint)from >= SV_N_STATES || (guint)to >= SV_N_STATES)
    return FALSE;
  return from == to || (allowed[from] & BIT(to)) != 0;
}

const char *
sv_lifecycle_state_name(SvState state)
{
  static const char *const names[SV_N_STATES] = {
      [SV_STATE_STARTING] = "starting",   [SV_STATE_RUNNING] = "running",
      [SV_STATE_RELOADING] = "reloading", [SV_STATE_RESTARTING] = "restarting",
      [SV_STATE_FAILED] = "failed",       [SV_STATE_STOPPING] = "stopping",
      [SV_STATE_POST_STOP] = "post-stop", [SV_STATE_DONE] = "stopped",
  };
  return (guint)state < SV_N_STATES ? names[state] : "unknown";
}

gboolean
sv_lifecycle_is_ending(SvState state)
{
  return state == SV_STATE_FAILED || state == SV_STATE_STOPPING || state == SV_STATE_POST_STOP ||
         state == SV_STATE_DONE;
}
