/* test-hooks.c — [hook:NAME] against the app's life, through the built binary: the order
 * of every event, the environment each hook sees, STATUS= and EXTEND_TIMEOUT_USEC while
 * hooks run, timeouts that kill a hook's process group, on-error=fail|ignore, a
 * pre-start failure (exit 125, no app), post-stop after a crash, a failed start and a
 * missed readiness deadline (exit 124, on-failure then post-stop), on-unhealthy before
 * WATCHDOG=trigger, and reload: a valid and a broken configuration, [log] settings that
 * apply to the running app's output (seen by a fake journald), restart-only settings
 * kept, a job added, READY=1 only once the readiness checks pass again.
 *
 * Every hook and the app are small shell scripts this program writes at start: each
 * appends "WHAT WHO PID NANOSECONDS" to $SVTEST_DIR/events, so the test reads back the
 * order in which things really happened. A run's configuration is written by a wrapper
 * shell into the run's own directory (@DIR@ in the text becomes that directory), then
 * the wrapper execs sdvisor — so the wrapper's pid is sdvisor's. */
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"

#define WAIT_MS (sv_test_slow() ? 60000 : 10000)

/* How most configurations here begin: the app, ready once it has written app.pid. */
#define APP_READY_ON_PID                                                                           \
  "[app]\n"                                                                                        \
  "exec=@APP@\n"                                                                                   \
  "[ready]\n"                                                                                      \
  "check=file:@DIR@/app.pid\n"

/* How the configurations of failures end: hook alert on-failure, hook cleanup at
 * post-stop. */
#define FAILURE_HOOKS                                                                              \
  "[hook:alert]\n"                                                                                 \
  "when=on-failure\n"                                                                              \
  "exec=@HOOK@\n"                                                                                  \
  "[hook:cleanup]\n"                                                                               \
  "when=post-stop\n"                                                                               \
  "exec=@HOOK@\n"

static char *scripts_dir;
static char *hook_script;
static char *app_script;

/* A hook: logs itself, dumps its environment, notes whether the app (app.pid) is still
 * there, says so on stdout, then does what its environment= asks. */
static const char hook_text[] =
    "#!/bin/sh\n"
    "echo \"$SDVISOR_EVENT $SDVISOR_HOOK $$ $(date +%s%N)\" >> \"$SVTEST_DIR/events\"\n"
    "env > \"$SVTEST_DIR/env-$SDVISOR_HOOK-$SDVISOR_EVENT\"\n"
    "if [ -s \"$SVTEST_DIR/app.pid\" ] && kill -0 \"$(cat \"$SVTEST_DIR/app.pid\")\" 2>/dev/null; "
    "then\n"
    "  echo alive > \"$SVTEST_DIR/app-at-$SDVISOR_HOOK-$SDVISOR_EVENT\"\n"
    "else\n"
    "  echo gone > \"$SVTEST_DIR/app-at-$SDVISOR_HOOK-$SDVISOR_EVENT\"\n"
    "fi\n"
    "echo \"hook says $SDVISOR_EVENT $SDVISOR_HOOK\"\n"
    "if [ -n \"$HOOK_RM\" ]; then rm -f \"$HOOK_RM\"; fi\n"
    "if [ -n \"$HOOK_HANG\" ]; then\n"
    "  sleep 100 & echo $! > \"$SVTEST_DIR/child-$SDVISOR_HOOK\"\n"
    "  sleep 100\n"
    "fi\n"
    "if [ -n \"$HOOK_SLEEP\" ]; then sleep \"$HOOK_SLEEP\"; fi\n"
    "echo \"end $SDVISOR_EVENT $SDVISOR_HOOK $$ $(date +%s%N)\" >> \"$SVTEST_DIR/events\"\n"
    "exit \"${HOOK_EXIT:-0}\"\n";

/* The app: logs its start, TERM and HUP (also on stdout); crashes (SIGKILL) after
 * APP_CRASH_AFTER (counted from the end of the hooks of event APP_CRASH_AFTER_HOOK, if
 * set, so that a slow sdvisor under valgrind cannot reorder them). It writes app.pid last, which the [ready] file: check waits for; with
 * APP_HUP_READY it writes it again that long after each HUP ("app reready"). */
static const char app_text[] =
    "#!/bin/sh\n"
    "echo \"app start $$ $(date +%s%N)\" >> \"$SVTEST_DIR/events\"\n"
    "echo \"app says start\"\n"
    "trap 'echo \"app term $$ $(date +%s%N)\" >> \"$SVTEST_DIR/events\"; exit 0' TERM\n"
    "trap 'echo \"app hup $$ $(date +%s%N)\" >> \"$SVTEST_DIR/events\"; echo \"app says hup\"; "
    "if [ -n \"$APP_HUP_READY\" ]; then sleep \"$APP_HUP_READY\"; "
    "echo \"app reready $$ $(date +%s%N)\" >> \"$SVTEST_DIR/events\"; "
    "echo $$ > \"$SVTEST_DIR/app.pid\"; fi' HUP\n"
    "env > \"$SVTEST_DIR/app.env\"\n"
    "echo $$ > \"$SVTEST_DIR/app.pid\"\n"
    "if [ -n \"$APP_CRASH_AFTER\" ]; then\n"
    "  if [ -n \"$APP_CRASH_AFTER_HOOK\" ]; then\n"
    "    until grep -q \"^end $APP_CRASH_AFTER_HOOK \" \"$SVTEST_DIR/events\"; do sleep 0.02; "
    "done\n"
    "  fi\n"
    "  sleep \"$APP_CRASH_AFTER\"\n"
    "  echo \"app crash $$ $(date +%s%N)\" >> \"$SVTEST_DIR/events\"\n"
    "  kill -KILL $$\n"
    "fi\n"
    "while [ -d \"$SVTEST_DIR\" ]; do sleep 0.05; done\n";

/* "@HOOK@" and "@APP@" become the scripts' paths now; "@DIR@" becomes the run's
 * directory in the wrapper, once it exists. */
static char *
config_text(const char *text)
{
  g_autoptr(GString) s = g_string_new(text);
  g_string_replace(s, "@HOOK@", hook_script, 0);
  g_string_replace(s, "@APP@", app_script, 0);
  return g_string_free(g_steal_pointer(&s), FALSE);
}

/* Starts sdvisor with TEXT as its configuration file. WATCHDOG_USEC > 0 gives sdvisor a
 * systemd watchdog of its own (WATCHDOG_PID is the wrapper's pid, which exec keeps).
 * PRIVATE_JOURNAL: in a mount namespace of its own, with a tmpfs over /run, where
 * sdvisor waits for a socket at /run/systemd/journal/socket before it starts: the test
 * binds a fake journald there (journal_bind()) and sees every field of every entry. */
