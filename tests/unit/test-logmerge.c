/* test-logmerge.c — tracebacks and continuation lines become one entry.
 *
 * Lines go through the real parser first, as in sdvisor. The tracebacks are the ones
 * gunicorn 20.1, uvicorn 0.17, Flask 2.2, aiohttp 3.8 and Python 3.11 printed here. */
#include <string.h>

#include "logmerge.h"

#define MS G_TIME_SPAN_MILLISECOND
#define T0 (1000 * G_TIME_SPAN_SECOND)

typedef struct {
  char *message;
  int priority;
  guint flags;
  guint n_lines;
} Emitted;

static void
emitted_free(gpointer data)
{
  Emitted *e = data;
  g_free(e->message);
  g_free(e);
}

typedef struct {
  SvLogMergeConfig config;
  SvLogParser *parser;
  SvLogMerge *merge;
  SvLogEntry *entry;
  GPtrArray *out; /* Emitted * */
} Fixture;

static void
on_emit(const SvLogEntry *entry, gpointer user_data)
{
  Fixture *f = user_data;
  Emitted *e = g_new0(Emitted, 1);
  e->message = g_strndup((const char *)entry->message->data, entry->message->len);
  e->priority = entry->priority;
  e->flags = entry->flags;
  e->n_lines = entry->n_lines;
  g_ptr_array_add(f->out, e);
}

/* Tests set f->config before calling this. */
static void
start_merge(Fixture *f)
{
  sv_logmerge_free(f->merge);
  f->merge = sv_logmerge_new(&f->config, on_emit, f);
}

static void
setup(Fixture *f, gconstpointer data)
{
  SvLogParseConfig config;
  sv_logparse_config_init(&config);
  f->parser = sv_logparse_new(&config);
  sv_logmerge_config_init(&f->config);
  f->entry = sv_log_entry_new();
  f->out = g_ptr_array_new_with_free_func(emitted_free);
  start_merge(f);
}

static void
teardown(Fixture *f, gconstpointer data)
{
  sv_logmerge_free(f->merge);
  sv_logparse_free(f->parser);
  sv_log_entry_free(f->entry);
  g_ptr_array_unref(f->out);
}

static void
push_line(Fixture *f, const char *line, guint flags, gint64 now)
{
  sv_logparse_line(f->parser, SV_LOG_STREAM_STDERR, line, strlen(line), flags, f->entry);
  sv_logmerge_push(f->merge, f->entry, now);
  /* push hands the entry back empty, ready for the next line */
  g_assert_cmpuint(f->entry->message->len, ==, 0);
}

/* Pushes each line of TEXT (separated by '\n') at NOW, as one read() would deliver. */
static void
feed(Fixture *f, const char *text, gint64 now)
{
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    push_line(f, lines[i], 0, now);
}

static const Emitted *
out(Fixture *f, guint i)
{
  g_assert_cmpuint(i, <, f->out->len);
  return f->out->pdata[i];
}

static const char traceback_simple[] = "Traceback (most recent call last):\n"
                                       "  File \"/tmp/reallogs/libs.py\", line 61, in <module>\n"
                                       "    exec('foo(')\n"
                                       "  File \"<string>\", line 1\n"
                                       "    foo(\n"
                                       "       ^\n"
                                       "SyntaxError: '(' was never closed";

static const char traceback_during[] =
    "Traceback (most recent call last):\n"
    "  File \"/tmp/reallogs/libs.py\", line 54, in f\n"
    "    try: {}['a']\n"
    "         ~~^^^^^\n"
    "KeyError: 'a'\n"
    "\n"
    "During handling of the above exception, another exception occurred:\n"
    "\n"
    "Traceback (most recent call last):\n"
    "  File \"/tmp/reallogs/libs.py\", line 57, in <module>\n"
    "    f()\n"
    "  File \"/tmp/reallogs/libs.py\", line 56, in f\n"
    "    raise RuntimeError('while handling')\n"
    "RuntimeError: while handling";

