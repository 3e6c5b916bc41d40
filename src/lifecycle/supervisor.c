/* supervisor.c — the lifecycle state machine (lifecycle.h has its diagram).
 *
 * Every step that waits (hooks, readiness, the stop deadline, the app's tree) is a
 * callback on the main loop, and every change of state goes through set_state():
 *
 *   starting:  pre-start hooks → spawn the instance → readiness probe → READY=1 →
 *              post-start hooks, health probe, watchdog pings, jobs
 *   reload:    RELOADING=1 → re-read config → reload hooks → reload-signal → readiness
 *              checks again → READY=1
 *   unhealthy: on-unhealthy hooks → WATCHDOG=trigger (under a systemd watchdog), or
 *              restart / stop / nothing as [health] on-unhealthy says
 *   stopping:  STOPPING=1 → pre-stop hooks → stop-delay → stop signal to the app's
 *              whole tree → (deadline: SIGKILL to what is left)
 *   app exit:  the main process's status is the app's; on its own, what it left gets
 *              the stop signal; once the tree is gone: on-failure hooks
 *   the end:   post-stop hooks → jobs finish → exit */
#include "supervisor.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "budget.h"
#include "checkspec.h"
#include "drain.h"
#include "exit-codes.h"
#include "hooks.h"
#include "instance.h"
#include "jobs.h"
#include "journal.h"
#include "listen.h"
#include "log.h"
#include "logstream.h"
#include "message-ids.h"
#include "notify-proxy.h"
#include "notify.h"
#include "probe.h"
#include "proctree.h"
#include "reaper.h"
#include "spawn.h"
#include "timespan.h"

/* After the loop: how long pipes still held open (by a process that left the app's group)
 * are read, and how long a stalled journald is waited for. */
#define SV_LOG_DRAIN_USEC (1 * SV_USEC_PER_SEC)
#define SV_LOG_FLUSH_USEC (30 * SV_USEC_PER_SEC)
/* Added to every EXTEND_TIMEOUT_USEC so systemd's timer fires after sdvisor's own
 * deadline and the cleanup after it, never before. */
#define SV_TIMEOUT_MARGIN_USEC (5 * SV_USEC_PER_SEC)
/* EXTEND_TIMEOUT_USEC for a stage without a bound (a hook with timeout=infinity). */
#define SV_TIMEOUT_UNBOUNDED_USEC (24 * 3600 * SV_USEC_PER_SEC)

struct SvSupervisor {
  SvConfig *config;
  char **environ; /* sdvisor's environment at start, for config re-reads */
  GMainLoop *loop;
  SvState state;
  char *jobs_problem; /* jobs that cannot run, for STATUS=; NULL = none */

  sigset_t handled;
  int signal_fd;
  guint signal_source;

  /* The app: the instance running now (never NULL; not yet spawned before the start). */
  SvInstance *app;
  guint restarts;

  /* reload-mode=replace: the new instance while it starts, with a notify proxy of its
   * own (its READY=1 is its own), and instances that drain after a switch or a failed
   * replacement (SvDraining*); sdvisor ends only once they are gone. */
  SvInstance *next;
  SvNotifyProxy *next_proxy;
  SvListenSet *next_sockets; /* the new instance's (sv_listen_set_fork()) */
  gboolean next_waiting;     /* for the instance replaced before to be gone (below) */
  guint next_timer;
  GPtrArray *draining;

  /* [app] listen= or socket activation: the sockets the app gets, at every start. */
  SvListenSet *sockets;

  SvNotifyProxy *proxy;

  /* Output (issue 6): the sink every entry goes to, and the readers of the children's
   * pipes — the app's, hooks', checks'. */
  SvJournal *journal;

  /* Scheduled jobs. At reload the old set finishes its runs while the new one plans;
   * at stop every set gets the stop signal and sdvisor waits for them. */
  SvJobs *jobs;
  GPtrArray *retired_jobs; /* SvRetired*: sets still running a job of an older configuration */
  guint jobs_stopping;     /* sets asked to stop and not yet done */
  gboolean jobs_stop_asked;
  gboolean post_stop_done;
  SvLogStreams *logs;

  /* Readiness and liveness (the probes are the instance's). */
  guint ready_timer;
  gboolean ready_sent; /* READY=1 went upstream (once per sdvisor, plus reloads) */
  guint watchdog_timer;

  /* Hooks: at most one event's sequence runs at a time; what happens meanwhile waits
   * for it to end (see resume_after_hooks()). */
  SvHookRun *hook_run;
  gboolean unhealthy_pending; /* the health probe said unhealthy while hooks ran */
  /* Requests that came while hooks ran, not states: they are served once the hooks end. */
  gboolean reload_pending; /* SIGHUP while hooks ran: reload once they are done */
  gboolean app_reloading;  /* the app sent RELOADING=1 itself; its READY=1 ends it */

  /* Stopping. */
  int stop_trigger; /* the signal that asked for the stop */
  guint stop_delay_timer;

  int exit_code;

  /* For the control socket (issue 20). */
  gint64 started_real;            /* sdvisor's start */
  gint64 app_started_real;        /* the app's last start */
  gint64 unhealthy_since;         /* CLOCK_REALTIME µs; 0 while healthy */
  GSList *reload_waiters;         /* SvReloadWaiter*: asked for a reload not begun yet */
  GSList *reload_current;         /* SvReloadWaiter*: waiting for the reload that runs now */
  gboolean health_attempt_failed; /* the health probe's last attempt failed */
  gboolean watchdog_aborted;      /* systemd's watchdog sent SIGABRT: fast stop */
  gint64 stop_timeout_override;   /* > 0: an unhealthy app's deadline, not stop-timeout */
};

typedef struct {
  SvSupervisorReloadFunc func;
  gpointer user_data;
} SvReloadWaiter;

static const char *
state_name(SvState state)
{
  return sv_lifecycle_state_name(state);
}

/* The one way the lifecycle moves: a move lifecycle.h does not allow is a bug, refused. */
static gboolean
set_state(SvSupervisor *sv, SvState state)
{
  if (!sv_lifecycle_can_move(sv->state, state)) {
    g_critical("lifecycle: no move from %s to %s", state_name(sv->state), state_name(state));
    return FALSE;
  }
  if (sv->state != state)
    sv_log(LOG_DEBUG, "state %s → %s", state_name(sv->state), state_name(state));
  sv->state = state;
  return TRUE;
}

/* The app's main process while it lives; 0 otherwise. */
static pid_t
app_pid(SvSupervisor *sv)
{
  return sv->app != NULL && sv->app->pid > 0 && !sv->app->exited ? sv->app->pid : 0;
}

/* Something of the app is still there to stop (its main process or what it left). */
static gboolean
app_alive(SvSupervisor *sv)
{
  return sv->app != NULL && sv->app->pid > 0 && !sv->app->gone;
}

/* Answers every waiter of *LIST: ERROR NULL = the reload is done. */
static void
reload_waiters_done(GSList **list, const GError *error)
{
  GSList *waiters = g_slist_reverse(g_steal_pointer(list));
  for (GSList *l = waiters; l != NULL; l = l->next) {
    SvReloadWaiter *w = l->data;
    w->func(error, w->user_data);
  }
  g_slist_free_full(waiters, g_free);
}

static void
reload_waiters_fail_all(SvSupervisor *sv, const char *why)
{
  if (sv->reload_waiters == NULL && sv->reload_current == NULL)
    return;
  g_autoptr(GError) error = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_BUSY, why);
  reload_waiters_done(&sv->reload_current, error);
  reload_waiters_done(&sv->reload_waiters, error);
}

static char *
pid_field(pid_t pid)
{
  return g_strdup_printf("SDVISOR_APP_PID=%d", (int)pid);
}

/* Asks systemd to wait BUDGET more from now (plus the margin). */
static void
extend_timeout(gint64 budget)
{
  gint64 usec = sv_timespan_add(budget, SV_TIMEOUT_MARGIN_USEC);
  sv_notify_extend_timeout(MIN(usec, SV_TIMEOUT_UNBOUNDED_USEC));
}

/* STATUS= while the app runs. English like every STATUS= and journal message (people
 * search for them); "1 time", not "1 times". A job that cannot run is as visible as the
 * app: `systemctl status` shows it. */
static char *
running_status(SvSupervisor *sv)
{
  g_autofree char *restarts =
      sv->restarts == 0
          ? g_strdup("")
          : g_strdup_printf(", restarted %u time%s", sv->restarts, sv->restarts == 1 ? "" : "s");
  return g_strdup_printf("running (pid %d%s)%s%s", (int)app_pid(sv), restarts,
                         sv->jobs_problem ? "; " : "", sv->jobs_problem ? sv->jobs_problem : "");
}

static void
status_running(SvSupervisor *sv)
{
  g_autofree char *status = running_status(sv);
  sv_notify_status("%s", status);
}

static void
on_jobs_failure(const char *summary, gpointer user_data)
{
  SvSupervisor *sv = user_data;
  g_free(sv->jobs_problem);
  sv->jobs_problem = g_strdup(summary);
  if (sv->state == SV_STATE_RUNNING && app_pid(sv) > 0)
    status_running(sv);
}

/* sdvisor's environment for children (spawn.c's base) with [app] environment= and
 * environment-file= applied: what the app, its hooks and jobs start from. */
static char **
configured_environment(SvSupervisor *sv)
{
  char **env = sv_spawn_base_environ();
  for (char **e = sv->config->app.environment; e && *e; e++) {
    const char *eq = strchr(*e, '=');
    g_autofree char *name = g_strndup(*e, (gsize)(eq - *e));
    env = g_environ_setenv(env, name, eq + 1, TRUE);
  }
  return env;
}

/* A step that runs once a hook sequence is done. */
typedef void (*SvStepFunc)(SvSupervisor *sv, gboolean ok, const char *detail);

/* In lifecycle order below; declared here because the lifecycle loops back. */
static void on_hook_started(const SvHookConfig *hook, pid_t pid, gpointer user_data);
static void on_hooks_done(gboolean ok, const SvHookConfig *failed, const char *detail,
                          gpointer user_data);
static void run_hooks(SvSupervisor *sv, SvHookEvent event, int exit_status_raw, SvStepFunc next);
static void finish(SvSupervisor *sv);
static void maybe_finish(SvSupervisor *sv);
static void after_post_stop(SvSupervisor *sv, gboolean ok, const char *detail);
static void run_post_stop(SvSupervisor *sv);
static gboolean failing(SvSupervisor *sv);
static gboolean resume_after_hooks(SvSupervisor *sv);
static void after_on_failure(SvSupervisor *sv, gboolean ok, const char *detail);
static gint64 stop_timeout(SvSupervisor *sv);
static void on_app_exit(SvInstance *app, gpointer user_data);
static void on_app_gone(SvInstance *app, gpointer user_data);
static void on_app_deadline(SvInstance *app, gpointer user_data);
static void signal_app_to_stop(SvSupervisor *sv);
static gboolean on_stop_delay_done(gpointer user_data);
static void after_pre_stop(SvSupervisor *sv, gboolean ok, const char *detail);
static void begin_stop(SvSupervisor *sv);
static void stop_at_once(SvSupervisor *sv, int signo);
static void request_stop(SvSupervisor *sv, int signo);
static void on_jobs_stopped(gpointer user_data);
static gboolean free_jobs_idle(gpointer data);
static void on_retired_jobs_done(gpointer user_data);
static void stop_jobs(SvSupervisor *sv, int sig, gint64 deadline);
static void start_jobs(SvSupervisor *sv);
static void restart_jobs(SvSupervisor *sv);
static gboolean on_watchdog_tick(gpointer user_data);
static void after_on_unhealthy(SvSupervisor *sv, gboolean ok, const char *detail);
static char *unhealthy_since_text(SvSupervisor *sv);
static void on_health(SvProbe *probe, gboolean healthy, const char *detail, gpointer user_data);
static void on_health_attempt(SvProbe *probe, gboolean ok, const char *detail, guint failures,
                              gpointer user_data);
static GPtrArray *ready_checks(GPtrArray *checks, gboolean skip_notify);
static char **app_environment(SvSupervisor *sv);
static char **instance_environment(SvSupervisor *sv, SvNotifyProxy *proxy);
static gboolean spawn_instance(SvSupervisor *sv, SvInstance *instance, SvNotifyProxy *proxy,
                               SvListenSet *sockets, GError **error);
