/* control-protocol.c — requests parsed, replies formatted (see the header). */
#include "control-protocol.h"

#include <string.h>

G_DEFINE_QUARK(sv - control - error - quark, sv_control_error)

static const char *const error_codes[] = {
    [SV_CONTROL_ERROR_MALFORMED] = "malformed",
    [SV_CONTROL_ERROR_TOO_LARGE] = "too-large",
    [SV_CONTROL_ERROR_VERSION] = "unsupported-version",
    [SV_CONTROL_ERROR_UNKNOWN_COMMAND] = "unknown-command",
    [SV_CONTROL_ERROR_INVALID] = "invalid-argument",
    [SV_CONTROL_ERROR_BUSY] = "busy",
    [SV_CONTROL_ERROR_NO_SUCH_JOB] = "no-such-job",
    [SV_CONTROL_ERROR_JOB_REFUSED] = "job-refused",
    [SV_CONTROL_ERROR_RELOAD_FAILED] = "reload-failed",
    [SV_CONTROL_ERROR_TIMEOUT] = "timeout",
    [SV_CONTROL_ERROR_ACCESS] = "access-denied",
    [SV_CONTROL_ERROR_FAILED] = "failed",
};

const char *
sv_control_error_code(SvControlError error)
{
  if ((guint)error >= G_N_ELEMENTS(error_codes))
    return "failed";
  return error_codes[error];
}

SvControlError
sv_control_error_from_code(const char *code)
{
  for (guint i = 0; code != NULL && i < G_N_ELEMENTS(error_codes); i++)
    if (g_str_equal(code, error_codes[i]))
      return (SvControlError)i;
  return SV_CONTROL_ERROR_FAILED;
}

/* The cheap checks before json-glib sees the bytes: valid UTF-8 without NUL, one object,
 * nesting bounded (json-glib's parser recurses). */
#define MAX_DEPTH 8

static gboolean
precheck(const char *data, gsize len, GError **error)
{
  if (!g_utf8_validate_len(data, len, NULL)) {
    g_set_error_literal(error, SV_CONTROL_ERROR, SV_CONTROL_ERROR_MALFORMED,
                        "the request is not valid UTF-8 (or holds a NUL byte)");
    return FALSE;
  }
  guint depth = 0;
  gboolean in_string = FALSE, escaped = FALSE;
  for (gsize i = 0; i < len; i++) {
    char c = data[i];
    if (c == '\n') {
      g_set_error_literal(error, SV_CONTROL_ERROR, SV_CONTROL_ERROR_MALFORMED,
                          "the request spans more than one line");
      return FALSE;
    }
    if (in_string) {
      if (escaped)
        escaped = FALSE;
      else if (c == '\\')
        escaped = TRUE;
      else if (c == '"')
        in_string = FALSE;
    } else if (c == '"') {
      in_string = TRUE;
    } else if (c == '{' || c == '[') {
      if (++depth > MAX_DEPTH) {
        g_set_error(error, SV_CONTROL_ERROR, SV_CONTROL_ERROR_MALFORMED,
                    "the request nests deeper than %d levels", MAX_DEPTH);
        return FALSE;
      }
    } else if ((c == '}' || c == ']') && depth > 0) {
      depth--;
    }
  }
  return TRUE;
}

/* A JSON parser's message on one line (json-glib's name the position). */
static char *
one_line(const char *text)
{
  /* json-glib quotes the input in its messages and may cut a character in two. */
  char *s = g_utf8_make_valid(text ? text : "", -1);
  for (char *p = s; *p; p++)
    if (*p == '\n' || *p == '\r')
      *p = ' ';
  return s;
}

