/* test-timespan.c — systemd time span grammar. */
#include <glib.h>
#include <string.h>

#include "timespan.h"

static const struct {
  const char *text;
  gint64 usec;
} valid[] = {
    {"0", 0},
    {"30", 30 * SV_USEC_PER_SEC}, /* bare number = seconds, as in systemd */
    {"30s", 30 * SV_USEC_PER_SEC},
    {"500ms", 500000},
    {"5min", 300 * SV_USEC_PER_SEC},
    {"1h 30min", 5400 * SV_USEC_PER_SEC},
    {"1h30min", 5400 * SV_USEC_PER_SEC},
    {"2 hours", 7200 * SV_USEC_PER_SEC},
    {"1.5s", 1500000},
    {".5s", 500000},
    {"10us", 10},
    {"10usec", 10},
    {"3d", 3 * 86400 * SV_USEC_PER_SEC},
    {"1w", 7 * 86400 * SV_USEC_PER_SEC},
    {"  45 sec  ", 45 * SV_USEC_PER_SEC},
    {"1m", 60 * SV_USEC_PER_SEC},
    {"1M", (gint64)(30.44 * 86400) * SV_USEC_PER_SEC},
    {"infinity", G_MAXINT64},
};

static void
test_valid(void)
{
  for (gsize i = 0; i < G_N_ELEMENTS(valid); i++) {
    g_autoptr(GError) error = NULL;
    gint64 usec = -1;
    g_assert_true(sv_timespan_parse(valid[i].text, &usec, &error));
    g_assert_no_error(error);
    g_assert_cmpint(usec, ==, valid[i].usec);
  }
}

static void
test_invalid(void)
{
  const char *bad[] = {"",
                       "   ",
                       "s",
                       "30x",
                       "-5s",
                       "1.2.3s",
                       "5 min x",
                       "abc",
                       "1e3",
                       "5min-",
                       "99999999999999999999s",
                       "1000000000000000000"};
  for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
    g_autoptr(GError) error = NULL;
    gint64 usec = 42;
    g_assert_false(sv_timespan_parse(bad[i], &usec, &error));
    g_assert_nonnull(error);
    g_assert_true(error->domain == SV_TIMESPAN_ERROR);
    g_assert_cmpint(usec, ==, 42); /* untouched on failure */
  }
}

static void
test_message_names_value(void)
{
  g_autoptr(GError) error = NULL;
  gint64 usec;
  g_assert_false(sv_timespan_parse("30x", &usec, &error));
  g_assert_nonnull(strstr(error->message, "'30x'"));
  g_assert_nonnull(strstr(error->message, "30s"));
}

static void
test_format(void)
{
  const struct {
    gint64 usec;
    const char *text;
  } cases[] = {
      {0, "0"},
      {500000, "500ms"},
      {30 * SV_USEC_PER_SEC, "30s"},
      {90 * SV_USEC_PER_SEC, "1min 30s"},
      {5400 * SV_USEC_PER_SEC, "1h 30min"},
      {G_MAXINT64, "infinity"},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autofree char *text = sv_timespan_format(cases[i].usec);
    g_assert_cmpstr(text, ==, cases[i].text);
    /* What format prints, parse reads back. */
    gint64 back;
    g_assert_true(sv_timespan_parse(text, &back, NULL));
    g_assert_cmpint(back, ==, cases[i].usec);
  }
}

/* The one saturating add: infinity absorbs, overflow stops at the bounds. */
static void
test_add(void)
{
  const struct {
    gint64 a, b, sum;
  } cases[] = {
      {0, 0, 0},
      {1, 2, 3},
      {30 * SV_USEC_PER_SEC, -SV_USEC_PER_SEC, 29 * SV_USEC_PER_SEC},
      {G_MAXINT64, 1, G_MAXINT64},
      {1, G_MAXINT64, G_MAXINT64},
      {G_MAXINT64, -5, G_MAXINT64}, /* infinity less anything is still infinity */
      {G_MAXINT64 - 1, 1, G_MAXINT64},
      {G_MAXINT64 - 1, 2, G_MAXINT64},
      {G_MAXINT64 / 2 + 1, G_MAXINT64 / 2 + 1, G_MAXINT64},
      {G_MININT64 + 1, -2, G_MININT64},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++)
    g_assert_cmpint(sv_timespan_add(cases[i].a, cases[i].b), ==, cases[i].sum);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/timespan/valid-forms", test_valid);
  g_test_add_func("/timespan/invalid-forms-leave-output-untouched", test_invalid);
  g_test_add_func("/timespan/message-names-value-and-example", test_message_names_value);
  g_test_add_func("/timespan/format-round-trips", test_format);
  g_test_add_func("/timespan/add-saturates", test_add);
  return g_test_run();
}
