/* test-ready.c — READY when the app really serves, WATCHDOG only while it is healthy,
 * the notify proxy, and the startup deadline. */
#include <glib.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"

#define WAIT_MS (sv_test_slow() ? 60000 : 10000)
/* A window in which something must happen at least so often: wider where sdvisor is
 * slowed down (its first HTTP check, under memcheck, holds its loop for a while). */
#define SLOW_X5(ms) (sv_test_slow() ? 5 * (ms) : (ms))

static void
touch(SvRun *run, const char *name)
{
  g_autofree char *path = sv_run_path(run, name);
  g_assert_true(g_file_set_contents(path, "", 0, NULL));
}

static void
rm(SvRun *run, const char *name)
{
  g_autofree char *path = sv_run_path(run, name);
  g_unlink(path);
}

static void
test_ready_after_listen_and_health(void)
{
  int port = sv_free_port();
  g_autofree char *app = sv_test_app("http-app.py");
  g_autofree char *portv = g_strdup_printf("PORT=%d", port);
  g_autofree char *checks = g_strdup_printf(
      "SDVISOR_READY_CHECK=tcp://127.0.0.1:%d http://127.0.0.1:%d/health", port, port);
  const char *env[] = {portv, checks, "LISTEN_DELAY=0.3", NULL};
  const char *argv[] = {"run", "--", app, NULL};
  g_autoptr(SvRun) run = sv_run_start(argv, env);
  /* Unhealthy from the start: the port will accept before /health says 200. */
  touch(run, "unhealthy");

  g_autofree char *listening = sv_run_wait_file(run, "app.listening", WAIT_MS);
  g_assert_nonnull(listening);
  /* Listening but /health answers 500: not ready. */
  g_assert_cmpuint(sv_run_count_messages(run, "READY=1", 500), ==, 0);
  g_assert_nonnull(sv_run_wait_message(run, "STATUS=starting: waiting for 2 checks", 0));

  rm(run, "unhealthy");
  g_assert_nonnull(sv_run_wait_message(run, "READY=1", WAIT_MS));
  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
  g_assert_cmpuint(sv_run_count_messages(run, "READY=1", 0), ==, 1);
}

static void
test_app_ready_relayed_once(void)
{
  int port = sv_free_port();
  g_autofree char *app = sv_test_app("http-app.py");
  g_autofree char *portv = g_strdup_printf("PORT=%d", port);
  const char *env[] = {portv, "SEND_READY=3", "SDVISOR_READY_CHECK=notify", NULL};
  const char *argv[] = {"run", "--", app, NULL};
  g_autoptr(SvRun) run = sv_run_start(argv, env);
  g_assert_nonnull(sv_run_wait_message(run, "READY=1", WAIT_MS));
  /* The app says READY=1 three times; systemd hears it once. */
  g_assert_cmpuint(sv_run_count_messages(run, "READY=1", 500), ==, 1);
  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
}

static void
send_datagram(const char *path, const char *text)
{
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  g_strlcpy(sa.sun_path, path, sizeof sa.sun_path);
  g_assert_cmpint(sendto(fd, text, strlen(text), 0, (struct sockaddr *)&sa, sizeof sa), ==,
                  (ssize_t)strlen(text));
  close(fd);
}

static void
test_outsider_dropped(void)
{
  int port = sv_free_port();
  g_autofree char *app = sv_test_app("http-app.py");
  g_autofree char *portv = g_strdup_printf("PORT=%d", port);
  /* The app never says READY itself. */
  const char *env[] = {portv, "SDVISOR_READY_CHECK=notify", NULL};
  const char *argv[] = {"run", "--", app, NULL};
  g_autoptr(SvRun) run = sv_run_start(argv, env);
  g_autofree char *app_env = sv_run_wait_file(run, "app.env", WAIT_MS);
  g_assert_nonnull(app_env);
  const char *line = strstr(app_env, "NOTIFY_SOCKET=");
  g_assert_nonnull(line);
  g_autofree char *socket_path = g_strndup(line + 14, strcspn(line + 14, "\n"));

  /* This test process is not in the app's tree. */
  send_datagram(socket_path, "READY=1\nSTATUS=forged by an outsider");
  g_assert_cmpuint(sv_run_count_messages(run, "READY=1", 500), ==, 0);
  g_assert_cmpuint(sv_run_count_messages(run, "forged", 0), ==, 0);
  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
  g_autofree char *err = sv_run_stderr(run);
  g_assert_nonnull(strstr(err, "refused"));
}

