/* timespan.c — systemd-style time spans. */
#include "timespan.h"

#include <glib/gi18n.h>
#include <string.h>

G_DEFINE_QUARK(sv - timespan - error - quark, sv_timespan_error)

/* Longest accepted input: a span is a few words, anything longer is a mistake. */
#define SV_TIMESPAN_MAX_LEN 256

typedef struct {
  const char *suffix;
  gint64 usec;
} SvSpanUnit;

/* Longest suffixes first where one is a prefix of another ("ms" before "m"). */
static const SvSpanUnit span_units[] = {
    {"seconds", SV_USEC_PER_SEC},
    {"second", SV_USEC_PER_SEC},
    {"minutes", 60 * SV_USEC_PER_SEC},
    {"minute", 60 * SV_USEC_PER_SEC},
    {"months", (gint64)(30.44 * 86400) * SV_USEC_PER_SEC},
    {"month", (gint64)(30.44 * 86400) * SV_USEC_PER_SEC},
    {"msec", 1000},
    {"usec", 1},
    {"hours", 3600 * SV_USEC_PER_SEC},
    {"hour", 3600 * SV_USEC_PER_SEC},
    {"days", 86400 * SV_USEC_PER_SEC},
    {"day", 86400 * SV_USEC_PER_SEC},
    {"weeks", 7 * 86400 * SV_USEC_PER_SEC},
    {"week", 7 * 86400 * SV_USEC_PER_SEC},
    {"years", (gint64)(365.25 * 86400) * SV_USEC_PER_SEC},
    {"year", (gint64)(365.25 * 86400) * SV_USEC_PER_SEC},
    {"sec", SV_USEC_PER_SEC},
    {"min", 60 * SV_USEC_PER_SEC},
    {"hr", 3600 * SV_USEC_PER_SEC},
    {"ms", 1000},
    {"us", 1},
    {"\xc2\xb5s", 1}, /* µs */
    {"s", SV_USEC_PER_SEC},
    {"m", 60 * SV_USEC_PER_SEC},
    {"h", 3600 * SV_USEC_PER_SEC},
    {"d", 86400 * SV_USEC_PER_SEC},
    {"w", 7 * 86400 * SV_USEC_PER_SEC},
    {"M", (gint64)(30.44 * 86400) * SV_USEC_PER_SEC},
    {"y", (gint64)(365.25 * 86400) * SV_USEC_PER_SEC},
};

static const SvSpanUnit *
match_unit(const char *p, gsize *out_len)
{
  for (gsize i = 0; i < G_N_ELEMENTS(span_units); i++) {
    gsize len = strlen(span_units[i].suffix);
    if (strncmp(p, span_units[i].suffix, len) == 0 && !g_ascii_isalpha(p[len])) {
      *out_len = len;
      return &span_units[i];
    }
  }
  return NULL;
}

static gboolean
invalid(const char *text, GError **error)
{
  g_set_error(error, SV_TIMESPAN_ERROR, SV_TIMESPAN_ERROR_INVALID,
              _("'%s' is not a time span (try '30s', '500ms' or '5min')"), text);
  return FALSE;
}