static const char gunicorn_cause[] =
    "[2026-11-22 01:46:43 +0000] [8288] [ERROR] Error handling request /boom\n"
    "Traceback (most recent call last):\n"
    "  File \"/tmp/reallogs/apps.py\", line 5, in wsgi\n"
    "    {}['missing']\n"
    "    ~~^^^^^^^^^^^\n"
    "KeyError: 'missing'\n"
    "\n"
    "The above exception was the direct cause of the following exception:\n"
    "\n"
    "Traceback (most recent call last):\n"
    "  File \"/usr/lib/python3/dist-packages/gunicorn/workers/sync.py\", line 136, in handle\n"
    "    self.handle_request(listener, req, client, addr)\n"
    "  File \"/usr/lib/python3/dist-packages/gunicorn/workers/sync.py\", line 179, in "
    "handle_request\n"
    "    respiter = self.wsgi(environ, resp.start_response)\n"
    "               ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
    "  File \"/tmp/reallogs/apps.py\", line 7, in wsgi\n"
    "    raise ValueError('bad value') from e\n"
    "ValueError: bad value";

static const char uvicorn_exception[] =
    "ERROR:    Exception in ASGI application\n"
    "Traceback (most recent call last):\n"
    "  File \"/usr/lib/python3/dist-packages/uvicorn/protocols/http/h11_impl.py\", line 366, in "
    "run_asgi\n"
    "    result = await app(self.scope, self.receive, self.send)\n"
    "             ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
    "  File \"/tmp/reallogs/apps.py\", line 20, in asgi\n"
    "    1/0\n"
    "    ~^~\n"
    "ZeroDivisionError: division by zero";

static const char flask_exception[] =
    "[2026-11-22 01:46:46,693] ERROR in app: Exception on /boom [GET]\n"
    "Traceback (most recent call last):\n"
    "  File \"/usr/lib/python3/dist-packages/flask/app.py\", line 2525, in wsgi_app\n"
    "    response = self.full_dispatch_request()\n"
    "               ^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
    "  File \"/tmp/reallogs/apps.py\", line 29, in boom\n"
    "    def boom(): return {}['x']\n"
    "                       ~~^^^^^\n"
    "KeyError: 'x'";

static const char exception_group[] =
    "  + Exception Group Traceback (most recent call last):\n"
    "  |   File \"/tmp/reallogs/libs.py\", line 59, in <module>\n"
    "  |     raise ExceptionGroup('eg', [ValueError(1), TypeError(2)])\n"
    "  | ExceptionGroup: eg (2 sub-exceptions)\n"
    "  +-+---------------- 1 ----------------\n"
    "    | ValueError: 1\n"
    "    +---------------- 2 ----------------\n"
    "    | TypeError: 2\n"
    "    +------------------------------------";

static guint
count_lines(const char *text)
{
  guint n = 1;
  for (const char *p = text; *p != '\0'; p++)
    n += *p == '\n';
  return n;
}

/* TEXT, then an ordinary line, all in one read: TEXT must come out whole with PRIORITY,
 * before the ordinary line, which must still be held. */
static void
check_whole(Fixture *f, const char *text, int priority)
{
  feed(f, text, T0);
  feed(f, "INFO:     127.0.0.1:34680 - \"GET /boom HTTP/1.1\" 500 Internal Server Error", T0);
  g_assert_cmpuint(f->out->len, ==, 1);
  g_assert_cmpstr(out(f, 0)->message, ==, text);
  g_assert_cmpint(out(f, 0)->priority, ==, priority);
  g_assert_cmpuint(out(f, 0)->n_lines, ==, count_lines(text));
  g_assert_true(out(f, 0)->flags & SV_LOG_ENTRY_TRACEBACK);
  g_assert_false(out(f, 0)->flags & SV_LOG_ENTRY_CAPPED);
  sv_logmerge_flush(f->merge);
  g_assert_cmpuint(f->out->len, ==, 2);
  g_assert_cmpint(out(f, 1)->priority, ==, LOG_INFO);
  g_assert_false(out(f, 1)->flags & SV_LOG_ENTRY_TRACEBACK);
}

