/* test-schedule.c — schedule.[ch]: a table of schedules and their next elapses, the DST
 * rules, the messages of bad expressions, and random schedules against a brute-force
 * oracle. */
#include <glib.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "schedule.h"

/* ---- the table: schedule, zone, start, then each next elapse from the previous ---- */

typedef struct {
  const char *path;
  const char *zone;
  const char *text;
  const char *after;
  const char *expect[6]; /* "never" = -1 */
} NextCase;

static const NextCase next_cases[] = {
    /* cron basics */
    {"/schedule/cron/every-minute",
     "UTC",
     "* * * * *",
     "2025-01-01T00:00:00Z",
     {"2025-01-01T00:01:00Z", "2025-01-01T00:02:00Z"}},
    {"/schedule/cron/strictly-after",
     "UTC",
     "0 12 * * *",
     "2025-01-01T12:00:00Z",
     {"2025-01-02T12:00:00Z"}},
    {"/schedule/cron/just-before",
     "UTC",
     "0 12 * * *",
     "2025-01-01T11:59:59.999999Z",
     {"2025-01-01T12:00:00Z"}},
    {"/schedule/cron/mid-minute",
     "UTC",
     "* * * * *",
     "2025-01-01T00:00:30.5Z",
     {"2025-01-01T00:01:00Z"}},
    {"/schedule/cron/step-and-range",
     "UTC",
     "10-50/20 9-17/4 * * *",
     "2025-01-01T00:00:00Z",
     {"2025-01-01T09:10:00Z", "2025-01-01T09:30:00Z", "2025-01-01T09:50:00Z",
      "2025-01-01T13:10:00Z", "2025-01-01T13:30:00Z"}},
    {"/schedule/cron/step-7",
     "UTC",
     "*/7 * * * *",
     "2025-01-01T10:50:00Z",
     {"2025-01-01T10:56:00Z", "2025-01-01T11:00:00Z", "2025-01-01T11:07:00Z"}},
    {"/schedule/cron/list",
     "UTC",
     "1,5,9 * * * *",
     "2025-01-01T10:05:00Z",
     {"2025-01-01T10:09:00Z", "2025-01-01T11:01:00Z", "2025-01-01T11:05:00Z"}},
    {"/schedule/cron/start-and-step",
     "UTC",
     "5/15 * * * *",
     "2025-01-01T10:00:00Z",
     {"2025-01-01T10:05:00Z", "2025-01-01T10:20:00Z", "2025-01-01T10:35:00Z",
      "2025-01-01T10:50:00Z", "2025-01-01T11:05:00Z"}},
    {"/schedule/cron/hour-step",
     "UTC",
     "0 */6 * * *",
     "2025-01-01T07:00:00Z",
     {"2025-01-01T12:00:00Z", "2025-01-01T18:00:00Z", "2025-01-02T00:00:00Z"}},
    {"/schedule/cron/month-names",
     "UTC",
     "0 0 1 jan,JUL *",
     "2025-02-01T00:00:00Z",
     {"2025-07-01T00:00:00Z", "2026-01-01T00:00:00Z"}},
    {"/schedule/cron/month-name-range",
     "UTC",
     "0 0 1 Nov-Dec *",
     "2025-02-01T00:00:00Z",
     {"2025-11-01T00:00:00Z", "2025-12-01T00:00:00Z", "2026-11-01T00:00:00Z"}},
    {"/schedule/cron/day-names",
     "UTC",
     "0 9 * * MON-fri",
     "2025-01-03T10:00:00Z",
     {"2025-01-06T09:00:00Z", "2025-01-07T09:00:00Z"}},
    {"/schedule/cron/sunday-is-7",
     "UTC",
     "0 0 * * 7",
     "2025-01-01T00:00:00Z",
     {"2025-01-05T00:00:00Z", "2025-01-12T00:00:00Z"}},
    {"/schedule/cron/sunday-is-0",
     "UTC",
     "0 0 * * 0",
     "2025-01-01T00:00:00Z",
     {"2025-01-05T00:00:00Z"}},
    {"/schedule/cron/range-to-7",
     "UTC",
     "0 0 * * 5-7",
     "2025-01-01T00:00:00Z",
     {"2025-01-03T00:00:00Z", "2025-01-04T00:00:00Z", "2025-01-05T00:00:00Z",
      "2025-01-10T00:00:00Z"}},
    {"/schedule/cron/range-to-sunday-by-name",
     "UTC",
     "0 0 * * FRI-SUN",
     "2025-01-01T00:00:00Z",
     {"2025-01-03T00:00:00Z", "2025-01-04T00:00:00Z", "2025-01-05T00:00:00Z",
      "2025-01-10T00:00:00Z"}},
    {"/schedule/cron/dom-dow-either",
     "UTC",
     "0 0 13 * FRI",
     "2025-01-01T00:00:00Z",
     {"2025-01-03T00:00:00Z", "2025-01-10T00:00:00Z", "2025-01-13T00:00:00Z",
      "2025-01-17T00:00:00Z"}},
    {"/schedule/cron/dom-star-step-and-dow-both",
     "UTC",
     "0 0 */2 * MON",
     "2025-01-01T00:00:00Z",
     {"2025-01-13T00:00:00Z", "2025-01-27T00:00:00Z", "2025-02-03T00:00:00Z",
      "2025-02-17T00:00:00Z"}},
    {"/schedule/cron/dow-only",
     "UTC",
     "0 0 * * MON",
     "2025-01-01T00:00:00Z",
     {"2025-01-06T00:00:00Z", "2025-01-13T00:00:00Z"}},
    {"/schedule/cron/dom-only",
     "UTC",
     "0 0 13 * *",
     "2025-01-01T00:00:00Z",
     {"2025-01-13T00:00:00Z", "2025-02-13T00:00:00Z"}},
    {"/schedule/cron/feb-29",
     "UTC",
     "0 0 29 2 *",
     "2025-01-01T00:00:00Z",
     {"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}},
    {"/schedule/cron/feb-29-century",
     "UTC",
     "0 0 29 2 *",
     "2097-01-01T00:00:00Z",
     {"2104-02-29T00:00:00Z"}},
    {"/schedule/cron/month-end-31",
     "UTC",
     "0 0 31 * *",
     "2025-04-01T00:00:00Z",
     {"2025-05-31T00:00:00Z", "2025-07-31T00:00:00Z", "2025-08-31T00:00:00Z",
      "2025-10-31T00:00:00Z", "2025-12-31T00:00:00Z", "2026-01-31T00:00:00Z"}},
    {"/schedule/cron/never-feb-30", "UTC", "0 0 30 2 *", "2025-01-01T00:00:00Z", {"never"}},
    {"/schedule/cron/never-31-in-short-months",
     "UTC",
     "0 0 31 2,4,6,9,11 *",
     "2025-01-01T00:00:00Z",
     {"never"}},
    {"/schedule/cron/never-feb-30-even-with-dow-star",
     "UTC",
     "0 0 30 2 */2",
     "2025-01-01T00:00:00Z",
     {"never"}},
    {"/schedule/cron/feb-30-or-monday",
     "UTC",
     "0 0 30 2 MON",
     "2025-01-01T00:00:00Z",
     {"2025-02-03T00:00:00Z", "2025-02-10T00:00:00Z"}},
    {"/schedule/cron/year-rollover",
     "UTC",
     "59 23 31 12 *",
     "2025-12-31T23:59:00Z",
     {"2026-12-31T23:59:00Z"}},
    {"/schedule/cron/whitespace",
     "UTC",
     "  0\t12  * *   * ",
     "2025-01-01T00:00:00Z",
     {"2025-01-01T12:00:00Z"}},
    {"/schedule/cron/in-zone",
     "Europe/Berlin",
     "0 9 * * *",
     "2025-01-01T00:00:00Z",
     {"2025-01-01T09:00:00+01:00", "2025-01-02T09:00:00+01:00"}},
    {"/schedule/cron/before-1970",
     "UTC",
     "0 0 1 1 *",
     "1900-06-01T00:00:00Z",
     {"1901-01-01T00:00:00Z"}},

    /* cron nicknames */
    {"/schedule/at/hourly",
     "UTC",
     "@hourly",
     "2025-01-01T10:30:00Z",
     {"2025-01-01T11:00:00Z", "2025-01-01T12:00:00Z"}},
    {"/schedule/at/daily", "UTC", "@daily", "2025-01-01T10:30:00Z", {"2025-01-02T00:00:00Z"}},
    {"/schedule/at/midnight", "UTC", "@MIDNIGHT", "2025-01-01T10:30:00Z", {"2025-01-02T00:00:00Z"}},
    {"/schedule/at/weekly-is-sunday",
     "UTC",
     "@weekly",
     "2025-01-01T00:00:00Z",
     {"2025-01-05T00:00:00Z", "2025-01-12T00:00:00Z"}},
    {"/schedule/at/monthly",
     "UTC",
     "@monthly",
     "2025-01-15T00:00:00Z",
     {"2025-02-01T00:00:00Z", "2025-03-01T00:00:00Z"}},
    {"/schedule/at/yearly", "UTC", "@yearly", "2025-01-15T00:00:00Z", {"2026-01-01T00:00:00Z"}},
    {"/schedule/at/annually", "UTC", "@annually", "2025-01-15T00:00:00Z", {"2026-01-01T00:00:00Z"}},

    /* intervals: k * interval since the epoch */
    {"/schedule/every/30s",
     "UTC",
     "every 30s",
     "2025-01-01T00:00:10Z",
     {"2025-01-01T00:00:30Z", "2025-01-01T00:01:00Z", "2025-01-01T00:01:30Z"}},
    {"/schedule/every/30s-from-the-epoch",
     "UTC",
     "every 30s",
     "1970-01-01T00:00:00Z",
     {"1970-01-01T00:00:30Z"}},
    {"/schedule/every/30s-before-the-epoch",
     "UTC",
     "every 30s",
     "1969-12-31T23:59:59Z",
     {"1970-01-01T00:00:00Z"}},
    {"/schedule/every/sub-second-after",
     "UTC",
     "every 30s",
     "2025-01-01T00:00:29.999999Z",
     {"2025-01-01T00:00:30Z"}},
    {"/schedule/every/7min-is-aligned-to-the-epoch-not-the-hour",
     "UTC",
     "every 7min",
     "2025-01-01T00:00:00Z",
     {"2025-01-01T00:05:00Z", "2025-01-01T00:12:00Z"}},
    {"/schedule/every/1h-30min",
     "UTC",
     "every 1h 30min",
     "2025-01-01T00:00:00Z",
     {"2025-01-01T01:30:00Z", "2025-01-01T03:00:00Z"}},
    {"/schedule/every/ignores-the-zone",
     "Europe/Berlin",
     "every 1h 30min",
     "2025-01-01T01:00:00+01:00",
     {"2025-01-01T02:30:00+01:00"}},
    {"/schedule/every/through-spring-forward",
     "Europe/Berlin",
     "Every 30s",
     "2025-03-30T01:59:50+01:00",
     {"2025-03-30T03:00:00+02:00", "2025-03-30T03:00:30+02:00"}},
    {"/schedule/every/through-fall-back",
     "Europe/Berlin",
     "every 1h",
     "2025-10-26T01:30:00+02:00",
     {"2025-10-26T02:00:00+02:00", "2025-10-26T02:00:00+01:00", "2025-10-26T03:00:00+01:00"}},

    /* systemd calendar events */
    {"/schedule/calendar/minutely",
     "UTC",
     "minutely",
     "2025-01-01T10:00:30Z",
     {"2025-01-01T10:01:00Z"}},
    {"/schedule/calendar/hourly",
     "UTC",
     "hourly",
     "2025-01-01T10:00:00Z",
     {"2025-01-01T11:00:00Z"}},
    {"/schedule/calendar/daily", "UTC", "daily", "2025-01-01T10:00:00Z", {"2025-01-02T00:00:00Z"}},
    {"/schedule/calendar/weekly-is-monday",
     "UTC",
     "weekly",
     "2025-01-01T00:00:00Z",
     {"2025-01-06T00:00:00Z", "2025-01-13T00:00:00Z"}},
    {"/schedule/calendar/monthly",
     "UTC",
     "monthly",
     "2025-01-15T00:00:00Z",
     {"2025-02-01T00:00:00Z"}},
    {"/schedule/calendar/yearly",
     "UTC",
     "yearly",
     "2025-01-15T00:00:00Z",
     {"2026-01-01T00:00:00Z"}},
    {"/schedule/calendar/annually",
     "UTC",
     "annually",
     "2025-01-15T00:00:00Z",
     {"2026-01-01T00:00:00Z"}},
    {"/schedule/calendar/quarterly",
     "UTC",
     "quarterly",
     "2025-01-15T00:00:00Z",
     {"2025-04-01T00:00:00Z", "2025-07-01T00:00:00Z", "2025-10-01T00:00:00Z",
      "2026-01-01T00:00:00Z"}},
    {"/schedule/calendar/semiannually",
     "UTC",
     "semiannually",
     "2025-01-15T00:00:00Z",
     {"2025-07-01T00:00:00Z", "2026-01-01T00:00:00Z"}},
    {"/schedule/calendar/date-and-time",
     "UTC",
     "*-*-* 03:00:00",
     "2025-01-01T03:00:00Z",
     {"2025-01-02T03:00:00Z"}},
    {"/schedule/calendar/seconds-default-to-zero",
     "UTC",
     "*-*-* 03:00",
     "2025-01-01T02:00:00Z",
     {"2025-01-01T03:00:00Z"}},
    {"/schedule/calendar/weekday-range",
     "UTC",
     "Mon..Fri 09:00",
     "2025-01-03T09:00:00Z",
     {"2025-01-06T09:00:00Z", "2025-01-07T09:00:00Z"}},
    {"/schedule/calendar/weekday-list",
     "UTC",
     "Mon,Wed *-*-* 10:30",
     "2025-01-01T10:30:00Z",
     {"2025-01-06T10:30:00Z", "2025-01-08T10:30:00Z"}},
    {"/schedule/calendar/weekday-range-wraps",
     "UTC",
     "Fri..Mon 08:00",
     "2025-01-07T00:00:00Z",
     {"2025-01-10T08:00:00Z", "2025-01-11T08:00:00Z", "2025-01-12T08:00:00Z",
      "2025-01-13T08:00:00Z", "2025-01-17T08:00:00Z"}},
    {"/schedule/calendar/full-weekday-names",
     "UTC",
     "saturday,Sunday 12:00",
     "2025-01-01T00:00:00Z",
     {"2025-01-04T12:00:00Z", "2025-01-05T12:00:00Z"}},
    {"/schedule/calendar/saturday-midnight",
     "UTC",
     "Sat *-*-* 00:00:00",
     "2025-01-01T00:00:00Z",
     {"2025-01-04T00:00:00Z", "2025-01-11T00:00:00Z"}},
    {"/schedule/calendar/weekday-alone-is-midnight",
     "UTC",
     "Sat",
     "2025-01-01T00:00:00Z",
     {"2025-01-04T00:00:00Z"}},
    {"/schedule/calendar/first-of-month",
     "UTC",
     "*-*-01 00:00:00",
     "2025-01-01T00:00:00Z",
     {"2025-02-01T00:00:00Z", "2025-03-01T00:00:00Z"}},
    {"/schedule/calendar/month-day",
     "UTC",
     "12-25 06:00",
     "2025-01-01T00:00:00Z",
     {"2025-12-25T06:00:00Z", "2026-12-25T06:00:00Z"}},
    {"/schedule/calendar/every-15-minutes",
     "UTC",
     "*:0/15",
     "2025-01-01T10:14:59Z",
     {"2025-01-01T10:15:00Z", "2025-01-01T10:30:00Z", "2025-01-01T10:45:00Z",
      "2025-01-01T11:00:00Z"}},
    {"/schedule/calendar/every-hour",
     "UTC",
     "*-*-* *:00:00",
     "2025-01-01T10:00:00Z",
     {"2025-01-01T11:00:00Z", "2025-01-01T12:00:00Z"}},
    {"/schedule/calendar/seconds",
     "UTC",
     "*-*-* *:*:0/20",
     "2025-01-01T10:00:05Z",
     {"2025-01-01T10:00:20Z", "2025-01-01T10:00:40Z", "2025-01-01T10:01:00Z"}},
    {"/schedule/calendar/ranges-and-lists",
     "UTC",
     "*-*-* 08..10,14:00,30",
     "2025-01-01T09:45:00Z",
     {"2025-01-01T10:00:00Z", "2025-01-01T10:30:00Z", "2025-01-01T14:00:00Z"}},
    {"/schedule/calendar/weekday-and-date-both",
     "UTC",
     "Fri *-*-13 00:00",
     "2025-01-01T00:00:00Z",
     {"2025-06-13T00:00:00Z", "2026-02-13T00:00:00Z", "2026-03-13T00:00:00Z"}},
    {"/schedule/calendar/rare-monday-feb-29",
     "UTC",
     "Mon *-02-29",
     "2025-01-01T00:00:00Z",
     {"2044-02-29T00:00:00Z", "2072-02-29T00:00:00Z"}},
    {"/schedule/calendar/year",
     "UTC",
     "2026-*-* 12:00",
     "2025-06-01T00:00:00Z",
     {"2026-01-01T12:00:00Z"}},
    {"/schedule/calendar/year-range-step",
     "UTC",
     "2026..2030/2-01-01",
     "2025-06-01T00:00:00Z",
     {"2026-01-01T00:00:00Z", "2028-01-01T00:00:00Z", "2030-01-01T00:00:00Z", "never"}},
    {"/schedule/calendar/year-in-the-past",
     "UTC",
     "2024-*-* 12:00",
     "2025-06-01T00:00:00Z",
     {"never"}},
    {"/schedule/calendar/trailing-zone-overrides",
     "UTC",
     "*-*-* 12:00 Europe/Berlin",
     "2025-01-01T00:00:00Z",
     {"2025-01-01T12:00:00+01:00"}},
    {"/schedule/calendar/trailing-utc",
     "Europe/Berlin",
     "Mon 10:00 UTC",
     "2025-01-01T00:00:00Z",
     {"2025-01-06T10:00:00Z"}},
    {"/schedule/calendar/keyword-and-zone",
     "UTC",
     "daily America/New_York",
     "2025-01-01T00:00:00Z",
     {"2025-01-01T00:00:00-05:00"}},

    /* DST, Europe/Berlin: 2025-03-30 02:00 CET → 03:00 CEST; 2025-10-26 03:00 CEST → 02:00 CET */
    {"/schedule/dst/berlin/spring-forward-runs-at-gap-end",
     "Europe/Berlin",
     "30 2 * * *",
     "2025-03-29T02:30:00+01:00",
     {"2025-03-30T03:00:00+02:00", "2025-03-31T02:30:00+02:00"}},
    {"/schedule/dst/berlin/spring-forward-from-just-before-the-gap",
     "Europe/Berlin",
     "30 2 * * *",
     "2025-03-30T01:59:59+01:00",
     {"2025-03-30T03:00:00+02:00"}},
    {"/schedule/dst/berlin/spring-forward-coalesces",
     "Europe/Berlin",
     "0,30 2 * * *",
     "2025-03-30T01:00:00+01:00",
     {"2025-03-30T03:00:00+02:00", "2025-03-31T02:00:00+02:00"}},
    {"/schedule/dst/berlin/spring-forward-gap-and-end-once",
     "Europe/Berlin",
     "0 1-3 * * *",
     "2025-03-30T01:00:00+01:00",
     {"2025-03-30T03:00:00+02:00", "2025-03-31T01:00:00+02:00"}},
    {"/schedule/dst/berlin/spring-forward-seconds",
     "Europe/Berlin",
     "*-*-* 02:30:15",
     "2025-03-30T00:00:00+01:00",
     {"2025-03-30T03:00:00+02:00"}},
    {"/schedule/dst/berlin/spring-forward-wildcard",
     "Europe/Berlin",
     "*/15 * * * *",
     "2025-03-30T01:45:00+01:00",
     {"2025-03-30T03:00:00+02:00", "2025-03-30T03:15:00+02:00"}},
    {"/schedule/dst/berlin/spring-forward-hourly",
     "Europe/Berlin",
     "0 * * * *",
     "2025-03-30T01:00:00+01:00",
     {"2025-03-30T03:00:00+02:00", "2025-03-30T04:00:00+02:00"}},
    {"/schedule/dst/berlin/spring-forward-wildcard-later-hour",
     "Europe/Berlin",
     "*/30 4 * * *",
     "2025-03-30T01:00:00+01:00",
     {"2025-03-30T04:00:00+02:00", "2025-03-30T04:30:00+02:00"}},
    {"/schedule/dst/berlin/spring-forward-wildcard-minutes-skip-hour",
     "Europe/Berlin",
     "*/30 2 * * *",
     "2025-03-30T00:00:00+01:00",
     {"2025-03-31T02:00:00+02:00"}},
    {"/schedule/dst/berlin/fall-back-runs-once",
     "Europe/Berlin",
     "30 2 * * *",
     "2025-10-26T00:00:00+02:00",
     {"2025-10-26T02:30:00+02:00", "2025-10-27T02:30:00+01:00"}},
    {"/schedule/dst/berlin/fall-back-from-the-repeated-hour",
     "Europe/Berlin",
     "30 2 * * *",
     "2025-10-26T02:00:00+01:00",
     {"2025-10-27T02:30:00+01:00"}},
    {"/schedule/dst/berlin/fall-back-later-time-same-day",
     "Europe/Berlin",
     "0 3 * * *",
     "2025-10-26T02:30:00+01:00",
     {"2025-10-26T03:00:00+01:00"}},
    {"/schedule/dst/berlin/fall-back-list-in-repeated-hour",
     "Europe/Berlin",
     "15,45 2 * * *",
     "2025-10-26T02:20:00+02:00",
     {"2025-10-26T02:45:00+02:00", "2025-10-27T02:15:00+01:00"}},
    {"/schedule/dst/berlin/fall-back-dense-fixed-runs-once",
     "Europe/Berlin",
     "*-*-* 02:00..59:00..59",
     "2025-10-26T02:59:58+02:00",
     {"2025-10-26T02:59:59+02:00", "2025-10-27T02:00:00+01:00"}},
    {"/schedule/dst/berlin/fall-back-dense-fixed-from-the-repeat",
     "Europe/Berlin",
     "*-*-* 02:00..59:00..59",
     "2025-10-26T02:00:00+01:00",
     {"2025-10-27T02:00:00+01:00"}},
    {"/schedule/dst/berlin/fall-back-wildcard-walks-real-time",
     "Europe/Berlin",
     "*/30 * * * *",
     "2025-10-26T02:00:00+02:00",
     {"2025-10-26T02:30:00+02:00", "2025-10-26T02:00:00+01:00", "2025-10-26T02:30:00+01:00",
      "2025-10-26T03:00:00+01:00"}},
    {"/schedule/dst/berlin/fall-back-hourly",
     "Europe/Berlin",
     "hourly",
     "2025-10-26T01:30:00+02:00",
     {"2025-10-26T02:00:00+02:00", "2025-10-26T02:00:00+01:00", "2025-10-26T03:00:00+01:00"}},
    {"/schedule/dst/berlin/daily-across-both",
     "Europe/Berlin",
     "daily",
     "2025-03-29T12:00:00+01:00",
     {"2025-03-30T00:00:00+01:00", "2025-03-31T00:00:00+02:00"}},
    {"/schedule/dst/berlin/wildcard-years-ahead",
     "Europe/Berlin",
     "Mon *-02-29 *:00",
     "2025-01-01T00:00:00+01:00",
     {"2044-02-29T00:00:00+01:00", "2044-02-29T01:00:00+01:00"}},
    {"/schedule/dst/berlin/wildcard-last-year",
     "Europe/Berlin",
     "2199-12-31 22..23:00",
     "2025-01-01T00:00:00+01:00",
     {"2199-12-31T22:00:00+01:00", "2199-12-31T23:00:00+01:00", "never"}},
    {"/schedule/dst/berlin/wildcard-summer-months-ahead",
     "Europe/Berlin",
     "*-07-04 *:30",
     "2025-01-01T00:00:00+01:00",
     {"2025-07-04T00:30:00+02:00", "2025-07-04T01:30:00+02:00"}},
    {"/schedule/dst/berlin/far-future",
     "Europe/Berlin",
     "30 2 * * *",
     "2090-03-25T12:00:00+01:00",
     {"2090-03-26T03:00:00+02:00"}},

    /* DST, America/New_York: 2025-03-09 02:00 EST → 03:00 EDT;
   * 2025-11-02 02:00 EDT → 01:00 EST */
    {"/schedule/dst/new-york/spring-forward-runs-at-gap-end",
     "America/New_York",
     "30 2 * * *",
     "2025-03-08T02:30:00-05:00",
     {"2025-03-09T03:00:00-04:00", "2025-03-10T02:30:00-04:00"}},
    {"/schedule/dst/new-york/spring-forward-calendar",
     "America/New_York",
     "Sun 02:30",
     "2025-03-02T12:00:00-05:00",
     {"2025-03-09T03:00:00-04:00", "2025-03-16T02:30:00-04:00"}},
    {"/schedule/dst/new-york/fall-back-runs-once",
     "America/New_York",
     "30 1 * * *",
     "2025-11-01T01:30:00-04:00",
     {"2025-11-02T01:30:00-04:00", "2025-11-03T01:30:00-05:00"}},
    {"/schedule/dst/new-york/fall-back-after-the-repeat",
     "America/New_York",
     "30 2 * * *",
     "2025-11-02T00:00:00-04:00",
     {"2025-11-02T02:30:00-05:00"}},
    {"/schedule/dst/new-york/fall-back-wildcard",
     "America/New_York",
     "*/20 * * * *",
     "2025-11-02T01:40:00-04:00",
     {"2025-11-02T01:00:00-05:00", "2025-11-02T01:20:00-05:00"}},

    /* other zones */
    {"/schedule/dst/lord-howe/half-hour-gap",
     "Australia/Lord_Howe",
     "15 2 * * *",
     "2025-10-04T12:00:00+10:30",
     {"2025-10-05T02:30:00+11:00", "2025-10-06T02:15:00+11:00"}},
    {"/schedule/dst/lord-howe/half-hour-repeat",
     "Australia/Lord_Howe",
     "45 1 * * *",
     "2025-04-05T12:00:00+11:00",
     {"2025-04-06T01:45:00+11:00", "2025-04-07T01:45:00+10:30"}},
    {"/schedule/dst/apia/skipped-day",
     "Pacific/Apia",
     "0 12 * * *",
     "2011-12-29T12:00:00-10:00",
     {"2011-12-31T00:00:00+14:00", "2011-12-31T12:00:00+14:00"}},
    {"/schedule/dst/apia/skipped-day-wildcard",
     "Pacific/Apia",
     "0 * 30 12 *",
     "2011-12-29T12:00:00-10:00",
     {"2012-12-30T00:00:00+14:00"}},
};

static gint64
iso_to_usec(const char *iso)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_iso8601(iso, NULL);
  g_assert_nonnull(dt);
  return g_date_time_to_unix(dt) * G_USEC_PER_SEC + g_date_time_get_microsecond(dt);
}

/* USEC in ZONE, the way the table writes it, so a failure reads as a diff. */
static char *
usec_to_iso(gint64 usec, GTimeZone *zone)
{
  if (usec == -1)
    return g_strdup("never");
  g_autoptr(GDateTime) utc = g_date_time_new_from_unix_utc(usec / G_USEC_PER_SEC);
  if (utc == NULL)
    return g_strdup_printf("%" G_GINT64_FORMAT " µs (out of GDateTime's range)", usec);
  g_autoptr(GDateTime) local = g_date_time_to_timezone(utc, zone);
  return g_date_time_format(local, "%Y-%m-%dT%H:%M:%S%:z");
}

static void
test_next(gconstpointer data)
{
  const NextCase *c = data;
  g_autoptr(GTimeZone) zone = g_time_zone_new_identifier(c->zone);
  g_autoptr(GError) error = NULL;

  g_assert_nonnull(zone);
  g_autoptr(SvSchedule) schedule = sv_schedule_parse(c->text, zone, &error);
  g_assert_no_error(error);
  g_assert_nonnull(schedule);

  gint64 after = iso_to_usec(c->after);
  for (gsize i = 0; i < G_N_ELEMENTS(c->expect) && c->expect[i] != NULL; i++) {
    gint64 expected = g_str_equal(c->expect[i], "never") ? -1 : iso_to_usec(c->expect[i]);
    gint64 got = sv_schedule_next(schedule, after);
    if (got != expected) {
      g_autofree char *from = usec_to_iso(after, zone);
      g_autofree char *want = usec_to_iso(expected, zone);
      g_autofree char *have = usec_to_iso(got, zone);
      g_test_message("'%s' in %s after %s (elapse %zu)", c->text, c->zone, from, i + 1);
      g_assert_cmpstr(have, ==, want);
      g_assert_cmpint(got, ==, expected);
    }
    if (got == -1)
      break;
    after = got;
  }
}

/* ---- bad expressions: the message must point at the culprit ---- */

typedef struct {
  const char *path;
  const char *text;
  const char *message; /* a substring of the error message */
} BadCase;

static const BadCase bad_cases[] = {
    {"/schedule/error/cron/minute-out-of-range", "61 * * * *",
     "'61' in the minute field of '61 * * * *' is out of range (0-59)"},
    {"/schedule/error/cron/hour-out-of-range", "0 24 * * *",
     "'24' in the hour field of '0 24 * * *' is out of range (0-23)"},
    {"/schedule/error/cron/day-of-month-zero", "0 0 0 * *",
     "'0' in the day-of-month field of '0 0 0 * *' is out of range (1-31)"},
    {"/schedule/error/cron/month-out-of-range", "0 0 1 13 *",
     "'13' in the month field of '0 0 1 13 *' is out of range (1-12)"},
    {"/schedule/error/cron/day-of-week-out-of-range", "0 0 * * 8",
     "'8' in the day-of-week field of '0 0 * * 8' is out of range (0-7)"},
    {"/schedule/error/cron/range-end-out-of-range", "0 0 * * 1-9", "'9' in the day-of-week field"},
    {"/schedule/error/cron/huge-number", "99999999999999999999 * * * *",
     "'99999999999999999999' in the minute field of '99999999999999999999 * * * *' is out of "
     "range (0-59)"},
    {"/schedule/error/cron/unknown-day-name", "* * * * Fux",
     "unknown day name 'Fux' in the day-of-week field"},
    {"/schedule/error/cron/full-day-name", "* * * * Monday",
     "unknown day name 'Monday' in the day-of-week field"},
    {"/schedule/error/cron/unknown-month-name", "* * * Foo *",
     "unknown month name 'Foo' in the month field"},
    {"/schedule/error/cron/name-in-minute-field", "MON * * * *",
     "'MON' in the minute field of 'MON * * * *' is not a number"},
    {"/schedule/error/cron/step-zero", "*/0 * * * *",
     "step '0' in the minute field of '*/0 * * * *' is out of range (1-60)"},
    {"/schedule/error/cron/step-too-large", "0 */25 * * *",
     "step '25' in the hour field of '0 */25 * * *' is out of range (1-24)"},
    {"/schedule/error/cron/step-not-a-number", "1-5/x * * * *",
     "'1-5/x' in the minute field of '1-5/x * * * *' is not valid"},
    {"/schedule/error/cron/step-missing", "0 0 */ * *",
     "'*/' in the day-of-month field of '0 0 */ * *' is not valid"},
    {"/schedule/error/cron/backwards-range", "50-10 * * * *",
     "range '50-10' in the minute field of '50-10 * * * *' goes backwards"},
    {"/schedule/error/cron/empty-list-element", "1,,2 * * * *",
     "empty list element in the minute field of '1,,2 * * * *'"},
    {"/schedule/error/cron/trailing-comma", "0 1, * * *",
     "empty list element in the hour field of '0 1, * * *'"},
    {"/schedule/error/cron/leading-comma", "0 0 ,1 * *",
     "empty list element in the day-of-month field"},
    {"/schedule/error/cron/question-mark", "0 0 ? * *",
     "'?' in the day-of-month field of '0 0 ? * *' is not valid"},
    {"/schedule/error/cron/last-day-letter", "0 0 L * *",
     "'L' in the day-of-month field of '0 0 L * *' is not a number"},
    {"/schedule/error/cron/hash", "0 0 * * 1#2",
     "'1#2' in the day-of-week field of '0 0 * * 1#2' is not valid"},
    {"/schedule/error/cron/star-with-range", "*-5 * * * *",
     "'*-5' in the minute field of '*-5 * * * *' is not valid"},
    {"/schedule/error/cron/four-fields", "* * * *",
     "'* * * *' has 4 fields; a cron expression has 5"},
    {"/schedule/error/cron/six-fields", "0 0 * * * *",
     "'0 0 * * * *' has 6 fields; a cron expression has 5"},
    {"/schedule/error/cron/many-fields", "1 2 3 4 5 6 7 8 9 10 11 12",
     "has 12 fields; a cron expression has 5"},
    {"/schedule/error/at/reboot", "@reboot", "unknown schedule '@reboot'"},
    {"/schedule/error/at/trailing-words", "@daily at noon", "unknown schedule '@daily at noon'"},
    {"/schedule/error/every/no-span", "every", "'every' needs a time span"},
    {"/schedule/error/every/bad-span", "every 3 parsecs",
     "interval of 'every 3 parsecs': '3 parsecs' is not a time span"},
    {"/schedule/error/every/sub-second", "every 500ms", "'every 500ms' is shorter than one second"},
    {"/schedule/error/every/zero", "every 0", "'every 0' is shorter than one second"},
    {"/schedule/error/every/infinity", "every infinity", "'every infinity' is infinite"},
    {"/schedule/error/empty", "", "the schedule is empty"},
    {"/schedule/error/blank", " \t ", "the schedule is empty"},
    {"/schedule/error/not-utf8", "\xff * * * *", "not valid UTF-8"},
    {"/schedule/error/control-character", "0 0\n* * *", "control character"},
    {"/schedule/error/calendar/hour-out-of-range", "*-*-* 25:00",
     "'25' in the hour field of '*-*-* 25:00' is out of range (0-23)"},
    {"/schedule/error/calendar/minute-out-of-range", "*-*-* 12:60",
     "'60' in the minute field of '*-*-* 12:60' is out of range (0-59)"},
    {"/schedule/error/calendar/second-out-of-range", "*-*-* 12:00:61",
     "'61' in the second field of '*-*-* 12:00:61' is out of range (0-59)"},
    {"/schedule/error/calendar/month-out-of-range", "*-13-01",
     "'13' in the month field of '*-13-01' is out of range (1-12)"},
    {"/schedule/error/calendar/day-out-of-range", "*-02-32",
     "'32' in the day field of '*-02-32' is out of range (1-31)"},
    {"/schedule/error/calendar/year-out-of-range", "1969-01-01",
     "'1969' in the year field of '1969-01-01' is out of range (1970-2199)"},
    {"/schedule/error/calendar/unknown-weekday", "Fux 10:00",
     "unknown weekday 'Fux' in 'Fux 10:00'"},
    {"/schedule/error/calendar/weekday-step", "Mon/2 10:00",
     "'Mon/2' in the weekday field of 'Mon/2 10:00' is not valid"},
    {"/schedule/error/calendar/not-a-part", "Mon 25",
     "'25' in 'Mon 25' is not a weekday, date or time"},
    {"/schedule/error/calendar/parts-out-of-order", "10:00 Mon",
     "'Mon' in '10:00 Mon' is not a weekday, date or time"},
    {"/schedule/error/calendar/not-a-date", "*-*-*-* 10:00",
     "'*-*-*-*' in '*-*-*-* 10:00' is not a date"},
    {"/schedule/error/calendar/not-a-time", "10:00:00:00",
     "'10:00:00:00' in '10:00:00:00' is not a time"},
    {"/schedule/error/calendar/empty-component", "*--01", "empty list element in the month field"},
    {"/schedule/error/calendar/last-days", "*-02~03",
     "'02~03' in the day field of '*-02~03': days counted from the end of the month"},
    {"/schedule/error/calendar/fraction", "*-*-* 10:00:00.5",
     "'00.5' in the second field of '*-*-* 10:00:00.5' is not valid"},
    {"/schedule/error/calendar/unknown-zone", "*-*-* 10:00 Mars/Olympus_Mons",
     "unknown time zone 'Mars/Olympus_Mons'"},
    {"/schedule/error/calendar/zone-path-is-not-read", "*-*-* 10:00 /etc/passwd",
     "'/etc/passwd' in '*-*-* 10:00 /etc/passwd' is not a weekday, date or time"},
    {"/schedule/error/calendar/zone-dotdot-is-not-read", "*-*-* 10:00 Europe/../../etc/passwd",
     "is not a weekday, date or time"},
};

static void
test_bad(gconstpointer data)
{
  const BadCase *c = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(SvSchedule) schedule = sv_schedule_parse(c->text, NULL, &error);

  g_assert_null(schedule);
  g_assert_error(error, SV_SCHEDULE_ERROR, SV_SCHEDULE_ERROR_INVALID);
  if (strstr(error->message, c->message) == NULL) {
    g_test_message("message: %s", error->message);
    g_assert_cmpstr(error->message, ==, c->message);
  }
}

static void
test_too_long(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) text = g_string_new("0 0 * * 1");
  while (text->len < SV_SCHEDULE_MAX_LEN)
    g_string_append_c(text, ' ');

  /* Exactly at the limit is fine. */
  g_autoptr(SvSchedule) ok = sv_schedule_parse(text->str, NULL, &error);
  g_assert_no_error(error);
  g_assert_nonnull(ok);

  g_string_append_c(text, ' ');
  g_autoptr(SvSchedule) schedule = sv_schedule_parse(text->str, NULL, &error);
  g_assert_null(schedule);
  g_assert_error(error, SV_SCHEDULE_ERROR, SV_SCHEDULE_ERROR_INVALID);
  g_assert_nonnull(strstr(error->message, "too long"));
}