gboolean
sv_timespan_parse(const char *text, gint64 *out_usec, GError **error)
{
  g_return_val_if_fail(text != NULL, FALSE);

  if (strlen(text) > SV_TIMESPAN_MAX_LEN) {
    g_set_error(error, SV_TIMESPAN_ERROR, SV_TIMESPAN_ERROR_INVALID,
                _("a time span of %zu characters is too long"), strlen(text));
    return FALSE;
  }

  const char *p = text;
  while (g_ascii_isspace(*p))
    p++;
  if (*p == '\0')
    return invalid(text, error);

  {
    g_autofree char *stripped = g_strstrip(g_strdup(p));
    if (g_str_equal(stripped, "infinity")) {
      *out_usec = G_MAXINT64;
      return TRUE;
    }
  }

  gint64 total = 0;
  while (*p != '\0') {
    if (!g_ascii_isdigit(*p) && *p != '.')
      return invalid(text, error);

    /* Integer and fractional parts separately: no floating point rounding for the
     * common integral case, and bounded digits so nothing overflows silently. */
    guint64 whole = 0;
    int digits = 0;
    while (g_ascii_isdigit(*p)) {
      if (++digits > 15) {
        g_set_error(error, SV_TIMESPAN_ERROR, SV_TIMESPAN_ERROR_OVERFLOW,
                    _("'%s' is too large for a time span"), text);
        return FALSE;
      }
      whole = whole * 10 + (guint64)(*p - '0');
      p++;
    }
    guint64 frac = 0, frac_scale = 1;
    if (*p == '.') {
      p++;
      if (!g_ascii_isdigit(*p) && digits == 0)
        return invalid(text, error);
      while (g_ascii_isdigit(*p)) {
        if (frac_scale < 1000000000ull) {
          frac = frac * 10 + (guint64)(*p - '0');
          frac_scale *= 10;
        }
        p++;
      }
    } else if (digits == 0) {
      return invalid(text, error);
    }

    while (*p == ' ' || *p == '\t')
      p++;

    gint64 unit = SV_USEC_PER_SEC;
    gsize unit_len = 0;
    if (g_ascii_isalpha(*p) || (guchar)*p == 0xc2) {
      const SvSpanUnit *u = match_unit(p, &unit_len);
      if (u == NULL)
        return invalid(text, error);
      unit = u->usec;
      p += unit_len;
    } else if (*p != '\0') {
      /* A number without a unit is seconds, but only as the last part: "1.2.3s" and
       * "5 10" are typos, not sums. */
      return invalid(text, error);
    }

    if (whole > (guint64)(G_MAXINT64 / unit)) {
      g_set_error(error, SV_TIMESPAN_ERROR, SV_TIMESPAN_ERROR_OVERFLOW,
                  _("'%s' is too large for a time span"), text);
      return FALSE;
    }
    gint64 part = (gint64)whole * unit + (gint64)((frac * (guint64)unit) / frac_scale);
    if (part > G_MAXINT64 - total) {
      g_set_error(error, SV_TIMESPAN_ERROR, SV_TIMESPAN_ERROR_OVERFLOW,
                  _("'%s' is too large for a time span"), text);
      return FALSE;
    }
    total += part;

    while (g_ascii_isspace(*p))
      p++;
  }

  *out_usec = total;
  return TRUE;
}

char *
sv_timespan_format(gint64 usec)
{
  static const struct {
    const char *suffix;
    gint64 usec;
  } units[] = {
      {"d", 86400 * SV_USEC_PER_SEC},
      {"h", 3600 * SV_USEC_PER_SEC},
      {"min", 60 * SV_USEC_PER_SEC},
      {"s", SV_USEC_PER_SEC},
      {"ms", 1000},
      {"us", 1},
  };

  if (usec == G_MAXINT64)
    return g_strdup("infinity");
  if (usec <= 0)
    return g_strdup("0");

  GString *out = g_string_new(NULL);
  for (gsize i = 0; i < G_N_ELEMENTS(units) && usec > 0; i++) {
    gint64 n = usec / units[i].usec;
    if (n == 0)
      continue;
    if (out->len > 0)
      g_string_append_c(out, ' ');
    g_string_append_printf(out, "%" G_GINT64_FORMAT "%s", n, units[i].suffix);
    usec -= n * units[i].usec;
  }
  return g_string_free(out, FALSE);
}

gint64
sv_timespan_add(gint64 a, gint64 b)
{
  if (a == G_MAXINT64 || b == G_MAXINT64)
    return G_MAXINT64;
  if (b > 0 && a > G_MAXINT64 - b)
    return G_MAXINT64;
  if (b < 0 && a < G_MININT64 - b)
    return G_MININT64;
  return a + b;
}
