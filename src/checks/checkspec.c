/* checkspec.c — the checks of [ready] and [health], parsed. */
#include "checkspec.h"

#include <glib/gi18n.h>
#include <string.h>
#include <sys/un.h>

G_DEFINE_QUARK(sv - checkspec - error - quark, sv_checkspec_error)

/* A check is one short line of configuration; anything longer is a mistake, and the
 * cap keeps error messages and journal fields readable. */
#define SV_CHECK_MAX_LEN 4096
/* sun_path holds 108 bytes; a path needs its terminating NUL, an abstract name its
 * leading one. */
#define SV_UNIX_PATH_MAX (sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1)

#define SV_CHECK_FORMS                                                                             \
  "notify, tcp://HOST:PORT, http://HOST:PORT/PATH, https://…, "                                  \
  "unix:/PATH, unix:@NAME, exec:COMMAND, file:/PATH"

static gboolean invalid(GError **error, const char *format, ...) G_GNUC_PRINTF(2, 3);

static gboolean
invalid(GError **error, const char *format, ...)
{
  va_list args;
  va_start(args, format);
  g_autofree char *message = g_strdup_vprintf(format, args);
  va_end(args);
  g_set_error_literal(error, SV_CHECKSPEC_ERROR, SV_CHECKSPEC_ERROR_INVALID, message);
  return FALSE;
}

static gboolean
has_prefix_ci(const char *text, const char *prefix)
{
  return g_ascii_strncasecmp(text, prefix, strlen(prefix)) == 0;
}

static gboolean
parse_port(const char *text, guint16 *out_port)
{
  gsize len = strlen(text);
  if (len == 0 || len > 5)
    return FALSE;
  guint value = 0;
  for (gsize i = 0; i < len; i++) {
    if (!g_ascii_isdigit(text[i]))
      return FALSE;
    value = value * 10 + (guint)(text[i] - '0');
  }
  if (value == 0 || value > 65535)
    return FALSE;
  *out_port = (guint16)value;
  return TRUE;
}

/* A DNS name as a resolver would take it. Not exhaustive (labels may still start with
 * '-'): the point is to catch typos such as a stray '/' or ' ' early, with a message. */
static gboolean
is_host_name(const char *host)
{
  gsize len = strlen(host);
  if (len == 0 || len > 253)
    return FALSE;
  for (const char *p = host; *p != '\0'; p++)
    if (!g_ascii_isalnum(*p) && *p != '-' && *p != '.' && *p != '_')
      return FALSE;
  return TRUE;
}

static gboolean
parse_tcp(SvCheckSpec *check, const char *text, GError **error)
{
  if (!has_prefix_ci(text, "tcp://"))
    return invalid(error, _("'%s' is not a tcp check (try tcp://127.0.0.1:8000)"), text);
  const char *rest = text + strlen("tcp://");
  if (*rest == '\0')
    return invalid(error, _("'%s' has no host and port (try tcp://127.0.0.1:8000)"), text);
  if (strpbrk(rest, "/?#@ \t") != NULL)
    return invalid(error, _("'%s': only HOST:PORT may follow tcp:// (try tcp://127.0.0.1:8000)"),
                   text);

  g_autofree char *host = NULL;
  const char *port_text;
  if (*rest == '[') {
    const char *close = strchr(rest, ']');
    if (close == NULL)
      return invalid(error, _("'%s' has an unclosed '[' (try tcp://[::1]:8000)"), text);
    host = g_strndup(rest + 1, (gsize)(close - rest - 1));
    if (close[1] == '\0')
      return invalid(error, _("'%s' has no port (try tcp://[%s]:8000)"), text, host);
    if (close[1] != ':')
      return invalid(error, _("'%s': a port must follow ']' (try tcp://[::1]:8000)"), text);
    if (!g_hostname_is_ip_address(host) || strchr(host, ':') == NULL)
      return invalid(error, _("'%s': '[%s]' is not an IPv6 address (try tcp://[::1]:8000)"), text,
                     host);
    port_text = close + 2;
  } else {
    const char *colon = strrchr(rest, ':');
    if (colon == NULL)
      return invalid(error, _("'%s' has no port (try tcp://%s:8000)"), text, rest);
    host = g_strndup(rest, (gsize)(colon - rest));
    if (strchr(host, ':') != NULL)
      return invalid(error, _("'%s': an IPv6 address needs brackets (try tcp://[::1]:8000)"), text);
    if (*host == '\0')
      return invalid(error, _("'%s' has no host (try tcp://127.0.0.1%s)"), text, colon);
    if (!g_hostname_is_ip_address(host) && !is_host_name(host))
      return invalid(error, _("'%s': '%s' is not a host name or IP address"), text, host);
    port_text = colon + 1;
  }
  if (!parse_port(port_text, &check->port))
    return invalid(error, _("'%s': '%s' is not a port number (1-65535)"), text, port_text);

  check->kind = SV_CHECK_TCP;
  check->text = strchr(host, ':') != NULL ? g_strdup_printf("tcp://[%s]:%u", host, check->port)
                                          : g_strdup_printf("tcp://%s:%u", host, check->port);
  check->host = g_steal_pointer(&host);
  return TRUE;
}

