/* test-hooks.c — hook runs on a real main loop with real children: order, filtering by
 * event, the environment a hook sees, on-error=fail|ignore, timeouts that kill a hook's
 * whole process group, exec failures, cancellation, and the arithmetic for
 * EXTEND_TIMEOUT_USEC. Every hook is a shell command writing into the fixture's
 * directory ($OUT), so the test reads what really happened in the child. */
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hooks.h"
#include "log.h"
#include "reaper.h"
#include "timespan.h"
#include "testutil.h"

#define MSEC      (G_GINT64_CONSTANT(1000))
#define SAFETY_MS 20000 /* a run that takes this long is a failure, not a slow test */

typedef struct {
  char *dir;
  GPtrArray *hooks; /* SvHookConfig*, as config.c would give them */
} Fixture;

static void
hook_config_free(gpointer data)
{
  SvHookConfig *hook = data;
  g_free(hook->name);
  g_strfreev(hook->exec);
  g_strfreev(hook->environment);
  g_free(hook);
}

static void
setup(Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp("sdvisor-hooks-XXXXXX", NULL);
  g_assert_nonnull(f->dir);
  f->hooks = g_ptr_array_new_with_free_func(hook_config_free);
}

static void
teardown(Fixture *f, gconstpointer data)
{
  g_ptr_array_unref(f->hooks);
  sv_test_rm_rf(f->dir);
  g_free(f->dir);
}

/* Adds a hook the way config.c would: COMMAND split like a shell would, OUT=<dir> and
 * the NULL-terminated NAME=VALUE list that follows as its environment=. */
static SvHookConfig *
add_hook(Fixture *f, const char *name, guint when, gint64 timeout_usec, gboolean fail,
         const char *command, ...)
{
  SvHookConfig *hook = g_new0(SvHookConfig, 1);
  hook->name = g_strdup(name);
  hook->when = when;
  g_autoptr(GError) error = NULL;
  g_assert_true(g_shell_parse_argv(command, NULL, &hook->exec, &error));
  g_assert_no_error(error);
  hook->timeout_usec = timeout_usec;
  hook->on_error_fail = fail;

  g_autoptr(GStrvBuilder) env = g_strv_builder_new();
  g_autofree char *out = g_strconcat("OUT=", f->dir, NULL);
  g_strv_builder_add(env, out);
  va_list ap;
  va_start(ap, command);
  const char *entry;
  while ((entry = va_arg(ap, const char *)) != NULL)
    g_strv_builder_add(env, entry);
  va_end(ap);
  hook->environment = g_strv_builder_end(env);

  g_ptr_array_add(f->hooks, hook);
  return hook;
}

/* Each hook appends its name to $OUT/log: the order the test reads back. */
#define LOG_SELF "sh -c 'echo $SDVISOR_HOOK >> \"$OUT/log\"'"

typedef struct {
  GMainLoop *loop;
  SvHookRun *run;
  guint done_calls;
  gboolean ok;
  char *failed; /* name of the hook DONE reported, or NULL */
  char *detail;
  GPtrArray *started; /* names, in the order STARTED saw them */
  GArray *started_pids;
  gint64 began_at, ended_at; /* monotonic usec */
  guint cancel_after_ms;     /* > 0: cancel that long after the first hook started */
  guint cancel_id;
} Result;

static void
result_init(Result *r)
{
  memset(r, 0, sizeof *r);
  r->loop = g_main_loop_new(NULL, FALSE);
  r->started = g_ptr_array_new_with_free_func(g_free);
  r->started_pids = g_array_new(FALSE, FALSE, sizeof(pid_t));
}

static void
result_clear(Result *r)
{
  g_main_loop_unref(r->loop);
  g_free(r->failed);
  g_free(r->detail);
  g_ptr_array_unref(r->started);
  g_array_unref(r->started_pids);
  g_clear_handle_id(&r->cancel_id, g_source_remove);
}

static gboolean
on_cancel_timer(gpointer user_data)
{
  Result *r = user_data;
  r->cancel_id = 0;
  sv_hooks_cancel(r->run);
  sv_hooks_cancel(r->run); /* idempotent */
  return G_SOURCE_REMOVE;
}

static void
on_started(const SvHookConfig *hook, pid_t pid, gpointer user_data)
{
  Result *r = user_data;
  g_assert_cmpuint(r->done_calls, ==, 0);
  g_assert_cmpint(pid, >, 0);
  g_ptr_array_add(r->started, g_strdup(hook->name));
  g_array_append_val(r->started_pids, pid);
  if (r->cancel_after_ms > 0 && r->cancel_id == 0 && r->started->len == 1)
    r->cancel_id = g_timeout_add(r->cancel_after_ms, on_cancel_timer, r);
}

