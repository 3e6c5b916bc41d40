/* supervisor.c — the lifecycle state machine. */
#include "supervisor.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exit-codes.h"
#include "log.h"
#include "message-ids.h"
#include "notify.h"
#include "reaper.h"
#include "spawn.h"
#include "timespan.h"

/* Added to every EXTEND_TIMEOUT_USEC so systemd's timer fires after sdvisor's own
 * deadline and the cleanup after it, never before. */
#define SV_TIMEOUT_MARGIN_USEC (5 * SV_USEC_PER_SEC)

struct SvSupervisor {
  SvConfig *config;
  GMainLoop *loop;
  SvState state;

  sigset_t handled;
  int signal_fd;
  guint signal_source;

  pid_t app_pid;          /* 0 when there is no app */
  gboolean stop_requested;
  gboolean killed_at_deadline;
  guint stop_timer;
  int exit_code;
};

static const char *
state_name(SvState state)
{
  switch (state) {
  case SV_STATE_STARTING:
    return "starting";
  case SV_STATE_RUNNING:
    return "running";
  case SV_STATE_RELOADING:
    return "reloading";
  case SV_STATE_STOPPING:
    return "stopping";
  case SV_STATE_DONE:
    return "stopped";
  }
  return "unknown";
}

static void
set_state(SvSupervisor *sv, SvState state)
{
  if (sv->state != state)
    sv_log(LOG_DEBUG, "state %s → %s", state_name(sv->state), state_name(state));
  sv->state = state;
}

static char *
pid_field(pid_t pid)
{
  return g_strdup_printf("SDVISOR_APP_PID=%d", (int)pid);
}

/* ---- the end ------------------------------------------------------------------------ */

static void
finish(SvSupervisor *sv)
{
  g_clear_handle_id(&sv->stop_timer, g_source_remove);
  set_state(sv, SV_STATE_DONE);
  g_main_loop_quit(sv->loop);
}

static void
on_app_exit(pid_t pid, int status, gpointer user_data)
{
  SvSupervisor *sv = user_data;
  int code = sv_wait_status_to_exit_code(status);
  const char *kind = sv_wait_status_kind(status);
  g_autofree char *pidf = pid_field(pid);
  g_autofree char *codef = g_strdup_printf("SDVISOR_EXIT_CODE=%d", code);
  g_autofree char *kindf = g_strdup_printf("SDVISOR_EXIT_STATUS=%s", kind);
  const char *fields[] = {pidf, codef, kindf, NULL};

  sv->app_pid = 0;

  /* Whatever the app left in its process group goes with it. */
  (void)sv_kill_group(pid, SIGKILL);

  if (sv->stop_requested) {
    int stop_signal = sv->config->app.stop_signal;
    gboolean clean = !sv->killed_at_deadline &&
                     ((WIFEXITED(status) && WEXITSTATUS(status) == 0) ||
                      (WIFSIGNALED(status) && WTERMSIG(status) == stop_signal));
    /* A stop that went as asked is a clean stop for systemd and podman: exit 0, not
     * 128+SIGTERM, which systemd would count as a failure of sdvisor's own. */
    sv->exit_code = clean ? SV_EXIT_OK : code;
    if (WIFSIGNALED(status))
      sv_log_full(LOG_INFO, SV_MESSAGE_STOPPED, fields, "app (pid %d) stopped by %s%s", (int)pid,
                  sv_signal_name(WTERMSIG(status)) ?: "a signal",
                  sv->killed_at_deadline ? " at the stop deadline" : "");
    else
      sv_log_full(LOG_INFO, SV_MESSAGE_STOPPED, fields, "app (pid %d) stopped with status %d",
                  (int)pid, code);
    sv_notify_status("stopped (%s %d)", kind, code);
  } else {
    sv->exit_code = code;
    if (WIFSIGNALED(status))
      sv_log_full(LOG_ERR, SV_MESSAGE_APP_EXITED, fields, "app (pid %d) was killed by %s", (int)pid,
                  sv_signal_name(WTERMSIG(status)) ?: "a signal");
    else
      sv_log_full(code == 0 ? LOG_NOTICE : LOG_ERR, SV_MESSAGE_APP_EXITED, fields,
                  "app (pid %d) exited on its own with status %d", (int)pid, code);
    sv_notify_stopping(NULL);
    sv_notify_status("app exited (%s %d)", kind, code);
  }
  finish(sv);
}

/* ---- stopping -------------------------------------------------------------------------- */