static void
test_startup_timeout(void)
{
  int port = sv_free_port();
  g_autofree char *app = sv_test_app("sleeper.sh");
  g_autofree char *checks = g_strdup_printf("SDVISOR_READY_CHECK=tcp://127.0.0.1:%d", port);
  const char *env[] = {checks, "SDVISOR_READY_TIMEOUT=1s", NULL};
  const char *argv[] = {"run", "--", app, NULL};
  g_autoptr(SvRun) run = sv_run_start(argv, env);
  gint64 start = sv_now_ms();
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 124);
  g_assert_cmpint(sv_now_ms() - start, <, sv_test_slow() ? 30000 : 5000);
  g_assert_null(sv_run_wait_message(run, "READY=1", 0));
  g_assert_nonnull(sv_run_wait_message(run, "EXTEND_TIMEOUT_USEC=", 0));
  g_autofree char *err = sv_run_stderr(run);
  g_assert_nonnull(strstr(err, "not ready after 1s"));
  g_assert_nonnull(strstr(err, "127.0.0.1")); /* the last check's error */
  /* The app was stopped, not left behind. */
  g_autofree char *pid_text = sv_run_wait_file(run, "app.pid", 0);
  g_assert_nonnull(pid_text);
  g_assert_cmpint(kill(atoi(pid_text), 0), ==, -1);
}

static guint
count_new(SvRun *run, const char *needle, guint window_ms)
{
  guint before = sv_run_count_messages(run, needle, 0);
  return sv_run_count_messages(run, needle, window_ms) - before;
}

/* Waits until the count of messages with NEEDLE grows past BEFORE. */
static gboolean
wait_more(SvRun *run, const char *needle, guint before, guint timeout_ms)
{
  gint64 deadline = sv_now_ms() + timeout_ms;
  while (sv_run_count_messages(run, needle, 50) <= before)
    if (sv_now_ms() >= deadline)
      return FALSE;
  return TRUE;
}

/* The environment of http-app.py on PORT under a tcp [ready] check of that port and an
 * http [health] check of its /health; the caller adds more, then the NULL. */
static GPtrArray *
http_app_env(int port)
{
  GPtrArray *env = g_ptr_array_new_with_free_func(g_free);
  g_ptr_array_add(env, g_strdup_printf("PORT=%d", port));
  g_ptr_array_add(env, g_strdup_printf("SDVISOR_HEALTH_CHECK=http://127.0.0.1:%d/health", port));
  g_ptr_array_add(env, g_strdup_printf("SDVISOR_READY_CHECK=tcp://127.0.0.1:%d", port));
  return env;
}

