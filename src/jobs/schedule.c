/* schedule.c — cron, "every" intervals and systemd calendar events.
 *
 * Every calendar form is compiled into one set of bitmasks (SvCalendar). next() first
 * finds the next matching wall-clock time with plain integer calendar arithmetic,
 * jumping whole fields at a time, and only then maps wall-clock time to an instant with
 * GTimeZone, applying the DST rules documented in schedule.h. */
#include "schedule.h"

#include <glib/gi18n.h>
#include <string.h>

#include "timespan.h"

G_DEFINE_QUARK(sv - schedule - error - quark, sv_schedule_error)

/* systemd's calendar events accept the same years. */
#define SV_YEAR_MIN 1970
#define SV_YEAR_MAX 2199
/* The Gregorian calendar repeats every 400 years (146097 days, a whole number of
 * weeks): a schedule that has not matched within 400 years never will. */
#define SV_SEARCH_YEARS 400
/* Instants next() works with: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z. */
#define SV_SECS_MIN   G_GINT64_CONSTANT(-62135596800)
#define SV_SECS_MAX   G_GINT64_CONSTANT(253402300799)
#define SV_MAX_TOKENS 8
#define SV_DAY        G_GINT64_CONSTANT(86400)

typedef struct {
  guint64 second;  /* bit N = second N */
  guint64 minute;  /* bit N = minute N */
  guint32 hour;    /* bit N = hour N */
  guint32 mday;    /* bits 1-31 */
  guint32 month;   /* bits 1-12 */
  guint32 wday;    /* bits 0-6, 0 = Sunday */
  guint64 year[4]; /* bit N = SV_YEAR_MIN + N, unless any_year */
  gboolean any_year;
  gboolean day_or;   /* cron: day-of-month OR day-of-week */
  gboolean wildcard; /* walk real instants rather than wall-clock times (see schedule.h) */
} SvCalendar;

struct SvSchedule {
  char *text;
  GTimeZone *tz;
  gint64 interval_usec; /* > 0 for the "every" form */
  SvCalendar cal;
  gboolean never; /* the calendar has no match at all */
};

/* ---- calendar arithmetic (proleptic Gregorian, no time zone) ---- */

