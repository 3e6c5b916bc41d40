/* control-service.c — the control socket's commands (see the header). */
#include "control-service.h"

#include <gio/gio.h>
#include <unistd.h>

#include "control.h"
#include "fleet.h"
#include "jobs.h"
#include "jobstate.h"
#include "log.h"
#include "message-ids.h"
#include "probe.h"

struct SvControlService {
  SvSupervisor *supervisor;
  SvControl *control;
  GList *pending_status; /* SvStatusCall* waiting for the fleet store */
};

static void
set_time(JsonObject *obj, const char *name, gint64 usec)
{
  if (usec <= 0) {
    json_object_set_null_member(obj, name);
    return;
  }
  g_autofree char *t = sv_jobstate_format_time(usec);
  json_object_set_string_member(obj, name, t);
}

static JsonArray *
checks_to_json(SvProbe *probe)
{
  JsonArray *checks = json_array_new();
  if (probe == NULL)
    return checks;
  guint n = 0;
  gint64 when = 0;
  const SvProbeCheckResult *results = sv_probe_get_last_results(probe, &n, &when);
  for (guint i = 0; i < n; i++) {
    JsonObject *c = json_object_new();
    json_object_set_string_member(c, "check", results[i].check);
    json_object_set_boolean_member(c, "ok", results[i].ok);
    json_object_set_string_member(c, "detail", results[i].detail ? results[i].detail : "");
    set_time(c, "time", when);
    json_array_add_object_element(checks, c);
  }
  return checks;
}

static JsonArray *
jobs_to_json(SvJobs *jobs)
{
  JsonArray *out = json_array_new();
  if (jobs == NULL)
    return out;
  g_autoptr(GArray) status = sv_jobs_get_status(jobs);
  for (guint i = 0; i < status->len; i++) {
    const SvJobStatus *st = &g_array_index(status, SvJobStatus, i);
    JsonObject *j = json_object_new();
    json_object_set_string_member(j, "name", st->name);
    json_object_set_boolean_member(j, "running", st->running);
    json_object_set_boolean_member(j, "checking", st->checking);
    if (st->running) {
      json_object_set_int_member(j, "pid", st->running_pid);
      json_object_set_boolean_member(j, "manual", st->running_manual);
      set_time(j, "running_since", st->running_since_usec);
    }
    if (st->fleet_node != NULL) {
      /* Filled in by the store's answer (add_fleet_runs); this node and its run here now. */
      JsonObject *fleet = json_object_new();
      json_object_set_string_member(fleet, "node", st->fleet_node);
      if (st->running_fence > 0)
        json_object_set_int_member(fleet, "fence", st->running_fence);
      else
        json_object_set_null_member(fleet, "fence");
      json_object_set_null_member(fleet, "last_run");
      json_object_set_null_member(fleet, "error");
      json_object_set_object_member(j, "fleet", fleet);
    }
    set_time(j, "next_run", st->next_usec);
    if (st->last_result != SV_JOB_RESULT_NONE) {
      JsonObject *last = json_object_new();
      set_time(last, "started", st->last_started_usec);
      json_object_set_string_member(last, "result", sv_job_result_name(st->last_result));
      json_object_set_int_member(last, "exit_code", st->last_exit_code);
      json_object_set_int_member(last, "duration_usec", MAX(st->last_duration_usec, 0));
      json_object_set_boolean_member(last, "manual", st->last_manual);
      json_object_set_object_member(j, "last_run", last);
    } else {
      json_object_set_null_member(j, "last_run");
    }
    json_array_add_object_element(out, j);
  }
  return out;
}

