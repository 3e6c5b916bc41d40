/* control.h — the control socket: operators talk to a running sdvisor (issue 20).
 *
 * A stream socket at <runtime dir>/control, mode 0600; every connection's peer is
 * checked with SO_PEERCRED (root or sdvisor's own uid, else "access-denied"). One
 * request per connection (control-protocol.h), one reply, then the connection closes.
 * Nothing here blocks the main loop: reads and writes are non-blocking, a client that
 * does not send its request within SV_CONTROL_CLIENT_TIMEOUT or does not read its reply
 * within the same time is dropped, and at most SV_CONTROL_MAX_CLIENTS connections are
 * served at once (more are answered "busy" if the reply fits the socket buffer, and
 * closed). A reply may come long after the request (a reload, a run-job --wait): the
 * handler keeps the SvControlCall and answers it later. */
#pragma once
#include <glib.h>
#include <json-glib/json-glib.h>
#include <sys/types.h>

#include "control-protocol.h"

#define SV_CONTROL_CLIENT_TIMEOUT_USEC (5 * G_USEC_PER_SEC)
#define SV_CONTROL_MAX_CLIENTS         32

typedef struct SvControl SvControl;
typedef struct SvControlCall SvControlCall;

/* A request has come from an allowed peer. The handler must answer CALL exactly once,
 * now or later, with sv_control_call_reply() or sv_control_call_fail(). */
typedef void (*SvControlFunc)(SvControlCall *call, const SvControlRequest *request,
                              gpointer user_data);

/* The socket's place: $RUNTIME_DIRECTORY (its first entry) /control; without it, for
 * root /run/sdvisor/APP_NAME/control, for another user $XDG_RUNTIME_DIR/sdvisor/APP_NAME/
 * control; NULL when neither applies (no socket then). RUNTIME_DIRECTORY and XDG_RUNTIME_DIR
 * are taken from ENV (an environ). */
char *sv_control_socket_path(const char *app_name, char *const *env);

/* Binds PATH (creating its parent, 0700, if missing; a stale socket nobody answers on is
 * replaced; a live one is an error: another sdvisor serves it). */
SvControl *sv_control_new(const char *path, SvControlFunc func, gpointer user_data, GError **error);
const char *sv_control_get_path(SvControl *control);

/* Answers with MEMBERS (taken; NULL = none) or ERROR, and frees CALL. If the client has
 * gone meanwhile the answer is dropped. */
void sv_control_call_reply(SvControlCall *call, JsonObject *members);
void sv_control_call_fail(SvControlCall *call, const GError *error);
/* The peer's pid and uid (from SO_PEERCRED), for the journal. */
pid_t sv_control_call_get_pid(SvControlCall *call);
uid_t sv_control_call_get_uid(SvControlCall *call);

/* Closes the socket and every connection and removes the socket file. Calls not answered
 * yet stay valid; answering them then does nothing. NULL-safe. */
void sv_control_free(SvControl *control);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvControl, sv_control_free)
