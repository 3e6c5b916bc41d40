/* logparse.h — one line of the app's output → one journal entry.
 *
 * Pure: no I/O, no clock, no main loop. The reader (logstream) hands over one complete
 * line, or one piece of a line it split at line-max, as bytes that may hold NUL and
 * invalid UTF-8; the result is MESSAGE bytes, a PRIORITY and extra journal fields,
 * ready for the sink. logmerge then joins tracebacks and continuation lines.
 *
 * What is recognised, and why only there:
 *  - a "<N>" prefix (N 0–7), as journald's SyslogLevelPrefix=: sets PRIORITY, stripped.
 *    It is the app saying so explicitly, so it wins over anything else in the line.
 *  - a JSON object (first non-blank byte '{'): "message"/"msg"/"event" become MESSAGE
 *    (the first present; without any, the whole line), "levelname"/"level"/"severity"/
 *    "levelno"/"priority" PRIORITY (the first that names a level; numbers are Python
 *    levels, syslog 0–7 under "priority"), every other key a field. Plain lines never
 *    reach json-glib, which keeps them cheap. Field names: optional prefix + key,
 *    upper-cased, anything but A–Z 0–9 '_' made '_', leading '_' dropped (journald
 *    drops such fields from clients), cut at 64; "JSON_" goes in front of a name that
 *    would be empty, start with a digit, or be one the sink sets or journald and
 *    `journalctl -u` give a meaning (MESSAGE, MESSAGE_ID, PRIORITY, ERRNO, UNIT,
 *    USER_UNIT, INVOCATION_ID, USER_INVOCATION_ID, DOCUMENTATION, TID, CODE_*,
 *    SYSLOG_*, SDVISOR_*, OBJECT_*, COREDUMP_*). Strings stay as they are, other
 *    values become compact JSON text, null values are dropped. Lines that are not
 *    exactly one object, deeper than 32 or with too many keys stay text.
 *  - level words only at the places real formats put them (line start, bracket groups
 *    at the start, right after a leading timestamp), so "no ERROR here" stays INFO.
 * Everything else keeps the stream's default priority. MESSAGE is the line as the app
 * wrote it (minus "<N>"): level words stay in it, like journald keeps them.
 *
 * stderr defaults to INFO, not ERR: Python's logging writes every level to stderr, so
 * judging by stream would turn every INFO line into an error (gunicorn#2453). */
#pragma once
#include <glib.h>
#include <syslog.h>

typedef enum {
  SV_LOG_STREAM_STDOUT,
  SV_LOG_STREAM_STDERR,
} SvLogStream;

typedef enum {
  /* The reader split the line at line-max and this piece does not end it. */
  SV_LOG_ENTRY_PARTIAL = 1 << 0,
  /* This piece continues a line split before it: nothing in it is interpreted. */
  SV_LOG_ENTRY_CONTINUED = 1 << 1,
  /* PRIORITY came from the line ("<N>", a level word or a JSON key), not the default. */
  SV_LOG_ENTRY_LEVEL = 1 << 2,
  /* The line was a JSON object; FIELDS hold its keys. */
  SV_LOG_ENTRY_JSON = 1 << 3,
  /* Set by logmerge: the entry holds a Python traceback. */
  SV_LOG_ENTRY_TRACEBACK = 1 << 4,
  /* Set by logmerge: the entry reached the size or line cap; the rest follows. */
  SV_LOG_ENTRY_CAPPED = 1 << 5,
} SvLogEntryFlags;

/* journald limits field names to 64 bytes. */
#define SV_LOG_FIELD_NAME_MAX 64
/* JSON deeper than this, or with more keys, is kept as text: json-glib recurses per
 * level, and a line of 48K '[' would otherwise overflow the stack. */