JsonObject *
sv_control_status_to_json(const SvSupervisorStatus *st, gint64 now)
{
  JsonObject *o = json_object_new();
  json_object_set_string_member(o, "app", st->app_name ? st->app_name : "");
  if (st->config_path != NULL)
    json_object_set_string_member(o, "config", st->config_path);
  else
    json_object_set_null_member(o, "config");
  json_object_set_string_member(o, "state", sv_supervisor_state_name(st->state));
  json_object_set_int_member(o, "pid", st->sdvisor_pid);
  set_time(o, "started", st->started_usec);
  json_object_set_int_member(o, "uptime_usec", MAX(now - st->started_usec, 0));
  if (st->app_pid > 0) {
    json_object_set_int_member(o, "app_pid", st->app_pid);
    set_time(o, "app_started", st->app_started_usec);
    json_object_set_int_member(o, "app_uptime_usec", MAX(now - st->app_started_usec, 0));
  } else {
    json_object_set_null_member(o, "app_pid");
    json_object_set_null_member(o, "app_started");
    json_object_set_null_member(o, "app_uptime_usec");
  }
  json_object_set_int_member(o, "restarts", st->restarts);
  json_object_set_boolean_member(o, "healthy", st->healthy);
  set_time(o, "unhealthy_since", st->unhealthy_since_usec);
  json_object_set_array_member(o, "checks", checks_to_json(st->health_probe));
  json_object_set_array_member(o, "jobs", jobs_to_json(st->jobs));
  return o;
}

/* ---- status: the fleet store's view ------------------------------------------------------ */

/* How long a status waits for the fleet store; then it answers without the store's view. */
#define SV_STATUS_STORE_TIMEOUT_MS 2000

typedef struct {
  SvControlService *service;
  SvControlCall *call;
  JsonObject *reply; /* the status as it was asked for */
  GCancellable *cancellable;
  guint timeout_source;
} SvStatusCall;

/* Sets "error" of every job's "fleet" member (the store did not answer). */
static void
set_fleet_error(JsonObject *reply, const char *message)
{
  JsonArray *jobs = json_object_get_array_member(reply, "jobs");
  for (guint i = 0; i < json_array_get_length(jobs); i++) {
    JsonObject *j = json_array_get_object_element(jobs, i);
    if (json_object_has_member(j, "fleet"))
      json_object_set_string_member(json_object_get_object_member(j, "fleet"), "error", message);
  }
}

static void
add_fleet_runs(JsonObject *reply, GPtrArray *runs)
{
  JsonArray *jobs = json_object_get_array_member(reply, "jobs");
  for (guint i = 0; i < json_array_get_length(jobs); i++) {
    JsonObject *j = json_array_get_object_element(jobs, i);
    if (!json_object_has_member(j, "fleet"))
      continue;
    const char *name = json_object_get_string_member(j, "name");
    for (guint k = 0; k < runs->len; k++) {
      const SvFleetRun *run = runs->pdata[k];
      if (!g_str_equal(run->job, name))
        continue;
      JsonObject *last = json_object_new();
      set_time(last, "slot", run->slot);
      json_object_set_string_member(last, "node", run->node);
      json_object_set_int_member(last, "pid", run->pid);
      json_object_set_int_member(last, "fence", run->fence);
      json_object_set_string_member(last, "state", run->state);
      if (run->result != NULL)
        json_object_set_string_member(last, "result", run->result);
      else
        json_object_set_null_member(last, "result");
      if (run->exit_code >= 0)
        json_object_set_int_member(last, "exit_code", run->exit_code);
      else
        json_object_set_null_member(last, "exit_code");
      json_object_set_object_member(json_object_get_object_member(j, "fleet"), "last_run", last);
    }
  }
}

static void
status_call_answer(SvStatusCall *sc)
{
  sc->service->pending_status = g_list_remove(sc->service->pending_status, sc);
  g_cancellable_cancel(sc->cancellable);
  g_clear_object(&sc->cancellable);
  g_clear_handle_id(&sc->timeout_source, g_source_remove);
  sv_control_call_reply(sc->call, sc->reply);
  g_free(sc);
}

static void
on_fleet_runs(GPtrArray *runs, const GError *error, gpointer user_data)
{
  SvStatusCall *sc = user_data;
  if (runs != NULL)
    add_fleet_runs(sc->reply, runs);
  else
    set_fleet_error(sc->reply, error ? error->message : "the fleet store did not answer");
  status_call_answer(sc);
}

