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

typedef struct SvSupervisor SvSupervisor;

/* Takes ownership of CONFIG. Blocks the signals it handles (call before anything starts
 * a thread) and sets up the reaper. */
SvSupervisor *sv_supervisor_new(SvConfig *config, GError **error);

/* Starts the app and runs the main loop until the app is gone and everything is
 * cleaned up. Returns sdvisor's exit status (exit-codes.h, or the app's). */
int sv_supervisor_run(SvSupervisor *supervisor);

SvState sv_supervisor_get_state(SvSupervisor *supervisor);
void sv_supervisor_free(SvSupervisor *supervisor); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvSupervisor, sv_supervisor_free)
