/* probe.c — readiness and liveness checks. */
#include "probe.h"

#include <errno.h>
#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gi18n.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "logstream.h" /* issue 6: exec: checks' output */
#include "reaper.h"
#include "sdvisor-build-config.h"
#include "soupload.h"
#include "spawn.h"
#include "timespan.h"

G_DEFINE_QUARK(sv - probe - error - quark, sv_probe_error)

static void
invalid(GError **error, const char *message)
{
  g_set_error_literal(error, SV_PROBE_ERROR, SV_PROBE_ERROR_INVALID, message);
}

typedef struct SvAttempt SvAttempt;

struct SvProbe {
  SvProbeConfig config; /* config.checks is our reference */
  gboolean has_notify;
  SvProbeFunc func;
  gpointer user_data;
  GMainContext *context;

  char **envp;
  pid_t app_pid;
  SvLogStreams *log_streams; /* issue 6: exec: checks' output; NULL = inherited */

  /* Built on first use only: an HTTP session costs ~5 MB of RSS and threads, a socket
   * client a GIO worker thread (see FACTS.md). */
  SoupSession *session;
  GSocketClient *socket_client;

  gboolean running;
  SvProbeState state;
  guint successes; /* consecutive */
  guint failures;  /* consecutive, counted ones only */
  gint64 started_at;
  gboolean in_start_period; /* until the start period is over or an attempt passes */
  GSource *timer;           /* the next attempt */
  SvAttempt *attempt;       /* the one in flight */
  char *last_detail;
  /* Control socket (issue 20): each check's result in the last finished attempt, its
   * wall-clock time, and who hears of every attempt. */
  GArray *last_results; /* SvProbeCheckResult, strings owned */
  gint64 last_attempt_real;
  SvProbeAttemptFunc attempt_func;

  gint64 ready_at;    /* monotonic time of the last READY=1; 0 = never */
  gint64 watchdog_at; /* … of the last WATCHDOG=1 */
};

typedef struct {
  gboolean done;
  gboolean ok;
  char *detail;
  pid_t pid; /* an exec: check still running */
} SvCheckResult;

/* One attempt: every check at once. Asynchronous operations hold a reference, so an
 * attempt outlives its probe if it must; `probe` is cleared when the attempt is over
 * (finished, timed out or stopped), and every late completion is then dropped. */
struct SvAttempt {
  grefcount ref;
  SvProbe *probe;
  GCancellable *cancellable;
  GSource *timeout;
  gint64 started_at;
  guint pending;
  guint n_results;
  SvCheckResult *results;
};

/* One check of one attempt. */
typedef struct {
  SvAttempt *attempt; /* a reference */
  guint index;
  const SvCheckSpec *check; /* valid while attempt->probe is set */
  char *text;               /* the check's spelling, for details after the probe is gone */
  GSocket *socket;
  SoupMessage *message;
  char *spawn_error;
} SvRun;

static void probe_attempt_begin(SvProbe *probe);

static void
check_result_clear(gpointer data)
{
  SvProbeCheckResult *r = data;
  g_free((char *)r->check);
  g_free((char *)r->detail);
}

static SvAttempt *
attempt_ref(SvAttempt *attempt)
{
  g_ref_count_inc(&attempt->ref);
  return attempt;
}

static void
attempt_unref(SvAttempt *attempt)
{
  if (!g_ref_count_dec(&attempt->ref))
    return;
  g_assert(attempt->timeout == NULL);
  for (guint i = 0; i < attempt->n_results; i++)
    g_free(attempt->results[i].detail);
  g_free(attempt->results);
  g_object_unref(attempt->cancellable);
  g_free(attempt);
}

static char *
format_span(gint64 usec)
{
  return sv_timespan_format(usec);
}

static guint
usec_to_msec(gint64 usec)
{
  if (usec <= 0)
    return 0;
  gint64 msec = usec / 1000 + (usec % 1000 != 0);
  return msec > G_MAXUINT ? G_MAXUINT : (guint)msec;
}