static gboolean
on_status_timeout(gpointer user_data)
{
  SvStatusCall *sc = user_data;
  sc->timeout_source = 0;
  set_fleet_error(sc->reply, "the fleet store did not answer in time");
  status_call_answer(sc);
  return G_SOURCE_REMOVE;
}

/* Replies with the status; with fleet jobs, once the store told who ran their last slots. */
static void
status(SvControlService *service, SvControlCall *call)
{
  SvSupervisorStatus st;
  sv_supervisor_get_status(service->supervisor, &st);
  JsonObject *reply = sv_control_status_to_json(&st, g_get_real_time());
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new();
  SvStatusCall *sc = g_new0(SvStatusCall, 1);
  if (st.jobs == NULL ||
      !sv_jobs_query_fleet_runs(st.jobs, cancellable, on_fleet_runs, sc, &error)) {
    g_free(sc);
    if (error != NULL)
      set_fleet_error(reply, error->message);
    sv_control_call_reply(call, reply);
    return;
  }
  sc->service = service;
  sc->call = call;
  sc->reply = reply;
  sc->cancellable = g_steal_pointer(&cancellable);
  /* The store answers within its own deadline (a third of the lease), or this one: a store
   * freed by a reload or a stop never answers. */
  sc->timeout_source = g_timeout_add(SV_STATUS_STORE_TIMEOUT_MS, on_status_timeout, sc);
  service->pending_status = g_list_prepend(service->pending_status, sc);
}

/* ---- reload --------------------------------------------------------------------------- */

static void
on_reloaded(const GError *error, gpointer user_data)
{
  SvControlCall *call = user_data;
  if (error == NULL) {
    sv_control_call_reply(call, NULL);
    return;
  }
  g_autoptr(GError) reply = g_error_new_literal(SV_CONTROL_ERROR,
                                                g_error_matches(error, G_IO_ERROR, G_IO_ERROR_BUSY)
                                                    ? SV_CONTROL_ERROR_BUSY
                                                    : SV_CONTROL_ERROR_RELOAD_FAILED,
                                                error->message);
  sv_control_call_fail(call, reply);
}

/* ---- run-job -------------------------------------------------------------------------- */

typedef struct {
  SvControlCall *call; /* NULL once answered */
  char *job;
  gboolean wait;
} SvRunJobCall;

static JsonObject *
run_reply(SvRunJobCall *rc, const char *run_id, pid_t pid)
{
  JsonObject *o = json_object_new();
  json_object_set_string_member(o, "job", rc->job);
  json_object_set_string_member(o, "run", run_id ? run_id : "");
  json_object_set_int_member(o, "pid", pid);
  return o;
}

static void
on_job_event(SvJobsRunEvent event, const char *run_id, pid_t pid, int result, int exit_code,
             const char *detail, gpointer user_data)
{
  SvRunJobCall *rc = user_data;
  if (event == SV_JOBS_RUN_STARTED) {
    if (!rc->wait && rc->call != NULL) {
      JsonObject *o = run_reply(rc, run_id, pid);
      json_object_set_boolean_member(o, "finished", FALSE);
      sv_control_call_reply(g_steal_pointer(&rc->call), o);
    }
    return;
  }
  if (rc->call != NULL) {
    if (event == SV_JOBS_RUN_REFUSED) {
      g_autoptr(GError) e = g_error_new_literal(SV_CONTROL_ERROR, SV_CONTROL_ERROR_JOB_REFUSED,
                                                detail ? detail : "refused");
      sv_control_call_fail(g_steal_pointer(&rc->call), e);
    } else {
      JsonObject *o = run_reply(rc, run_id, pid);
      json_object_set_boolean_member(o, "finished", TRUE);
      json_object_set_string_member(o, "result", sv_job_result_name((SvJobResult)result));
      json_object_set_int_member(o, "exit_code", exit_code);
      sv_control_call_reply(g_steal_pointer(&rc->call), o);
    }
  }
  g_free(rc->job);
  g_free(rc);
}

