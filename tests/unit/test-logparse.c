/* test-logparse.c — one line → MESSAGE, PRIORITY, fields.
 *
 * The table holds lines captured from the real servers and libraries (gunicorn 20.1,
 * uvicorn 0.17, Flask/werkzeug 2.2, aiohttp 3.8, structlog 22.3, python-json-logger 2.0,
 * loguru 0.6, Python 3.11 logging and warnings), plus formats from their documentation
 * where Debian has no package (celery, hypercorn, daphne). */
#include <string.h>

#include "logparse.h"

#define NO_LEVEL (-1)

typedef struct {
  const char *name; /* test path component */
  SvLogStream stream;
  const char *line;
  const char *message;   /* NULL: same as line */
  int priority;          /* expected; with NO_LEVEL the stream default, LEVEL flag unset */
  const char *fields[8]; /* "NAME=value", in order, all of them */
} LineCase;

#define OUT SV_LOG_STREAM_STDOUT
#define ERR SV_LOG_STREAM_STDERR

static const LineCase cases[] = {
    /* gunicorn: error log on stderr, access log on stdout */
    {"gunicorn/starting",
     ERR,
     "[2026-11-22 01:46:41 +0000] [8286] [INFO] Starting gunicorn 20.1.0",
     NULL,
     LOG_INFO,
     {NULL}},
    {"gunicorn/listening",
     ERR,
     "[2026-11-22 01:46:41 +0000] [8286] [INFO] Listening at: http://127.0.0.1:18301 (8286)",
     NULL,
     LOG_INFO,
     {NULL}},
    {"gunicorn/booting",
     ERR,
     "[2026-11-22 01:46:41 +0000] [8288] [INFO] Booting worker with pid: 8288",
     NULL,
     LOG_INFO,
     {NULL}},
    {"gunicorn/error",
     ERR,
     "[2026-11-22 01:46:43 +0000] [8288] [ERROR] Error handling request /boom",
     NULL,
     LOG_ERR,
     {NULL}},
    {"gunicorn/critical",
     ERR,
     "[2026-11-22 01:47:08 +0000] [8488] [CRITICAL] WORKER TIMEOUT (pid:8490)",
     NULL,
     LOG_CRIT,
     {NULL}},
    {"gunicorn/sigkill",
     ERR,
     "[2026-11-22 01:47:08 +0000] [8488] [ERROR] Worker (pid:8490) was sent SIGKILL! Perhaps out "
     "of "
     "memory?",
     NULL,
     LOG_ERR,
     {NULL}},
    {"gunicorn/debug",
     ERR,
     "[2026-11-22 01:47:08 +0000] [8490] [DEBUG] GET /",
     NULL,
     LOG_DEBUG,
     {NULL}},
    {"gunicorn/warning",
     ERR,
     "[2026-11-22 01:47:08 +0000] [8488] [WARNING] Worker graceful timeout (pid:8490)",
     NULL,
     LOG_WARNING,
     {NULL}},
    {"gunicorn/access",
     OUT,
     "127.0.0.1 - - [22/Nov/2026:01:46:43 +0000] \"GET / HTTP/1.1\" 200 3 \"-\" "
     "\"Python-urllib/3.11\"",
     NULL,
     NO_LEVEL,
     {NULL}},
    {"gunicorn/access-500",
     OUT,
     "127.0.0.1 - - [22/Nov/2026:01:46:43 +0000] \"GET /boom HTTP/1.1\" 500 0 \"-\" \"-\"",
     NULL,
     NO_LEVEL,
     {NULL}},
    {"hypercorn/running",
     ERR,
     "[2024-05-01 10:00:00 +0000] [1] [INFO] Running on http://0.0.0.0:8000 (CTRL + C to quit)",
     NULL,
     LOG_INFO,
     {NULL}},

    /* uvicorn: padded "LEVEL:" */
    {"uvicorn/started", ERR, "INFO:     Started server process [8291]", NULL, LOG_INFO, {NULL}},
    {"uvicorn/running",
     ERR,
     "INFO:     Uvicorn running on http://127.0.0.1:18302 (Press CTRL+C to quit)",
     NULL,
     LOG_INFO,
     {NULL}},
    {"uvicorn/exception", ERR, "ERROR:    Exception in ASGI application", NULL, LOG_ERR, {NULL}},
    {"uvicorn/import-error",
     ERR,
     "ERROR:    Error loading ASGI app. Could not import module \"main\".",
     NULL,
     LOG_ERR,
     {NULL}},
    {"uvicorn/warning", ERR, "WARNING:  Invalid HTTP request received.", NULL, LOG_WARNING, {NULL}},
    {"uvicorn/trace",
     ERR,
     "TRACE:    127.0.0.1:56360 - HTTP connection made",
     NULL,
     LOG_DEBUG,
     {NULL}},
    {"uvicorn/critical", ERR, "CRITICAL: Shutting down on fatal error", NULL, LOG_CRIT, {NULL}},
    {"uvicorn/access",
     OUT,
     "INFO:     127.0.0.1:34678 - \"GET / HTTP/1.1\" 200 OK",
     NULL,
     LOG_INFO,
     {NULL}},
    {"uvicorn/access-500",
     OUT,
     "INFO:     127.0.0.1:34680 - \"GET /boom HTTP/1.1\" 500 Internal Server Error",
     NULL,
     LOG_INFO,
     {NULL}},
    {"uvicorn/colours",
     ERR,
     "\033[32mINFO\033[0m:     Started server process [\033[36m8445\033[0m]",
     NULL,
     LOG_INFO,
     {NULL}},

    /* Python logging: basicConfig and common format strings */
    {"python/basic-debug", ERR, "DEBUG:root:debug message", NULL, LOG_DEBUG, {NULL}},
    {"python/basic-info", ERR, "INFO:root:hello", NULL, LOG_INFO, {NULL}},
    {"python/basic-warning",
     ERR,
     "WARNING:urllib3.connectionpool:Retrying (Retry(total=2)) after connection broken",
     NULL,
     LOG_WARNING,
     {NULL}},
    {"python/basic-error", ERR, "ERROR:root:boom", NULL, LOG_ERR, {NULL}},
    {"python/basic-critical", ERR, "CRITICAL:root:db down", NULL, LOG_CRIT, {NULL}},
    {"python/asctime-info",
     ERR,
     "2026-11-22 01:46:57,916 INFO root: started",
     NULL,
     LOG_INFO,
     {NULL}},
    {"python/asctime-error",
     ERR,
     "2026-11-22 01:46:57,916 ERROR root: failed",
     NULL,
     LOG_ERR,
     {NULL}},
    {"python/asctime-dashes",
     ERR,
     "2026-11-22 01:46:57,916 - myapp - WARNING - low memory",
     NULL,
     LOG_WARNING,
     {NULL}},
    {"python/asctime-colons",
     ERR,
     "2026-11-22 01:46:57,917:CRITICAL:colons:out of cheese",
     NULL,
     LOG_CRIT,
     {NULL}},
    {"python/django-verbose",
     ERR,
     "ERROR 2026-11-22 01:46:57,917 libs 8411 139774631198784 Internal Server Error: /",
     NULL,
     LOG_ERR,
     {NULL}},
    {"python/alembic-warning",
     ERR,
     "WARNI [alembic.runtime.migration] Will assume transactional DDL.",
     NULL,
     LOG_WARNING,
     {NULL}},
    {"python/alembic-info",
     ERR,
     "INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.",
     NULL,
     LOG_INFO,
     {NULL}},
    {"python/warnings",
     ERR,
     "/tmp/reallogs/libs.py:50: DeprecationWarning: old api",
     NULL,
     LOG_WARNING,
     {NULL}},
    {"python/warnings-source",
     ERR,
     "  warnings.warn('old api', DeprecationWarning, stacklevel=1)",
     NULL,
     NO_LEVEL,
     {NULL}},
    {"python/traceback-head", ERR, "Traceback (most recent call last):", NULL, NO_LEVEL, {NULL}},
    {"python/exception-line", ERR, "KeyError: 'x'", NULL, NO_LEVEL, {NULL}},
    {"daphne/starting",
     ERR,
     "2024-05-01 10:00:00,123 INFO     Starting server at tcp:port=8000:interface=127.0.0.1",
     NULL,
     LOG_INFO,
     {NULL}},
    {"celery/warning",
     ERR,
     "[2024-05-01 10:00:00,123: WARNING/MainProcess] Substantial drift from celery@worker1",
     NULL,
     LOG_WARNING,
     {NULL}},
    {"celery/info",
     ERR,
     "[2024-05-01 10:00:00,456: INFO/ForkPoolWorker-1] Task app.add[6a1b] succeeded in 0.01s: 3",
     NULL,
     LOG_INFO,
     {NULL}},

    /* structlog: console renderer and JSON renderer */
    {"structlog/console-info",
     ERR,
     "2026-11-22 01:46:57 [info     ] user logged in                 user_id=42",
     NULL,
     LOG_INFO,
     {NULL}},
    {"structlog/console-warning",
     ERR,
     "2026-11-22 01:46:57 [warning  ] slow request                   ms=1234 path=/api",
     NULL,
     LOG_WARNING,
     {NULL}},
    {"structlog/console-colours",
     ERR,
     "\033[2m2026-11-22 01:47:02\033[0m [\033[31m\033[1merror    \033[0m] \033[1mcolored           "
     " "
     "           \033[0m \033[36mk\033[0m=\033[35m1\033[0m",
     NULL,
     LOG_ERR,
     {NULL}},
    {"structlog/json-info",
     OUT,
     "{\"user_id\": 42, \"event\": \"user logged in\", \"level\": \"info\", \"timestamp\": "
     "\"2026-11-22T01:46:57.979085Z\"}",
     "user logged in",
     LOG_INFO,
     {"USER_ID=42", "TIMESTAMP=2026-11-22T01:46:57.979085Z", NULL}},
    {"structlog/json-nested",
     OUT,
     "{\"order\": {\"id\": 7, \"items\": [1, 2]}, \"retry\": false, \"event\": \"payment failed\", "
     "\"level\": \"error\", \"timestamp\": \"2026-11-22T01:46:57.979138Z\"}",
     "payment failed",
     LOG_ERR,
     {"ORDER={\"id\":7,\"items\":[1,2]}", "RETRY=false", "TIMESTAMP=2026-11-22T01:46:57.979138Z",
      NULL}},
    {"structlog/json-exception",
     OUT,
     "{\"event\": \"crashed\", \"level\": \"error\", \"exception\": \"Traceback (most recent call "
     "last):\\n  File \\\"/tmp/reallogs/libs.py\\\", line 32, in <module>\\n    try: 1/0\\n        "
     " "
     "~^~\\nZeroDivisionError: division by zero\"}",
     "crashed",
     LOG_ERR,
     {"EXCEPTION=Traceback (most recent call last):\n  File \"/tmp/reallogs/libs.py\", line 32, in "
      "<module>\n    try: 1/0\n         ~^~\nZeroDivisionError: division by zero",
      NULL}},

    /* python-json-logger */
    {"jsonlogger/info",
     ERR,
     "{\"asctime\": \"2026-11-22 01:46:58,017\", \"levelname\": \"INFO\", \"name\": \"api\", "
     "\"message\": \"request done\", \"status\": 200, \"duration\": 0.125, \"path\": \"/x\"}",
     "request done",
     LOG_INFO,
     {"ASCTIME=2026-11-22 01:46:58,017", "NAME=api", "STATUS=200", "DURATION=0.125", "PATH=/x",
      NULL}},
    {"jsonlogger/reserved-keys",
     ERR,
     "{\"asctime\": \"2026-11-22 01:46:58,017\", \"levelname\": \"WARNING\", \"name\": \"api\", "
     "\"message\": \"quota\", \"message_id\": \"abc\", \"priority\": \"high\", \"code_line\": 3}",
     "quota",
     LOG_WARNING,
     {"ASCTIME=2026-11-22 01:46:58,017", "NAME=api", "JSON_MESSAGE_ID=abc", "JSON_PRIORITY=high",
      "JSON_CODE_LINE=3", NULL}},
    {"jsonlogger/exc-info",
     ERR,
     "{\"asctime\": \"2026-11-22 01:46:58,017\", \"levelname\": \"ERROR\", \"name\": \"api\", "
     "\"message\": \"lookup failed\", \"exc_info\": \"Traceback (most recent call last):\\n  File "
     "\\\"/tmp/reallogs/libs.py\\\", line 42, in <module>\\n    try: [][1]\\n         "
     "~~^^^\\nIndexError: list index out of range\"}",
     "lookup failed",
     LOG_ERR,
     {"ASCTIME=2026-11-22 01:46:58,017", "NAME=api",
      "EXC_INFO=Traceback (most recent call last):\n  File \"/tmp/reallogs/libs.py\", line 42, in "
      "<module>\n    try: [][1]\n         ~~^^^\nIndexError: list index out of range",
      NULL}},
    {"jsonlogger/levelno",
     ERR,
     "{\"levelno\": 40, \"message\": \"numeric only\"}",
     "numeric only",
     LOG_ERR,
     {NULL}},
    {"jsonlogger/nulls-dropped",
     ERR,
     "{\"asctime\": \"2026-11-22 01:46:58,017\", \"levelname\": \"INFO\", \"name\": \"api\", "
     "\"message\": \"x\", \"exc_info\": null, \"taskName\": null}",
     "x",
     LOG_INFO,
     {"ASCTIME=2026-11-22 01:46:58,017", "NAME=api", NULL}},

    /* loguru */
    {"loguru/info",
     ERR,
     "2026-11-22 01:46:58.083 | INFO     | __main__:<module>:47 - loguru hello",
     NULL,
     LOG_INFO,
     {NULL}},
    {"loguru/success",
     ERR,
     "2026-11-22 01:46:58.084 | SUCCESS  | __main__:<module>:47 - done",
     NULL,
     LOG_NOTICE,
     {NULL}},
    {"loguru/error",
     ERR,
     "2026-11-22 01:46:58.084 | ERROR    | __main__:<module>:47 - loguru error",
     NULL,
     LOG_ERR,
     {NULL}},

    /* aiohttp */
    {"aiohttp/running",
     OUT,
     "======== Running on http://127.0.0.1:18304 ========",
     NULL,
     NO_LEVEL,
     {NULL}},
    {"aiohttp/quit", OUT, "(Press CTRL+C to quit)", NULL, NO_LEVEL, {NULL}},
    {"aiohttp/access",
     ERR,
     "INFO:aiohttp.access:127.0.0.1 [22/Nov/2026:01:46:48 +0000] \"GET / HTTP/1.1\" 200 172 \"-\" "
     "\"Python-urllib/3.11\"",
     NULL,
     LOG_INFO,
     {NULL}},
    {"aiohttp/error", ERR, "ERROR:aiohttp.server:Error handling request", NULL, LOG_ERR, {NULL}},
    {"aiohttp/asyncio-debug",
     ERR,
     "DEBUG:asyncio:Using selector: EpollSelector",
     NULL,
     LOG_DEBUG,
     {NULL}},

    /* Flask and werkzeug */
    {"werkzeug/dev-warning",
     ERR,
     "WARNING: This is a development server. Do not use it in a production deployment. Use a "
     "production WSGI server instead.",
     NULL,
     LOG_WARNING,
     {NULL}},
    {"werkzeug/running", ERR, " * Running on http://127.0.0.1:18303", NULL, NO_LEVEL, {NULL}},
    {"werkzeug/quit", ERR, "Press CTRL+C to quit", NULL, NO_LEVEL, {NULL}},
    {"werkzeug/access",
     ERR,
     "127.0.0.1 - - [22/Nov/2026 01:46:46] \"GET / HTTP/1.1\" 200 -",
     NULL,
     NO_LEVEL,
     {NULL}},
    {"werkzeug/serving", OUT, " * Serving Flask app 'apps:flask_app'", NULL, NO_LEVEL, {NULL}},
    {"flask/app-logger",
     ERR,
     "[2026-11-22 01:46:46,693] ERROR in app: Exception on /boom [GET]",
     NULL,
     LOG_ERR,
     {NULL}},
    {"flask/cli-error", ERR, "Error: Could not locate a Flask application.", NULL, LOG_ERR, {NULL}},

    /* plain prints, "<N>" and odd JSON */
    {"print/plain", OUT, "Starting worker...", NULL, NO_LEVEL, {NULL}},
    {"print/level-word-inside", OUT, "no ERROR here", NULL, NO_LEVEL, {NULL}},
    {"print/level-word-after-time",
     OUT,
     "2026-11-22 01:46:57 no ERROR here",
     NULL,
     NO_LEVEL,
     {NULL}},
    {"print/lower-case-start", OUT, "error count is 0", NULL, NO_LEVEL, {NULL}},
    {"print/level-prefix", OUT, "<3>explicit error", "explicit error", LOG_ERR, {NULL}},
    {"print/level-prefix-wins-over-json",
     OUT,
     "<7>{\"message\": \"m\", \"level\": \"error\"}",
     "m",
     LOG_DEBUG,
     {NULL}},
    {"print/level-prefix-wins-over-word",
     OUT,
     "<5>ERROR:root:x",
     "ERROR:root:x",
     LOG_NOTICE,
     {NULL}},
    {"print/json-msg-python-level",
     OUT,
     "{\"msg\": \"hi\", \"level\": 30}",
     "hi",
     LOG_WARNING,
     {NULL}},
    {"print/json-unterminated", OUT, "{\"msg\": \"unterminated", NULL, NO_LEVEL, {NULL}},
    {"print/json-invalid", OUT, "{not json}", NULL, NO_LEVEL, {NULL}},
    {"print/json-empty-object", OUT, "{}", NULL, NO_LEVEL, {NULL}},
    {"print/json-no-message", OUT, "{\"a\": 1}", NULL, NO_LEVEL, {"A=1", NULL}},
    {"print/json-indented",
     OUT,
     "  {\"message\": \"indented json\"}  ",
     "indented json",
     NO_LEVEL,
     {NULL}},
    {"print/json-gcp-severity",
     OUT,
     "{\"severity\": \"WARNING\", \"message\": \"x\"}",
     "x",
     LOG_WARNING,
     {NULL}},
    {"print/json-gcp-numeric",
     OUT,
     "{\"message\": \"x\", \"severity\": 500}",
     "x",
     LOG_ERR,
     {NULL}},
    {"print/json-syslog-priority",
     OUT,
     "{\"message\": \"x\", \"priority\": 2}",
     "x",
     LOG_CRIT,
     {NULL}},
    {"print/json-message-not-string",
     OUT,
     "{\"message\": {\"a\": [true, null]}}",
     "{\"a\":[true,null]}",
     NO_LEVEL,
     {NULL}},
    {"print/json-array", OUT, "[1, 2]", NULL, NO_LEVEL, {NULL}},
    {"print/empty", OUT, "", NULL, NO_LEVEL, {NULL}},
};

