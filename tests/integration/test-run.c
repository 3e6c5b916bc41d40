/* test-run.c — `sdvisor run` against its contract: notify sequence, exit statuses,
 * signals, stop deadline, PID 1 duties, configuration errors. */
#include <glib.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "timespan.h"

#define WAIT_MS (sv_test_slow() ? 60000 : 10000)

/* `sdvisor run -- sleeper.sh`, once it has sent READY=1. */
static SvRun *
start_sleeper(void)
{
  g_autofree char *app = sv_test_app("sleeper.sh");
  const char *argv[] = {"run", "--", app, NULL};
  SvRun *run = sv_run_start(argv, NULL);
  g_assert_nonnull(sv_run_wait_message(run, "READY=1", WAIT_MS));
  return run;
}

static void
test_notify_sequence(void)
{
  g_autoptr(SvRun) run = start_sleeper();
  g_autofree char *pid_text = sv_run_wait_file(run, "app.pid", WAIT_MS);
  g_assert_nonnull(pid_text);
  g_autofree char *running = g_strdup_printf("STATUS=running (pid %d)", atoi(pid_text));
  g_assert_nonnull(sv_run_wait_message(run, running, WAIT_MS));

  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);

  /* The order systemd must see: starting → READY → STOPPING → stopped. */
  int starting = -1, ready = -1, stopping = -1, stopped = -1;
  for (guint i = 0; i < run->messages->len; i++) {
    const char *m = run->messages->pdata[i];
    if (starting < 0 && strstr(m, "STATUS=starting"))
      starting = (int)i;
    if (ready < 0 && strstr(m, "READY=1"))
      ready = (int)i;
    if (stopping < 0 && strstr(m, "STOPPING=1"))
      stopping = (int)i;
    if (stopped < 0 && strstr(m, "STATUS=stopped"))
      stopped = (int)i;
  }
  g_assert_cmpint(starting, >=, 0);
  g_assert_cmpint(starting, <, ready);
  g_assert_cmpint(ready, <, stopping);
  g_assert_cmpint(stopping, <, stopped);
  const char *stop_msg = run->messages->pdata[stopping];
  g_assert_nonnull(strstr(stop_msg, "STATUS=stopping: waiting up to 30s for pid"));
  g_assert_nonnull(sv_run_wait_message(run, "EXTEND_TIMEOUT_USEC=", 0));

  /* sdvisor's NOTIFY_SOCKET stays with sdvisor: the app gets the private proxy's. */
  g_autofree char *env = sv_run_wait_file(run, "app.env", 0);
  g_assert_nonnull(env);
  g_assert_null(strstr(env, run->notify_path));
  g_assert_nonnull(strstr(env, "NOTIFY_SOCKET=/"));
}

static void
test_exit_code(void)
{
  const char *argv[] = {"run", "--", "/bin/sh", "-c", "exit 3", NULL};
  g_autoptr(SvRun) run = sv_run_start(argv, NULL);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 3);
  g_autofree char *err = sv_run_stderr(run);
  g_assert_nonnull(strstr(err, "exited on its own with status 3"));
}

static void
test_killed_by_signal(void)
{
  const char *argv[] = {"run", "--", "/bin/sh", "-c", "kill -KILL $$", NULL};
  g_autoptr(SvRun) run = sv_run_start(argv, NULL);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 137);
}

static void
test_missing_executable(void)
{
  const char *argv[] = {"run", "--", "/nonexistent/app", NULL};
  g_autoptr(SvRun) run = sv_run_start(argv, NULL);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 127);
  g_autofree char *err = sv_run_stderr(run);
  g_assert_nonnull(strstr(err, "/nonexistent/app"));
  /* Never READY for an app that never ran. */
  g_assert_null(sv_run_wait_message(run, "READY=1", 0));

  const char *argv_path[] = {"run", "--", "no-such-program-sdvisor-test", NULL};
  g_autoptr(SvRun) run2 = sv_run_start(argv_path, NULL);
  g_assert_cmpint(sv_run_wait_exit(run2, WAIT_MS), ==, 127);
}

static void
test_not_executable(void)
{
  g_autoptr(SvTestDir) dir = sv_test_dir_new("sdvisor-noexec-XXXXXX");
  g_autofree char *path = g_build_filename(dir, "app", NULL);
  g_assert_true(g_file_set_contents(path, "#!/bin/sh\nexit 0\n", -1, NULL));
  g_chmod(path, 0644);
  const char *argv[] = {"run", "--", path, NULL};
  g_autoptr(SvRun) run = sv_run_start(argv, NULL);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 126);
}

static void
test_term_reaches_grandchild(void)
{
  g_autofree char *app = sv_test_app("grandchild.sh");
  const char *argv[] = {"run", "--", app, NULL};
  g_autoptr(SvRun) run = sv_run_start(argv, NULL);
  g_autofree char *ready = sv_run_wait_file(run, "grandchild.ready", WAIT_MS);
  g_assert_nonnull(ready);
  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
  g_autofree char *term = sv_run_wait_file(run, "grandchild.term", 1000);
  g_assert_cmpstr(term, ==, "TERM\n");
}

