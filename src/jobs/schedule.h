/* schedule.h — when a scheduled job is due: cron, "every" intervals, systemd calendar forms.
 *
 * Pure: no I/O beyond loading time zone data through GTimeZone, no clock reads.
 * The caller asks "what is the next elapse strictly after T?" and arms a timer.
 *
 * Accepted forms (at most SV_SCHEDULE_MAX_LEN bytes):
 *
 *   cron, five fields        minute hour day-of-month month day-of-week
 *                            `*`, `1,5,9`, `1-5`, steps `10-50/5`, `5/15` (= 5-max/15) and
 *                            star-slash-N (every Nth value from the minimum), a step at
 *                            most the field's span (minute 1-60, hour 1-24, day-of-month
 *                            1-31, month 1-12, day-of-week 1-8); JAN..DEC and
 *                            SUN..SAT in any case; day-of-week 0-7, 0 and 7 both Sunday
 *                            (so FRI-SUN works). If day-of-month and day-of-week are both
 *                            restricted, a day matches when EITHER matches; otherwise both
 *                            must (the classic cron rule). A field is unrestricted when its
 *                            text starts with `*`, a step included (star-slash-2 and MON:
 *                            odd days that are Mondays), as cronie reads it.
 *   cron nicknames           @hourly @daily @midnight @weekly (Sunday) @monthly @yearly
 *                            @annually
 *   intervals                `every 30s`, `every 5min`, `every 1h 30min` (the systemd span
 *                            grammar of timespan.h, at least one second). Slots are
 *                            k * interval since the Unix epoch, in UTC: they do not depend on
 *                            the time zone or on when sdvisor started, so all instances on a
 *                            host agree on them.
 *   systemd calendar events  [WEEKDAYS] [[YEAR-]MONTH-DAY] [HOUR:MINUTE[:SECOND]] [TIMEZONE]
 *                            e.g. `Mon..Fri 09:00`, `Mon,Wed *-*-* 10:30`, `*-*-01 00:00:00`,
 *                            `*:0/15`, `*-*-* *:00:00`, `2025-*-* 12:00 UTC`; ranges `..`
 *                            (`Mon-Fri` too), lists `,`, repetitions `/N` (at most the
 *                            field's span: year 1-230, month 1-12, day 1-31, hour 1-24,
 *                            minute and second 1-60); weekday AND date
 *                            must both match (systemd's rule); no time means 00:00:00.
 *                            Keywords: minutely hourly daily weekly (Monday) monthly yearly
 *                            annually quarterly semiannually. A trailing zone name (`UTC`,
 *                            `Europe/Berlin`) overrides the TZ argument. Years 1970-2199.
 *                            Not supported: `~` (days from the month's end), fractional
 *                            seconds, two-digit years.
 *
 * Daylight saving time. A calendar schedule is "fixed-time" when neither its hour nor its
 * minute field (nor, in the calendar form, its second field) starts with `*` — `30 2 * * *`,
 * `0 1-3 * * *`, `daily`, `Mon 09:00`. Any other is "wildcard" — every 15 minutes,
 * `0 * * * *`, `hourly`, and every-2-hours written with a star and a step. This is
 * cronie's split.
 *   - Fixed-time, a wall-clock time that does not exist (spring-forward gap): the job runs
 *     at the first existing instant after the gap (03:00 CEST for 02:30 in Berlin). Several
 *     matching times in one gap, or in a gap and at its end, give one elapse. cronie
 *     behaves so; systemd 252 does not: its timer skips that day altogether (checked with
 *     `systemd-analyze calendar --base-time=`, tests/docs/check-schedule-docs.py).
 *   - Fixed-time, a wall-clock time that occurs twice (fall-back): the job runs once, at
 *     the first occurrence.
 *   - Wildcard: real instants are walked, and each instant whose local wall-clock time
 *     matches is an elapse: every-15-minutes keeps firing every 15 real minutes through
 *     both transitions (the repeated hour in autumn fires again, the hour missing in spring
 *     is not made up). cronie behaves so; systemd 252 skips the repeated hour.
 *   - Intervals are in UTC and never affected.
 *
 * A schedule that can never match (`0 0 30 2 *`, or `2020-*-* 00:00` asked after 2020)
 * gives -1. The search is bounded (400 years: one full Gregorian cycle) and jumps field by
 * field, so next() costs about a microsecond whatever the schedule. */
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
gint64 sv_schedule_interval_usec(const SvSchedule *schedule); /* 0 if not an interval */
const char *sv_schedule_get_text(const SvSchedule *schedule); /* as given */
/* The zone the schedule is evaluated in: the TZ argument, the local zone, or the zone
 * named in the text. Owned by the schedule. */
GTimeZone *sv_schedule_get_timezone(const SvSchedule *schedule);

void sv_schedule_free(SvSchedule *schedule); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvSchedule, sv_schedule_free)