/* ---- the rest of the API ---- */

static void
test_accessors(void)
{
  g_autoptr(GTimeZone) berlin = g_time_zone_new_identifier("Europe/Berlin");
  g_autoptr(SvSchedule) every = sv_schedule_parse("every 1h 30min", berlin, NULL);
  g_autoptr(SvSchedule) cron = sv_schedule_parse("*/5 * * * *", berlin, NULL);
  g_autoptr(SvSchedule) calendar = sv_schedule_parse("daily UTC", berlin, NULL);

  g_assert_true(sv_schedule_is_interval(every));
  g_assert_cmpint(sv_schedule_interval_usec(every), ==, G_GINT64_CONSTANT(5400000000));
  g_assert_cmpstr(sv_schedule_get_text(every), ==, "every 1h 30min");
  g_assert_true(sv_schedule_get_timezone(every) == berlin);

  g_assert_false(sv_schedule_is_interval(cron));
  g_assert_cmpint(sv_schedule_interval_usec(cron), ==, 0);
  g_assert_cmpstr(sv_schedule_get_text(cron), ==, "*/5 * * * *");
  g_assert_true(sv_schedule_get_timezone(cron) == berlin);

  g_assert_cmpstr(g_time_zone_get_identifier(sv_schedule_get_timezone(calendar)), ==, "UTC");

  sv_schedule_free(NULL);
}

