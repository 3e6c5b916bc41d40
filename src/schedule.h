/* schedule.h — when a scheduled job is due: cron, "every" intervals, systemd calendar forms.
 *
 * Pure: no I/O beyond loading time zone data through GTimeZone, no clock reads.
 * The caller asks "what is the next elapse strictly after T?" and arms a timer.
 *
 * Accepted forms (at most SV_SCHEDULE_MAX_LEN bytes):
 *
 *   cron, five fields        minute hour day-of-month month day-of-week
 *                            `*`, `1,5,9`, `1-5`, steps `10-50/5`, `5/15` (= 5-max/15) and
 *                            star-slash-N (every Nth value from the minimum),
 *                            JAN..DEC, SUN..SAT (any case), day-of-week 0-7 (0 and 7 = Sunday).
 *                            If day-of-month and day-of-week are both restricted (neither
 *                            starts with `*`), a day matches when EITHER matches; otherwise
 *                            both must (the classic cron rule).
 *   cron nicknames           @hourly @daily @midnight @weekly (Sunday) @monthly @yearly @annually
 *   intervals                `every 30s`, `every 5min`, `every 1h 30min` (systemd span grammar,
 *                            at least one second). Slots are k * interval since the Unix epoch,
 *                            in UTC, so they do not depend on the time zone or on when sdvisor
 *                            started, and all instances on a host agree on them.
 *   systemd calendar events  [WEEKDAYS] [[YEAR-]MONTH-DAY] [HOUR:MINUTE[:SECOND]] [TIMEZONE]
 *                            e.g. `Mon..Fri 09:00`, `Mon,Wed *-*-* 10:30`, `*-*-01 00:00:00`,
 *                            `*:0/15`, `*-*-* *:00:00`, `2025-*-* 12:00 UTC`; ranges are `..`,
 *                            lists `,`, repetitions `/N`; weekday AND date must both match
 *                            (systemd's rule). Keywords: minutely hourly daily weekly (Monday)
 *                            monthly yearly annually quarterly semiannually. A trailing IANA
 *                            zone name (`Europe/Berlin`, `UTC`) overrides the TZ argument.
 *                            Years 1970-2199; not supported: `~` (days from the month's end),
 *                            fractional seconds.
 *
 * Daylight saving time. A schedule is "fixed-time" when its hour and minute (and, in the
 * calendar form, second) fields do not start with `*` — `30 2 * * *`, `daily`, `Mon 09:00`.
 * Any other calendar schedule is "wildcard" — every-15-minutes, `0 * * * *`, `hourly`.
 *   - Fixed-time, wall-clock time that does not exist (spring-forward gap): the job runs at
 *     the first existing instant after the gap (03:00 CEST for 02:30 in Berlin), once, even
 *     if several matching times fall into the gap. This is what systemd and cronie do.
 *   - Fixed-time, wall-clock time that occurs twice (fall-back): the job runs once, at the
 *     first occurrence.
 *   - Wildcard: real instants are walked and each instant whose local wall-clock time matches
 *     is an elapse, so every-15-minutes keeps firing every 15 real minutes through both transitions
 *     (the repeated hour in autumn fires again, the missing hour in spring is not made up).
 *   - Intervals are in UTC and never affected.
 *
 * A schedule that can never match (`0 0 30 2 *`, `2020-*-* 00:00` after 2020) gives -1;
 * the search is bounded (400 years, one full Gregorian cycle) and jumps field by field,
 * so next() costs a few microseconds whatever the schedule. */
#pragma once
#include <glib.h>

#define SV_SCHEDULE_ERROR (sv_schedule_error_quark())
GQuark sv_schedule_error_quark(void);

typedef enum {
  SV_SCHEDULE_ERROR_INVALID,
} SvScheduleError;

/* Longest accepted schedule text in bytes. */
#define SV_SCHEDULE_MAX_LEN 1024

typedef struct SvSchedule SvSchedule;

/* Parses TEXT. TZ NULL = local time zone; the schedule keeps a ref. Errors name the
 * field at fault and are meant for a person (SV_SCHEDULE_ERROR_INVALID). */
SvSchedule *sv_schedule_parse(const char *text, GTimeZone *tz, GError **error);

/* Next elapse strictly after AFTER_USEC (microseconds since the epoch, CLOCK_REALTIME),
 * or -1 if there is none, ever. */
gint64 sv_schedule_next(const SvSchedule *schedule, gint64 after_usec);

gboolean sv_schedule_is_interval(const SvSchedule *schedule); /* "every 30s" form */
gint64 sv_schedule_interval_usec(const SvSchedule *schedule);  /* 0 if not an interval */
const char *sv_schedule_get_text(const SvSchedule *schedule);  /* as given */
/* The zone the schedule is evaluated in: the TZ argument, the local zone, or the zone
 * named in the text. Owned by the schedule. */
GTimeZone *sv_schedule_get_timezone(const SvSchedule *schedule);

void sv_schedule_free(SvSchedule *schedule); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvSchedule, sv_schedule_free)