static void probe_schedule(SvProbe *probe, gint64 delay_usec);

/* Kills the exec: checks still running; their reaper watches stay, and report to a
 * detached attempt. Only pids not yet reaped are here, so the group id is still theirs. */
static void
attempt_kill_children(SvAttempt *attempt)
{
  for (guint i = 0; i < attempt->n_results; i++) {
    SvCheckResult *result = &attempt->results[i];
    if (result->pid > 0) {
      (void)sv_kill_group(result->pid, SIGKILL);
      result->pid = 0;
    }
  }
}

/* The probe's verdict logic: the only place that changes state and calls back. */
static void
probe_record(SvProbe *probe, gint64 attempt_started_at, gboolean ok, char *detail)
{
  g_free(probe->last_detail);
  probe->last_detail = detail;
  g_debug("probe: attempt %s: %s", ok ? "passed" : "failed", detail);

  if (ok) {
    probe->in_start_period = FALSE;
    probe->failures = 0;
    if (probe->successes < G_MAXUINT)
      probe->successes++;
  } else {
    probe->successes = 0;
    gboolean forgiven = probe->in_start_period &&
                        attempt_started_at - probe->started_at < probe->config.start_period_usec;
    if (!forgiven && probe->failures < G_MAXUINT)
      probe->failures++;
  }

  if (probe->attempt_func != NULL)
    probe->attempt_func(probe, ok, detail, probe->failures, probe->user_data);

  SvProbeState state = probe->state;
  if (ok && probe->successes >= probe->config.success_threshold)
    state = SV_PROBE_STATE_HEALTHY;
  else if (!ok && probe->failures >= probe->config.failure_threshold)
    state = SV_PROBE_STATE_UNHEALTHY;

  /* The next attempt counts from the end of this one, so attempts never overlap and
   * a slow check does not get hammered. */
  probe_schedule(probe, probe->config.interval_usec);

  if (state == probe->state)
    return;
  probe->state = state;
  /* Last, and on copies: the callback may free the probe. */
  g_autofree char *detail_copy = g_strdup(detail);
  probe->func(probe, state == SV_PROBE_STATE_HEALTHY, detail_copy, probe->user_data);
}

static void
attempt_finish(SvAttempt *attempt)
{
  SvProbe *probe = attempt->probe;
  g_assert(probe != NULL && probe->attempt == attempt);

  attempt->probe = NULL;
  probe->attempt = NULL;
  if (attempt->timeout != NULL) {
    g_source_destroy(attempt->timeout);
    g_clear_pointer(&attempt->timeout, g_source_unref);
  }

  /* On failure, only what failed: that is what a person needs to read. */
  gboolean ok = TRUE;
  for (guint i = 0; i < attempt->n_results; i++)
    ok = ok && attempt->results[i].ok;
  GString *detail = g_string_new(NULL);
  for (guint i = 0; i < attempt->n_results; i++) {
    if (!ok && attempt->results[i].ok)
      continue;
    if (detail->len > 0)
      g_string_append(detail, "; ");
    g_string_append(detail, attempt->results[i].detail);
  }
  g_array_set_size(probe->last_results, 0);
  for (guint i = 0; i < attempt->n_results; i++) {
    SvProbeCheckResult r = {
        .check = g_strdup(((const SvCheckSpec *)probe->config.checks->pdata[i])->text),
        .ok = attempt->results[i].ok,
        .detail = g_strdup(attempt->results[i].detail),
    };
    g_array_append_val(probe->last_results, r);
  }
  probe->last_attempt_real = g_get_real_time();
  gint64 started_at = attempt->started_at;
  attempt_unref(attempt); /* the probe's reference */
  probe_record(probe, started_at, ok, g_string_free(detail, FALSE));
}