static void start_replacement(SvSupervisor *sv);
static void drop_next(SvSupervisor *sv, const char *why);
static void stop_draining(SvSupervisor *sv, gboolean at_once);
static char *runtime_directory(void);
static guint draining_alive(SvSupervisor *sv);
static void next_notify(SvSupervisor *sv, const SvNotifyMessage *msg);
static void start_health(SvSupervisor *sv);
static void start_watchdog(SvSupervisor *sv);
static void after_post_start(SvSupervisor *sv, gboolean ok, const char *detail);
static void became_ready(SvSupervisor *sv, const char *detail);
static void on_ready_probe(SvProbe *probe, gboolean healthy, const char *detail,
                           gpointer user_data);
static gboolean on_ready_deadline(gpointer user_data);
static SvProbe *ready_probe_new(SvSupervisor *sv, GPtrArray *checks, SvNotifyProxy *proxy,
                                pid_t pid, SvProbeFunc func, GError **error);
static void start_readiness(SvSupervisor *sv, gboolean after_reload);
static void on_app_notify(SvNotifyProxy *proxy, const SvNotifyMessage *msg, pid_t sender,
                          const int *fds, guint n_fds, gpointer user_data);
static void on_app_notify_rejected(SvNotifyProxy *proxy, pid_t sender, SvNotifyProxyReject reason,
                                   const char *detail, guint64 count, gpointer user_data);
static void after_reload_hooks(SvSupervisor *sv, gboolean ok, const char *detail);
static gboolean group_equal(GKeyFile *a, GKeyFile *b, const char *group);
static void apply_log_config(SvSupervisor *sv);
static void adopt_config(SvSupervisor *sv, SvConfig *new_config);
static void reload(SvSupervisor *sv);
static void watchdog_abort(SvSupervisor *sv);
static gboolean on_signal(int fd, GIOCondition condition, gpointer user_data);
static gboolean setup_signals(SvSupervisor *sv, GError **error);
static SvInstance *new_instance(SvSupervisor *sv);
static void start_app(SvSupervisor *sv);
static void after_pre_start(SvSupervisor *sv, gboolean ok, const char *detail);
static gboolean start_idle(gpointer user_data);

/* ---- hooks --------------------------------------------------------------------------- */

typedef struct {
  SvSupervisor *sv;
  SvStepFunc next;
  SvHookEvent event;
} SvHookStep;

static void
on_hook_started(const SvHookConfig *hook, pid_t pid, gpointer user_data)
{
  SvHookStep *step = user_data;
  sv_notify_status("%s: running hook %s (pid %d)", sv_hook_event_name(step->event), hook->name,
                   (int)pid);
  /* Start and stop hooks keep systemd waiting; the others run while it is not. */
  if (step->event & (SV_HOOK_PRE_START | SV_HOOK_POST_START | SV_HOOK_PRE_STOP | SV_HOOK_POST_STOP))
    extend_timeout(sv_budget_hook(hook));
}

static void
on_hooks_done(gboolean ok, const SvHookConfig *failed, const char *detail, gpointer user_data)
{
  SvHookStep *step = user_data;
  SvSupervisor *sv = step->sv;
  SvStepFunc next = step->next;
  g_free(step);
  sv->hook_run = NULL;
  next(sv, ok, detail);
}

/* Runs the hooks of EVENT, then NEXT (also when there are none, from the loop). */
static void
run_hooks(SvSupervisor *sv, SvHookEvent event, int exit_status_raw, SvStepFunc next)
{
  g_return_if_fail(sv->hook_run == NULL);
  SvHookStep *step = g_new0(SvHookStep, 1);
  step->sv = sv;
  step->next = next;
  step->event = event;

  SvHookContext ctx = {0};
  ctx.event = event;
  ctx.app_name = sv->config->app.name;
  ctx.app_pid = app_pid(sv);
  ctx.exit_code = -1;
  ctx.working_directory = sv->config->app.working_directory;
  ctx.log_streams = sv->logs;
  if (exit_status_raw >= 0) {
    ctx.exit_code = sv_wait_status_to_exit_code(exit_status_raw);
    ctx.exit_status = sv_wait_status_kind(exit_status_raw);
  }
  /* The environment is built only for hooks that will use it (not on every stop). */
  g_auto(GStrv) env =
      sv_hooks_count(sv->config->hooks, event) > 0 ? configured_environment(sv) : NULL;
  sv->hook_run = sv_hooks_run(sv->config->hooks, &ctx, env, on_hook_started, on_hooks_done, step);
}

/* ---- starting ------------------------------------------------------------------------------------ */

static void
start_app(SvSupervisor *sv)
{
  const SvAppConfig *app = &sv->config->app;
  set_state(sv, SV_STATE_STARTING);
  /* A new instance: the one before (a restart) is gone, tree and all. */
  if (sv->app->pid > 0) {
    sv_instance_free(sv->app);
    sv->app = new_instance(sv);
  }
  sv_notify_status("starting %s", app->name);

  g_autoptr(GError) error = NULL;
  gboolean spawned = spawn_instance(sv, sv->app, sv->proxy, sv->sockets, &error);
  pid_t pid = sv->app->pid;
  if (!spawned) {
    if (pid <= 0) {
      sv_log_id(LOG_ERR, SV_MESSAGE_APP_EXEC_FAILED, "cannot start %s: %s", app->name,
                error->message);
      sv->exit_code = SV_EXIT_FAILURE;
      run_post_stop(sv);
      return;
    }
    /* The child exits 127/126 by itself; its status becomes ours through the reaper. */
    sv_log_id(LOG_ERR, SV_MESSAGE_APP_EXEC_FAILED, "%s", error->message);
    return;
  }
  sv->app_started_real = g_get_real_time();

  g_autofree char *pidf = pid_field(pid);
  const char *fields[] = {pidf, NULL};
  sv_log_full(LOG_INFO, SV_MESSAGE_APP_STARTED, fields, "started %s (pid %d)", app->name, (int)pid);
  start_readiness(sv, FALSE);
}

/* Spawns the app as the configuration says into INSTANCE, with PROXY's NOTIFY_SOCKET and
 * SOCKETS as systemd passes them, its output read into the journal. FALSE with ERROR: with
 * the pid still set, the child exits 127/126 by itself (sv_spawn()). */
static gboolean
spawn_instance(SvSupervisor *sv, SvInstance *instance, SvNotifyProxy *proxy, SvListenSet *sockets,
               GError **error)
{
  const SvAppConfig *app = &sv->config->app;
  SvSpawnOptions options = SV_SPAWN_OPTIONS_INIT;
  g_auto(GStrv) env =
      sv_listen_set_prepare_spawn(sockets, &options, instance_environment(sv, proxy));
  options.argv = app->exec;
  options.envp = env;
  options.working_directory = app->working_directory;
  options.set_watchdog_pid = sv_notify_watchdog_usec() > 0;

  /* The app's stdout and stderr are pipes sdvisor reads into the journal, each line
   * tagged with the pid of the instance that wrote it. */
  SvLogPipes pipes = SV_LOG_PIPES_INIT;
  g_autoptr(GError) pipe_error = NULL;
  if (!sv_logstream_open(sv->logs, SV_LOG_SOURCE_APP, NULL, &pipes, &pipe_error))
    sv_log(LOG_WARNING, "the app's output goes to sdvisor's own stdout and stderr: %s",
           pipe_error->message);
  options.stdout_fd = pipes.stdout_fd;
  options.stderr_fd = pipes.stderr_fd;
  int exec_errno = 0;
  gboolean spawned = sv_instance_spawn(instance, &options, &exec_errno, error);
  sv_logstream_started(&pipes, instance->pid);
  return spawned;
}

static void
after_pre_start(SvSupervisor *sv, gboolean ok, const char *detail)
{
  if (sv->state == SV_STATE_STOPPING) {
    run_post_stop(sv);
    return;
  }
  if (!ok) {
    sv_log_id(LOG_ERR, SV_MESSAGE_HOOK_FAILED_START, "pre-start hooks failed: %s; not starting %s",
              detail ? detail : "", sv->config->app.name);
    sv_notify_status("failed: pre-start hook: %s", detail ? detail : "");
    sv->exit_code = SV_EXIT_HOOK_FAILED;
    run_post_stop(sv);
    return;
  }
  start_app(sv);
}

static gboolean
start_idle(gpointer user_data)
{
  SvSupervisor *sv = user_data;
  /* A TERM that arrived before the loop ran is handled first. */
  if (sv->state != SV_STATE_STARTING)
    return G_SOURCE_REMOVE;
  sv_notify_status("starting %s", sv->config->app.name);
  SvBudget budget;
  sv_budget_compute(sv->config, &budget);
  if (budget.start > 0)
    extend_timeout(budget.start);
  run_hooks(sv, SV_HOOK_PRE_START, -1, after_pre_start);
  return G_SOURCE_REMOVE;
}

/* ---- readiness ------------------------------------------------------------------------------- */

static void
after_post_start(SvSupervisor *sv, gboolean ok, const char *detail)
{
  if (!ok)
    sv_log(LOG_WARNING, "post-start hooks: %s", detail ? detail : "failed");
  if (!resume_after_hooks(sv) && app_pid(sv) > 0 && sv->state == SV_STATE_RUNNING)
    status_running(sv); /* the hooks' STATUS= lines are over */
}

static void
became_ready(SvSupervisor *sv, const char *detail)
{
  g_clear_handle_id(&sv->ready_timer, g_source_remove);
  g_clear_pointer(&sv->app->ready_probe, sv_probe_free);
  gboolean first = !sv->ready_sent;
  gboolean after_reload = sv->state == SV_STATE_RELOADING;
  set_state(sv, SV_STATE_RUNNING);

  g_autofree char *pidf = pid_field(app_pid(sv));
  const char *fields[] = {pidf, NULL};
  if (first || after_reload) {
    g_autofree char *status = running_status(sv);
    sv_notify_ready(status);
    sv->ready_sent = TRUE;
    sv_log_full(LOG_INFO, after_reload ? SV_MESSAGE_RELOADED : SV_MESSAGE_READY, fields,
                "app (pid %d) is ready%s%s", (int)app_pid(sv), detail && *detail ? ": " : "",
                detail ? detail : "");
  } else {
    status_running(sv);
    sv_log_full(LOG_INFO, SV_MESSAGE_READY, fields, "restarted app (pid %d) is ready",
                (int)app_pid(sv));
  }

  if (first)
    start_jobs(sv);
  if (after_reload)
    reload_waiters_done(&sv->reload_current, NULL);
  if (after_reload) {
    if (sv->reload_pending) {
      /* Another SIGHUP came during this reload's hooks: one more cycle. */
      sv->reload_pending = FALSE;
      reload(sv);
    }
    return;
  }
  start_health(sv);
  start_watchdog(sv);
  if (first)
    run_hooks(sv, SV_HOOK_POST_START, -1, after_post_start);
}

static void
on_ready_probe(SvProbe *probe, gboolean healthy, const char *detail, gpointer user_data)
{
  SvSupervisor *sv = user_data;
  if (healthy)
    became_ready(sv, detail);
  else
    sv_log(LOG_DEBUG, "not ready yet: %s", detail ? detail : "");
}

static gboolean
on_ready_deadline(gpointer user_data)
{
  SvSupervisor *sv = user_data;
  sv->ready_timer = 0;
  const char *detail = sv->app->ready_probe ? sv_probe_last_detail(sv->app->ready_probe) : NULL;
  g_autofree char *timeout = sv_timespan_format(sv->config->ready.timeout_usec);
  g_autofree char *pidf = pid_field(app_pid(sv));
  g_autofree char *detailf = g_strdup_printf("SDVISOR_CHECK_DETAIL=%s", detail ? detail : "");
  const char *fields[] = {pidf, detailf, NULL};

  if (sv->state == SV_STATE_RELOADING) {
    sv_log_full(LOG_ERR, SV_MESSAGE_READY_TIMEOUT, fields,
                "app (pid %d) not ready %s after reload: %s; carrying on", (int)app_pid(sv),
                timeout, detail ? detail : "no check passed");
    became_ready(sv, NULL);
    return G_SOURCE_REMOVE;
  }

  sv_log_full(LOG_ERR, SV_MESSAGE_READY_TIMEOUT, fields, "app (pid %d) not ready after %s: %s",
              (int)app_pid(sv), timeout, detail ? detail : "no check passed");
  g_clear_pointer(&sv->app->ready_probe, sv_probe_free);
  if (!sv->ready_sent) {
    sv->exit_code = SV_EXIT_START_TIMEOUT;
    set_state(sv, SV_STATE_FAILED);
    sv_notify_status("failed: not ready after %s", timeout);
    run_hooks(sv, SV_HOOK_ON_FAILURE, -1, after_on_failure);
  } else {
    /* A restarted app that never becomes ready: give up like a failed start. */
    sv->exit_code = SV_EXIT_START_TIMEOUT;
    request_stop(sv, SIGTERM);
  }
  return G_SOURCE_REMOVE;
}

