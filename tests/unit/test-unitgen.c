/* test-unitgen.c — the timeouts a unit needs, and `check --unit` against them. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "config.h"
#include "load-config.h"
#include "timespan.h"
#include "unitgen.h"

#define S SV_USEC_PER_SEC

/* Every term of the sums, each a different number of seconds, so that a term left out
 * or counted twice changes the result. */
static const char full_config[] = "[app]\n"
                                  "exec=/bin/true\n"
                                  "stop-timeout=7s\n"
                                  "stop-delay=3s\n"
                                  "[ready]\n"
                                  "check=tcp://127.0.0.1:1\n"
                                  "timeout=40s\n"
                                  "[health]\n"
                                  "check=tcp://127.0.0.1:1\n"
                                  "interval=20s\n"
                                  "timeout=4s\n"
                                  "[hook:migrate]\n"
                                  "when=pre-start\n"
                                  "exec=/bin/true\n"
                                  "timeout=100s\n"
                                  "[hook:warm]\n"
                                  "when=pre-start post-stop\n"
                                  "exec=/bin/true\n"
                                  "timeout=11s\n"
                                  "[hook:deregister]\n"
                                  "when=pre-stop\n"
                                  "exec=/bin/true\n"
                                  "timeout=13s\n";

static void
test_timeouts_exact(void)
{
  g_autoptr(SvConfig) config = load_config(full_config, NULL);
  SvUnitTimeouts t;
  sv_unitgen_timeouts(config, &t);
  /* A hook's share is its timeout plus the kill grace after it (a tenth, 0.1–2 s),
   * rounded up to whole seconds with sdvisor's 10 s margin. Start: pre-start hooks
   * 100 s + 2 s and 11 s + 1.1 s, [ready] timeout 40 s: 154.1 s + 10 s. */
  g_assert_cmpint(t.start_usec, ==, 165 * S);
  /* Stop: pre-stop 13 s + 1.3 s, stop-delay 3 s, stop-timeout 7 s, post-stop 11 s + 1.1 s:
   * 36.4 s + 10 s. */
  g_assert_cmpint(t.stop_usec, ==, 47 * S);
  /* Watchdog: two check rounds of interval + timeout. */
  g_assert_cmpint(t.watchdog_usec, ==, 48 * S);
}

static void
test_timeouts_minimal(void)
{
  g_autoptr(SvConfig) config = load_config("[app]\nexec=/bin/true\n", NULL);
  SvUnitTimeouts t;
  sv_unitgen_timeouts(config, &t);
  /* No hooks and no [ready] checks: only the margin; stop-timeout's default 30 s. */
  g_assert_cmpint(t.start_usec, ==, 10 * S);
  g_assert_cmpint(t.stop_usec, ==, 40 * S);
  g_assert_cmpint(t.watchdog_usec, ==, 0);

  /* An empty check= is no check: the [ready] timeout does not apply (budget.h). */
  g_autoptr(SvConfig) unchecked =
      load_config("[app]\nexec=/bin/true\n[ready]\ncheck=\ntimeout=5min\n", NULL);
  sv_unitgen_timeouts(unchecked, &t);
  g_assert_cmpint(t.start_usec, ==, 10 * S);

  g_autoptr(SvConfig) endless = load_config("[app]\nexec=/bin/true\nstop-timeout=infinity\n", NULL);
  sv_unitgen_timeouts(endless, &t);
  g_assert_cmpint(t.stop_usec, ==, G_MAXINT64);
}

static guint
count_matching(GPtrArray *warnings, const char *needle)
{
  guint n = 0;
  for (guint i = 0; i < warnings->len; i++)
    n += strstr(warnings->pdata[i], needle) != NULL;
  return n;
}

static GPtrArray *
check_unit(const SvConfig *config, const char *service_lines)
{
  g_autofree char *unit = g_strdup_printf("[Unit]\nDescription=x\n\n[Service]\n%s", service_lines);
  return sv_unitgen_check(config, unit);
}

/* The floor is what the configuration waits for, without the margin: one second under
 * it warns, the floor itself does not. */