static SvRun *
run_new(SvAttempt *attempt, guint index)
{
  SvRun *run = g_new0(SvRun, 1);
  run->attempt = attempt_ref(attempt);
  run->index = index;
  run->check = g_ptr_array_index(attempt->probe->config.checks, index);
  run->text = g_strdup(run->check->text);
  return run;
}

static void
run_free(SvRun *run)
{
  if (run->socket != NULL)
    (void)g_socket_close(run->socket, NULL);
  g_clear_object(&run->socket);
  g_clear_object(&run->message);
  g_free(run->spawn_error);
  g_free(run->text);
  attempt_unref(run->attempt);
  g_free(run);
}

/* Records the result of RUN (taking DETAIL); ignored once the attempt is over. May
 * finish the attempt and so call back: the caller must not touch the probe after. */
static void
run_report(SvRun *run, gboolean ok, char *detail)
{
  SvAttempt *attempt = run->attempt;
  SvCheckResult *result = &attempt->results[run->index];
  if (attempt->probe == NULL || result->done) {
    g_free(detail);
    return;
  }
  result->done = TRUE;
  result->ok = ok;
  result->detail = detail;
  result->pid = 0;
  if (--attempt->pending == 0)
    attempt_finish(attempt);
}

static void
run_report_error(SvRun *run, const GError *error)
{
  run_report(run, FALSE, g_strdup_printf("%s: %s", run->text, error->message));
}

static gboolean
on_attempt_timeout(gpointer user_data)
{
  SvAttempt *attempt = attempt_ref(user_data);
  g_autofree char *span = format_span(attempt->probe->config.timeout_usec);

  for (guint i = 0; i < attempt->n_results; i++) {
    SvCheckResult *result = &attempt->results[i];
    if (result->done)
      continue;
    const SvCheckSpec *check = g_ptr_array_index(attempt->probe->config.checks, i);
    result->done = TRUE;
    result->ok = FALSE;
    result->detail = g_strdup_printf("%s: timed out after %s%s", check->text, span,
                                     result->pid > 0 ? " (killed)" : "");
  }
  attempt->pending = 0;
  attempt_kill_children(attempt);
  /* Completions this triggers find their results done and are dropped. */
  g_cancellable_cancel(attempt->cancellable);
  attempt_finish(attempt);
  attempt_unref(attempt);
  return G_SOURCE_REMOVE;
}

/* notify */

static void
run_notify(SvRun *run, SvProbe *probe)
{
  if (probe->config.mode == SV_PROBE_READINESS) {
    if (probe->ready_at != 0)
      run_report(run, TRUE, g_strdup("notify: READY=1 received"));
    else
      run_report(run, FALSE, g_strdup("notify: no READY=1 yet"));
    return;
  }

  gint64 last = MAX(probe->ready_at, probe->watchdog_at);
  if (last == 0) {
    run_report(run, FALSE, g_strdup("notify: no WATCHDOG=1 yet"));
    return;
  }
  const char *what = probe->watchdog_at >= probe->ready_at ? "WATCHDOG=1" : "READY=1";
  /* A fresh signal covers the whole gap until the next attempt, plus slack for an app
   * pinging on a similar period. */
  gint64 window = probe->config.interval_usec + probe->config.timeout_usec;
  gint64 age = g_get_monotonic_time() - last;
  g_autofree char *age_text = format_span(age / 1000 * 1000);
  if (age <= window) {
    run_report(run, TRUE,
               g_strdup_printf("notify: last %s %s ago", what, age < 1000 ? "0ms" : age_text));
  } else {
    g_autofree char *window_text = format_span(window);
    run_report(
        run, FALSE,
        g_strdup_printf("notify: last %s %s ago, more than %s", what, age_text, window_text));
  }
}

/* tcp to an address, unix: a non-blocking connect() watched by the loop, no threads */