static void
check_line(SvLogParser *parser, const LineCase *c)
{
  g_autoptr(SvLogEntry) entry = sv_log_entry_new();
  sv_logparse_line(parser, c->stream, c->line, strlen(c->line), 0, entry);

  const char *want = c->message != NULL ? c->message : c->line;
  g_autofree char *got = g_strndup((const char *)entry->message->data, entry->message->len);
  g_assert_cmpstr(got, ==, want);
  g_assert_cmpuint(entry->message->len, ==, strlen(want));
  if (c->priority == NO_LEVEL) {
    g_assert_cmpint(entry->priority, ==, LOG_INFO);
    g_assert_false(entry->flags & SV_LOG_ENTRY_LEVEL);
  } else {
    g_assert_cmpint(entry->priority, ==, c->priority);
    g_assert_true(entry->flags & SV_LOG_ENTRY_LEVEL);
  }
  g_assert_cmpuint(entry->n_lines, ==, 1);

  guint n = 0;
  while (c->fields[n] != NULL)
    n++;
  g_assert_cmpuint(entry->fields->len, ==, n);
  for (guint i = 0; i < n; i++) {
    const SvLogField *field = entry->fields->pdata[i];
    g_assert_cmpstr(field->data, ==, c->fields[i]);
    g_assert_cmpuint(field->len, ==, strlen(c->fields[i]));
    g_assert_true(sv_log_field_name_is_valid(field->data, field->name_len));
  }
}

