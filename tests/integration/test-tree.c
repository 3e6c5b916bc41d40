/* test-tree.c — a stop covers the app's whole process tree (issue 18), through the built
 * binary: real uvicorn and gunicorn behind a wrapper shell, grandchildren that need time,
 * ignore SIGTERM or left the process group, and hooks and jobs with stubborn children.
 *
 * Each test runs in the mechanism this machine gives a plain process (the subreaper's
 * view); the cgroup mechanism is tested with real systemd (tests/system). */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>

#include "harness.h"

#define WAIT_MS (sv_test_slow() ? 60000 : 15000)

static pid_t
wait_pid_file(SvRun *run, const char *name)
{
  g_autofree char *text = sv_run_wait_file(run, name, WAIT_MS);
  g_assert_nonnull(text);
  return (pid_t)atoi(text);
}

/* `sdvisor run -- tree-app.sh` with TREE_MODE=MODE and ENV. */
static SvRun *
start_tree_app(const char *mode, const char *const *extra)
{
  g_autofree char *app = sv_test_app("tree-app.sh");
  g_autofree char *mode_env = g_strconcat("TREE_MODE=", mode, NULL);
  g_autoptr(GPtrArray) env = g_ptr_array_new();
  g_ptr_array_add(env, mode_env);
  for (const char *const *e = extra; e && *e; e++)
    g_ptr_array_add(env, (gpointer)*e);
  g_ptr_array_add(env, NULL);
  const char *argv[] = {"run", "--", app, NULL};
  return sv_run_start(argv, (const char *const *)env->pdata);
}

/* ---- real servers behind `sh -c '…; echo after'` ------------------------------------- */

static void
request_in_flight_at_stop(const char *server_command)
{
  if (!g_file_test("/usr/bin/curl", G_FILE_TEST_IS_EXECUTABLE)) {
    g_test_skip("no curl");
    return;
  }
  int port = sv_free_port();
  g_autofree char *apps = g_test_build_filename(G_TEST_DIST, "apps", NULL);
  g_autoptr(GString) command = g_string_new(server_command);
  g_autofree char *port_text = g_strdup_printf("%d", port);
  g_string_replace(command, "@PORT@", port_text, 0);
  g_autofree char *shell = g_strdup_printf("cd '%s' && %s; echo after", apps, command->str);
  /* Ready when a worker answers: gunicorn listens before its workers have booted, and a
   * request still in the listen queue at SIGTERM is refused by design. */
  g_autofree char *check = g_strdup_printf("SDVISOR_READY_CHECK=http://127.0.0.1:%d/health", port);
  const char *env[] = {check, "SDVISOR_READY_TIMEOUT=30s", NULL};
  const char *argv[] = {"run", "--", "/bin/sh", "-c", shell, NULL};
  g_autoptr(SvRun) run = sv_run_start(argv, env);
  g_assert_nonnull(sv_run_wait_message(run, "READY=1", 2 * WAIT_MS));

  g_autofree char *url = g_strdup_printf("http://127.0.0.1:%d/slow?seconds=3", port);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) curl =
      g_subprocess_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, "curl", "-s", "-o", "/dev/null",
                       "-w", "%{http_code}", "--max-time", "30", url, NULL);
  g_assert_no_error(error);
  /* The request is in flight (its handler sleeps 3 s) when sdvisor gets SIGTERM. */
  g_usleep(800 * 1000);
  gint64 t0 = sv_now_ms();
  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, 2 * WAIT_MS), ==, 0);
  g_test_message("sdvisor exited %" G_GINT64_FORMAT " ms after SIGTERM", sv_now_ms() - t0);

  g_autofree char *code = NULL;
  g_assert_true(g_subprocess_communicate_utf8(curl, NULL, NULL, &code, NULL, &error));
  g_assert_no_error(error);
  g_assert_cmpstr(code, ==, "200");
  /* The server drained before sdvisor said it had stopped. */
  g_assert_cmpint(sv_now_ms() - t0, >=, 1500);
}

static void
test_uvicorn_behind_wrapper(void)
{
  request_in_flight_at_stop(
      "/usr/bin/python3 -m uvicorn app_fastapi:app --host 127.0.0.1 --port @PORT@");
}

