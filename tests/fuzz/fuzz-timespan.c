/* fuzz-timespan.c — libFuzzer harness: any bytes as a time span; what parses formats and
 * parses back to the same value. */
#include <glib.h>
#include <string.h>

#include "fuzz.h"
#include "timespan.h"

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
  g_autofree char *text = g_strndup((const char *)data, size);
  gint64 usec = 0;
  if (!sv_timespan_parse(text, &usec, NULL))
    return 0;
  g_assert_cmpint(usec, >=, 0);
  g_autofree char *formatted = sv_timespan_format(usec);
  gint64 back = -1;
  g_assert_true(sv_timespan_parse(formatted, &back, NULL));
  g_assert_cmpint(back, ==, usec);
  return 0;
}