static void
on_done(gboolean ok, const SvHookConfig *failed, const char *detail, gpointer user_data)
{
  Result *r = user_data;
  r->done_calls++;
  r->ok = ok;
  r->failed = failed != NULL ? g_strdup(failed->name) : NULL;
  r->detail = g_strdup(detail);
  r->ended_at = g_get_monotonic_time();
  if (ok)
    g_assert_null(failed);
  g_main_loop_quit(r->loop);
}

static gboolean
on_safety_timeout(gpointer user_data)
{
  g_error("the hook run did not end within %d ms", SAFETY_MS);
  return G_SOURCE_REMOVE;
}

static void
run_hooks(GPtrArray *hooks, const SvHookContext *ctx, char *const *base_env, Result *r)
{
  r->began_at = g_get_monotonic_time();
  r->run = sv_hooks_run(hooks, ctx, base_env, on_started, on_done, r);
  g_assert_nonnull(r->run);
  /* Never from within the call: the caller has not even stored RUN yet. */
  g_assert_cmpuint(r->done_calls, ==, 0);
  g_assert_cmpuint(r->started->len, ==, 0);
  guint safety = g_timeout_add(SAFETY_MS, on_safety_timeout, NULL);
  g_main_loop_run(r->loop);
  g_source_remove(safety);
  r->run = NULL;
  sv_test_spin(50);
  g_assert_cmpuint(r->done_calls, ==, 1);
}

/* Runs F's hooks for EVENT, with a context that sets nothing else, into R (initialized
 * here); CANCEL_AFTER_MS, if not 0, cancels the run that long after it began. */
static void
run_event(Fixture *f, SvHookEvent event, guint cancel_after_ms, Result *r)
{
  result_init(r);
  r->cancel_after_ms = cancel_after_ms;
  SvHookContext ctx = SV_HOOK_CONTEXT_INIT;
  ctx.event = event;
  run_hooks(f->hooks, &ctx, NULL, r);
}

static char *
read_out(Fixture *f, const char *name)
{
  g_autofree char *path = g_build_filename(f->dir, name, NULL);
  char *text = NULL;
  if (!g_file_get_contents(path, &text, NULL, NULL))
    return NULL;
  return text;
}

static pid_t
read_pid(Fixture *f, const char *name)
{
  g_autofree char *text = read_out(f, name);
  g_assert_nonnull(text);
  return (pid_t)atoi(text);
}

static gboolean
env_has(const char *env_text, const char *line)
{
  g_auto(GStrv) lines = g_strsplit(env_text, "\n", -1);
  return g_strv_contains((const char *const *)lines, line);
}

static gboolean
env_has_name(const char *env_text, const char *name)
{
  g_auto(GStrv) lines = g_strsplit(env_text, "\n", -1);
  g_autofree char *prefix = g_strconcat(name, "=", NULL);
  for (char **l = lines; *l != NULL; l++)
    if (g_str_has_prefix(*l, prefix))
      return TRUE;
  return FALSE;
}

/* ---- order and filtering ------------------------------------------------------------- */

static void
test_file_order(Fixture *f, gconstpointer data)
{
  add_hook(f, "a", SV_HOOK_PRE_START, 5 * G_USEC_PER_SEC, TRUE, LOG_SELF, NULL);
  add_hook(f, "b", SV_HOOK_PRE_START, 5 * G_USEC_PER_SEC, TRUE,
           "sh -c 'echo $$ > \"$OUT/b.pid\"; echo $SDVISOR_HOOK >> \"$OUT/log\"'", NULL);
  add_hook(f, "d", SV_HOOK_POST_START, 5 * G_USEC_PER_SEC, TRUE, LOG_SELF, NULL);
  add_hook(f, "c", SV_HOOK_PRE_START, 5 * G_USEC_PER_SEC, TRUE, LOG_SELF, NULL);
  add_hook(f, "e", SV_HOOK_PRE_START | SV_HOOK_POST_START, 5 * G_USEC_PER_SEC, TRUE, LOG_SELF,
           NULL);

  /* The run keeps its own copies: a reload may free the configuration mid-run. */
  GPtrArray *copy = g_ptr_array_new();
  for (guint i = 0; i < f->hooks->len; i++)
    g_ptr_array_add(copy, f->hooks->pdata[i]);

  Result r;
  result_init(&r);
  SvHookContext ctx = SV_HOOK_CONTEXT_INIT;
  ctx.event = SV_HOOK_PRE_START;
  ctx.app_name = "app";
  r.began_at = g_get_monotonic_time();
  r.run = sv_hooks_run(copy, &ctx, NULL, on_started, on_done, &r);
  g_ptr_array_unref(copy);
  g_main_loop_run(r.loop);
  sv_test_spin(50);
  g_assert_cmpuint(r.done_calls, ==, 1);
  g_assert_true(r.ok);
  g_assert_null(r.failed);

  g_autofree char *log = read_out(f, "log");
  g_assert_cmpstr(log, ==, "a\nb\nc\ne\n");
  g_assert_cmpuint(r.started->len, ==, 4);
  const char *expected[] = {"a", "b", "c", "e"};
  for (guint i = 0; i < 4; i++)
    g_assert_cmpstr(r.started->pdata[i], ==, expected[i]);
  /* STARTED gets the hook's own pid: the one the supervisor names in STATUS=. */
  g_assert_cmpint(g_array_index(r.started_pids, pid_t, 1), ==, read_pid(f, "b.pid"));
  result_clear(&r);

  /* The same hooks at another event: only those that name it. */
  g_autofree char *log_path = g_build_filename(f->dir, "log", NULL);
  g_assert_cmpint(g_unlink(log_path), ==, 0);
  result_init(&r);
  ctx.event = SV_HOOK_POST_START;
  run_hooks(f->hooks, &ctx, NULL, &r);
  g_assert_true(r.ok);
  g_autofree char *log2 = read_out(f, "log");
  g_assert_cmpstr(log2, ==, "d\ne\n");
  result_clear(&r);
}