static void
test_gunicorn_behind_wrapper(void)
{
  request_in_flight_at_stop(
      "/usr/bin/python3 -m gunicorn -c gunicorn.conf.py --bind 127.0.0.1:@PORT@ app_flask:app");
}

/* ---- grandchildren ------------------------------------------------------------------------ */

static void
test_grandchild_cleanup_finishes(void)
{
  g_autoptr(SvRun) run = start_tree_app("cleanup", NULL);
  g_assert_nonnull(sv_run_wait_message(run, "READY=1", WAIT_MS));
  pid_t gc = wait_pid_file(run, "gc.pid");
  g_autofree char *app_pid = sv_run_wait_file(run, "app.pid", WAIT_MS);
  g_assert_nonnull(app_pid);
  sv_run_kill(run, SIGTERM);
  /* The wrapper shell dies of SIGTERM at once; the exit status is still its own. */
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
  g_autofree char *cleanup = sv_run_path(run, "gc.cleanup");
  g_assert_true(g_file_test(cleanup, G_FILE_TEST_EXISTS));
  g_assert_false(sv_test_pid_alive(gc));
}

static void
test_setsid_daemon_gone(void)
{
  g_autoptr(SvRun) run = start_tree_app("daemon", NULL);
  g_assert_nonnull(sv_run_wait_message(run, "READY=1", WAIT_MS));
  pid_t daemon = wait_pid_file(run, "gc.pid");
  g_autofree char *app_pid = sv_run_wait_file(run, "app.pid", WAIT_MS);
  g_assert_nonnull(app_pid);
  g_assert_true(sv_test_pid_alive(daemon));
  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
  g_assert_false(sv_test_pid_alive(daemon));
}

static void
test_stubborn_grandchild_killed_at_deadline(void)
{
  const char *env[] = {"SDVISOR_APP_STOP_TIMEOUT=3s", NULL};
  g_autoptr(SvRun) run = start_tree_app("stubborn", env);
  g_assert_nonnull(sv_run_wait_message(run, "READY=1", WAIT_MS));
  pid_t gc = wait_pid_file(run, "gc.pid");
  g_autofree char *app_pid = sv_run_wait_file(run, "app.pid", WAIT_MS);
  g_assert_nonnull(app_pid);
  gint64 t0 = sv_now_ms();
  sv_run_kill(run, SIGTERM);
  /* Alive well into the stop-timeout: SIGTERM reached it, SIGKILL did not yet. */
  g_usleep(2000 * 1000);
  g_assert_true(sv_test_pid_alive(gc));
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
  gint64 took = sv_now_ms() - t0;
  g_test_message("stop took %" G_GINT64_FORMAT " ms for stop-timeout=3s", took);
  g_assert_cmpint(took, >=, 2700);
  g_assert_cmpint(took, <=, sv_test_slow() ? 10000 : 3300);
  g_assert_false(sv_test_pid_alive(gc));
  g_autofree char *err = sv_run_stderr(run);
  g_assert_nonnull(strstr(err, "left still running 3s after SIGTERM: killing them"));
}

static void
test_exit_on_own_leftover_gets_stop_signal(void)
{
  g_autoptr(SvRun) run = start_tree_app("leave", NULL);
  pid_t gc = wait_pid_file(run, "gc.pid");
  /* The app's own status, after what it left is gone. */
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 3);
  g_autofree char *signal_file = sv_run_path(run, "gc.signal");
  g_autofree char *how = NULL;
  g_assert_true(g_file_get_contents(signal_file, &how, NULL, NULL));
  g_assert_cmpstr(g_strstrip(how), ==, "TERM");
  g_assert_false(sv_test_pid_alive(gc));
}

/* ---- hooks and jobs ------------------------------------------------------------------------ */

/* sdvisor with TEXT as its configuration ("@TREE@" is tree-app.sh, "@SLEEPER@" an app
 * that runs until stopped). */