static SvRun *
start_config_full(const char *text, guint watchdog_usec, gboolean private_journal)
{
  g_autofree char *config = config_text(text);
  g_autofree char *config_env = g_strconcat("SVTEST_CONFIG=", config, NULL);
  g_autofree char *watchdog_env = g_strdup_printf("WATCHDOG_USEC=%u", watchdog_usec);
  const char *script = "printf '%s\\n' \"$SVTEST_CONFIG\" | sed \"s|@DIR@|$SVTEST_DIR|g\" > "
                       "\"$SVTEST_DIR/sdvisor.conf\" "
                       "&& if [ -n \"$SVTEST_WATCHDOG\" ]; then export WATCHDOG_PID=$$; fi "
                       "&& mkdir -p \"$SVTEST_DIR/state\" "
                       "&& export STATE_DIRECTORY=\"$SVTEST_DIR/state\" "
                       "&& unset SVTEST_CONFIG SVTEST_WATCHDOG SVTEST_INNER "
                       "&& exec $SVTEST_SDVISOR_PREFIX \"$SDVISOR_BINARY\" run --config "
                       "\"$SVTEST_DIR/sdvisor.conf\"";
  g_autoptr(GPtrArray) env = g_ptr_array_new();
  g_ptr_array_add(env, config_env);
  if (watchdog_usec > 0) {
    g_ptr_array_add(env, watchdog_env);
    g_ptr_array_add(env, "SVTEST_WATCHDOG=1");
  }
  g_autofree char *inner =
      g_strconcat("mount -t tmpfs -o mode=0755 tmpfs /run && mkdir -p /run/systemd/journal "
                  "&& : > \"$SVTEST_DIR/ns-ready\" "
                  "&& while [ ! -S /run/systemd/journal/socket ]; do sleep 0.02; done && ",
                  script, NULL);
  g_autofree char *inner_env = g_strconcat("SVTEST_INNER=", inner, NULL);
  if (private_journal)
    g_ptr_array_add(env, inner_env);
  g_ptr_array_add(env, NULL);
  /* unshare execs the inner shell in its own place: run->pid stays sdvisor's. */
  const char *argv[] = {"-c",
                        private_journal
                            ? "exec unshare -m --propagation private /bin/sh -c \"$SVTEST_INNER\""
                            : script,
                        NULL};
  return sv_run_start_shell(argv, (const char *const *)env->pdata);
}

static SvRun *
start_config(const char *text, guint watchdog_usec)
{
  return start_config_full(text, watchdog_usec, FALSE);
}

/* Rewrites the run's configuration file (for reload), @DIR@ filled in. */
static void
rewrite_config(SvRun *run, const char *text)
{
  g_autoptr(GString) s = g_string_new(text);
  g_string_replace(s, "@HOOK@", hook_script, 0);
  g_string_replace(s, "@APP@", app_script, 0);
  g_string_replace(s, "@DIR@", run->dir, 0);
  sv_run_write_config(run, s->str);
}

typedef struct {
  char *what; /* "pre-start prepare", "app start", "end reload r1" */
  pid_t pid;
  gint64 ns;
} Event;

static void
event_free(gpointer data)
{
  Event *e = data;
  g_free(e->what);
  g_free(e);
}

/* The events file; with ENDS, the "end …" lines too. */
static GPtrArray *
read_events(SvRun *run, gboolean ends)
{
  GPtrArray *events = g_ptr_array_new_with_free_func(event_free);
  g_autofree char *path = sv_run_path(run, "events");
  g_autofree char *text = NULL;
  if (!g_file_get_contents(path, &text, NULL, NULL))
    return events;
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  for (char **l = lines; *l != NULL; l++) {
    g_auto(GStrv) w = g_strsplit(*l, " ", -1);
    guint n = g_strv_length(w);
    if (n < 4)
      continue;
    gboolean is_end = g_str_equal(w[0], "end");
    if (is_end && !ends)
      continue;
    Event *e = g_new0(Event, 1);
    e->what =
        is_end ? g_strdup_printf("end %s %s", w[1], w[2]) : g_strdup_printf("%s %s", w[0], w[1]);
    e->pid = (pid_t)atoi(w[n - 2]);
    e->ns = g_ascii_strtoll(w[n - 1], NULL, 10);
    g_ptr_array_add(events, e);
  }
  return events;
}

static char *
events_string(GPtrArray *events)
{
  GString *s = g_string_new(NULL);
  for (guint i = 0; i < events->len; i++)
    g_string_append_printf(s, "%s%s", i ? ", " : "", ((Event *)events->pdata[i])->what);
  return g_string_free(s, FALSE);
}

static void
assert_events(SvRun *run, const char *expected)
{
  g_autoptr(GPtrArray) events = read_events(run, FALSE);
  g_autofree char *got = events_string(events);
  g_assert_cmpstr(got, ==, expected);
}

static const Event *
find_event(GPtrArray *events, const char *what)
{
  for (guint i = 0; i < events->len; i++)
    if (g_str_equal(((Event *)events->pdata[i])->what, what))
      return events->pdata[i];
  return NULL;
}

/* Index of the first datagram with NEEDLE, or -1. */
static int
message_index(SvRun *run, const char *needle)
{
  for (guint i = 0; i < run->messages->len; i++)
    if (strstr(run->messages->pdata[i], needle))
      return (int)i;
  return -1;
}

static gboolean
env_has(const char *env, const char *line)
{
  g_auto(GStrv) lines = g_strsplit(env, "\n", -1);
  return g_strv_contains((const char *const *)lines, line);
}

static gboolean
env_has_name(const char *env, const char *name)
{
  g_autofree char *prefix = g_strconcat(name, "=", NULL);
  g_auto(GStrv) lines = g_strsplit(env, "\n", -1);
  for (char **l = lines; *l != NULL; l++)
    if (g_str_has_prefix(*l, prefix))
      return TRUE;
  return FALSE;
}

static char *
read_run_file(SvRun *run, const char *name)
{
  char *text = sv_run_wait_file(run, name, 0);
  g_assert_nonnull(text);
  return text;
}

/* ---- the order of every event against the app's life ------------------------------------ */

static const char lifecycle_config[] =
    "[app]\n"
    "name=shop\n"
    "exec=@APP@\n"
    "stop-delay=300ms\n"
    "[ready]\n"
    "check=file:@DIR@/app.pid\n"
    "[hook:prepare]\n"
    "when=pre-start\n"
    "exec=@HOOK@\n"
    "[hook:migrate]\n"
    "when=pre-start\n"
    "exec=@HOOK@\n"
    "environment=HOOK_SLEEP=0.3\n"
    "[hook:warm]\n"
    "when=post-start\n"
    "exec=@HOOK@\n"
    "[hook:drain]\n"
    "when=pre-stop\n"
    "exec=@HOOK@\n"
    "[hook:cleanup]\n"
    "when=post-stop\n"
    "exec=@HOOK@\n"
    "[hook:every]\n"
    "when=pre-start post-start pre-stop post-stop reload on-failure on-unhealthy\n"
    "exec=@HOOK@\n";