static void
test_table_line(gconstpointer data)
{
  SvLogParseConfig config;
  sv_logparse_config_init(&config);
  g_autoptr(SvLogParser) parser = sv_logparse_new(&config);
  check_line(parser, data);
}

/* ---- helpers ---------------------------------------------------------------- */

static SvLogEntry *
parse_with(const SvLogParseConfig *config, SvLogStream stream, const char *line, gsize len)
{
  g_autoptr(SvLogParser) parser = sv_logparse_new(config);
  SvLogEntry *entry = sv_log_entry_new();
  sv_logparse_line(parser, stream, line, len, 0, entry);
  return entry;
}

static SvLogEntry *
parse(const char *line)
{
  SvLogParseConfig config;
  sv_logparse_config_init(&config);
  return parse_with(&config, SV_LOG_STREAM_STDERR, line, strlen(line));
}

static char *
message_of(const SvLogEntry *entry)
{
  return g_strndup((const char *)entry->message->data, entry->message->len);
}

/* The names of ENTRY's fields joined with ' ', for compact assertions. */
static char *
field_names(const SvLogEntry *entry)
{
  GString *s = g_string_new(NULL);
  for (guint i = 0; i < entry->fields->len; i++) {
    const SvLogField *field = entry->fields->pdata[i];
    if (i > 0)
      g_string_append_c(s, ' ');
    g_string_append_len(s, field->data, (gssize)field->name_len);
  }
  return g_string_free(s, FALSE);
}