static void
test_traceback_simple(Fixture *f, gconstpointer data)
{
  check_whole(f, traceback_simple, LOG_ERR);
}

static void
test_traceback_during_handling(Fixture *f, gconstpointer data)
{
  check_whole(f, traceback_during, LOG_ERR);
}

static void
test_traceback_direct_cause(Fixture *f, gconstpointer data)
{
  check_whole(f, gunicorn_cause, LOG_ERR);
}

static void
test_traceback_preceded_by_log_line(Fixture *f, gconstpointer data)
{
  check_whole(f, uvicorn_exception, LOG_ERR);
  g_ptr_array_set_size(f->out, 0);
  check_whole(f, flask_exception, LOG_ERR);
  g_ptr_array_set_size(f->out, 0);
  g_autofree char *basic = g_strconcat("ERROR:root:handler failed\n", traceback_during, NULL);
  check_whole(f, basic, LOG_ERR);
}

static void
test_traceback_keeps_higher_severity(Fixture *f, gconstpointer data)
{
  g_autofree char *critical = g_strconcat("CRITICAL:root:db down\n", traceback_simple, NULL);
  check_whole(f, critical, LOG_CRIT);
  g_ptr_array_set_size(f->out, 0);
  /* a lower severity on the first line does not lower the traceback's */
  g_autofree char *warning = g_strconcat("WARNING:root:retrying\n", traceback_simple, NULL);
  check_whole(f, warning, LOG_ERR);
  g_ptr_array_set_size(f->out, 0);
  g_autofree char *plain = g_strconcat("something went wrong\n", traceback_simple, NULL);
  check_whole(f, plain, LOG_ERR);
  g_ptr_array_set_size(f->out, 0);
  g_autofree char *prefixed = g_strconcat("<0>", traceback_simple, NULL);
  feed(f, prefixed, T0);
  sv_logmerge_flush(f->merge);
  g_assert_cmpuint(f->out->len, ==, 1);
  g_assert_cmpint(out(f, 0)->priority, ==, LOG_EMERG);
}

static void
test_traceback_exception_group(Fixture *f, gconstpointer data)
{
  check_whole(f, exception_group, LOG_ERR);
}

static void
test_traceback_interrupted(Fixture *f, gconstpointer data)
{
  /* A log line from another thread inside the frames reads as the exception line;
   * the next non-indented line starts a new entry. Nothing is lost or reordered. */
  feed(f,
       "Traceback (most recent call last):\n"
       "  File \"/srv/app.py\", line 3, in <module>\n"
       "INFO:root:other thread\n"
       "INFO:root:next\n"
       "  File \"/srv/app.py\", line 9, in f\n"
       "ValueError: x",
       T0);
  sv_logmerge_flush(f->merge);
  g_assert_cmpuint(f->out->len, ==, 3);
  g_assert_cmpstr(out(f, 0)->message, ==,
                  "Traceback (most recent call last):\n"
                  "  File \"/srv/app.py\", line 3, in <module>\n"
                  "INFO:root:other thread");
  g_assert_true(out(f, 0)->flags & SV_LOG_ENTRY_TRACEBACK);
  g_assert_cmpstr(out(f, 1)->message, ==, "INFO:root:next\n  File \"/srv/app.py\", line 9, in f");
  g_assert_false(out(f, 1)->flags & SV_LOG_ENTRY_TRACEBACK);
  g_assert_cmpstr(out(f, 2)->message, ==, "ValueError: x");

  /* After the exception line, a blank line not followed by a chain is its own entry. */
  g_ptr_array_set_size(f->out, 0);
  feed(f, traceback_simple, T0);
  push_line(f, "", 0, T0); /* g_strsplit("") gives no line */
  feed(f, "next", T0);
  sv_logmerge_flush(f->merge);
  g_assert_cmpuint(f->out->len, ==, 3);
  g_assert_cmpstr(out(f, 0)->message, ==, traceback_simple);
  g_assert_cmpstr(out(f, 1)->message, ==, "");
  g_assert_cmpstr(out(f, 2)->message, ==, "next");

  /* A new traceback right after one is a new entry. */
  g_ptr_array_set_size(f->out, 0);
  feed(f, traceback_simple, T0);
  feed(f, traceback_simple, T0);
  sv_logmerge_flush(f->merge);
  g_assert_cmpuint(f->out->len, ==, 2);
  g_assert_cmpstr(out(f, 1)->message, ==, traceback_simple);

  /* A chain line that leads nowhere ends the entry after itself. */
  g_ptr_array_set_size(f->out, 0);
  feed(f, traceback_simple, T0);
  feed(f, "\nDuring handling of the above exception, another exception occurred:\n\nINFO:root:x",
       T0);
  sv_logmerge_flush(f->merge);
  g_assert_cmpuint(f->out->len, ==, 2);
  g_assert_true(g_str_has_suffix(out(f, 0)->message, "closed\n\nDuring handling of the above "
                                                     "exception, another exception occurred:\n"));
  g_assert_cmpstr(out(f, 1)->message, ==, "INFO:root:x");
}