static void
test_check_at_the_floor(void)
{
  g_autoptr(SvConfig) config = load_config(full_config, NULL);
  g_autoptr(GPtrArray) at =
      check_unit(config, "TimeoutStartSec=155s\nTimeoutStopSec=37s\nWatchdogSec=48s\n");
  g_assert_cmpuint(at->len, ==, 0);

  g_autoptr(GPtrArray) start = check_unit(config, "TimeoutStartSec=154s\nTimeoutStopSec=37s\n"
                                                  "WatchdogSec=48s\n");
  g_assert_cmpuint(start->len, ==, 1);
  g_assert_cmpuint(count_matching(start, "TimeoutStartSec=2min 34s"), ==, 1);
  g_assert_cmpuint(count_matching(start, "use TimeoutStartSec=2min 45s"), ==, 1);

  g_autoptr(GPtrArray) stop = check_unit(config, "TimeoutStartSec=155s\nTimeoutStopSec=36s\n"
                                                 "WatchdogSec=48s\n");
  g_assert_cmpuint(stop->len, ==, 1);
  g_assert_cmpuint(count_matching(stop, "TimeoutStopSec=36s is shorter"), ==, 1);
  g_assert_cmpuint(count_matching(stop, "use TimeoutStopSec=47s"), ==, 1);
}

/* TimeoutSec= sets both; whichever assignment comes last is the one systemd uses. */
static void
test_check_timeoutsec_order(void)
{
  g_autoptr(SvConfig) config = load_config(full_config, NULL);
  g_autoptr(GPtrArray) late_short =
      check_unit(config, "TimeoutStartSec=200s\nTimeoutStopSec=60s\nTimeoutSec=5s\n"
                         "WatchdogSec=48s\n");
  g_assert_cmpuint(count_matching(late_short, "TimeoutStartSec=5s"), ==, 1);
  g_assert_cmpuint(count_matching(late_short, "TimeoutStopSec=5s"), ==, 1);

  g_autoptr(GPtrArray) early_short =
      check_unit(config, "TimeoutSec=5s\nTimeoutStartSec=200s\nTimeoutStopSec=60s\n"
                         "WatchdogSec=48s\n");
  g_assert_cmpuint(early_short->len, ==, 0);

  /* Neither set: systemd's default of 90 s, named as such. */
  g_autoptr(GPtrArray) defaults = check_unit(config, "WatchdogSec=48s\n");
  g_assert_cmpuint(count_matching(defaults, "TimeoutStartSec=1min 30s (systemd's default)"), ==, 1);
  g_assert_cmpuint(defaults->len, ==, 1);
}

static void
test_check_watchdog(void)
{
  g_autoptr(SvConfig) health = load_config(full_config, NULL);
  g_autoptr(GPtrArray) missing = check_unit(health, "TimeoutStartSec=3min\nTimeoutStopSec=1min\n");
  g_assert_cmpuint(missing->len, ==, 1);
  g_assert_cmpuint(count_matching(missing, "no WatchdogSec=: "), ==, 1);
  g_assert_cmpuint(count_matching(missing, "WatchdogSec=48s"), ==, 1);

  g_autoptr(SvConfig) plain = load_config("[app]\nexec=/bin/true\n", NULL);
  g_autoptr(GPtrArray) extra = check_unit(plain, "WatchdogSec=30s\n");
  g_assert_cmpuint(extra->len, ==, 1);
  g_assert_cmpuint(count_matching(extra, "has WatchdogSec= but the configuration has no [health]"),
                   ==, 1);
  g_autoptr(GPtrArray) none = check_unit(plain, "");
  g_assert_cmpuint(none->len, ==, 0);
}