static void
test_watchdog_follows_health(void)
{
  int port = sv_free_port();
  g_autofree char *app = sv_test_app("http-app.py");
  g_autoptr(GPtrArray) env = http_app_env(port);
  g_autofree char *script =
      g_strdup_printf("export WATCHDOG_PID=$$; exec $SVTEST_SDVISOR_PREFIX \"%s\" run -- \"%s\"",
                      sv_test_binary(), app);
  /* Under memcheck sdvisor's first HTTP checks take longer than their timeout: they are
   * forgiven until one passes. */
  if (sv_test_slow())
    g_ptr_array_add(env, g_strdup("SDVISOR_HEALTH_START_PERIOD=20s"));
  /* A 400 ms watchdog: pings every 200 ms while healthy. */
  g_ptr_array_add(env, g_strdup("WATCHDOG_USEC=400000"));
  g_ptr_array_add(env, g_strdup("SDVISOR_HEALTH_INTERVAL=100ms"));
  g_ptr_array_add(env, g_strdup("SDVISOR_HEALTH_TIMEOUT=300ms"));
  g_ptr_array_add(env, g_strdup("SDVISOR_HEALTH_FAILURE_THRESHOLD=2"));
  g_ptr_array_add(env, NULL);
  const char *argv[] = {"-c", script, NULL};
  g_autoptr(SvRun) run = sv_run_start_shell(argv, (const char *const *)env->pdata);
  g_assert_nonnull(sv_run_wait_message(run, "READY=1", WAIT_MS));
  g_assert_cmpuint(count_new(run, "WATCHDOG=1", SLOW_X5(1000)), >=, 2);

  /* /health answers 500: the pings stop and systemd is told at the threshold. */
  guint triggers = sv_run_count_messages(run, "WATCHDOG=trigger", 0);
  touch(run, "unhealthy");
  g_assert_true(wait_more(run, "WATCHDOG=trigger", triggers, WAIT_MS));
  g_assert_cmpuint(count_new(run, "WATCHDOG=1", 800), ==, 0);
  guint running = sv_run_count_messages(run, "STATUS=running", 0);
  rm(run, "unhealthy");
  g_assert_true(wait_more(run, "STATUS=running", running, WAIT_MS));
  g_assert_cmpuint(count_new(run, "WATCHDOG=1", SLOW_X5(1000)), >=, 2);

  /* Frozen: the check times out, the pings stop; thawed: they resume. */
  g_autofree char *pid_text = sv_run_wait_file(run, "app.pid", 0);
  pid_t app_pid = atoi(pid_text);
  g_assert_cmpint(kill(app_pid, SIGSTOP), ==, 0);
  triggers = sv_run_count_messages(run, "WATCHDOG=trigger", 0);
  gint64 deadline = sv_now_ms() + WAIT_MS;
  while (sv_run_count_messages(run, "WATCHDOG=trigger", 100) == triggers && sv_now_ms() < deadline)
    ;
  g_assert_cmpuint(sv_run_count_messages(run, "WATCHDOG=trigger", 0), >, triggers);
  g_assert_cmpuint(count_new(run, "WATCHDOG=1", 800), ==, 0);
  g_assert_cmpint(kill(app_pid, SIGCONT), ==, 0);
  g_assert_cmpuint(count_new(run, "WATCHDOG=1", SLOW_X5(1500)), >=, 2);

  /* The app sees a watchdog of its own, for its own pid. */
  g_autofree char *app_env = sv_run_wait_file(run, "app.env", 0);
  g_autofree char *own = g_strdup_printf("WATCHDOG_PID=%d\n", app_pid);
  g_assert_nonnull(strstr(app_env, "WATCHDOG_USEC=400000\n"));
  g_assert_nonnull(strstr(app_env, own));

  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);

  /* Each transition is an entry of sdvisor's log with the check's detail: the URL and
   * what it answered. */
  g_autofree char *err = sv_run_stderr(run);
  g_autofree char *sick = g_strdup_printf(
      "app (pid %d) is unhealthy: http://127.0.0.1:%d/health: 500 Internal Server Error", app_pid,
      port);
  g_autofree char *well = g_strdup_printf(
      "app (pid %d) is healthy again: http://127.0.0.1:%d/health: 200 OK", app_pid, port);
  const char *sick_at = strstr(err, sick);
  g_assert_nonnull(sick_at);
  g_assert_nonnull(strstr(sick_at, well));
}

/* http-app.py under a [ready] tcp check and an http [health] check every 100ms with a
 * failure threshold of 2, no systemd watchdog, and on-unhealthy=ON_UNHEALTHY. */
static SvRun *
start_without_watchdog(const char *on_unhealthy)
{
  int port = sv_free_port();
  g_autofree char *app = sv_test_app("http-app.py");
  g_autoptr(GPtrArray) env = http_app_env(port);
  g_ptr_array_add(env, g_strdup("SDVISOR_HEALTH_INTERVAL=100ms"));
  g_ptr_array_add(env, g_strdup("SDVISOR_HEALTH_FAILURE_THRESHOLD=2"));
  g_ptr_array_add(env, g_strconcat("SDVISOR_HEALTH_ON_UNHEALTHY=", on_unhealthy, NULL));
  g_ptr_array_add(env, NULL);
  const char *argv[] = {"run", "--", app, NULL};
  return sv_run_start(argv, (const char *const *)env->pdata);
}

static void
test_unhealthy_restart_without_watchdog(void)
{
  g_autoptr(SvRun) run = start_without_watchdog("restart");
  g_assert_nonnull(sv_run_wait_message(run, "READY=1", WAIT_MS));
  g_autofree char *first = sv_run_wait_file(run, "app.pid", 0);
  touch(run, "unhealthy");
  /* One restart is "1 time", not "1 times". */
  g_assert_nonnull(sv_run_wait_message(run, "restarted 1 time)", WAIT_MS));
  g_assert_null(sv_run_wait_message(run, "restarted 1 times", 0));
  rm(run, "unhealthy");
  g_autofree char *second = sv_run_wait_file(run, "app.pid", 0);
  g_assert_cmpstr(first, !=, second);
  /* Still one READY: the service never stopped being up for systemd. */
  g_assert_cmpuint(sv_run_count_messages(run, "READY=1", 0), ==, 1);
  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
}