static void
test_traceback_window_expiry(Fixture *f, gconstpointer data)
{
  /* the rest of a traceback that comes after the window is not joined */
  feed(f, "ERROR:root:boom\nTraceback (most recent call last):", T0);
  g_assert_cmpint(sv_logmerge_next_deadline(f->merge), ==, T0 + 50 * MS);
  feed(f, "  File \"/srv/app.py\", line 3, in <module>", T0 + 50 * MS);
  g_assert_cmpuint(f->out->len, ==, 1);
  g_assert_cmpstr(out(f, 0)->message, ==, "ERROR:root:boom\nTraceback (most recent call last):");
  g_assert_true(out(f, 0)->flags & SV_LOG_ENTRY_TRACEBACK);
  /* within the window, each line extends it */
  g_ptr_array_set_size(f->out, 0);
  feed(f, "Traceback (most recent call last):", T0 + 1000 * MS);
  feed(f, "  File \"/srv/app.py\", line 3, in <module>", T0 + 1049 * MS);
  feed(f, "ValueError: x", T0 + 1098 * MS);
  g_assert_cmpuint(f->out->len, ==, 1); /* the lone indented line before */
  sv_logmerge_flush_due(f->merge, T0 + 1147 * MS);
  g_assert_cmpuint(f->out->len, ==, 1);
  sv_logmerge_flush_due(f->merge, T0 + 1148 * MS);
  g_assert_cmpuint(f->out->len, ==, 2);
  g_assert_cmpuint(out(f, 1)->n_lines, ==, 3);
}

static void
test_traceback_disabled(Fixture *f, gconstpointer data)
{
  f->config.merge_tracebacks = FALSE;
  start_merge(f);
  feed(f, uvicorn_exception, T0);
  sv_logmerge_flush(f->merge);
  /* continuation lines still join, but the traceback is not one entry */
  g_assert_cmpuint(f->out->len, ==, 3);
  g_assert_cmpstr(out(f, 0)->message, ==, "ERROR:    Exception in ASGI application");
  g_assert_true(g_str_has_prefix(out(f, 1)->message, "Traceback (most recent call last):\n  File"));
  g_assert_cmpstr(out(f, 2)->message, ==, "ZeroDivisionError: division by zero");
  for (guint i = 0; i < f->out->len; i++)
    g_assert_false(out(f, i)->flags & SV_LOG_ENTRY_TRACEBACK);
}