/* What print-unit writes passes its own check, and has WatchdogSec= only with [health]. */
static void
test_generated_units_agree(void)
{
  g_autoptr(SvConfig) health = load_config(full_config, NULL);
  g_autofree char *unit = sv_unitgen_service(health, "/usr/bin/sdvisor", "/etc/sdvisor/a.conf");
  g_assert_nonnull(strstr(unit, "\nTimeoutStartSec=2min 45s\n"));
  g_assert_nonnull(strstr(unit, "\nTimeoutStopSec=47s\n"));
  g_assert_nonnull(strstr(unit, "\nWatchdogSec=48s\n"));
  g_autoptr(GPtrArray) w = sv_unitgen_check(health, unit);
  g_assert_cmpuint(w->len, ==, 0);
  g_autofree char *quadlet = sv_unitgen_quadlet(health, "registry.example/a:1", "/etc/a.conf");
  g_autoptr(GPtrArray) wq = sv_unitgen_check(health, quadlet);
  g_assert_cmpuint(wq->len, ==, 0);

  g_autoptr(SvConfig) plain = load_config("[app]\nexec=/bin/true\n", NULL);
  g_autofree char *plain_unit = sv_unitgen_service(plain, "/usr/bin/sdvisor", "/etc/a.conf");
  g_assert_null(strstr(plain_unit, "WatchdogSec="));
  /* The app's own state directory, never the shared root systemd would re-own. */
  g_autofree char *state_line = g_strdup_printf("\nStateDirectory=sdvisor/%s\n", plain->app.name);
  g_assert_nonnull(strstr(plain_unit, state_line));
  g_assert_null(strstr(plain_unit, "\nStateDirectory=sdvisor\n"));
  g_autoptr(GPtrArray) wp = sv_unitgen_check(plain, plain_unit);
  g_assert_cmpuint(wp->len, ==, 0);
}

/* listen=: print-unit makes room for the sockets in the fd store, and check --unit says
 * when a unit has none. */
static void
test_listen_fd_store(void)
{
  g_autoptr(SvConfig) config =
      load_config("[app]\nexec=/bin/true\nlisten=127.0.0.1:8000 unix:/run/a/http.sock\n", NULL);
  g_autofree char *unit = sv_unitgen_service(config, "/usr/bin/sdvisor", "/etc/sdvisor/a.conf");
  g_assert_nonnull(strstr(unit, "\nFileDescriptorStoreMax=2\n"));
  g_autoptr(GPtrArray) none = sv_unitgen_check(config, unit);
  g_assert_cmpuint(none->len, ==, 0);

  g_autoptr(SvConfig) plain = load_config("[app]\nexec=/bin/true\n", NULL);
  g_autofree char *plain_unit = sv_unitgen_service(plain, "/usr/bin/sdvisor", "/etc/a.conf");
  g_assert_null(strstr(plain_unit, "FileDescriptorStoreMax="));
  g_autoptr(GPtrArray) w = sv_unitgen_check(config, plain_unit);
  g_assert_cmpuint(w->len, ==, 1);
  g_assert_cmpstr(w->pdata[0], ==,
                  "[app] listen= has 2 addresses but FileDescriptorStoreMax= is 0: a restart of "
                  "sdvisor closes the ports (use FileDescriptorStoreMax=2)");
  /* A quadlet has no store to ask for (conmon relays no FDSTORE=1). */
  g_autofree char *quadlet = sv_unitgen_quadlet(config, "registry.example/a:1", "/etc/a.conf");
  g_autoptr(GPtrArray) wq = sv_unitgen_check(config, quadlet);
  g_assert_cmpuint(wq->len, ==, 0);
}

static void
read_unit(const char *text, gint64 start, gint64 stop, gint64 watchdog)
{
  SvUnitTimeouts t;
  sv_unitgen_read_unit(text, &t);
  g_assert_cmpint(t.start_usec, ==, start);
  g_assert_cmpint(t.stop_usec, ==, stop);
  g_assert_cmpint(t.watchdog_usec, ==, watchdog);
}

/* -1: left to systemd. "0" is infinity for start and stop, none for the watchdog. */
static void
test_read_absent_zero_infinity(void)
{
  read_unit("", -1, -1, -1);
  read_unit("[Unit]\nTimeoutStartSec=5s\n[Install]\nTimeoutSec=5s\nWatchdogSec=5s\n", -1, -1, -1);
  read_unit("[Service]\nTimeoutStartSec=0\nTimeoutStopSec=infinity\nWatchdogSec=0\n", G_MAXINT64,
            G_MAXINT64, 0);
  read_unit("[Service]\r\nTimeoutStopSec = 2min\r\n", -1, 120 * S, -1);
}

/* Found by tests/fuzz/fuzz-unitgen.c: a key was taken for a timeout's when it only started
 * like one and a space followed ("TimeoutStopSec foo=1s"). systemd's key is everything
 * before the '=', and it ignores one it does not know. */