static const char *
field_value(const SvLogEntry *entry, const char *name)
{
  const SvLogField *field = sv_log_entry_find_field(entry, name);
  gsize len;
  return field != NULL ? sv_log_field_value(field, &len) : NULL;
}

/* ---- JSON ------------------------------------------------------------------- */

static void
test_json_levelname(void)
{
  static const struct {
    const char *line;
    int priority;
  } levels[] = {
      {"{\"levelname\": \"DEBUG\", \"message\": \"m\"}", LOG_DEBUG},
      {"{\"levelname\": \"INFO\", \"message\": \"m\"}", LOG_INFO},
      {"{\"levelname\": \"WARNING\", \"message\": \"m\"}", LOG_WARNING},
      {"{\"levelname\": \"ERROR\", \"message\": \"m\"}", LOG_ERR},
      {"{\"levelname\": \"CRITICAL\", \"message\": \"m\"}", LOG_CRIT},
      {"{\"level\": \"warn\", \"msg\": \"m\"}", LOG_WARNING},
      {"{\"level\": \"fatal\", \"msg\": \"m\"}", LOG_CRIT},
      {"{\"level\": \"notice\", \"msg\": \"m\"}", LOG_NOTICE},
      {"{\"level\": \"alert\", \"msg\": \"m\"}", LOG_ALERT},
      {"{\"level\": \"emerg\", \"msg\": \"m\"}", LOG_EMERG},
      {"{\"level\": \"emergency\", \"msg\": \"m\"}", LOG_EMERG},
      {"{\"level\": \" Error \", \"msg\": \"m\"}", LOG_ERR},
      {"{\"severity\": \"CRITICAL\", \"message\": \"m\"}", LOG_CRIT},
      {"{\"priority\": \"3\", \"message\": \"m\"}", LOG_ERR},
      {"{\"priority\": \"warning\", \"message\": \"m\"}", LOG_WARNING},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(levels); i++) {
    g_autoptr(SvLogEntry) entry = parse(levels[i].line);
    g_assert_true(entry->flags & SV_LOG_ENTRY_JSON);
    g_assert_cmpint(entry->priority, ==, levels[i].priority);
    g_assert_true(entry->flags & SV_LOG_ENTRY_LEVEL);
    /* the key that gave the level is consumed, like the message key */
    g_assert_cmpuint(entry->fields->len, ==, 0);
  }
}

static void
test_json_numeric_levels(void)
{
  static const struct {
    const char *line;
    int priority; /* -1: no level */
  } levels[] = {
      {"{\"levelno\": 10}", LOG_DEBUG},   {"{\"levelno\": 20}", LOG_INFO},
      {"{\"levelno\": 25}", LOG_NOTICE},  {"{\"levelno\": 30}", LOG_WARNING},
      {"{\"levelno\": 40}", LOG_ERR},     {"{\"levelno\": 50}", LOG_CRIT},
      {"{\"level\": 5}", LOG_DEBUG},      {"{\"level\": 40.0}", LOG_ERR},
      {"{\"levelno\": 0}", -1},           {"{\"level\": 40.5}", -1},
      {"{\"priority\": 0}", LOG_EMERG},   {"{\"priority\": 7}", LOG_DEBUG},
      {"{\"priority\": 8}", -1},          {"{\"priority\": -1}", -1},
      {"{\"severity\": 100}", LOG_DEBUG}, {"{\"severity\": 800}", LOG_EMERG},
      {"{\"severity\": 900}", -1},        {"{\"severity\": 250}", -1},
      {"{\"level\": true}", -1},          {"{\"level\": [\"error\"]}", -1},
      {"{\"level\": \"verbose\"}", -1},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(levels); i++) {
    g_autoptr(SvLogEntry) entry = parse(levels[i].line);
    g_assert_true(entry->flags & SV_LOG_ENTRY_JSON);
    if (levels[i].priority < 0) {
      g_assert_false(entry->flags & SV_LOG_ENTRY_LEVEL);
      g_assert_cmpint(entry->priority, ==, LOG_INFO);
      /* a key that gave no level stays a field */
      g_assert_cmpuint(entry->fields->len, ==, 1);
    } else {
      g_assert_cmpint(entry->priority, ==, levels[i].priority);
      g_assert_cmpuint(entry->fields->len, ==, 0);
    }
  }
}