/* Waits up to TIMEOUT_MS for a message NEEDLE makes up on its own (not a part of a longer
 * one); returns it or NULL. */
static const char *
wait_exact(SvRun *run, const char *needle, guint timeout_ms)
{
  gint64 deadline = sv_now_ms() + timeout_ms;
  for (;;) {
    for (guint i = 0; i < run->messages->len; i++)
      if (g_strcmp0(run->messages->pdata[i], needle) == 0)
        return run->messages->pdata[i];
    if (sv_now_ms() >= deadline)
      return NULL;
    (void)sv_run_count_messages(run, needle, 50); /* reads on for a while */
  }
}

static guint
count_exact(SvRun *run, const char *needle)
{
  guint n = 0;
  for (guint i = 0; i < run->messages->len; i++)
    n += g_strcmp0(run->messages->pdata[i], needle) == 0;
  return n;
}

/* notify-app.py sends TEXT as one datagram on its NOTIFY_SOCKET. */
static void
app_says(SvRun *run, const char *text)
{
  g_autofree char *path = sv_run_path(run, "send");
  g_assert_true(g_file_set_contents(path, text, -1, NULL)); /* atomic: a rename */
  gint64 deadline = sv_now_ms() + WAIT_MS;
  while (g_file_test(path, G_FILE_TEST_EXISTS) && sv_now_ms() < deadline)
    g_usleep(5000);
  g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
}

/* The EXTEND_TIMEOUT_USEC= values of RUN's datagrams so far, in order (each logged). */
static GArray *
extend_timeouts(SvRun *run)
{
  GArray *values = g_array_new(FALSE, FALSE, sizeof(gint64));
  for (guint i = 0; i < run->messages->len; i++) {
    const char *m = run->messages->pdata[i];
    if (!strstr(m, "EXTEND_TIMEOUT_USEC="))
      continue;
    gint64 usec = sv_message_number(m, "EXTEND_TIMEOUT_USEC");
    g_test_message("EXTEND_TIMEOUT_USEC=%" G_GINT64_FORMAT, usec);
    g_array_append_val(values, usec);
  }
  return values;
}

/* While [ready] checks are pending, systemd is asked to wait at least [ready] timeout:
 * its TimeoutStartSec= must not fire before sdvisor's own deadline. */
static void
test_extend_timeout_covers_ready_timeout(void)
{
  int port = sv_free_port();
  g_autofree char *app = sv_test_app("sleeper.sh");
  g_autofree char *checks = g_strdup_printf("SDVISOR_READY_CHECK=tcp://127.0.0.1:%d", port);
  const char *env[] = {checks, "SDVISOR_READY_TIMEOUT=40s", NULL};
  const char *argv[] = {"run", "--", app, NULL};
  g_autoptr(SvRun) run = sv_run_start(argv, env);
  g_assert_nonnull(sv_run_wait_message(run, "STATUS=starting: waiting for 1 check", WAIT_MS));
  g_autoptr(GArray) extends = extend_timeouts(run);
  g_assert_cmpuint(extends->len, >=, 1);
  for (guint i = 0; i < extends->len; i++) {
    gint64 usec = g_array_index(extends, gint64, i);
    g_assert_cmpint(usec, >=, 40 * G_USEC_PER_SEC);
    g_assert_cmpint(usec, <=, 40 * G_USEC_PER_SEC + 10 * 60 * G_USEC_PER_SEC);
  }
  g_assert_null(sv_run_wait_message(run, "READY=1", 0));
  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
}

/* An empty check= is no check: READY=1 follows the spawn, the [ready] timeout never runs,
 * and systemd is not asked to wait for it (budget.h; print-unit's TimeoutStartSec= leaves
 * it out too). sdvisor once sent EXTEND_TIMEOUT_USEC of the whole [ready] timeout here. */