/* Readiness checks for the app just spawned (or reloaded): READY once they pass. */
/* A readiness probe of CHECKS for the instance PID, whose NOTIFY_SOCKET is PROXY's (exec:
 * checks get its environment and pid); FUNC hears the verdict. */
static SvProbe *
ready_probe_new(SvSupervisor *sv, GPtrArray *checks, SvNotifyProxy *proxy, pid_t pid,
                SvProbeFunc func, GError **error)
{
  const SvReadyConfig *r = &sv->config->ready;
  SvProbeConfig pc = {
      .mode = SV_PROBE_READINESS,
      .checks = checks,
      .interval_usec = r->interval_usec,
      .timeout_usec = r->check_timeout_usec,
      .failure_threshold = 1,
      .success_threshold = 1,
      .start_period_usec = 0,
  };
  SvProbe *probe = sv_probe_new(&pc, func, sv, error);
  if (probe == NULL)
    return NULL;
  sv_probe_set_log_streams(probe, sv->logs);
  g_auto(GStrv) env = instance_environment(sv, proxy);
  sv_probe_set_environment(probe, env);
  sv_probe_set_pid(probe, pid);
  return probe;
}

static void
start_readiness(SvSupervisor *sv, gboolean after_reload)
{
  g_clear_pointer(&sv->app->ready_probe, sv_probe_free);
  const SvReadyConfig *r = &sv->config->ready;
  /* After a reload the app's own READY=1 was given once already; gunicorn, for one,
   * does not repeat it, so only the other checks are run again. */
  g_autoptr(GPtrArray) checks = ready_checks(r->checks, after_reload);
  if (checks->len == 0) {
    became_ready(sv, NULL);
    return;
  }
  g_autoptr(GError) error = NULL;
  sv->app->ready_probe =
      ready_probe_new(sv, checks, sv->proxy, app_pid(sv), on_ready_probe, &error);
  if (sv->app->ready_probe == NULL) {
    sv_log(LOG_ERR, "[ready]: %s", error->message);
    became_ready(sv, NULL);
    return;
  }
  if (r->timeout_usec != G_MAXINT64)
    sv->ready_timer = g_timeout_add_full(G_PRIORITY_HIGH, (guint)(r->timeout_usec / 1000),
                                         on_ready_deadline, sv, NULL);
  if (!after_reload && !sv->ready_sent) {
    SvBudget budget;
    sv_budget_compute(sv->config, &budget);
    extend_timeout(budget.ready);
  }
  sv_notify_status("%s: waiting for %u check%s (pid %d)", after_reload ? "reloading" : "starting",
                   checks->len, checks->len == 1 ? "" : "s", (int)app_pid(sv));
  sv_probe_start(sv->app->ready_probe);
}

/* ---- the notify proxy --------------------------------------------------------------------------- */

static void
on_app_notify(SvNotifyProxy *proxy, const SvNotifyMessage *msg, pid_t sender, const int *fds,
              guint n_fds, gpointer user_data)
{
  SvSupervisor *sv = user_data;
  if (proxy != sv->proxy) {
    /* A replacement's new instance (or one that drains: nothing of it counts now). */
    if (proxy == sv->next_proxy)
      next_notify(sv, msg);
    return;
  }
  /* The app's STATUS= goes up through sv_notify_status(), which keeps it from
   * spelling READY=1 or WATCHDOG=1 (conmon relays those words wherever they stand). */
  if (msg->fields & SV_NOTIFY_FIELD_STATUS)
    sv_notify_status("%s", msg->status ? msg->status : "");
  guint32 relay = msg->fields & (SV_NOTIFY_FIELD_STOPPING | SV_NOTIFY_FIELD_WATCHDOG_TRIGGER |
                                 SV_NOTIFY_FIELD_EXTEND_TIMEOUT_USEC | SV_NOTIFY_FIELD_ERRNO |
                                 SV_NOTIFY_FIELD_BUSERROR | SV_NOTIFY_FIELD_FDSTORE |
                                 SV_NOTIFY_FIELD_FDSTOREREMOVE | SV_NOTIFY_FIELD_FDNAME |
                                 SV_NOTIFY_FIELD_FDPOLL_OFF);

  /* READY=1 upstream is sdvisor's decision (all [ready] checks, `notify` among them);
   * the app's own READY feeds the checks. Only the app's own reload cycle,
   * RELOADING=1 … READY=1, passes through as it is. */
  if (msg->fields & SV_NOTIFY_FIELD_RELOADING && sv->state == SV_STATE_RUNNING && sv->ready_sent &&
      !sv->app_reloading) {
    sv->app_reloading = TRUE;
    relay |= SV_NOTIFY_FIELD_RELOADING | SV_NOTIFY_FIELD_MONOTONIC_USEC;
  } else if (msg->fields & SV_NOTIFY_FIELD_READY) {
    if (sv->app->ready_probe)
      sv_probe_notify_ready(sv->app->ready_probe);
    if (sv->app->health_probe)
      sv_probe_notify_ready(sv->app->health_probe);
    if (sv->app_reloading) {
      sv->app_reloading = FALSE;
      relay |= SV_NOTIFY_FIELD_READY;
    }
  }
  if (msg->fields & SV_NOTIFY_FIELD_WATCHDOG) {
    if (sv->app->health_probe)
      sv_probe_notify_watchdog(sv->app->health_probe);
    /* The app's own ping counts upstream only while sdvisor also judges it healthy. */
    if (sv->app->healthy && sv->ready_sent && sv_notify_watchdog_usec() > 0)
      relay |= SV_NOTIFY_FIELD_WATCHDOG;
  }
  if (relay != 0)
    (void)sv_notify_proxy_relay(msg, relay, fds, n_fds);
}

static void
on_app_notify_rejected(SvNotifyProxy *proxy, pid_t sender, SvNotifyProxyReject reason,
                       const char *detail, guint64 count, gpointer user_data)
{
  /* The first of each kind, then every 100th: a looping app cannot flood the journal. */
  if (count != 1 && count % 100 != 0)
    return;
  sv_log(LOG_WARNING, "notification from pid %d refused (%s, %" G_GUINT64_FORMAT " so far): %s",
         (int)sender, sv_notify_proxy_reject_to_string(reason), count, detail ? detail : "");
}

/* ---- liveness ------------------------------------------------------------------------------- */

static gboolean
on_watchdog_tick(gpointer user_data)
{
  SvSupervisor *sv = user_data;
  /* Pinged only while healthy: a frozen app stops the pings and systemd acts. */
  if (sv->app->healthy && app_pid(sv) > 0)
    sv_notify_watchdog();
  return G_SOURCE_CONTINUE;
}

static void
after_on_unhealthy(SvSupervisor *sv, gboolean ok, const char *detail)
{
  if (!ok)
    sv_log(LOG_WARNING, "on-unhealthy hooks: %s", detail ? detail : "failed");
  if (resume_after_hooks(sv) || app_pid(sv) <= 0 || sv->app->healthy)
    return;

  if (sv_notify_watchdog_usec() > 0) {
    sv_log(LOG_ERR, "app unhealthy: asking systemd to act (WATCHDOG=trigger)");
    /* systemd kills sdvisor at once: what is queued for the journal goes out first. */
    if (sv->journal != NULL)
      (void)sv_journal_flush(sv->journal, 500 * 1000);
    sv_notify_watchdog_trigger();
    return;
  }
  /* An unhealthy app is most likely frozen: a deadline of its own, not stop-timeout. */
  sv->stop_timeout_override = sv->config->health.unhealthy_stop_timeout_usec;
  switch (sv->config->health.on_unhealthy) {
  case SV_ON_UNHEALTHY_RESTART:
    sv_log(LOG_ERR, "app unhealthy: restarting it");
    set_state(sv, SV_STATE_RESTARTING);
    sv_notify_status("restarting unhealthy app (pid %d)", (int)app_pid(sv));
    if (sv->app->health_probe)
      sv_probe_stop(sv->app->health_probe);
    signal_app_to_stop(sv);
    break;
  case SV_ON_UNHEALTHY_STOP:
    sv_log(LOG_ERR, "app unhealthy: stopping");
    sv->exit_code = SV_EXIT_FAILURE;
    request_stop(sv, SIGTERM);
    break;
  default:
    sv->stop_timeout_override = 0;
    break;
  }
}

/* When the app turned unhealthy, in local time for people ("2026-12-07 11:02:03 KST"). */
static char *
unhealthy_since_text(SvSupervisor *sv)
{
  g_autoptr(GDateTime) t = g_date_time_new_from_unix_local(sv->unhealthy_since / G_USEC_PER_SEC);
  return t ? g_date_time_format(t, "%F %T %Z") : g_strdup("?");
}

static void
on_health(SvProbe *probe, gboolean healthy, const char *detail, gpointer user_data)
{
  SvSupervisor *sv = user_data;
  gboolean was = sv->app->healthy;
  sv->app->healthy = healthy;
  g_autofree char *pidf = pid_field(app_pid(sv));
  g_autofree char *detailf = g_strdup_printf("SDVISOR_CHECK_DETAIL=%s", detail ? detail : "");
  const char *fields[] = {pidf, detailf, NULL};

  if (healthy) {
    sv->unhealthy_since = 0;
    if (!was) {
      sv_log_full(LOG_NOTICE, SV_MESSAGE_HEALTHY, fields, "app (pid %d) is healthy again: %s",
                  (int)app_pid(sv), detail ? detail : "");
      status_running(sv);
      if (sv_notify_watchdog_usec() > 0)
        sv_notify_watchdog();
    }
    return;
  }
  sv_log_full(LOG_ERR, SV_MESSAGE_UNHEALTHY, fields, "app (pid %d) is unhealthy: %s",
              (int)app_pid(sv), detail ? detail : "");
  if (sv->unhealthy_since == 0)
    sv->unhealthy_since = g_get_real_time();
  g_autofree char *since_text = unhealthy_since_text(sv);
  sv_notify_status("unhealthy (pid %d) since %s: %s", (int)app_pid(sv), since_text,
                   detail ? detail : "");
  if (sv->hook_run == NULL)
    run_hooks(sv, SV_HOOK_ON_UNHEALTHY, -1, after_on_unhealthy);
  else
    sv->unhealthy_pending = TRUE;
}

/* Every health attempt: the first failure after a success is said at once, with its
 * detail, not only once failure-threshold attempts later; so is the recovery of a check
 * that failed fewer times than the threshold. */
static void
on_health_attempt(SvProbe *probe, gboolean ok, const char *detail, guint failures,
                  gpointer user_data)
{
  SvSupervisor *sv = user_data;
  gboolean was_failing = sv->health_attempt_failed;
  sv->health_attempt_failed = !ok;
  if (ok == !was_failing)
    return;
  g_autofree char *pidf = pid_field(app_pid(sv));
  g_autofree char *detailf = g_strdup_printf("SDVISOR_CHECK_DETAIL=%s", detail ? detail : "");
  const char *fields[] = {pidf, detailf, NULL};
  if (!ok)
    sv_log_full(LOG_NOTICE, SV_MESSAGE_CHECK_FAILED, fields,
                "health check failed (%u of %u before unhealthy): %s", failures,
                sv->config->health.failure_threshold, detail ? detail : "");
  else if (sv->app->healthy)
    sv_log(LOG_NOTICE, "health check passes again: %s", detail ? detail : "");
}

/* CHECKS as config.c parsed them, less `notify` if SKIP_NOTIFY; never NULL. */
static GPtrArray *
ready_checks(GPtrArray *checks, gboolean skip_notify)
{
  GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)sv_checkspec_unref);
  for (guint i = 0; checks != NULL && i < checks->len; i++) {
    SvCheckSpec *check = checks->pdata[i];
    if (!(skip_notify && check->kind == SV_CHECK_NOTIFY))
      g_ptr_array_add(out, sv_checkspec_ref(check));
  }
  return out;
}

static char **
app_environment(SvSupervisor *sv)
{
  return instance_environment(sv, sv->proxy);
}

/* The environment of an instance whose NOTIFY_SOCKET is PROXY's. */
static char **
instance_environment(SvSupervisor *sv, SvNotifyProxy *proxy)
{
  g_auto(GStrv) env = configured_environment(sv);
  /* No JOURNAL_STREAM: the app's stdout and stderr are sdvisor's pipes (logstream.h),
   * not the journal stream systemd gave sdvisor. */
  if (proxy != NULL)
    env = g_environ_setenv(env, "NOTIFY_SOCKET", sv_notify_proxy_get_socket_path(proxy), TRUE);
  gint64 watchdog = sv_notify_watchdog_usec();
  if (watchdog > 0) {
    /* WATCHDOG_PID is filled in with the app's own pid between fork and exec. */
    g_autofree char *usec = g_strdup_printf("%" G_GINT64_FORMAT, watchdog);
    env = g_environ_setenv(env, "WATCHDOG_USEC", usec, TRUE);
  }
  return g_steal_pointer(&env);
}