static void
test_no_hooks(Fixture *f, gconstpointer data)
{
  add_hook(f, "a", SV_HOOK_PRE_START, 5 * G_USEC_PER_SEC, TRUE, LOG_SELF, NULL);

  SvHookContext ctx = SV_HOOK_CONTEXT_INIT;
  ctx.event = SV_HOOK_RELOAD;
  /* None for the event, an empty list, and no list at all: DONE once, from the loop. */
  GPtrArray *empty = g_ptr_array_new();
  GPtrArray *lists[] = {f->hooks, empty, NULL};
  for (gsize i = 0; i < G_N_ELEMENTS(lists); i++) {
    Result r;
    result_init(&r);
    run_hooks(lists[i], &ctx, NULL, &r);
    g_assert_true(r.ok);
    g_assert_null(r.failed);
    g_assert_null(r.detail);
    g_assert_cmpuint(r.started->len, ==, 0);
    result_clear(&r);
  }
  g_ptr_array_unref(empty);
  g_autofree char *log = read_out(f, "log");
  g_assert_null(log);
}

/* ---- environment --------------------------------------------------------------------- */

#define ENV_DUMP "sh -c 'env > \"$OUT/env-$SDVISOR_EVENT\"'"

static char *
run_env_dump(Fixture *f, const SvHookContext *ctx, char *const *base_env)
{
  Result r;
  result_init(&r);
  run_hooks(f->hooks, ctx, base_env, &r);
  g_assert_true(r.ok);
  result_clear(&r);
  g_autofree char *name = g_strconcat("env-", sv_hook_event_name(ctx->event), NULL);
  char *env = read_out(f, name);
  g_assert_nonnull(env);
  return env;
}