static JsonObject *
parse_object(const char *data, gsize len, const char *what, GError **error)
{
  while (len > 0 && g_ascii_isspace(data[len - 1]))
    len--;
  if (len == 0) {
    g_set_error(error, SV_CONTROL_ERROR, SV_CONTROL_ERROR_MALFORMED, "empty %s", what);
    return NULL;
  }
  if (!precheck(data, len, error))
    return NULL;
  g_autoptr(JsonParser) parser = json_parser_new_immutable();
  g_autoptr(GError) local = NULL;
  if (!json_parser_load_from_data(parser, data, (gssize)len, &local)) {
    g_autofree char *msg = one_line(local->message);
    g_set_error(error, SV_CONTROL_ERROR, SV_CONTROL_ERROR_MALFORMED, "the %s is not JSON: %s", what,
                msg);
    return NULL;
  }
  JsonNode *root = json_parser_get_root(parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
    g_set_error(error, SV_CONTROL_ERROR, SV_CONTROL_ERROR_MALFORMED, "the %s is not a JSON object",
                what);
    return NULL;
  }
  return json_object_ref(json_node_get_object(root));
}

/* MEMBER of OBJ if it holds a value of TYPE; NULL if absent; an error if of another type. */
static JsonNode *
member(JsonObject *obj, const char *name, GType type, gboolean required, GError **error)
{
  JsonNode *node = json_object_get_member(obj, name);
  if (node == NULL) {
    if (required)
      g_set_error(error, SV_CONTROL_ERROR, SV_CONTROL_ERROR_INVALID, "\"%s\" is missing", name);
    return NULL;
  }
  if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != type) {
    g_set_error(error, SV_CONTROL_ERROR, SV_CONTROL_ERROR_INVALID, "\"%s\" must be a %s", name,
                type == G_TYPE_STRING    ? "string"
                : type == G_TYPE_BOOLEAN ? "boolean"
                                         : "number");
    return NULL;
  }
  /* json-glib takes octal escapes ("\\615"), which can make a string that is not UTF-8:
   * such a name could never match a job, nor be written back as the same JSON. */
  if (type == G_TYPE_STRING && !g_utf8_validate(json_node_get_string(node), -1, NULL)) {
    g_set_error(error, SV_CONTROL_ERROR, SV_CONTROL_ERROR_INVALID, "\"%s\" is not valid UTF-8",
                name);
    return NULL;
  }
  return node;
}

SvControlRequest *
sv_control_request_parse(const char *data, gsize len, GError **error)
{
  g_return_val_if_fail(data != NULL || len == 0, NULL);
  if (len > SV_CONTROL_MAX_REQUEST) {
    g_set_error(error, SV_CONTROL_ERROR, SV_CONTROL_ERROR_TOO_LARGE,
                "the request is longer than %d bytes", SV_CONTROL_MAX_REQUEST);
    return NULL;
  }
  g_autoptr(JsonObject) obj = parse_object(data ? data : "", len, "request", error);
  if (obj == NULL)
    return NULL;

  GError *local = NULL;
  JsonNode *v = member(obj, "version", G_TYPE_INT64, TRUE, &local);
  if (v == NULL) {
    g_propagate_error(error, local);
    return NULL;
  }
  gint64 version = json_node_get_int(v);
  if (version != SV_CONTROL_PROTOCOL_VERSION) {
    g_set_error(error, SV_CONTROL_ERROR, SV_CONTROL_ERROR_VERSION,
                "protocol version %" G_GINT64_FORMAT " is not supported (this sdvisor speaks %d)",
                version, SV_CONTROL_PROTOCOL_VERSION);
    return NULL;
  }
  JsonNode *c = member(obj, "command", G_TYPE_STRING, TRUE, error);
  if (c == NULL)
    return NULL;
  const char *command = json_node_get_string(c);

  g_autoptr(SvControlRequest) req = g_new0(SvControlRequest, 1);
  req->version = (int)version;
  if (g_str_equal(command, "status")) {
    req->command = SV_CONTROL_STATUS;
  } else if (g_str_equal(command, "reload")) {
    req->command = SV_CONTROL_RELOAD;
  } else if (g_str_equal(command, "run-job")) {
    req->command = SV_CONTROL_RUN_JOB;
    JsonNode *j = member(obj, "job", G_TYPE_STRING, TRUE, error);
    if (j == NULL)
      return NULL;
    const char *job = json_node_get_string(j);
    if (*job == '\0') {
      g_set_error_literal(error, SV_CONTROL_ERROR, SV_CONTROL_ERROR_INVALID,
                          "\"job\" must not be empty");
      return NULL;
    }
    req->job = g_strdup(job);
    local = NULL;
    JsonNode *w = member(obj, "wait", G_TYPE_BOOLEAN, FALSE, &local);
    if (local != NULL) {
      g_propagate_error(error, local);
      return NULL;
    }
    req->wait = w != NULL && json_node_get_boolean(w);
  } else {
    /* Quoted as C would: one line of ASCII whatever the client sent. */
    g_autofree char *head = g_utf8_substring(command, 0, MIN(g_utf8_strlen(command, -1), 64));
    g_autofree char *shown = g_strescape(head, NULL);
    g_set_error(error, SV_CONTROL_ERROR, SV_CONTROL_ERROR_UNKNOWN_COMMAND,
                "unknown command \"%s\" (known: status, reload, run-job)", shown);
    return NULL;
  }
  return g_steal_pointer(&req);
}

