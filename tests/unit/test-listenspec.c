/* test-listenspec.c — the addresses of [app] listen=: every form, every error, the
 * canonical spelling, lists, and the fd names. Pure: no socket. */
#include <string.h>

#include "listenspec.h"

typedef struct {
  const char *text;
  SvListenKind kind;
  const char *canonical;
} ValidCase;

static const ValidCase valid_cases[] = {
    {"127.0.0.1:8000", SV_LISTEN_TCP, "127.0.0.1:8000"},
    {"  0.0.0.0:80\t", SV_LISTEN_TCP, "0.0.0.0:80"},
    {"[::]:8000", SV_LISTEN_TCP, "[::]:8000"},
    {"[::1]:65535", SV_LISTEN_TCP, "[::1]:65535"},
    {"[FE80::AB]:1", SV_LISTEN_TCP, "[fe80::ab]:1"},
    {"127.0.0.1:08000", SV_LISTEN_TCP, "127.0.0.1:8000"},
    /* IPv6 in the one spelling inet_ntop() gives, so that a duplicate is seen. */
    {"[0:0::0]:8000", SV_LISTEN_TCP, "[::]:8000"},
    {"[::FFFF:127.0.0.1]:80", SV_LISTEN_TCP, "[::ffff:127.0.0.1]:80"},
    {"unix:/run/shop/http.sock", SV_LISTEN_UNIX, "unix:/run/shop/http.sock"},
    {"UNIX:/run/x", SV_LISTEN_UNIX, "unix:/run/x"},
    {"unix:@shop", SV_LISTEN_UNIX, "unix:@shop"},
};

