/* fuzz-control.c — libFuzzer harness for the control socket's request parser.
 *
 * Besides memory errors it checks what the server relies on: a request either parses
 * (then formatting it and parsing again gives the same request) or fails with an
 * SV_CONTROL_ERROR whose message is one line of UTF-8, and the error reply built from it
 * parses back to the same code. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "control-protocol.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SvControlRequest) req = sv_control_request_parse((const char *)data, size, &error);
  if (req != NULL) {
    if (error != NULL || req->version != SV_CONTROL_PROTOCOL_VERSION)
      abort();
    if (req->command == SV_CONTROL_RUN_JOB && (req->job == NULL || *req->job == '\0'))
      abort();
    g_autofree char *line = sv_control_request_format(req);
    g_autoptr(GError) again_error = NULL;
    g_autoptr(SvControlRequest) again =
        sv_control_request_parse(line, strlen(line) - 1, &again_error);
    if (again == NULL || again->command != req->command || again->wait != req->wait ||
        g_strcmp0(again->job, req->job) != 0)
      abort();
    return 0;
  }
  if (error == NULL || error->domain != SV_CONTROL_ERROR || strchr(error->message, '\n') ||
      !g_utf8_validate(error->message, -1, NULL))
    abort();
  g_autofree char *reply = sv_control_reply_error(error);
  g_autoptr(GError) back = NULL;
  g_autoptr(JsonObject) none = sv_control_reply_parse(reply, strlen(reply) - 1, &back);
  if (none != NULL || back == NULL || back->code != error->code)
    abort();
  return 0;
}