static void
test_environment(Fixture *f, gconstpointer data)
{
  add_hook(f, "envdump", 0x7f, 5 * G_USEC_PER_SEC, TRUE, ENV_DUMP, "HOOK_VAR=from hook",
           "SHARED=hook wins", "SDVISOR_EVENT=not the hook's to set", NULL);

  /* The app's environment, with what only the app (or sdvisor) may see. */
  const char *base_env[] = {
      "PATH=/usr/bin:/bin",        "APP_VAR=from app",      "SHARED=app loses",
      "NOTIFY_SOCKET=/run/x.sock", "LISTEN_FDS=2",          "LISTEN_PID=1",
      "LISTEN_FDNAMES=a:b",        "WATCHDOG_USEC=1000000", "WATCHDOG_PID=1",
      "SDVISOR_EXIT_CODE=99",      "SDVISOR_APP_PID=99",    NULL,
  };

  /* pre-start: no app yet, no exit status. */
  SvHookContext ctx = SV_HOOK_CONTEXT_INIT;
  ctx.event = SV_HOOK_PRE_START;
  ctx.app_name = "shop";
  ctx.exit_code = 3; /* must not show: no exit status before the app ran */
  ctx.exit_status = "exited";
  g_autofree char *env = run_env_dump(f, &ctx, (char *const *)base_env);
  g_assert_true(env_has(env, "SDVISOR_EVENT=pre-start"));
  g_assert_true(env_has(env, "SDVISOR_HOOK=envdump"));
  g_assert_true(env_has(env, "SDVISOR_APP_NAME=shop"));
  g_assert_false(env_has_name(env, "SDVISOR_APP_PID"));
  g_assert_false(env_has_name(env, "SDVISOR_EXIT_CODE"));
  g_assert_false(env_has_name(env, "SDVISOR_EXIT_STATUS"));
  g_assert_true(env_has(env, "HOOK_VAR=from hook"));
  g_assert_true(env_has(env, "SHARED=hook wins"));
  g_assert_true(env_has(env, "APP_VAR=from app"));
  g_assert_true(env_has(env, "PATH=/usr/bin:/bin"));
  g_autofree char *out_line = g_strconcat("OUT=", f->dir, NULL);
  g_assert_true(env_has(env, out_line));
  for (const char *const *name =
           (const char *const[]){"NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
                                 "WATCHDOG_USEC", "WATCHDOG_PID", NULL};
       *name != NULL; name++)
    g_assert_false(env_has_name(env, *name));

  /* post-start: the app runs. */
  ctx.event = SV_HOOK_POST_START;
  ctx.app_pid = 4242;
  g_autofree char *env_post_start = run_env_dump(f, &ctx, (char *const *)base_env);
  g_assert_true(env_has(env_post_start, "SDVISOR_EVENT=post-start"));
  g_assert_true(env_has(env_post_start, "SDVISOR_APP_PID=4242"));
  g_assert_false(env_has_name(env_post_start, "SDVISOR_EXIT_CODE"));

  /* post-stop and on-failure: the app's end, as systemd would name it. */
  ctx.event = SV_HOOK_POST_STOP;
  ctx.exit_code = 143;
  ctx.exit_status = "killed";
  g_autofree char *env_post_stop = run_env_dump(f, &ctx, (char *const *)base_env);
  g_assert_true(env_has(env_post_stop, "SDVISOR_EVENT=post-stop"));
  g_assert_true(env_has(env_post_stop, "SDVISOR_EXIT_CODE=143"));
  g_assert_true(env_has(env_post_stop, "SDVISOR_EXIT_STATUS=killed"));

  ctx.event = SV_HOOK_ON_FAILURE;
  ctx.app_pid = 0;
  ctx.exit_code = 134;
  ctx.exit_status = "dumped";
  g_autofree char *env_failure = run_env_dump(f, &ctx, (char *const *)base_env);
  g_assert_true(env_has(env_failure, "SDVISOR_EVENT=on-failure"));
  g_assert_true(env_has(env_failure, "SDVISOR_EXIT_CODE=134"));
  g_assert_true(env_has(env_failure, "SDVISOR_EXIT_STATUS=dumped"));
  g_assert_false(env_has_name(env_failure, "SDVISOR_APP_PID"));

  /* Unknown exit status: neither variable. */
  ctx.event = SV_HOOK_POST_STOP;
  ctx.exit_code = -1;
  ctx.exit_status = NULL;
  g_autofree char *env_unknown = run_env_dump(f, &ctx, (char *const *)base_env);
  g_assert_false(env_has_name(env_unknown, "SDVISOR_EXIT_CODE"));
  g_assert_false(env_has_name(env_unknown, "SDVISOR_EXIT_STATUS"));

  for (guint event = SV_HOOK_RELOAD; event <= SV_HOOK_ON_UNHEALTHY; event <<= 1) {
    if (event == SV_HOOK_ON_FAILURE)
      continue;
    ctx.event = event;
    ctx.app_pid = 77;
    ctx.exit_code = 1;
    ctx.exit_status = "exited";
    g_autofree char *e = run_env_dump(f, &ctx, (char *const *)base_env);
    g_autofree char *expected = g_strconcat("SDVISOR_EVENT=", sv_hook_event_name(event), NULL);
    g_assert_true(env_has(e, expected));
    g_assert_true(env_has(e, "SDVISOR_APP_PID=77"));
    g_assert_false(env_has_name(e, "SDVISOR_EXIT_CODE"));
  }
}

static void
test_environment_default_and_cwd(Fixture *f, gconstpointer data)
{
  add_hook(f, "pwd", SV_HOOK_RELOAD, 5 * G_USEC_PER_SEC, TRUE,
           "sh -c 'pwd > \"$OUT/pwd\"; env > \"$OUT/env\"'", NULL);
  g_setenv("SVTEST_INHERITED", "yes", TRUE);
  g_setenv("NOTIFY_SOCKET", "/run/sdvisor-test.sock", TRUE);

  Result r;
  result_init(&r);
  SvHookContext ctx = SV_HOOK_CONTEXT_INIT;
  ctx.event = SV_HOOK_RELOAD;
  ctx.working_directory = "/";
  run_hooks(f->hooks, &ctx, NULL, &r);
  g_assert_true(r.ok);
  result_clear(&r);
  g_unsetenv("SVTEST_INHERITED");
  g_unsetenv("NOTIFY_SOCKET");

  g_autofree char *pwd = read_out(f, "pwd");
  g_assert_cmpstr(pwd, ==, "/\n");
  /* No BASE_ENV: sdvisor's own environment, without what is addressed to sdvisor. */
  g_autofree char *env = read_out(f, "env");
  g_assert_true(env_has(env, "SVTEST_INHERITED=yes"));
  g_assert_false(env_has_name(env, "NOTIFY_SOCKET"));
  g_assert_false(env_has_name(env, "SDVISOR_APP_NAME"));
}