static void
test_stop_timeout_kills(void)
{
  g_autofree char *app = sv_test_app("ignore-term.sh");
  const char *argv[] = {"run", "--", app, NULL};
  const char *env[] = {"SDVISOR_APP_STOP_TIMEOUT=1s", NULL};
  g_autoptr(SvRun) run = sv_run_start(argv, env);
  g_autofree char *ready = sv_run_wait_file(run, "app.ready", WAIT_MS);
  g_assert_nonnull(ready);

  gint64 start = sv_now_ms();
  sv_run_kill(run, SIGTERM);
  int code = sv_run_wait_exit(run, WAIT_MS);
  gint64 elapsed = sv_now_ms() - start;
  g_test_message("stop took %" G_GINT64_FORMAT " ms for stop-timeout=1s", elapsed);

  g_assert_cmpint(code, ==, 137);
  /* The deadline is held within 10 % (under valgrind only its lower side: sdvisor's own
   * work is slowed many times there). */
  g_assert_cmpint(elapsed, >=, 1000);
  if (!sv_test_slow())
    g_assert_cmpint(elapsed, <=, 1100);
  g_assert_nonnull(sv_run_wait_message(run, "STATUS=stopping: killing pid", 0));
}

static void
test_second_term_kills_at_once(void)
{
  g_autofree char *app = sv_test_app("ignore-term.sh");
  const char *argv[] = {"run", "--", app, NULL};
  g_autoptr(SvRun) run = sv_run_start(argv, NULL); /* stop-timeout 30s */
  g_autofree char *ready = sv_run_wait_file(run, "app.ready", WAIT_MS);
  g_assert_nonnull(ready);
  sv_run_kill(run, SIGTERM);
  g_assert_nonnull(sv_run_wait_message(run, "STOPPING=1", WAIT_MS));
  gint64 start = sv_now_ms();
  sv_run_kill(run, SIGINT);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 137);
  g_assert_cmpint(sv_now_ms() - start, <, sv_test_slow() ? 5000 : 1000);
}

static void
test_signals_forwarded(void)
{
  g_autofree char *app = sv_test_app("signals.sh");
  const char *argv[] = {"run", "--", app, NULL};
  g_autoptr(SvRun) run = sv_run_start(argv, NULL);
  g_autofree char *ready = sv_run_wait_file(run, "app.ready", WAIT_MS);
  g_assert_nonnull(ready);

  sv_run_kill(run, SIGUSR1);
  g_autofree char *got = sv_run_wait_file(run, "signals", WAIT_MS);
  g_assert_cmpstr(got, ==, "USR1\n");

  /* SIGHUP is the reload cycle: RELOADING=1 with MONOTONIC_USEC, the app's reload
   * signal, READY=1 again. */
  sv_run_kill(run, SIGHUP);
  const char *reloading = sv_run_wait_message(run, "RELOADING=1", WAIT_MS);
  g_assert_nonnull(reloading);
  g_assert_nonnull(strstr(reloading, "MONOTONIC_USEC="));
  gint64 deadline = sv_now_ms() + WAIT_MS;
  g_autofree char *after = NULL;
  do {
    g_free(after);
    after = sv_run_wait_file(run, "signals", 100);
  } while (after && !strstr(after, "HUP") && sv_now_ms() < deadline);
  g_assert_cmpstr(after, ==, "USR1\nHUP\n");
  g_assert_cmpuint(sv_run_count_messages(run, "READY=1", 200), ==, 2);

  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
}

/* The first child of PID, as /proc lists it. */
static pid_t
first_child(pid_t pid)
{
  g_autofree char *path = g_strdup_printf("/proc/%d/task/%d/children", pid, pid);
  gint64 deadline = sv_now_ms() + WAIT_MS;
  while (sv_now_ms() < deadline) {
    g_autofree char *text = NULL;
    if (g_file_get_contents(path, &text, NULL, NULL) && atoi(text) > 0)
      return atoi(text);
    g_usleep(10000);
  }
  return 0;
}

/* The pid, seen from here, of the child of PARENT whose pid in its own namespace is
 * NSPID (the last field of NSpid: in /proc/PID/status), or 0. */
static pid_t
child_with_nspid(pid_t parent, int nspid)
{
  g_autoptr(GDir) proc = g_dir_open("/proc", 0, NULL);
  const char *name;
  while ((name = g_dir_read_name(proc)) != NULL) {
    if (!g_ascii_isdigit(name[0]))
      continue;
    g_autofree char *path = g_strdup_printf("/proc/%s/status", name);
    g_autofree char *status = NULL;
    if (!g_file_get_contents(path, &status, NULL, NULL))
      continue;
    const char *ppid = strstr(status, "\nPPid:");
    const char *ns = strstr(status, "\nNSpid:");
    if (ppid == NULL || ns == NULL || atoi(ppid + 6) != parent)
      continue;
    const char *eol = strchr(ns + 1, '\n');
    const char *last = eol ? eol : ns + strlen(ns);
    while (last > ns && !g_ascii_isspace(last[-1]))
      last--;
    if (atoi(last) == nspid)
      return (pid_t)atoi(name);
  }
  return 0;
}

/* Runs orphan.sh's orphan to its end under PID1 (seen from here), the first process of
 * RUN's PID namespace: checks that the orphan existed and was handed to PID 1, lets it
 * exit, and returns its state after up to TIMEOUT_MS: 0 once it is gone (reaped), 'Z'
 * if it stayed a zombie. */