static gboolean
on_socket_connected(GSocket *socket, GIOCondition condition, gpointer user_data)
{
  SvRun *run = user_data;
  g_autoptr(GError) error = NULL;
  if (g_cancellable_set_error_if_cancelled(run->attempt->cancellable, &error) ||
      !g_socket_check_connect_result(socket, &error))
    run_report_error(run, error);
  else
    run_report(run, TRUE, g_strdup_printf("%s: connected", run->text));
  return G_SOURCE_REMOVE; /* run_free() as the source's destroy notify */
}

static void
run_connect(SvRun *run, SvProbe *probe, GSocketAddress *address)
{
  g_autoptr(GError) error = NULL;
  run->socket = g_socket_new(g_socket_address_get_family(address), G_SOCKET_TYPE_STREAM,
                             G_SOCKET_PROTOCOL_DEFAULT, &error);
  if (run->socket == NULL) {
    run_report_error(run, error);
    run_free(run);
    return;
  }
  g_socket_set_blocking(run->socket, FALSE);
  if (g_socket_connect(run->socket, address, NULL, &error)) {
    run_report(run, TRUE, g_strdup_printf("%s: connected", run->text));
    run_free(run);
    return;
  }
  if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_PENDING)) {
    run_report_error(run, error);
    run_free(run);
    return;
  }
  g_autoptr(GSource) source =
      g_socket_create_source(run->socket, G_IO_OUT, run->attempt->cancellable);
  g_source_set_callback(source, G_SOURCE_FUNC(on_socket_connected), run, (GDestroyNotify)run_free);
  g_source_attach(source, probe->context);
}

/* tcp to a host name: GSocketClient resolves and tries every address */

static void
on_client_connected(GObject *source, GAsyncResult *result, gpointer user_data)
{
  SvRun *run = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketConnection) connection =
      g_socket_client_connect_finish(G_SOCKET_CLIENT(source), result, &error);
  if (connection == NULL) {
    run_report_error(run, error);
  } else {
    (void)g_io_stream_close(G_IO_STREAM(connection), NULL, NULL);
    run_report(run, TRUE, g_strdup_printf("%s: connected", run->text));
  }
  run_free(run);
}

static void
run_tcp(SvRun *run, SvProbe *probe)
{
  const SvCheckSpec *check = run->check;
  g_autoptr(GSocketAddress) address =
      g_inet_socket_address_new_from_string(check->host, check->port);
  if (address != NULL) {
    run_connect(run, probe, address);
    return;
  }
  if (probe->socket_client == NULL) {
    probe->socket_client = g_socket_client_new();
    /* A probe looks at the app next door: never through a proxy from the environment. */
    g_socket_client_set_enable_proxy(probe->socket_client, FALSE);
  }
  g_autoptr(GSocketConnectable) connectable = g_network_address_new(check->host, check->port);
  g_socket_client_connect_async(probe->socket_client, connectable, run->attempt->cancellable,
                                on_client_connected, run);
}

static void
run_unix(SvRun *run, SvProbe *probe)
{
  const SvCheckSpec *check = run->check;
  g_autoptr(GSocketAddress) address = g_unix_socket_address_new_with_type(
      check->path, -1,
      check->abstract ? G_UNIX_SOCKET_ADDRESS_ABSTRACT : G_UNIX_SOCKET_ADDRESS_PATH);
  run_connect(run, probe, address);
}

/* http, https */

/* libsoup is opened on the first http or https check (soupload.h), not linked. */
static const SvSoup *soup;

static gboolean
soup_open(GError **error)
{
  soup = sv_soup_open("http and https checks", error);
  return soup != NULL;
}

static gboolean
on_accept_certificate(SoupMessage *message, GTlsCertificate *certificate,
                      GTlsCertificateFlags errors, gpointer user_data)
{
  /* As Kubernetes does for HTTPS probes: the question is whether the app answers, not
   * who it is. Nothing secret is sent, and the app's certificate is usually its own. */
  return TRUE;
}

