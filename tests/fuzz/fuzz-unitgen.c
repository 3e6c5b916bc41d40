/* fuzz-unitgen.c — libFuzzer harness for the unit-file reader of `sdvisor check --unit`
 * (sv_unitgen_read_unit(), and sv_unitgen_check() on top of it).
 *
 * The input is the unit's text; a NUL byte ends it, as it ends the string main.c hands
 * over. Besides the sanitizers it checks the reader against what systemd does with a unit:
 *   - each timeout is absent (-1) or a span: start and stop above 0 ("0" is infinity),
 *     the watchdog 0 or more;
 *   - only [Service] counts: lines in front of the text, in [Unit], change nothing;
 *   - assignments are read in order, the last one that parses winning: a [Service] added
 *     at the end with TimeoutStopSec= sets the stop timeout alone, with TimeoutSec= both;
 *     added assignments that do not parse, keys that only start like a timeout's, and a
 *     timeout inside a continued (backslash-ended) line change nothing;
 *   - the warnings of sv_unitgen_check() follow from what was read, for a configuration
 *     with [health], hooks and [ready] and for a bare one; podman's pitfalls only where
 *     the text has a [Container] section. */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "config.h"
#include "unitgen.h"

/* systemd's DefaultTimeoutStartSec= and DefaultTimeoutStopSec= */
#define DEFAULT_TIMEOUT_USEC (90 * SV_USEC_PER_SEC)

static SvConfig *configs[2];

static SvConfig *
load(const char *text)
{
  g_autofree char *path = NULL;
  int fd = g_file_open_tmp("sdvisor-fuzz-unitgen-XXXXXX", &path, NULL);
  g_assert_cmpint(fd, >=, 0);
  close(fd);
  g_assert_true(g_file_set_contents(path, text, -1, NULL));
  g_chmod(path, 0600);
  g_autoptr(GError) error = NULL;
  SvConfig *config = sv_config_load(path, NULL, &error);
  g_assert_no_error(error);
  g_unlink(path);
  return config;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
  sv_fuzz_fatal_warnings();
  configs[0] = load("[app]\nexec=/bin/true\nstop-timeout=7s\nstop-delay=3s\n"
                    "[ready]\ncheck=tcp://127.0.0.1:1\ntimeout=40s\n"
                    "[health]\ncheck=tcp://127.0.0.1:1\ninterval=20s\ntimeout=4s\n"
                    "[hook:migrate]\nwhen=pre-start\nexec=/bin/true\ntimeout=100s\n"
                    "[hook:deregister]\nwhen=pre-stop post-stop\nexec=/bin/true\ntimeout=13s\n");
  configs[1] = load("[app]\nexec=/bin/true\n");
  return 0;
}

static void
read_unit(const char *text, SvUnitTimeouts *out)
{
  sv_unitgen_read_unit(text, out);
  if ((out->start_usec != -1 && out->start_usec <= 0) ||
      (out->stop_usec != -1 && out->stop_usec <= 0) || out->watchdog_usec < -1)
    g_error("«%s» read as start %" G_GINT64_FORMAT ", stop %" G_GINT64_FORMAT
            ", watchdog %" G_GINT64_FORMAT,
            text, out->start_usec, out->stop_usec, out->watchdog_usec);
}

static void
expect(const char *what, const char *text, const SvUnitTimeouts *got, const SvUnitTimeouts *want)
{
  if (got->start_usec != want->start_usec || got->stop_usec != want->stop_usec ||
      got->watchdog_usec != want->watchdog_usec)
    g_error("%s: «%s» read as %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT
            ", not %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT,
            what, text, got->start_usec, got->stop_usec, got->watchdog_usec, want->start_usec,
            want->stop_usec, want->watchdog_usec);
}

static void
expect_with(const char *what, const char *text, const char *suffix, const SvUnitTimeouts *want)
{
  g_autofree char *longer = g_strconcat(text, suffix, NULL);
  SvUnitTimeouts got;
  read_unit(longer, &got);
  expect(what, longer, &got, want);
}

static gboolean
has_warning(GPtrArray *warnings, const char *prefix)
{
  for (guint i = 0; i < warnings->len; i++)
    if (g_str_has_prefix(warnings->pdata[i], prefix))
      return TRUE;
  return FALSE;
}