static char
orphan_fate(SvRun *run, pid_t pid1, guint timeout_ms)
{
  g_autofree char *orphan = sv_run_wait_file(run, "orphan", WAIT_MS);
  g_assert_nonnull(orphan);
  int nspid = 0, nsppid = 0;
  g_assert_cmpint(sscanf(orphan, "%d %d", &nspid, &nsppid), ==, 2);
  g_assert_cmpint(nsppid, ==, 1); /* handed to the namespace's PID 1 */
  pid_t pid = child_with_nspid(pid1, nspid);
  g_assert_cmpint(pid, >, 0); /* alive, PID 1's child */
  g_assert_cmpint(sv_test_pid_state(pid, NULL), !=, 'Z');

  g_autofree char *go = sv_run_path(run, "orphan.go");
  g_assert_true(g_file_set_contents(go, "", 0, NULL));
  gint64 deadline = sv_now_ms() + timeout_ms;
  char state;
  while ((state = sv_test_pid_state(pid, NULL)) != 0 && sv_now_ms() < deadline)
    g_usleep(10000);
  return state;
}

/* Waits until the listening socket on 127.0.0.1:PORT has no connection waiting to be
 * accepted (/proc/net/tcp's rx_queue of a socket in LISTEN is its accept queue). */
static gboolean
accept_queue_empty(int port, guint timeout_ms)
{
  g_autofree char *local = g_strdup_printf("0100007F:%04X", (unsigned)port);
  gint64 deadline = sv_now_ms() + timeout_ms;
  do {
    g_autofree char *text = NULL;
    g_assert_true(g_file_get_contents("/proc/net/tcp", &text, NULL, NULL));
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l; l++) {
      char addr[32], state[4];
      unsigned tx = 0, rx = 0;
      if (sscanf(*l, " %*d: %31s %*s %3s %x:%x", addr, state, &tx, &rx) == 4 &&
          g_str_equal(addr, local) && g_str_equal(state, "0A") && rx == 0)
        return TRUE;
    }
    g_usleep(10000);
  } while (sv_now_ms() < deadline);
  return FALSE;
}

static void
test_pid1_reaps_orphans(void)
{
  g_autofree char *missing = sv_test_pid_ns_missing();
  if (missing != NULL) {
    sv_test_skip_unless_required(missing);
    return;
  }
  g_autofree char *app = sv_test_app("orphan.sh");
  const char *wrapper[] = {"/usr/bin/unshare", "--fork",       "--pid",
                           "--mount-proc",     "--kill-child", NULL};
  const char *argv[] = {"run", "--", app, NULL};
  g_autoptr(SvRun) run = sv_run_start_full(wrapper, argv, NULL);
  g_autofree char *ready = sv_run_wait_file(run, "app.ready", WAIT_MS);
  if (ready == NULL) {
    g_autofree char *err = sv_run_stderr(run);
    if (sv_run_wait_exit(run, 0) >= 0 && strstr(err, "unshare")) {
      sv_test_skip_unless_required("unshare --pid is not permitted here");
      return;
    }
  }
  g_assert_nonnull(ready);
  pid_t sdvisor = first_child(run->pid); /* PID 1 of the new namespace, seen from here */
  g_assert_cmpint(sdvisor, >, 0);

  /* The orphan was sdvisor's child, and once it exits it is gone: reaped. */
  g_assert_cmpint(orphan_fate(run, sdvisor, WAIT_MS), ==, 0);
  g_autoptr(GArray) zombies = sv_test_zombies_of(sdvisor);
  g_assert_cmpuint(zombies->len, ==, 0);

  g_assert_cmpint(kill(sdvisor, SIGTERM), ==, 0); /* unshare(1) does not forward it */
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);

  /* Control: the same app under a PID 1 that reaps nothing (sleep(1), which the shell
   * that started the app became): the orphan stays a zombie, so the check above can tell. */
  g_autofree char *app_env = g_strconcat("SVTEST_APP=", app, NULL);
  const char *env[] = {app_env, NULL};
  const char *control[] = {"-c",
                           "exec /usr/bin/unshare --fork --pid --mount-proc --kill-child "
                           "/bin/sh -c '\"$0\" & exec sleep 3600' \"$SVTEST_APP\"",
                           NULL};
  g_autoptr(SvRun) bare = sv_run_start_shell(control, env);
  g_autofree char *bare_ready = sv_run_wait_file(bare, "app.ready", WAIT_MS);
  g_assert_nonnull(bare_ready);
  pid_t sleeper = first_child(bare->pid);
  g_assert_cmpint(sleeper, >, 0);
  g_assert_cmpint(orphan_fate(bare, sleeper, 1000), ==, 'Z');
  g_autoptr(GArray) bare_zombies = sv_test_zombies_of(sleeper);
  g_assert_cmpuint(bare_zombies->len, ==, 1);
}