static gboolean
parse_http(SvCheckSpec *check, const char *text, GError **error)
{
  const char *example = "http://127.0.0.1:8000/health";
  if (strpbrk(text, " \t") != NULL)
    return invalid(error, _("'%s' contains a space (write it as %%20)"), text);

  /* The flags libsoup uses itself: the path and query stay as written (percent-escapes
   * and all), so what is sent is what the configuration says. */
  const GUriFlags flags = G_URI_FLAGS_ENCODED_PATH | G_URI_FLAGS_ENCODED_QUERY |
                          G_URI_FLAGS_ENCODED_FRAGMENT | G_URI_FLAGS_SCHEME_NORMALIZE;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GUri) uri = g_uri_parse(text, flags, &local_error);
  if (uri == NULL)
    return invalid(error, _("'%s' is not a URL: %s (try %s)"), text, local_error->message, example);
  const char *scheme = g_uri_get_scheme(uri);
  if (g_ascii_strcasecmp(scheme, "http") != 0 && g_ascii_strcasecmp(scheme, "https") != 0)
    return invalid(error, _("'%s' is not an http or https URL (try %s)"), text, example);
  const char *host = g_uri_get_host(uri);
  if (host == NULL || *host == '\0')
    return invalid(error, _("'%s' has no host (try %s)"), text, example);
  if (g_uri_get_userinfo(uri) != NULL)
    return invalid(error, _("'%s': user names and passwords in the URL are not supported"), text);
  if (g_uri_get_port(uri) == 0)
    return invalid(error, _("'%s': port 0 is not a port (try %s)"), text, example);

  /* The fragment is never sent, so it is not part of the check. Normalising through a
   * second parse makes the canonical spelling a fixed point. */
  g_autofree char *canonical = g_uri_to_string_partial(uri, G_URI_HIDE_FRAGMENT);
  g_autoptr(GUri) normal = g_uri_parse(canonical, flags, &local_error);
  if (normal == NULL)
    return invalid(error, _("'%s' is not a URL: %s (try %s)"), text, local_error->message, example);

  check->kind = SV_CHECK_HTTP;
  check->text = g_uri_to_string_partial(normal, G_URI_HIDE_FRAGMENT);
  check->uri = g_steal_pointer(&normal);
  return TRUE;
}

/* unix:/PATH and file:/PATH; "//" before the path is the URL spelling of the same. */
static const char *
skip_empty_authority(const char *rest, gboolean *out_has_host)
{
  *out_has_host = FALSE;
  if (g_str_has_prefix(rest, "//")) {
    if (rest[2] != '/')
      *out_has_host = TRUE;
    return rest + 2;
  }
  return rest;
}

