/* supervisor.h — the lifecycle of one app.
 *
 * Owns the app process and drives its lifecycle (README, Signals and hooks): spawn, READY, the
 * running state (signals forwarded, SIGHUP = reload cycle), and the stop sequence
 * (STOPPING, stop signal to the app's whole process tree, deadline, SIGKILL). It is the only
 * module that decides what sdvisor tells its service manager. */
#pragma once
#include <glib.h>

#include "config.h"
#include "lifecycle.h"
#include "listen.h"

typedef struct SvSupervisor SvSupervisor;

/* Takes ownership of CONFIG and of SOCKETS, the app's ([app] listen=); NULL: those systemd
 * passed by socket activation, if any. Blocks the signals it handles (call before anything
 * starts a thread) and sets up the reaper. */
SvSupervisor *sv_supervisor_new(SvConfig *config, SvListenSet *sockets, GError **error);

/* Starts the app and runs the main loop until the app is gone and everything is
 * cleaned up. Returns sdvisor's exit status (exit-codes.h, or the app's). */
int sv_supervisor_run(SvSupervisor *supervisor);

SvState sv_supervisor_get_state(SvSupervisor *supervisor);
const char *sv_supervisor_state_name(SvState state); /* "running", "stopping"… */

/* ---- for the control socket (issue 20) ------------------------------------------------ */

typedef struct SvProbe SvProbe;
typedef struct SvJobs SvJobs;

/* What `sdvisor status` shows, borrowed from the supervisor: valid until the loop runs
 * again. */
typedef struct {
  SvState state;
  const char *app_name;
  const char *config_path; /* NULL for `run -- COMMAND` */
  pid_t sdvisor_pid;
  pid_t app_pid;               /* 0: no app */
  gint64 started_usec;         /* sdvisor's start, CLOCK_REALTIME µs */
  gint64 app_started_usec;     /* the app's last start, CLOCK_REALTIME µs; 0: none */
  guint restarts;              /* on-unhealthy=restart restarts */
  gboolean healthy;            /* the health checks' verdict (TRUE without checks) */
  gint64 unhealthy_since_usec; /* CLOCK_REALTIME µs; 0 while healthy */
  SvProbe *health_probe;       /* NULL without [health] checks or while none runs */
  SvJobs *jobs;                /* NULL before the first READY=1 or without jobs */
} SvSupervisorStatus;
void sv_supervisor_get_status(SvSupervisor *supervisor, SvSupervisorStatus *out);

/* A reload asked for by an operator. ERROR NULL: the new configuration is in force and
 * READY=1 was sent again. Otherwise why not: SV_CONTROL-style reasons are the caller's;
 * here G_IO_ERROR_BUSY (not running, or stopping) or the configuration's own error
 * (file:line), in which case nothing changed and the app was not signalled. */
typedef void (*SvSupervisorReloadFunc)(const GError *error, gpointer user_data);
/* DONE is called exactly once, from the main loop or from inside this call. */
void sv_supervisor_reload(SvSupervisor *supervisor, SvSupervisorReloadFunc done,
                          gpointer user_data);
void sv_supervisor_free(SvSupervisor *supervisor); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvSupervisor, sv_supervisor_free)