static void
test_bad_config(void)
{
  g_autoptr(SvTestDir) dir = sv_test_dir_new("sdvisor-badconf-XXXXXX");
  g_autofree char *path = g_build_filename(dir, "bad.conf", NULL);
  g_assert_true(
      g_file_set_contents(path, "[app]\nexec=/bin/true\nstop-timeout=forever\n", -1, NULL));
  g_chmod(path, 0644);
  g_autofree char *expected = g_strdup_printf("%s:3: [app] stop-timeout", path);

  const char *argv[] = {"run", "--config", path, NULL};
  g_autoptr(SvRun) run = sv_run_start(argv, NULL);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 78);
  g_autofree char *err = sv_run_stderr(run);
  g_assert_nonnull(strstr(err, expected));
  g_assert_null(sv_run_wait_message(run, "READY=1", 0));

  const char *check[] = {"check", path, NULL};
  g_autoptr(SvRun) run2 = sv_run_start(check, NULL);
  g_assert_cmpint(sv_run_wait_exit(run2, WAIT_MS), ==, 78);
  g_autofree char *err2 = sv_run_stderr(run2);
  g_assert_nonnull(strstr(err2, expected));

  /* $SDVISOR_CONFIG names the file when --config does not. */
  const char *run_env[] = {"run", NULL};
  g_autofree char *var = g_strdup_printf("SDVISOR_CONFIG=%s", path);
  const char *env[] = {var, NULL};
  g_autoptr(SvRun) run3 = sv_run_start(run_env, env);
  g_assert_cmpint(sv_run_wait_exit(run3, WAIT_MS), ==, 78);
}

/* DIR/NAME with TEXT, mode 0644 (sdvisor refuses a configuration others can write). */
static char *
write_conf(const char *dir, const char *name, const char *text)
{
  char *path = g_build_filename(dir, name, NULL);
  g_assert_true(g_file_set_contents(path, text, -1, NULL));
  g_assert_cmpint(g_chmod(path, 0644), ==, 0);
  return path;
}

static void
test_check_prints_effective(void)
{
  g_autoptr(SvTestDir) dir = sv_test_dir_new("sdvisor-check-XXXXXX");
  g_autofree char *path = write_conf(dir, "ok.conf", "[app]\nexec=/bin/sleep 5\n");
  const char *argv[] = {"check", path, NULL};
  const char *env[] = {"SDVISOR_APP_STOP_TIMEOUT=7s", NULL};
  g_autoptr(SvRun) run = sv_run_start(argv, env);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
  g_autofree char *out = sv_run_stderr(run); /* stdout and stderr share the file */
  g_assert_nonnull(strstr(out, "stop-timeout=7s"));
  g_assert_nonnull(strstr(out, "from SDVISOR_APP_STOP_TIMEOUT"));
  /* Named for its file, and check says so; the program's name only without a file. */
  g_assert_nonnull(strstr(out, "\nname=ok\n"));
  g_assert_nonnull(strstr(out, "# name=ok, from the configuration file's name, "));
  const char *cmd_argv[] = {"check", "--", "/bin/sleep", "5", NULL};
  g_autoptr(SvRun) cmd = sv_run_start(cmd_argv, NULL);
  g_assert_cmpint(sv_run_wait_exit(cmd, WAIT_MS), ==, 0);
  g_autofree char *cmd_out = sv_run_stderr(cmd);
  g_assert_nonnull(strstr(cmd_out, "# name=sleep, from the program's name"));
  g_assert_nonnull(strstr(cmd_out, "SDVISOR_APP_NAME"));
  /* In the schema's order: what the app is first, defaults after it. */
  g_assert_nonnull(strstr(out, "[app]\nname=ok\nexec=/bin/sleep 5\nstop-signal=SIGTERM\n"));
}

/* check --unit: a file that is not there is no input (66), not a configuration error,
 * and nothing is printed before the error; a .container file is checked for podman's
 * pitfalls. */
static void
test_check_unit_missing_and_container(void)
{
  g_autoptr(SvTestDir) dir = sv_test_dir_new("sdvisor-check-XXXXXX");
  g_autofree char *path = write_conf(dir, "ok.conf",
                                     "[app]\nexec=/bin/sleep 5\nstop-timeout=30s\n"
                                     "[health]\ncheck=tcp://127.0.0.1:1\n");
  g_autofree char *missing = g_build_filename(dir, "missing.service", NULL);
  const char *argv[] = {"check", path, "--unit", missing, NULL};
  g_autoptr(SvRun) run = sv_run_start(argv, NULL);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 66);
  g_autofree char *err = sv_run_stderr(run);
  g_assert_nonnull(strstr(err, "missing.service"));
  g_assert_null(strstr(err, "[app]"));

  /* A name that is neither a file nor a unit name. */
  const char *argv2[] = {"check", path, "--unit", "no-such-thing", NULL};
  g_autoptr(SvRun) run2 = sv_run_start(argv2, NULL);
  g_assert_cmpint(sv_run_wait_exit(run2, WAIT_MS), ==, 66);

  g_autofree char *quadlet = g_build_filename(dir, "web.container", NULL);
  g_assert_true(g_file_set_contents(quadlet,
                                    "[Container]\nImage=x\nNotify=true\n"
                                    "PodmanArgs=--stop-timeout=20\n"
                                    "[Service]\nTimeoutStopSec=60\nWatchdogSec=20s\n",
                                    -1, NULL));
  const char *argv3[] = {"check", path, "--unit", quadlet, NULL};
  g_autoptr(SvRun) run3 = sv_run_start(argv3, NULL);
  g_assert_cmpint(sv_run_wait_exit(run3, WAIT_MS), ==, 0);
  g_autofree char *out3 = sv_run_stderr(run3);
  g_assert_nonnull(strstr(out3, "--env=WATCHDOG_USEC"));
  g_assert_nonnull(strstr(out3, "PodmanArgs=--stop-timeout=35"));
}

