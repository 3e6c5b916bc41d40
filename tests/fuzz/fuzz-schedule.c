/* fuzz-schedule.c — libFuzzer harness for schedule.[ch].
 *
 * Parses the input as a schedule in UTC and in Europe/Berlin and, when it is valid,
 * asks for a few successive elapses from fixed instants (the epoch, a DST transition in
 * each direction, the extremes). Beyond "no crash, no sanitizer report, no hang" it checks
 * what next() promises: every elapse is strictly after the instant asked about.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
 *     -D_GNU_SOURCE -Isrc $(pkg-config --cflags glib-2.0) tests/fuzz/fuzz-schedule.c \
 *     src/jobs/schedule.c src/config/timespan.c $(pkg-config --libs glib-2.0) -o fuzz-schedule
 *   ./fuzz-schedule -timeout=2 tests/fuzz/corpus/schedule */
#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "schedule.h"

static const gint64 afters[] = {
    G_MININT64,
    -G_GINT64_CONSTANT(2208988800000001), /* 1899-12-31T23:59:59.999999Z */
    -1,
    0,
    G_GINT64_CONSTANT(1735689600000000),   /* 2025-01-01T00:00:00Z */
    G_GINT64_CONSTANT(1743296399500000),   /* just before Berlin's 2025 spring-forward */
    G_GINT64_CONSTANT(1761436800000000),   /* 2025-10-26T00:00:00Z, in Berlin's repeated hour */
    G_GINT64_CONSTANT(7258118400000000),   /* 2200-01-01, past the last calendar year */
    G_GINT64_CONSTANT(253402300799000000), /* 9999-12-31T23:59:59Z */
    G_MAXINT64,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static GTimeZone *zones[2];

  if (zones[0] == NULL) {
    zones[0] = g_time_zone_new_utc();
    zones[1] = g_time_zone_new_identifier("Europe/Berlin");
    if (zones[1] == NULL)
      abort();
  }
  /* Longer inputs only exercise the length check; keep the fuzzer on the parser. */
  if (size > 2 * SV_SCHEDULE_MAX_LEN)
    return 0;

  g_autofree char *text = g_malloc(size + 1);
  memcpy(text, data, size);
  text[size] = '\0';

  for (gsize z = 0; z < G_N_ELEMENTS(zones); z++) {
    g_autoptr(GError) error = NULL;
    g_autoptr(SvSchedule) schedule = sv_schedule_parse(text, zones[z], &error);
    if (schedule == NULL) {
      /* Every failure explains itself. */
      if (error == NULL || error->message == NULL || error->message[0] == '\0')
        abort();
      continue;
    }
    if (error != NULL || strcmp(sv_schedule_get_text(schedule), text) != 0)
      abort();
    if (sv_schedule_is_interval(schedule) != (sv_schedule_interval_usec(schedule) > 0))
      abort();

    /* One more start that depends on the input, anywhere in 1970-2106, so that the
     * corpus covers transitions and month ends the fixed starts miss. */
    guint hash = g_str_hash(text);
    gint64 from_input = (gint64)hash * G_USEC_PER_SEC + hash % G_USEC_PER_SEC;
    for (gsize i = 0; i <= G_N_ELEMENTS(afters); i++) {
      gint64 after = i < G_N_ELEMENTS(afters) ? afters[i] : from_input;
      for (int k = 0; k < 3; k++) {
        gint64 next = sv_schedule_next(schedule, after);
        if (next == -1)
          break;
        if (next <= after)
          abort();
        after = next;
      }
    }
  }
  return 0;
}