static void
test_continuation_indented(Fixture *f, gconstpointer data)
{
  feed(f, "INFO:root:multi\n  line two\n\tline three\nINFO:root:next", T0);
  g_assert_cmpuint(f->out->len, ==, 1);
  g_assert_cmpstr(out(f, 0)->message, ==, "INFO:root:multi\n  line two\n\tline three");
  g_assert_cmpint(out(f, 0)->priority, ==, LOG_INFO);
  g_assert_cmpuint(out(f, 0)->n_lines, ==, 3);
  g_assert_false(out(f, 0)->flags & SV_LOG_ENTRY_TRACEBACK);
  /* the warnings module prints the source line indented under the warning */
  feed(f,
       "/tmp/reallogs/libs.py:50: DeprecationWarning: old api\n"
       "  warnings.warn('old api', DeprecationWarning, stacklevel=1)\nx",
       T0);
  g_assert_cmpuint(f->out->len, ==, 3);
  g_assert_cmpint(out(f, 2)->priority, ==, LOG_WARNING);
  g_assert_cmpuint(out(f, 2)->n_lines, ==, 2);
}

static void
test_continuation_stack_info(Fixture *f, gconstpointer data)
{
  const char *text = "WARNING:root:stack\n"
                     "Stack (most recent call last):\n"
                     "  File \"/tmp/reallogs/libs.py\", line 13, in <module>\n"
                     "    logging.warning('stack', stack_info=True)";
  feed(f, text, T0);
  sv_logmerge_flush(f->merge);
  g_assert_cmpuint(f->out->len, ==, 1);
  g_assert_cmpstr(out(f, 0)->message, ==, text);
  g_assert_cmpint(out(f, 0)->priority, ==, LOG_WARNING);
  g_assert_false(out(f, 0)->flags & SV_LOG_ENTRY_TRACEBACK);
}

static void
test_continuation_more_severe_line(Fixture *f, gconstpointer data)
{
  feed(f, "INFO:root:x\n<3>  bad detail", T0);
  sv_logmerge_flush(f->merge);
  g_assert_cmpuint(f->out->len, ==, 1);
  g_assert_cmpint(out(f, 0)->priority, ==, LOG_ERR);
}

static void
test_continuation_window_expiry(Fixture *f, gconstpointer data)
{
  feed(f, "INFO:root:multi", T0);
  feed(f, "  joined", T0 + 49 * MS);
  feed(f, "  too late", T0 + 49 * MS + 50 * MS);
  g_assert_cmpuint(f->out->len, ==, 1);
  g_assert_cmpstr(out(f, 0)->message, ==, "INFO:root:multi\n  joined");
  sv_logmerge_flush(f->merge);
  g_assert_cmpstr(out(f, 1)->message, ==, "  too late");
}

static void
test_continuation_disabled(Fixture *f, gconstpointer data)
{
  f->config.merge_continuations = FALSE;
  start_merge(f);
  feed(f, "INFO:root:multi\n  line two", T0);
  g_assert_cmpuint(f->out->len, ==, 1);
  sv_logmerge_flush(f->merge);
  g_assert_cmpuint(f->out->len, ==, 2);
  /* tracebacks still merge, with the line before them */
  g_ptr_array_set_size(f->out, 0);
  check_whole(f, uvicorn_exception, LOG_ERR);
}

static void
test_all_disabled_passes_through(Fixture *f, gconstpointer data)
{
  f->config.merge_continuations = FALSE;
  f->config.merge_tracebacks = FALSE;
  start_merge(f);
  feed(f, "a\n  b", T0);
  /* nothing to wait for: out at once, no deadline */
  g_assert_cmpuint(f->out->len, ==, 2);
  g_assert_cmpint(sv_logmerge_next_deadline(f->merge), ==, -1);
}