/* `sdvisor check` lists the next five runs of every job, in order, after now. */
static void
test_check_prints_next_runs(void)
{
  g_autoptr(SvTestDir) dir = sv_test_dir_new("sdvisor-check-XXXXXX");
  g_autofree char *path = write_conf(dir, "jobs.conf",
                                     "[app]\nexec=/bin/sleep 5\n"
                                     "[job:hourly]\nschedule=17 * * * *\ntimezone=UTC\n"
                                     "exec=/bin/true\n"
                                     "[job:seoul]\nschedule=30 3 * * *\n"
                                     "timezone=Asia/Seoul\nexec=/bin/true\n");
  const char *argv[] = {"check", path, NULL};
  gint64 before = g_get_real_time();
  g_autoptr(SvRun) run = sv_run_start(argv, NULL);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
  g_autofree char *out = sv_run_stderr(run);
  const char *line = strstr(out, "\nhourly: next runs ");
  g_assert_nonnull(line);
  /* The list ends at the line's end or at the time zone's name in parentheses. */
  g_autofree char *list = g_strndup(line + strlen("\nhourly: next runs "),
                                    strcspn(line + strlen("\nhourly: next runs "), "\n("));
  g_strchomp(list);
  g_auto(GStrv) times = g_strsplit(list, ", ", -1);
  g_assert_cmpuint(g_strv_length(times), ==, 5);
  gint64 prev = before / G_USEC_PER_SEC;
  for (guint i = 0; i < 5; i++) {
    g_autoptr(GDateTime) t = g_date_time_new_from_iso8601(times[i], NULL);
    g_assert_nonnull(t);
    g_assert_cmpint(g_date_time_get_minute(t), ==, 17);
    g_assert_cmpint(g_date_time_get_second(t), ==, 0);
    gint64 unix_time = g_date_time_to_unix(t);
    g_assert_cmpint(unix_time, >, prev);
    if (i > 0)
      g_assert_cmpint(unix_time - prev, ==, 3600);
    prev = unix_time;
  }
  g_assert_cmpint(prev - before / G_USEC_PER_SEC, <=, 5 * 3600);
  /* Each job's runs in its own time zone, with the offset, and the zone named. */
  const char *seoul = strstr(out, "\nseoul: next runs ");
  g_assert_nonnull(seoul);
  g_autofree char *seoul_line = g_strndup(seoul + 1, strcspn(seoul + 1, "\n"));
  g_auto(GStrv) pieces = g_strsplit(seoul_line, "T03:30:00+09:00", -1);
  g_assert_cmpuint(g_strv_length(pieces), ==, 6); /* five runs, all at 03:30 Seoul time */
  g_assert_true(g_str_has_suffix(seoul_line, "(time zone Asia/Seoul)"));
}

/* GLib < 2.76: `run` executes itself again with G_SLICE=always-malloc (main.c); the
 * kernel's copy of the environment it was executed with shows it. Neither variable
 * reaches the app. A G_SLICE the user set (meson's valgrind setup sets one) is left
 * alone, and does reach the app. */
static void
test_slices_from_malloc(void)
{
  g_autoptr(SvRun) run = start_sleeper();
  g_autofree char *app_env = sv_run_wait_file(run, "app.env", WAIT_MS);
  g_assert_nonnull(app_env);

  g_autofree char *proc = g_strdup_printf("/proc/%d/environ", (int)run->pid);
  g_autofree char *raw = NULL;
  gsize len = 0;
  g_assert_true(g_file_get_contents(proc, &raw, &len, NULL));
  for (gsize i = 0; i < len; i++)
    if (raw[i] == '\0')
      raw[i] = '\n';
  g_autofree char *own = g_strconcat("\n", raw, NULL);
  g_autofree char *seen = g_strconcat("\n", app_env, NULL);

  const char *user = g_getenv("G_SLICE");
  if (user != NULL) {
    g_autofree char *line = g_strdup_printf("\nG_SLICE=%s\n", user);
    g_assert_nonnull(strstr(seen, line));
    g_assert_null(strstr(own, "\nSDVISOR_SLICE_REEXEC="));
  } else if (glib_check_version(2, 76, 0) != NULL) {
    g_assert_nonnull(strstr(own, "\nG_SLICE=always-malloc\n"));
    g_assert_nonnull(strstr(own, "\nSDVISOR_SLICE_REEXEC=1\n"));
    g_assert_null(strstr(seen, "\nG_SLICE="));
  } else {
    g_assert_null(strstr(own, "\nG_SLICE="));
  }
  g_assert_null(strstr(seen, "\nSDVISOR_SLICE_REEXEC="));

  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
}

static void
test_usage_and_version(void)
{
  const char *version[] = {"--version", NULL};
  g_autoptr(SvRun) run = sv_run_start(version, NULL);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
  g_autofree char *out = sv_run_stderr(run);
  g_assert_true(g_str_has_prefix(out, "sdvisor "));

  const char *bogus[] = {"frobnicate", NULL};
  g_autoptr(SvRun) run2 = sv_run_start(bogus, NULL);
  g_assert_cmpint(sv_run_wait_exit(run2, WAIT_MS), ==, 64);

  const char *nothing[] = {"run", NULL};
  const char *noenv[] = {"SDVISOR_CONFIG=", NULL};
  g_autoptr(SvRun) run3 = sv_run_start(nothing, noenv);
  int code = sv_run_wait_exit(run3, WAIT_MS);
  g_assert_true(code == 64 || code == 78);
}