static void
start_health(SvSupervisor *sv)
{
  g_clear_pointer(&sv->app->health_probe, sv_probe_free);
  sv->app->healthy = TRUE;
  sv->unhealthy_since = 0;
  sv->health_attempt_failed = FALSE;
  const SvHealthConfig *h = &sv->config->health;
  if (h->checks == NULL || h->checks->len == 0)
    return;
  SvProbeConfig pc = {
      .mode = SV_PROBE_LIVENESS,
      .checks = h->checks,
      .interval_usec = h->interval_usec,
      .timeout_usec = h->timeout_usec,
      .failure_threshold = h->failure_threshold,
      .success_threshold = h->success_threshold,
      .start_period_usec = h->start_period_usec,
  };
  g_autoptr(GError) error = NULL;
  sv->app->health_probe = sv_probe_new(&pc, on_health, sv, &error);
  if (sv->app->health_probe == NULL) {
    sv_log(LOG_ERR, "[health]: %s", error->message);
    return;
  }
  sv_probe_set_log_streams(sv->app->health_probe, sv->logs);
  sv_probe_set_attempt_func(sv->app->health_probe, on_health_attempt);
  g_auto(GStrv) env = app_environment(sv);
  sv_probe_set_environment(sv->app->health_probe, env);
  sv_probe_set_pid(sv->app->health_probe, app_pid(sv));
  sv_probe_start(sv->app->health_probe);
  /* The app's READY=1 that satisfied [ready] is also its first sign of life. */
  if (sv_checkspec_list_has(sv->config->ready.checks, SV_CHECK_NOTIFY))
    sv_probe_notify_ready(sv->app->health_probe);
}

static void
start_watchdog(SvSupervisor *sv)
{
  gint64 usec = sv_notify_watchdog_usec();
  if (usec <= 0 || sv->watchdog_timer != 0)
    return;
  /* Half the interval, as sd_watchdog_enabled(3) advises. */
  guint ms = (guint)MAX(usec / 2000, 1);
  sv->watchdog_timer = g_timeout_add_full(G_PRIORITY_HIGH, ms, on_watchdog_tick, sv, NULL);
  on_watchdog_tick(sv);
}

/* ---- jobs ------------------------------------------------------------------------------------- */

static void
on_jobs_stopped(gpointer user_data)
{
  SvSupervisor *sv = user_data;
  if (sv->jobs_stopping > 0)
    sv->jobs_stopping--;
  maybe_finish(sv);
}

typedef struct {
  SvSupervisor *sv;
  SvJobs *jobs;
} SvRetired;

static gboolean
free_jobs_idle(gpointer data)
{
  sv_jobs_free(data);
  return G_SOURCE_REMOVE;
}

static void
on_retired_jobs_done(gpointer user_data)
{
  SvRetired *r = user_data;
  SvSupervisor *sv = r->sv;
  gboolean during_stop = sv->jobs_stop_asked;
  /* Freed from an idle: this runs inside the set's own callback. */
  if (g_ptr_array_remove(sv->retired_jobs, r))
    g_idle_add_full(G_PRIORITY_DEFAULT, free_jobs_idle, r->jobs, NULL);
  g_free(r);
  if (during_stop) {
    if (sv->jobs_stopping > 0)
      sv->jobs_stopping--;
    maybe_finish(sv);
  }
}

/* No new runs; SIG to every running job; SIGKILL at DEADLINE (monotonic µs). Asking
 * again only brings the deadline closer. */
static void
stop_jobs(SvSupervisor *sv, int sig, gint64 deadline)
{
  gboolean first = !sv->jobs_stop_asked;
  sv->jobs_stop_asked = TRUE;
  if (sv->jobs != NULL) {
    if (first)
      sv->jobs_stopping++;
    sv_jobs_stop(sv->jobs, sig, deadline, on_jobs_stopped, sv);
  }
  /* A retired set keeps its own callback, which frees its entry (and may run at once:
   * hence backwards). */
  for (guint i = sv->retired_jobs ? sv->retired_jobs->len : 0; i > 0; i--) {
    SvRetired *r = sv->retired_jobs->pdata[i - 1];
    if (first)
      sv->jobs_stopping++;
    sv_jobs_stop(r->jobs, sig, deadline, on_retired_jobs_done, r);
  }
}

static void
start_jobs(SvSupervisor *sv)
{
  if (sv->config->jobs->len == 0 || sv->jobs_stop_asked)
    return;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) env = configured_environment(sv);
  sv->jobs = sv_jobs_new(sv->config->app.name, sv->config->jobs, NULL, env, &error);
  if (sv->jobs == NULL) {
    g_autofree char *summary =
        sv_jobs_report_unusable(sv->config->app.name, sv->config->jobs, error);
    on_jobs_failure(summary, sv);
  }
  /* Started once per configuration (a reload brings a new one): the set's copy is all
   * that is needed from here on. */
  sv_config_drop_jobs(sv->config);
  if (sv->jobs == NULL)
    return;
  if (!sv_jobs_set_fleet(sv->jobs, &sv->config->fleet, &error)) {
    sv_log(LOG_ERR,
           "jobs: %s; once-per=fleet jobs follow their on-store-unavailable=", error->message);
    g_clear_error(&error);
  }
  sv_jobs_set_failure_func(sv->jobs, on_jobs_failure, sv);
  if (sv->logs != NULL)
    sv_jobs_set_output_func(sv->jobs, sv_logstream_job_output, sv->logs);
  sv_jobs_start(sv->jobs);
}

/* At reload: the running set plans nothing more but lets its runs finish; a new set
 * with the new configuration takes over the timers. */
static void
restart_jobs(SvSupervisor *sv)
{
  if (sv->jobs != NULL) {
    SvRetired *r = g_new0(SvRetired, 1);
    r->sv = sv;
    r->jobs = g_steal_pointer(&sv->jobs);
    /* What it could not run is the new set's to find again (or not). */
    sv_jobs_set_failure_func(r->jobs, NULL, NULL);
    g_clear_pointer(&sv->jobs_problem, g_free);
    g_ptr_array_add(sv->retired_jobs, r);
    /* Signal 0: no signal, only "no new runs"; the runs keep their own timeouts. */
    sv_jobs_stop(r->jobs, 0, G_MAXINT64, on_retired_jobs_done, r);
  }
  start_jobs(sv);
}

/* ---- reload ------------------------------------------------------------------------------------- */

static void
after_reload_hooks(SvSupervisor *sv, gboolean ok, const char *detail)
{
  if (!ok)
    sv_log(LOG_WARNING, "reload hooks: %s", detail ? detail : "failed");
  if (resume_after_hooks(sv) || app_pid(sv) <= 0)
    return;
  if (sv->config->app.reload_mode == SV_RELOAD_REPLACE) {
    start_replacement(sv);
    return;
  }
  int reload_signal = sv->config->app.reload_signal;
  g_autofree char *pidf = pid_field(app_pid(sv));
  const char *fields[] = {pidf, NULL};
  sv_log_full(LOG_INFO, SV_MESSAGE_RELOAD, fields, "reloading: sending %s to app (pid %d)",
              sv_signal_name(reload_signal), (int)app_pid(sv));
  /* The main process only: gunicorn's workers would die of a SIGHUP of their own. */
  if (kill(app_pid(sv), reload_signal) < 0)
    sv_log(LOG_WARNING, "cannot send %s to app (pid %d): %s", sv_signal_name(reload_signal),
           (int)app_pid(sv), g_strerror(errno));
  start_readiness(sv, TRUE);
}

/* The groups of the effective configuration that a reload compares: the rest is
 * dropped while sdvisor runs (sv_config_trim_effective). */
static const char *const effective_kept[] = {"log", NULL};

static gboolean
group_equal(GKeyFile *a, GKeyFile *b, const char *group)
{
  g_auto(GStrv) keys = g_key_file_get_keys(a, group, NULL, NULL);
  g_auto(GStrv) other = g_key_file_get_keys(b, group, NULL, NULL);
  if ((keys ? g_strv_length(keys) : 0) != (other ? g_strv_length(other) : 0))
    return FALSE;
  for (char **k = keys; k && *k; k++) {
    g_autofree char *va = g_key_file_get_value(a, group, *k, NULL);
    g_autofree char *vb = g_key_file_get_value(b, group, *k, NULL);
    if (g_strcmp0(va, vb) != 0)
      return FALSE;
  }
  return TRUE;
}

/* The [log] settings of the configuration in use, for output read from now on. */
static void
apply_log_config(SvSupervisor *sv)
{
  const SvLogConfig *log = &sv->config->log;
  /* What the children wrote before the reload is read first, and keeps the old ones. */
  sv_logstream_catch_up(sv->logs);
  sv_journal_set_identity(sv->journal,
                          log->identifier != NULL ? log->identifier : sv->config->app.name,
                          (const char *const *)log->fields);
  sv_logstream_reconfigure(sv->logs, log);
  sv_log(LOG_INFO, "reload: [log] settings apply to output read from now on");
}

/* The sockets as configured: addresses, and how unix socket files are made. */
static gboolean
listen_equal(const SvAppConfig *a, const SvAppConfig *b)
{
  guint na = a->listen != NULL ? a->listen->len : 0, nb = b->listen != NULL ? b->listen->len : 0;
  if (na != nb || a->listen_mode != b->listen_mode ||
      g_strcmp0(a->listen_user, b->listen_user) != 0 ||
      g_strcmp0(a->listen_group, b->listen_group) != 0)
    return FALSE;
  for (guint i = 0; i < na; i++)
    if (g_strcmp0(((SvListenSpec *)a->listen->pdata[i])->text,
                  ((SvListenSpec *)b->listen->pdata[i])->text) != 0)
      return FALSE;
  return TRUE;
}

/* Takes what may change while the app runs from NEW; what needs a restart stays. */
static void
adopt_config(SvSupervisor *sv, SvConfig *new_config)
{
  SvAppConfig *old_app = &sv->config->app, *new_app = &new_config->app;
  g_autoptr(GPtrArray) kept = g_ptr_array_new();
  /* A replacement starts a new instance: its command, directory and environment are the
   * deploy, and apply to it. */
  gboolean replace = new_app->reload_mode == SV_RELOAD_REPLACE;

  if (!replace &&
      !g_strv_equal((const char *const *)old_app->exec, (const char *const *)new_app->exec)) {
    g_ptr_array_add(kept, "[app] exec");
    GStrv t = old_app->exec;
    old_app->exec = new_app->exec;
    new_app->exec = t;
  }
  if (!replace && g_strcmp0(old_app->working_directory, new_app->working_directory) != 0) {
    g_ptr_array_add(kept, "[app] working-directory");
    char *t = old_app->working_directory;
    old_app->working_directory = new_app->working_directory;
    new_app->working_directory = t;
  }
  gboolean env_same = (old_app->environment == NULL && new_app->environment == NULL) ||
                      (old_app->environment && new_app->environment &&
                       g_strv_equal((const char *const *)old_app->environment,
                                    (const char *const *)new_app->environment));
  if (!replace && !env_same) {
    g_ptr_array_add(kept, "[app] environment");
    GStrv t = old_app->environment;
    old_app->environment = new_app->environment;
    new_app->environment = t;
  }
  /* The sockets are bound once, before the app first starts (listen.h). */
  if (!listen_equal(old_app, new_app)) {
    g_ptr_array_add(kept, "[app] listen");
    GPtrArray *l = old_app->listen;
    old_app->listen = new_app->listen;
    new_app->listen = l;
    new_app->listen_mode = old_app->listen_mode;
    char *t = old_app->listen_user;
    old_app->listen_user = new_app->listen_user;
    new_app->listen_user = t;
    t = old_app->listen_group;
    old_app->listen_group = new_app->listen_group;
    new_app->listen_group = t;
  }
  if (g_strcmp0(old_app->name, new_app->name) != 0) {
    g_ptr_array_add(kept, "[app] name");
    char *t = old_app->name;
    old_app->name = new_app->name;
    new_app->name = t;
  }
  /* [log]: the sink connects to its target once, and every reader's line buffer is cut
   * to line-max; the rest (identifier, fields, parsing, levels, merging) is applied to
   * every line read from the reload on, the app's running pipes included. */
  SvLogConfig *old_log = &sv->config->log, *new_log = &new_config->log;
  gboolean log_changed = !group_equal(sv->config->effective, new_config->effective, "log");
  if (old_log->target != new_log->target) {
    g_ptr_array_add(kept, "[log] target");
    new_log->target = old_log->target;
  }
  if (old_log->line_max != new_log->line_max) {
    g_ptr_array_add(kept, "[log] line-max");
    new_log->line_max = old_log->line_max;
  }
  if (kept->len > 0) {
    g_ptr_array_add(kept, NULL);
    g_autofree char *list = g_strjoinv(", ", (char **)kept->pdata);
    sv_log(LOG_WARNING, "reload: %s changed; that takes a restart, the running values stay", list);
  }
  /* The signal set sdvisor listens to stays as it is: forward-signals outside it
   * would need the mask changed under a running loop. */
  new_app->forward_signals &= sv->config->app.forward_signals;
  sv_config_free(sv->config);
  sv->config = new_config;
  sv_config_trim_effective(sv->config, effective_kept);
  if (log_changed)
    apply_log_config(sv);
}