#define SV_LOG_JSON_MAX_DEPTH   32
#define SV_LOG_JSON_MAX_KEYS    128  /* keys of the record itself */
#define SV_LOG_JSON_MAX_MEMBERS 1024 /* keys at every depth together */
/* The longest line sv_logparse_line() takes; line-max is far below. */
#define SV_LOG_LINE_LIMIT (64u * 1024 * 1024)

/* One journal field, stored as the native protocol wants it: "NAME=VALUE" in one
 * buffer, so the sink points an iovec at DATA with length LEN. VALUE may hold any byte;
 * a NUL follows it for convenience only. */
typedef struct {
  gsize name_len; /* bytes of NAME */
  gsize len;      /* bytes of NAME=VALUE */
  char data[];
} SvLogField;

static inline const char *
sv_log_field_value(const SvLogField *field, gsize *out_len)
{
  *out_len = field->len - field->name_len - 1;
  return field->data + field->name_len + 1;
}

/* One entry. Reused across lines (reset keeps the buffers), so a plain line costs
 * no allocation once the buffers have grown. */
typedef struct {
  GByteArray *message; /* MESSAGE; lines joined with '\n'; not NUL-terminated */
  int priority;        /* syslog level, 0 (EMERG) … 7 (DEBUG) */
  guint flags;         /* SvLogEntryFlags */
  guint n_lines;       /* lines of the app's output in MESSAGE */
  GPtrArray *fields;   /* SvLogField *, in key order; never MESSAGE or PRIORITY */
} SvLogEntry;

SvLogEntry *sv_log_entry_new(void);
void sv_log_entry_reset(SvLogEntry *entry); /* empty again, buffers kept */
void sv_log_entry_free(SvLogEntry *entry);  /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvLogEntry, sv_log_entry_free)
/* Exchanges the contents of A and B: moves a line without copying its bytes. */
void sv_log_entry_swap(SvLogEntry *a, SvLogEntry *b);
void sv_log_entry_add_field(SvLogEntry *entry, const char *name, gsize name_len, const void *value,
                            gsize value_len);
/* The first field called NAME, or NULL. */
const SvLogField *sv_log_entry_find_field(const SvLogEntry *entry, const char *name);

typedef struct {
  int default_priority_stdout;   /* LOG_INFO */
  int default_priority_stderr;   /* LOG_INFO: see above */
  gboolean parse_json;           /* TRUE */
  gboolean detect_levels;        /* TRUE; "<N>" is honoured either way */
  const char *json_field_prefix; /* "" ; sanitised like a field name, at most 32 bytes */
} SvLogParseConfig;

void sv_logparse_config_init(SvLogParseConfig *config);

typedef struct SvLogParser SvLogParser;

/* Copies CONFIG; out-of-range priorities are clamped to 0–7. */
SvLogParser *sv_logparse_new(const SvLogParseConfig *config);
void sv_logparse_free(SvLogParser *parser); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvLogParser, sv_logparse_free)

/* Parses LINE (LEN bytes, without its '\n') into ENTRY, which is reset first.
 * LINE_FLAGS: SV_LOG_ENTRY_PARTIAL and/or SV_LOG_ENTRY_CONTINUED as the reader split
 * the line; they are copied into ENTRY. A CONTINUED piece is taken literally with the
 * stream's default priority (logmerge gives it its line's priority); a PARTIAL first
 * piece gets "<N>" and level words but is never tried as JSON. */
void sv_logparse_line(SvLogParser *parser, SvLogStream stream, const char *line, gsize len,
                      guint line_flags, SvLogEntry *entry);

/* "warning", "WARN", "err", "Critical" … → syslog level; -1 if not a level name.
 * Case-insensitive; also used for default-priority= in the configuration. */
int sv_logparse_level_from_name(const char *name, gsize len);

/* Whether NAME is a field name journald accepts from a client: 1–64 bytes of A–Z, 0–9
 * and '_', not starting with a digit or '_'. */
gboolean sv_log_field_name_is_valid(const char *name, gsize len);
