/* test-checkspec.c — the check strings of [ready] and [health]: every form, every
 * error, the canonical spelling, and check= values of several checks. Pure: no probe,
 * no socket, no child. */
#include <string.h>

#include "checkspec.h"

/* ---- one check --------------------------------------------------------------------- */

typedef struct {
  const char *text;
  SvCheckKind kind;
  const char *canonical;
} ValidCase;

static const ValidCase valid_cases[] = {
    {"notify", SV_CHECK_NOTIFY, "notify"},
    {"  NOTIFY\t", SV_CHECK_NOTIFY, "notify"},
    {"tcp://127.0.0.1:8000", SV_CHECK_TCP, "tcp://127.0.0.1:8000"},
    {"TCP://localhost:08000", SV_CHECK_TCP, "tcp://localhost:8000"},
    {"tcp://[::1]:65535", SV_CHECK_TCP, "tcp://[::1]:65535"},
    {"tcp://app-1.internal_x:1", SV_CHECK_TCP, "tcp://app-1.internal_x:1"},
    {" tcp://h:80\t", SV_CHECK_TCP, "tcp://h:80"},
    {"http://127.0.0.1:8000/health", SV_CHECK_HTTP, "http://127.0.0.1:8000/health"},
    {"http://127.0.0.1:80/health", SV_CHECK_HTTP, "http://127.0.0.1/health"},
    {"HTTP://localhost", SV_CHECK_HTTP, "http://localhost/"},
    {"https://[::1]:8443/ready?full=1#frag", SV_CHECK_HTTP, "https://[::1]:8443/ready?full=1"},
    {"https://example.org:443/", SV_CHECK_HTTP, "https://example.org/"},
    {"http://h/a%20b", SV_CHECK_HTTP, "http://h/a%20b"},
    {"unix:/run/app.sock", SV_CHECK_UNIX, "unix:/run/app.sock"},
    {"unix:///run/app.sock", SV_CHECK_UNIX, "unix:/run/app.sock"},
    {"unix:////run//app.sock", SV_CHECK_UNIX, "unix:/run//app.sock"},
    {"UNIX:@app", SV_CHECK_UNIX, "unix:@app"},
    {"exec:/bin/true", SV_CHECK_EXEC, "exec:/bin/true"},
    {"exec:  curl -fsS 'http://x/a b' ", SV_CHECK_EXEC, "exec:curl -fsS 'http://x/a b'"},
    {"exec:a\tb", SV_CHECK_EXEC, "exec:a\tb"},
    {"file:/run/app/ready", SV_CHECK_FILE, "file:/run/app/ready"},
    {"file:///run/app/ready", SV_CHECK_FILE, "file:/run/app/ready"},
    {"FILE://///run/app/ready", SV_CHECK_FILE, "file:/run/app/ready"},
};

static void
test_valid(void)
{
  for (gsize i = 0; i < G_N_ELEMENTS(valid_cases); i++) {
    const ValidCase *c = &valid_cases[i];
    g_autoptr(GError) error = NULL;
    g_autoptr(SvCheckSpec) check = sv_checkspec_parse(c->text, &error);
    g_assert_no_error(error);
    g_assert_nonnull(check);
    g_assert_cmpint(sv_checkspec_get_kind(check), ==, c->kind);
    g_autofree char *text = sv_checkspec_to_string(check);
    g_assert_cmpstr(text, ==, c->canonical);

    /* The canonical spelling is a fixed point. */
    g_autoptr(SvCheckSpec) again = sv_checkspec_parse(text, &error);
    g_assert_no_error(error);
    g_assert_cmpint(sv_checkspec_get_kind(again), ==, c->kind);
    g_autofree char *text_again = sv_checkspec_to_string(again);
    g_assert_cmpstr(text_again, ==, text);
  }
}

