/* control-service.h — what the control socket's commands do to a running sdvisor.
 *
 * Binds the socket (control.h) to the supervisor: `status` is a snapshot of the
 * supervisor, its health checks and its jobs; `reload` answers when the supervisor's
 * reload has finished (READY=1 sent again) or has been refused; `run-job` goes to the
 * job set and answers when the run has started (or, with "wait", ended). */
#pragma once
#include <glib.h>
#include <json-glib/json-glib.h>

#include "supervisor.h"

typedef struct SvControlService SvControlService;

/* Opens the socket at sv_control_socket_path() for SUPERVISOR (which must outlive the
 * service). Without a place for it, or when it cannot be bound, sdvisor runs on without
 * one (a warning says why): the service is still returned. */
SvControlService *sv_control_service_new(SvSupervisor *supervisor, char *const *env);
void sv_control_service_free(SvControlService *service); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvControlService, sv_control_service_free)

/* The `status` reply's members for STATUS at NOW_USEC (CLOCK_REALTIME): pure, for tests. */
JsonObject *sv_control_status_to_json(const SvSupervisorStatus *status, gint64 now_usec);