static void
test_null_zone_is_local(void)
{
  g_autoptr(GTimeZone) local = g_time_zone_new_local();
  g_autoptr(SvSchedule) schedule = sv_schedule_parse("0 12 * * *", NULL, NULL);
  g_assert_nonnull(schedule);
  g_assert_cmpstr(g_time_zone_get_identifier(sv_schedule_get_timezone(schedule)), ==,
                  g_time_zone_get_identifier(local));

  /* The next noon, wherever this runs. */
  gint64 now = G_GINT64_CONSTANT(1735732800) * G_USEC_PER_SEC; /* 2025-01-01T12:00:00Z */
  gint64 next = sv_schedule_next(schedule, now);
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_local(next / G_USEC_PER_SEC);
  g_assert_cmpint(g_date_time_get_hour(dt), ==, 12);
  g_assert_cmpint(g_date_time_get_minute(dt), ==, 0);
  g_assert_cmpint(next - now, >, 0);
  g_assert_cmpint(next - now, <=, G_GINT64_CONSTANT(86400) * G_USEC_PER_SEC);
}

/* next() is total: any AFTER gives a later instant or -1, never a crash or a hang. */
static void
test_extreme_times(void)
{
  static const char *const texts[] = {"* * * * *",      "0 0 29 2 *",  "every 30s",
                                      "every 1000000d", "Mon *-02-29", "2199-12-31 23:59:59",
                                      "*:*:*"};
  static const gint64 afters[] = {
      G_MININT64,
      G_MININT64 + 1,
      -(gint64)G_USEC_PER_SEC * 86400 * 366 * 3000,
      -1,
      0,
      1,
      G_GINT64_CONSTANT(253402300799) * G_USEC_PER_SEC,
      G_MAXINT64 - 1,
      G_MAXINT64,
  };
  g_autoptr(GTimeZone) berlin = g_time_zone_new_identifier("Europe/Berlin");

  for (gsize i = 0; i < G_N_ELEMENTS(texts); i++) {
    g_autoptr(GError) error = NULL;
    g_autoptr(SvSchedule) schedule = sv_schedule_parse(texts[i], berlin, &error);
    g_assert_no_error(error);
    for (gsize j = 0; j < G_N_ELEMENTS(afters); j++) {
      gint64 next = sv_schedule_next(schedule, afters[j]);
      if (next != -1)
        g_assert_cmpint(next, >, afters[j]);
    }
    g_assert_cmpint(sv_schedule_next(schedule, G_MAXINT64), ==, -1);
  }
}