static void
on_http_closed(GObject *source, GAsyncResult *result, gpointer user_data)
{
  (void)g_input_stream_close_finish(G_INPUT_STREAM(source), result, NULL);
}

static void
on_http_sent(GObject *source, GAsyncResult *result, gpointer user_data)
{
  SvRun *run = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GInputStream) body = soup->session_send_finish((SoupSession *)source, result, &error);
  if (body == NULL) {
    run_report_error(run, error);
    run_free(run);
    return;
  }

  /* The status line is the answer; the body is not read. Closing with a cancelled
   * cancellable drops the connection instead of draining a body that may be large or
   * endless (a metrics page, a stream). */
  g_autoptr(GCancellable) drop = g_cancellable_new();
  g_cancellable_cancel(drop);
  g_input_stream_close_async(body, G_PRIORITY_DEFAULT, drop, on_http_closed, NULL);

  guint status = soup->message_get_status(run->message);
  const char *reason = soup->message_get_reason_phrase(run->message);
  gboolean ok = status >= 200 && status < 400;
  run_report(run, ok,
             g_strdup_printf("%s: %u%s%s", run->text, status,
                             reason != NULL && *reason != '\0' ? " " : "",
                             reason != NULL ? reason : ""));
  run_free(run);
}

static SoupSession *
probe_get_session(SvProbe *probe)
{
  if (probe->session == NULL) {
    probe->session = soup->session_new_with_options("user-agent", "sdvisor/" PACKAGE_VERSION, NULL);
    /* The app next door, never through a proxy from the environment. */
    soup->session_set_proxy_resolver(probe->session, NULL);
  }
  return probe->session;
}

static void
run_http(SvRun *run, SvProbe *probe)
{
  g_autoptr(GError) error = NULL;
  if (!soup_open(&error)) {
    run_report_error(run, error);
    run_free(run);
    return;
  }
  run->message = soup->message_new_from_uri("GET", run->check->uri);
  /* A redirect is an answer (3xx passes), and a fresh connection each time tests what
   * a new client would meet, not a kept-alive socket to one worker. */
  soup->message_add_flags(run->message, SOUP_MESSAGE_NO_REDIRECT | SOUP_MESSAGE_NEW_CONNECTION);
  soup->message_headers_replace(soup->message_get_request_headers(run->message), "Connection",
                                "close");
  g_signal_connect(run->message, "accept-certificate", G_CALLBACK(on_accept_certificate), NULL);
  soup->session_send_async(probe_get_session(probe), run->message, G_PRIORITY_DEFAULT,
                           run->attempt->cancellable, on_http_sent, run);
}

/* file: one stat() in a worker thread, since a hung network mount must not hang the
 * loop; the task returns as soon as it is cancelled, whatever the thread is doing. */

static void
stat_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  struct stat st;
  if (stat(task_data, &st) == 0) {
    g_task_return_boolean(task, TRUE);
  } else {
    int errsv = errno;
    g_task_return_new_error(task, G_IO_ERROR, g_io_error_from_errno(errsv), "%s",
                            g_strerror(errsv));
  }
}

static void
on_file_checked(GObject *source, GAsyncResult *result, gpointer user_data)
{
  SvRun *run = user_data;
  g_autoptr(GError) error = NULL;
  if (g_task_propagate_boolean(G_TASK(result), &error))
    run_report(run, TRUE, g_strdup_printf("%s: exists", run->text));
  else
    run_report_error(run, error);
  run_free(run);
}

static void
run_file(SvRun *run, SvProbe *probe)
{
  g_autoptr(GTask) task = g_task_new(NULL, run->attempt->cancellable, on_file_checked, run);
  g_task_set_source_tag(task, run_file);
  g_task_set_task_data(task, g_strdup(run->check->path), g_free);
  g_task_set_return_on_cancel(task, TRUE);
  g_task_run_in_thread(task, stat_thread);
}

