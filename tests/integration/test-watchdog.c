/* test-watchdog.c — SIGABRT from systemd's watchdog (WatchdogSignal=) is a fast stop:
 * one entry naming the last health result, the app's process group SIGKILLed at once
 * (not after stop-timeout), on-failure and then post-stop hooks, exit 134. Without the
 * handling, sdvisor died of the SIGABRT: no hook ran and the app was left to systemd. */
#include <errno.h>
#include <glib.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define WAIT_MS (sv_test_slow() ? 60000 : 10000)

static const char config_text[] =
    "[app]\n"
    "exec=/bin/sh -c 'echo $$ > @DIR@/app.pid; trap \"\" TERM; "
    "sleep 1000 & echo $! > @DIR@/child.pid; while :; do sleep 0.1; done'\n"
    "stop-timeout=30s\n"
    "[health]\n"
    "check=file:@DIR@/healthy\n"
    "interval=100ms\n"
    "failure-threshold=1\n"
    "on-unhealthy=none\n"
    "[hook:fail]\n"
    "when=on-failure\n"
    "exec=/bin/sh -c 'echo on-failure $SDVISOR_EXIT_STATUS >> @DIR@/events'\n"
    "[hook:post]\n"
    "when=post-stop\n"
    "exec=/bin/sh -c 'echo post-stop >> @DIR@/events'\n";

static SvRun *
start_text(const char *text, gboolean watchdog)
{
  g_autofree char *config_env = g_strconcat("SVTEST_CONFIG=", text, NULL);
  const char *script = "printf '%s\\n' \"$SVTEST_CONFIG\" | sed \"s|@DIR@|$SVTEST_DIR|g\" > "
                       "\"$SVTEST_DIR/sdvisor.conf\" && : > \"$SVTEST_DIR/healthy\" "
                       "&& if [ -n \"$SVTEST_WATCHDOG\" ]; then export WATCHDOG_USEC=2000000 "
                       "WATCHDOG_PID=$$; fi && unset SVTEST_CONFIG SVTEST_WATCHDOG "
                       "&& exec $SVTEST_SDVISOR_PREFIX \"$SDVISOR_BINARY\" run --config "
                       "\"$SVTEST_DIR/sdvisor.conf\"";
  const char *argv[] = {"-c", script, NULL};
  const char *env[] = {config_env, watchdog ? "SVTEST_WATCHDOG=1" : NULL, NULL};
  SvRun *run = sv_run_start_shell(argv, env);
  g_assert_nonnull(sv_run_wait_message(run, "READY=1", WAIT_MS));
  return run;
}

static SvRun *
start(void)
{
  return start_text(config_text, TRUE);
}

static gboolean
gone(pid_t pid)
{
  gint64 deadline = sv_now_ms() + WAIT_MS;
  while (kill(pid, 0) == 0 && sv_now_ms() < deadline)
    g_usleep(20000);
  return kill(pid, 0) < 0 && errno == ESRCH;
}

static void
test_abort(void)
{
  g_autoptr(SvRun) run = start();
  g_autofree char *app = sv_run_wait_file(run, "app.pid", WAIT_MS);
  g_autofree char *child = sv_run_wait_file(run, "child.pid", WAIT_MS);
  /* Unhealthy first, so the entry has a health result to name. */
  g_autofree char *healthy = sv_run_path(run, "healthy");
  g_assert_cmpint(unlink(healthy), ==, 0);
  const char *status_line = sv_run_wait_message(run, "STATUS=unhealthy (pid", WAIT_MS);
  g_assert_nonnull(status_line);
  g_assert_nonnull(strstr(status_line, ") since "));

  gint64 t0 = sv_now_ms();
  sv_run_kill(run, SIGABRT);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 134);
  /* Fast: the app ignores SIGTERM, stop-timeout is 30 s; SIGKILL came at once. */
  g_assert_cmpint(sv_now_ms() - t0, <, sv_test_slow() ? 20000 : 5000);
  g_assert_true(gone(atoi(app)));
  g_assert_true(gone(atoi(child)));
  g_autofree char *events = sv_run_wait_file(run, "events", WAIT_MS);
  g_assert_cmpstr(events, ==, "on-failure killed\npost-stop\n");
  g_autofree char *err = sv_run_stderr(run);
  const char *entry = strstr(err, "watchdog timeout (SIGABRT");
  g_assert_nonnull(entry);
  g_assert_nonnull(strstr(entry, "last health result: unhealthy since"));
  g_assert_nonnull(strstr(entry, "No such file or directory"));
  /* One entry. */
  g_assert_null(strstr(entry + 1, "watchdog timeout (SIGABRT"));
}

/* on-unhealthy=restart without a watchdog: an app that ignores SIGTERM is killed after
 * [health] unhealthy-stop-timeout (1 s here), not after stop-timeout (30 s). */
static const char restart_text[] =
    "[app]\n"
    "exec=/bin/sh -c 'echo $$ > @DIR@/app.pid; trap \"\" TERM; while :; do sleep 0.1; done'\n"
    "stop-timeout=30s\n"
    "[health]\n"
    "check=file:@DIR@/healthy\n"
    "interval=100ms\n"
    "failure-threshold=1\n"
    "on-unhealthy=restart\n"
    "unhealthy-stop-timeout=1s\n";

static void
test_unhealthy_deadline(void)
{
  g_autoptr(SvRun) run = start_text(restart_text, FALSE);
  g_autofree char *first = sv_run_wait_file(run, "app.pid", WAIT_MS);
  g_autofree char *pidfile = sv_run_path(run, "app.pid");
  g_assert_cmpint(unlink(pidfile), ==, 0);
  g_autofree char *healthy = sv_run_path(run, "healthy");
  gint64 t0 = sv_now_ms();
  g_assert_cmpint(unlink(healthy), ==, 0);
  g_autofree char *second = sv_run_wait_file(run, "app.pid", WAIT_MS);
  g_assert_nonnull(second);
  gint64 took = sv_now_ms() - t0;
  g_test_message("unhealthy to restarted: %" G_GINT64_FORMAT " ms", took);
  g_assert_cmpstr(first, !=, second);
  g_assert_cmpint(took, >=, 1000);
  g_assert_cmpint(took, <, sv_test_slow() ? 20000 : 5000);
  g_autofree char *err = sv_run_stderr(run);
  g_assert_nonnull(strstr(err, "still running 1s after SIGTERM"));
  sv_run_kill(run, SIGINT);
  sv_run_kill(run, SIGINT); /* it ignores SIGTERM: the second stops it at once */
  (void)sv_run_wait_exit(run, WAIT_MS);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/watchdog/sigabrt-kills-the-app-and-runs-hooks", test_abort);
  g_test_add_func("/watchdog/unhealthy-stop-has-its-own-deadline", test_unhealthy_deadline);
  return g_test_run();
}