/* The 1,000-job benchmark calls next() for every job: rare and impossible schedules
 * must cost as little as common ones (a minute-by-minute search would need ~10^7
 * steps for the Monday-29-February one, and a wildcard one that walked every DST
 * transition until 2199 took 14 ms a call). */
static void
test_cheap(void)
{
  static const char *const texts[] = {"Mon *-02-29",      "0 0 29 2 1",       "0 0 30 2 *",
                                      "0 0 31 * *",       "*/15 * * * *",     "30 2 * * *",
                                      "Fri *-*-13 00:00", "* * * * Sun",      "59 23 31 12 *",
                                      "every 7min",       "Mon *-02-29 *:00", "2199-12-31 *:00"};
  g_autoptr(GTimeZone) berlin = g_time_zone_new_identifier("Europe/Berlin");
  g_autoptr(GPtrArray) schedules = g_ptr_array_new_with_free_func((GDestroyNotify)sv_schedule_free);
  for (gsize i = 0; i < G_N_ELEMENTS(texts); i++)
    g_ptr_array_add(schedules, sv_schedule_parse(texts[i], berlin, NULL));

  gint64 start = g_get_monotonic_time();
  gint64 after = G_GINT64_CONSTANT(1735689600) * G_USEC_PER_SEC;
  for (guint round = 0; round < 1000; round++) {
    for (guint i = 0; i < schedules->len; i++) {
      gint64 from = after + (gint64)round * G_USEC_PER_SEC * 3607;
      (void)sv_schedule_next(schedules->pdata[i], from);
    }
  }
  gint64 elapsed = g_get_monotonic_time() - start;
  g_test_message("12,000 next() calls: %" G_GINT64_FORMAT " µs", elapsed);
  /* Generous for slow CI machines and sanitizers; a per-minute walk takes hours. */
  g_assert_cmpint(elapsed, <, 5 * G_USEC_PER_SEC);
}