/* ---- failures ------------------------------------------------------------------------ */

static void
test_on_error_fail_stops(Fixture *f, gconstpointer data)
{
  add_hook(f, "a", SV_HOOK_PRE_STOP, 5 * G_USEC_PER_SEC, FALSE,
           "sh -c 'echo a >> \"$OUT/log\"; exit 1'", NULL);
  add_hook(f, "b", SV_HOOK_PRE_STOP, 5 * G_USEC_PER_SEC, TRUE, LOG_SELF, NULL);
  add_hook(f, "c", SV_HOOK_PRE_STOP, 5 * G_USEC_PER_SEC, TRUE,
           "sh -c 'echo c >> \"$OUT/log\"; exit 2'", NULL);
  add_hook(f, "d", SV_HOOK_PRE_STOP, 5 * G_USEC_PER_SEC, TRUE, LOG_SELF, NULL);

  Result r;
  run_event(f, SV_HOOK_PRE_STOP, 0, &r);
  g_assert_false(r.ok);
  g_assert_cmpstr(r.failed, ==, "c");
  g_assert_cmpstr(r.detail, ==, "exited with status 2");
  g_autofree char *log = read_out(f, "log");
  g_assert_cmpstr(log, ==, "a\nb\nc\n");
  result_clear(&r);
}

static void
test_on_error_ignore_continues(Fixture *f, gconstpointer data)
{
  add_hook(f, "a", SV_HOOK_POST_STOP, 5 * G_USEC_PER_SEC, FALSE,
           "sh -c 'echo a >> \"$OUT/log\"; exit 7'", NULL);
  add_hook(f, "b", SV_HOOK_POST_STOP, 5 * G_USEC_PER_SEC, FALSE,
           "sh -c 'echo b >> \"$OUT/log\"; kill -KILL $$'", NULL);
  add_hook(f, "missing", SV_HOOK_POST_STOP, 5 * G_USEC_PER_SEC, FALSE, "/nonexistent/hook", NULL);
  add_hook(f, "slow", SV_HOOK_POST_STOP, 200 * MSEC, FALSE,
           "sh -c 'echo slow >> \"$OUT/log\"; exec sleep 100'", NULL);
  add_hook(f, "z", SV_HOOK_POST_STOP, 5 * G_USEC_PER_SEC, FALSE, LOG_SELF, NULL);

  Result r;
  run_event(f, SV_HOOK_POST_STOP, 0, &r);
  g_assert_true(r.ok);
  g_assert_null(r.failed);
  g_autofree char *log = read_out(f, "log");
  g_assert_cmpstr(log, ==, "a\nb\nslow\nz\n");
  /* The hook that could not be executed never "started". */
  g_assert_cmpuint(r.started->len, ==, 4);
  g_assert_false(g_ptr_array_find_with_equal_func(r.started, "missing", g_str_equal, NULL));
  result_clear(&r);
}

static void
test_killed_by_signal(Fixture *f, gconstpointer data)
{
  add_hook(f, "k", SV_HOOK_POST_START, 5 * G_USEC_PER_SEC, TRUE, "sh -c 'kill -KILL $$'", NULL);
  Result r;
  run_event(f, SV_HOOK_POST_START, 0, &r);
  g_assert_false(r.ok);
  g_assert_cmpstr(r.failed, ==, "k");
  g_assert_cmpstr(r.detail, ==, "killed by SIGKILL");
  result_clear(&r);
}

static void
test_missing_executable(Fixture *f, gconstpointer data)
{
  add_hook(f, "missing", SV_HOOK_PRE_START, 5 * G_USEC_PER_SEC, TRUE, "/nonexistent/hook --flag",
           NULL);
  add_hook(f, "after", SV_HOOK_PRE_START, 5 * G_USEC_PER_SEC, TRUE, LOG_SELF, NULL);

  Result r;
  run_event(f, SV_HOOK_PRE_START, 0, &r);
  g_assert_false(r.ok);
  g_assert_cmpstr(r.failed, ==, "missing");
  g_assert_nonnull(strstr(r.detail, "/nonexistent/hook"));
  g_assert_nonnull(strstr(r.detail, g_strerror(ENOENT)));
  g_assert_cmpuint(r.started->len, ==, 0);
  g_autofree char *log = read_out(f, "log");
  g_assert_null(log);
  result_clear(&r);

  /* A file that is there but not executable: EACCES, not ENOENT. */
  g_autofree char *script = g_build_filename(f->dir, "not-executable", NULL);
  g_assert_true(g_file_set_contents(script, "#!/bin/sh\nexit 0\n", -1, NULL));
  g_assert_cmpint(g_chmod(script, 0644), ==, 0);
  SvHookConfig *hook = f->hooks->pdata[0];
  g_free(hook->exec[0]);
  hook->exec[0] = g_strdup(script);
  run_event(f, SV_HOOK_PRE_START, 0, &r);
  g_assert_false(r.ok);
  g_assert_cmpstr(r.failed, ==, "missing");
  /* root can read anything but not execute a file without x bits either */
  g_assert_nonnull(strstr(r.detail, g_strerror(EACCES)));
  result_clear(&r);
}