/* "//run/x" is "/run/x" to Linux; one slash keeps the canonical spelling from reading as
 * a URL authority ("unix://run/x"). */
static const char *
skip_extra_slashes(const char *path)
{
  while (path[0] == '/' && path[1] == '/')
    path++;
  return path;
}

static gboolean
parse_unix(SvCheckSpec *check, const char *text, GError **error)
{
  gboolean has_host;
  const char *rest = skip_empty_authority(text + strlen("unix:"), &has_host);
  if (has_host)
    return invalid(error, _("'%s' names a host; a unix check is unix:/PATH or unix:@NAME"), text);
  if (*rest == '@') {
    if (rest[1] == '\0')
      return invalid(error, _("'%s' has no socket name (try unix:@app)"), text);
    if (strlen(rest + 1) > SV_UNIX_PATH_MAX)
      return invalid(error, _("'%s': a socket name has at most %zu bytes"), text,
                     (gsize)SV_UNIX_PATH_MAX);
    check->abstract = TRUE;
    check->path = g_strdup(rest + 1);
  } else {
    if (*rest != '/')
      return invalid(error, _("'%s' is not an absolute path (try unix:/run/app.sock or unix:@app)"),
                     text);
    if (strlen(rest) > SV_UNIX_PATH_MAX)
      return invalid(error, _("'%s': a socket path has at most %zu bytes"), text,
                     (gsize)SV_UNIX_PATH_MAX);
    check->path = g_strdup(skip_extra_slashes(rest));
  }
  check->kind = SV_CHECK_UNIX;
  check->text = g_strconcat("unix:", check->abstract ? "@" : "", check->path, NULL);
  return TRUE;
}

static gboolean
parse_file(SvCheckSpec *check, const char *text, GError **error)
{
  gboolean has_host;
  const char *rest = skip_empty_authority(text + strlen("file:"), &has_host);
  if (has_host)
    return invalid(error, _("'%s' names a host; a file check is file:/PATH"), text);
  if (*rest != '/')
    return invalid(error, _("'%s' is not an absolute path (try file:/run/app/ready)"), text);
  check->kind = SV_CHECK_FILE;
  check->path = g_strdup(skip_extra_slashes(rest));
  check->text = g_strconcat("file:", check->path, NULL);
  return TRUE;
}

static gboolean
parse_exec(SvCheckSpec *check, const char *text, GError **error)
{
  g_autofree char *command = g_strstrip(g_strdup(text + strlen("exec:")));
  if (*command == '\0')
    return invalid(
        error, _("'%s' has no command (try exec:curl -fsS http://127.0.0.1:8000/health)"), text);
  g_autoptr(GError) local_error = NULL;
  g_auto(GStrv) argv = NULL;
  if (!g_shell_parse_argv(command, NULL, &argv, &local_error))
    return invalid(error, _("'%s' cannot be split into words as a shell would: %s"), text,
                   local_error->message);
  check->kind = SV_CHECK_EXEC;
  check->text = g_strconcat("exec:", command, NULL);
  check->argv = g_steal_pointer(&argv);
  return TRUE;
}