static void
reload(SvSupervisor *sv)
{
  if (sv->hook_run != NULL && !sv_lifecycle_is_ending(sv->state) && app_pid(sv) > 0) {
    /* systemctl reload during post-start (or on-unhealthy) hooks: late, not lost. */
    sv_log(LOG_NOTICE, "SIGHUP while hooks run: reloading after them");
    sv->reload_pending = TRUE;
    return;
  }
  if (sv->state != SV_STATE_RUNNING || app_pid(sv) <= 0 || sv->hook_run != NULL) {
    sv_log(LOG_NOTICE, "SIGHUP ignored while %s",
           sv->hook_run ? "hooks run" : state_name(sv->state));
    return;
  }
  g_autoptr(GError) error = NULL;
  SvConfig *fresh = sv->config->path ? sv_config_load(sv->config->path, sv->environ, &error) : NULL;
  if (fresh == NULL && error != NULL && sv->reload_waiters != NULL) {
    /* An operator's reload (sdvisor reload) of a file that does not load changes
     * nothing: no RELOADING=1, no hooks, no signal to the app; the error is the answer. */
    sv_log_id(LOG_ERR, SV_MESSAGE_CONFIG_INVALID,
              "reload: %s; keeping the running configuration, the app is not signalled",
              error->message);
    reload_waiters_done(&sv->reload_waiters, error);
    return;
  }
  sv->reload_current = g_slist_concat(sv->reload_current, g_steal_pointer(&sv->reload_waiters));
  set_state(sv, SV_STATE_RELOADING);
  sv_notify_reloading();

  if (sv->config->path != NULL) {
    if (fresh == NULL) {
      sv_log_id(LOG_ERR, SV_MESSAGE_CONFIG_INVALID, "reload: %s; keeping the running configuration",
                error->message);
    } else {
      adopt_config(sv, fresh);
      restart_jobs(sv);
      sv_log(LOG_INFO, "reload: configuration %s read again", sv->config->path);
      /* Checks may have changed: the health probe starts over with the new ones. */
      if (sv->app->health_probe != NULL ||
          (sv->config->health.checks && sv->config->health.checks->len > 0))
        start_health(sv);
    }
  }
  run_hooks(sv, SV_HOOK_RELOAD, -1, after_reload_hooks);
}

/* ---- replacement (reload-mode=replace) ------------------------------------------------------ */

/* An instance that drains: the old one after a switch, or a new one that failed. */
typedef struct {
  SvSupervisor *sv;
  SvInstance *instance;
  SvNotifyProxy *proxy;  /* its own, unless it is shared (NULL) */
  SvListenSet *sockets;  /* its own sockets leave their groups when it is gone */
  guint handover_timer;  /* before its stop signal: its accept queues empty (below) */
  gint64 handover_start; /* monotonic µs */
  gint64 quiet_since;    /* queues seen empty since; 0: not empty */
  guint free_idle;       /* set once it is gone: freed from the loop */
} SvDraining;

/* After a switch the old instance gets no new connection on sockets of its own
 * (sv_listen_set_steer()), but some may wait in its accept queues, and a server that
 * stops closes what it accepted and has not read a request on yet. So its stop signal
 * waits until its queues have been empty for HANDOVER_QUIET (time for the server to read
 * what it accepted), polled every HANDOVER_POLL, for at most HANDOVER_MAX: a server that
 * no longer accepts must not hold up its own stop. */
#define HANDOVER_POLL_MS 10
#define HANDOVER_QUIET   (100 * G_TIME_SPAN_MILLISECOND)
#define HANDOVER_MAX     (5 * G_TIME_SPAN_SECOND)

static void
draining_free(SvDraining *d)
{
  g_clear_handle_id(&d->free_idle, g_source_remove);
  g_clear_handle_id(&d->handover_timer, g_source_remove);
  sv_instance_free(d->instance);
  g_clear_pointer(&d->proxy, sv_notify_proxy_free);
  /* After the instance: its processes held the sockets too. */
  g_clear_pointer(&d->sockets, sv_listen_set_free);
  g_free(d);
}

static gboolean
free_draining_idle(gpointer data)
{
  SvDraining *d = data;
  SvSupervisor *sv = d->sv;
  d->free_idle = 0;
  g_ptr_array_remove(sv->draining, d);
  draining_free(d);
  /* Its sockets have left their groups: a replacement that waited for that can start. */
  if (sv->next_waiting)
    start_replacement(sv);
  return G_SOURCE_REMOVE;
}

/* Gone: freed from the loop (this may run inside the instance's own callback), and until
 * then in sv->draining, so that sdvisor's end frees it if the loop ends first. */
static void
draining_done(SvDraining *d)
{
  if (d->free_idle == 0)
    d->free_idle = g_idle_add(free_draining_idle, d);
}

/* Instances still draining (not gone). */
static guint
draining_alive(SvSupervisor *sv)
{
  guint n = 0;
  for (guint i = 0; i < sv->draining->len; i++)
    n += ((SvDraining *)sv->draining->pdata[i])->free_idle == 0;
  return n;
}

static void
on_draining_exit(SvInstance *instance, gpointer user_data)
{
  int code = sv_wait_status_to_exit_code(instance->status);
  g_autofree char *pidf = pid_field(instance->pid);
  const char *fields[] = {pidf, NULL};
  sv_log_full(LOG_INFO, SV_MESSAGE_STOPPED, fields, "replaced app (pid %d) ended (%s %d)",
              (int)instance->pid, sv_wait_status_kind(instance->status), code);
}

static void
on_draining_gone(SvInstance *instance, gpointer user_data)
{
  SvDraining *d = user_data;
  draining_done(d);
  maybe_finish(d->sv);
}

static void
on_draining_deadline(SvInstance *instance, gpointer user_data)
{
  SvDraining *d = user_data;
  g_autofree char *timeout = sv_timespan_format(stop_timeout(d->sv));
  g_autofree char *pidf = pid_field(instance->pid);
  const char *fields[] = {pidf, NULL};
  sv_log_full(LOG_WARNING, SV_MESSAGE_STOP_DEADLINE, fields,
              "replaced app (pid %d) still running %s after %s: killing its process tree",
              (int)instance->pid, timeout, sv_signal_name(d->sv->config->app.stop_signal));
  sv_instance_kill(instance);
}

static void
draining_stop(SvDraining *d)
{
  g_clear_handle_id(&d->handover_timer, g_source_remove);
  if (d->free_idle == 0 && !d->instance->stopped)
    sv_instance_stop(d->instance, d->sv->config->app.stop_signal, stop_timeout(d->sv));
}

static gboolean
on_handover_poll(gpointer user_data)
{
  SvDraining *d = user_data;
  gint64 now = g_get_monotonic_time();
  guint queued = sv_listen_set_get_queued(d->sockets);
  if (queued > 0)
    d->quiet_since = 0;
  else if (d->quiet_since == 0)
    d->quiet_since = now;
  if (queued == 0 && now - d->quiet_since >= HANDOVER_QUIET) {
    d->handover_timer = 0;
    draining_stop(d);
    return G_SOURCE_REMOVE;
  }
  if (now - d->handover_start >= HANDOVER_MAX) {
    d->handover_timer = 0;
    g_autofree char *pidf = pid_field(d->instance->pid);
    const char *fields[] = {pidf, NULL};
    sv_log_full(LOG_WARNING, NULL, fields,
                "replaced app (pid %d) did not accept %u connection%s waiting for it: stopping "
                "it anyway (they will be reset)",
                (int)d->instance->pid, queued, queued == 1 ? "" : "s");
    draining_stop(d);
    return G_SOURCE_REMOVE;
  }
  return G_SOURCE_CONTINUE;
}

/* INSTANCE (with PROXY, its own, or NULL, and SOCKETS, which it no longer gets new
 * connections on) gets the stop signal and stop-timeout to finish what it accepted, its
 * whole tree as on a stop; sdvisor waits for it. With HANDOVER, the signal waits for what
 * is queued on its sockets (above). */
static void
drain_instance(SvSupervisor *sv, SvInstance *instance, SvNotifyProxy *proxy, SvListenSet *sockets,
               gboolean handover)
{
  static const SvInstanceFuncs funcs = {
      .exited = on_draining_exit,
      .gone = on_draining_gone,
      .deadline = on_draining_deadline,
  };
  SvDraining *d = g_new0(SvDraining, 1);
  d->sv = sv;
  d->instance = instance;
  d->proxy = proxy;
  d->sockets = sockets;
  g_clear_pointer(&instance->ready_probe, sv_probe_free);
  g_clear_pointer(&instance->health_probe, sv_probe_free);
  g_ptr_array_add(sv->draining, d);
  if (instance->pid <= 0 || instance->gone) {
    draining_done(d);
    return;
  }
  sv_instance_set_funcs(instance, &funcs, d);
  if (handover && sv_listen_set_get_n_own(sockets) > 0) {
    d->handover_start = g_get_monotonic_time();
    d->handover_timer = g_timeout_add(HANDOVER_POLL_MS, on_handover_poll, d);
    return;
  }
  draining_stop(d);
}

/* sdvisor stops: what drains gets its stop signal now if it waited for its hand-over, or
 * (AT_ONCE: the second SIGTERM, the end) is SIGKILLed. */
static void
stop_draining(SvSupervisor *sv, gboolean at_once)
{
  for (guint i = 0; i < sv->draining->len; i++) {
    SvDraining *d = sv->draining->pdata[i];
    if (d->free_idle != 0)
      continue;
    if (at_once)
      sv_instance_kill(d->instance);
    else
      draining_stop(d);
  }
}

/* The replacement ends without a switch: the new instance drains (it may have accepted
 * connections on the shared sockets already), the old one keeps serving, READY=1 again. */
static void
replacement_failed(SvSupervisor *sv, const char *why)
{
  pid_t pid = sv->next != NULL ? sv->next->pid : 0;
  g_autofree char *pidf = pid_field(app_pid(sv));
  const char *fields[] = {pidf, NULL};
  sv_log_full(LOG_ERR, SV_MESSAGE_REPLACE_FAILED, fields,
              "reload failed: the new instance (pid %d) %s; the app (pid %d) keeps serving",
              (int)pid, why, (int)app_pid(sv));
  g_autofree char *message =
      g_strdup_printf("the new instance (pid %d) %s; the app (pid %d) keeps serving", (int)pid, why,
                      (int)app_pid(sv));
  drop_next(sv, NULL);
  if (sv->state == SV_STATE_RELOADING) {
    set_state(sv, SV_STATE_RUNNING);
    g_autofree char *status = running_status(sv);
    sv_notify_ready(status);
  }
  g_autoptr(GError) error = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_FAILED, message);
  reload_waiters_done(&sv->reload_current, error);
}

/* The new instance, if any, drains; WHY (may be NULL) says why, for the journal. */
static void
drop_next(SvSupervisor *sv, const char *why)
{
  sv->next_waiting = FALSE;
  g_clear_handle_id(&sv->next_timer, g_source_remove);
  if (sv->next == NULL)
    return;
  if (why != NULL)
    sv_log(LOG_NOTICE, "replacement abandoned (%s): stopping the new instance (pid %d)", why,
           (int)sv->next->pid);
  drain_instance(sv, g_steal_pointer(&sv->next), g_steal_pointer(&sv->next_proxy),
                 g_steal_pointer(&sv->next_sockets), FALSE);
}

static void
on_next_exit(SvInstance *instance, gpointer user_data)
{
  SvSupervisor *sv = user_data;
  g_autofree char *why =
      g_strdup_printf("exited before it was ready (%s %d)", sv_wait_status_kind(instance->status),
                      sv_wait_status_to_exit_code(instance->status));
  replacement_failed(sv, why);
}

static void
on_next_gone(SvInstance *instance, gpointer user_data)
{
  /* Not before its exit, which hands it over to drain_instance(). */
}