static void
test_valid(void)
{
  for (gsize i = 0; i < G_N_ELEMENTS(valid_cases); i++) {
    const ValidCase *c = &valid_cases[i];
    g_autoptr(GError) error = NULL;
    g_autoptr(SvListenSpec) spec = sv_listenspec_parse(c->text, &error);
    g_assert_no_error(error);
    g_assert_cmpint(spec->kind, ==, c->kind);
    g_assert_cmpstr(spec->text, ==, c->canonical);
    /* The canonical spelling is a fixed point. */
    g_autoptr(SvListenSpec) again = sv_listenspec_parse(spec->text, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(again->text, ==, spec->text);
  }
}

static void
test_fields(void)
{
  g_autoptr(SvListenSpec) v6 = sv_listenspec_parse("[::1]:8443", NULL);
  g_assert_true(v6->ipv6);
  g_assert_cmpstr(v6->host, ==, "::1");
  g_assert_cmpuint(v6->port, ==, 8443);
  g_autoptr(SvListenSpec) v4 = sv_listenspec_parse("10.1.2.3:1", NULL);
  g_assert_false(v4->ipv6);
  g_assert_cmpstr(v4->host, ==, "10.1.2.3");
  g_assert_cmpuint(v4->port, ==, 1);
  g_autoptr(SvListenSpec) path = sv_listenspec_parse("unix:/run/a.sock", NULL);
  g_assert_cmpstr(path->path, ==, "/run/a.sock");
  g_assert_false(path->abstract);
  g_autoptr(SvListenSpec) abstract = sv_listenspec_parse("unix:@a", NULL);
  g_assert_cmpstr(abstract->path, ==, "a");
  g_assert_true(abstract->abstract);
  g_assert_null(abstract->origin);
}

typedef struct {
  const char *text;
  const char *needle; /* the message says this */
} InvalidCase;

static const InvalidCase invalid_cases[] = {
    {"", "empty"},
    {"8000", "write 0.0.0.0:8000"},
    {":8000", "has no address"},
    {"localhost:8000", "not a numeric IP address"},
    {"example.org:80", "not a numeric IP address"},
    {"1.2.3:80", "not a numeric IP address"},
    {"01.2.3.4:80", "not a numeric IP address"},
    {"1.2.3.256:80", "not a numeric IP address"},
    {"::1:8000", "goes in brackets"},
    {"[::1]8000", "[ADDRESS]:PORT"},
    {"[127.0.0.1]:80", "not a numeric IP address"},
    {"[fe80::1%eth0]:80", "not a numeric IP address"},
    {"127.0.0.1:0", "not a port"},
    {"127.0.0.1:65536", "not a port"},
    {"127.0.0.1:80a", "not a port"},
    {"127.0.0.1:", "not a port"},
    {"127.0.0.1:+80", "not a port"},
    {"tcp://127.0.0.1:80", "no scheme"},
    {"http://127.0.0.1:80", "no scheme"},
    {"unix:", "no path"},
    {"unix:@", "no path"},
    {"unix:run/x.sock", "absolute"},
    {"unix:/run/dir/", "plain path"},
    {"unix:/run/../etc/x", "plain path"},
    {"unix:/run/a\tb", "control characters"},
    {"sdvisor", "not an address"},
};

static void
test_invalid(void)
{
  for (gsize i = 0; i < G_N_ELEMENTS(invalid_cases); i++) {
    const InvalidCase *c = &invalid_cases[i];
    g_autoptr(GError) error = NULL;
    g_autoptr(SvListenSpec) spec = sv_listenspec_parse(c->text, &error);
    g_assert_null(spec);
    g_assert_error(error, SV_LISTENSPEC_ERROR, SV_LISTENSPEC_ERROR_INVALID);
    if (strstr(error->message, c->needle) == NULL)
      g_error("'%s': message «%s» lacks «%s»", c->text, error->message, c->needle);
  }
}

static void
test_path_length(void)
{
  /* sun_path holds 108 bytes with the NUL: 107 of path. */
  g_autofree char *longest = g_strnfill(SV_LISTENSPEC_UNIX_PATH_MAX, 'a');
  longest[0] = '/';
  g_autofree char *ok = g_strconcat("unix:", longest, NULL);
  g_autoptr(SvListenSpec) spec = sv_listenspec_parse(ok, NULL);
  g_assert_nonnull(spec);
  g_autofree char *too_long = g_strconcat(ok, "a", NULL);
  g_autoptr(GError) error = NULL;
  g_assert_null(sv_listenspec_parse(too_long, &error));
  g_assert_nonnull(strstr(error->message, "107 bytes"));
}

static void
test_list(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) specs =
      sv_listenspec_parse_list(" 127.0.0.1:8000  [::]:8001 'unix:/run/a b.sock' ", "f:3", &error);
  g_assert_no_error(error);
  g_assert_cmpuint(specs->len, ==, 3);
  g_assert_cmpstr(((SvListenSpec *)specs->pdata[0])->text, ==, "127.0.0.1:8000");
  g_assert_cmpstr(((SvListenSpec *)specs->pdata[1])->text, ==, "[::]:8001");
  g_assert_cmpstr(((SvListenSpec *)specs->pdata[2])->path, ==, "/run/a b.sock");
  for (guint i = 0; i < specs->len; i++)
    g_assert_cmpstr(((SvListenSpec *)specs->pdata[i])->origin, ==, "f:3");

  g_autoptr(GPtrArray) empty = sv_listenspec_parse_list("  ", NULL, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(empty->len, ==, 0);
}

static void
test_list_errors(void)
{
  g_autoptr(GError) error = NULL;
  g_assert_null(sv_listenspec_parse_list("127.0.0.1:80 127.0.0.1:080", NULL, &error));
  g_assert_nonnull(strstr(error->message, "'127.0.0.1:80' is listed twice"));
  g_clear_error(&error);
  g_assert_null(sv_listenspec_parse_list("[::]:80 [0::0]:80", NULL, &error));
  g_assert_nonnull(strstr(error->message, "'[::]:80' is listed twice"));
  g_clear_error(&error);
  g_assert_null(sv_listenspec_parse_list("127.0.0.1:80 localhost:81", NULL, &error));
  g_assert_nonnull(strstr(error->message, "localhost"));
  g_clear_error(&error);
  g_assert_null(sv_listenspec_parse_list("'unix:/a", NULL, &error));
  g_assert_nonnull(strstr(error->message, "cannot split"));
  g_clear_error(&error);
  GString *many = g_string_new(NULL);
  for (int i = 1; i <= 33; i++)
    g_string_append_printf(many, "127.0.0.1:%d ", i);
  g_assert_null(sv_listenspec_parse_list(many->str, NULL, &error));
  g_assert_nonnull(strstr(error->message, "more than 32"));
  g_string_free(many, TRUE);
}

/* Names are what LISTEN_FDNAMES and FDNAME= accept: ASCII, no control character, no ':'. */
static void
test_fdname(void)
{
  static const struct {
    const char *text, *name;
  } cases[] = {
      {"127.0.0.1:8000", "127.0.0.1_8000"},
      {"[::]:8000", "[__]_8000"},
      {"unix:/run/shop/http.sock", "unix_/run/shop/http.sock"},
      {"unix:@shop", "unix_@shop"},
      {"unix:/run/caf\xc3\xa9.sock", "unix_/run/caf__.sock"},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autoptr(SvListenSpec) spec = sv_listenspec_parse(cases[i].text, NULL);
    g_autofree char *name = sv_listenspec_fdname(spec);
    g_assert_cmpstr(name, ==, cases[i].name);
    g_assert_cmpuint(strlen(name), <=, 255);
    for (const char *p = name; *p; p++)
      g_assert_true(*p != ':' && g_ascii_isprint(*p));
  }
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/listenspec/valid-forms", test_valid);
  g_test_add_func("/listenspec/fields", test_fields);
  g_test_add_func("/listenspec/invalid-forms-say-why", test_invalid);
  g_test_add_func("/listenspec/unix-path-length", test_path_length);
  g_test_add_func("/listenspec/list", test_list);
  g_test_add_func("/listenspec/list-errors", test_list_errors);
  g_test_add_func("/listenspec/fdname-is-valid", test_fdname);
  return g_test_run();
}