/* exec: spawned by spawn.c, reaped by reaper.c — never by GLib, which would reap
 * behind the reaper's back */

static void
on_exec_exited(pid_t pid, int wait_status, gpointer user_data)
{
  SvRun *run = user_data;
  if (run->spawn_error != NULL) {
    run_report(run, FALSE, g_strdup_printf("%s: %s", run->text, run->spawn_error));
  } else if (WIFEXITED(wait_status)) {
    int code = WEXITSTATUS(wait_status);
    run_report(run, code == 0, g_strdup_printf("%s: exited with status %d", run->text, code));
  } else if (WIFSIGNALED(wait_status)) {
    const char *name = sigabbrev_np(WTERMSIG(wait_status));
    run_report(run, FALSE,
               g_strdup_printf("%s: killed by %s%s", run->text, name != NULL ? "SIG" : "signal ",
                               name != NULL ? name : "?"));
  } else {
    run_report(run, FALSE,
               g_strdup_printf("%s: ended with wait status %d", run->text, wait_status));
  }
  run_free(run);
}

static void
run_exec(SvRun *run, SvProbe *probe)
{
  g_auto(GStrv) envp = probe->envp != NULL ? g_strdupv(probe->envp) : sv_spawn_base_environ();
  if (probe->app_pid > 0) {
    g_autofree char *pid_text = g_strdup_printf("%d", (int)probe->app_pid);
    envp = g_environ_setenv(envp, "SDVISOR_APP_PID", pid_text, TRUE);
  } else {
    envp = g_environ_unsetenv(envp, "SDVISOR_APP_PID");
  }

  SvSpawnOptions options = SV_SPAWN_OPTIONS_INIT;
  options.argv = run->check->argv;
  options.envp = envp;

  /* Issue 6: the check's output into the journal, tagged with the check. */
  SvLogPipes pipes = SV_LOG_PIPES_INIT;
  if (probe->log_streams != NULL) {
    g_autofree char *check_field = g_strconcat("SDVISOR_CHECK=", run->text, NULL);
    const char *fields[] = {check_field, NULL};
    if (sv_logstream_open(probe->log_streams, SV_LOG_SOURCE_CHECK, fields, &pipes, NULL)) {
      options.stdout_fd = pipes.stdout_fd;
      options.stderr_fd = pipes.stderr_fd;
    }
  }

  pid_t pid = 0;
  int exec_errno = 0;
  g_autoptr(GError) error = NULL;
  gboolean spawned = sv_spawn(&options, &pid, &exec_errno, &error);
  sv_logstream_started(&pipes, pid);
  if (!spawned) {
    if (!g_error_matches(error, SV_SPAWN_ERROR, SV_SPAWN_ERROR_EXEC) || pid <= 0) {
      run_report_error(run, error);
      run_free(run);
      return;
    }
    /* The child exists and exits 126/127 on its own; report when it is reaped. */
    run->spawn_error = g_strdup(error->message);
  }
  run->attempt->results[run->index].pid = pid;
  sv_reaper_watch(pid, on_exec_exited, run);
}

