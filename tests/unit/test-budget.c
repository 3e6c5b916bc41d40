/* test-budget.c — the start and stop time budgets: every term, every sum, the hooks'
 * share, "no bound" and an empty check=. */
#include <glib.h>

#include "budget.h"
#include "config.h"
#include "load-config.h"
#include "timespan.h"

#define S   SV_USEC_PER_SEC
#define MS  G_GINT64_CONSTANT(1000)
#define INF G_MAXINT64
/* The longest span below infinity in whole days: two of them overflow. */
#define DAYS (G_GINT64_CONSTANT(106751991) * 86400 * S)

typedef struct {
  const char *name;
  const char *text; /* after "[app]\nexec=/bin/true\n" */
  const char *env[3];
  SvBudget want;
} Case;

/* Each term a different number, so that a term left out or counted twice shows. Fields:
 * pre_start, ready, pre_stop, stop_delay, stop_timeout, post_stop, start, stop,
 * after_signal, jobs_stop. */
static const Case cases[] = {
    {"defaults: no hook, no check, stop-timeout 30 s",
     "",
     {NULL},
     {0, 0, 0, 0, 30 * S, 0, 0, 30 * S, 30 * S, 30 * S}},
    {"a [ready] check: its timeout is part of the start",
     "[ready]\ncheck=notify\ntimeout=2min\n",
     {NULL},
     {0, 120 * S, 0, 0, 30 * S, 0, 120 * S, 30 * S, 30 * S, 30 * S}},
    /* No check: READY=1 follows the spawn and the [ready] timeout never runs.
     * (supervisor.c once counted it here, print-unit did not.) */
    {"an empty check= is no check: its timeout is no part of the start",
     "[ready]\ncheck=\ntimeout=5min\n",
     {NULL},
     {0, 0, 0, 0, 30 * S, 0, 0, 30 * S, 30 * S, 30 * S}},
    {"an override that clears check= is no check either",
     "[ready]\ncheck=notify\ntimeout=5min\n",
     {"SDVISOR_READY_CHECK=", NULL},
     {0, 0, 0, 0, 30 * S, 0, 0, 30 * S, 30 * S, 30 * S}},
    {"[ready] timeout without a check is no part of the start",
     "[ready]\ntimeout=5min\n",
     {NULL},
     {0, 0, 0, 0, 30 * S, 0, 0, 30 * S, 30 * S, 30 * S}},
    {"every term: hooks with their grace, stop-delay, stop-timeout",
     "stop-delay=3s\nstop-timeout=7s\n"
     "[ready]\ncheck=tcp://127.0.0.1:1\ntimeout=40s\n"
     "[hook:migrate]\nwhen=pre-start\nexec=/bin/true\ntimeout=100s\n"
     "[hook:warm]\nwhen=pre-start post-stop\nexec=/bin/true\ntimeout=11s\n"
     "[hook:deregister]\nwhen=pre-stop\nexec=/bin/true\ntimeout=13s\n"
     "[hook:quick]\nwhen=post-stop on-failure reload\nexec=/bin/true\ntimeout=300ms\n",
     {NULL},
     {102 * S + 12100 * MS, 40 * S, 14300 * MS, 3 * S, 7 * S, 12100 * MS + 400 * MS, 154100 * MS,
      14300 * MS + 10 * S + 12500 * MS, 7 * S + 12500 * MS, 10 * S}},
    {"no bound anywhere: every sum with it is unbounded",
     "stop-timeout=infinity\n"
     "[ready]\ncheck=notify\ntimeout=infinity\n"
     "[hook:wait]\nwhen=pre-stop\nexec=/bin/true\ntimeout=0\n",
     {NULL},
     {0, INF, INF, 0, INF, 0, INF, INF, INF, INF}},
    {"a pre-start hook without a timeout makes the start unbounded, not the stop",
     "[hook:wait]\nwhen=pre-start\nexec=/bin/true\ntimeout=infinity\n",
     {NULL},
     {INF, 0, 0, 0, 30 * S, 0, INF, 30 * S, 30 * S, 30 * S}},
    {"sums that would overflow saturate",
     "stop-delay=106751991days\nstop-timeout=106751991days\n",
     {NULL},
     {0, 0, 0, DAYS, DAYS, 0, 0, INF, DAYS, INF}},
};