/* ---- random cron expressions against a brute-force minute-by-minute oracle ---- */

typedef struct {
  gboolean minute[60], hour[24], mday[32], month[13], wday[8];
  gboolean mday_star, wday_star;
  char *text;
} Oracle;

static void
random_field(GString *out, gboolean *set, int min, int max)
{
  int kind = g_test_rand_int_range(0, 6);
  int a = g_test_rand_int_range(min, max + 1);
  int b = g_test_rand_int_range(min, max + 1);
  int step = g_test_rand_int_range(1, MAX(2, (max - min) / 2));
  int lo = MIN(a, b), hi = MAX(a, b);

  switch (kind) {
  case 0:
    g_string_append(out, "*");
    for (int v = min; v <= max; v++)
      set[v] = TRUE;
    break;
  case 1:
    g_string_append_printf(out, "*/%d", step);
    for (int v = min; v <= max; v += step)
      set[v] = TRUE;
    break;
  case 2:
    g_string_append_printf(out, "%d-%d", lo, hi);
    for (int v = lo; v <= hi; v++)
      set[v] = TRUE;
    break;
  case 3:
    g_string_append_printf(out, "%d-%d/%d", lo, hi, step);
    for (int v = lo; v <= hi; v += step)
      set[v] = TRUE;
    break;
  case 4:
    g_string_append_printf(out, "%d,%d", a, b);
    set[a] = set[b] = TRUE;
    break;
  default:
    g_string_append_printf(out, "%d", a);
    set[a] = TRUE;
    break;
  }
}