/* What the probe reads from a parsed check: the parts of each form. */
static void
test_parts(void)
{
  g_autoptr(SvCheckSpec) tcp = sv_checkspec_parse("tcp://[::1]:8000", NULL);
  g_assert_cmpstr(tcp->host, ==, "::1");
  g_assert_cmpuint(tcp->port, ==, 8000);

  g_autoptr(SvCheckSpec) http = sv_checkspec_parse("https://h:8443/r?x=1#f", NULL);
  g_assert_cmpstr(g_uri_get_scheme(http->uri), ==, "https");
  g_assert_cmpstr(g_uri_get_host(http->uri), ==, "h");
  g_assert_cmpint(g_uri_get_port(http->uri), ==, 8443);
  g_assert_cmpstr(g_uri_get_path(http->uri), ==, "/r");
  g_assert_cmpstr(g_uri_get_query(http->uri), ==, "x=1");
  g_assert_null(g_uri_get_fragment(http->uri));

  g_autoptr(SvCheckSpec) path = sv_checkspec_parse("unix:///run/a.sock", NULL);
  g_assert_cmpstr(path->path, ==, "/run/a.sock");
  g_assert_false(path->abstract);
  g_autoptr(SvCheckSpec) abstract = sv_checkspec_parse("unix:@app", NULL);
  g_assert_cmpstr(abstract->path, ==, "app");
  g_assert_true(abstract->abstract);

  g_autoptr(SvCheckSpec) exec = sv_checkspec_parse("exec:sh -c 'exit 0'", NULL);
  g_assert_cmpuint(g_strv_length(exec->argv), ==, 3);
  g_assert_cmpstr(exec->argv[0], ==, "sh");
  g_assert_cmpstr(exec->argv[2], ==, "exit 0");

  g_autoptr(SvCheckSpec) file = sv_checkspec_parse("file:/run/ready", NULL);
  g_assert_cmpstr(file->path, ==, "/run/ready");
}

typedef struct {
  const char *text;
  const char *message_part; /* the message must contain this */
} InvalidCase;

/* The parser returned PARSED (NULL) and ERROR for C->text: a message a person can act on. */
static void
assert_rejected(const InvalidCase *c, gconstpointer parsed, const GError *error)
{
  g_assert_null(parsed);
  g_assert_error(error, SV_CHECKSPEC_ERROR, SV_CHECKSPEC_ERROR_INVALID);
  if (strstr(error->message, c->message_part) == NULL)
    g_error("'%s': message '%s' lacks '%s'", c->text, error->message, c->message_part);
}

static void
test_invalid(void)
{
  g_autofree char *too_long = g_strnfill(5000, 'a');
  g_autofree char *x107 = g_strnfill(107, 'x');
  g_autofree char *x120 = g_strnfill(120, 'x');
  g_autofree char *long_unix = g_strconcat("unix:/", x120, NULL);
  g_autofree char *long_abstract = g_strconcat("unix:@", x107, "y", NULL);
  const InvalidCase cases[] = {
      {"", "a check is empty (try one of: notify, tcp://HOST:PORT"},
      {"   ", "a check is empty"},
      {"ping", "'ping' is not a check (try one of: notify"},
      {"notify:yes", "notify takes no argument"},
      {"tcp://127.0.0.1", "'tcp://127.0.0.1' has no port (try tcp://127.0.0.1:8000)"},
      {"tcp:127.0.0.1:80", "is not a tcp check (try tcp://127.0.0.1:8000)"},
      {"tcp://", "has no host and port"},
      {"tcp://:80", "has no host (try tcp://127.0.0.1:80)"},
      {"tcp://::1:80", "an IPv6 address needs brackets (try tcp://[::1]:8000)"},
      {"tcp://[::1]", "has no port (try tcp://[::1]:8000)"},
      {"tcp://[::1]x80", "a port must follow ']'"},
      {"tcp://[::1:80", "unclosed '['"},
      {"tcp://[nope]:80", "'[nope]' is not an IPv6 address"},
      {"tcp://[127.0.0.1]:80", "'[127.0.0.1]' is not an IPv6 address"},
      {"tcp://h:0", "'0' is not a port number (1-65535)"},
      {"tcp://h:65536", "'65536' is not a port number"},
      {"tcp://h:123456", "'123456' is not a port number"},
      {"tcp://h:http", "'http' is not a port number"},
      {"tcp://h:80/", "only HOST:PORT may follow tcp://"},
      {"tcp://h$x:80", "'h$x' is not a host name or IP address"},
      {"http://", "has no host (try http://127.0.0.1:8000/health)"},
      {"http:/health", "has no host"},
      {"http://user:pw@h/", "user names and passwords in the URL are not supported"},
      {"http://h:0/", "port 0 is not a port"},
      {"http://h:99999/", "is not a URL"},
      {"http://h/a b", "contains a space (write it as %20)"},
      {"unix:run/app.sock", "is not an absolute path (try unix:/run/app.sock or unix:@app)"},
      {"unix:@", "has no socket name"},
      {"unix://host/x", "names a host"},
      {long_unix, "a socket path has at most 107 bytes"},
      {long_abstract, "a socket name has at most 107 bytes"},
      {"file:ready", "is not an absolute path (try file:/run/app/ready)"},
      {"file://host/x", "names a host"},
      {"exec:", "'exec:' has no command (try exec:curl"},
      {"exec:  ", "has no command"},
      {"exec:echo 'unterminated", "cannot be split into words as a shell would"},
      {"file:/a\nb", "contains a control character"},
      {"file:/a\x7f", "contains a control character"},
      {"\xff", "is not valid UTF-8"},
      {too_long, "a check of 5000 bytes is too long (at most 4096)"},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autoptr(GError) error = NULL;
    g_autoptr(SvCheckSpec) check = sv_checkspec_parse(cases[i].text, &error);
    assert_rejected(&cases[i], check, error);
  }
}