static gboolean
on_stop_deadline(gpointer user_data)
{
  SvSupervisor *sv = user_data;
  sv->stop_timer = 0;
  if (sv->app_pid > 0) {
    g_autofree char *timeout = sv_timespan_format(sv->config->app.stop_timeout_usec);
    g_autofree char *pidf = pid_field(sv->app_pid);
    const char *fields[] = {pidf, NULL};
    sv_log_full(LOG_WARNING, SV_MESSAGE_STOP_DEADLINE, fields,
                "app (pid %d) still running %s after %s: killing its process group",
                (int)sv->app_pid, timeout, sv_signal_name(sv->config->app.stop_signal));
    sv_notify_status("stopping: killing pid %d", (int)sv->app_pid);
    sv->killed_at_deadline = TRUE;
    (void)sv_kill_group(sv->app_pid, SIGKILL);
  }
  return G_SOURCE_REMOVE;
}

static void
request_stop(SvSupervisor *sv, int signo)
{
  if (sv->stop_requested) {
    /* The second TERM/INT: whoever sends it does not want to wait. */
    if (sv->app_pid > 0) {
      sv_log(LOG_WARNING, "%s again: killing app (pid %d) now", sv_signal_name(signo),
             (int)sv->app_pid);
      sv->killed_at_deadline = TRUE;
      (void)sv_kill_group(sv->app_pid, SIGKILL);
    }
    return;
  }
  sv->stop_requested = TRUE;
  set_state(sv, SV_STATE_STOPPING);

  if (sv->app_pid <= 0) {
    finish(sv);
    return;
  }

  const SvAppConfig *app = &sv->config->app;
  g_autofree char *timeout = sv_timespan_format(app->stop_timeout_usec);
  g_autofree char *status =
      g_strdup_printf("stopping: waiting up to %s for pid %d", timeout, (int)sv->app_pid);
  sv_notify_stopping(status);
  sv_notify_extend_timeout(app->stop_timeout_usec + SV_TIMEOUT_MARGIN_USEC);

  g_autofree char *pidf = pid_field(sv->app_pid);
  const char *fields[] = {pidf, NULL};
  sv_log_full(LOG_INFO, SV_MESSAGE_STOP_REQUESTED, fields,
              "%s received: sending %s to app (pid %d), waiting up to %s", sv_signal_name(signo),
              sv_signal_name(app->stop_signal), (int)sv->app_pid, timeout);

  int r = sv_kill_group(sv->app_pid, app->stop_signal);
  if (r < 0)
    sv_log(LOG_WARNING, "cannot send %s to app (pid %d): %s", sv_signal_name(app->stop_signal),
           (int)sv->app_pid, g_strerror(-r));
  if (app->stop_timeout_usec != G_MAXINT64)
    sv->stop_timer = g_timeout_add_full(G_PRIORITY_HIGH, (guint)(app->stop_timeout_usec / 1000),
                                        on_stop_deadline, sv, NULL);
}

/* ---- reload --------------------------------------------------------------------------- */

static void
reload(SvSupervisor *sv)
{
  if (sv->state != SV_STATE_RUNNING || sv->app_pid <= 0) {
    sv_log(LOG_NOTICE, "SIGHUP ignored while %s", state_name(sv->state));
    return;
  }
  set_state(sv, SV_STATE_RELOADING);
  sv_notify_reloading();
  int reload_signal = sv->config->app.reload_signal;
  g_autofree char *pidf = pid_field(sv->app_pid);
  const char *fields[] = {pidf, NULL};
  sv_log_full(LOG_INFO, SV_MESSAGE_RELOAD, fields, "reloading: sending %s to app (pid %d)",
              sv_signal_name(reload_signal), (int)sv->app_pid);
  /* The main process only: gunicorn's workers would die of a SIGHUP of their own. */
  if (kill(sv->app_pid, reload_signal) < 0)
    sv_log(LOG_WARNING, "cannot send %s to app (pid %d): %s", sv_signal_name(reload_signal),
           (int)sv->app_pid, g_strerror(errno));
  set_state(sv, SV_STATE_RUNNING);
  g_autofree char *status = g_strdup_printf("running (pid %d)", (int)sv->app_pid);
  sv_notify_ready(status);
}

/* ---- signals --------------------------------------------------------------------------- */

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
    default:
      if (sv->app_pid > 0) {
        sv_log(LOG_DEBUG, "forwarding %s to app (pid %d)", sv_signal_name(signo), (int)sv->app_pid);
        (void)sv_kill_group(sv->app_pid, signo);
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
  for (int sig = 1; sig < 64; sig++)
    if (sv->config->app.forward_signals & (G_GUINT64_CONSTANT(1) << sig))
      sigaddset(&sv->handled, sig);

  /* Blocked, then read from a signalfd: no handler runs, nothing depends on default
   * dispositions (which PID 1 does not get), and blocked signals are queued for PID 1
   * too. SIGPIPE is ignored: a closed pipe is an error to handle, not a reason to die. */
  if (sigprocmask(SIG_BLOCK, &sv->handled, NULL) < 0 || signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
    int errsv = errno;
    g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "sigprocmask: %s", g_strerror(errsv));
    return FALSE;
  }
  sv->signal_fd = signalfd(-1, &sv->handled, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sv->signal_fd < 0) {
    int errsv = errno;
    g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "signalfd: %s", g_strerror(errsv));
    return FALSE;
  }
  sv->signal_source = g_unix_fd_add_full(G_PRIORITY_HIGH, sv->signal_fd, G_IO_IN, on_signal, sv, NULL);
  return TRUE;
}