static void
probe_attempt_begin(SvProbe *probe)
{
  g_assert(probe->attempt == NULL);
  GPtrArray *checks = probe->config.checks;

  SvAttempt *attempt = g_new0(SvAttempt, 1);
  g_ref_count_init(&attempt->ref); /* the probe's */
  attempt->probe = probe;
  attempt->cancellable = g_cancellable_new();
  attempt->started_at = g_get_monotonic_time();
  attempt->n_results = checks->len;
  attempt->results = g_new0(SvCheckResult, checks->len);
  /* One extra so that checks answering at once cannot finish the attempt (and call
   * back) while the others are still being started. */
  attempt->pending = checks->len + 1;
  probe->attempt = attempt;

  attempt->timeout = g_timeout_source_new(usec_to_msec(probe->config.timeout_usec));
  g_source_set_callback(attempt->timeout, on_attempt_timeout, attempt, NULL);
  g_source_attach(attempt->timeout, probe->context);

  /* Asynchronous operations complete in the thread-default context of their start. */
  g_autoptr(GMainContext) context = g_main_context_ref(probe->context);
  g_main_context_push_thread_default(context);
  attempt_ref(attempt);
  for (guint i = 0; i < checks->len; i++) {
    SvRun *run = run_new(attempt, i);
    switch (run->check->kind) {
    case SV_CHECK_NOTIFY:
      run_notify(run, probe);
      run_free(run);
      break;
    case SV_CHECK_TCP:
      run_tcp(run, probe);
      break;
    case SV_CHECK_HTTP:
      run_http(run, probe);
      break;
    case SV_CHECK_UNIX:
      run_unix(run, probe);
      break;
    case SV_CHECK_EXEC:
      run_exec(run, probe);
      break;
    case SV_CHECK_FILE:
      run_file(run, probe);
      break;
    default:
      g_assert_not_reached();
    }
  }
  g_main_context_pop_thread_default(context);
  /* Last: this may call back, which may free the probe. */
  if (--attempt->pending == 0 && attempt->probe != NULL)
    attempt_finish(attempt);
  attempt_unref(attempt);
}

static gboolean
on_timer(gpointer user_data)
{
  SvProbe *probe = user_data;
  g_clear_pointer(&probe->timer, g_source_unref);
  probe_attempt_begin(probe);
  return G_SOURCE_REMOVE;
}

static void
probe_schedule(SvProbe *probe, gint64 delay_usec)
{
  if (probe->timer != NULL) {
    g_source_destroy(probe->timer);
    g_clear_pointer(&probe->timer, g_source_unref);
  }
  probe->timer = g_timeout_source_new(usec_to_msec(delay_usec));
  g_source_set_callback(probe->timer, on_timer, probe, NULL);
  g_source_attach(probe->timer, probe->context);
}

SvProbe *
sv_probe_new(const SvProbeConfig *config, SvProbeFunc func, gpointer user_data, GError **error)
{
  g_return_val_if_fail(config != NULL && func != NULL, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);

  if (config->checks == NULL || config->checks->len == 0) {
    invalid(error, _("no check is given (try check=notify or check=http://127.0.0.1:8000/health)"));
    return NULL;
  }
  if (config->interval_usec <= 0) {
    invalid(error, _("interval must be longer than 0 (try interval=1s)"));
    return NULL;
  }
  if (config->timeout_usec <= 0) {
    invalid(error, _("timeout must be longer than 0 (try timeout=5s)"));
    return NULL;
  }
  if (config->failure_threshold < 1 || config->success_threshold < 1) {
    invalid(error, _("failure-threshold and success-threshold must be at least 1"));
    return NULL;
  }
  if (config->start_period_usec < 0) {
    invalid(error, _("start-period must not be negative"));
    return NULL;
  }

  SvProbe *probe = g_new0(SvProbe, 1);
  probe->config = *config;
  probe->config.checks = g_ptr_array_ref(config->checks);
  for (guint i = 0; i < config->checks->len; i++)
    if (((const SvCheckSpec *)g_ptr_array_index(config->checks, i))->kind == SV_CHECK_NOTIFY)
      probe->has_notify = TRUE;
  probe->func = func;
  probe->user_data = user_data;
  probe->context = g_main_context_ref_thread_default();
  probe->last_results = g_array_new(FALSE, TRUE, sizeof(SvProbeCheckResult));
  g_array_set_clear_func(probe->last_results, check_result_clear);
  probe->state = SV_PROBE_STATE_UNKNOWN;
  return probe;
}

void
sv_probe_set_pid(SvProbe *probe, pid_t app_pid)
{
  g_return_if_fail(probe != NULL);
  probe->app_pid = app_pid;
}

