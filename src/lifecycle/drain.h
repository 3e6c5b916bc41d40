/* drain.h — the app can tell that sdvisor is stopping it.
 *
 * Between STOPPING=1 and the stop signal (pre-stop hooks, stop-delay) the app still
 * serves, and a load balancer should stop sending to it: only the app can make its own
 * health endpoint say so. sdvisor names a file in the environment of everything it
 * starts (SDVISOR_DRAIN_FILE, in the runtime directory) and creates it when a stop
 * begins, before STOPPING=1 is sent: from then on the file exists, and an app's
 * /healthz that answers 503 while it does makes stop-delay what it claims to be. The
 * file is removed at start (a leftover of a killed sdvisor) and at exit.
 *
 * Process-wide, like notify.c: one sdvisor, one stop. */
#pragma once
#include <glib.h>

#define SV_DRAIN_ENV "SDVISOR_DRAIN_FILE"

/* Picks the file in $RUNTIME_DIRECTORY (its first directory: systemd's RuntimeDirectory=,
 * per instance in sdvisor's units), or in a private directory of its own under
 * g_get_tmp_dir() without one, and removes a leftover. From then on spawn.c puts
 * SDVISOR_DRAIN_FILE=PATH in every child's environment (the app, hooks, jobs, checks). */
gboolean sv_drain_init(GError **error);

/* The file's path; NULL before sv_drain_init() or after it failed. */
const char *sv_drain_get_path(void);

/* Creates the file (mode 0644, never through a symbolic link). Idempotent; logs a
 * warning if it cannot. */
void sv_drain_begin(void);

/* Removes the file and the private directory, if any. */
void sv_drain_cleanup(void);