/* The one hook of R that started and the child it left in its process group (its pid in
 * child.pid) are gone, and the hook after it (LOG_SELF) never ran. */
static void
assert_hook_and_child_gone(Fixture *f, Result *r)
{
  g_assert_cmpuint(r->started_pids->len, ==, 1);
  g_assert_true(sv_test_wait_pid_gone(g_array_index(r->started_pids, pid_t, 0), 2000));
  g_assert_true(sv_test_wait_pid_gone(read_pid(f, "child.pid"), 2000));
  g_autofree char *log = read_out(f, "log");
  g_assert_null(log);
}

/* ---- timeouts and process groups ------------------------------------------------------ */

static void
test_timeout_kills_group(Fixture *f, gconstpointer data)
{
  add_hook(f, "hang", SV_HOOK_PRE_START, 300 * MSEC, TRUE,
           "sh -c 'sleep 100 & echo $! > \"$OUT/child.pid\"; sleep 100'", NULL);
  add_hook(f, "never", SV_HOOK_PRE_START, 5 * G_USEC_PER_SEC, TRUE, LOG_SELF, NULL);

  Result r;
  run_event(f, SV_HOOK_PRE_START, 0, &r);
  g_assert_false(r.ok);
  g_assert_cmpstr(r.failed, ==, "hang");
  g_assert_cmpstr(r.detail, ==, "timed out after 300ms (killed by SIGTERM)");
  gint64 elapsed = r.ended_at - r.began_at;
  g_assert_cmpint(elapsed, >=, 300 * MSEC);
  g_assert_cmpint(elapsed, <, 300 * MSEC + 100 * MSEC + 1500 * MSEC);

  /* Nothing of the hook outlives it: its background child went with its group. */
  assert_hook_and_child_gone(f, &r);
  result_clear(&r);
}

static void
test_timeout_sigkill_after_grace(Fixture *f, gconstpointer data)
{
  /* SIG_IGN is inherited across exec: both the shell and its children ignore SIGTERM. */
  add_hook(f, "stubborn", SV_HOOK_PRE_STOP, 300 * MSEC, TRUE,
           "sh -c 'trap \"\" TERM; sleep 100 & echo $! > \"$OUT/child.pid\"; sleep 100; exit 0'",
           NULL);

  Result r;
  run_event(f, SV_HOOK_PRE_STOP, 0, &r);
  g_assert_false(r.ok);
  g_assert_cmpstr(r.detail, ==, "timed out after 300ms (killed by SIGKILL)");
  /* The grace for a 300 ms timeout is its tenth, raised to the 100 ms floor. */
  gint64 elapsed = r.ended_at - r.began_at;
  g_assert_cmpint(elapsed, >=, 400 * MSEC);
  g_assert_cmpint(elapsed, <, 2000 * MSEC);
  g_assert_true(sv_test_wait_pid_gone(read_pid(f, "child.pid"), 2000));
  result_clear(&r);
}

static void
test_leftovers_killed(Fixture *f, gconstpointer data)
{
  /* Succeeds, but leaves a child behind in its group. */
  add_hook(f, "daemonizer", SV_HOOK_POST_START, 5 * G_USEC_PER_SEC, TRUE,
           "sh -c 'sleep 100 & echo $! > \"$OUT/child.pid\"'", NULL);

  Result r;
  run_event(f, SV_HOOK_POST_START, 0, &r);
  g_assert_true(r.ok);
  g_assert_true(sv_test_wait_pid_gone(read_pid(f, "child.pid"), 2000));
  result_clear(&r);
}

static void
test_timeout_zero_is_none(Fixture *f, gconstpointer data)
{
  add_hook(f, "patient", SV_HOOK_RELOAD, 0, TRUE, "sh -c 'sleep 0.3; echo ok > \"$OUT/log\"'",
           NULL);
  Result r;
  run_event(f, SV_HOOK_RELOAD, 0, &r);
  g_assert_true(r.ok);
  g_autofree char *log = read_out(f, "log");
  g_assert_cmpstr(log, ==, "ok\n");
  result_clear(&r);
}