static void
test_lifecycle_order(void)
{
  g_autoptr(SvRun) run = start_config(lifecycle_config, 0);
  g_assert_nonnull(sv_run_wait_message(run, "READY=1", WAIT_MS));
  g_assert_true(sv_run_wait_stderr(run, "hook every (post-start) finished", WAIT_MS));

  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);

  assert_events(run, "pre-start prepare, pre-start migrate, pre-start every, app start, "
                     "post-start warm, post-start every, pre-stop drain, pre-stop every, "
                     "app term, post-stop cleanup, post-stop every");

  /* stop-delay is the pause between the end of the pre-stop hooks and the stop signal. */
  g_autoptr(GPtrArray) events = read_events(run, TRUE);
  const Event *pre_stop_end = find_event(events, "end pre-stop every");
  const Event *term = find_event(events, "app term");
  g_assert_nonnull(pre_stop_end);
  g_assert_nonnull(term);
  g_assert_cmpint(term->ns - pre_stop_end->ns, >=, G_GINT64_CONSTANT(290000000));

  /* Against systemd's view: post-start after READY=1, pre-stop after STOPPING=1. */
  int ready = message_index(run, "READY=1");
  int stopping = message_index(run, "STOPPING=1");
  int status_prepare = message_index(run, "running hook prepare");
  int status_warm = message_index(run, "running hook warm");
  int status_drain = message_index(run, "running hook drain");
  int status_cleanup = message_index(run, "running hook cleanup");
  g_assert_cmpint(status_prepare, >=, 0);
  g_assert_cmpint(status_prepare, <, ready);
  g_assert_cmpint(ready, <, status_warm);
  g_assert_cmpint(status_warm, <, stopping);
  g_assert_cmpint(stopping, <, status_drain);
  g_assert_cmpint(status_drain, <, status_cleanup);
}

/* STATUS= names the running hook (with its pid), and EXTEND_TIMEOUT_USEC keeps systemd
 * waiting while start and stop hooks run. */
static void
test_status_names_hook(void)
{
  g_autoptr(SvRun) run = start_config(lifecycle_config, 0);
  g_assert_nonnull(sv_run_wait_message(run, "READY=1", WAIT_MS));
  g_assert_true(sv_run_wait_stderr(run, "hook every (post-start) finished", WAIT_MS));
  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);

  g_autoptr(GPtrArray) events = read_events(run, FALSE);
  const char *hooks[][2] = {
      {"pre-start", "prepare"}, {"pre-start", "migrate"}, {"post-start", "warm"},
      {"pre-stop", "drain"},    {"post-stop", "cleanup"},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(hooks); i++) {
    g_autofree char *what = g_strdup_printf("%s %s", hooks[i][0], hooks[i][1]);
    const Event *e = find_event(events, what);
    g_assert_nonnull(e);
    g_autofree char *name = g_strdup_printf("running hook %s (pid %d)", hooks[i][1], (int)e->pid);
    int status = message_index(run, name);
    if (status < 0)
      g_test_message("no STATUS= with '%s'", name);
    g_assert_cmpint(status, >=, 0);
    g_assert_nonnull(strstr(run->messages->pdata[status], "STATUS="));
    g_assert_nonnull(strstr(run->messages->pdata[status], hooks[i][0]));
    /* The extension follows the hook's start, before anything else happens. */
    gboolean extended = FALSE;
    for (guint m = (guint)status; m < run->messages->len && m <= (guint)status + 1; m++)
      if (strstr(run->messages->pdata[m], "EXTEND_TIMEOUT_USEC="))
        extended = TRUE;
    if (!extended)
      g_test_message("no EXTEND_TIMEOUT_USEC= with the start of '%s'", what);
    g_assert_true(extended);
  }
  /* Once the post-start hooks are over, systemctl status says "running" again rather
   * than naming a hook that ended long ago. */
  int last_post_start = -1, running_after = -1;
  for (guint m = 0; m < run->messages->len; m++) {
    const char *msg = run->messages->pdata[m];
    if (strstr(msg, "STOPPING=1"))
      break;
    if (strstr(msg, "STATUS=post-start: running hook"))
      last_post_start = (int)m;
    else if (last_post_start >= 0 && running_after < 0 && strstr(msg, "STATUS=running"))
      running_after = (int)m;
  }
  g_assert_cmpint(last_post_start, >=, 0);
  g_assert_cmpint(running_after, >, last_post_start);
}

/* ---- the environment ------------------------------------------------------------------ */

static void
test_environment(void)
{
  static const char config[] = "[app]\n"
                               "name=shop\n"
                               "exec=@APP@\n"
                               "environment=APP_VAR=from-app SHARED=app\n"
                               "[ready]\n"
                               "check=file:@DIR@/app.pid\n"
                               "[hook:h]\n"
                               "when=pre-start post-start pre-stop post-stop\n"
                               "exec=@HOOK@\n"
                               "environment=HOOK_VAR=from-hook SHARED=hook\n";
  g_autoptr(SvRun) run = start_config(config, 0);
  g_assert_nonnull(sv_run_wait_message(run, "READY=1", WAIT_MS));
  g_assert_true(sv_run_wait_stderr(run, "hook h (post-start) finished", WAIT_MS));
  g_autofree char *app_pid_text = read_run_file(run, "app.pid");
  int app_pid = atoi(app_pid_text);
  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);

  const char *events[] = {"pre-start", "post-start", "pre-stop", "post-stop"};
  for (gsize i = 0; i < G_N_ELEMENTS(events); i++) {
    g_autofree char *name = g_strdup_printf("env-h-%s", events[i]);
    g_autofree char *env = read_run_file(run, name);
    g_autofree char *event_line = g_strdup_printf("SDVISOR_EVENT=%s", events[i]);
    g_test_message("%s", name);
    g_assert_true(env_has(env, event_line));
    g_assert_true(env_has(env, "SDVISOR_HOOK=h"));
    g_assert_true(env_has(env, "SDVISOR_APP_NAME=shop"));
    g_assert_true(env_has(env, "APP_VAR=from-app"));
    g_assert_true(env_has(env, "HOOK_VAR=from-hook"));
    g_assert_true(env_has(env, "SHARED=hook"));
    /* What systemd gave sdvisor, and what sdvisor gives the app alone, stays there. */
    g_assert_false(env_has_name(env, "NOTIFY_SOCKET"));
    g_assert_false(env_has_name(env, "WATCHDOG_USEC"));
    g_assert_false(env_has_name(env, "LISTEN_FDS"));
  }

  g_autofree char *pre_start = read_run_file(run, "env-h-pre-start");
  g_assert_false(env_has_name(pre_start, "SDVISOR_APP_PID"));
  g_assert_false(env_has_name(pre_start, "SDVISOR_EXIT_CODE"));
  g_assert_false(env_has_name(pre_start, "SDVISOR_EXIT_STATUS"));

  g_autofree char *pid_line = g_strdup_printf("SDVISOR_APP_PID=%d", app_pid);
  g_autofree char *post_start = read_run_file(run, "env-h-post-start");
  g_assert_true(env_has(post_start, pid_line));
  g_assert_false(env_has_name(post_start, "SDVISOR_EXIT_CODE"));
  g_autofree char *pre_stop = read_run_file(run, "env-h-pre-stop");
  g_assert_true(env_has(pre_stop, pid_line));
  g_assert_false(env_has_name(pre_stop, "SDVISOR_EXIT_CODE"));

  /* The app caught SIGTERM and exited 0. */
  g_autofree char *post_stop = read_run_file(run, "env-h-post-stop");
  g_assert_true(env_has(post_stop, "SDVISOR_EXIT_CODE=0"));
  g_assert_true(env_has(post_stop, "SDVISOR_EXIT_STATUS=exited"));
}