static void
on_next_deadline(SvInstance *instance, gpointer user_data)
{
  sv_instance_kill(instance);
}

static gboolean
on_next_ready_deadline(gpointer user_data)
{
  SvSupervisor *sv = user_data;
  sv->next_timer = 0;
  const char *detail = sv->next->ready_probe ? sv_probe_last_detail(sv->next->ready_probe) : NULL;
  g_autofree char *timeout = sv_timespan_format(sv->config->ready.timeout_usec);
  g_autofree char *why =
      g_strdup_printf("was not ready after %s (%s)", timeout, detail ? detail : "no check passed");
  replacement_failed(sv, why);
  return G_SOURCE_REMOVE;
}

/* The new instance is ready by its own word: it becomes the app, the old one drains. */
static void
switch_to_next(SvSupervisor *sv, const char *detail)
{
  static const SvInstanceFuncs app_funcs = {
      .exited = on_app_exit,
      .gone = on_app_gone,
      .deadline = on_app_deadline,
  };
  g_clear_handle_id(&sv->next_timer, g_source_remove);
  g_clear_pointer(&sv->next->ready_probe, sv_probe_free);
  SvInstance *old = sv->app;
  SvNotifyProxy *old_proxy = sv->proxy;
  SvListenSet *old_sockets = sv->sockets;
  sv->app = g_steal_pointer(&sv->next);
  sv->proxy = g_steal_pointer(&sv->next_proxy);
  sv->sockets = g_steal_pointer(&sv->next_sockets);
  sv_instance_set_funcs(sv->app, &app_funcs, sv);
  /* New connections go to the new instance's sockets; the fd store holds them instead of
   * the old ones, which leave when the old instance is gone. */
  int r = sv_listen_set_steer(sv->sockets);
  if (r < 0)
    sv_log(LOG_WARNING, "cannot send new connections to the new instance's sockets: %s",
           g_strerror(-r));
  r = sv_listen_set_store_switch(old_sockets, sv->sockets);
  if (r < 0)
    sv_log(LOG_WARNING, "cannot update the service manager's fd store: %s", g_strerror(-r));
  sv->app_started_real = g_get_real_time();
  g_autofree char *timeout = sv_timespan_format(stop_timeout(sv));
  g_autofree char *pidf = pid_field(sv->app->pid);
  const char *fields[] = {pidf, NULL};
  sv_log_full(LOG_INFO, SV_MESSAGE_REPLACED, fields,
              "replaced: the new instance (pid %d) serves; the old one (pid %d) gets %s and up "
              "to %s to finish its requests",
              (int)sv->app->pid, (int)old->pid, sv_signal_name(sv->config->app.stop_signal),
              timeout);
  drain_instance(sv, old, old_proxy, old_sockets, TRUE);
  start_health(sv);
  became_ready(sv, detail);
}

static void
on_next_ready_probe(SvProbe *probe, gboolean ready, const char *detail, gpointer user_data)
{
  SvSupervisor *sv = user_data;
  if (ready)
    switch_to_next(sv, detail);
  else
    sv_log(LOG_DEBUG, "new instance not ready yet: %s", detail ? detail : "");
}

/* What the new instance says before the switch: its READY=1 feeds its own checks; the
 * rest (its STATUS=, WATCHDOG=1) is not the service's yet. */
static void
next_notify(SvSupervisor *sv, const SvNotifyMessage *msg)
{
  if ((msg->fields & SV_NOTIFY_FIELD_READY) && sv->next != NULL && sv->next->ready_probe != NULL)
    sv_probe_notify_ready(sv->next->ready_probe);
}

/* After the reload hooks: a new instance of the app, with the configuration as now read,
 * on the same sockets; the switch comes when its own readiness checks pass. */
static void
start_replacement(SvSupervisor *sv)
{
  static const SvInstanceFuncs funcs = {
      .exited = on_next_exit,
      .gone = on_next_gone,
      .deadline = on_next_deadline,
  };
  /* A socket has one sibling at most (listen.h): the instance replaced before must be gone,
   * and its sockets with it, before this one gets its own. That takes its drain, at most
   * its stop-timeout; a reload asked for meanwhile is refused as during any replacement. */
  if (sv_listen_set_has_siblings(sv->sockets)) {
    if (!sv->next_waiting)
      sv_log(LOG_INFO, "reloading: the new instance starts once the instance replaced before "
                       "has finished draining");
    sv->next_waiting = TRUE;
    sv_notify_status("reloading: waiting for the instance replaced before to finish draining");
    return;
  }
  sv->next_waiting = FALSE;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = runtime_directory();
  sv->next_proxy = sv_notify_proxy_new(dir, on_app_notify, on_app_notify_rejected, sv, &error);
  if (sv->next_proxy == NULL) {
    g_autofree char *why = g_strdup_printf("could not get a notify socket: %s", error->message);
    replacement_failed(sv, why);
    return;
  }
  g_autofree char *shared = NULL;
  sv->next_sockets = sv_listen_set_fork(sv->sockets, &shared, &error);
  if (sv->next_sockets == NULL) {
    g_autofree char *why = g_strdup_printf("could not get its sockets: %s", error->message);
    replacement_failed(sv, why);
    return;
  }
  if (shared != NULL)
    sv_log(LOG_NOTICE,
           "the new instance shares these sockets with the old one, which may close a "
           "connection it has accepted as it stops: %s",
           shared);
  sv->next = sv_instance_new(sv->next_proxy, &funcs, sv);
  if (!spawn_instance(sv, sv->next, sv->next_proxy, sv->next_sockets, &error) &&
      sv->next->pid <= 0) {
    g_autofree char *why = g_strdup_printf("could not start: %s", error->message);
    replacement_failed(sv, why);
    return;
  }
  /* An exec failure: the child exits 127 by itself, and on_next_exit() says so. */
  pid_t pid = sv->next->pid;
  g_autofree char *pidf = pid_field(pid);
  const char *fields[] = {pidf, NULL};
  sv_log_full(LOG_INFO, SV_MESSAGE_APP_STARTED, fields,
              "reloading: started a new instance of %s (pid %d) to replace pid %d",
              sv->config->app.name, (int)pid, (int)app_pid(sv));

  const SvReadyConfig *r = &sv->config->ready;
  g_autoptr(GPtrArray) checks = ready_checks(r->checks, FALSE);
  sv->next->ready_probe =
      ready_probe_new(sv, checks, sv->next_proxy, pid, on_next_ready_probe, &error);
  if (sv->next->ready_probe == NULL) {
    g_autofree char *why = g_strdup_printf("has no readiness check: %s", error->message);
    replacement_failed(sv, why);
    return;
  }
  if (r->timeout_usec != G_MAXINT64)
    sv->next_timer = g_timeout_add_full(G_PRIORITY_HIGH, (guint)(r->timeout_usec / 1000),
                                        on_next_ready_deadline, sv, NULL);
  sv_notify_status("reloading: waiting for the new instance (pid %d) to be ready; pid %d serves",
                   (int)pid, (int)app_pid(sv));
  sv_probe_start(sv->next->ready_probe);
}

/* ---- signals -------------------------------------------------------------------------------------- */

/* SIGABRT under a systemd watchdog: systemd found sdvisor silent for WatchdogSec= (the app
 * was unhealthy, or sdvisor itself stalled) and now waits TimeoutAbortSec= before its
 * SIGKILL. The app is what is frozen, so it is killed at once, with its process tree and
 * every job; on-failure and post-stop hooks run (within their own timeouts); then sdvisor
 * exits 134, as a death by SIGABRT would have been counted. */
static void
watchdog_abort(SvSupervisor *sv)
{
  if (sv->watchdog_aborted)
    return;
  sv->watchdog_aborted = TRUE;
  const char *detail = sv->app->health_probe ? sv_probe_last_detail(sv->app->health_probe) : NULL;
  g_autofree char *pidf = pid_field(app_pid(sv));
  g_autofree char *detailf = g_strdup_printf("SDVISOR_CHECK_DETAIL=%s", detail ? detail : "");
  const char *fields[] = {pidf, detailf, NULL};
  g_autofree char *shown = detail ? g_strdup_printf(" (%s)", detail) : NULL;
  g_autofree char *since_text =
      !sv->app->healthy && sv->unhealthy_since > 0 ? unhealthy_since_text(sv) : NULL;
  g_autofree char *since = since_text ? g_strconcat(" since ", since_text, NULL) : NULL;
  sv_log_full(LOG_CRIT, SV_MESSAGE_WATCHDOG_ABORT, fields,
              "watchdog timeout (SIGABRT from the service manager): killing app (pid %d) and its "
              "process tree; last health result: %s%s%s",
              (int)app_pid(sv),
              sv->app->health_probe == NULL ? "no health checks"
              : sv->app->healthy            ? "healthy"
                                            : "unhealthy",
              since ? since : "", shown ? shown : "");
  sv->exit_code = 128 + SIGABRT;
  g_clear_handle_id(&sv->watchdog_timer, g_source_remove);
  g_clear_handle_id(&sv->ready_timer, g_source_remove);
  g_clear_handle_id(&sv->stop_delay_timer, g_source_remove);
  if (sv->app->ready_probe)
    sv_probe_stop(sv->app->ready_probe);
  if (sv->app->health_probe)
    sv_probe_stop(sv->app->health_probe);
  gboolean was_ending = sv_lifecycle_is_ending(sv->state);
  /* A failure from here on (failing()): on-failure hooks once the tree is gone, then
   * post-stop. */
  if (sv->state == SV_STATE_RESTARTING)
    set_state(sv, SV_STATE_STOPPING);
  else if (!was_ending)
    set_state(sv, SV_STATE_FAILED);
  reload_waiters_fail_all(sv, "sdvisor is stopping (watchdog timeout)");
  stop_jobs(sv, SIGKILL, g_get_monotonic_time());
  if (!was_ending)
    sv_notify_stopping("watchdog timeout: killing the app");
  if (sv->hook_run != NULL)
    sv_hooks_cancel(sv->hook_run); /* its end runs on-failure (resume_after_hooks) */
  if (app_alive(sv))
    sv_instance_kill(sv->app);
  else if (sv->hook_run == NULL && !sv->post_stop_done && failing(sv))
    run_hooks(sv, SV_HOOK_ON_FAILURE, sv->app->exited ? sv->app->status : -1, after_on_failure);
}

static gboolean
on_signal(int fd, GIOCondition condition, gpointer user_data)
{
  SvSupervisor *sv = user_data;
  struct signalfd_siginfo info;

  while (read(fd, &info, sizeof info) == (ssize_t)sizeof info) {
    int signo = (int)info.ssi_signo;
    switch (signo) {
    case SIGTERM:
    case SIGINT:
      request_stop(sv, signo);
      break;
    case SIGHUP:
      reload(sv);
      break;
    case SIGABRT:
      watchdog_abort(sv);
      break;
    default:
      if (app_pid(sv) > 0 && (sv->config->app.forward_signals & (G_GUINT64_CONSTANT(1) << signo))) {
        sv_log(LOG_DEBUG, "forwarding %s to app (pid %d)", sv_signal_name(signo), (int)app_pid(sv));
        (void)sv_kill_group(app_pid(sv), signo);
      }
      break;
    }
  }
  return G_SOURCE_CONTINUE;
}

static gboolean
setup_signals(SvSupervisor *sv, GError **error)
{
  sigemptyset(&sv->handled);
  sigaddset(&sv->handled, SIGTERM);
  sigaddset(&sv->handled, SIGINT);
  sigaddset(&sv->handled, SIGHUP);
  /* Under a watchdog, its SIGABRT (WatchdogSignal=) is a fast stop (watchdog_abort()).
   * glibc's abort() unblocks SIGABRT itself, so sdvisor's own aborts still abort. */
  if (sd_watchdog_enabled(0, NULL) > 0)
    sigaddset(&sv->handled, SIGABRT);
  for (int sig = 1; sig < 64; sig++)
    if (sv->config->app.forward_signals & (G_GUINT64_CONSTANT(1) << sig))
      sigaddset(&sv->handled, sig);

  /* Blocked, then read from a signalfd: no handler runs, nothing depends on default
   * dispositions (which PID 1 does not get), and blocked signals are queued for PID 1
   * too. SIGPIPE is ignored: a closed pipe is an error to handle, not a reason to die. */
  if (sigprocmask(SIG_BLOCK, &sv->handled, NULL) < 0 || signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
    int errsv = errno;
    g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "sigprocmask: %s",
                g_strerror(errsv));
    return FALSE;
  }
  sv->signal_fd = signalfd(-1, &sv->handled, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sv->signal_fd < 0) {
    int errsv = errno;
    g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "signalfd: %s", g_strerror(errsv));
    return FALSE;
  }
  sv->signal_source =
      g_unix_fd_add_full(G_PRIORITY_HIGH, sv->signal_fd, G_IO_IN, on_signal, sv, NULL);
  return TRUE;
}