static guint
index_of(SvRun *run, const char *needle)
{
  for (guint i = 0; i < run->messages->len; i++)
    if (strstr(run->messages->pdata[i], needle))
      return i;
  g_assert_not_reached();
}

/* Every EXTEND_TIMEOUT_USEC from STOPPING=1 until the app has stopped is at least
 * MIN_USEC (and within reason); returns how many there were. (Post-stop hooks, after,
 * ask for their own time only.) */
static guint
assert_stop_extends_at_least(SvRun *run, gint64 min_usec)
{
  guint seen = 0;
  guint last = index_of(run, "STATUS=stopped");
  for (guint i = index_of(run, "STOPPING=1"); i < last; i++) {
    const char *m = run->messages->pdata[i];
    if (!strstr(m, "EXTEND_TIMEOUT_USEC="))
      continue;
    gint64 usec = sv_message_number(m, "EXTEND_TIMEOUT_USEC");
    g_test_message("EXTEND_TIMEOUT_USEC=%" G_GINT64_FORMAT, usec);
    g_assert_cmpint(usec, >=, min_usec);
    g_assert_cmpint(usec, <=, min_usec + 10 * 60 * G_USEC_PER_SEC);
    seen++;
  }
  return seen;
}

/* During the stop systemd is asked to wait at least the stop-timeout: its own
 * TimeoutStopSec= must not cut sdvisor's deadline short. */
static void
test_extend_timeout_covers_stop(void)
{
  g_autofree char *app = sv_test_app("sleeper.sh");
  const char *argv[] = {"run", "--", app, NULL};
  const char *env[] = {"SDVISOR_APP_STOP_TIMEOUT=42s", NULL};
  g_autoptr(SvRun) run = sv_run_start(argv, env);
  g_assert_nonnull(sv_run_wait_message(run, "READY=1", WAIT_MS));
  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
  g_assert_cmpuint(assert_stop_extends_at_least(run, 42 * G_USEC_PER_SEC), >=, 1);
}

static void
test_usr1_reaches_grandchild(void)
{
  g_autofree char *app = sv_test_app("grandchild.sh");
  const char *argv[] = {"run", "--", app, NULL};
  g_autoptr(SvRun) run = sv_run_start(argv, NULL);
  g_autofree char *ready = sv_run_wait_file(run, "grandchild.ready", WAIT_MS);
  g_assert_nonnull(ready);
  sv_run_kill(run, SIGUSR1);
  g_autofree char *got = sv_run_wait_file(run, "grandchild.usr1", WAIT_MS);
  g_assert_cmpstr(got, ==, "USR1\n");
  /* The app took it too, and runs on. */
  g_assert_cmpint(sv_run_wait_exit(run, 200), ==, -1);
  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
}

/* VALUE with every "8080" (the demo's port) replaced by PORT. */
static char *
with_port(GKeyFile *kf, const char *group, const char *key, int port)
{
  g_autofree char *value = g_key_file_get_value(kf, group, key, NULL);
  g_assert_nonnull(value);
  g_assert_nonnull(strstr(value, "8080"));
  g_auto(GStrv) parts = g_strsplit(value, "8080", -1);
  g_autofree char *port_text = g_strdup_printf("%d", port);
  return g_strjoinv(port_text, parts);
}

/* Everything the peer sends on FD until it closes, or NULL after TIMEOUT_MS. */
static char *
read_to_eof(int fd, guint timeout_ms)
{
  g_autoptr(GString) text = g_string_new(NULL);
  gint64 deadline = sv_now_ms() + timeout_ms;
  for (;;) {
    gint64 left = deadline - sv_now_ms();
    struct pollfd pfd = {fd, POLLIN, 0};
    if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
      return NULL;
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0)
      return NULL;
    if (n == 0)
      return g_string_free(g_steal_pointer(&text), FALSE);
    g_string_append_len(text, buf, n);
  }
}

/* The README's first Quick start command runs data/examples/demo.conf in the foreground
 * (`./dev demo`); here on a free port rather than 8080. Ctrl-C (SIGINT to sdvisor, the
 * terminal's foreground process: the app has a session of its own) stops it gracefully:
 * a request in flight gets its whole answer and sdvisor exits 0. */