/* ---- failures ------------------------------------------------------------------------- */

static void
test_post_stop_after_crash(void)
{
  static const char config[] = "[app]\n"
                               "exec=@APP@\n"
                               "environment=APP_CRASH_AFTER=0.2 APP_CRASH_AFTER_HOOK=post-start\n"
                               "[ready]\n"
                               "check=file:@DIR@/app.pid\n"
                               "[hook:started]\n"
                               "when=post-start\n"
                               "exec=@HOOK@\n"
                               "[hook:alert]\n"
                               "when=on-failure\n"
                               "exec=@HOOK@\n"
                               "[hook:cleanup]\n"
                               "when=post-stop\n"
                               "exec=@HOOK@\n"
                               "[hook:drain]\n"
                               "when=pre-stop\n"
                               "exec=@HOOK@\n";
  g_autoptr(SvRun) run = start_config(config, 0);
  /* The app's status is sdvisor's: 128+SIGKILL. */
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 137);
  /* Nothing to drain: the app is gone, no pre-stop. */
  assert_events(run,
                "app start, post-start started, app crash, on-failure alert, post-stop cleanup");

  const char *files[] = {"env-alert-on-failure", "env-cleanup-post-stop"};
  for (gsize i = 0; i < G_N_ELEMENTS(files); i++) {
    g_autofree char *env = read_run_file(run, files[i]);
    g_assert_true(env_has(env, "SDVISOR_EXIT_CODE=137"));
    g_assert_true(env_has(env, "SDVISOR_EXIT_STATUS=killed"));
  }
}

static void
test_pre_start_failure(void)
{
  static const char config[] = "[app]\n"
                               "exec=@APP@\n"
                               "[hook:fine]\n"
                               "when=pre-start\n"
                               "exec=@HOOK@\n"
                               "[hook:broken]\n"
                               "when=pre-start\n"
                               "exec=@HOOK@\n"
                               "environment=HOOK_EXIT=3\n"
                               "on-error=fail\n"
                               "[hook:never]\n"
                               "when=pre-start\n"
                               "exec=@HOOK@\n";
  g_autoptr(SvRun) run = start_config(config, 0);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 125);
  /* The sequence stopped at the failure, and the app never started. */
  assert_events(run, "pre-start fine, pre-start broken");
  g_autofree char *app_pid = sv_run_wait_file(run, "app.pid", 0);
  g_assert_null(app_pid);
  g_assert_cmpint(message_index(run, "READY=1"), <, 0);
  g_autofree char *err = sv_run_stderr(run);
  g_assert_nonnull(strstr(err, "hook broken (pre-start) failed: exited with status 3"));
  g_assert_cmpint(message_index(run, "STATUS=failed: pre-start hook"), >=, 0);
}

static void
test_on_error_ignore(void)
{
  static const char config[] = APP_READY_ON_PID "[hook:broken]\n"
                                                "when=pre-start\n"
                                                "exec=@HOOK@\n"
                                                "environment=HOOK_EXIT=3\n"
                                                "on-error=ignore\n"
                                                "[hook:missing]\n"
                                                "when=pre-start\n"
                                                "exec=/nonexistent/hook\n"
                                                "on-error=ignore\n"
                                                "[hook:after]\n"
                                                "when=pre-start\n"
                                                "exec=@HOOK@\n";
  g_autoptr(SvRun) run = start_config(config, 0);
  g_assert_nonnull(sv_run_wait_message(run, "READY=1", WAIT_MS));
  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
  assert_events(run, "pre-start broken, pre-start after, app start, app term");
  g_autofree char *err = sv_run_stderr(run);
  g_assert_nonnull(strstr(err, "hook broken (pre-start) failed: exited with status 3; ignored"));
  g_assert_nonnull(
      strstr(err, "hook missing (pre-start) failed: cannot execute '/nonexistent/hook'"));
}

static void
test_hanging_hook_killed(void)
{
  static const char config[] = APP_READY_ON_PID "[hook:hang]\n"
                                                "when=pre-start\n"
                                                "exec=@HOOK@\n"
                                                "environment=HOOK_HANG=1\n"
                                                "timeout=300ms\n"
                                                "on-error=ignore\n";
  gint64 started = sv_now_ms();
  g_autoptr(SvRun) run = start_config(config, 0);
  g_assert_nonnull(sv_run_wait_message(run, "READY=1", WAIT_MS));
  g_assert_cmpint(sv_now_ms() - started, >=, 300);

  g_autoptr(GPtrArray) events = read_events(run, TRUE);
  const Event *hang = find_event(events, "pre-start hang");
  g_assert_nonnull(hang);
  /* Killed, not finished: no "end" line. */
  g_assert_null(find_event(events, "end pre-start hang"));
  g_autofree char *child_text = read_run_file(run, "child-hang");
  /* The hook and the child it left in its group are gone (sdvisor reaps them). */
  g_assert_true(sv_test_wait_pid_gone(hang->pid, 2000));
  g_assert_true(sv_test_wait_pid_gone((pid_t)atoi(child_text), 2000));
  g_autofree char *err = sv_run_stderr(run);
  g_assert_nonnull(strstr(err, "hook hang (pre-start) timed out after 300ms"));

  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
}

/* ---- liveness ------------------------------------------------------------------------- */

static void
test_on_unhealthy_before_watchdog_trigger(void)
{
  static const char config[] = APP_READY_ON_PID "[health]\n"
                                                "check=\"exec:test ! -e @DIR@/unhealthy\"\n"
                                                "interval=100ms\n"
                                                "timeout=1s\n"
                                                "failure-threshold=2\n"
                                                "[hook:page]\n"
                                                "when=on-unhealthy\n"
                                                "exec=@HOOK@\n"
                                                "environment=HOOK_SLEEP=0.3\n";
  g_autoptr(SvRun) run = start_config(config, 2000000);
  g_assert_nonnull(sv_run_wait_message(run, "READY=1", WAIT_MS));
  g_assert_nonnull(sv_run_wait_message(run, "WATCHDOG=1", WAIT_MS));
  g_assert_cmpint(message_index(run, "WATCHDOG=trigger"), <, 0);

  g_autofree char *flag = sv_run_path(run, "unhealthy");
  g_assert_true(g_file_set_contents(flag, "1", -1, NULL));
  g_assert_nonnull(sv_run_wait_message(run, "WATCHDOG=trigger", WAIT_MS));
  /* By the time systemd is asked to act, the hook has run to its end. */
  g_autoptr(GPtrArray) events = read_events(run, TRUE);
  g_autofree char *got = events_string(events);
  g_test_message("events: %s", got);
  g_assert_nonnull(find_event(events, "end on-unhealthy page"));
  g_assert_cmpint(message_index(run, "running hook page"), <,
                  message_index(run, "WATCHDOG=trigger"));

  g_autofree char *env = read_run_file(run, "env-page-on-unhealthy");
  g_autofree char *app_pid = read_run_file(run, "app.pid");
  g_autofree char *pid_line = g_strdup_printf("SDVISOR_APP_PID=%d", atoi(app_pid));
  g_assert_true(env_has(env, pid_line));
  g_assert_true(env_has(env, "SDVISOR_EVENT=on-unhealthy"));

  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
}