static void
test_deadline_lone_line(Fixture *f, gconstpointer data)
{
  g_assert_cmpint(sv_logmerge_next_deadline(f->merge), ==, -1);
  feed(f, "INFO:root:alone", T0);
  g_assert_cmpuint(f->out->len, ==, 0);
  g_assert_cmpint(sv_logmerge_next_deadline(f->merge), ==, T0 + 50 * MS);
  sv_logmerge_flush_due(f->merge, T0 + 50 * MS - 1);
  g_assert_cmpuint(f->out->len, ==, 0);
  sv_logmerge_flush_due(f->merge, T0 + 50 * MS);
  g_assert_cmpuint(f->out->len, ==, 1);
  g_assert_cmpint(sv_logmerge_next_deadline(f->merge), ==, -1);
  /* a later push flushes what was due first, keeping order */
  feed(f, "first", T0 + 100 * MS);
  feed(f, "  late", T0 + 500 * MS);
  g_assert_cmpuint(f->out->len, ==, 2);
  g_assert_cmpstr(out(f, 1)->message, ==, "first");
}

static void
test_deadline_hold_max(Fixture *f, gconstpointer data)
{
  f->config.hold_max_usec = 200 * MS;
  start_merge(f);
  feed(f, "INFO:root:chatty", T0);
  for (gint64 t = 10 * MS; t < 200 * MS; t += 10 * MS) {
    feed(f, "  more", T0 + t);
    g_assert_cmpint(sv_logmerge_next_deadline(f->merge), <=, T0 + 200 * MS);
  }
  g_assert_cmpuint(f->out->len, ==, 0);
  g_assert_cmpint(sv_logmerge_next_deadline(f->merge), ==, T0 + 200 * MS);
  sv_logmerge_flush_due(f->merge, T0 + 200 * MS);
  g_assert_cmpuint(f->out->len, ==, 1);
  g_assert_cmpuint(out(f, 0)->n_lines, ==, 20);
}

static void
test_deadline_window_zero(Fixture *f, gconstpointer data)
{
  f->config.window_usec = 0;
  start_merge(f);
  feed(f, "a", T0);
  g_assert_cmpint(sv_logmerge_next_deadline(f->merge), ==, T0);
  feed(f, "  b", T0);
  sv_logmerge_flush_due(f->merge, T0);
  g_assert_cmpuint(f->out->len, ==, 2);
}

static void
test_caps_bytes(Fixture *f, gconstpointer data)
{
  f->config.max_bytes = 1024;
  start_merge(f);
  feed(f, "ERROR:root:boom\nTraceback (most recent call last):", T0);
  g_autofree char *name = g_strnfill(90, 'x');
  g_autofree char *frame = g_strdup_printf("  File \"%s\", line 1, in f", name);
  for (int i = 0; i < 30; i++)
    feed(f, frame, T0);
  feed(f, "ValueError: x\nINFO:root:after", T0);
  sv_logmerge_flush(f->merge);
  /* 30 frames of 113 bytes, 8 to an entry: four entries, then the line after */
  g_assert_cmpuint(f->out->len, ==, 5);
  guint lines = 0;
  for (guint i = 0; i < 4; i++) {
    const Emitted *e = out(f, i);
    g_assert_cmpuint(strlen(e->message), <=, 1024);
    if (i < 3)
      g_assert_cmpuint(strlen(e->message), >, 1024 - 114);
    g_assert_true(e->flags & SV_LOG_ENTRY_TRACEBACK);
    g_assert_cmpint(e->priority, ==, LOG_ERR);
    g_assert_cmpint(!!(e->flags & SV_LOG_ENTRY_CAPPED), ==, i < 3);
    lines += e->n_lines;
  }
  g_assert_cmpuint(lines, ==, 33);
  g_assert_true(g_str_has_suffix(out(f, 3)->message, "\nValueError: x"));
  g_assert_cmpstr(out(f, 4)->message, ==, "INFO:root:after");
}