static Oracle *
oracle_new(void)
{
  Oracle *o = g_new0(Oracle, 1);
  GString *text = g_string_new(NULL);
  random_field(text, o->minute, 0, 59);
  g_string_append_c(text, ' ');
  random_field(text, o->hour, 0, 23);
  g_string_append_c(text, ' ');
  gsize mday_at = text->len;
  random_field(text, o->mday, 1, 31);
  o->mday_star = text->str[mday_at] == '*';
  g_string_append_c(text, ' ');
  /* Mostly every month, so that the oracle's horizon sees matches. */
  if (g_test_rand_int_range(0, 4) == 0) {
    random_field(text, o->month, 1, 12);
  } else {
    g_string_append(text, "*");
    for (int v = 1; v <= 12; v++)
      o->month[v] = TRUE;
  }
  g_string_append_c(text, ' ');
  gsize wday_at = text->len;
  random_field(text, o->wday, 0, 7);
  o->wday_star = text->str[wday_at] == '*';
  if (o->wday[7])
    o->wday[0] = TRUE;
  o->text = g_string_free(text, FALSE);
  return o;
}

static void
oracle_free(Oracle *o)
{
  g_free(o->text);
  g_free(o);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Oracle, oracle_free)

static gboolean
oracle_matches(const Oracle *o, const struct tm *tm)
{
  gboolean dom = o->mday[tm->tm_mday], dow = o->wday[tm->tm_wday];
  gboolean day = (o->mday_star || o->wday_star) ? (dom && dow) : (dom || dow);
  return o->minute[tm->tm_min] && o->hour[tm->tm_hour] && o->month[tm->tm_mon + 1] && day;
}