SvCheckSpec *
sv_checkspec_parse(const char *text, GError **error)
{
  g_return_val_if_fail(text != NULL, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);

  gsize len = strlen(text);
  if (len > SV_CHECK_MAX_LEN) {
    invalid(error, _("a check of %zu bytes is too long (at most %d)"), len, SV_CHECK_MAX_LEN);
    return NULL;
  }
  if (!g_utf8_validate(text, (gssize)len, NULL)) {
    g_autofree char *shown = g_utf8_make_valid(text, (gssize)len);
    invalid(error, _("'%s' is not valid UTF-8"), shown);
    return NULL;
  }
  g_autofree char *stripped = g_strstrip(g_strdup(text));
  if (*stripped == '\0') {
    invalid(error, _("a check is empty (try one of: %s)"), SV_CHECK_FORMS);
    return NULL;
  }
  /* Control characters have no business in an address or a path, and would garble the
   * journal; a tab may separate words of a command. */
  gboolean is_exec = has_prefix_ci(stripped, "exec:");
  for (const char *p = stripped; *p != '\0'; p++) {
    if (((guchar)*p < 0x20 && !(is_exec && *p == '\t')) || *p == 0x7f) {
      g_autofree char *shown = g_strescape(stripped, NULL);
      invalid(error, _("'%s' contains a control character"), shown);
      return NULL;
    }
  }

  g_autoptr(SvCheckSpec) check = g_rc_box_new0(SvCheckSpec);
  gboolean ok;
  if (g_ascii_strcasecmp(stripped, "notify") == 0) {
    check->kind = SV_CHECK_NOTIFY;
    check->text = g_strdup("notify");
    ok = TRUE;
  } else if (has_prefix_ci(stripped, "notify")) {
    ok = invalid(error, _("'%s': notify takes no argument (the app sends READY=1 itself)"),
                 stripped);
  } else if (has_prefix_ci(stripped, "tcp:")) {
    ok = parse_tcp(check, stripped, error);
  } else if (has_prefix_ci(stripped, "http:") || has_prefix_ci(stripped, "https:")) {
    ok = parse_http(check, stripped, error);
  } else if (has_prefix_ci(stripped, "unix:")) {
    ok = parse_unix(check, stripped, error);
  } else if (is_exec) {
    ok = parse_exec(check, stripped, error);
  } else if (has_prefix_ci(stripped, "file:")) {
    ok = parse_file(check, stripped, error);
  } else {
    ok = invalid(error, _("'%s' is not a check (try one of: %s)"), stripped, SV_CHECK_FORMS);
  }
  return ok ? g_steal_pointer(&check) : NULL;
}

char *
sv_checkspec_to_string(const SvCheckSpec *check)
{
  g_return_val_if_fail(check != NULL, NULL);
  return g_strdup(check->text);
}

SvCheckKind
sv_checkspec_get_kind(const SvCheckSpec *check)
{
  g_return_val_if_fail(check != NULL, SV_CHECK_NOTIFY);
  return check->kind;
}

static void
clear(SvCheckSpec *check)
{
  g_free(check->text);
  g_free(check->host);
  g_clear_pointer(&check->uri, g_uri_unref);
  g_free(check->path);
  g_strfreev(check->argv);
}

SvCheckSpec *
sv_checkspec_ref(SvCheckSpec *check)
{
  g_return_val_if_fail(check != NULL, NULL);
  return g_rc_box_acquire(check);
}

void
sv_checkspec_unref(SvCheckSpec *check)
{
  if (check != NULL)
    g_rc_box_release_full(check, (GDestroyNotify)clear);
}

GPtrArray *
sv_checkspec_parse_list(const char *value, GError **error)
{
  g_return_val_if_fail(value != NULL, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);

  g_autoptr(GPtrArray) checks = g_ptr_array_new_with_free_func((GDestroyNotify)sv_checkspec_unref);
  if (*value == '\0')
    return g_steal_pointer(&checks);
  g_auto(GStrv) words = NULL;
  g_autoptr(GError) local = NULL;
  if (!g_shell_parse_argv(value, NULL, &words, &local)) {
    invalid(error, _("cannot split '%s' into checks: %s"), value, local->message);
    return NULL;
  }
  for (char **w = words; *w != NULL; w++) {
    SvCheckSpec *check = sv_checkspec_parse(*w, error);
    if (check == NULL)
      return NULL;
    g_ptr_array_add(checks, check);
  }
  return g_steal_pointer(&checks);
}

gboolean
sv_checkspec_list_has(GPtrArray *checks, SvCheckKind kind)
{
  for (guint i = 0; checks != NULL && i < checks->len; i++)
    if (((const SvCheckSpec *)checks->pdata[i])->kind == kind)
      return TRUE;
  return FALSE;
}
