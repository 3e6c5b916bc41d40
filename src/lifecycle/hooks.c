/* hooks.c — [hook:NAME] commands, one after another, on the main loop. */
#include "hooks.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "budget.h"
#include "log.h"
#include "proctree.h"
#include "logstream.h" /* issue 6: hooks' output */
#include "message-ids.h"
#include "reaper.h"
#include "spawn.h"
#include "timespan.h"

/* How long the loop may wait for a hook's pipes to reach EOF once it has exited and its
 * group was killed: the kernel closes them as the last member dies, well within this;
 * only a process that left the group keeps them open this long. */
#define SV_HOOK_OUTPUT_DRAIN_USEC (250 * G_GINT64_CONSTANT(1000))

/* Addressed to the app, or to sdvisor: never to a hook (see hooks.h). The SDVISOR_*
 * ones are set again below when they apply, and must not leak from BASE_ENV when not. */
static const char *const withheld_variables[] = {
    "NOTIFY_SOCKET",    "LISTEN_PID",      "LISTEN_FDS",        "LISTEN_FDNAMES",
    "WATCHDOG_PID",     "WATCHDOG_USEC",   "SDVISOR_EVENT",     "SDVISOR_HOOK",
    "SDVISOR_APP_NAME", "SDVISOR_APP_PID", "SDVISOR_EXIT_CODE", "SDVISOR_EXIT_STATUS",
};

struct SvHookRun {
  SvHookEvent event;
  GPtrArray *hooks; /* SvHookConfig*: copies of the hooks of EVENT, in file order */
  guint next;       /* index of the next hook to start */

  char **base_env;
  char *app_name;
  pid_t app_pid;
  int exit_code;
  char *exit_status;
  char *working_directory;
  SvLogStreams *log_streams; /* issue 6: the hooks' output; NULL = inherited */

  SvHookStartedFunc started;
  SvHooksDoneFunc done;
  gpointer user_data;

  SvHookConfig *current; /* the hook started last, until the next starts */
  pid_t pid;             /* its pid: also its process group and session */
  gboolean alive;        /* its pid is not reaped yet, so signals to it reach it */
  int wait_status;       /* once reaped */
  SvProcTree *tree;      /* everything it started (proctree.h) */
  gint64 started_at;     /* monotonic */
  char *exec_error;      /* it could not be executed; its child exits 126/127 by itself */
  int exec_errno;
  gboolean timed_out;

  guint step_id;    /* from the loop: start the first hook, or finish without one */
  guint timeout_id; /* the running hook's timeout */
  guint kill_id;    /* SIGKILL after the grace that follows SIGTERM */
  gboolean cancelled;
  gboolean finished;
};

/* ---- counting (the time budgets are budget.h's) -------------------------------------- */

guint
sv_hooks_count(GPtrArray *hooks, SvHookEvent event)
{
  guint n = 0;
  for (guint i = 0; hooks != NULL && i < hooks->len; i++)
    if (((const SvHookConfig *)hooks->pdata[i])->when & event)
      n++;
  return n;
}

/* ---- the run ------------------------------------------------------------------------ */

static SvHookConfig *
hook_copy(const SvHookConfig *hook)
{
  SvHookConfig *copy = g_new0(SvHookConfig, 1);
  copy->name = g_strdup(hook->name);
  copy->when = hook->when;
  copy->exec = g_strdupv(hook->exec);
  copy->timeout_usec = hook->timeout_usec;
  copy->on_error_fail = hook->on_error_fail;
  copy->environment = g_strdupv(hook->environment);
  return copy;
}

static void
hook_free(gpointer data)
{
  SvHookConfig *hook = data;
  g_free(hook->name);
  g_strfreev(hook->exec);
  g_strfreev(hook->environment);
  g_free(hook);
}

static void
run_free(SvHookRun *run)
{
  g_clear_handle_id(&run->step_id, g_source_remove);
  g_clear_handle_id(&run->timeout_id, g_source_remove);
  g_clear_handle_id(&run->kill_id, g_source_remove);
  g_clear_pointer(&run->tree, sv_proctree_free);
  g_ptr_array_unref(run->hooks);
  g_strfreev(run->base_env);
  g_free(run->app_name);
  g_free(run->exit_status);
  g_free(run->working_directory);
  g_free(run->exec_error);
  g_free(run);
}