static void
check_warnings(const SvConfig *config, const char *text, const SvUnitTimeouts *unit)
{
  SvUnitTimeouts need;
  sv_unitgen_timeouts(config, &need);
  g_autoptr(GPtrArray) warnings = sv_unitgen_check(config, text);
  g_assert_cmpuint(warnings->len, <=, 7);
  for (guint i = 0; i < warnings->len; i++)
    g_assert_true(g_utf8_validate(warnings->pdata[i], -1, NULL));

  gint64 start = unit->start_usec >= 0 ? unit->start_usec : DEFAULT_TIMEOUT_USEC;
  gint64 stop = unit->stop_usec >= 0 ? unit->stop_usec : DEFAULT_TIMEOUT_USEC;
  gboolean short_start =
      need.start_usec != G_MAXINT64 && start < need.start_usec - SV_UNIT_MARGIN_USEC;
  gboolean short_stop = need.stop_usec != G_MAXINT64 && stop < need.stop_usec - SV_UNIT_MARGIN_USEC;
  gboolean watchdog = unit->watchdog_usec > 0;
  g_assert_cmpint(has_warning(warnings, "TimeoutStartSec="), ==, short_start);
  g_assert_cmpint(has_warning(warnings, "TimeoutStopSec="), ==, short_stop);
  g_assert_cmpint(has_warning(warnings, "[health] is configured"), ==,
                  need.watchdog_usec > 0 && !watchdog);
  g_assert_cmpint(has_warning(warnings, "the unit has WatchdogSec="), ==,
                  need.watchdog_usec == 0 && watchdog);
  /* A quadlet file's podman pitfalls come on top, and only with a [Container] section. */
  static const char *const podman[] = {"[Container] has no Notify=true",
                                       "WatchdogSec= is set but WATCHDOG_USEC",
                                       "WATCHDOG_PID is passed", "podman's stop timeout"};
  guint container = 0;
  for (gsize i = 0; i < G_N_ELEMENTS(podman); i++)
    container += has_warning(warnings, podman[i]);
  if (container > 0)
    g_assert_nonnull(strstr(text, "[Container]"));
  g_assert_cmpuint(warnings->len, ==,
                   (guint)short_start + short_stop + ((need.watchdog_usec > 0) != watchdog) +
                       container);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  g_autofree char *text = g_strndup((const char *)data, size);
  SvUnitTimeouts unit;
  read_unit(text, &unit);

  /* Outside [Service]: in front of the text, where it is in [Unit]. */
  g_autofree char *prefixed = g_strconcat("[Unit]\nTimeoutStartSec=1s\nTimeoutStopSec=1s\n"
                                          "WatchdogSec=1s\nTimeoutSec=1s\n# [Service]\n",
                                          text, NULL);
  SvUnitTimeouts got;
  read_unit(prefixed, &got);
  expect("lines in [Unit] counted", prefixed, &got, &unit);

  /* An empty line ends whatever line the text ends with, continued or not. */
  SvUnitTimeouts want = unit;
  want.stop_usec = 42 * SV_USEC_PER_SEC;
  expect_with("the last TimeoutStopSec= not the one", text, "\n\n[Service]\nTimeoutStopSec=42s\n",
              &want);
  want.start_usec = want.stop_usec = 7 * SV_USEC_PER_SEC;
  expect_with("the last TimeoutSec= not the one", text, "\n\n[Service]\nTimeoutSec=7s\n", &want);
  want = unit;
  want.start_usec = G_MAXINT64;
  want.watchdog_usec = 0;
  expect_with("TimeoutStartSec=0 or WatchdogSec=0 misread", text,
              "\n\n[Service]\nTimeoutStartSec=0\nWatchdogSec=0\n", &want);
  expect_with("an assignment that does not parse counted", text,
              "\n\n[Service]\nTimeoutStartSec=soon\nTimeoutStopSec=\nWatchdogSec=-1\n"
              "TimeoutSec=-5s\n",
              &unit);
  expect_with("a key that only starts like a timeout's counted", text,
              "\n\n[Service]\nTimeoutStartSecs=1s\nTimeoutStopSec foo=1s\nxTimeoutSec=1s\n"
              "TimeoutStopSec\n",
              &unit);
  expect_with("a continued line read as an assignment", text,
              "\n\n[Service]\nExecStart=/bin/sleep \\\n  TimeoutStopSec=1s\n", &unit);

  for (gsize i = 0; i < G_N_ELEMENTS(configs); i++)
    check_warnings(configs[i], text, &unit);
  return 0;
}