void
sv_control_request_free(SvControlRequest *request)
{
  if (request == NULL)
    return;
  g_free(request->job);
  g_free(request);
}

static char *
object_line(JsonObject *obj)
{
  g_autoptr(JsonNode) node = json_node_init_object(json_node_alloc(), obj);
  g_autoptr(JsonGenerator) gen = json_generator_new();
  json_generator_set_root(gen, node);
  g_autofree char *text = json_generator_to_data(gen, NULL);
  return g_strconcat(text, "\n", NULL);
}

char *
sv_control_request_format(const SvControlRequest *request)
{
  static const char *const names[] = {"status", "reload", "run-job"};
  g_autoptr(JsonObject) obj = json_object_new();
  json_object_set_int_member(obj, "version", request->version);
  json_object_set_string_member(obj, "command", names[request->command]);
  if (request->command == SV_CONTROL_RUN_JOB) {
    json_object_set_string_member(obj, "job", request->job);
    json_object_set_boolean_member(obj, "wait", request->wait);
  }
  return object_line(obj);
}

char *
sv_control_reply_error(const GError *error)
{
  SvControlError code =
      error->domain == SV_CONTROL_ERROR ? (SvControlError)error->code : SV_CONTROL_ERROR_FAILED;
  g_autoptr(JsonObject) obj = json_object_new();
  json_object_set_int_member(obj, "version", SV_CONTROL_PROTOCOL_VERSION);
  json_object_set_boolean_member(obj, "ok", FALSE);
  json_object_set_string_member(obj, "error", sv_control_error_code(code));
  g_autofree char *msg = one_line(error->message);
  json_object_set_string_member(obj, "message", msg);
  return object_line(obj);
}

char *
sv_control_reply_ok(JsonObject *members)
{
  g_autoptr(JsonObject) obj = members ? members : json_object_new();
  json_object_set_int_member(obj, "version", SV_CONTROL_PROTOCOL_VERSION);
  json_object_set_boolean_member(obj, "ok", TRUE);
  return object_line(obj);
}

JsonObject *
sv_control_reply_parse(const char *data, gsize len, GError **error)
{
  /* Replies carry a whole status: bounded by what a client accepts, not by the request. */
  g_autoptr(JsonObject) obj = parse_object(data, len, "reply", error);
  if (obj == NULL)
    return NULL;
  JsonNode *ok = member(obj, "ok", G_TYPE_BOOLEAN, TRUE, error);
  if (ok == NULL)
    return NULL;
  if (!json_node_get_boolean(ok)) {
    JsonNode *c = member(obj, "error", G_TYPE_STRING, FALSE, NULL);
    JsonNode *m = member(obj, "message", G_TYPE_STRING, FALSE, NULL);
    const char *code = c ? json_node_get_string(c) : "failed";
    const char *message = m ? json_node_get_string(m) : code;
    g_set_error_literal(error, SV_CONTROL_ERROR, (gint)sv_control_error_from_code(code), message);
    return NULL;
  }
  return g_steal_pointer(&obj);
}