static void
test_json_level_key_order(void)
{
  /* levelname beats level; the one not used stays a field */
  g_autoptr(SvLogEntry) entry =
      parse("{\"level\": \"debug\", \"levelname\": \"ERROR\", \"msg\": \"m\"}");
  g_assert_cmpint(entry->priority, ==, LOG_ERR);
  g_autofree char *names = field_names(entry);
  g_assert_cmpstr(names, ==, "LEVEL");
  g_assert_cmpstr(field_value(entry, "LEVEL"), ==, "debug");
}

static void
test_json_message_key_order(void)
{
  g_autoptr(SvLogEntry) entry = parse("{\"event\": \"e\", \"msg\": \"m\", \"message\": \"x\"}");
  g_autofree char *message = message_of(entry);
  g_assert_cmpstr(message, ==, "x");
  g_autofree char *names = field_names(entry);
  g_assert_cmpstr(names, ==, "EVENT MSG");

  g_autoptr(SvLogEntry) null_message = parse("{\"message\": null, \"msg\": \"m\"}");
  g_autofree char *m2 = message_of(null_message);
  g_assert_cmpstr(m2, ==, "m");
}

static void
test_json_field_names(void)
{
  g_autoptr(SvLogEntry) entry = parse(
      "{\"message\": \"m\", \"user-id\": 1, \"_private\": 2, \"__cursor\": 3, \"2fa\": 4, "
      "\"Message_ID\": 5, \"code_file\": 6, \"sdvisor_state\": 7, \"object_pid\": 8, "
      "\"coredump_unit\": 9, \"unit\": 10, \"syslog_identifier\": 11, \"na\\u00efve\": 12, "
      "\"\": 13, \"___\": 14, \"a.b c\": 15, \"MESSAGE\": 16, \"priority_x\": 17, \"pid\": 18}");
  g_autofree char *names = field_names(entry);
  g_assert_cmpstr(names, ==,
                  "USER_ID PRIVATE CURSOR JSON_2FA JSON_MESSAGE_ID JSON_CODE_FILE "
                  "JSON_SDVISOR_STATE JSON_OBJECT_PID JSON_COREDUMP_UNIT JSON_UNIT "
                  "JSON_SYSLOG_IDENTIFIER NA__VE JSON_ JSON_ A_B_C JSON_MESSAGE PRIORITY_X PID");
  for (guint i = 0; i < entry->fields->len; i++) {
    const SvLogField *field = entry->fields->pdata[i];
    g_assert_true(sv_log_field_name_is_valid(field->data, field->name_len));
  }
}

static void
test_json_field_name_length(void)
{
  g_autofree char *key = g_strnfill(100, 'k');
  g_autofree char *line = g_strdup_printf("{\"%s\": 1, \"_%s\": 2, \"9%s\": 3}", key, key, key);
  g_autoptr(SvLogEntry) entry = parse(line);
  g_assert_cmpuint(entry->fields->len, ==, 3);
  for (guint i = 0; i < entry->fields->len; i++) {
    const SvLogField *field = entry->fields->pdata[i];
    g_assert_cmpuint(field->name_len, ==, SV_LOG_FIELD_NAME_MAX);
    g_assert_true(sv_log_field_name_is_valid(field->data, field->name_len));
  }
  g_assert_true(g_str_has_prefix(((SvLogField *)entry->fields->pdata[2])->data, "JSON_9KKK"));
}

static void
test_json_prefix(void)
{
  static const struct {
    const char *prefix;
    const char *names;
  } prefixes[] = {
      {"app_", "APP_USER_ID APP_MESSAGE_ID APP__X"},
      {"My App.", "MY_APP_USER_ID MY_APP_MESSAGE_ID MY_APP__X"},
      {"_", "USER_ID JSON_MESSAGE_ID X"},
      {"sdvisor_", "JSON_SDVISOR_USER_ID JSON_SDVISOR_MESSAGE_ID JSON_SDVISOR__X"},
      {"1", "JSON_1USER_ID JSON_1MESSAGE_ID JSON_1_X"},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(prefixes); i++) {
    SvLogParseConfig config;
    sv_logparse_config_init(&config);
    config.json_field_prefix = prefixes[i].prefix;
    const char *line = "{\"msg\": \"m\", \"user_id\": 1, \"message_id\": 2, \"_x\": 3}";
    g_autoptr(SvLogEntry) entry = parse_with(&config, SV_LOG_STREAM_STDOUT, line, strlen(line));
    g_autofree char *names = field_names(entry);
    g_assert_cmpstr(names, ==, prefixes[i].names);
  }
}

static void
test_json_values(void)
{
  g_autoptr(SvLogEntry) entry =
      parse("{\"msg\": \"m\", \"i\": -9007199254740993, \"d\": 0.1, \"e\": 1e100, \"t\": true, "
            "\"f\": false, \"o\": {\"a\": {\"b\": [1, \"two\", null, {}]}}, \"a\": [], "
            "\"s\": \"line1\\nline2\\t\\u00e9\", \"z\": \"a\\u0000b\"}");
  g_assert_cmpstr(field_value(entry, "I"), ==, "-9007199254740993");
  g_assert_cmpstr(field_value(entry, "D"), ==, "0.1");
  g_assert_cmpstr(field_value(entry, "E"), ==, "1e+100");
  g_assert_cmpstr(field_value(entry, "T"), ==, "true");
  g_assert_cmpstr(field_value(entry, "F"), ==, "false");
  g_assert_cmpstr(field_value(entry, "O"), ==, "{\"a\":{\"b\":[1,\"two\",null,{}]}}");
  g_assert_cmpstr(field_value(entry, "A"), ==, "[]");
  g_assert_cmpstr(field_value(entry, "S"), ==, "line1\nline2\t\xc3\xa9");
  /* json-glib hands strings over NUL-terminated: an escaped NUL ends the value */
  g_assert_cmpstr(field_value(entry, "Z"), ==, "a");
}

