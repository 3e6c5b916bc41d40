/* control-client.h — the client side of the control socket, for sdvisor status, reload
 * and run-job: where an instance's socket is, and one blocking request/reply. */
#pragma once
#include <glib.h>
#include <json-glib/json-glib.h>

#include "control-protocol.h"

/* The socket of instance NAME: for root /run/sdvisor/NAME/control (the template unit's
 * RuntimeDirectory=sdvisor/%i, and print-unit's); for another user
 * $XDG_RUNTIME_DIR/sdvisor/NAME/control if it exists, else the /run one. NAME with a
 * '/' is a path: the socket itself, or a runtime directory holding "control". */
char *sv_control_client_instance_path(const char *name);

/* Sends REQUEST to the socket at PATH and returns the reply's members. TIMEOUT_MS bounds
 * the wait for the reply (0 = none: a reload or a waited-for job takes what it takes).
 * Errors: G_IO_ERROR (connect, read, timeout) or SV_CONTROL_ERROR (the reply's). */
JsonObject *sv_control_client_call(const char *path, const SvControlRequest *request,
                                   guint timeout_ms, GError **error);