static void
test_terms_and_sums(void)
{
  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
    const Case *c = &cases[i];
    g_test_message("%s", c->name);
    g_autofree char *text = g_strconcat("[app]\nexec=/bin/true\n", c->text, NULL);
    g_autoptr(SvConfig) config = load_config(text, (char **)c->env);
    SvBudget got;
    sv_budget_compute(config, &got);
    g_assert_cmpint(got.pre_start, ==, c->want.pre_start);
    g_assert_cmpint(got.ready, ==, c->want.ready);
    g_assert_cmpint(got.pre_stop, ==, c->want.pre_stop);
    g_assert_cmpint(got.stop_delay, ==, c->want.stop_delay);
    g_assert_cmpint(got.stop_timeout, ==, c->want.stop_timeout);
    g_assert_cmpint(got.post_stop, ==, c->want.post_stop);
    g_assert_cmpint(got.start, ==, c->want.start);
    g_assert_cmpint(got.stop, ==, c->want.stop);
    g_assert_cmpint(got.after_signal, ==, c->want.after_signal);
    g_assert_cmpint(got.jobs_stop, ==, c->want.jobs_stop);
  }
}

/* One hook: the grace after its SIGTERM is a tenth of the timeout within [100 ms, 2 s];
 * its share is timeout + grace; timeout=0 and infinity are no bound. */
static void
test_hook(void)
{
  static const struct {
    gint64 timeout, grace, share;
    gboolean bounded;
  } hooks[] = {
      {30 * S, 2 * S, 32 * S, TRUE},
      {5 * S, 500 * MS, 5500 * MS, TRUE},
      {300 * MS, 100 * MS, 400 * MS, TRUE},
      {1, 100 * MS, 100 * MS + 1, TRUE},
      {0, 2 * S, INF, FALSE},
      {INF, 2 * S, INF, FALSE},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(hooks); i++) {
    SvHookConfig hook = {
        .name = (char *)"h", .when = SV_HOOK_PRE_START, .timeout_usec = hooks[i].timeout};
    g_assert_cmpint(sv_budget_hook_has_timeout(&hook), ==, hooks[i].bounded);
    g_assert_cmpint(sv_budget_hook_grace(&hook), ==, hooks[i].grace);
    g_assert_cmpint(sv_budget_hook(&hook), ==, hooks[i].share);
  }
}

/* Hooks of one event, one after another; the others do not count. */
static void
test_hooks(void)
{
  SvHookConfig a = {.when = SV_HOOK_PRE_START | SV_HOOK_PRE_STOP, .timeout_usec = 30 * S};
  SvHookConfig b = {.when = SV_HOOK_PRE_START, .timeout_usec = 300 * MS};
  SvHookConfig c = {.when = SV_HOOK_PRE_START, .timeout_usec = 5 * S};
  SvHookConfig d = {.when = SV_HOOK_RELOAD, .timeout_usec = 0};
  SvHookConfig e = {.when = SV_HOOK_POST_STOP, .timeout_usec = INF};
  g_autoptr(GPtrArray) hooks = g_ptr_array_new();
  g_ptr_array_add(hooks, &a);
  g_ptr_array_add(hooks, &b);
  g_ptr_array_add(hooks, &c);
  g_ptr_array_add(hooks, &d);
  g_ptr_array_add(hooks, &e);
  g_assert_cmpint(sv_budget_hooks(hooks, SV_HOOK_PRE_START), ==, 37900 * MS);
  g_assert_cmpint(sv_budget_hooks(hooks, SV_HOOK_PRE_STOP), ==, 32 * S);
  g_assert_cmpint(sv_budget_hooks(hooks, SV_HOOK_RELOAD), ==, INF);
  g_assert_cmpint(sv_budget_hooks(hooks, SV_HOOK_POST_STOP), ==, INF);
  g_assert_cmpint(sv_budget_hooks(hooks, SV_HOOK_ON_FAILURE), ==, 0);
  g_assert_cmpint(sv_budget_hooks(NULL, SV_HOOK_PRE_START), ==, 0);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/budget/terms-and-sums", test_terms_and_sums);
  g_test_add_func("/budget/one-hook", test_hook);
  g_test_add_func("/budget/hooks-of-an-event", test_hooks);
  return g_test_run();
}