static void
test_read_whole_key(void)
{
  read_unit("[Service]\nTimeoutStopSec foo=1s\nTimeoutStartSecs=1s\nxTimeoutSec=1s\n"
            "WatchdogSec 2=1s\n",
            -1, -1, -1);
}

/* systemd ignores an assignment that does not parse and keeps the one before; the reader
 * took it as "unset", and check --unit then compared systemd's default of 90 s. (A
 * property tests/fuzz/fuzz-unitgen.c checks.) */
static void
test_read_unparsable_ignored(void)
{
  read_unit("[Service]\nTimeoutStartSec=3min\nTimeoutStartSec=soon\nTimeoutSec=\n"
            "TimeoutStopSec=1min\nTimeoutStopSec=-5s\nWatchdogSec=48s\nWatchdogSec=often\n",
            180 * S, 60 * S, 48 * S);
  g_autoptr(SvConfig) config = load_config(full_config, NULL);
  g_autoptr(GPtrArray) w = check_unit(config, "TimeoutStartSec=3min\nTimeoutStartSec=soon\n"
                                              "TimeoutStopSec=1min\nWatchdogSec=48s\n");
  g_assert_cmpuint(w->len, ==, 0);
}

/* A line ending in a backslash goes on in the next one (comment lines in between are
 * skipped): what stands there is part of the command line, not an assignment; the reader
 * took "  TimeoutStopSec=1s" under an ExecStart= for the unit's stop timeout. (A property
 * tests/fuzz/fuzz-unitgen.c checks.) */
static void
test_read_continued_lines(void)
{
  read_unit("[Service]\n"
            "ExecStart=/usr/bin/python3 -m uvicorn app:app \\\n"
            "  TimeoutStopSec=1s\n"
            "TimeoutStartSec=1min \\\n"
            "# a comment between the two halves\n"
            "  30s\n"
            "ExecStop=/bin/echo \\\\\n"
            "TimeoutStopSec=2min\n"
            "WatchdogSec=10s \\",
            90 * S, 120 * S, 10 * S);
}

/* What `systemctl cat sdvisor@shop.service` prints: the template, then each drop-in after
 * a "# PATH" line, each with its own [Service]. The drop-in's assignments come last and
 * win, as they do in systemd. */
static void
test_read_systemctl_cat(void)
{
  static const char cat[] = "# /usr/lib/systemd/system/sdvisor@.service\n"
                            "[Unit]\nDescription=sdvisor: %i\n\n"
                            "[Service]\nType=notify\nTimeoutStopSec=90s\n\n"
                            "[Install]\nWantedBy=multi-user.target\n\n"
                            "# /etc/systemd/system/sdvisor@shop.service.d/override.conf\n"
                            "[Service]\nTimeoutStartSec=7min\nWatchdogSec=40s\n\n"
                            "# /etc/systemd/system/sdvisor@.service.d/stop.conf\n"
                            "[Service]\nTimeoutStopSec=3min\n";
  read_unit(cat, 7 * 60 * S, 3 * 60 * S, 40 * S);
  /* Without the drop-ins, the template's 90 s stop and no watchdog warn. */
  g_autoptr(SvConfig) config = load_config("[app]\nexec=/bin/true\nstop-timeout=100s\n"
                                           "[health]\ncheck=tcp://127.0.0.1:1\n",
                                           NULL);
  g_autoptr(GPtrArray) whole = sv_unitgen_check(config, cat);
  g_assert_cmpuint(whole->len, ==, 0);
  g_autofree char *template_only = g_strndup(cat, strstr(cat, "# /etc/") - cat);
  g_autoptr(GPtrArray) bare = sv_unitgen_check(config, template_only);
  g_assert_cmpuint(bare->len, ==, 2);
}

static gboolean
has_warning(GPtrArray *warnings, const char *needle)
{
  for (guint i = 0; i < warnings->len; i++)
    if (strstr(warnings->pdata[i], needle) != NULL)
      return TRUE;
  return FALSE;
}

/* The podman pitfalls of docs/containers.md in a quadlet file: no Notify=true, a watchdog
 * without WATCHDOG_USEC passed in (or WATCHDOG_PID passed along), podman's stop timeout
 * (10 s unless set) shorter than sdvisor's stop. print-quadlet's own file has none. */