/* ---- reload --------------------------------------------------------------------------- */

static const char reload_config_1[] = APP_READY_ON_PID "[hook:up]\n"
                                                       "when=post-start\n"
                                                       "exec=@HOOK@\n"
                                                       "[hook:first]\n"
                                                       "when=reload\n"
                                                       "exec=@HOOK@\n";

static const char reload_config_2[] = APP_READY_ON_PID "[hook:up]\n"
                                                       "when=post-start\n"
                                                       "exec=@HOOK@\n"
                                                       "[hook:second]\n"
                                                       "when=reload\n"
                                                       "exec=@HOOK@\n";

/* Line 10 is wrong: a broken file must not replace the one in use. */
static const char reload_config_broken[] = APP_READY_ON_PID "[hook:up]\n"
                                                            "when=post-start\n"
                                                            "exec=@HOOK@\n"
                                                            "[hook:third]\n"
                                                            "when=reload\n"
                                                            "timeout=soon\n"
                                                            "exec=@HOOK@\n";

static void
reload_and_wait(SvRun *run, guint n)
{
  (void)sv_run_reload(run, WAIT_MS);
  g_assert_cmpuint(sv_run_count_messages(run, "RELOADING=1", 0), ==, n);
  /* The app's own trap runs between its 50 ms sleeps: wait for its line too. */
  gint64 deadline = sv_now_ms() + WAIT_MS;
  for (;;) {
    g_autoptr(GPtrArray) events = read_events(run, FALSE);
    guint hups = 0;
    for (guint i = 0; i < events->len; i++)
      if (g_str_equal(((Event *)events->pdata[i])->what, "app hup"))
        hups++;
    if (hups >= n || sv_now_ms() > deadline)
      break;
    g_usleep(20 * 1000);
  }
}

static void
test_reload(void)
{
  g_autoptr(SvRun) run = start_config(reload_config_1, 0);
  g_assert_nonnull(sv_run_wait_message(run, "READY=1", WAIT_MS));
  /* Start-up is over once the post-start hooks are (a SIGHUP during them is the
   * subject of the next test). */
  g_assert_true(sv_run_wait_stderr(run, "hook up (post-start) finished", WAIT_MS));

  reload_and_wait(run, 1);
  assert_events(run, "app start, post-start up, reload first, app hup");

  /* A valid new file: its hooks are the ones that run at the next reload. */
  rewrite_config(run, reload_config_2);
  reload_and_wait(run, 2);
  assert_events(run, "app start, post-start up, reload first, app hup, reload second, app hup");

  /* A broken file: the error names file and line, the running configuration stays
   * (the reload still happens, with the "second" hook), and sdvisor stays up. */
  rewrite_config(run, reload_config_broken);
  reload_and_wait(run, 3);
  assert_events(run, "app start, post-start up, reload first, app hup, reload second, app hup, "
                     "reload second, app hup");
  g_autofree char *conf_line = g_strdup_printf("%s/sdvisor.conf:10", run->dir);
  g_autofree char *err = sv_run_stderr(run);
  g_assert_nonnull(strstr(err, conf_line));
  g_assert_nonnull(strstr(err, "keeping the running configuration"));
  g_assert_cmpint(kill(run->pid, 0), ==, 0);

  /* Still a well-behaved service: a clean stop. */
  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
  g_autoptr(GPtrArray) events = read_events(run, FALSE);
  g_assert_cmpstr(((Event *)events->pdata[events->len - 1])->what, ==, "app term");
}

/* systemctl reload while start-up hooks still run: the reload is late, not lost. */
static void
test_reload_during_hooks(void)
{
  static const char config[] = APP_READY_ON_PID "[hook:warm]\n"
                                                "when=post-start\n"
                                                "exec=@HOOK@\n"
                                                "environment=HOOK_SLEEP=0.5\n"
                                                "[hook:r]\n"
                                                "when=reload\n"
                                                "exec=@HOOK@\n";
  g_autoptr(SvRun) run = start_config(config, 0);
  g_assert_nonnull(sv_run_wait_message(run, "running hook warm", WAIT_MS));
  sv_run_kill(run, SIGHUP);
  g_assert_nonnull(sv_run_wait_message(run, "RELOADING=1", WAIT_MS));
  g_assert_true(sv_run_wait_stderr(run, "hook r (reload) finished", WAIT_MS));
  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
  assert_events(run, "app start, post-start warm, reload r, app hup, app term");
}

/* ---- reload: what changes live and what stays -------------------------------------------- */

/* Waits until the events file has WHAT (e.g. "app hup") COUNT times. */
static gboolean
wait_event_count(SvRun *run, const char *what, guint count, guint timeout_ms)
{
  gint64 deadline = sv_now_ms() + timeout_ms;
  do {
    g_autoptr(GPtrArray) events = read_events(run, FALSE);
    guint n = 0;
    for (guint i = 0; i < events->len; i++)
      if (g_str_equal(((Event *)events->pdata[i])->what, what))
        n++;
    if (n >= count)
      return TRUE;
    (void)sv_run_count_messages(run, "", 20);
  } while (sv_now_ms() < deadline);
  return FALSE;
}

/* A fake journald: the socket sdvisor waits for in its namespace (start_config_full()). */
static int
journal_bind(SvRun *run)
{
  /* Once it exists, the tmpfs is over /run in sdvisor's namespace: the socket goes there,
   * not into the host's /run. */
  g_autofree char *ns_ready = sv_run_path(run, "ns-ready");
  gint64 deadline = sv_now_ms() + WAIT_MS;
  while (!g_file_test(ns_ready, G_FILE_TEST_EXISTS) && sv_now_ms() < deadline)
    g_usleep(10 * 1000);
  if (!g_file_test(ns_ready, G_FILE_TEST_EXISTS))
    return -1;
  g_autofree char *path =
      g_strdup_printf("/proc/%d/root/run/systemd/journal/socket", (int)run->pid);
  return sv_fake_journal_bind(path);
}

/* The first entry (of ENTRIES, then of what comes within TIMEOUT_MS) whose MESSAGE is
 * MESSAGE or, with WHOLE false, contains it. */