/* ---- cancellation -------------------------------------------------------------------- */

static void
test_cancel_running(Fixture *f, gconstpointer data)
{
  add_hook(f, "slow", SV_HOOK_PRE_START, 30 * G_USEC_PER_SEC, TRUE,
           "sh -c 'sleep 100 & echo $! > \"$OUT/child.pid\"; sleep 100'", NULL);
  add_hook(f, "never", SV_HOOK_PRE_START, 5 * G_USEC_PER_SEC, TRUE, LOG_SELF, NULL);

  Result r;
  run_event(f, SV_HOOK_PRE_START, 200, &r);
  g_assert_false(r.ok);
  g_assert_cmpstr(r.failed, ==, "slow");
  g_assert_cmpstr(r.detail, ==, "cancelled");
  /* SIGTERM did it: well before the 2 s grace of a 30 s timeout ran out. */
  g_assert_cmpint(r.ended_at - r.began_at, <, 1500 * MSEC);
  g_assert_cmpuint(r.started->len, ==, 1);
  assert_hook_and_child_gone(f, &r);
  result_clear(&r);
}

static void
test_cancel_before_start(Fixture *f, gconstpointer data)
{
  add_hook(f, "a", SV_HOOK_PRE_START, 5 * G_USEC_PER_SEC, TRUE, LOG_SELF, NULL);

  Result r;
  result_init(&r);
  SvHookContext ctx = SV_HOOK_CONTEXT_INIT;
  ctx.event = SV_HOOK_PRE_START;
  r.run = sv_hooks_run(f->hooks, &ctx, NULL, on_started, on_done, &r);
  sv_hooks_cancel(r.run);
  sv_hooks_cancel(r.run);
  g_assert_cmpuint(r.done_calls, ==, 0);
  g_main_loop_run(r.loop);
  sv_test_spin(100);
  g_assert_cmpuint(r.done_calls, ==, 1);
  g_assert_false(r.ok);
  g_assert_null(r.failed);
  g_assert_cmpstr(r.detail, ==, "cancelled");
  g_assert_cmpuint(r.started->len, ==, 0);
  g_autofree char *log = read_out(f, "log");
  g_assert_null(log);
  result_clear(&r);

  /* With no hook to run at all, cancel still ends in exactly one DONE, and nothing
   * was left out: no failure to report. */
  result_init(&r);
  ctx.event = SV_HOOK_RELOAD;
  r.run = sv_hooks_run(f->hooks, &ctx, NULL, on_started, on_done, &r);
  sv_hooks_cancel(r.run);
  g_main_loop_run(r.loop);
  sv_test_spin(50);
  g_assert_cmpuint(r.done_calls, ==, 1);
  g_assert_true(r.ok);
  g_assert_null(r.detail);
  result_clear(&r);
}

static gboolean
busy_source(gpointer user_data)
{
  guint *turns = user_data;
  (*turns)++;
  return G_SOURCE_CONTINUE;
}

/* A stop waits for a cancelled run's DONE: a loop that always has something to do at
 * default priority (the app's output, a probe's I/O) must not hold it back. */
static void
test_cancel_busy_loop(Fixture *f, gconstpointer data)
{
  Result r;
  result_init(&r);
  guint turns = 0;
  guint busy = g_idle_add_full(G_PRIORITY_DEFAULT, busy_source, &turns, NULL);
  SvHookContext ctx = SV_HOOK_CONTEXT_INIT;
  ctx.event = SV_HOOK_POST_START;
  r.run = sv_hooks_run(f->hooks, &ctx, NULL, on_started, on_done, &r);
  sv_hooks_cancel(r.run);
  guint safety = g_timeout_add(SAFETY_MS, on_safety_timeout, NULL);
  g_main_loop_run(r.loop);
  g_source_remove(safety);
  g_source_remove(busy);
  g_assert_cmpuint(r.done_calls, ==, 1);
  g_assert_true(r.ok);
  /* DONE came within a few turns of the busy source, not at the safety timeout. */
  g_assert_cmpuint(turns, <, 100);
  result_clear(&r);
}

/* ---- arithmetic ---------------------------------------------------------------------- */

/* The time budgets of hooks are test-budget.c's. */
static void
test_count(Fixture *f, gconstpointer data)
{
  add_hook(f, "a", SV_HOOK_PRE_START | SV_HOOK_PRE_STOP, 30 * G_USEC_PER_SEC, TRUE, "true", NULL);
  add_hook(f, "b", SV_HOOK_PRE_START, 300 * MSEC, TRUE, "true", NULL);
  add_hook(f, "c", SV_HOOK_PRE_START, 5 * G_USEC_PER_SEC, TRUE, "true", NULL);
  add_hook(f, "d", SV_HOOK_RELOAD, 0, TRUE, "true", NULL);

  g_assert_cmpuint(sv_hooks_count(f->hooks, SV_HOOK_PRE_START), ==, 3);
  g_assert_cmpuint(sv_hooks_count(f->hooks, SV_HOOK_PRE_STOP), ==, 1);
  g_assert_cmpuint(sv_hooks_count(f->hooks, SV_HOOK_ON_UNHEALTHY), ==, 0);
  g_assert_cmpuint(sv_hooks_count(NULL, SV_HOOK_PRE_START), ==, 0);
}