static void
test_empty_check_extends_by_nothing(void)
{
  g_autofree char *app = sv_test_app("sleeper.sh");
  const char *env[] = {"SDVISOR_READY_CHECK=", "SDVISOR_READY_TIMEOUT=40min", NULL};
  const char *argv[] = {"run", "--", app, NULL};
  g_autoptr(SvRun) run = sv_run_start(argv, env);
  g_assert_nonnull(sv_run_wait_message(run, "READY=1", WAIT_MS));
  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
  g_autoptr(GArray) extends = extend_timeouts(run);
  g_assert_cmpuint(extends->len, >=, 1);
  for (guint i = 0; i < extends->len; i++) {
    gint64 usec = g_array_index(extends, gint64, i);
    /* The stop's: stop-timeout 30 s and the margin, far below 40 min. */
    g_assert_cmpint(usec, <, G_GINT64_CONSTANT(40) * 60 * G_USEC_PER_SEC);
  }
}

/* Without a watchdog, on-unhealthy=stop stops the app at the failure threshold, and
 * sdvisor exits 1 (README, "Exit statuses"). */
static void
test_unhealthy_stop_without_watchdog(void)
{
  g_autoptr(SvRun) run = start_without_watchdog("stop");
  g_assert_nonnull(sv_run_wait_message(run, "READY=1", WAIT_MS));
  g_autofree char *pid_text = sv_run_wait_file(run, "app.pid", 0);
  g_assert_null(sv_run_wait_message(run, "STOPPING=1", 0));
  touch(run, "unhealthy");
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 1);
  g_assert_nonnull(sv_run_wait_message(run, "STOPPING=1", 0));
  g_assert_null(sv_run_wait_message(run, "restart", 0));
  g_assert_cmpint(kill(atoi(pid_text), 0), ==, -1);
  g_autofree char *err = sv_run_stderr(run);
  g_assert_nonnull(strstr(err, "app unhealthy: stopping"));
}

/* on-unhealthy=none: the transition is reported, the app (the same process) keeps
 * running well past the threshold, and so does sdvisor. */
static void
test_unhealthy_none_without_watchdog(void)
{
  g_autoptr(SvRun) run = start_without_watchdog("none");
  g_assert_nonnull(sv_run_wait_message(run, "READY=1", WAIT_MS));
  g_autofree char *first = sv_run_wait_file(run, "app.pid", 0);
  pid_t app_pid = atoi(first);
  touch(run, "unhealthy");
  g_autofree char *unhealthy = g_strdup_printf("STATUS=unhealthy (pid %d)", app_pid);
  g_assert_nonnull(sv_run_wait_message(run, unhealthy, WAIT_MS));
  /* Ten more intervals of failed checks: nothing is done about them. */
  g_assert_cmpint(sv_run_wait_exit(run, 1000), ==, -1);
  g_assert_cmpint(kill(app_pid, 0), ==, 0);
  g_autofree char *still = sv_run_wait_file(run, "app.pid", 0);
  g_assert_cmpstr(still, ==, first);
  g_assert_null(sv_run_wait_message(run, "STOPPING=1", 0));
  g_assert_null(sv_run_wait_message(run, "restart", 0));

  g_autofree char *running = g_strdup_printf("STATUS=running (pid %d)", app_pid);
  guint before = sv_run_count_messages(run, running, 0);
  rm(run, "unhealthy");
  g_assert_true(wait_more(run, running, before, WAIT_MS));
  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
}

/* What the app says on its own NOTIFY_SOCKET reaches sdvisor's, as the issue lists it;
 * MAINPID does not. sdvisor runs under a watchdog, as systemd's WatchdogSec= sets it. */