static SvInstance *
new_instance(SvSupervisor *sv)
{
  static const SvInstanceFuncs funcs = {
      .exited = on_app_exit,
      .gone = on_app_gone,
      .deadline = on_app_deadline,
  };
  return sv_instance_new(sv->proxy, &funcs, sv);
}

/* ---- stopping ------------------------------------------------------------------------------ */

/* The stop deadline of the app's tree: SIGKILL to what is left of it. */
static void
on_app_deadline(SvInstance *app, gpointer user_data)
{
  SvSupervisor *sv = user_data;
  g_autofree char *timeout = sv_timespan_format(stop_timeout(sv));
  g_autofree char *pidf = pid_field(app->pid);
  const char *fields[] = {pidf, NULL};
  if (!app->exited)
    sv_log_full(LOG_WARNING, SV_MESSAGE_STOP_DEADLINE, fields,
                "app (pid %d) still running %s after %s: killing its process tree", (int)app->pid,
                timeout, sv_signal_name(sv->config->app.stop_signal));
  else
    sv_log_full(LOG_WARNING, SV_MESSAGE_STOP_DEADLINE, fields,
                "processes the app (pid %d) left still running %s after %s: killing them",
                (int)app->pid, timeout, sv_signal_name(sv->config->app.stop_signal));
  sv_notify_status("stopping: killing pid %d and its process tree", (int)app->pid);
  sv_instance_kill(app);
}

/* The app's whole tree gets its stop signal; SIGKILL follows at the deadline. */
static void
signal_app_to_stop(SvSupervisor *sv)
{
  if (!app_alive(sv))
    return;
  const SvAppConfig *app = &sv->config->app;
  gint64 limit = stop_timeout(sv);
  g_autofree char *timeout = sv_timespan_format(limit);
  sv_notify_status("stopping: waiting up to %s for pid %d and its processes", timeout,
                   (int)sv->app->pid);
  SvBudget budget;
  sv_budget_compute(sv->config, &budget);
  /* The deadline of this stop (unhealthy-stop-timeout or stop-timeout), then the
   * post-stop hooks. */
  extend_timeout(sv_timespan_add(limit, budget.post_stop));
  sv_log(LOG_INFO, "sending %s to app (pid %d) and its process tree, waiting up to %s",
         sv_signal_name(app->stop_signal), (int)sv->app->pid, timeout);
  sv_instance_stop(sv->app, app->stop_signal, limit);
}

static gboolean
on_stop_delay_done(gpointer user_data)
{
  SvSupervisor *sv = user_data;
  sv->stop_delay_timer = 0;
  signal_app_to_stop(sv);
  return G_SOURCE_REMOVE;
}

static void
after_pre_stop(SvSupervisor *sv, gboolean ok, const char *detail)
{
  if (!ok)
    sv_log(LOG_WARNING, "pre-stop hooks: %s", detail ? detail : "failed");
  if (!app_alive(sv)) {
    /* The app went away while the hooks ran. */
    run_post_stop(sv);
    return;
  }
  gint64 delay = sv->config->app.stop_delay_usec;
  if (delay > 0 && !sv->app->killed && app_pid(sv) > 0) {
    g_autofree char *d = sv_timespan_format(delay);
    sv_notify_status("stopping: draining for %s before stopping pid %d", d, (int)app_pid(sv));
    sv->stop_delay_timer =
        g_timeout_add_full(G_PRIORITY_HIGH, (guint)(delay / 1000), on_stop_delay_done, sv, NULL);
    return;
  }
  signal_app_to_stop(sv);
}

/* The stop sequence proper, once STOPPING=1 has been said. */
static void
begin_stop(SvSupervisor *sv)
{
  set_state(sv, SV_STATE_STOPPING);
  g_clear_handle_id(&sv->ready_timer, g_source_remove);
  g_clear_handle_id(&sv->watchdog_timer, g_source_remove);
  if (sv->app->ready_probe)
    sv_probe_stop(sv->app->ready_probe);
  if (sv->app->health_probe)
    sv_probe_stop(sv->app->health_probe);
  /* Without pre-stop hooks the stop signal goes out now, not after a turn of the loop. */
  if (sv_hooks_count(sv->config->hooks, SV_HOOK_PRE_STOP) == 0)
    after_pre_stop(sv, TRUE, NULL);
  else
    run_hooks(sv, SV_HOOK_PRE_STOP, -1, after_pre_stop);
}

/* A SIGTERM (or SIGINT) while a stop is under way: whoever sends it does not want to
 * wait. */
static void
stop_at_once(SvSupervisor *sv, int signo)
{
  stop_jobs(sv, SIGTERM, g_get_monotonic_time());
  sv_log(LOG_WARNING, "%s again: stopping at once", sv_signal_name(signo));
  if (sv->hook_run != NULL)
    sv_hooks_cancel(sv->hook_run);
  g_clear_handle_id(&sv->stop_delay_timer, g_source_remove);
  stop_draining(sv, TRUE);
  if (app_alive(sv))
    sv_instance_kill(sv->app);
}

static void
request_stop(SvSupervisor *sv, int signo)
{
  if (sv_lifecycle_is_ending(sv->state)) {
    stop_at_once(sv, signo);
    return;
  }
  sv->stop_trigger = signo;
  set_state(sv, SV_STATE_STOPPING);
  drop_next(sv, "sdvisor is stopping");
  reload_waiters_fail_all(sv, "sdvisor is stopping");
  SvBudget budget;
  sv_budget_compute(sv->config, &budget);
  /* Jobs stop alongside the app, within the same deadline. */
  stop_jobs(sv, SIGTERM, g_get_monotonic_time() + MIN(budget.jobs_stop, SV_TIMEOUT_UNBOUNDED_USEC));

  const SvAppConfig *app = &sv->config->app;
  g_autofree char *timeout = sv_timespan_format(app->stop_timeout_usec);
  g_autofree char *status =
      app_pid(sv) > 0
          ? g_strdup_printf("stopping: waiting up to %s for pid %d", timeout, (int)app_pid(sv))
          : g_strdup("stopping");
  /* From STOPPING=1 on, the app can tell that it is draining (drain.h). */
  sv_drain_begin();
  sv_notify_stopping(status);
  extend_timeout(budget.stop);

  g_autofree char *pidf = pid_field(app_pid(sv));
  const char *fields[] = {pidf, NULL};
  /* The stop signal itself is logged when it is sent (signal_app_to_stop()), after the
   * pre-stop hooks and stop-delay. */
  g_autofree char *delay = sv_timespan_format(app->stop_delay_usec);
  sv_log_full(LOG_INFO, SV_MESSAGE_STOP_REQUESTED, app_pid(sv) > 0 ? fields : NULL,
              "%s received: stopping app (pid %d)%s%s", sv_signal_name(signo), (int)app_pid(sv),
              app->stop_delay_usec > 0 ? ", draining first for " : "",
              app->stop_delay_usec > 0 ? delay : "");

  if (sv->hook_run != NULL) {
    /* Start or post-start hooks are running: they end first, and their done callback
     * finds the state STOPPING. */
    sv_hooks_cancel(sv->hook_run);
    return;
  }
  if (!app_alive(sv)) {
    run_post_stop(sv);
    return;
  }
  begin_stop(sv);
}

/* ---- the app's exit ---------------------------------------------------------------------- */

/* stop-timeout, or [health] unhealthy-stop-timeout for an app stopped as unhealthy. */
static gint64
stop_timeout(SvSupervisor *sv)
{
  return sv->stop_timeout_override > 0 ? sv->stop_timeout_override
                                       : sv->config->app.stop_timeout_usec;
}

/* The main process is reaped: its status is the app's. What it left keeps running until
 * the tree is gone (on_app_gone). */
static void
on_app_exit(SvInstance *app, gpointer user_data)
{
  SvSupervisor *sv = user_data;
  int status = app->status;
  pid_t pid = app->pid;
  int code = sv_wait_status_to_exit_code(status);
  const char *kind = sv_wait_status_kind(status);
  g_autofree char *pidf = pid_field(pid);
  g_autofree char *codef = g_strdup_printf("SDVISOR_EXIT_CODE=%d", code);
  g_autofree char *kindf = g_strdup_printf("SDVISOR_EXIT_STATUS=%s", kind);
  const char *fields[] = {pidf, codef, kindf, NULL};

  /* What it wrote last comes before the news of its exit (what it said last was read by
   * the instance). */
  sv_logstream_catch_up(sv->logs);
  g_clear_handle_id(&sv->ready_timer, g_source_remove);
  g_clear_handle_id(&sv->watchdog_timer, g_source_remove);

  /* Asked to stop (or restart, or stopped after a failure): the stop signal went to the
   * whole tree already, and its deadline runs. */
  if (sv->state == SV_STATE_STOPPING || sv->state == SV_STATE_RESTARTING ||
      sv->state == SV_STATE_FAILED || sv->state == SV_STATE_POST_STOP) {
    int stop_signal = sv->config->app.stop_signal;
    gboolean clean = !app->killed && ((WIFEXITED(status) && WEXITSTATUS(status) == 0) ||
                                      (WIFSIGNALED(status) && WTERMSIG(status) == stop_signal));
    /* A stop that went as asked is a clean stop for systemd and podman: exit 0, not
     * 128+SIGTERM, which systemd would count as a failure of sdvisor's own. An exit
     * code chosen before (start timeout, unhealthy stop, watchdog) is kept. */
    if (sv->state == SV_STATE_STOPPING && sv->exit_code == SV_EXIT_OK)
      sv->exit_code = clean ? SV_EXIT_OK : code;
    if (WIFSIGNALED(status))
      sv_log_full(LOG_INFO, SV_MESSAGE_STOPPED, fields, "app (pid %d) stopped by %s%s", (int)pid,
                  sv_signal_name(WTERMSIG(status)) ?: "a signal",
                  app->killed ? " at the stop deadline" : "");
    else
      sv_log_full(LOG_INFO, SV_MESSAGE_STOPPED, fields, "app (pid %d) stopped with status %d",
                  (int)pid, code);
    return;
  }

  /* The app exited on its own: that is a failure for systemd, whatever the code. */
  sv->exit_code = code;
  if (WIFSIGNALED(status))
    sv_log_full(LOG_ERR, SV_MESSAGE_APP_EXITED, fields, "app (pid %d) was killed by %s", (int)pid,
                sv_signal_name(WTERMSIG(status)) ?: "a signal");
  else
    sv_log_full(code == 0 ? LOG_NOTICE : LOG_ERR, SV_MESSAGE_APP_EXITED, fields,
                "app (pid %d) exited on its own with status %d", (int)pid, code);
  set_state(sv, SV_STATE_FAILED);
  drop_next(sv, "the app exited");
  reload_waiters_fail_all(sv, "the app exited");
  sv_notify_stopping(NULL);
  sv_notify_status("app exited (%s %d)", kind, code);
  /* What it left gets the stop signal and the stop-timeout, as on a stop; on-failure
   * hooks run once they are gone. */
  if (!sv_proctree_is_empty(app->tree)) {
    sv_log(LOG_NOTICE, "app (pid %d) left processes behind: sending them %s", (int)pid,
           sv_signal_name(sv->config->app.stop_signal));
    /* STOPPING=1 started systemd's stop timeout: the drain and the hooks after it. */
    SvBudget budget;
    sv_budget_compute(sv->config, &budget);
    extend_timeout(sv_timespan_add(sv_timespan_add(stop_timeout(sv), budget.post_stop),
                                   sv_budget_hooks(sv->config->hooks, SV_HOOK_ON_FAILURE)));
    sv_instance_stop(app, sv->config->app.stop_signal, stop_timeout(sv));
  }
}

/* The app's main process and its whole tree are gone. */
static void
on_app_gone(SvInstance *app, gpointer user_data)
{
  SvSupervisor *sv = user_data;
  int code = sv_wait_status_to_exit_code(app->status);
  const char *kind = sv_wait_status_kind(app->status);

  if (sv->state == SV_STATE_RESTARTING) {
    sv->stop_timeout_override = 0;
    sv->restarts++;
    sv_log(LOG_NOTICE, "restarting app (restart %u)", sv->restarts);
    start_app(sv);
    return;
  }
  if (failing(sv)) {
    if (sv->watchdog_aborted)
      sv_notify_status("watchdog timeout: app killed (%s %d)", kind, code);
    /* A hook that runs (post-start, or on-failure itself) finishes first; its done
     * callback carries on. */
    if (sv->hook_run == NULL)
      run_hooks(sv, SV_HOOK_ON_FAILURE, app->status, after_on_failure);
    return;
  }
  sv_notify_status("stopped (%s %d)", kind, code);
  /* Gone during stop-delay: nothing is left to drain. */
  g_clear_handle_id(&sv->stop_delay_timer, g_source_remove);
  if (sv->hook_run == NULL && sv->state == SV_STATE_STOPPING)
    run_post_stop(sv);
}