static GHashTable *
journal_wait_entry_full(int fd, GPtrArray *entries, const char *message, gboolean whole,
                        guint timeout_ms)
{
  gint64 deadline = sv_now_ms() + timeout_ms;
  guint seen = 0;
  for (;;) {
    for (; seen < entries->len; seen++) {
      const char *m = sv_journal_entry_field(entries->pdata[seen], "MESSAGE");
      if (m != NULL && (whole ? strcmp(m, message) == 0 : strstr(m, message) != NULL))
        return entries->pdata[seen];
    }
    if (sv_now_ms() >= deadline)
      return NULL;
    (void)sv_fake_journal_read(fd, entries, 20);
  }
}
#define journal_wait_entry(fd, entries, message, timeout_ms)                                       \
  journal_wait_entry_full((fd), (entries), (message), TRUE, (timeout_ms))
#define journal_wait_entry_part(fd, entries, part, timeout_ms)                                     \
  journal_wait_entry_full((fd), (entries), (part), FALSE, (timeout_ms))

/* ENTRY has NAME=VALUE, as ASSIGNMENT spells it. */
static void
assert_entry_field(GHashTable *entry, const char *assignment)
{
  const char *eq = strchr(assignment, '=');
  g_assert_nonnull(eq);
  g_autofree char *name = g_strndup(assignment, (gsize)(eq - assignment));
  const char *value = sv_journal_entry_field(entry, name);
  if (g_strcmp0(value, eq + 1) != 0)
    g_error("%s is %s%s%s in the entry, not %s", name, value ? "'" : "", value ? value : "absent",
            value ? "'" : "", eq + 1);
}

static const char log_reload_config_1[] = "[app]\n"
                                          "name=shop\n"
                                          "exec=@APP@\n"
                                          "[ready]\n"
                                          "check=file:@DIR@/app.pid\n"
                                          "[log]\n"
                                          "fields=X=1\n"
                                          "[hook:r]\n"
                                          "when=reload\n"
                                          "exec=@HOOK@\n";

/* Identifier, fields= and default priority new; target and line-max changed too, which
 * take a restart. */
static const char log_reload_config_2[] = "[app]\n"
                                          "name=shop\n"
                                          "exec=@APP@\n"
                                          "[ready]\n"
                                          "check=file:@DIR@/app.pid\n"
                                          "[log]\n"
                                          "target=console\n"
                                          "line-max=1K\n"
                                          "identifier=shop-new\n"
                                          "fields=X=2\n"
                                          "priority-stdout=notice\n"
                                          "[hook:r]\n"
                                          "when=reload\n"
                                          "exec=@HOOK@\n";

/* [log] at reload: the app's next line — on the pipe it has had since its start — and a
 * reload hook's output carry the new identifier, fields= and default priority; what came
 * before keeps the old ones; target and line-max stay, and the warning names them. */
static void
test_reload_log_settings(void)
{
  g_autofree char *missing = sv_test_mount_ns_missing();
  if (missing != NULL) {
    sv_test_skip_unless_required(missing);
    return;
  }
  g_autoptr(SvRun) run = start_config_full(log_reload_config_1, 0, TRUE);
  int fd = journal_bind(run);
  if (fd < 0) {
    g_autofree char *err = sv_run_stderr(run);
    if (sv_run_wait_exit(run, 0) >= 0 && (strstr(err, "unshare") || strstr(err, "mount"))) {
      sv_test_skip_unless_required("a private mount namespace with a tmpfs is not permitted here");
      return;
    }
    g_error("no namespace for the fake journald; stderr:\n%s", err);
  }
  g_autoptr(GPtrArray) entries = sv_journal_entries_new();
  g_assert_nonnull(sv_run_wait_message(run, "READY=1", WAIT_MS));

  GHashTable *start = journal_wait_entry(fd, entries, "app says start", WAIT_MS);
  g_assert_nonnull(start);
  assert_entry_field(start, "SYSLOG_IDENTIFIER=shop");
  assert_entry_field(start, "X=1");
  assert_entry_field(start, "PRIORITY=6");
  assert_entry_field(start, "SDVISOR_SOURCE=app");

  g_autofree char *app_pid = read_run_file(run, "app.pid");
  rewrite_config(run, log_reload_config_2);
  (void)sv_run_reload(run, WAIT_MS);
  g_assert_true(wait_event_count(run, "app hup", 1, WAIT_MS));

  /* The running app, on its old pipe. */
  GHashTable *hup = journal_wait_entry(fd, entries, "app says hup", WAIT_MS);
  g_assert_nonnull(hup);
  assert_entry_field(hup, "SYSLOG_IDENTIFIER=shop-new");
  assert_entry_field(hup, "X=2");
  assert_entry_field(hup, "PRIORITY=5");
  assert_entry_field(hup, "SDVISOR_SOURCE=app");
  /* A hook started at the reload. */
  GHashTable *hook = journal_wait_entry(fd, entries, "hook says reload r", WAIT_MS);
  g_assert_nonnull(hook);
  assert_entry_field(hook, "SYSLOG_IDENTIFIER=shop-new");
  assert_entry_field(hook, "X=2");
  assert_entry_field(hook, "SDVISOR_SOURCE=hook");
  assert_entry_field(hook, "SDVISOR_HOOK=r");
  /* sdvisor's own messages carry the fields too, under their own identifier. */
  GHashTable *reloaded =
      journal_wait_entry_part(fd, entries, "reload: [log] settings apply", WAIT_MS);
  g_assert_nonnull(reloaded);
  assert_entry_field(reloaded, "SYSLOG_IDENTIFIER=sdvisor");
  assert_entry_field(reloaded, "X=2");
  GHashTable *warning = journal_wait_entry_part(fd, entries, "that takes a restart", WAIT_MS);
  g_assert_nonnull(warning);
  g_assert_nonnull(
      strstr(sv_journal_entry_field(warning, "MESSAGE"), "[log] target, [log] line-max changed"));

  /* Same app, and still on the journal: target= stays. */
  g_autofree char *app_pid_after = read_run_file(run, "app.pid");
  g_assert_cmpstr(app_pid, ==, app_pid_after);
  sv_run_kill(run, SIGTERM);
  int code = -1;
  gint64 deadline = sv_now_ms() + WAIT_MS;
  while ((code = sv_run_wait_exit(run, 0)) < 0 && sv_now_ms() < deadline)
    (void)sv_fake_journal_read(fd, entries, 20);
  g_assert_cmpint(code, ==, 0);
  (void)sv_fake_journal_read(fd, entries, 100);
  GHashTable *stopped = journal_wait_entry_part(fd, entries, "SIGTERM received", 0);
  g_assert_nonnull(stopped);
  assert_entry_field(stopped, "SYSLOG_IDENTIFIER=sdvisor");
  assert_entry_field(stopped, "X=2");
  g_autofree char *err = sv_run_stderr(run);
  g_assert_null(strstr(err, "app says hup"));
  close(fd);
}

/* [app] environment= takes a restart: reported, and the app (same pid) and the hooks
 * keep the running value. */