static void
test_json_too_deep(void)
{
  for (guint depth = SV_LOG_JSON_MAX_DEPTH; depth <= SV_LOG_JSON_MAX_DEPTH + 1; depth++) {
    GString *line = g_string_new("{\"msg\": \"deep\", \"x\": ");
    for (guint i = 1; i < depth; i++)
      g_string_append_c(line, '[');
    for (guint i = 1; i < depth; i++)
      g_string_append_c(line, ']');
    g_string_append_c(line, '}');
    g_autoptr(SvLogEntry) entry = parse(line->str);
    g_assert_cmpint(!!(entry->flags & SV_LOG_ENTRY_JSON), ==, depth <= SV_LOG_JSON_MAX_DEPTH);
    g_string_free(line, TRUE);
  }
  /* a whole line of brackets: no stack overflow, just text */
  g_autofree char *brackets = g_strnfill(48 * 1024, '[');
  brackets[0] = '{';
  brackets[48 * 1024 - 1] = '}';
  g_autoptr(SvLogEntry) entry = parse(brackets);
  g_assert_false(entry->flags & SV_LOG_ENTRY_JSON);
  g_assert_cmpuint(entry->message->len, ==, 48 * 1024);
}

static void
test_json_too_many_keys(void)
{
  for (guint keys = SV_LOG_JSON_MAX_KEYS; keys <= SV_LOG_JSON_MAX_KEYS + 1; keys++) {
    GString *line = g_string_new("{");
    for (guint i = 0; i < keys; i++)
      g_string_append_printf(line, "%s\"k%u\": %u", i > 0 ? ", " : "", i, i);
    g_string_append_c(line, '}');
    g_autoptr(SvLogEntry) entry = parse(line->str);
    g_assert_cmpint(!!(entry->flags & SV_LOG_ENTRY_JSON), ==, keys <= SV_LOG_JSON_MAX_KEYS);
    g_assert_cmpuint(entry->fields->len, ==, keys <= SV_LOG_JSON_MAX_KEYS ? keys : 0);
    g_string_free(line, TRUE);
  }
  /* nested members count too: json-glib is quadratic in repeated keys */
  GString *line = g_string_new("{\"o\": {");
  for (guint i = 0; i <= SV_LOG_JSON_MAX_MEMBERS; i++)
    g_string_append_printf(line, "%s\"k%u\": 1", i > 0 ? ", " : "", i);
  g_string_append(line, "}}");
  g_autoptr(SvLogEntry) entry = parse(line->str);
  g_assert_false(entry->flags & SV_LOG_ENTRY_JSON);
  g_string_free(line, TRUE);
}

static void
test_json_invalid_stays_text(void)
{
  static const char *const lines[] = {
      "{",
      "{}}",
      "{\"a\": }",
      "{\"a\" 1}",
      "{\"a\": 1,}",
      "{\"a\": \"\xff\"}",
      "{a: 1}",
      "{\"a\": 1} trailing",
      "{\"msg\": \"x\"}{\"msg\": \"y\"}",
      "{\"msg\": \"x\"} {}",
      "{\"a\": [1, 2}",
      "{\"a\": nan}",
      "{\"a\": 1}}",
      "{]",
      "{\"a\": \"}",
  };
  for (gsize i = 0; i < G_N_ELEMENTS(lines); i++) {
    g_autoptr(SvLogEntry) entry = parse(lines[i]);
    g_autofree char *message = message_of(entry);
    g_assert_false(entry->flags & SV_LOG_ENTRY_JSON);
    g_assert_cmpstr(message, ==, lines[i]);
    g_assert_cmpuint(entry->fields->len, ==, 0);
  }
  /* json-glib is lenient with these; they are JSON entries and keep every value */
  static const char *const lenient[] = {"{'a': 1}", "{\"a\": 1 /* c */}"};
  for (gsize i = 0; i < G_N_ELEMENTS(lenient); i++) {
    g_autoptr(SvLogEntry) entry = parse(lenient[i]);
    g_assert_true(entry->flags & SV_LOG_ENTRY_JSON);
    g_assert_cmpstr(field_value(entry, "A"), ==, "1");
  }
}

static void
test_json_disabled(void)
{
  SvLogParseConfig config;
  sv_logparse_config_init(&config);
  config.parse_json = FALSE;
  const char *line = "{\"message\": \"m\", \"level\": \"error\"}";
  g_autoptr(SvLogEntry) entry = parse_with(&config, SV_LOG_STREAM_STDOUT, line, strlen(line));
  g_assert_false(entry->flags & SV_LOG_ENTRY_JSON);
  g_autofree char *message = message_of(entry);
  g_assert_cmpstr(message, ==, line);
  g_assert_cmpint(entry->priority, ==, LOG_INFO);
}

/* ---- levels in text ------------------------------------------------------------ */

static void
test_levels_no_false_positives(void)
{
  static const char *const lines[] = {
      "no ERROR here",
      "the ERROR: count is zero",
      "Request failed with ERROR",
      "ERRORS: none",
      "INFORMATION: none",
      "DEBUG=1 is set",
      "Errors: none",
      "error: lower-case is a print, not a levelname",
      "Info about the run",
      "WARNINGS are off",
      "[not a level] ERRORneous",
      "[1/3] migrating ERROR table",
      "2 ERROR lines found",
      "3.14 ERROR",
      "12:00 - lunch - ERRORS - none",
      "2024-05-01 10:00:00 Sent ERROR report to admin",
      "/usr/lib/python3/x.py:10: not a Warning: here",
      "/srv/app.py: UserWarning: no line number",
      "  ERROR: indented lines are continuations",
      "\tWARNING: tab too",
      "Traceback (most recent call last):",
      "ValueError: ERROR",
      "[INFO",
      "[",
      "<8>ERROR is not a prefix",
  };
  for (gsize i = 0; i < G_N_ELEMENTS(lines); i++) {
    g_autoptr(SvLogEntry) entry = parse(lines[i]);
    if (entry->flags & SV_LOG_ENTRY_LEVEL)
      g_error("false positive: \"%s\" → %d", lines[i], entry->priority);
    g_assert_cmpint(entry->priority, ==, LOG_INFO);
  }
}