/* ---- the end --------------------------------------------------------------------------- */

static void
finish(SvSupervisor *sv)
{
  g_clear_handle_id(&sv->stop_delay_timer, g_source_remove);
  g_clear_handle_id(&sv->ready_timer, g_source_remove);
  g_clear_handle_id(&sv->watchdog_timer, g_source_remove);
  g_clear_pointer(&sv->app->ready_probe, sv_probe_free);
  g_clear_pointer(&sv->app->health_probe, sv_probe_free);
  set_state(sv, SV_STATE_DONE);
  reload_waiters_fail_all(sv, "sdvisor has stopped");
  g_main_loop_quit(sv->loop);
}

static void
maybe_finish(SvSupervisor *sv)
{
  if (sv->post_stop_done && sv->jobs_stopping == 0 && draining_alive(sv) == 0)
    finish(sv);
}

static void
after_post_stop(SvSupervisor *sv, gboolean ok, const char *detail)
{
  if (!ok)
    sv_log(LOG_WARNING, "post-stop hooks: %s", detail ? detail : "failed");
  sv->post_stop_done = TRUE;
  /* Nothing runs past sdvisor: jobs not told yet (a failed start) are told now, with
   * the stop-timeout as their deadline; the others keep the deadline they have. */
  if (!sv->jobs_stop_asked)
    stop_jobs(sv, SIGTERM,
              g_get_monotonic_time() +
                  MIN(sv->config->app.stop_timeout_usec, SV_TIMEOUT_UNBOUNDED_USEC));
  maybe_finish(sv);
}

static void
run_post_stop(SvSupervisor *sv)
{
  set_state(sv, SV_STATE_POST_STOP);
  run_hooks(sv, SV_HOOK_POST_STOP, sv->app->exited ? sv->app->status : -1, after_post_stop);
}

/* After a hook sequence: what happened while it ran comes first. Returns TRUE if the
 * caller has nothing more to do. */
/* The app failed (it exited on its own, was never ready, or systemd's watchdog fired):
 * on-failure hooks come once its tree is gone, then post-stop. */
static gboolean
failing(SvSupervisor *sv)
{
  return sv->state == SV_STATE_FAILED || (sv->watchdog_aborted && sv->state == SV_STATE_STOPPING);
}

static gboolean
resume_after_hooks(SvSupervisor *sv)
{
  if (failing(sv)) {
    /* on_app_gone() runs on-failure if the tree is not gone yet. */
    if (!app_alive(sv))
      run_hooks(sv, SV_HOOK_ON_FAILURE, sv->app->exited ? sv->app->status : -1, after_on_failure);
    return TRUE;
  }
  if (sv->state == SV_STATE_STOPPING) {
    if (app_alive(sv))
      begin_stop(sv);
    else
      run_post_stop(sv);
    return TRUE;
  }
  if (sv->unhealthy_pending) {
    sv->unhealthy_pending = FALSE;
    if (!sv->app->healthy && app_pid(sv) > 0) {
      run_hooks(sv, SV_HOOK_ON_UNHEALTHY, -1, after_on_unhealthy);
      return TRUE;
    }
  }
  if (sv->reload_pending && sv->state == SV_STATE_RUNNING && app_pid(sv) > 0) {
    sv->reload_pending = FALSE;
    reload(sv);
    return sv->hook_run != NULL;
  }
  return FALSE;
}

static void
after_on_failure(SvSupervisor *sv, gboolean ok, const char *detail)
{
  if (!ok)
    sv_log(LOG_WARNING, "on-failure hooks: %s", detail ? detail : "failed");
  /* The readiness deadline may have passed while the app still runs: stop it first. */
  if (app_alive(sv)) {
    begin_stop(sv);
    return;
  }
  run_post_stop(sv);
}

/* systemd's RuntimeDirectory= (the first of several), or NULL. */
static char *
runtime_directory(void)
{
  const char *runtime = g_getenv("RUNTIME_DIRECTORY");
  char *dir = runtime ? g_strdup(runtime) : NULL;
  if (dir != NULL && strchr(dir, ':') != NULL)
    *strchr(dir, ':') = '\0';
  return dir;
}

/* ---- object ---------------------------------------------------------------------------------------- */

SvSupervisor *
sv_supervisor_new(SvConfig *config, SvListenSet *sockets, GError **error)
{
  g_return_val_if_fail(config != NULL, NULL);

  g_autoptr(SvSupervisor) sv = g_new0(SvSupervisor, 1);
  sv->config = config;
  sv->sockets = sockets;
  sv_config_trim_effective(config, effective_kept);
  sv->environ = g_get_environ();
  sv->signal_fd = -1;
  sv->loop = g_main_loop_new(NULL, FALSE);
  sv->state = SV_STATE_STARTING;
  sv->started_real = g_get_real_time();
  sv->retired_jobs = g_ptr_array_new();
  sv->draining = g_ptr_array_new();

  if (!setup_signals(sv, error))
    return NULL;
  if (!sv_reaper_init(error))
    return NULL;

  /* The sink, before anything is logged that should be in order with the app's output.
   * sdvisor's own messages go through it too: queued, they never block the loop on a
   * stalled journald, and they follow [log] target= like the app's. */
  const SvLogConfig *log = &config->log;
  SvJournalOptions journal_options = {
      .target = (SvJournalTarget)log->target,
      .identifier = log->identifier != NULL ? log->identifier : config->app.name,
      .fields = (const char *const *)log->fields,
      .console_fd = -1,
  };
  sv->journal = sv_journal_new(&journal_options, error);
  if (sv->journal == NULL)
    return NULL;
  sv->logs = sv_logstream_new(sv->journal, log);
  sv_log_set_write_func(sv_journal_log_func, sv->journal);

  sv_notify_init();
  /* Socket activation without listen=: what systemd passed goes to the app as it is. */
  if (sv->sockets == NULL) {
    g_autoptr(GError) passed_error = NULL;
    sv->sockets = sv_listen_set_open(NULL, NULL, &passed_error);
    if (sv->sockets == NULL)
      sv_log(LOG_WARNING, "the app gets no sockets: %s", passed_error->message);
    else if (sv_listen_set_get_n(sv->sockets) > 0)
      sv_log(LOG_INFO, "passing %u socket%s from the service manager to the app",
             sv_listen_set_get_n(sv->sockets), sv_listen_set_get_n(sv->sockets) == 1 ? "" : "s");
  }

  /* The app's private NOTIFY_SOCKET, under systemd's RuntimeDirectory= when there is one. */
  g_autofree char *runtime_dir = runtime_directory();
  g_autoptr(GError) local = NULL;
  sv->proxy = sv_notify_proxy_new(runtime_dir, on_app_notify, on_app_notify_rejected, sv, &local);
  if (sv->proxy == NULL)
    sv_log(LOG_WARNING, "no notify socket for the app: %s", local->message);
  sv_proctree_setup();
  sv->app = new_instance(sv);
  return g_steal_pointer(&sv);
}

int
sv_supervisor_run(SvSupervisor *sv)
{
  g_idle_add_full(G_PRIORITY_DEFAULT, start_idle, sv, NULL);
  g_main_loop_run(sv->loop);

  /* Everything read is written before sdvisor exits. The app's children (or a hook's)
   * may still hold a pipe; what they wrote is read until EOF or the bound. Then the
   * queue is written out — waiting for a stalled journald, within reason. */
  guint open = sv_logstream_drain(sv->logs, SV_LOG_DRAIN_USEC);
  if (open > 0)
    sv_log(LOG_NOTICE, "closed %u output pipe%s that a process outside the app's group still held",
           open, open == 1 ? "" : "s");
  /* On timeout the sink says so itself, without waiting: log.c would block on the very
   * journald that does not answer. */
  (void)sv_journal_flush_final(sv->journal, SV_LOG_FLUSH_USEC);
  return sv->exit_code;
}

SvState
sv_supervisor_get_state(SvSupervisor *sv)
{
  return sv->state;
}

const char *
sv_supervisor_state_name(SvState state)
{
  return state_name(state);
}

void
sv_supervisor_get_status(SvSupervisor *sv, SvSupervisorStatus *out)
{
  *out = (SvSupervisorStatus){
      .state = sv->state,
      .app_name = sv->config->app.name,
      .config_path = sv->config->path,
      .sdvisor_pid = getpid(),
      .app_pid = app_pid(sv),
      .started_usec = sv->started_real,
      .app_started_usec = app_pid(sv) > 0 ? sv->app_started_real : 0,
      .restarts = sv->restarts,
      .healthy = sv->app->healthy,
      .unhealthy_since_usec = sv->app->healthy ? 0 : sv->unhealthy_since,
      .health_probe = sv->app->health_probe,
      .jobs = sv->jobs,
  };
}

void
sv_supervisor_reload(SvSupervisor *sv, SvSupervisorReloadFunc done, gpointer user_data)
{
  if (sv_lifecycle_is_ending(sv->state) || sv->state == SV_STATE_STARTING ||
      sv->state == SV_STATE_RESTARTING || app_pid(sv) <= 0) {
    g_autoptr(GError) error = g_error_new(
        G_IO_ERROR, G_IO_ERROR_BUSY, "sdvisor is %s: nothing to reload now", state_name(sv->state));
    done(error, user_data);
    return;
  }
  if (sv->next != NULL || sv->next_waiting) {
    /* One replacement at a time: this one may have read the file before the change. */
    g_autofree char *what =
        sv->next != NULL
            ? g_strdup_printf("new instance pid %d, not ready yet", (int)sv->next->pid)
            : g_strdup("its new instance waits for the one replaced before to finish draining");
    g_autoptr(GError) error =
        g_error_new(G_IO_ERROR, G_IO_ERROR_BUSY,
                    "a replacement is under way (%s): reload again once it is over", what);
    done(error, user_data);
    return;
  }
  SvReloadWaiter *w = g_new0(SvReloadWaiter, 1);
  w->func = done;
  w->user_data = user_data;
  sv->reload_waiters = g_slist_prepend(sv->reload_waiters, w);
  if (sv->state == SV_STATE_RELOADING) {
    /* One more cycle after the one that runs: it may have read the file before the
     * change this operator wants in force. */
    sv->reload_pending = TRUE;
    return;
  }
  reload(sv);
}

void
sv_supervisor_free(SvSupervisor *sv)
{
  if (sv == NULL)
    return;
  g_clear_handle_id(&sv->stop_delay_timer, g_source_remove);
  g_clear_handle_id(&sv->ready_timer, g_source_remove);
  g_clear_handle_id(&sv->watchdog_timer, g_source_remove);
  g_clear_handle_id(&sv->signal_source, g_source_remove);
  g_clear_pointer(&sv->app, sv_instance_free);
  g_clear_handle_id(&sv->next_timer, g_source_remove);
  g_clear_pointer(&sv->next, sv_instance_free);
  g_clear_pointer(&sv->next_proxy, sv_notify_proxy_free);
  if (sv->draining != NULL) {
    for (guint i = 0; i < sv->draining->len; i++)
      draining_free(sv->draining->pdata[i]);
    g_ptr_array_unref(sv->draining);
  }
  g_clear_pointer(&sv->proxy, sv_notify_proxy_free);
  g_clear_pointer(&sv->jobs, sv_jobs_free);
  if (sv->retired_jobs != NULL) {
    for (guint i = 0; i < sv->retired_jobs->len; i++) {
      SvRetired *r = sv->retired_jobs->pdata[i];
      sv_jobs_free(r->jobs);
      g_free(r);
    }
    g_ptr_array_unref(sv->retired_jobs);
  }
  if (sv->journal != NULL)
    sv_log_set_write_func(NULL, NULL);
  g_clear_pointer(&sv->logs, sv_logstream_free);
  g_clear_pointer(&sv->journal, sv_journal_free);
  if (sv->signal_fd >= 0)
    close(sv->signal_fd);
  g_clear_pointer(&sv->loop, g_main_loop_unref);
  g_strfreev(sv->environ);
  g_clear_pointer(&sv->next_sockets, sv_listen_set_free);
  g_clear_pointer(&sv->sockets, sv_listen_set_free);
  g_free(sv->jobs_problem);
  g_slist_free_full(sv->reload_waiters, g_free);
  g_slist_free_full(sv->reload_current, g_free);
  sv_config_free(sv->config);
  g_free(sv);
}