static void
test_caps_lines(Fixture *f, gconstpointer data)
{
  f->config.max_lines = 3;
  start_merge(f);
  feed(f, "CRITICAL:root:a\n  1\n  2\n  3\n  4\n  5\n  6\nb", T0);
  g_assert_cmpuint(f->out->len, ==, 3);
  g_assert_cmpstr(out(f, 0)->message, ==, "CRITICAL:root:a\n  1\n  2");
  g_assert_cmpstr(out(f, 1)->message, ==, "  3\n  4\n  5");
  g_assert_cmpstr(out(f, 2)->message, ==, "  6");
  /* the rest keeps the priority of the line that started it */
  for (guint i = 0; i < 3; i++)
    g_assert_cmpint(out(f, i)->priority, ==, LOG_CRIT);
  g_assert_true(out(f, 0)->flags & SV_LOG_ENTRY_CAPPED);
  g_assert_true(out(f, 1)->flags & SV_LOG_ENTRY_CAPPED);
  g_assert_false(out(f, 2)->flags & SV_LOG_ENTRY_CAPPED);
}

static void
test_caps_long_line_not_cut(Fixture *f, gconstpointer data)
{
  f->config.max_bytes = 256;
  start_merge(f);
  g_autofree char *long_line = g_strnfill(1000, 'y');
  feed(f, "head", T0);
  feed(f, long_line, T0);
  long_line[0] = ' ';
  feed(f, long_line, T0);
  sv_logmerge_flush(f->merge);
  g_assert_cmpuint(f->out->len, ==, 3);
  g_assert_cmpuint(strlen(out(f, 1)->message), ==, 1000);
  g_assert_cmpuint(strlen(out(f, 2)->message), ==, 1000);
}

static void
test_partial_never_merged(Fixture *f, gconstpointer data)
{
  feed(f, "INFO:root:held", T0);
  push_line(f, "ERROR:root:huge", SV_LOG_ENTRY_PARTIAL, T0);
  push_line(f, "  middle", SV_LOG_ENTRY_CONTINUED | SV_LOG_ENTRY_PARTIAL, T0);
  push_line(f, "  end", SV_LOG_ENTRY_CONTINUED, T0);
  /* out at once, in order, none joined; the held line went first */
  g_assert_cmpuint(f->out->len, ==, 4);
  g_assert_cmpstr(out(f, 0)->message, ==, "INFO:root:held");
  g_assert_cmpstr(out(f, 1)->message, ==, "ERROR:root:huge");
  g_assert_cmpstr(out(f, 2)->message, ==, "  middle");
  g_assert_cmpstr(out(f, 3)->message, ==, "  end");
  /* later pieces carry the level of the first */
  for (guint i = 1; i < 4; i++) {
    g_assert_cmpint(out(f, i)->priority, ==, LOG_ERR);
    g_assert_cmpuint(out(f, i)->n_lines, ==, 1);
  }
  g_assert_cmpint(sv_logmerge_next_deadline(f->merge), ==, -1);
  /* an indented line after the split line does not join its last piece */
  feed(f, "  after", T0);
  sv_logmerge_flush(f->merge);
  g_assert_cmpuint(f->out->len, ==, 5);
  g_assert_cmpint(out(f, 4)->priority, ==, LOG_INFO);
}

static void
test_json_out_at_once(Fixture *f, gconstpointer data)
{
  feed(f, "INFO:root:held", T0);
  feed(f, "{\"event\": \"crashed\", \"level\": \"error\"}", T0);
  g_assert_cmpuint(f->out->len, ==, 2);
  g_assert_cmpstr(out(f, 1)->message, ==, "crashed");
  g_assert_cmpint(sv_logmerge_next_deadline(f->merge), ==, -1);
  /* and takes no continuation */
  feed(f, "  indented", T0);
  sv_logmerge_flush(f->merge);
  g_assert_cmpuint(f->out->len, ==, 3);
}

