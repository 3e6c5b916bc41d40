/* test-lifecycle.c — the supervisor's transition table (lifecycle.h). */
#include <glib.h>

#include "lifecycle.h"

typedef struct {
  SvState from, to;
} Move;

/* Every move the supervisor makes, and nothing else. */
static const Move legal[] = {
    {SV_STATE_STARTING, SV_STATE_RUNNING},    /* ready */
    {SV_STATE_STARTING, SV_STATE_FAILED},     /* exited on its own, or never ready */
    {SV_STATE_STARTING, SV_STATE_STOPPING},   /* SIGTERM */
    {SV_STATE_STARTING, SV_STATE_POST_STOP},  /* pre-start failed, cannot spawn */
    {SV_STATE_RUNNING, SV_STATE_RELOADING},   /* SIGHUP */
    {SV_STATE_RUNNING, SV_STATE_RESTARTING},  /* unhealthy, on-unhealthy=restart */
    {SV_STATE_RUNNING, SV_STATE_FAILED},      /* exited on its own */
    {SV_STATE_RUNNING, SV_STATE_STOPPING},    /* SIGTERM, on-unhealthy=stop */
    {SV_STATE_RELOADING, SV_STATE_RUNNING},   /* ready again (or its deadline) */
    {SV_STATE_RELOADING, SV_STATE_FAILED},    /* exited during the reload */
    {SV_STATE_RELOADING, SV_STATE_STOPPING},  /* SIGTERM */
    {SV_STATE_RESTARTING, SV_STATE_STARTING}, /* the old tree is gone */
    {SV_STATE_RESTARTING, SV_STATE_STOPPING}, /* SIGTERM */
    {SV_STATE_FAILED, SV_STATE_STOPPING},     /* on-failure done, the app still runs */
    {SV_STATE_FAILED, SV_STATE_POST_STOP},    /* on-failure done, the tree is gone */
    {SV_STATE_STOPPING, SV_STATE_POST_STOP},  /* the tree is gone */
    {SV_STATE_POST_STOP, SV_STATE_DONE},      /* post-stop hooks and jobs done */
};

static gboolean
is_legal(SvState from, SvState to)
{
  if (from == to)
    return TRUE;
  for (guint i = 0; i < G_N_ELEMENTS(legal); i++)
    if (legal[i].from == from && legal[i].to == to)
      return TRUE;
  return FALSE;
}

static void
test_every_legal_move(void)
{
  for (guint i = 0; i < G_N_ELEMENTS(legal); i++) {
    g_test_message("%s → %s", sv_lifecycle_state_name(legal[i].from),
                   sv_lifecycle_state_name(legal[i].to));
    g_assert_true(sv_lifecycle_can_move(legal[i].from, legal[i].to));
  }
}

/* The table and the list above agree on all 81 pairs: nothing more is allowed. */
static void
test_nothing_else(void)
{
  for (int from = 0; from < SV_N_STATES; from++)
    for (int to = 0; to < SV_N_STATES; to++)
      g_assert_cmpint(sv_lifecycle_can_move(from, to), ==, is_legal(from, to));
}

static void
test_some_illegal_moves(void)
{
  /* READY=1 only after the readiness checks; a stop never goes back; nothing after DONE. */
  g_assert_false(sv_lifecycle_can_move(SV_STATE_FAILED, SV_STATE_RUNNING));
  g_assert_false(sv_lifecycle_can_move(SV_STATE_STOPPING, SV_STATE_RUNNING));
  g_assert_false(sv_lifecycle_can_move(SV_STATE_STOPPING, SV_STATE_STARTING));
  g_assert_false(sv_lifecycle_can_move(SV_STATE_POST_STOP, SV_STATE_STOPPING));
  g_assert_false(sv_lifecycle_can_move(SV_STATE_DONE, SV_STATE_STARTING));
  g_assert_false(sv_lifecycle_can_move(SV_STATE_RUNNING, SV_STATE_DONE));
  g_assert_false(sv_lifecycle_can_move(SV_STATE_RESTARTING, SV_STATE_RUNNING));
  g_assert_false(sv_lifecycle_can_move(SV_STATE_STARTING, SV_N_STATES));
  g_assert_false(sv_lifecycle_can_move((SvState)-1, SV_STATE_RUNNING));
}

/* From STARTING every state is reachable, and every state reaches DONE. */
static void
test_reachability(void)
{
  gboolean reached[SV_N_STATES] = {[SV_STATE_STARTING] = TRUE};
  for (gboolean grew = TRUE; grew;) {
    grew = FALSE;
    for (int from = 0; from < SV_N_STATES; from++)
      for (int to = 0; to < SV_N_STATES; to++)
        if (reached[from] && !reached[to] && sv_lifecycle_can_move(from, to))
          reached[to] = grew = TRUE;
  }
  for (int s = 0; s < SV_N_STATES; s++)
    g_assert_true(reached[s]);

  gboolean ends[SV_N_STATES] = {[SV_STATE_DONE] = TRUE};
  for (gboolean grew = TRUE; grew;) {
    grew = FALSE;
    for (int from = 0; from < SV_N_STATES; from++)
      for (int to = 0; to < SV_N_STATES; to++)
        if (ends[to] && !ends[from] && sv_lifecycle_can_move(from, to))
          ends[from] = grew = TRUE;
  }
  for (int s = 0; s < SV_N_STATES; s++)
    g_assert_true(ends[s]);
}

static void
test_ending_states(void)
{
  g_assert_false(sv_lifecycle_is_ending(SV_STATE_STARTING));
  g_assert_false(sv_lifecycle_is_ending(SV_STATE_RUNNING));
  g_assert_false(sv_lifecycle_is_ending(SV_STATE_RELOADING));
  g_assert_false(sv_lifecycle_is_ending(SV_STATE_RESTARTING));
  g_assert_true(sv_lifecycle_is_ending(SV_STATE_FAILED));
  g_assert_true(sv_lifecycle_is_ending(SV_STATE_STOPPING));
  g_assert_true(sv_lifecycle_is_ending(SV_STATE_POST_STOP));
  g_assert_true(sv_lifecycle_is_ending(SV_STATE_DONE));
  for (int s = 0; s < SV_N_STATES; s++)
    g_assert_cmpstr(sv_lifecycle_state_name(s), !=, "unknown");
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/lifecycle/every-legal-move", test_every_legal_move);
  g_test_add_func("/lifecycle/nothing-else-is-allowed", test_nothing_else);
  g_test_add_func("/lifecycle/illegal-moves-refused", test_some_illegal_moves);
  g_test_add_func("/lifecycle/every-state-reachable-and-ends", test_reachability);
  g_test_add_func("/lifecycle/ending-states", test_ending_states);
  return g_test_run();
}