static guint
timeout_add_usec(gint64 usec, GSourceFunc func, gpointer data)
{
  gint64 msec = usec / 1000 + (usec % 1000 != 0);
  return g_timeout_add((guint)CLAMP(msec, 0, G_MAXUINT), func, data);
}

static const char *
event_name(SvHookRun *run)
{
  return sv_hook_event_name(run->event) ?: "?";
}

/* One journal entry about the current hook. WAIT_STATUS < 0: the hook has not ended. */
static void
hook_log(SvHookRun *run, int priority, const char *message_id, int wait_status, const char *message)
{
  g_autoptr(GPtrArray) fields = g_ptr_array_new_with_free_func(g_free);
  g_ptr_array_add(fields, g_strconcat("SDVISOR_HOOK=", run->current->name, NULL));
  g_ptr_array_add(fields, g_strconcat("SDVISOR_EVENT=", event_name(run), NULL));
  if (run->pid > 0)
    g_ptr_array_add(fields, g_strdup_printf("SDVISOR_HOOK_PID=%d", (int)run->pid));
  if (wait_status >= 0) {
    g_ptr_array_add(
        fields, g_strdup_printf("SDVISOR_EXIT_CODE=%d", sv_wait_status_to_exit_code(wait_status)));
    g_ptr_array_add(fields,
                    g_strconcat("SDVISOR_EXIT_STATUS=", sv_wait_status_kind(wait_status), NULL));
  }
  if (run->exec_errno > 0)
    g_ptr_array_add(fields, g_strdup_printf("ERRNO=%d", run->exec_errno));
  g_ptr_array_add(fields, NULL);
  sv_log_full(priority, message_id, (const char *const *)fields->pdata, "%s", message);
}

static char *
describe_wait_status(int status)
{
  if (WIFEXITED(status))
    return g_strdup_printf("exited with status %d", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const char *name = sv_signal_name(WTERMSIG(status));
    g_autofree char *fallback = g_strdup_printf("signal %d", WTERMSIG(status));
    return g_strdup_printf("killed by %s%s", name ?: fallback,
                           WCOREDUMP(status) ? " (core dumped)" : "");
  }
  return g_strdup_printf("ended with wait status %d", status);
}

static void
run_finish(SvHookRun *run, gboolean ok, const SvHookConfig *failed, const char *detail)
{
  g_assert(!run->finished);
  run->finished = TRUE;
  g_clear_handle_id(&run->step_id, g_source_remove);
  g_clear_handle_id(&run->timeout_id, g_source_remove);
  g_clear_handle_id(&run->kill_id, g_source_remove);
  run->done(ok, failed, detail, run->user_data);
  run_free(run);
}

static char **
hook_environ(SvHookRun *run, const SvHookConfig *hook)
{
  char **env = g_strdupv(run->base_env);
  for (gsize i = 0; i < G_N_ELEMENTS(withheld_variables); i++)
    env = g_environ_unsetenv(env, withheld_variables[i]);

  for (char **e = hook->environment; e != NULL && *e != NULL; e++) {
    const char *eq = strchr(*e, '=');
    if (eq == NULL || eq == *e)
      continue; /* config.c accepts only NAME=VALUE; nothing to guess here */
    g_autofree char *name = g_strndup(*e, (gsize)(eq - *e));
    env = g_environ_setenv(env, name, eq + 1, TRUE);
  }

  env = g_environ_setenv(env, "SDVISOR_EVENT", event_name(run), TRUE);
  env = g_environ_setenv(env, "SDVISOR_HOOK", hook->name, TRUE);
  if (run->app_name != NULL)
    env = g_environ_setenv(env, "SDVISOR_APP_NAME", run->app_name, TRUE);
  if (run->app_pid > 0) {
    g_autofree char *pid = g_strdup_printf("%d", (int)run->app_pid);
    env = g_environ_setenv(env, "SDVISOR_APP_PID", pid, TRUE);
  }
  /* Only these events follow the app's end; elsewhere an exit code would describe an
   * earlier life of the app and mislead. */
  if ((run->event & (SV_HOOK_POST_STOP | SV_HOOK_ON_FAILURE)) && run->exit_code >= 0) {
    g_autofree char *code = g_strdup_printf("%d", run->exit_code);
    env = g_environ_setenv(env, "SDVISOR_EXIT_CODE", code, TRUE);
    if (run->exit_status != NULL)
      env = g_environ_setenv(env, "SDVISOR_EXIT_STATUS", run->exit_status, TRUE);
  }
  return env;
}