static gint64
floor_div(gint64 a, gint64 b)
{
  gint64 q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Howard Hinnant's days_from_civil / civil_from_days: exact for any year, no tables. */
static gint64
days_from_civil(gint64 y, int m, int d)
{
  y -= m <= 2;
  gint64 era = (y >= 0 ? y : y - 399) / 400;
  gint64 yoe = y - era * 400;
  gint64 doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  gint64 doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static void
civil_from_days(gint64 z, gint64 *out_y, int *out_m, int *out_d)
{
  z += 719468;
  gint64 era = (z >= 0 ? z : z - 146096) / 146097;
  gint64 doe = z - era * 146097;
  gint64 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  gint64 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  gint64 mp = (5 * doy + 2) / 153;
  int m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *out_d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *out_m = m;
  *out_y = yoe + era * 400 + (m <= 2);
}

static gboolean
is_leap(gint64 y)
{
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(gint64 y, int m)
{
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Lowest set bit of MASK at or above FROM, or -1. */
static int
next_bit(guint64 mask, int from)
{
  if (from < 0)
    from = 0;
  if (from >= 64)
    return -1;
  mask >>= from;
  return mask == 0 ? -1 : from + __builtin_ctzll(mask);
}

static gboolean
year_matches(const SvCalendar *cal, gint64 y)
{
  if (cal->any_year)
    return TRUE;
  if (y < SV_YEAR_MIN || y > SV_YEAR_MAX)
    return FALSE;
  int i = (int)(y - SV_YEAR_MIN);
  return (cal->year[i / 64] >> (i % 64)) & 1;
}

/* Smallest matching year ≥ Y, or -1. */
static gint64
next_year(const SvCalendar *cal, gint64 y)
{
  if (cal->any_year)
    return y;
  for (y = MAX(y, SV_YEAR_MIN); y <= SV_YEAR_MAX; y++)
    if (year_matches(cal, y))
      return y;
  return -1;
}

static gboolean
day_matches(const SvCalendar *cal, gint64 y, int m, int d)
{
  gint64 days = days_from_civil(y, m, d);
  int wday = (int)(((days % 7) + 11) % 7); /* 1970-01-01 was a Thursday (4) */
  gboolean dom = (cal->mday >> d) & 1;
  gboolean dow = (cal->wday >> wday) & 1;
  return cal->day_or ? (dom || dow) : (dom && dow);
}

/* The first wall-clock time at or after WALL (seconds since the epoch as if local time
 * were UTC) that matches CAL, up to the end of year LIMIT_YEAR. Each step moves one
 * field to its next allowed value and resets the smaller ones, so the loop runs a
 * handful of times per year searched, not once per minute. */
static gboolean
next_wall(const SvCalendar *cal, gint64 wall, gint64 limit_year, gint64 *out_wall)
{
  gint64 days = floor_div(wall, SV_DAY);
  gint64 sod = wall - days * SV_DAY;
  gint64 y;
  int mo, d;
  civil_from_days(days, &y, &mo, &d);
  int h = (int)(sod / 3600), mi = (int)(sod / 60 % 60), s = (int)(sod % 60);

  /* A safety net only: the year limit ends every search long before this. */
  for (guint iter = 0; iter < 1000000; iter++) {
    if (y > limit_year)
      return FALSE;
    if (!year_matches(cal, y)) {
      gint64 ny = next_year(cal, y);
      if (ny < 0)
        return FALSE;
      y = ny, mo = 1, d = 1, h = mi = s = 0;
      continue;
    }
    int nm = next_bit(cal->month, mo);
    if (nm < 0) {
      y++, mo = 1, d = 1, h = mi = s = 0;
      continue;
    }
    if (nm != mo)
      mo = nm, d = 1, h = mi = s = 0;

    if (d > days_in_month(y, mo)) {
      mo++, d = 1, h = mi = s = 0;
      continue;
    }
    if (!day_matches(cal, y, mo, d)) {
      int nd = cal->day_or ? d + 1 : next_bit(cal->mday, d);
      if (nd == d)
        nd++; /* the day of the month fits, the weekday does not */
      if (nd < 0)
        nd = 32; /* no allowed day left this month */
      d = nd, h = mi = s = 0;
      continue;
    }
    int nh = next_bit(cal->hour, h);
    if (nh < 0) {
      d++, h = mi = s = 0;
      continue;
    }
    if (nh != h)
      h = nh, mi = s = 0;
    int nmi = next_bit(cal->minute, mi);
    if (nmi < 0) {
      h++, mi = s = 0;
      continue;
    }
    if (nmi != mi)
      mi = nmi, s = 0;
    int ns = next_bit(cal->second, s);
    if (ns < 0) {
      mi++, s = 0;
      continue;
    }
    *out_wall = days_from_civil(y, mo, d) * SV_DAY + h * 3600 + mi * 60 + ns;
    return TRUE;
  }
  return FALSE;
}

/* ---- time zones ---- */

static int
tz_interval(GTimeZone *tz, gint64 t)
{
  return g_time_zone_find_interval(tz, G_TIME_TYPE_UNIVERSAL, t);
}

static gint64
tz_offset(GTimeZone *tz, gint64 t)
{
  return g_time_zone_get_offset(tz, tz_interval(tz, t));
}

/* The instant at which a fixed-time schedule due at wall-clock time WALL runs: the
 * first occurrence of WALL, or, if WALL falls into a gap, the end of the gap. Looking
 * a day either side finds the offsets before and after any transition near WALL
 * (GLib keeps offsets under a day, and zones do not change twice in two days). */
static gint64
wall_to_instant(GTimeZone *tz, gint64 wall)
{
  gint64 before = tz_offset(tz, wall - SV_DAY);
  gint64 after = tz_offset(tz, wall + SV_DAY);
  gint64 t1 = wall - before, t2 = wall - after;
  gboolean ok1 = tz_offset(tz, t1) == before;
  gboolean ok2 = tz_offset(tz, t2) == after;

  if (ok1 && ok2)
    return MIN(t1, t2);
  if (ok1)
    return t1;
  if (ok2)
    return t2;

  /* A gap: the first instant whose wall-clock time is WALL or later. Wall-clock time
   * only moves forward across a spring-forward transition, so bisection applies. */
  gint64 lo = MIN(t1, t2), hi = MAX(t1, t2);
  if (lo + tz_offset(tz, lo) >= wall)
    return lo;
  if (hi + tz_offset(tz, hi) < wall)
    return hi;
  while (hi - lo > 1) {
    gint64 mid = lo + (hi - lo) / 2;
    if (mid + tz_offset(tz, mid) >= wall)
      hi = mid;
    else
      lo = mid;
  }
  return hi;
}

/* The first instant in (LO, HI] whose zone interval differs from LO's. Intervals are
 * numbered in time order, so the caller knows HI's differs. */
static gint64
next_transition(GTimeZone *tz, gint64 lo, gint64 hi)
{
  int i = tz_interval(tz, lo);
  while (hi - lo > 1) {
    gint64 mid = lo + (hi - lo) / 2;
    if (tz_interval(tz, mid) == i)
      lo = mid;
    else
      hi = mid;
  }
  return hi;
}

/* Wildcard schedules: the first instant ≥ A whose wall-clock time matches.
 *
 * Between two transitions the offset is constant, so one wall-clock search answers for a
 * whole stretch. Stretches are only walked one by one within three days of where the
 * walk stands: further out, every instant up to two days before the match found shows a
 * wall-clock time between the current one and that match (offsets are less than a day),
 * none of which matches, so the walk jumps there instead of crossing years of DST
 * transitions. Instants before 1970 are negative: success is the return value, not a
 * sign. */
static gboolean
next_wildcard(const SvSchedule *schedule, gint64 a, gint64 limit_year, gint64 *out)
{
  GTimeZone *tz = schedule->tz;
  gint64 t = a;

  for (guint iter = 0; iter < 4096; iter++) {
    int interval = tz_interval(tz, t);
    gint64 offset = g_time_zone_get_offset(tz, interval);
    gint64 wall;
    if (!next_wall(&schedule->cal, t + offset, limit_year, &wall))
      return FALSE;
    gint64 candidate = wall - offset;
    gint64 window_end = MIN(candidate, t + 3 * SV_DAY);

    if (tz_interval(tz, window_end) != interval) {
      t = next_transition(tz, t, window_end);
    } else if (candidate == window_end) {
      *out = candidate;
      return TRUE;
    } else {
      t = MAX(t + 3 * SV_DAY, wall - 2 * SV_DAY);
    }
  }
  return FALSE;
}

/* Fixed-time schedules: the smallest matching wall-clock time whose run instant
 * (wall_to_instant) is ≥ A. Run instants grow with wall-clock time, so it is enough to
 * start the wall-clock search just after the latest wall-clock time already shown
 * before A. That is A-1's, unless the clocks went back within the last day: then the
 * wall-clock times up to the transition were shown too, and must not run again. */
static gboolean
next_fixed(const SvSchedule *schedule, gint64 a, gint64 limit_year, gint64 *out)
{
  GTimeZone *tz = schedule->tz;
  gint64 b = a - 1;
  gint64 offset_b = tz_offset(tz, b);
  gint64 shown = b + offset_b;
  if (tz_offset(tz, b - SV_DAY) > offset_b) {
    gint64 transition = next_transition(tz, b - SV_DAY, b);
    gint64 last_before = transition - 1;
    shown = MAX(shown, last_before + tz_offset(tz, last_before));
  }

  gint64 start = shown + 1;
  for (guint iter = 0; iter < 64; iter++) {
    gint64 wall;
    if (!next_wall(&schedule->cal, start, limit_year, &wall))
      return FALSE;
    gint64 instant = wall_to_instant(tz, wall);
    if (instant >= a) {
      *out = instant;
      return TRUE;
    }
    start = wall + 1; /* only in zones that change more than once in two days */
  }
  /* Rather than loop on in such a zone, fall back to the wildcard rule, which still
   * gives a matching instant after A. */
  return next_wildcard(schedule, a, limit_year, out);
}

gint64
sv_schedule_next(const SvSchedule *schedule, gint64 after_usec)
{
  g_return_val_if_fail(schedule != NULL, -1);

  if (schedule->interval_usec > 0) {
    gint64 slot = floor_div(after_usec, schedule->interval_usec);
    if (slot >= G_MAXINT64 / schedule->interval_usec)
      return -1;
    return (slot + 1) * schedule->interval_usec;
  }
  if (schedule->never)
    return -1;

  /* Calendar schedules have whole-second resolution. */
  gint64 a = floor_div(after_usec, G_USEC_PER_SEC) + 1;
  if (a > SV_SECS_MAX)
    return -1;
  a = MAX(a, SV_SECS_MIN);

  gint64 y;
  int m, d;
  civil_from_days(floor_div(a, SV_DAY), &y, &m, &d);
  gint64 limit_year = MIN(y + SV_SEARCH_YEARS, 9999);

  gint64 r;
  gboolean found = schedule->cal.wildcard ? next_wildcard(schedule, a, limit_year, &r)
                                          : next_fixed(schedule, a, limit_year, &r);
  if (!found || r < a || r > SV_SECS_MAX + SV_DAY)
    return -1;
  return r * G_USEC_PER_SEC;
}

/* ---- parsing ---- */

typedef enum {
  SV_NAMES_NONE,
  SV_NAMES_MONTH,   /* cron: JAN..DEC */
  SV_NAMES_DAY,     /* cron: SUN..SAT */
  SV_NAMES_WEEKDAY, /* systemd: Mon or Monday, and nothing else */
} SvNames;

typedef struct {
  const char *name; /* N_()-marked, for messages */
  int min, max;
  SvNames names;
  const char *range_sep;
  gboolean wrap; /* ranges may wrap around (Fri..Mon) */
} SvField;

static const SvField cron_fields[] = {
    {N_("minute"), 0, 59, SV_NAMES_NONE, "-", FALSE},
    {N_("hour"), 0, 23, SV_NAMES_NONE, "-", FALSE},
    {N_("day-of-month"), 1, 31, SV_NAMES_NONE, "-", FALSE},
    {N_("month"), 1, 12, SV_NAMES_MONTH, "-", FALSE},
    /* 7 is Sunday too, so SUN-SAT, MON-SUN and 1-7 are all the whole week. */
    {N_("day-of-week"), 0, 7, SV_NAMES_DAY, "-", FALSE},
};

static const SvField cal_weekday = {N_("weekday"), 0, 6, SV_NAMES_WEEKDAY, "..", TRUE};
static const SvField cal_date[] = {
    {N_("year"), SV_YEAR_MIN, SV_YEAR_MAX, SV_NAMES_NONE, "..", FALSE},
    {N_("month"), 1, 12, SV_NAMES_NONE, "..", FALSE},
    {N_("day"), 1, 31, SV_NAMES_NONE, "..", FALSE},
};
static const SvField cal_time[] = {
    {N_("hour"), 0, 23, SV_NAMES_NONE, "..", FALSE},
    {N_("minute"), 0, 59, SV_NAMES_NONE, "..", FALSE},
    {N_("second"), 0, 59, SV_NAMES_NONE, "..", FALSE},
};

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                          "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const day_abbrevs[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
static const char *const day_names[] = {"sunday",   "monday", "tuesday", "wednesday",
                                        "thursday", "friday", "saturday"};

static gboolean fail(GError **error, const char *format, ...) G_GNUC_PRINTF(2, 3);

static gboolean
fail(GError **error, const char *format, ...)
{
  va_list args;
  va_start(args, format);
  if (error != NULL) {
    g_autofree char *message = g_strdup_vprintf(format, args);
    g_set_error_literal(error, SV_SCHEDULE_ERROR, SV_SCHEDULE_ERROR_INVALID, message);
  }
  va_end(args);
  return FALSE;
}

static gboolean
lookup_name(const SvField *field, const char *name, int *out_value)
{
  switch (field->names) {
  case SV_NAMES_MONTH:
    for (int i = 0; i < 12; i++)
      if (g_ascii_strcasecmp(name, month_names[i]) == 0)
        return *out_value = i + 1, TRUE;
    return FALSE;
  case SV_NAMES_DAY:
    for (int i = 0; i < 7; i++)
      if (g_ascii_strcasecmp(name, day_abbrevs[i]) == 0)
        return *out_value = i, TRUE;
    return FALSE;
  case SV_NAMES_WEEKDAY:
    for (int i = 0; i < 7; i++)
      if (g_ascii_strcasecmp(name, day_abbrevs[i]) == 0 ||
          g_ascii_strcasecmp(name, day_names[i]) == 0)
        return *out_value = i, TRUE;
    return FALSE;
  case SV_NAMES_NONE:
  default:
    return FALSE;
  }
}

/* The list element starting at ELEMENT is not valid: say which, in full. */
static gboolean
invalid_element(const char *element, const SvField *field, const char *text, GError **error)
{
  g_autofree char *bad = g_strndup(element, strcspn(element, ","));
  if (strchr(bad, '~') != NULL)
    return fail(error,
                _("'%s' in the %s field of '%s': days counted from the end of the month ('~') "
                  "are not supported"),
                bad, _(field->name), text);
  return fail(error, _("'%s' in the %s field of '%s' is not valid"), bad, _(field->name), text);
}

/* One value of a field: a number or, where the field has them, a name. P advances. */
static gboolean
parse_atom(const char **p, const SvField *field, const char *text, int *out_value, GError **error)
{
  const char *start = *p;
  const char *q = start;

  if (g_ascii_isdigit(*q)) {
    while (g_ascii_isdigit(*q))
      q++;
    g_autofree char *atom = g_strndup(start, q - start);
    if (field->names == SV_NAMES_WEEKDAY)
      return fail(error, _("unknown weekday '%s' in '%s' (use Mon, Tue, … or Monday, Tuesday, …)"),
                  atom, text);
    /* More than 9 digits cannot be in range and would overflow an int. */
    gint64 value = q - start > 9 ? G_MAXINT64 : g_ascii_strtoll(atom, NULL, 10);
    if (value < field->min || value > field->max)
      return fail(error, _("'%s' in the %s field of '%s' is out of range (%d-%d)"), atom,
                  _(field->name), text, field->min, field->max);
    *p = q;
    *out_value = (int)value;
    return TRUE;
  }

  if (g_ascii_isalpha(*q)) {
    while (g_ascii_isalpha(*q))
      q++;
    g_autofree char *atom = g_strndup(start, q - start);
    int value;
    if (!lookup_name(field, atom, &value)) {
      switch (field->names) {
      case SV_NAMES_MONTH:
        return fail(error, _("unknown month name '%s' in the month field of '%s'"), atom, text);
      case SV_NAMES_DAY:
        return fail(error, _("unknown day name '%s' in the day-of-week field of '%s'"), atom, text);
      case SV_NAMES_WEEKDAY:
        return fail(error,
                    _("unknown weekday '%s' in '%s' (use Mon, Tue, … or Monday, Tuesday, …)"), atom,
                    text);
      case SV_NAMES_NONE:
      default:
        return fail(error, _("'%s' in the %s field of '%s' is not a number"), atom, _(field->name),
                    text);
      }
    }
    *p = q;
    *out_value = value;
    return TRUE;
  }

  if (*start == '\0' || *start == ',')
    return fail(error, _("empty list element in the %s field of '%s'"), _(field->name), text);
  return invalid_element(start, field, text, error);
}

/* A field: a comma-separated list of `*`, N, N-M (N..M in calendar events), each with an
 * optional /STEP; "N/STEP" means N to the maximum. Sets bit (value - min) in BITS.
 * FIELD_TEXT is NUL-terminated; TEXT is the whole schedule, for messages. */
static gboolean
parse_field(const char *field_text, const SvField *field, const char *text, guint64 bits[4],
            GError **error)
{
  const char *p = field_text;
  gsize sep_len = strlen(field->range_sep);

  memset(bits, 0, 4 * sizeof(guint64));
  for (;;) {
    const char *element = p;
    int start, end;
    gboolean single = FALSE;

    if (*p == '*' && field->names != SV_NAMES_WEEKDAY) {
      start = field->min, end = field->max;
      p++;
    } else {
      if (!parse_atom(&p, field, text, &start, error))
        return FALSE;
      end = start;
      single = TRUE;
      /* systemd writes weekday ranges both ways: Mon..Fri and Mon-Fri. */
      gboolean dash = field->names == SV_NAMES_WEEKDAY && *p == '-';
      if (strncmp(p, field->range_sep, sep_len) == 0 || dash) {
        p += dash ? 1 : sep_len;
        if (!parse_atom(&p, field, text, &end, error))
          return FALSE;
        single = FALSE;
      }
    }

    int step = 1;
    if (*p == '/' && field->names != SV_NAMES_WEEKDAY) {
      const char *digits = ++p;
      while (g_ascii_isdigit(*p))
        p++;
      if (p == digits || (*p != '\0' && *p != ','))
        return invalid_element(element, field, text, error);
      g_autofree char *step_text = g_strndup(digits, p - digits);
      int max_step = field->max - field->min + 1;
      gint64 value = p - digits > 9 ? G_MAXINT64 : g_ascii_strtoll(step_text, NULL, 10);
      if (value < 1 || value > max_step)
        return fail(error, _("step '%s' in the %s field of '%s' is out of range (1-%d)"), step_text,
                    _(field->name), text, max_step);
      step = (int)value;
      if (single)
        end = field->max;
    }

    if (*p != '\0' && *p != ',')
      return invalid_element(element, field, text, error);

    /* FRI-SUN: Sunday ends a week as 7 as well as starting one as 0. */
    if (field->names == SV_NAMES_DAY && !single && end == 0 && start > 0)
      end = 7;

    int span = end - start;
    if (span < 0) {
      if (!field->wrap) {
        g_autofree char *range = g_strndup(element, p - element);
        return fail(error, _("range '%s' in the %s field of '%s' goes backwards"), range,
                    _(field->name), text);
      }
      span += field->max - field->min + 1;
    }
    for (int k = 0; k <= span; k += step) {
      int v = start + k;
      if (v > field->max)
        v -= field->max - field->min + 1;
      int bit = v - field->min;
      bits[bit / 64] |= G_GUINT64_CONSTANT(1) << (bit % 64);
    }

    if (*p == '\0')
      return TRUE;
    p++; /* ',' */
    if (*p == '\0' || *p == ',')
      return fail(error, _("empty list element in the %s field of '%s'"), _(field->name), text);
  }
}

/* Splits TEXT at blanks into at most SV_MAX_TOKENS tokens; returns how many there are
 * (possibly more than stored). */
static guint
tokenize(char *text, char *tokens[SV_MAX_TOKENS])
{
  guint n = 0;
  char *p = text;
  for (;;) {
    while (*p == ' ' || *p == '\t')
      p++;
    if (*p == '\0')
      return n;
    if (n < SV_MAX_TOKENS)
      tokens[n] = p;
    n++;
    while (*p != '\0' && *p != ' ' && *p != '\t')
      p++;
    if (*p != '\0')
      *p++ = '\0';
  }
}

static gboolean
parse_cron(char *tokens[5], const char *text, SvCalendar *cal, GError **error)
{
  guint64 bits[5][4];
  for (int i = 0; i < 5; i++)
    if (!parse_field(tokens[i], &cron_fields[i], text, bits[i], error))
      return FALSE;

  cal->second = 1;
  cal->minute = bits[0][0];
  cal->hour = (guint32)bits[1][0];
  cal->mday = (guint32)(bits[2][0] << 1);
  cal->month = (guint32)(bits[3][0] << 1);
  cal->wday = (guint32)(bits[4][0] & 0x7f) | (guint32)((bits[4][0] >> 7) & 1);
  cal->any_year = TRUE;
  /* cronie's rule: a field "is restricted" unless its text starts with '*'. */
  cal->day_or = tokens[2][0] != '*' && tokens[4][0] != '*';
  cal->wildcard = tokens[0][0] == '*' || tokens[1][0] == '*';
  return TRUE;
}

static gboolean
parse_date(const char *date, const char *text, SvCalendar *cal, GError **error)
{
  g_auto(GStrv) parts = g_strsplit(date, "-", 0);
  guint n = g_strv_length(parts);
  if (n < 2 || n > 3)
    return fail(error, _("'%s' in '%s' is not a date (use YEAR-MONTH-DAY or MONTH-DAY)"), date,
                text);

  guint64 bits[4];
  guint first = 3 - n; /* MONTH-DAY leaves the year out */
  for (guint i = 0; i < n; i++) {
    if (!parse_field(parts[i], &cal_date[first + i], text, bits, error))
      return FALSE;
    switch (first + i) {
    case 0:
      cal->any_year = g_str_equal(parts[i], "*");
      memcpy(cal->year, bits, sizeof cal->year);
      break;
    case 1:
      cal->month = (guint32)(bits[0] << 1);
      break;
    default:
      cal->mday = (guint32)(bits[0] << 1);
      break;
    }
  }
  return TRUE;
}

static gboolean
parse_time(const char *time, const char *text, SvCalendar *cal, GError **error)
{
  g_auto(GStrv) parts = g_strsplit(time, ":", 0);
  guint n = g_strv_length(parts);
  if (n < 2 || n > 3)
    return fail(error, _("'%s' in '%s' is not a time (use HOUR:MINUTE or HOUR:MINUTE:SECOND)"),
                time, text);

  guint64 bits[4];
  cal->second = 1; /* HOUR:MINUTE means second 0 */
  for (guint i = 0; i < n; i++) {
    if (!parse_field(parts[i], &cal_time[i], text, bits, error))
      return FALSE;
    if (parts[i][0] == '*')
      cal->wildcard = TRUE;
    if (i == 0)
      cal->hour = (guint32)bits[0];
    else if (i == 1)
      cal->minute = bits[0];
    else
      cal->second = bits[0];
  }
  return TRUE;
}

/* A trailing zone name, as systemd allows: "UTC" or an IANA name such as Europe/Berlin.
 * Only plain names are tried, never paths or POSIX TZ strings, so a schedule cannot make
 * GTimeZone read an arbitrary file. */
static gboolean
looks_like_zone(const char *token)
{
  if (g_ascii_strcasecmp(token, "UTC") == 0)
    return TRUE;
  if (!g_ascii_isalpha(token[0]) || strchr(token, '/') == NULL || strstr(token, "..") != NULL ||
      strstr(token, "//") != NULL || strlen(token) > 64)
    return FALSE;
  for (const char *p = token; *p != '\0'; p++)
    if (!g_ascii_isalnum(*p) && *p != '/' && *p != '_' && *p != '-' && *p != '+')
      return FALSE;
  return TRUE;
}

typedef struct {
  const char *keyword;
  const char *weekday, *date, *time;
} SvCalendarKeyword;

/* The expansions systemd.time(7) gives. */
static const SvCalendarKeyword calendar_keywords[] = {
    {"minutely", NULL, "*-*-*", "*:*:00"},
    {"hourly", NULL, "*-*-*", "*:00:00"},
    {"daily", NULL, "*-*-*", "00:00:00"},
    {"weekly", "Mon", "*-*-*", "00:00:00"},
    {"monthly", NULL, "*-*-01", "00:00:00"},
    {"yearly", NULL, "*-01-01", "00:00:00"},
    {"annually", NULL, "*-01-01", "00:00:00"},
    {"quarterly", NULL, "*-01,04,07,10-01", "00:00:00"},
    {"semiannually", NULL, "*-01,07-01", "00:00:00"},
};

static gboolean
parse_calendar(char **tokens, guint n, const char *text, SvCalendar *cal, GTimeZone **out_tz,
               GError **error)
{
  if (n >= 2 && looks_like_zone(tokens[n - 1])) {
    const char *zone = tokens[n - 1];
    g_autoptr(GTimeZone) tz = g_ascii_strcasecmp(zone, "UTC") == 0
                                  ? g_time_zone_new_utc()
                                  : g_time_zone_new_identifier(zone);
    if (tz == NULL)
      return fail(error, _("unknown time zone '%s' in '%s'"), zone, text);
    *out_tz = g_steal_pointer(&tz);
    n--;
  }

  g_autofree char *weekday = NULL, *date = NULL, *time = NULL;
  guint i = 0;
  if (n == 1) {
    for (gsize k = 0; k < G_N_ELEMENTS(calendar_keywords); k++) {
      if (g_ascii_strcasecmp(tokens[0], calendar_keywords[k].keyword) == 0) {
        weekday = g_strdup(calendar_keywords[k].weekday);
        date = g_strdup(calendar_keywords[k].date);
        time = g_strdup(calendar_keywords[k].time);
        i = 1;
        break;
      }
    }
  }
  if (i == 0) {
    if (i < n && g_ascii_isalpha(tokens[i][0]))
      weekday = g_strdup(tokens[i++]);
    if (i < n && strchr(tokens[i], '-') != NULL && strchr(tokens[i], ':') == NULL)
      date = g_strdup(tokens[i++]);
    if (i < n && strchr(tokens[i], ':') != NULL)
      time = g_strdup(tokens[i++]);
    if (i < n || (weekday == NULL && date == NULL && time == NULL))
      return fail(error, _("'%s' in '%s' is not a weekday, date or time"), i < n ? tokens[i] : text,
                  text);
  }

  guint64 bits[4];
  cal->wday = 0x7f;
  if (weekday != NULL) {
    if (!parse_field(weekday, &cal_weekday, text, bits, error))
      return FALSE;
    cal->wday = (guint32)bits[0];
  }
  cal->any_year = TRUE;
  cal->month = 0x1ffe;
  cal->mday = 0xfffffffe;
  if (date != NULL && !parse_date(date, text, cal, error))
    return FALSE;
  cal->hour = 1, cal->minute = 1, cal->second = 1; /* no time: midnight */
  cal->wildcard = FALSE;
  if (time != NULL && !parse_time(time, text, cal, error))
    return FALSE;
  cal->day_or = FALSE;
  return TRUE;
}

static gboolean
parse_interval(const char *span, const char *text, gint64 *out_usec, GError **error)
{
  g_autoptr(GError) local_error = NULL;
  gint64 usec;

  if (*span == '\0')
    return fail(error, _("'%s' needs a time span, as in 'every 30s'"), text);
  if (!sv_timespan_parse(span, &usec, &local_error))
    return fail(error, _("interval of '%s': %s"), text, local_error->message);
  if (usec == G_MAXINT64)
    return fail(error, _("interval of '%s' is infinite"), text);
  /* Slots are claimed one by one in a state file: sub-second slots make no sense. */
  if (usec < G_USEC_PER_SEC)
    return fail(error, _("interval of '%s' is shorter than one second"), text);
  *out_usec = usec;
  return TRUE;
}

typedef struct {
  const char *nickname;
  const char *cron;
} SvNickname;

static const SvNickname nicknames[] = {
    {"@hourly", "0 * * * *"},   {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
    {"@weekly", "0 0 * * 0"},   {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"},
    {"@annually", "0 0 1 1 *"},
};

SvSchedule *
sv_schedule_parse(const char *text, GTimeZone *tz, GError **error)
{
  g_return_val_if_fail(text != NULL, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);

  gsize len = strnlen(text, SV_SCHEDULE_MAX_LEN + 1);
  if (len > SV_SCHEDULE_MAX_LEN) {
    fail(error, _("the schedule is too long (more than %d bytes)"), SV_SCHEDULE_MAX_LEN);
    return NULL;
  }
  if (!g_utf8_validate(text, -1, NULL)) {
    fail(error, _("the schedule is not valid UTF-8"));
    return NULL;
  }
  for (const char *p = text; *p != '\0'; p++) {
    if (g_ascii_iscntrl(*p) && *p != '\t') {
      fail(error, _("the schedule contains a control character"));
      return NULL;
    }
  }

  g_autoptr(SvSchedule) schedule = g_new0(SvSchedule, 1);
  schedule->text = g_strdup(text);
  g_autofree char *work = g_strdup(text);
  char *tokens[SV_MAX_TOKENS];
  guint n = tokenize(work, tokens);
  g_autoptr(GTimeZone) text_tz = NULL;

  if (n == 0) {
    fail(error, _("the schedule is empty"));
    return NULL;
  }

  if (tokens[0][0] == '@') {
    const char *cron = NULL;
    for (gsize i = 0; i < G_N_ELEMENTS(nicknames); i++)
      if (n == 1 && g_ascii_strcasecmp(tokens[0], nicknames[i].nickname) == 0)
        cron = nicknames[i].cron;
    if (cron == NULL) {
      fail(error,
           _("unknown schedule '%s' (known: @hourly, @daily, @midnight, @weekly, @monthly, "
             "@yearly, @annually)"),
           text);
      return NULL;
    }
    g_autofree char *expansion = g_strdup(cron);
    char *cron_tokens[SV_MAX_TOKENS];
    tokenize(expansion, cron_tokens);
    if (!parse_cron(cron_tokens, text, &schedule->cal, error))
      return NULL;
  } else if (g_ascii_strcasecmp(tokens[0], "every") == 0) {
    const char *span = text + (tokens[0] - work) + strlen(tokens[0]);
    g_autofree char *stripped = g_strstrip(g_strdup(span));
    if (!parse_interval(stripped, text, &schedule->interval_usec, error))
      return NULL;
  } else if (n == 5) {
    if (!parse_cron(tokens, text, &schedule->cal, error))
      return NULL;
  } else if (n > SV_MAX_TOKENS || (n >= 3 && strchr(text, ':') == NULL)) {
    /* No calendar event has more than four parts or lacks a time with three: this was
     * meant as cron. */
    fail(error,
         _("'%s' has %u fields; a cron expression has 5 (minute hour day-of-month month "
           "day-of-week)"),
         text, n);
    return NULL;
  } else {
    if (!parse_calendar(tokens, n, text, &schedule->cal, &text_tz, error))
      return NULL;
  }

  if (text_tz != NULL)
    schedule->tz = g_steal_pointer(&text_tz);
  else if (tz != NULL)
    schedule->tz = g_time_zone_ref(tz);
  else
    schedule->tz = g_time_zone_new_local();

  if (schedule->interval_usec == 0) {
    /* Decided once here rather than by a fruitless 400-year search in every next(). */
    gint64 ignored;
    schedule->never = !next_wall(&schedule->cal, 0, SV_YEAR_MIN + SV_SEARCH_YEARS, &ignored);
  }
  return g_steal_pointer(&schedule);
}

gboolean
sv_schedule_is_interval(const SvSchedule *schedule)
{
  g_return_val_if_fail(schedule != NULL, FALSE);
  return schedule->interval_usec > 0;
}

gint64
sv_schedule_interval_usec(const SvSchedule *schedule)
{
  g_return_val_if_fail(schedule != NULL, 0);
  return schedule->interval_usec;
}

const char *
sv_schedule_get_text(const SvSchedule *schedule)
{
  g_return_val_if_fail(schedule != NULL, NULL);
  return schedule->text;
}

GTimeZone *
sv_schedule_get_timezone(const SvSchedule *schedule)
{
  g_return_val_if_fail(schedule != NULL, NULL);
  return schedule->tz;
}

void
sv_schedule_free(SvSchedule *schedule)
{
  if (schedule == NULL)
    return;
  g_free(schedule->text);
  if (schedule->tz != NULL)
    g_time_zone_unref(schedule->tz);
  g_free(schedule);
}