static void
test_reload_restart_only_kept(void)
{
  static const char config_1[] = "[app]\n"
                                 "exec=@APP@\n"
                                 "environment=GREETING=old\n"
                                 "[ready]\n"
                                 "check=file:@DIR@/app.pid\n"
                                 "[hook:r]\n"
                                 "when=reload\n"
                                 "exec=@HOOK@\n";
  static const char config_2[] = "[app]\n"
                                 "exec=@APP@\n"
                                 "environment=GREETING=new\n"
                                 "[ready]\n"
                                 "check=file:@DIR@/app.pid\n"
                                 "[hook:r]\n"
                                 "when=reload\n"
                                 "exec=@HOOK@\n";
  g_autoptr(SvRun) run = start_config(config_1, 0);
  g_assert_nonnull(sv_run_wait_message(run, "READY=1", WAIT_MS));
  g_autofree char *pid_before = read_run_file(run, "app.pid");

  rewrite_config(run, config_2);
  (void)sv_run_reload(run, WAIT_MS);
  g_assert_true(wait_event_count(run, "app hup", 1, WAIT_MS));
  g_assert_true(
      sv_run_wait_stderr(run,
                         "reload: [app] environment changed; that takes a restart, the running "
                         "values stay",
                         WAIT_MS));
  /* The app was signalled, not restarted, and has what it started with. */
  assert_events(run, "app start, reload r, app hup");
  g_autofree char *pid_after = read_run_file(run, "app.pid");
  g_assert_cmpstr(pid_before, ==, pid_after);
  g_autofree char *environ_path = g_strdup_printf("/proc/%d/environ", atoi(pid_after));
  g_autofree char *app_environ = NULL;
  gsize len = 0;
  g_assert_true(g_file_get_contents(environ_path, &app_environ, &len, NULL));
  for (gsize i = 0; i < len; i++)
    if (app_environ[i] == '\0')
      app_environ[i] = '\n';
  g_assert_true(env_has(app_environ, "GREETING=old"));
  /* The reload hook starts from the running environment too. */
  g_autofree char *hook_env = read_run_file(run, "env-r-reload");
  g_assert_true(env_has(hook_env, "GREETING=old"));
  g_assert_false(env_has(hook_env, "GREETING=new"));

  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
}

/* A job added at reload runs on its schedule, without a restart of the app. */
static void
test_reload_adds_job(void)
{
  static const char config_1[] = APP_READY_ON_PID;
  static const char config_2[] =
      APP_READY_ON_PID "[job:x]\n"
                       "schedule=every 1s\n"
                       "exec=/bin/sh -c 'echo \"job x $$ $(date +%s%N)\" >> "
                       "\"$SVTEST_DIR/events\"'\n";
  g_autoptr(SvRun) run = start_config(config_1, 0);
  g_assert_nonnull(sv_run_wait_message(run, "READY=1", WAIT_MS));
  g_autofree char *pid_before = read_run_file(run, "app.pid");
  assert_events(run, "app start");

  rewrite_config(run, config_2);
  (void)sv_run_reload(run, WAIT_MS);
  g_assert_true(wait_event_count(run, "job x", 2, WAIT_MS));
  g_autofree char *pid_after = read_run_file(run, "app.pid");
  g_assert_cmpstr(pid_before, ==, pid_after);
  /* The app was signalled, never stopped or started again. Its "hup" may come after the
   * job's first run: that run is at the next whole second, which can be sooner than the
   * app's trap, which waits for its `sleep 0.05` (CI saw it once). */
  g_autoptr(GPtrArray) events = read_events(run, FALSE);
  g_assert_cmpstr(((Event *)events->pdata[0])->what, ==, "app start");
  g_assert_nonnull(find_event(events, "app hup"));
  g_assert_null(find_event(events, "app term"));
  for (guint i = 1; i < events->len; i++)
    g_assert_cmpstr(((Event *)events->pdata[i])->what, !=, "app start");

  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
}

/* READY=1 after a reload waits for the readiness checks: the reload hook takes the file
 * the check looks for away, the app puts it back 400 ms after its SIGHUP. */
static void
test_reload_ready_waits_for_checks(void)
{
  static const char config[] = "[app]\n"
                               "exec=@APP@\n"
                               "environment=APP_HUP_READY=0.4\n"
                               "[ready]\n"
                               "check=file:@DIR@/app.pid\n"
                               "interval=50ms\n"
                               "[hook:r]\n"
                               "when=reload\n"
                               "exec=@HOOK@\n"
                               "environment=HOOK_RM=@DIR@/app.pid\n";
  g_autoptr(SvRun) run = start_config(config, 0);
  g_assert_nonnull(sv_run_wait_message(run, "READY=1", WAIT_MS));
  guint reloading_before = sv_run_count_messages(run, "RELOADING=1", 0);

  gint64 ready_seen = sv_run_reload(run, WAIT_MS);
  g_assert_cmpuint(sv_run_count_messages(run, "RELOADING=1", 0), ==, reloading_before + 1);
  g_assert_true(wait_event_count(run, "app reready", 1, WAIT_MS));
  g_autoptr(GPtrArray) events = read_events(run, FALSE);
  g_autofree char *got = events_string(events);
  g_test_message("events: %s", got);
  const Event *hup = find_event(events, "app hup");
  const Event *reready = find_event(events, "app reready");
  g_assert_nonnull(hup);
  /* The check passed again before READY=1, not the signal alone. */
  g_assert_nonnull(reready);
  g_assert_cmpint(reready->ns - hup->ns, >=, G_GINT64_CONSTANT(390000000));
  g_assert_cmpint(ready_seen * 1000, >=, reready->ns);
  /* Meanwhile systemctl status says what is awaited. */
  int reloading = -1, waiting = -1, ready = -1;
  for (guint i = 0; i < run->messages->len; i++) {
    const char *m = run->messages->pdata[i];
    if (strstr(m, "RELOADING=1"))
      reloading = (int)i;
    else if (reloading >= 0 && waiting < 0 && strstr(m, "STATUS=reloading: waiting for 1 check"))
      waiting = (int)i;
    else if (reloading >= 0 && strstr(m, "READY=1"))
      ready = (int)i;
  }
  g_assert_cmpint(reloading, >=, 0);
  g_assert_cmpint(waiting, >, reloading);
  g_assert_cmpint(ready, >, waiting);

  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);
}

/* ---- failed starts ---------------------------------------------------------------------- */

/* The readiness deadline passes: on-failure while the app is still there, then the app
 * is stopped, then post-stop once it is gone; sdvisor exits 124. */
static void
test_ready_deadline_failure_hooks(void)
{
  static const char config[] = "[app]\n"
                               "exec=@APP@\n"
                               "[ready]\n"
                               "check=file:@DIR@/never\n"
                               "timeout=500ms\n" FAILURE_HOOKS;
  g_autoptr(SvRun) run = start_config(config, 0);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 124);
  assert_events(run, "app start, on-failure alert, app term, post-stop cleanup");
  g_assert_cmpint(message_index(run, "READY=1"), <, 0);
  g_assert_cmpint(message_index(run, "STATUS=failed: not ready after 500ms"), >=, 0);

  g_autofree char *at_failure = read_run_file(run, "app-at-alert-on-failure");
  g_assert_cmpstr(at_failure, ==, "alive\n");
  g_autofree char *at_post_stop = read_run_file(run, "app-at-cleanup-post-stop");
  g_assert_cmpstr(at_post_stop, ==, "gone\n");
  g_autofree char *app_pid = read_run_file(run, "app.pid");
  g_autofree char *pid_line = g_strdup_printf("SDVISOR_APP_PID=%d", atoi(app_pid));
  g_autofree char *failure_env = read_run_file(run, "env-alert-on-failure");
  g_assert_true(env_has(failure_env, pid_line));
  g_autofree char *post_stop_env = read_run_file(run, "env-cleanup-post-stop");
  g_assert_false(env_has_name(post_stop_env, "SDVISOR_APP_PID"));
  g_assert_true(env_has(post_stop_env, "SDVISOR_EXIT_STATUS=exited"));
}