static void run_step(SvHookRun *run);

/* The current hook is over (reaped, or never forked). Decides between the next hook
 * and the end of the run. */
static void
hook_ended(SvHookRun *run, gboolean ok, const char *detail, int wait_status)
{
  SvHookConfig *hook = run->current;
  double elapsed = (double)(g_get_monotonic_time() - run->started_at) / (double)G_USEC_PER_SEC;

  if (run->cancelled) {
    g_autofree char *message = g_strdup_printf("hook %s (%s) cancelled after %.3fs (%s)",
                                               hook->name, event_name(run), elapsed, detail);
    hook_log(run, LOG_NOTICE, SV_MESSAGE_HOOK_FAILED, wait_status, message);
    run_finish(run, FALSE, hook, "cancelled");
    return;
  }

  if (ok) {
    g_autofree char *message =
        g_strdup_printf("hook %s (%s) finished in %.3fs", hook->name, event_name(run), elapsed);
    hook_log(run, LOG_INFO, SV_MESSAGE_HOOK_FINISHED, wait_status, message);
    run_step(run);
    return;
  }

  if (hook->on_error_fail) {
    g_autofree char *message =
        g_strdup_printf("hook %s (%s) failed: %s", hook->name, event_name(run), detail);
    hook_log(run, LOG_ERR, SV_MESSAGE_HOOK_FAILED, wait_status, message);
    run_finish(run, FALSE, hook, detail);
    return;
  }

  g_autofree char *message = g_strdup_printf("hook %s (%s) failed: %s; ignored (on-error=ignore)",
                                             hook->name, event_name(run), detail);
  hook_log(run, LOG_WARNING, SV_MESSAGE_HOOK_FAILED, wait_status, message);
  run_step(run);
}

/* The hook and everything it started are gone: the result. */
static void
hook_gone(SvHookRun *run)
{
  int wait_status = run->wait_status;
  g_clear_pointer(&run->tree, sv_proctree_free);
  /* Its last lines may still be in the pipes (SIGCHLD can come before the loop reads
   * them, and logmerge holds a line for its window): they go to the journal before the
   * entry that says the hook ended. */
  if (run->log_streams != NULL)
    (void)sv_logstream_drain_child(run->log_streams, run->pid, SV_HOOK_OUTPUT_DRAIN_USEC);
  g_autofree char *description = describe_wait_status(wait_status);
  if (run->exec_error != NULL) {
    hook_ended(run, FALSE, run->exec_error, wait_status);
  } else if (run->timed_out) {
    g_autofree char *timeout = sv_timespan_format(run->current->timeout_usec);
    g_autofree char *detail = g_strdup_printf("timed out after %s (%s)", timeout, description);
    hook_ended(run, FALSE, detail, wait_status);
  } else {
    gboolean ok = WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;
    hook_ended(run, ok, description, wait_status);
  }
}

static void
on_hook_tree_empty(SvProcTree *tree, gpointer user_data)
{
  hook_gone(user_data);
}

static void
on_hook_exited(pid_t pid, int wait_status, gpointer user_data)
{
  SvHookRun *run = user_data;
  g_assert(pid == run->pid && run->alive);
  run->alive = FALSE;
  run->wait_status = wait_status;
  g_clear_handle_id(&run->timeout_id, g_source_remove);
  g_clear_handle_id(&run->kill_id, g_source_remove);

  /* Whatever the hook left behind in its tree goes with it (its cgroup, or its group,
   * session and descendants), and the hook is over once they are gone: the next step
   * never overlaps them. They are our children now (subreaper); the reaper collects
   * them as orphans. */
  if (sv_proctree_is_empty(run->tree)) {
    hook_gone(run);
    return;
  }
  sv_log(LOG_DEBUG, "hook %s (%s): killing what its pid %d left behind", run->current->name,
         event_name(run), (int)pid);
  (void)sv_proctree_signal(run->tree, SIGKILL);
  sv_proctree_watch_empty(run->tree, on_hook_tree_empty, run);
}