/* Walks real minutes with the C library's own time zone code (TZ=ZONE), which shares
 * nothing with schedule.c. For UTC every schedule qualifies; elsewhere only wildcard
 * ones, whose rule is exactly "the instants whose local time matches". */
static void
run_oracle(const char *zone, gboolean wildcard_only, guint cases)
{
  const gint64 horizon = 45 * 86400;
  g_autofree char *saved_tz = g_strdup(g_getenv("TZ"));
  g_autoptr(GTimeZone) tz = g_time_zone_new_identifier(zone);
  g_setenv("TZ", zone, TRUE);
  tzset();

  guint matched = 0;
  for (guint n = 0; n < cases; n++) {
    g_autoptr(Oracle) o = oracle_new();
    if (wildcard_only && o->text[0] != '*' && strchr(o->text, ' ')[1] != '*') {
      n--;
      continue;
    }
    g_autoptr(GError) error = NULL;
    g_autoptr(SvSchedule) schedule = sv_schedule_parse(o->text, tz, &error);
    g_assert_no_error(error);

    /* Start somewhere in 2024-2026, around the DST transitions half of the time. */
    gint64 start = 1704067200 + g_test_rand_int_range(0, 3 * 365) * (gint64)86400 +
                   g_test_rand_int_range(0, 86400);
    if (g_test_rand_bit())
      start = 1742695200 + g_test_rand_int_range(0, 3) * (gint64)(210 * 86400) +
              g_test_rand_int_range(-3 * 86400, 3 * 86400); /* ~ late March / late October */

    gint64 expected = -1;
    for (gint64 t = (start / 60 + 1) * 60; t < start + horizon; t += 60) {
      time_t tt = (time_t)t;
      struct tm tm;
      localtime_r(&tt, &tm);
      if (oracle_matches(o, &tm)) {
        expected = t;
        break;
      }
    }
    gint64 got = sv_schedule_next(schedule, start * G_USEC_PER_SEC);
    if (expected == -1) {
      if (got != -1)
        g_assert_cmpint(got, >=, (start + horizon) * G_USEC_PER_SEC);
      continue;
    }
    matched++;
    if (got != expected * G_USEC_PER_SEC) {
      g_autofree char *from = usec_to_iso(start * G_USEC_PER_SEC, tz);
      g_autofree char *want = usec_to_iso(expected * G_USEC_PER_SEC, tz);
      g_autofree char *have = usec_to_iso(got, tz);
      g_test_message("'%s' in %s after %s", o->text, zone, from);
      g_assert_cmpstr(have, ==, want);
    }
  }

  /* Most random schedules match within the horizon, or the oracle proved nothing. */
  g_test_message("%u of %u random schedules matched within the horizon", matched, cases);
  g_assert_cmpuint(matched, >=, cases / 2);

  if (saved_tz != NULL)
    g_setenv("TZ", saved_tz, TRUE);
  else
    g_unsetenv("TZ");
  tzset();
}

