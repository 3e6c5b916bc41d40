/* test-ready.c — READY when the app really serves, WATCHDOG only while it is healthy,
 * the notify proxy, and the startup deadline. */
#include <glib.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"

#define WAIT_MS (sv_test_slow() ? 60000 : 10000)

/* A port nothing listens on right now. */
static int
free_port(void)
{
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof sa;
  g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof sa), ==, 0);
  g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sa, &len), ==, 0);
  close(fd);
  return ntohs(sa.sin_port);
}

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
  int port = free_port();
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
  int port = free_port();
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
  int port = free_port();
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
  int port = free_port();
  g_autofree char *app = sv_test_app("sleeper.sh");
  g_autofree char *checks = g_strdup_printf("SDVISOR_READY_CHECK=tcp://127.0.0.1:%d", port);
  const char *env[] = {checks, "SDVISOR_READY_TIMEOUT=1s", NULL};
  const char *argv[] = {"run", "--", app, NULL};
  g_autoptr(SvRun) run = sv_run_start(argv, env);
  gint64 start = sv_now_ms();
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 124);
  g_assert_cmpint(sv_now_ms() - start, <, 5000);
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

static void
test_watchdog_follows_health(void)
{
  int port = free_port();
  g_autofree char *app = sv_test_app("http-app.py");
  g_autofree char *portv = g_strdup_printf("PORT=%d", port);
  g_autofree char *health =
      g_strdup_printf("SDVISOR_HEALTH_CHECK=http://127.0.0.1:%d/health", port);
  g_autofree char *ready = g_strdup_printf("SDVISOR_READY_CHECK=tcp://127.0.0.1:%d", port);
  g_autofree char *script =
      g_strdup_printf("export WATCHDOG_PID=$$; exec \"%s\" run -- \"%s\"", sv_test_binary(), app);
  /* A 400 ms watchdog: pings every 200 ms while healthy. */
  const char *env[] = {portv,
                       health,
                       ready,
                       "WATCHDOG_USEC=400000",
                       "SDVISOR_HEALTH_INTERVAL=100ms",
                       "SDVISOR_HEALTH_TIMEOUT=300ms",
                       "SDVISOR_HEALTH_FAILURE_THRESHOLD=2",
                       NULL};
  const char *argv[] = {"-c", script, NULL};
  g_autoptr(SvRun) run = sv_run_start_shell(argv, env);
  g_assert_nonnull(sv_run_wait_message(run, "READY=1", WAIT_MS));
  g_assert_cmpuint(count_new(run, "WATCHDOG=1", 1000), >=, 2);

  /* /health answers 500: the pings stop and systemd is told at the threshold. */
  touch(run, "unhealthy");
  g_assert_nonnull(sv_run_wait_message(run, "WATCHDOG=trigger", WAIT_MS));
  g_assert_cmpuint(count_new(run, "WATCHDOG=1", 800), ==, 0);
  rm(run, "unhealthy");
  g_assert_nonnull(sv_run_wait_message(run, "STATUS=running", WAIT_MS));
  g_assert_cmpuint(count_new(run, "WATCHDOG=1", 1000), >=, 2);

  /* Frozen: the check times out, the pings stop; thawed: they resume. */
  g_autofree char *pid_text = sv_run_wait_file(run, "app.pid", 0);
  pid_t app_pid = atoi(pid_text);
  g_assert_cmpint(kill(app_pid, SIGSTOP), ==, 0);
  guint triggers = sv_run_count_messages(run, "WATCHDOG=trigger", 0);
  gint64 deadline = sv_now_ms() + WAIT_MS;
  while (sv_run_count_messages(run, "WATCHDOG=trigger", 100) == triggers && sv_now_ms() < deadline)
    ;
  g_assert_cmpuint(sv_run_count_messages(run, "WATCHDOG=trigger", 0), >, triggers);
  g_assert_cmpuint(count_new(run, "WATCHDOG=1", 800), ==, 0);
  g_assert_cmpint(kill(app_pid, SIGCONT), ==, 0);
  g_assert_cmpuint(count_new(run, "WATCHDOG=1", 1500), >=, 2);

  /* The app sees a watchdog of its own, for its own pid. */
  g_autofree char *app_env = sv_run_wait_file(run, "app.env", 0);
  g_autofree char *own = g_strdup_printf("WATCHDOG_PID=%d\n", app_pid);
  g_assert_nonnull(strstr(app_env, "WATCHDOG_USEC=400000\n"));
  g_assert_nonnull(strstr(app_env, own));

  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
}

static void
test_unhealthy_restart_without_watchdog(void)
{
  int port = free_port();
  g_autofree char *app = sv_test_app("http-app.py");
  g_autofree char *portv = g_strdup_printf("PORT=%d", port);
  g_autofree char *health =
      g_strdup_printf("SDVISOR_HEALTH_CHECK=http://127.0.0.1:%d/health", port);
  g_autofree char *ready = g_strdup_printf("SDVISOR_READY_CHECK=tcp://127.0.0.1:%d", port);
  const char *env[] = {portv,
                       health,
                       ready,
                       "SDVISOR_HEALTH_INTERVAL=100ms",
                       "SDVISOR_HEALTH_FAILURE_THRESHOLD=2",
                       "SDVISOR_HEALTH_ON_UNHEALTHY=restart",
                       NULL};
  const char *argv[] = {"run", "--", app, NULL};
  g_autoptr(SvRun) run = sv_run_start(argv, env);
  g_assert_nonnull(sv_run_wait_message(run, "READY=1", WAIT_MS));
  g_autofree char *first = sv_run_wait_file(run, "app.pid", 0);
  touch(run, "unhealthy");
  g_assert_nonnull(sv_run_wait_message(run, "restarted 1 times", WAIT_MS));
  rm(run, "unhealthy");
  g_autofree char *second = sv_run_wait_file(run, "app.pid", 0);
  g_assert_cmpstr(first, !=, second);
  /* Still one READY: the service never stopped being up for systemd. */
  g_assert_cmpuint(sv_run_count_messages(run, "READY=1", 0), ==, 1);
  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
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
  return g_test_run();
}