static void
run_job(SvControlService *service, SvControlCall *call, const SvControlRequest *request)
{
  SvSupervisorStatus st;
  sv_supervisor_get_status(service->supervisor, &st);
  if (st.jobs == NULL) {
    g_autoptr(GError) e = g_error_new(SV_CONTROL_ERROR, SV_CONTROL_ERROR_BUSY,
                                      st.state == SV_STATE_STARTING
                                          ? "jobs start once the app is ready; sdvisor is %s"
                                          : "no job runs while sdvisor is %s",
                                      sv_supervisor_state_name(st.state));
    sv_control_call_fail(call, e);
    return;
  }
  SvRunJobCall *rc = g_new0(SvRunJobCall, 1);
  rc->call = call;
  rc->job = g_strdup(request->job);
  rc->wait = request->wait;
  g_autoptr(GError) error = NULL;
  if (!sv_jobs_run_now(st.jobs, request->job, on_job_event, rc, &error)) {
    SvControlError code =
        g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND) ? SV_CONTROL_ERROR_NO_SUCH_JOB
        : g_error_matches(error, G_IO_ERROR, G_IO_ERROR_EXISTS)  ? SV_CONTROL_ERROR_JOB_REFUSED
                                                                 : SV_CONTROL_ERROR_BUSY;
    g_autoptr(GError) e = g_error_new_literal(SV_CONTROL_ERROR, code, error->message);
    sv_control_call_fail(call, e);
    g_free(rc->job);
    g_free(rc);
  }
}

/* ---- dispatch ------------------------------------------------------------------------- */

static void
on_request(SvControlCall *call, const SvControlRequest *request, gpointer user_data)
{
  SvControlService *service = user_data;
  pid_t pid = sv_control_call_get_pid(call);
  unsigned uid = (unsigned)sv_control_call_get_uid(call);
  switch (request->command) {
  case SV_CONTROL_STATUS:
    status(service, call);
    return;
  case SV_CONTROL_RELOAD: {
    g_autofree char *pidf = g_strdup_printf("SDVISOR_CONTROL_PID=%d", (int)pid);
    const char *fields[] = {pidf, NULL};
    sv_log_full(LOG_INFO, SV_MESSAGE_CONTROL_REQUEST, fields,
                "control: reload asked by pid %d (uid %u)", (int)pid, uid);
    sv_supervisor_reload(service->supervisor, on_reloaded, call);
    return;
  }
  case SV_CONTROL_RUN_JOB: {
    g_autofree char *pidf = g_strdup_printf("SDVISOR_CONTROL_PID=%d", (int)pid);
    g_autofree char *jobf = g_strdup_printf("SDVISOR_JOB=%s", request->job);
    const char *fields[] = {pidf, jobf, NULL};
    sv_log_full(LOG_INFO, SV_MESSAGE_CONTROL_REQUEST, fields,
                "control: run-job %s asked by pid %d (uid %u)", request->job, (int)pid, uid);
    run_job(service, call, request);
    return;
  }
  }
}

SvControlService *
sv_control_service_new(SvSupervisor *supervisor, char *const *env)
{
  SvControlService *service = g_new0(SvControlService, 1);
  service->supervisor = supervisor;
  SvSupervisorStatus st;
  sv_supervisor_get_status(supervisor, &st);
  g_autofree char *path = sv_control_socket_path(st.app_name, env);
  if (path == NULL) {
    sv_log(LOG_NOTICE, "no control socket: neither $RUNTIME_DIRECTORY nor a runtime directory "
                       "for this user (sdvisor status, reload and run-job will not reach it)");
    return service;
  }
  g_autoptr(GError) error = NULL;
  service->control = sv_control_new(path, on_request, service, &error);
  if (service->control == NULL)
    sv_log(LOG_WARNING, "no control socket: %s", error->message);
  else
    sv_log(LOG_DEBUG, "control socket at %s", path);
  return service;
}

void
sv_control_service_free(SvControlService *service)
{
  if (service == NULL)
    return;
  while (service->pending_status != NULL) {
    SvStatusCall *sc = service->pending_status->data;
    set_fleet_error(sc->reply, "sdvisor stops");
    status_call_answer(sc);
  }
  sv_control_free(service->control);
  g_free(service);
}