static void
test_oracle_utc(void)
{
  run_oracle("UTC", FALSE, 150);
}

static void
test_oracle_berlin_wildcard(void)
{
  run_oracle("Europe/Berlin", TRUE, 60);
}

static void
test_oracle_new_york_wildcard(void)
{
  run_oracle("America/New_York", TRUE, 40);
}

int
main(int argc, char **argv)
{
  setlocale(LC_ALL, "");
  g_test_init(&argc, &argv, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS(next_cases); i++)
    g_test_add_data_func(next_cases[i].path, &next_cases[i], test_next);
  for (gsize i = 0; i < G_N_ELEMENTS(bad_cases); i++)
    g_test_add_data_func(bad_cases[i].path, &bad_cases[i], test_bad);
  g_test_add_func("/schedule/error/too-long", test_too_long);
  g_test_add_func("/schedule/api/accessors", test_accessors);
  g_test_add_func("/schedule/api/null-zone-is-local", test_null_zone_is_local);
  g_test_add_func("/schedule/api/extreme-times", test_extreme_times);
  g_test_add_func("/schedule/api/next-is-cheap", test_cheap);
  g_test_add_func("/schedule/oracle/random-cron-utc", test_oracle_utc);
  g_test_add_func("/schedule/oracle/random-wildcard-berlin", test_oracle_berlin_wildcard);
  g_test_add_func("/schedule/oracle/random-wildcard-new-york", test_oracle_new_york_wildcard);

  return g_test_run();
}