static void
test_levels_detect_disabled(void)
{
  SvLogParseConfig config;
  sv_logparse_config_init(&config);
  config.detect_levels = FALSE;
  const char *line = "ERROR:root:boom";
  g_autoptr(SvLogEntry) entry = parse_with(&config, SV_LOG_STREAM_STDOUT, line, strlen(line));
  g_assert_cmpint(entry->priority, ==, LOG_INFO);
  g_assert_false(entry->flags & SV_LOG_ENTRY_LEVEL);
  /* "<N>" is the journald protocol, not a guess: honoured anyway */
  g_autoptr(SvLogEntry) prefixed = parse_with(&config, SV_LOG_STREAM_STDOUT, "<2>x", 4);
  g_assert_cmpint(prefixed->priority, ==, LOG_CRIT);
  /* and JSON levels are not text detection */
  const char *json = "{\"msg\": \"m\", \"level\": \"error\"}";
  g_autoptr(SvLogEntry) j = parse_with(&config, SV_LOG_STREAM_STDOUT, json, strlen(json));
  g_assert_cmpint(j->priority, ==, LOG_ERR);
}

static void
test_levels_all_words(void)
{
  static const struct {
    const char *word;
    int priority;
  } words[] = {
      {"EMERG", 0},    {"EMERGENCY", 0}, {"PANIC", 0},  {"ALERT", 1},   {"CRIT", 2},
      {"CRITICAL", 2}, {"FATAL", 2},     {"ERR", 3},    {"ERROR", 3},   {"EXCEPTION", 3},
      {"WARN", 4},     {"WARNING", 4},   {"NOTICE", 5}, {"SUCCESS", 5}, {"INFO", 6},
      {"DEBUG", 7},    {"TRACE", 7},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(words); i++) {
    g_autofree char *basic = g_strdup_printf("%s:root:x", words[i].word);
    g_autofree char *bracket =
        g_strdup_printf("[2024-05-01 10:00:00 +0000] [1] [%s] x", words[i].word);
    g_autofree char *lower = g_ascii_strdown(words[i].word, -1);
    g_autofree char *structlog = g_strdup_printf("2024-05-01 10:00:00 [%-9s] x", lower);
    const char *lines[] = {basic, bracket, structlog};
    for (gsize j = 0; j < G_N_ELEMENTS(lines); j++) {
      g_autoptr(SvLogEntry) entry = parse(lines[j]);
      g_assert_cmpint(entry->priority, ==, words[i].priority);
    }
    g_assert_cmpint(sv_logparse_level_from_name(words[i].word, strlen(words[i].word)), ==,
                    words[i].priority);
    g_assert_cmpint(sv_logparse_level_from_name(lower, strlen(lower)), ==, words[i].priority);
  }
  g_assert_cmpint(sv_logparse_level_from_name("Warning", 7), ==, LOG_WARNING);
  g_assert_cmpint(sv_logparse_level_from_name("warnings", 8), ==, -1);
  g_assert_cmpint(sv_logparse_level_from_name("", 0), ==, -1);
  g_assert_cmpint(sv_logparse_level_from_name("6", 1), ==, -1);
}

/* ---- prefix, streams, bytes -------------------------------------------------------- */

static void
test_prefix(void)
{
  for (int n = 0; n <= 7; n++) {
    char line[16];
    int len = g_snprintf(line, sizeof line, "<%d>text", n);
    SvLogParseConfig config;
    sv_logparse_config_init(&config);
    g_autoptr(SvLogEntry) entry = parse_with(&config, SV_LOG_STREAM_STDOUT, line, (gsize)len);
    g_assert_cmpint(entry->priority, ==, n);
    g_autofree char *message = message_of(entry);
    g_assert_cmpstr(message, ==, "text");
  }
  static const char *const kept[] = {"<8>text", "<33>text", "<3", "<>x", " <3>x", "<a>x"};
  for (gsize i = 0; i < G_N_ELEMENTS(kept); i++) {
    g_autoptr(SvLogEntry) entry = parse(kept[i]);
    g_autofree char *message = message_of(entry);
    g_assert_cmpstr(message, ==, kept[i]);
    g_assert_false(entry->flags & SV_LOG_ENTRY_LEVEL);
  }
  g_autoptr(SvLogEntry) empty = parse("<4>");
  g_assert_cmpuint(empty->message->len, ==, 0);
  g_assert_cmpint(empty->priority, ==, LOG_WARNING);
}

static void
test_default_priority_per_stream(void)
{
  SvLogParseConfig config;
  sv_logparse_config_init(&config);
  /* Python logs INFO to stderr: stderr is not an error by default */
  g_assert_cmpint(config.default_priority_stdout, ==, LOG_INFO);
  g_assert_cmpint(config.default_priority_stderr, ==, LOG_INFO);
  config.default_priority_stdout = LOG_NOTICE;
  config.default_priority_stderr = LOG_ERR;
  g_autoptr(SvLogEntry) out = parse_with(&config, SV_LOG_STREAM_STDOUT, "plain", 5);
  g_autoptr(SvLogEntry) err = parse_with(&config, SV_LOG_STREAM_STDERR, "plain", 5);
  g_autoptr(SvLogEntry) info = parse_with(&config, SV_LOG_STREAM_STDERR, "INFO:root:x", 11);
  g_assert_cmpint(out->priority, ==, LOG_NOTICE);
  g_assert_cmpint(err->priority, ==, LOG_ERR);
  g_assert_false(err->flags & SV_LOG_ENTRY_LEVEL);
  g_assert_cmpint(info->priority, ==, LOG_INFO);
  /* out of range is clamped, not trusted */
  config.default_priority_stdout = 99;
  config.default_priority_stderr = -5;
  g_autoptr(SvLogEntry) hi = parse_with(&config, SV_LOG_STREAM_STDOUT, "x", 1);
  g_autoptr(SvLogEntry) lo = parse_with(&config, SV_LOG_STREAM_STDERR, "x", 1);
  g_assert_cmpint(hi->priority, ==, LOG_DEBUG);
  g_assert_cmpint(lo->priority, ==, LOG_EMERG);
}

static void
test_binary_kept(void)
{
  static const char line[] = "ERROR:\0root\xff\xfe:boom \xc3\x28";
  gsize len = sizeof line - 1;
  SvLogParseConfig config;
  sv_logparse_config_init(&config);
  g_autoptr(SvLogEntry) entry = parse_with(&config, SV_LOG_STREAM_STDERR, line, len);
  g_assert_cmpuint(entry->message->len, ==, len);
  g_assert_cmpmem(entry->message->data, entry->message->len, line, len);
  g_assert_cmpint(entry->priority, ==, LOG_ERR);

  static const char json[] = "{\"msg\": \"a\0b\"}";
  g_autoptr(SvLogEntry) j = parse_with(&config, SV_LOG_STREAM_STDERR, json, sizeof json - 1);
  g_assert_false(j->flags & SV_LOG_ENTRY_JSON);
  g_assert_cmpmem(j->message->data, j->message->len, json, sizeof json - 1);
}