/* ---- a check= value ---------------------------------------------------------------- */

typedef struct {
  const char *value;
  const char *canonical[4]; /* NULL-terminated; the checks in order */
} ListCase;

static void
test_list_valid(void)
{
  static const ListCase cases[] = {
      {"", {NULL}},
      {"notify", {"notify", NULL}},
      {"notify http://127.0.0.1:8000/health", {"notify", "http://127.0.0.1:8000/health", NULL}},
      {"  tcp://h:1\t\tfile:/x  ", {"tcp://h:1", "file:/x", NULL}},
      {"'exec:curl -fsS http://h/' notify", {"exec:curl -fsS http://h/", "notify", NULL}},
      {"\"exec:sh -c 'test -e /x'\"", {"exec:sh -c 'test -e /x'", NULL}},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) checks = sv_checkspec_parse_list(cases[i].value, &error);
    g_assert_no_error(error);
    g_assert_nonnull(checks);
    g_assert_cmpuint(checks->len, ==, g_strv_length((char **)cases[i].canonical));
    for (guint j = 0; j < checks->len; j++) {
      g_autofree char *text = sv_checkspec_to_string(checks->pdata[j]);
      g_assert_cmpstr(text, ==, cases[i].canonical[j]);
    }
  }
}

static void
test_list_invalid(void)
{
  static const InvalidCase cases[] = {
      {"   ", "cannot split '   ' into checks"},
      {"notify 'exec:echo", "cannot split 'notify 'exec:echo' into checks"},
      {"notify ping", "'ping' is not a check"},
      {"tcp://h:1 tcp://h", "'tcp://h' has no port"},
      {"exec:curl -fsS http://h/", "'-fsS' is not a check"},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) checks = sv_checkspec_parse_list(cases[i].text, &error);
    assert_rejected(&cases[i], checks, error);
  }
}

static void
test_list_has(void)
{
  g_autoptr(GPtrArray) checks = sv_checkspec_parse_list("tcp://h:1 notify", NULL);
  g_assert_true(sv_checkspec_list_has(checks, SV_CHECK_NOTIFY));
  g_assert_true(sv_checkspec_list_has(checks, SV_CHECK_TCP));
  g_assert_false(sv_checkspec_list_has(checks, SV_CHECK_HTTP));
  g_assert_false(sv_checkspec_list_has(NULL, SV_CHECK_NOTIFY));
}

/* A probe keeps checks alive after the configuration that parsed them is gone. */
static void
test_ref(void)
{
  g_autoptr(GPtrArray) checks = sv_checkspec_parse_list("unix:@app", NULL);
  g_autoptr(SvCheckSpec) kept = sv_checkspec_ref(checks->pdata[0]);
  g_clear_pointer(&checks, g_ptr_array_unref);
  g_assert_cmpstr(kept->text, ==, "unix:@app");
  sv_checkspec_unref(NULL);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/checkspec/parse/every-form", test_valid);
  g_test_add_func("/checkspec/parse/parts", test_parts);
  g_test_add_func("/checkspec/parse/every-error", test_invalid);
  g_test_add_func("/checkspec/list/valid", test_list_valid);
  g_test_add_func("/checkspec/list/invalid", test_list_invalid);
  g_test_add_func("/checkspec/list/has", test_list_has);
  g_test_add_func("/checkspec/ref-outlives-list", test_ref);
  return g_test_run();
}