void
sv_probe_set_log_streams(SvProbe *probe, SvLogStreams *streams)
{
  g_return_if_fail(probe != NULL);
  probe->log_streams = streams;
}

void
sv_probe_set_environment(SvProbe *probe, char *const *envp)
{
  g_return_if_fail(probe != NULL);
  g_strfreev(probe->envp);
  probe->envp = g_strdupv((char **)envp);
}

void
sv_probe_start(SvProbe *probe)
{
  g_return_if_fail(probe != NULL);
  sv_probe_stop(probe);
  probe->running = TRUE;
  probe->state = SV_PROBE_STATE_UNKNOWN;
  probe->successes = 0;
  probe->failures = 0;
  probe->started_at = g_get_monotonic_time();
  probe->in_start_period = probe->config.start_period_usec > 0;
  /* From the loop, not from here: callbacks never run inside an sv_probe_*() call. */
  probe_schedule(probe, 0);
}

void
sv_probe_stop(SvProbe *probe)
{
  g_return_if_fail(probe != NULL);
  probe->running = FALSE;
  if (probe->timer != NULL) {
    g_source_destroy(probe->timer);
    g_clear_pointer(&probe->timer, g_source_unref);
  }
  SvAttempt *attempt = g_steal_pointer(&probe->attempt);
  if (attempt == NULL)
    return;
  /* Detach first: completions that cancelling triggers right away are dropped. */
  attempt->probe = NULL;
  if (attempt->timeout != NULL) {
    g_source_destroy(attempt->timeout);
    g_clear_pointer(&attempt->timeout, g_source_unref);
  }
  attempt_kill_children(attempt);
  g_cancellable_cancel(attempt->cancellable);
  attempt_unref(attempt);
}

void
sv_probe_notify_ready(SvProbe *probe)
{
  g_return_if_fail(probe != NULL);
  probe->ready_at = g_get_monotonic_time();
  if (probe->running && probe->has_notify && probe->attempt == NULL &&
      probe->state != SV_PROBE_STATE_HEALTHY)
    probe_schedule(probe, 0);
}

void
sv_probe_notify_watchdog(SvProbe *probe)
{
  g_return_if_fail(probe != NULL);
  probe->watchdog_at = g_get_monotonic_time();
}

SvProbeState
sv_probe_get_state(SvProbe *probe)
{
  g_return_val_if_fail(probe != NULL, SV_PROBE_STATE_UNKNOWN);
  return probe->state;
}

gboolean
sv_probe_is_healthy(SvProbe *probe)
{
  g_return_val_if_fail(probe != NULL, FALSE);
  return probe->state == SV_PROBE_STATE_HEALTHY;
}

const SvProbeCheckResult *
sv_probe_get_last_results(SvProbe *probe, guint *out_n, gint64 *out_time)
{
  g_return_val_if_fail(probe != NULL, NULL);
  *out_n = probe->last_results->len;
  if (out_time != NULL)
    *out_time = probe->last_attempt_real;
  return (const SvProbeCheckResult *)(gpointer)probe->last_results->data;
}

void
sv_probe_set_attempt_func(SvProbe *probe, SvProbeAttemptFunc func)
{
  g_return_if_fail(probe != NULL);
  probe->attempt_func = func;
}

const char *
sv_probe_last_detail(SvProbe *probe)
{
  g_return_val_if_fail(probe != NULL, NULL);
  return probe->last_detail;
}

void
sv_probe_free(SvProbe *probe)
{
  if (probe == NULL)
    return;
  sv_probe_stop(probe);
  g_clear_object(&probe->session);
  g_clear_object(&probe->socket_client);
  g_strfreev(probe->envp);
  g_ptr_array_unref(probe->config.checks);
  g_free(probe->last_detail);
  g_array_unref(probe->last_results);
  g_main_context_unref(probe->context);
  g_free(probe);
}