static void
test_proxy_relays_end_to_end(void)
{
  g_autofree char *app = sv_test_app("notify-app.py");
  g_autofree char *script =
      g_strdup_printf("export WATCHDOG_PID=$$; exec $SVTEST_SDVISOR_PREFIX \"%s\" run -- \"%s\"",
                      sv_test_binary(), app);
  const char *env[] = {"WATCHDOG_USEC=30000000", "SDVISOR_READY_CHECK=notify", NULL};
  const char *argv[] = {"-c", script, NULL};
  g_autoptr(SvRun) run = sv_run_start_shell(argv, env);
  g_autofree char *pid_text = sv_run_wait_file(run, "app.pid", WAIT_MS);
  g_assert_nonnull(pid_text);

  /* The app's READY=1 completes [ready]: READY=1 upstream is sdvisor's own. */
  app_says(run, "READY=1");
  const char *ready = sv_run_wait_message(run, "READY=1", WAIT_MS);
  g_assert_nonnull(ready);
  g_autofree char *running = g_strdup_printf("READY=1\nSTATUS=running (pid %s)", pid_text);
  g_assert_cmpstr(ready, ==, running);

  app_says(run, "STATUS=warming caches");
  g_assert_nonnull(wait_exact(run, "STATUS=warming caches", WAIT_MS));
  app_says(run, "ERRNO=5");
  g_assert_nonnull(wait_exact(run, "ERRNO=5", WAIT_MS));
  app_says(run, "EXTEND_TIMEOUT_USEC=7654321");
  g_assert_nonnull(wait_exact(run, "EXTEND_TIMEOUT_USEC=7654321", WAIT_MS));
  app_says(run, "WATCHDOG=trigger");
  g_assert_nonnull(wait_exact(run, "WATCHDOG=trigger", WAIT_MS));

  /* The app's own reload cycle passes through as it is. */
  g_autofree char *reloading =
      g_strdup_printf("RELOADING=1\nMONOTONIC_USEC=%" G_GINT64_FORMAT, g_get_monotonic_time());
  app_says(run, reloading);
  g_assert_nonnull(wait_exact(run, reloading, WAIT_MS));
  app_says(run, "READY=1");
  g_assert_nonnull(wait_exact(run, "READY=1", WAIT_MS));
  /* Its cycle over, another READY=1 from the app is not sdvisor's to pass on. */
  app_says(run, "READY=1\nSTATUS=ready again");
  g_assert_nonnull(wait_exact(run, "STATUS=ready again", WAIT_MS));
  (void)sv_run_count_messages(run, "READY=1", 300);
  g_assert_cmpuint(count_exact(run, "READY=1"), ==, 1);

  /* MAINPID is dropped from what is relayed. */
  app_says(run, "MAINPID=1\nERRNO=7");
  g_assert_nonnull(wait_exact(run, "ERRNO=7", WAIT_MS));

  /* FDSTORE=1 comes with the app's descriptor: the same open file reaches systemd. */
  app_says(run, "FDSTORE=1\nFDNAME=stored");
  int fd = -1;
  const char *stored = sv_run_wait_message_fd(run, "FDSTORE=1", WAIT_MS, &fd);
  g_assert_cmpstr(stored, ==, "FDSTORE=1\nFDNAME=stored");
  g_assert_cmpint(fd, >=, 0);
  struct stat got, want;
  g_autofree char *file = sv_run_path(run, "fdstore.file");
  g_assert_cmpint(fstat(fd, &got), ==, 0);
  g_assert_cmpint(stat(file, &want), ==, 0);
  close(fd);
  g_assert_cmpuint(got.st_dev, ==, want.st_dev);
  g_assert_cmpuint(got.st_ino, ==, want.st_ino);

  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
  g_assert_cmpuint(sv_run_count_messages(run, "MAINPID", 0), ==, 0);
  g_autofree char *err = sv_run_stderr(run);
  g_assert_nonnull(strstr(err, "MAINPID=1 from pid"));
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  signal(SIGCHLD, SIG_DFL);
  g_test_add_func("/ready/after-listen-and-health-200", test_ready_after_listen_and_health);
  g_test_add_func("/ready/app-ready-relayed-once", test_app_ready_relayed_once);
  g_test_add_func("/ready/outsider-datagram-dropped", test_outsider_dropped);
  g_test_add_func("/ready/startup-timeout-stops-app-124", test_startup_timeout);
  g_test_add_func("/health/watchdog-pings-follow-health", test_watchdog_follows_health);
  g_test_add_func("/health/unhealthy-restart-without-watchdog",
                  test_unhealthy_restart_without_watchdog);
  g_test_add_func("/ready/extend-timeout-covers-ready-timeout",
                  test_extend_timeout_covers_ready_timeout);
  g_test_add_func("/ready/empty-check-extends-by-nothing", test_empty_check_extends_by_nothing);
  g_test_add_func("/ready/proxy-relays-app-messages-but-mainpid", test_proxy_relays_end_to_end);
  g_test_add_func("/health/unhealthy-stop-without-watchdog-exits-1",
                  test_unhealthy_stop_without_watchdog);
  g_test_add_func("/health/unhealthy-none-keeps-app-running", test_unhealthy_none_without_watchdog);
  return g_test_run();
}