static SvRun *
start_config(const char *text)
{
  g_autofree char *tree = sv_test_app("tree-app.sh");
  g_autofree char *sleeper = sv_test_app("sleeper.sh");
  g_autoptr(GString) s = g_string_new(text);
  g_string_replace(s, "@TREE@", tree, 0);
  g_string_replace(s, "@SLEEPER@", sleeper, 0);
  g_autofree char *config_env = g_strconcat("SVTEST_CONFIG=", s->str, NULL);
  const char *script = "printf '%s\\n' \"$SVTEST_CONFIG\" > \"$SVTEST_DIR/sdvisor.conf\" "
                       "&& mkdir -p \"$SVTEST_DIR/state\" "
                       "&& export STATE_DIRECTORY=\"$SVTEST_DIR/state\" "
                       "&& unset SVTEST_CONFIG "
                       "&& exec $SVTEST_SDVISOR_PREFIX \"$SDVISOR_BINARY\" run --config "
                       "\"$SVTEST_DIR/sdvisor.conf\"";
  const char *argv[] = {"-c", script, NULL};
  const char *env[] = {config_env, NULL};
  return sv_run_start_shell(argv, env);
}

static void
test_hook_tree_killed_at_timeout(void)
{
  g_autoptr(SvRun) run = start_config("[app]\n"
                                      "exec=@SLEEPER@\n"
                                      "[hook:stuck]\n"
                                      "when=pre-start\n"
                                      "exec=@TREE@\n"
                                      "environment=TREE_MODE=stubborn\n"
                                      "timeout=1s\n"
                                      "on-error=ignore\n");
  gint64 t0 = sv_now_ms();
  pid_t gc = wait_pid_file(run, "gc.pid");
  g_assert_true(sv_test_pid_alive(gc));
  /* The app starts once the hook has timed out and its whole tree is gone. */
  g_assert_nonnull(sv_run_wait_message(run, "READY=1", WAIT_MS));
  g_assert_cmpint(sv_now_ms() - t0, >=, 900);
  g_assert_false(sv_test_pid_alive(gc));
  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
  g_autofree char *err = sv_run_stderr(run);
  g_assert_nonnull(strstr(err, "timed out after 1s"));
}

static void
test_job_tree_killed_at_timeout(void)
{
  g_autoptr(SvRun) run = start_config("[app]\n"
                                      "exec=@SLEEPER@\n"
                                      "[job:stuck]\n"
                                      "schedule=every 4s\n"
                                      "exec=@TREE@\n"
                                      "environment=TREE_MODE=stubborn\n"
                                      "timeout=1s\n");
  g_assert_nonnull(sv_run_wait_message(run, "READY=1", WAIT_MS));
  /* The first run's stubborn child, alive until the run's timeout takes the tree. */
  pid_t gc = wait_pid_file(run, "gc.pid");
  gint64 t0 = sv_now_ms();
  g_assert_true(sv_test_pid_alive(gc));
  while (sv_test_pid_alive(gc) && sv_now_ms() - t0 < WAIT_MS)
    g_usleep(20 * 1000);
  gint64 took = sv_now_ms() - t0;
  g_test_message("the job's child was gone %" G_GINT64_FORMAT " ms after it started", took);
  g_assert_false(sv_test_pid_alive(gc));
  /* At the timeout (1 s from the run's start), not at the next slot or the stop. */
  g_assert_cmpint(took, >=, 700);
  g_assert_cmpint(took, <=, sv_test_slow() ? 10000 : 2500);
  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
  g_autofree char *err = sv_run_stderr(run);
  g_assert_nonnull(strstr(err, "ran longer than its timeout of 1s"));
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/tree/wrapper/uvicorn-request-in-flight-finishes", test_uvicorn_behind_wrapper);
  g_test_add_func("/tree/wrapper/gunicorn-request-in-flight-finishes",
                  test_gunicorn_behind_wrapper);
  g_test_add_func("/tree/stop/grandchild-cleanup-finishes", test_grandchild_cleanup_finishes);
  g_test_add_func("/tree/stop/setsid-daemon-gone", test_setsid_daemon_gone);
  g_test_add_func("/tree/stop/stubborn-grandchild-killed-at-deadline",
                  test_stubborn_grandchild_killed_at_deadline);
  g_test_add_func("/tree/exit/leftover-gets-stop-signal",
                  test_exit_on_own_leftover_gets_stop_signal);
  g_test_add_func("/tree/hooks/tree-killed-at-timeout", test_hook_tree_killed_at_timeout);
  g_test_add_func("/tree/jobs/tree-killed-at-timeout", test_job_tree_killed_at_timeout);
  return g_test_run();
}