static void
test_partial(void)
{
  SvLogParseConfig config;
  sv_logparse_config_init(&config);
  g_autoptr(SvLogParser) parser = sv_logparse_new(&config);
  g_autoptr(SvLogEntry) entry = sv_log_entry_new();

  /* the first piece: prefix and level words, but never JSON (it is cut) */
  const char *first = "<3>{\"msg\": \"x\"}";
  sv_logparse_line(parser, SV_LOG_STREAM_STDOUT, first, strlen(first), SV_LOG_ENTRY_PARTIAL, entry);
  g_assert_cmpint(entry->flags, ==, SV_LOG_ENTRY_PARTIAL | SV_LOG_ENTRY_LEVEL);
  g_assert_cmpint(entry->priority, ==, LOG_ERR);
  g_assert_cmpmem(entry->message->data, entry->message->len, first + 3, strlen(first) - 3);

  const char *head = "ERROR:root:very long";
  sv_logparse_line(parser, SV_LOG_STREAM_STDOUT, head, strlen(head), SV_LOG_ENTRY_PARTIAL, entry);
  g_assert_cmpint(entry->priority, ==, LOG_ERR);

  /* later pieces: nothing interpreted */
  const char *tail = "<2>ERROR:{\"msg\": \"x\"}";
  sv_logparse_line(parser, SV_LOG_STREAM_STDOUT, tail, strlen(tail),
                   SV_LOG_ENTRY_CONTINUED | SV_LOG_ENTRY_PARTIAL, entry);
  g_assert_cmpint(entry->flags, ==, SV_LOG_ENTRY_CONTINUED | SV_LOG_ENTRY_PARTIAL);
  g_assert_cmpint(entry->priority, ==, LOG_INFO);
  g_assert_cmpmem(entry->message->data, entry->message->len, tail, strlen(tail));
}

static void
test_entry_reuse(void)
{
  SvLogParseConfig config;
  sv_logparse_config_init(&config);
  g_autoptr(SvLogParser) parser = sv_logparse_new(&config);
  g_autoptr(SvLogEntry) entry = sv_log_entry_new();
  const char *json = "{\"msg\": \"m\", \"a\": 1, \"b\": 2}";
  sv_logparse_line(parser, SV_LOG_STREAM_STDOUT, json, strlen(json), 0, entry);
  g_assert_cmpuint(entry->fields->len, ==, 2);
  /* the next line leaves nothing of the previous one */
  sv_logparse_line(parser, SV_LOG_STREAM_STDOUT, "plain", 5, 0, entry);
  g_assert_cmpuint(entry->fields->len, ==, 0);
  g_assert_cmpuint(entry->flags, ==, 0);
  g_assert_cmpmem(entry->message->data, entry->message->len, "plain", 5);
  guint8 *buffer = entry->message->data;
  sv_logparse_line(parser, SV_LOG_STREAM_STDOUT, "plain2", 6, 0, entry);
  /* and a plain line does not reallocate */
  g_assert_true(entry->message->data == buffer);

  g_autoptr(SvLogEntry) other = sv_log_entry_new();
  sv_log_entry_swap(entry, other);
  g_assert_cmpuint(entry->message->len, ==, 0);
  g_assert_cmpmem(other->message->data, other->message->len, "plain2", 6);
}

static void
test_field_name_is_valid(void)
{
  g_assert_true(sv_log_field_name_is_valid("A", 1));
  g_assert_true(sv_log_field_name_is_valid("A_1", 3));
  g_assert_false(sv_log_field_name_is_valid("", 0));
  g_assert_false(sv_log_field_name_is_valid("_A", 2));
  g_assert_false(sv_log_field_name_is_valid("1A", 2));
  g_assert_false(sv_log_field_name_is_valid("a", 1));
  g_assert_false(sv_log_field_name_is_valid("A-B", 3));
  g_autofree char *long64 = g_strnfill(64, 'A');
  g_autofree char *long65 = g_strnfill(65, 'A');
  g_assert_true(sv_log_field_name_is_valid(long64, 64));
  g_assert_false(sv_log_field_name_is_valid(long65, 65));
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autofree char *path = g_strdup_printf("/logparse/table/%s", cases[i].name);
    g_test_add_data_func(path, &cases[i], test_table_line);
  }
  g_test_add_func("/logparse/json/levelname-maps-to-priority", test_json_levelname);
  g_test_add_func("/logparse/json/numeric-levels", test_json_numeric_levels);
  g_test_add_func("/logparse/json/level-key-order", test_json_level_key_order);
  g_test_add_func("/logparse/json/message-key-order", test_json_message_key_order);
  g_test_add_func("/logparse/json/field-names-sanitised", test_json_field_names);
  g_test_add_func("/logparse/json/field-name-length", test_json_field_name_length);
  g_test_add_func("/logparse/json/field-prefix", test_json_prefix);
  g_test_add_func("/logparse/json/values-as-text", test_json_values);
  g_test_add_func("/logparse/json/too-deep-stays-text", test_json_too_deep);
  g_test_add_func("/logparse/json/too-many-keys-stays-text", test_json_too_many_keys);
  g_test_add_func("/logparse/json/invalid-stays-text", test_json_invalid_stays_text);
  g_test_add_func("/logparse/json/disabled", test_json_disabled);
  g_test_add_func("/logparse/levels/no-false-positives", test_levels_no_false_positives);
  g_test_add_func("/logparse/levels/detect-disabled", test_levels_detect_disabled);
  g_test_add_func("/logparse/levels/all-words", test_levels_all_words);
  g_test_add_func("/logparse/prefix/strips-0-to-7", test_prefix);
  g_test_add_func("/logparse/default-priority/per-stream", test_default_priority_per_stream);
  g_test_add_func("/logparse/bytes/nul-and-invalid-utf8-kept", test_binary_kept);
  g_test_add_func("/logparse/partial/pieces", test_partial);
  g_test_add_func("/logparse/entry/reuse", test_entry_reuse);
  g_test_add_func("/logparse/field-name-is-valid", test_field_name_is_valid);
  return g_test_run();
}