/* ---- starting -------------------------------------------------------------------------- */

static char **
app_environment(SvSupervisor *sv)
{
  g_auto(GStrv) env = sv_spawn_base_environ();
  for (char **e = sv->config->app.environment; e && *e; e++) {
    const char *eq = strchr(*e, '=');
    g_autofree char *name = g_strndup(*e, (gsize)(eq - *e));
    env = g_environ_setenv(env, name, eq + 1, TRUE);
  }
  /* stdout and stderr are inherited, so JOURNAL_STREAM still describes them. */
  const char *stream = g_getenv("JOURNAL_STREAM");
  if (stream != NULL)
    env = g_environ_setenv(env, "JOURNAL_STREAM", stream, TRUE);
  return g_steal_pointer(&env);
}

static void
start_app(SvSupervisor *sv)
{
  const SvAppConfig *app = &sv->config->app;
  g_auto(GStrv) env = app_environment(sv);
  SvSpawnOptions options = SV_SPAWN_OPTIONS_INIT;
  options.argv = app->exec;
  options.envp = env;
  options.working_directory = app->working_directory;

  set_state(sv, SV_STATE_STARTING);
  sv_notify_status("starting %s", app->name);

  g_autoptr(GError) error = NULL;
  pid_t pid = 0;
  int exec_errno = 0;
  if (!sv_spawn(&options, &pid, &exec_errno, &error)) {
    if (pid <= 0) {
      sv_log_id(LOG_ERR, SV_MESSAGE_APP_EXEC_FAILED, "cannot start %s: %s", app->name, error->message);
      sv->exit_code = SV_EXIT_FAILURE;
      finish(sv);
      return;
    }
    /* The child exits 127/126 by itself; its status becomes ours through the reaper. */
    sv_log_id(LOG_ERR, SV_MESSAGE_APP_EXEC_FAILED, "%s", error->message);
    sv->app_pid = pid;
    sv_reaper_watch(pid, on_app_exit, sv);
    return;
  }

  sv->app_pid = pid;
  sv_reaper_watch(pid, on_app_exit, sv);

  g_autofree char *pidf = pid_field(pid);
  const char *fields[] = {pidf, NULL};
  sv_log_full(LOG_INFO, SV_MESSAGE_APP_STARTED, fields, "started %s (pid %d)", app->name, (int)pid);

  set_state(sv, SV_STATE_RUNNING);
  g_autofree char *status = g_strdup_printf("running (pid %d)", (int)pid);
  sv_notify_ready(status);
}

static gboolean
start_idle(gpointer user_data)
{
  SvSupervisor *sv = user_data;
  /* A TERM that arrived before the loop ran is handled first. */
  if (!sv->stop_requested)
    start_app(sv);
  return G_SOURCE_REMOVE;
}

/* ---- object ------------------------------------------------------------------------------ */

SvSupervisor *
sv_supervisor_new(SvConfig *config, GError **error)
{
  g_return_val_if_fail(config != NULL, NULL);

  g_autoptr(SvSupervisor) sv = g_new0(SvSupervisor, 1);
  sv->config = config;
  sv->signal_fd = -1;
  sv->loop = g_main_loop_new(NULL, FALSE);
  sv->state = SV_STATE_STARTING;

  if (!setup_signals(sv, error))
    return NULL;
  if (!sv_reaper_init(error))
    return NULL;
  sv_notify_init();
  return g_steal_pointer(&sv);
}

int
sv_supervisor_run(SvSupervisor *sv)
{
  g_idle_add_full(G_PRIORITY_DEFAULT, start_idle, sv, NULL);
  g_main_loop_run(sv->loop);
  return sv->exit_code;
}

SvState
sv_supervisor_get_state(SvSupervisor *sv)
{
  return sv->state;
}

void
sv_supervisor_free(SvSupervisor *sv)
{
  if (sv == NULL)
    return;
  g_clear_handle_id(&sv->stop_timer, g_source_remove);
  g_clear_handle_id(&sv->signal_source, g_source_remove);
  if (sv->signal_fd >= 0)
    close(sv->signal_fd);
  g_clear_pointer(&sv->loop, g_main_loop_unref);
  sv_config_free(sv->config);
  g_free(sv);
}