static void
test_demo_ctrl_c(void)
{
  if (g_file_test("/tmp/sdvisor-demo-unhealthy", G_FILE_TEST_EXISTS)) {
    g_test_skip("/tmp/sdvisor-demo-unhealthy exists: the demo would never be ready");
    return;
  }
  /* The source root: G_TEST_SRCDIR is its tests/ folder. */
  g_autofree char *root = g_canonicalize_filename("..", g_test_get_dir(G_TEST_DIST));
  g_autofree char *conf = g_build_filename(root, "data", "examples", "demo.conf", NULL);
  g_autoptr(GKeyFile) kf = g_key_file_new();
  g_assert_true(g_key_file_load_from_file(kf, conf, G_KEY_FILE_NONE, NULL));

  /* The demo as it is, but for its port: the environment overrides every place it is
   * spelled. */
  int port = sv_free_port();
  g_autofree char *exec = with_port(kf, "app", "exec", port);
  g_autofree char *ready = with_port(kf, "ready", "check", port);
  g_autofree char *health = with_port(kf, "health", "check", port);
  g_autofree char *exec_env = g_strconcat("SDVISOR_APP_EXEC=", exec, NULL);
  g_autofree char *ready_env = g_strconcat("SDVISOR_READY_CHECK=", ready, NULL);
  g_autofree char *health_env = g_strconcat("SDVISOR_HEALTH_CHECK=", health, NULL);
  g_autofree char *root_env = g_strconcat("SVTEST_ROOT=", root, NULL);
  const char *env[] = {exec_env, ready_env, health_env, root_env, NULL};
  const char *argv[] = {"-c",
                        "cd \"$SVTEST_ROOT\" && exec $SVTEST_SDVISOR_PREFIX \"$SDVISOR_BINARY\" "
                        "run --config data/examples/demo.conf",
                        NULL};
  g_autoptr(SvRun) run = sv_run_start_shell(argv, env);
  g_assert_nonnull(sv_run_wait_message(run, "READY=1", WAIT_MS));

  /* A request that takes a while (longer where sdvisor is slowed down, so that the stop
   * still comes in the middle of it). */
  int seconds = sv_test_slow() ? 7 : 2;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_port = htons((guint16)port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof sa), ==, 0);
  g_autofree char *request =
      g_strdup_printf("GET /slow?seconds=%d HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", seconds);
  g_assert_cmpint(send(fd, request, strlen(request), MSG_NOSIGNAL), ==, (ssize_t)strlen(request));
  g_assert_true(accept_queue_empty(port, WAIT_MS)); /* the app has accepted it */

  sv_run_kill(run, SIGINT);
  g_assert_nonnull(sv_run_wait_message(run, "STOPPING=1", WAIT_MS));
  g_autofree char *response = read_to_eof(fd, WAIT_MS);
  close(fd);
  g_assert_nonnull(response);
  g_autofree char *body = g_strdup_printf("\r\n\r\nslept %d.0 s\n", seconds);
  g_assert_true(g_str_has_prefix(response, "HTTP/1.0 200 "));
  g_assert_true(g_str_has_suffix(response, body));
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);

  /* The stop began while the request was in flight: the app logged the stop signal
   * before the answer. And systemd was asked to wait the demo's stop-timeout. */
  g_autofree char *err = sv_run_stderr(run);
  const char *term = strstr(err, "SIGTERM: finishing requests in flight");
  g_autofree char *logged = g_strdup_printf("\"GET /slow?seconds=%d HTTP/1.0\" 200", seconds);
  const char *answered = strstr(err, logged);
  if (term == NULL || answered == NULL || term > answered)
    g_test_message("sdvisor's stderr:\n%s", err);
  g_assert_nonnull(term);
  g_assert_nonnull(answered);
  g_assert_true(term < answered);
  g_assert_nonnull(strstr(err, "SIGINT received: stopping app"));
  g_autofree char *stop_timeout = g_key_file_get_value(kf, "app", "stop-timeout", NULL);
  gint64 stop_usec = 0;
  g_assert_true(sv_timespan_parse(stop_timeout, &stop_usec, NULL));
  g_assert_cmpuint(assert_stop_extends_at_least(run, stop_usec), >=, 1);
}

