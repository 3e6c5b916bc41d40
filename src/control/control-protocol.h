/* control-protocol.h — the control socket's requests and replies (pure: no fds, no loop).
 *
 * One request per connection: a JSON object on one line (ended by '\n' or by the client
 * shutting down its side), at most SV_CONTROL_MAX_REQUEST bytes:
 *
 *   {"version":1,"command":"status"}
 *   {"version":1,"command":"reload"}
 *   {"version":1,"command":"run-job","job":"NAME","wait":true}
 *
 * One reply, a JSON object on one line: {"version":1,"ok":true,…} with the command's
 * members, or {"version":1,"ok":false,"error":"CODE","message":"…"}. Members a version
 * does not know are ignored, so a newer client can talk to an older sdvisor as long as
 * "version" is one it speaks (man sdvisor(1), CONTROL PROTOCOL). */
#pragma once
#include <glib.h>
#include <json-glib/json-glib.h>

#define SV_CONTROL_PROTOCOL_VERSION 1
/* A real request is under 200 bytes; a job name is bounded by the configuration. */
#define SV_CONTROL_MAX_REQUEST 4096

#define SV_CONTROL_ERROR (sv_control_error_quark())
GQuark sv_control_error_quark(void);

/* Each has a fixed spelling in replies (sv_control_error_code()). */
typedef enum {
  SV_CONTROL_ERROR_MALFORMED,       /* "malformed": not one JSON object of the right shape */
  SV_CONTROL_ERROR_TOO_LARGE,       /* "too-large": over SV_CONTROL_MAX_REQUEST */
  SV_CONTROL_ERROR_VERSION,         /* "unsupported-version" */
  SV_CONTROL_ERROR_UNKNOWN_COMMAND, /* "unknown-command" */
  SV_CONTROL_ERROR_INVALID,         /* "invalid-argument": a member missing or of the wrong type */
  SV_CONTROL_ERROR_BUSY,            /* "busy": sdvisor cannot do it now (starting, stopping…) */
  SV_CONTROL_ERROR_NO_SUCH_JOB,     /* "no-such-job" */
  SV_CONTROL_ERROR_JOB_REFUSED,     /* "job-refused": running here or elsewhere, or stopping */
  SV_CONTROL_ERROR_RELOAD_FAILED,   /* "reload-failed": the configuration does not load */
  SV_CONTROL_ERROR_TIMEOUT,         /* "timeout": the client took too long to send */
  SV_CONTROL_ERROR_ACCESS,          /* "access-denied": neither root nor sdvisor's user */
  SV_CONTROL_ERROR_FAILED,          /* "failed": anything else */
} SvControlError;

const char *sv_control_error_code(SvControlError error);
/* The error for a code in a reply; SV_CONTROL_ERROR_FAILED for one not known. */
SvControlError sv_control_error_from_code(const char *code);

typedef enum {
  SV_CONTROL_STATUS,
  SV_CONTROL_RELOAD,
  SV_CONTROL_RUN_JOB,
} SvControlCommand;

typedef struct {
  int version;
  SvControlCommand command;
  char *job;     /* run-job: the job's name (non-empty, valid UTF-8) */
  gboolean wait; /* run-job: reply when the run has ended, with its result */
} SvControlRequest;

/* Parses the bytes a client sent (without the ending newline; a trailing "\r\n" or
 * whitespace is accepted). Never NULL without an SV_CONTROL_ERROR, whose message is a
 * single line of valid UTF-8 fit for the reply. */
SvControlRequest *sv_control_request_parse(const char *data, gsize len, GError **error);
void sv_control_request_free(SvControlRequest *request); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvControlRequest, sv_control_request_free)

/* A request line, newline included (what the client sends). */
char *sv_control_request_format(const SvControlRequest *request);

/* The error reply for ERROR (an SV_CONTROL_ERROR; any other domain is "failed"), one line
 * with its newline. */
char *sv_control_reply_error(const GError *error);

/* The success reply: MEMBERS (taken; NULL = none) with "version" and "ok" set, one line
 * with its newline. */
char *sv_control_reply_ok(JsonObject *members);

/* For the client: a reply line parsed. An error reply becomes ERROR (its code mapped back
 * with sv_control_error_from_code(), its message as it came); so does a reply that is not
 * one JSON object with a boolean "ok". */
JsonObject *sv_control_reply_parse(const char *data, gsize len, GError **error);