static void
test_check_container_pitfalls(void)
{
  g_autoptr(SvConfig) config =
      load_config("[app]\nexec=/bin/true\nstop-timeout=30s\nstop-delay=5s\n"
                  "[health]\ncheck=tcp://127.0.0.1:1\n",
                  NULL);
  g_autofree char *generated = sv_unitgen_quadlet(config, "img", "/etc/sdvisor/x.conf");
  g_autoptr(GPtrArray) none = sv_unitgen_check(config, generated);
  g_assert_cmpuint(none->len, ==, 0);

  static const char service[] = "[Service]\nTimeoutStartSec=2min\nTimeoutStopSec=2min\n"
                                "WatchdogSec=30s\n";
  g_autofree char *bare = g_strconcat("[Container]\nImage=img\n", service, NULL);
  g_autoptr(GPtrArray) w = sv_unitgen_check(config, bare);
  g_assert_cmpuint(w->len, ==, 3);
  g_assert_true(has_warning(w, "Notify=true"));
  g_assert_true(has_warning(w, "PodmanArgs=--env=WATCHDOG_USEC"));
  g_assert_true(has_warning(w, "10s (podman's default) is shorter"));

  /* Every spelling podman takes; the stop timeout at the floor (35 s) is enough. */
  static const char *const fine[] = {
      "Notify=true\nPodmanArgs=--env=WATCHDOG_USEC --stop-timeout=35\n",
      "Notify=yes\nPodmanArgs=-e WATCHDOG_USEC\nPodmanArgs=--stop-timeout 40\n",
      "Notify=healthy\nPodmanArgs=--env WATCHDOG_USEC\nStopTimeout=60\n",
  };
  for (gsize i = 0; i < G_N_ELEMENTS(fine); i++) {
    g_autofree char *text = g_strconcat("[Container]\nImage=img\n", fine[i], service, NULL);
    g_autoptr(GPtrArray) ok = sv_unitgen_check(config, text);
    g_assert_cmpuint(ok->len, ==, 0);
  }
  g_autofree char *short_stop =
      g_strconcat("[Container]\nNotify=true\nPodmanArgs=--env=WATCHDOG_USEC --env=WATCHDOG_PID\n"
                  "PodmanArgs=--stop-timeout=34\n# PodmanArgs=--stop-timeout=99\n",
                  service, NULL);
  g_autoptr(GPtrArray) s = sv_unitgen_check(config, short_stop);
  g_assert_cmpuint(s->len, ==, 2);
  g_assert_true(has_warning(s, "WATCHDOG_PID"));
  g_assert_true(has_warning(s, "34s is shorter"));
  /* Not a quadlet file: none of this applies. */
  g_autoptr(GPtrArray) plain = check_unit(config, "TimeoutStopSec=2min\nWatchdogSec=30s\n");
  g_assert_cmpuint(plain->len, ==, 0);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/unitgen/timeouts/every-term-counted", test_timeouts_exact);
  g_test_add_func("/unitgen/timeouts/minimal-and-infinite", test_timeouts_minimal);
  g_test_add_func("/unitgen/check/one-second-under-the-floor-warns", test_check_at_the_floor);
  g_test_add_func("/unitgen/check/timeoutsec-last-assignment-wins", test_check_timeoutsec_order);
  g_test_add_func("/unitgen/check/watchdog-with-and-without-health", test_check_watchdog);
  g_test_add_func("/unitgen/generate/passes-its-own-check", test_generated_units_agree);
  g_test_add_func("/unitgen/generate/listen-has-room-in-the-fd-store", test_listen_fd_store);
  g_test_add_func("/unitgen/read/absent-zero-and-infinity", test_read_absent_zero_infinity);
  g_test_add_func("/unitgen/read/the-key-is-the-whole-word", test_read_whole_key);
  g_test_add_func("/unitgen/read/value-that-does-not-parse-is-ignored",
                  test_read_unparsable_ignored);
  g_test_add_func("/unitgen/read/continued-lines-are-one", test_read_continued_lines);
  g_test_add_func("/unitgen/read/systemctl-cat-drop-ins-win", test_read_systemctl_cat);
  g_test_add_func("/unitgen/check/container-pitfalls", test_check_container_pitfalls);
  return g_test_run();
}
