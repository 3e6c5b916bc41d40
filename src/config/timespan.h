/* timespan.h — systemd-style time spans ("500ms", "30s", "5min", "1h 30min").
 *
 * Pure: no I/O. The same grammar systemd.time(7) documents, so a value can be copied
 * between a unit file and sdvisor's configuration unchanged. */
#pragma once
#include <glib.h>

/* G_USEC_PER_SEC is an int: spans of days overflow it in constant expressions. */
#define SV_USEC_PER_SEC G_GINT64_CONSTANT(1000000)

#define SV_TIMESPAN_ERROR (sv_timespan_error_quark())
GQuark sv_timespan_error_quark(void);

typedef enum {
  SV_TIMESPAN_ERROR_INVALID,
  SV_TIMESPAN_ERROR_OVERFLOW,
} SvTimespanError;

/* Parses TEXT into microseconds. A bare number is seconds, as in systemd.
 * "infinity" gives G_MAXINT64. Out-parameter untouched on failure. */
gboolean sv_timespan_parse(const char *text, gint64 *out_usec, GError **error);

/* Formats USEC the way systemd prints spans ("1min 30s", "250ms", "0"). */
char *sv_timespan_format(gint64 usec);

/* A + B for spans: G_MAXINT64 ("infinity") absorbs anything, and a sum that would
 * overflow is G_MAXINT64 rather than wrapping; the one saturating add of sdvisor. */
gint64 sv_timespan_add(gint64 a, gint64 b);