static gboolean
on_kill_grace_over(gpointer user_data)
{
  SvHookRun *run = user_data;
  run->kill_id = 0;
  /* Still alive means not reaped: the pid is still the hook's own. */
  g_autofree char *message = g_strdup_printf(
      "hook %s (%s) is still running after SIGTERM: sending SIGKILL to its process tree",
      run->current->name, event_name(run));
  hook_log(run, LOG_WARNING, SV_MESSAGE_HOOK_TIMEOUT, -1, message);
  (void)sv_proctree_signal(run->tree, SIGKILL);
  return G_SOURCE_REMOVE;
}

/* SIGTERM to the tree, then SIGKILL after the grace — unless it ends first. */
static void
hook_terminate(SvHookRun *run)
{
  g_return_if_fail(run->alive);
  /* With SIGCONT: a stopped process acts on SIGTERM only once continued. */
  (void)sv_proctree_signal(run->tree, SIGTERM);
  if (run->kill_id == 0)
    run->kill_id = timeout_add_usec(sv_budget_hook_grace(run->current), on_kill_grace_over, run);
}

static gboolean
on_hook_timeout(gpointer user_data)
{
  SvHookRun *run = user_data;
  run->timeout_id = 0;
  run->timed_out = TRUE;
  g_autofree char *timeout = sv_timespan_format(run->current->timeout_usec);
  g_autofree char *grace = sv_timespan_format(sv_budget_hook_grace(run->current));
  g_autofree char *message = g_strdup_printf(
      "hook %s (%s) timed out after %s: sending SIGTERM to its process tree, SIGKILL in %s",
      run->current->name, event_name(run), timeout, grace);
  hook_log(run, run->current->on_error_fail ? LOG_ERR : LOG_WARNING, SV_MESSAGE_HOOK_TIMEOUT, -1,
           message);
  hook_terminate(run);
  return G_SOURCE_REMOVE;
}

static void
hook_start(SvHookRun *run, SvHookConfig *hook)
{
  run->current = hook;
  run->pid = 0;
  run->alive = FALSE;
  run->timed_out = FALSE;
  run->exec_errno = 0;
  g_clear_pointer(&run->exec_error, g_free);
  run->started_at = g_get_monotonic_time();

  g_auto(GStrv) envp = hook_environ(run, hook);
  SvSpawnOptions options = SV_SPAWN_OPTIONS_INIT;
  options.argv = hook->exec;
  options.envp = envp;
  options.working_directory = run->working_directory;
  g_clear_pointer(&run->tree, sv_proctree_free);
  run->tree = sv_proctree_new("hook", hook->name, FALSE);
  options.cgroup_procs_fd = sv_proctree_procs_fd(run->tree);

  /* Issue 6: the hook's output into the journal, tagged with its name. */
  SvLogPipes pipes = SV_LOG_PIPES_INIT;
  if (run->log_streams != NULL) {
    g_autofree char *hook_field = g_strconcat("SDVISOR_HOOK=", hook->name, NULL);
    const char *fields[] = {hook_field, NULL};
    g_autoptr(GError) pipe_error = NULL;
    if (!sv_logstream_open(run->log_streams, SV_LOG_SOURCE_HOOK, fields, &pipes, &pipe_error))
      sv_log(LOG_WARNING, "hook %s: its output goes to sdvisor's own: %s", hook->name,
             pipe_error->message);
    options.stdout_fd = pipes.stdout_fd;
    options.stderr_fd = pipes.stderr_fd;
  }

  pid_t pid = 0;
  int exec_errno = 0;
  g_autoptr(GError) error = NULL;
  gboolean spawned = sv_spawn(&options, &pid, &exec_errno, &error);
  sv_logstream_started(&pipes, pid);
  if (!spawned && !g_error_matches(error, SV_SPAWN_ERROR, SV_SPAWN_ERROR_EXEC)) {
    /* No child at all (fork or pipe failed): nothing to wait for. */
    hook_ended(run, FALSE, error->message, -1);
    return;
  }

  run->pid = pid;
  run->alive = TRUE;
  sv_proctree_set_leader(run->tree, pid);
  sv_reaper_watch(pid, on_hook_exited, run);
  if (sv_budget_hook_has_timeout(hook))
    run->timeout_id = timeout_add_usec(hook->timeout_usec, on_hook_timeout, run);

  if (!spawned) {
    /* The child exits 126/127 on its own; the failure is reported when it is reaped,
     * like any other. */
    run->exec_error = g_strdup(error->message);
    run->exec_errno = exec_errno;
    return;
  }

  g_autofree char *message = g_strdup_printf("hook %s (%s) started: %s (pid %d)", hook->name,
                                             event_name(run), hook->exec[0], (int)pid);
  hook_log(run, LOG_INFO, SV_MESSAGE_HOOK_STARTED, -1, message);
  if (run->started != NULL)
    run->started(hook, pid, run->user_data);
}

