/* listenspec.c — [app] listen= addresses, parsed. */
#include "listenspec.h"

#include <arpa/inet.h>
#include <glib/gi18n.h>
#include <string.h>

G_DEFINE_QUARK(sv - listenspec - error - quark, sv_listenspec_error)

/* A listen= value with more addresses than this is a mistake, and the app gets them all
 * as fds 3…: keep it well under the fd store's and spawn's limits. */
#define SV_LISTENSPEC_MAX 32

#define FORMS "127.0.0.1:8000, [::]:8000, unix:/run/shop/http.sock or unix:@shop"

static gboolean G_GNUC_PRINTF(2, 3) invalid(GError **error, const char *format, ...)
{
  va_list ap;
  va_start(ap, format);
  g_autofree char *message = g_strdup_vprintf(format, ap);
  va_end(ap);
  g_set_error_literal(error, SV_LISTENSPEC_ERROR, SV_LISTENSPEC_ERROR_INVALID, message);
  return FALSE;
}

void
sv_listenspec_free(SvListenSpec *spec)
{
  if (spec == NULL)
    return;
  g_free(spec->text);
  g_free(spec->host);
  g_free(spec->path);
  g_free(spec->origin);
  g_free(spec);
}

static gboolean
parse_port(const char *text, const char *port, guint16 *out, GError **error)
{
  guint64 n = 0;
  gboolean digits = *port != '\0' && strlen(port) <= 5;
  for (const char *p = port; digits && *p; p++)
    digits = g_ascii_isdigit(*p);
  if (!digits || !g_ascii_string_to_unsigned(port, 10, 1, 65535, &n, NULL))
    return invalid(error, _("'%s': '%s' is not a port (1 to 65535)"), text, port);
  *out = (guint16)n;
  return TRUE;
}

static gboolean
parse_unix(SvListenSpec *spec, const char *text, const char *rest, GError **error)
{
  spec->kind = SV_LISTEN_UNIX;
  spec->abstract = rest[0] == '@';
  const char *path = spec->abstract ? rest + 1 : rest;
  if (*path == '\0')
    return invalid(error, _("'%s': no path after 'unix:' (try unix:/run/shop/http.sock)"), text);
  if (!spec->abstract && path[0] != '/')
    return invalid(error, _("'%s': a unix socket path is absolute (try unix:/run/shop/http.sock)"),
                   text);
  if (strlen(path) > SV_LISTENSPEC_UNIX_PATH_MAX)
    return invalid(error, _("'%s': longer than %d bytes, the most a unix socket address holds"),
                   text, SV_LISTENSPEC_UNIX_PATH_MAX);
  for (const char *p = path; *p; p++)
    if (g_ascii_iscntrl(*p))
      return invalid(error, _("'%s': control characters in a socket path"), text);
  if (!spec->abstract && (g_str_has_suffix(path, "/") || strstr(path, "/../") != NULL ||
                          g_str_has_suffix(path, "/..")))
    return invalid(error, _("'%s': not a plain path to a socket file"), text);
  spec->path = g_strdup(path);
  spec->text = g_strconcat("unix:", spec->abstract ? "@" : "", path, NULL);
  return TRUE;
}