/* A failed pre-start hook: no app, and post-stop still runs; sdvisor exits 125. */
static void
test_pre_start_failure_post_stop(void)
{
  static const char config[] = "[app]\n"
                               "exec=@APP@\n"
                               "[hook:broken]\n"
                               "when=pre-start\n"
                               "exec=@HOOK@\n"
                               "environment=HOOK_EXIT=3\n" FAILURE_HOOKS;
  g_autoptr(SvRun) run = start_config(config, 0);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 125);
  /* No app, so nothing that it did could fail: no on-failure. */
  assert_events(run, "pre-start broken, post-stop cleanup");
  g_autofree char *env = read_run_file(run, "env-cleanup-post-stop");
  g_assert_true(env_has(env, "SDVISOR_EVENT=post-stop"));
  g_assert_false(env_has_name(env, "SDVISOR_APP_PID"));
  g_assert_false(env_has_name(env, "SDVISOR_EXIT_CODE"));
}

/* An app that cannot be executed: on-failure with its 127, then post-stop. */
static void
test_exec_failure_post_stop(void)
{
  static const char config[] = "[app]\n"
                               "exec=@DIR@/no-such-app\n" FAILURE_HOOKS;
  g_autoptr(SvRun) run = start_config(config, 0);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 127);
  assert_events(run, "on-failure alert, post-stop cleanup");
  g_autofree char *env = read_run_file(run, "env-cleanup-post-stop");
  g_assert_true(env_has(env, "SDVISOR_EXIT_CODE=127"));
}

/* ---- main ----------------------------------------------------------------------------- */

static char *
write_script(const char *name, const char *text)
{
  char *path = g_build_filename(scripts_dir, name, NULL);
  g_assert_true(g_file_set_contents(path, text, -1, NULL));
  g_assert_cmpint(g_chmod(path, 0755), ==, 0);
  return path;
}

/* A hook's output reaches the journal before the entry that says it finished: its pipes
 * are read to EOF, and what logmerge holds of them let go, when it is reaped. SIGCHLD
 * could come before the loop had read the last lines (and logmerge holds every line for
 * its window, for a continuation), and "hook … finished" then came first: once in three
 * starts on a system. Many hooks, each ending right after its last line, repeat it. */
static void
test_output_before_finished(void)
{
  const guint n = 40;
  g_autoptr(GString) text = g_string_new("[app]\nexec=@APP@\n[ready]\ncheck=file:@DIR@/app.pid\n");
  for (guint i = 0; i < n; i++)
    g_string_append_printf(text,
                           "[hook:h%u]\nwhen=pre-start\n"
                           "exec=/bin/sh -c 'echo \"$SDVISOR_HOOK first\"; echo \"$SDVISOR_HOOK "
                           "last\"; printf \"$SDVISOR_HOOK unterminated\"'\n",
                           i);
  g_autoptr(SvRun) run = start_config(text->str, 0);
  g_assert_nonnull(sv_run_wait_message(run, "READY=1", WAIT_MS));
  sv_run_kill(run, SIGTERM);
  g_assert_cmpint(sv_run_wait_exit(run, WAIT_MS), ==, 0);

  g_autofree char *err = sv_run_stderr(run);
  guint late = 0;
  for (guint i = 0; i < n; i++) {
    g_autofree char *last = g_strdup_printf("h%u last\n", i);
    g_autofree char *unterminated = g_strdup_printf("h%u unterminated", i);
    g_autofree char *finished = g_strdup_printf("hook h%u (pre-start) finished", i);
    const char *l = strstr(err, last), *u = strstr(err, unterminated), *f = strstr(err, finished);
    g_assert_nonnull(l);
    g_assert_nonnull(u);
    g_assert_nonnull(f);
    if (l > f || u > f) {
      g_test_message("h%u: its output came after 'finished'", i);
      late++;
    }
  }
  g_assert_cmpuint(late, ==, 0);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  signal(SIGCHLD, SIG_DFL);

  scripts_dir = g_dir_make_tmp("sdvisor-hook-scripts-XXXXXX", NULL);
  g_assert_nonnull(scripts_dir);
  /* The scripts run as other processes' children: readable and executable by all. */
  g_assert_cmpint(g_chmod(scripts_dir, 0755), ==, 0);
  hook_script = write_script("hook.sh", hook_text);
  app_script = write_script("app.sh", app_text);

  g_test_add_func("/hooks/lifecycle/order-of-every-event", test_lifecycle_order);
  g_test_add_func("/hooks/lifecycle/status-names-running-hook", test_status_names_hook);
  g_test_add_func("/hooks/output/reaches-journal-before-finished", test_output_before_finished);
  g_test_add_func("/hooks/environment/every-variable", test_environment);
  g_test_add_func("/hooks/failure/post-stop-after-crash", test_post_stop_after_crash);
  g_test_add_func("/hooks/failure/pre-start-fail-exits-125", test_pre_start_failure);
  g_test_add_func("/hooks/failure/on-error-ignore-goes-on", test_on_error_ignore);
  g_test_add_func("/hooks/timeout/hanging-hook-killed-with-children", test_hanging_hook_killed);
  g_test_add_func("/hooks/health/on-unhealthy-before-watchdog-trigger",
                  test_on_unhealthy_before_watchdog_trigger);
  g_test_add_func("/hooks/reload/valid-then-broken-config", test_reload);
  g_test_add_func("/hooks/reload/sighup-during-hooks-not-lost", test_reload_during_hooks);
  g_test_add_func("/hooks/reload/log-settings-apply-to-running-app", test_reload_log_settings);
  g_test_add_func("/hooks/reload/restart-only-settings-kept", test_reload_restart_only_kept);
  g_test_add_func("/hooks/reload/job-added-runs", test_reload_adds_job);
  g_test_add_func("/hooks/reload/ready-waits-for-checks-again", test_reload_ready_waits_for_checks);
  g_test_add_func("/hooks/failure/ready-deadline-on-failure-then-post-stop",
                  test_ready_deadline_failure_hooks);
  g_test_add_func("/hooks/failure/post-stop-after-pre-start-failure",
                  test_pre_start_failure_post_stop);
  g_test_add_func("/hooks/failure/post-stop-after-exec-failure", test_exec_failure_post_stop);
  int status = g_test_run();

  (void)g_unlink(hook_script);
  (void)g_unlink(app_script);
  (void)g_rmdir(scripts_dir);
  return status;
}