/* Starts the next hook, or ends the run when none is left. */
static void
run_step(SvHookRun *run)
{
  if (run->next >= run->hooks->len) {
    run_finish(run, TRUE, NULL, NULL);
    return;
  }
  hook_start(run, run->hooks->pdata[run->next++]);
}

static gboolean
on_step(gpointer user_data)
{
  SvHookRun *run = user_data;
  run->step_id = 0;
  /* Cancelled is a failure only when a hook is left out: a run with none left (none
   * configured for the event) simply ends. */
  if (run->cancelled && run->next < run->hooks->len)
    run_finish(run, FALSE, NULL, "cancelled");
  else
    run_step(run);
  return G_SOURCE_REMOVE;
}

/* The step comes on the loop's next turn at default priority, not when the loop is idle:
 * a stop waits for it (a cancelled run reports from here), and it must not wait behind
 * the app's output or a probe's I/O. */
static void
schedule_step(SvHookRun *run)
{
  if (run->step_id == 0)
    run->step_id = g_idle_add_full(G_PRIORITY_DEFAULT, on_step, run, NULL);
}

SvHookRun *
sv_hooks_run(GPtrArray *hooks, const SvHookContext *ctx, char *const *base_env,
             SvHookStartedFunc started, SvHooksDoneFunc done, gpointer user_data)
{
  g_return_val_if_fail(ctx != NULL && done != NULL, NULL);
  g_return_val_if_fail(sv_hook_event_name(ctx->event) != NULL, NULL);

  SvHookRun *run = g_new0(SvHookRun, 1);
  run->event = ctx->event;
  run->hooks = g_ptr_array_new_with_free_func(hook_free);
  for (guint i = 0; hooks != NULL && i < hooks->len; i++) {
    const SvHookConfig *hook = hooks->pdata[i];
    if ((hook->when & ctx->event) && hook->exec != NULL && hook->exec[0] != NULL)
      g_ptr_array_add(run->hooks, hook_copy(hook));
  }
  if (run->hooks->len > 0)
    run->base_env = base_env != NULL ? g_strdupv((char **)base_env) : sv_spawn_base_environ();
  run->app_name = g_strdup(ctx->app_name);
  run->app_pid = ctx->app_pid;
  run->exit_code = ctx->exit_code;
  run->exit_status = g_strdup(ctx->exit_status);
  run->working_directory = g_strdup(ctx->working_directory);
  run->log_streams = ctx->log_streams;
  run->started = started;
  run->done = done;
  run->user_data = user_data;

  /* Everything from the loop: the caller has stored RUN before any callback can use it. */
  schedule_step(run);
  return run;
}

void
sv_hooks_cancel(SvHookRun *run)
{
  g_return_if_fail(run != NULL);
  if (run->cancelled || run->finished)
    return;
  run->cancelled = TRUE;

  if (run->alive) {
    g_clear_handle_id(&run->timeout_id, g_source_remove);
    g_autofree char *grace = sv_timespan_format(sv_budget_hook_grace(run->current));
    g_autofree char *message = g_strdup_printf(
        "cancelling hook %s (%s): sending SIGTERM to its process tree, SIGKILL in %s",
        run->current->name, event_name(run), grace);
    hook_log(run, LOG_NOTICE, NULL, -1, message);
    hook_terminate(run);
    return;
  }
  /* Its main process is gone and what it left is being killed: the end comes then. */
  if (run->tree != NULL)
    return;

  /* Between hooks only before the first (each next one starts from the previous one's
   * end): the pending step reports the cancellation. */
  schedule_step(run);
}