static gboolean
parse_tcp(SvListenSpec *spec, const char *text, GError **error)
{
  spec->kind = SV_LISTEN_TCP;
  g_autofree char *host = NULL;
  const char *port;
  if (text[0] == '[') {
    const char *close = strchr(text, ']');
    if (close == NULL || close[1] != ':')
      return invalid(error,
                     _("'%s' is not an address: an IPv6 address is written [ADDRESS]:PORT "
                       "(try [::]:8000)"),
                     text);
    host = g_strndup(text + 1, (gsize)(close - text - 1));
    port = close + 2;
    spec->ipv6 = TRUE;
  } else {
    const char *colon = strrchr(text, ':');
    if (colon == NULL) {
      if (g_ascii_isdigit(text[0]))
        return invalid(error,
                       _("'%s' has no address: write 0.0.0.0:%s (every IPv4 address), "
                         "[::]:%s (every address) or 127.0.0.1:%s"),
                       text, text, text, text);
      return invalid(error, _("'%s' is not an address (try %s)"), text, FORMS);
    }
    if (strchr(text, ':') != colon)
      return invalid(error, _("'%s': an IPv6 address goes in brackets: [ADDRESS]:PORT"), text);
    host = g_strndup(text, (gsize)(colon - text));
    port = colon + 1;
  }
  /* Numeric only, and no zone (fe80::1%eth0): bind() takes no name and no scope here.
   * inet_pton() is what the socket will be bound with, so what parses here binds. */
  guint8 addr[16];
  char canonical[64];
  int family = spec->ipv6 ? AF_INET6 : AF_INET;
  if (*host == '\0')
    return invalid(error, _("'%s' has no address: write 0.0.0.0%s or [::]%s"), text,
                   text[0] == '[' ? text + 2 : text, text[0] == '[' ? text + 2 : text);
  if (inet_pton(family, host, addr) != 1 ||
      inet_ntop(family, addr, canonical, sizeof canonical) == NULL)
    return invalid(error,
                   _("'%s': '%s' is not a numeric IP address (names are not looked up: "
                     "try 127.0.0.1 or [::1])"),
                   text, host);
  if (!parse_port(text, port, &spec->port, error))
    return FALSE;
  spec->host = g_strdup(canonical);
  spec->text = spec->ipv6 ? g_strdup_printf("[%s]:%u", spec->host, spec->port)
                          : g_strdup_printf("%s:%u", spec->host, spec->port);
  return TRUE;
}

SvListenSpec *
sv_listenspec_parse(const char *text, GError **error)
{
  g_return_val_if_fail(text != NULL, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);

  g_autofree char *trimmed = g_strstrip(g_strdup(text));
  g_autoptr(SvListenSpec) spec = g_new0(SvListenSpec, 1);
  if (*trimmed == '\0') {
    invalid(error, _("an empty address (try %s)"), FORMS);
    return NULL;
  }
  if (!g_utf8_validate(trimmed, -1, NULL)) {
    invalid(error, _("an address that is not UTF-8 text"));
    return NULL;
  }
  gboolean ok;
  if (g_ascii_strncasecmp(trimmed, "unix:", 5) == 0)
    ok = parse_unix(spec, trimmed, trimmed + 5, error);
  else if (strstr(trimmed, "://") != NULL)
    ok = invalid(error, _("'%s': no scheme in a listen address (try %s)"), trimmed, FORMS);
  else
    ok = parse_tcp(spec, trimmed, error);
  return ok ? g_steal_pointer(&spec) : NULL;
}

GPtrArray *
sv_listenspec_parse_list(const char *value, const char *origin, GError **error)
{
  g_return_val_if_fail(value != NULL, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);

  g_autoptr(GPtrArray) specs = g_ptr_array_new_with_free_func((GDestroyNotify)sv_listenspec_free);
  g_autofree char *trimmed = g_strstrip(g_strdup(value));
  if (*trimmed == '\0')
    return g_steal_pointer(&specs);
  g_auto(GStrv) words = NULL;
  g_autoptr(GError) local = NULL;
  if (!g_shell_parse_argv(trimmed, NULL, &words, &local)) {
    invalid(error, _("cannot split '%s' into addresses: %s"), value, local->message);
    return NULL;
  }
  if (g_strv_length(words) > SV_LISTENSPEC_MAX) {
    invalid(error, _("more than %d addresses"), SV_LISTENSPEC_MAX);
    return NULL;
  }
  for (char **w = words; *w != NULL; w++) {
    SvListenSpec *spec = sv_listenspec_parse(*w, error);
    if (spec == NULL)
      return NULL;
    for (guint i = 0; i < specs->len; i++)
      if (g_str_equal(((SvListenSpec *)specs->pdata[i])->text, spec->text)) {
        invalid(error, _("'%s' is listed twice"), spec->text);
        sv_listenspec_free(spec);
        return NULL;
      }
    spec->origin = g_strdup(origin);
    g_ptr_array_add(specs, spec);
  }
  return g_steal_pointer(&specs);
}

char *
sv_listenspec_fdname(const SvListenSpec *spec)
{
  /* Names are ASCII without control characters or ':' (sd_notify(3)); a path may be
   * UTF-8: each byte of it outside ASCII becomes '_' as well. */
  char *name = g_strdup(spec->text);
  for (char *p = name; *p; p++)
    if (*p == ':' || (guchar)*p >= 0x80)
      *p = '_';
  return name;
}