static void
test_real_session(Fixture *f, gconstpointer data)
{
  /* uvicorn's stderr, as one read() delivered it */
  feed(f,
       "INFO:     Started server process [8291]\n"
       "INFO:     Waiting for application startup.\n"
       "INFO:     Application startup complete.\n"
       "INFO:     Uvicorn running on http://127.0.0.1:18302 (Press CTRL+C to quit)",
       T0);
  feed(f, uvicorn_exception, T0 + 1000 * MS);
  feed(f, "INFO:     Shutting down\nINFO:     Finished server process [8291]", T0 + 2000 * MS);
  sv_logmerge_flush(f->merge);
  g_assert_cmpuint(f->out->len, ==, 7);
  g_assert_cmpstr(out(f, 4)->message, ==, uvicorn_exception);
  g_assert_cmpint(out(f, 4)->priority, ==, LOG_ERR);
  g_assert_cmpstr(out(f, 6)->message, ==, "INFO:     Finished server process [8291]");
}

static void
test_config_clamped(Fixture *f, gconstpointer data)
{
  f->config.window_usec = G_MAXINT64;
  f->config.hold_max_usec = G_MAXINT64;
  f->config.max_bytes = 0;
  f->config.max_lines = 0;
  start_merge(f);
  /* max_lines 0 became 1: every line is its own entry, and the cap says so */
  feed(f, "a\n  b\n  c", G_MAXINT64 - 10);
  g_assert_cmpuint(f->out->len, ==, 2);
  g_assert_true(out(f, 0)->flags & SV_LOG_ENTRY_CAPPED);
  /* time near the end of the range saturates instead of wrapping */
  g_assert_cmpint(sv_logmerge_next_deadline(f->merge), ==, G_MAXINT64);
  sv_logmerge_flush(f->merge);
  g_assert_cmpuint(f->out->len, ==, 3);

  f->config.window_usec = -5;
  start_merge(f);
  feed(f, "a", T0);
  g_assert_cmpint(sv_logmerge_next_deadline(f->merge), ==, T0);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
#define ADD(path, func) g_test_add(path, Fixture, NULL, setup, func, teardown)
  ADD("/logmerge/traceback/simple", test_traceback_simple);
  ADD("/logmerge/traceback/chained-during-handling", test_traceback_during_handling);
  ADD("/logmerge/traceback/chained-direct-cause", test_traceback_direct_cause);
  ADD("/logmerge/traceback/preceded-by-log-line", test_traceback_preceded_by_log_line);
  ADD("/logmerge/traceback/keeps-higher-severity", test_traceback_keeps_higher_severity);
  ADD("/logmerge/traceback/exception-group", test_traceback_exception_group);
  ADD("/logmerge/traceback/interrupted", test_traceback_interrupted);
  ADD("/logmerge/traceback/window-expiry", test_traceback_window_expiry);
  ADD("/logmerge/traceback/disabled", test_traceback_disabled);
  ADD("/logmerge/continuation/indented-joins", test_continuation_indented);
  ADD("/logmerge/continuation/stack-info", test_continuation_stack_info);
  ADD("/logmerge/continuation/more-severe-line", test_continuation_more_severe_line);
  ADD("/logmerge/continuation/window-expiry", test_continuation_window_expiry);
  ADD("/logmerge/continuation/disabled", test_continuation_disabled);
  ADD("/logmerge/all-disabled-passes-through", test_all_disabled_passes_through);
  ADD("/logmerge/deadline/lone-line-held-one-window", test_deadline_lone_line);
  ADD("/logmerge/deadline/hold-max", test_deadline_hold_max);
  ADD("/logmerge/deadline/window-zero", test_deadline_window_zero);
  ADD("/logmerge/caps/bytes", test_caps_bytes);
  ADD("/logmerge/caps/lines", test_caps_lines);
  ADD("/logmerge/caps/long-line-not-cut", test_caps_long_line_not_cut);
  ADD("/logmerge/partial/never-merged", test_partial_never_merged);
  ADD("/logmerge/json/out-at-once", test_json_out_at_once);
  ADD("/logmerge/real-uvicorn-session", test_real_session);
  ADD("/logmerge/config/clamped", test_config_clamped);
#undef ADD
  return g_test_run();
}