/* The status code of GET PATH on 127.0.0.1:PORT (HTTP/1.0), or -1. */
static int
http_status(int port, const char *path)
{
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_port = htons((guint16)port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    if (fd >= 0)
      close(fd);
    return -1;
  }
  g_autofree char *request = g_strdup_printf("GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
  g_autofree char *response = NULL;
  if (send(fd, request, strlen(request), MSG_NOSIGNAL) == (ssize_t)strlen(request))
    response = read_to_eof(fd, WAIT_MS);
  close(fd);
  int code = -1;
  if (response == NULL || sscanf(response, "HTTP/1.%*d %d", &code) != 1)
    return -1;
  return code;
}

/* Draining made true (docs/guide.md): from STOPPING=1 on, the file SDVISOR_DRAIN_FILE
 * names (in $RUNTIME_DIRECTORY) exists, and the sample Flask app under real gunicorn
 * answers /healthz with 503 during stop-delay while it still serves; the stop signal
 * comes only after stop-delay, and the file is gone when sdvisor exits. */
static void
test_drain_file_during_stop_delay(void)
{
  if (!g_file_test("/usr/bin/gunicorn", G_FILE_TEST_IS_EXECUTABLE)) {
    g_test_skip("needs gunicorn and python3-flask");
    return;
  }
  g_autofree char *apps = g_canonicalize_filename("apps", g_test_get_dir(G_TEST_DIST));
  g_autofree char *runtime = g_dir_make_tmp("sdvisor-drain-XXXXXX", NULL);
  g_autofree char *drain = g_build_filename(runtime, "draining", NULL);
  g_autofree char *conf = g_build_filename(runtime, "shop.conf", NULL);
  int port = sv_free_port();
  int delay_ms = sv_test_slow() ? 6000 : 3000;
  g_autofree char *text = g_strdup_printf(
      "[app]\nname=shop\n"
      "exec=/usr/bin/python3 -m gunicorn -c gunicorn.conf.py --bind 127.0.0.1:%d app_flask:app\n"
      "working-directory=%s\nstop-delay=%dms\n"
      "[ready]\ncheck=http://127.0.0.1:%d/healthz\ntimeout=60s\n",
      port, apps, delay_ms, port);
  g_assert_true(g_file_set_contents(conf, text, -1, NULL));
  g_chmod(conf, 0644);
  /* A leftover of an sdvisor killed mid-stop goes at start. */
  g_assert_true(g_file_set_contents(drain, "", 0, NULL));
  g_autofree char *runtime_env = g_strconcat("RUNTIME_DIRECTORY=", runtime, NULL);
  const char *env[] = {runtime_env, NULL};
  const char *argv[] = {"run", "--config", conf, NULL};
  g_autoptr(SvRun) run = sv_run_start(argv, env);
  g_assert_nonnull(sv_run_wait_message(run, "READY=1", 60 * 1000));
  g_assert_false(g_file_test(drain, G_FILE_TEST_EXISTS));
  g_assert_cmpint(http_status(port, "/healthz"), ==, 200);

  gint64 stop = sv_now_ms();
  sv_run_kill(run, SIGTERM);
  g_assert_nonnull(sv_run_wait_message(run, "STOPPING=1", WAIT_MS));
  g_assert_true(g_file_test(drain, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpint(http_status(port, "/healthz"), ==, 503);
  g_assert_cmpint(http_status(port, "/health"), ==, 200); /* still serving */
  /* Still within stop-delay: no stop signal yet. */
  g_assert_cmpint(sv_now_ms() - stop, <, delay_ms);
  g_autofree char *err = sv_run_stderr(run);
  g_assert_null(strstr(err, "sending SIGTERM"));
  g_assert_null(strstr(err, "with SIGTERM"));

  /* gunicorn 20.1 itself may take its graceful_timeout (gunicorn.conf.py: 20 s) here: a
   * worker that the tree's SIGTERM ends before the master handles its own is replaced
   * (the master's loop calls manage_workers() before it reads its signal queue), and the
   * replacement, forked with the master's handlers, swallows the master's SIGTERM. */
  int exit_code = sv_run_wait_exit(run, WAIT_MS + delay_ms + 20000);
  if (exit_code != 0) {
    g_autofree char *late = sv_run_stderr(run);
    g_test_message("sdvisor's stderr:\n%s", late);
  }
  g_assert_cmpint(exit_code, ==, 0);
  g_assert_cmpint(sv_now_ms() - stop, >=, delay_ms);
  g_assert_false(g_file_test(drain, G_FILE_TEST_EXISTS));
  /* The stop signal is logged once it is really sent, after the stop-delay. */
  g_autofree char *all = sv_run_stderr(run);
  g_assert_nonnull(strstr(all, "SIGTERM received: stopping app"));
  g_assert_nonnull(strstr(all, "sending SIGTERM to app (pid"));
  g_unlink(conf);
  g_rmdir(runtime);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  /* The harness waits for its children itself. */
  signal(SIGCHLD, SIG_DFL);
  g_test_add_func("/run/notify/ready-status-stopping-sequence", test_notify_sequence);
  g_test_add_func("/run/notify/extend-timeout-covers-stop-timeout",
                  test_extend_timeout_covers_stop);
  g_test_add_func("/run/exit/app-code-passed-through", test_exit_code);
  g_test_add_func("/run/exit/killed-by-signal-is-128-plus-n", test_killed_by_signal);
  g_test_add_func("/run/exit/missing-executable-is-127", test_missing_executable);
  g_test_add_func("/run/exit/not-executable-is-126", test_not_executable);
  g_test_add_func("/run/signals/term-reaches-grandchild-in-group", test_term_reaches_grandchild);
  g_test_add_func("/run/signals/usr1-reaches-grandchild-in-group", test_usr1_reaches_grandchild);
  g_test_add_func("/run/signals/stop-timeout-then-sigkill", test_stop_timeout_kills);
  g_test_add_func("/run/signals/second-term-kills-at-once", test_second_term_kills_at_once);
  g_test_add_func("/run/signals/forwarded-and-reload", test_signals_forwarded);
  g_test_add_func("/run/pid1/reaps-orphans-in-pid-namespace", test_pid1_reaps_orphans);
  g_test_add_func("/run/config/bad-config-exits-78-with-file-line", test_bad_config);
  g_test_add_func("/run/config/check-prints-effective", test_check_prints_effective);
  g_test_add_func("/run/config/check-prints-next-five-runs", test_check_prints_next_runs);
  g_test_add_func("/run/config/check-unit-missing-and-container",
                  test_check_unit_missing_and_container);
  g_test_add_func("/run/cli/usage-and-version", test_usage_and_version);
  g_test_add_func("/run/demo/ctrl-c-finishes-request-in-flight", test_demo_ctrl_c);
  g_test_add_func("/run/drain/file-and-healthz-503-during-stop-delay",
                  test_drain_file_during_stop_delay);
  g_test_add_func("/run/memory/slices-from-malloc-before-glib-2.76", test_slices_from_malloc);
  return g_test_run();
}