/* ---- journal text -------------------------------------------------------------------- */

static void
test_log_messages(Fixture *f, gconstpointer data)
{
  add_hook(f, "secretive", SV_HOOK_PRE_START, 5 * G_USEC_PER_SEC, FALSE, "sh -c 'exit 4'",
           "TOKEN=s3cr3t-value", NULL);
  add_hook(f, "sleepy", SV_HOOK_PRE_START, 200 * MSEC, FALSE, "sleep 100", NULL);
  add_hook(f, "fine", SV_HOOK_PRE_START, 5 * G_USEC_PER_SEC, TRUE, "true", NULL);

  /* sdvisor's messages go to stderr here (console target): catch them in a file. */
  g_autofree char *path = g_build_filename(f->dir, "stderr", NULL);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  g_assert_cmpint(fd, >=, 0);
  int saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
  g_assert_cmpint(saved, >=, 0);
  g_assert_cmpint(dup2(fd, STDERR_FILENO), ==, STDERR_FILENO);
  close(fd);

  const char *base_env[] = {"PATH=/usr/bin:/bin", "DB_PASSWORD=app-s3cr3t", NULL};
  Result r;
  result_init(&r);
  SvHookContext ctx = SV_HOOK_CONTEXT_INIT;
  ctx.event = SV_HOOK_PRE_START;
  run_hooks(f->hooks, &ctx, (char *const *)base_env, &r);
  g_assert_true(r.ok);
  result_clear(&r);

  g_assert_cmpint(dup2(saved, STDERR_FILENO), ==, STDERR_FILENO);
  close(saved);

  g_autofree char *text = read_out(f, "stderr");
  g_assert_nonnull(text);
  if (g_test_verbose())
    g_printerr("%s", text);
  g_assert_nonnull(strstr(text, "hook secretive (pre-start) started: sh (pid "));
  g_assert_nonnull(strstr(
      text, "hook secretive (pre-start) failed: exited with status 4; ignored (on-error=ignore)"));
  g_assert_nonnull(strstr(text, "hook sleepy (pre-start) timed out after 200ms: sending SIGTERM to "
                                "its process tree, SIGKILL in 100ms"));
  g_assert_nonnull(
      strstr(text, "hook sleepy (pre-start) failed: timed out after 200ms (killed by SIGTERM)"));
  g_assert_nonnull(strstr(text, "hook fine (pre-start) finished in "));
  g_assert_null(strstr(text, "s3cr3t"));
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  sv_log_init(SV_LOG_TARGET_CONSOLE, "test-hooks");
  g_autoptr(GError) error = NULL;
  g_assert_true(sv_reaper_init(&error));
  g_assert_no_error(error);

#define ADD(path, func) g_test_add(path, Fixture, NULL, setup, func, teardown)
  ADD("/hooks/order/file-order-and-event-filter", test_file_order);
  ADD("/hooks/order/no-hooks-done-once-from-loop", test_no_hooks);
  ADD("/hooks/environment/every-variable", test_environment);
  ADD("/hooks/environment/default-env-and-working-directory", test_environment_default_and_cwd);
  ADD("/hooks/on-error/fail-stops-the-sequence", test_on_error_fail_stops);
  ADD("/hooks/on-error/ignore-continues", test_on_error_ignore_continues);
  ADD("/hooks/failure/killed-by-signal", test_killed_by_signal);
  ADD("/hooks/failure/missing-executable", test_missing_executable);
  ADD("/hooks/timeout/kills-the-group", test_timeout_kills_group);
  ADD("/hooks/timeout/sigkill-after-grace", test_timeout_sigkill_after_grace);
  ADD("/hooks/timeout/zero-is-none", test_timeout_zero_is_none);
  ADD("/hooks/group/leftovers-killed-when-hook-exits", test_leftovers_killed);
  ADD("/hooks/cancel/running-hook", test_cancel_running);
  ADD("/hooks/cancel/before-start", test_cancel_before_start);
  ADD("/hooks/cancel/busy-loop-does-not-delay-done", test_cancel_busy_loop);
  ADD("/hooks/count", test_count);
  ADD("/hooks/log/messages-without-env-values", test_log_messages);
  return g_test_run();
}
