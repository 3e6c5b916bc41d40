/* logparse.c — see logparse.h. */
#include "logparse.h"

#include <json-glib/json-glib.h>
#include <string.h>

/* Names a JSON key must not produce, because the sink sets them or because journald
 * or journalctl give them a meaning: sdvisor often runs as root, and journald honours
 * OBJECT_PID= from root, while `journalctl -u` matches COREDUMP_UNIT=, OBJECT_*_UNIT=,
 * UNIT= and friends, so an app could otherwise file its lines under another unit. */
static const char *const reserved_names[] = {
    "MESSAGE",   "MESSAGE_ID",    "PRIORITY",           "ERRNO",         "UNIT",
    "USER_UNIT", "INVOCATION_ID", "USER_INVOCATION_ID", "DOCUMENTATION", "TID",
};
static const char *const reserved_prefixes[] = {
    "CODE_", "SYSLOG_", "SDVISOR_", "OBJECT_", "COREDUMP_",
};
/* What a reserved, empty or digit-led name gets in front of it. */
#define FALLBACK_PREFIX "JSON_"
#define PREFIX_MAX      32

struct SvLogParser {
  int default_priority[2];
  gboolean parse_json;
  gboolean detect_levels;
  char prefix[PREFIX_MAX + 1];
  gsize prefix_len;
  JsonParser *json; /* reused: a parser per line would cost several allocations */
};

/* ---- entries ---------------------------------------------------------------- */

SvLogEntry *
sv_log_entry_new(void)
{
  SvLogEntry *entry = g_new0(SvLogEntry, 1);
  entry->message = g_byte_array_sized_new(256);
  entry->fields = g_ptr_array_new_with_free_func(g_free);
  entry->priority = LOG_INFO;
  return entry;
}

void
sv_log_entry_reset(SvLogEntry *entry)
{
  g_byte_array_set_size(entry->message, 0);
  if (entry->fields->len > 0)
    g_ptr_array_set_size(entry->fields, 0);
  entry->priority = LOG_INFO;
  entry->flags = 0;
  entry->n_lines = 0;
}

void
sv_log_entry_free(SvLogEntry *entry)
{
  if (entry == NULL)
    return;
  g_byte_array_unref(entry->message);
  g_ptr_array_unref(entry->fields);
  g_free(entry);
}

void
sv_log_entry_swap(SvLogEntry *a, SvLogEntry *b)
{
  SvLogEntry tmp = *a;
  *a = *b;
  *b = tmp;
}

static SvLogField *
field_new(const char *name, gsize name_len, const void *value, gsize value_len)
{
  SvLogField *field = g_malloc(sizeof(SvLogField) + name_len + 1 + value_len + 1);
  field->name_len = name_len;
  field->len = name_len + 1 + value_len;
  memcpy(field->data, name, name_len);
  field->data[name_len] = '=';
  if (value_len > 0)
    memcpy(field->data + name_len + 1, value, value_len);
  field->data[field->len] = '\0';
  return field;
}

void
sv_log_entry_add_field(SvLogEntry *entry, const char *name, gsize name_len, const void *value,
                       gsize value_len)
{
  g_ptr_array_add(entry->fields, field_new(name, name_len, value, value_len));
}

const SvLogField *
sv_log_entry_find_field(const SvLogEntry *entry, const char *name)
{
  gsize len = strlen(name);
  for (guint i = 0; i < entry->fields->len; i++) {
    const SvLogField *field = entry->fields->pdata[i];
    if (field->name_len == len && memcmp(field->data, name, len) == 0)
      return field;
  }
  return NULL;
}

/* ---- level words ------------------------------------------------------------- */

typedef struct {
  const char *word;
  guint8 len;
  guint8 priority;
} LevelWord;

/* Python's names, syslog's names and abbreviations, and the few extra words Python
 * libraries print: uvicorn's TRACE, loguru's SUCCESS, structlog's "exception". */
static const LevelWord level_words[] = {
    {"EMERG", 5, LOG_EMERG},   {"EMERGENCY", 9, LOG_EMERG}, {"PANIC", 5, LOG_EMERG},
    {"ALERT", 5, LOG_ALERT},   {"CRIT", 4, LOG_CRIT},       {"CRITICAL", 8, LOG_CRIT},
    {"FATAL", 5, LOG_CRIT},    {"ERR", 3, LOG_ERR},         {"ERROR", 5, LOG_ERR},
    {"EXCEPTION", 9, LOG_ERR}, {"WARN", 4, LOG_WARNING},    {"WARNING", 7, LOG_WARNING},
    {"NOTICE", 6, LOG_NOTICE}, {"SUCCESS", 7, LOG_NOTICE},  {"INFO", 4, LOG_INFO},
    {"DEBUG", 5, LOG_DEBUG},   {"TRACE", 5, LOG_DEBUG},
};
#define LEVEL_WORD_MAX 9

typedef enum {
  CASE_ANY,     /* "error", "Error", "ERROR" */
  CASE_UPPER,   /* "ERROR" only: how levelname prints */
  CASE_CAPITAL, /* "Error" only: click's and flask's "Error: …" */
} CaseMode;

static int
level_word(const guint8 *w, gsize len, CaseMode mode)
{
  char upper[LEVEL_WORD_MAX];
  if (len < 3 || len > LEVEL_WORD_MAX)
    return -1;
  for (gsize i = 0; i < len; i++) {
    guint8 c = w[i];
    gboolean is_upper = c >= 'A' && c <= 'Z';
    gboolean is_lower = c >= 'a' && c <= 'z';
    if (!is_upper && !is_lower)
      return -1;
    if (mode == CASE_UPPER && !is_upper)
      return -1;
    if (mode == CASE_CAPITAL && (i == 0 ? !is_upper : !is_lower))
      return -1;
    upper[i] = (char)(is_lower ? c - 'a' + 'A' : c);
  }
  for (gsize i = 0; i < G_N_ELEMENTS(level_words); i++)
    if (level_words[i].len == len && memcmp(level_words[i].word, upper, len) == 0)
      return level_words[i].priority;
  return -1;
}

int
sv_logparse_level_from_name(const char *name, gsize len)
{
  return level_word((const guint8 *)name, len, CASE_ANY);
}

/* ---- level words in text ------------------------------------------------------- */

static inline gboolean
is_letter(guint8 c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static inline gboolean
is_digit(guint8 c)
{
  return c >= '0' && c <= '9';
}

/* Colour codes (ESC [ digits/';' m): uvicorn --use-colors and structlog's console
 * renderer wrap the level in them. */
static gsize
skip_sgr(const guint8 *p, gsize i, gsize n)
{
  while (i + 1 < n && p[i] == 0x1b && p[i + 1] == '[') {
    gsize j = i + 2;
    while (j < n && j - i < 16 && (is_digit(p[j]) || p[j] == ';'))
      j++;
    if (j < n && p[j] == 'm')
      i = j + 1;
    else
      break;
  }
  return i;
}

/* The same from the end of [start, end): returns the new end. */
static gsize
rskip_sgr(const guint8 *p, gsize start, gsize end)
{
  while (end > start && p[end - 1] == 'm') {
    gsize j = end - 1;
    while (j > start && end - j < 16 && (is_digit(p[j - 1]) || p[j - 1] == ';'))
      j--;
    if (j >= start + 2 && p[j - 1] == '[' && p[j - 2] == 0x1b)
      end = j - 2;
    else
      break;
  }
  return end;
}

static gsize
count_letters(const guint8 *p, gsize i, gsize n)
{
  gsize j = i;
  while (j < n && j - i <= LEVEL_WORD_MAX && is_letter(p[j]))
    j++;
  return j - i;
}

/* A level word at I in case MODE, followed (after colour codes) by one of FOLLOW or by
 * the end of the line. FOLLOW holds no NUL, and strchr() is never asked about one. */
static int
word_at(const guint8 *p, gsize i, gsize n, CaseMode mode, const char *follow)
{
  gsize len = count_letters(p, i, n);
  int level = level_word(p + i, len, mode);
  if (level < 0)
    return -1;
  gsize j = skip_sgr(p, i + len, n);
  if (j == n || (p[j] != '\0' && strchr(follow, p[j]) != NULL))
    return level;
  return -1;
}

/* The inside of "[…]": a level word alone ("[ERROR]", structlog's "[info     ]"), or
 * celery's "[2024-05-01 10:00:00,123: WARNING/MainProcess]". */
static int
bracket_level(const guint8 *p, gsize start, gsize end)
{
  gsize s = start, e = end;
  for (;;) {
    gsize s2 = skip_sgr(p, s, e);
    while (s2 < e && p[s2] == ' ')
      s2++;
    gsize e2 = rskip_sgr(p, s2, e);
    while (e2 > s2 && p[e2 - 1] == ' ')
      e2--;
    if (s2 == s && e2 == e)
      break;
    s = s2;
    e = e2;
  }
  if (e > s && e - s <= LEVEL_WORD_MAX) {
    int level = level_word(p + s, e - s, CASE_ANY);
    if (level >= 0)
      return level;
  }
  for (gsize i = s; i + 2 < e; i++) {
    if (p[i] == ':' && p[i + 1] == ' ') {
      gsize w = i + 2;
      gsize len = count_letters(p, w, e);
      if (w + len < e && p[w + len] == '/')
        return level_word(p + w, len, CASE_UPPER);
      return -1;
    }
  }
  return -1;
}

static gboolean
is_timestamp_byte(const guint8 *p, gsize i, gsize n)
{
  guint8 c = p[i];
  if (is_digit(c) || c == '-' || c == ':' || c == '.' || c == ',' || c == '/' || c == '+')
    return TRUE;
  /* ISO 8601: 'T' between date and time, 'Z' at the end — not the T of "TRACE". */
  if (c == 'T')
    return i + 1 < n && is_digit(p[i + 1]);
  if (c == 'Z')
    return i + 1 == n || !is_letter(p[i + 1]);
  return FALSE;
}

/* Up to three tokens like "2024-05-01", "10:00:00,123", "+0000" at I, separated by
 * single spaces. Returns the end, or 0 when there is no timestamp. */
static gsize
skip_timestamp(const guint8 *p, gsize i, gsize n)
{
  guint tokens = 0;
  while (tokens < 3) {
    gsize j = i;
    if (j < n && tokens > 0 && (p[j] == '+' || p[j] == '-') && j + 1 < n && is_digit(p[j + 1]))
      j++;
    if (j >= n || !is_digit(p[j]))
      break;
    gboolean separated = FALSE;
    while (j < n && j - i < 40 && is_timestamp_byte(p, j, n)) {
      if (p[j] == '-' || p[j] == ':' || p[j] == '/')
        separated = TRUE;
      j++;
    }
    /* "2 errors" or "3.14" are not timestamps. */
    if (tokens == 0 && (!separated || j - i < 5))
      return 0;
    i = skip_sgr(p, j, n);
    tokens++;
    if (i + 1 < n && p[i] == ' ' &&
        (is_digit(p[i + 1]) ||
         ((p[i + 1] == '+' || p[i + 1] == '-') && i + 2 < n && is_digit(p[i + 2]))))
      i++;
    else
      break;
  }
  return tokens > 0 ? i : 0;
}

/* After a leading timestamp, or at a line that starts with '[': bracket groups (gunicorn
 * "[ts] [pid] [ERROR]"), then a bare upper-case level (Flask "[ts] ERROR in app:",
 * "ts INFO name: msg", loguru "ts | INFO | …"), or "ts - name - LEVEL - msg". */
static int
level_after_timestamp(const guint8 *p, gsize i, gsize n, gboolean after_timestamp)
{
  for (guint group = 0; group < 3 && i < n && p[i] == '['; group++) {
    gsize limit = MIN(n, i + 128);
    const guint8 *close = memchr(p + i + 1, ']', limit - (i + 1));
    if (close == NULL)
      return -1;
    gsize j = (gsize)(close - p);
    int level = bracket_level(p, i + 1, j);
    if (level >= 0)
      return level;
    i = skip_sgr(p, j + 1, n);
    if (i < n && p[i] == ':')
      i++;
    for (guint k = 0; k < 8 && i < n && (p[i] == ' ' || p[i] == '\t'); k++)
      i = skip_sgr(p, i + 1, n);
  }
  int level = word_at(p, i, n, CASE_UPPER, " \t:|]/-");
  if (level >= 0 || !after_timestamp)
    return level;
  /* "ts - name - LEVEL - msg": the logger name needs " - " on both sides, so free text
   * after a timestamp ("… no ERROR here") does not match. */
  gsize j = i;
  while (j < n && j - i < 128 && (is_letter(p[j]) || is_digit(p[j]) || p[j] == '_' || p[j] == '.'))
    j++;
  if (j == i || j + 3 > n || memcmp(p + j, " - ", 3) != 0)
    return -1;
  return word_at(p, j + 3, n, CASE_UPPER, " \t:|-");
}

/* The warnings module: "/path/mod.py:12: DeprecationWarning: text". Python ≥ 3.9
 * makes __file__ absolute, so these start with '/'. */
static int
level_of_warning(const guint8 *p, gsize n)
{
  gsize limit = MIN(n, 1024);
  const guint8 *dot = memmem(p, limit, ".py:", 4);
  if (dot == NULL)
    return -1;
  gsize i = (gsize)(dot - p) + 4, digits = i;
  while (i < n && i - digits < 10 && is_digit(p[i]))
    i++;
  if (i == digits || i + 2 > n || p[i] != ':' || p[i + 1] != ' ')
    return -1;
  gsize name = i + 2;
  i = name;
  while (i < n && i - name < 128 &&
         (is_letter(p[i]) || is_digit(p[i]) || p[i] == '_' || p[i] == '.'))
    i++;
  if (i - name < 7 || i >= n || p[i] != ':' || memcmp(p + i - 7, "Warning", 7) != 0)
    return -1;
  return LOG_WARNING;
}

/* The level of a plain line, or -1. Looks only where real formats put the level. */
static int
detect_text_level(const guint8 *p, gsize n)
{
  gsize i = skip_sgr(p, 0, n);
  if (i >= n)
    return -1;
  guint8 c = p[i];
  if (c >= 'A' && c <= 'Z') {
    /* "INFO:root:hello", uvicorn "ERROR:    …", Django "ERROR 2024-…", "WARNING: …" */
    int level = word_at(p, i, n, CASE_UPPER, ": \t|");
    if (level >= 0)
      return level;
    /* "Error: Could not locate a Flask application." */
    level = word_at(p, i, n, CASE_CAPITAL, ":");
    if (level >= 0)
      return level;
    /* alembic's "%(levelname)-5.5s [%(name)s]" cuts WARNING and CRITICAL to five. */
    if (i + 7 <= n && p[i + 5] == ' ' && p[i + 6] == '[') {
      if (memcmp(p + i, "WARNI", 5) == 0)
        return LOG_WARNING;
      if (memcmp(p + i, "CRITI", 5) == 0)
        return LOG_CRIT;
    }
    return -1;
  }
  if (c == '[')
    return level_after_timestamp(p, i, n, FALSE);
  if (is_digit(c)) {
    gsize j = skip_timestamp(p, i, n);
    if (j == 0)
      return -1;
    /* the separators real formats put after the time: " ", " - ", " | ", ":" */
    for (guint k = 0;
         k < 6 && j < n &&
         (p[j] == ' ' || p[j] == '|' || p[j] == ':' || p[j] == '-' || p[j] == ',' || p[j] == '\t');
         k++)
      j = skip_sgr(p, j + 1, n);
    return level_after_timestamp(p, j, n, TRUE);
  }
  if (c == '/')
    return level_of_warning(p, n);
  return -1;
}

/* ---- JSON ---------------------------------------------------------------------- */

/* The cheap checks before json-glib sees the line: an object, not too deep, valid UTF-8
 * and no NUL (g_utf8_validate_len() rejects NUL). */
static gboolean
json_candidate(const guint8 *p, gsize n)
{
  gsize s = 0, e = n;
  while (s < e && (p[s] == ' ' || p[s] == '\t'))
    s++;
  while (e > s && (p[e - 1] == ' ' || p[e - 1] == '\t' || p[e - 1] == '\r'))
    e--;
  if (e - s < 2 || p[s] != '{' || p[e - 1] != '}')
    return FALSE;
  /* Counting members bounds json-glib's work too: it looks a repeated key up in a list
   * of all keys, which is quadratic in the keys of one object. */
  guint depth = 0, members = 0, top_members = 0;
  gboolean in_string = FALSE, escaped = FALSE;
  for (gsize i = s; i < e; i++) {
    guint8 c = p[i];
    if (in_string) {
      if (escaped)
        escaped = FALSE;
      else if (c == '\\')
        escaped = TRUE;
      else if (c == '"')
        in_string = FALSE;
    } else if (c == '"') {
      in_string = TRUE;
    } else if (c == '{' || c == '[') {
      if (++depth > SV_LOG_JSON_MAX_DEPTH)
        return FALSE;
    } else if (c == '}' || c == ']') {
      /* One object per line: json-glib would take "{…}{…}" and drop the second. */
      if (depth == 0 || (--depth == 0 && i != e - 1))
        return FALSE;
    } else if (c == ':') {
      if (++members > SV_LOG_JSON_MAX_MEMBERS ||
          (depth == 1 && ++top_members > SV_LOG_JSON_MAX_KEYS))
        return FALSE;
    }
  }
  return g_utf8_validate_len((const char *)p, n, NULL);
}

/* Python's numeric levels: 10 DEBUG, 20 INFO, 30 WARNING, 40 ERROR, 50 CRITICAL; a
 * custom level between INFO and WARNING (loguru's SUCCESS is 25) reads as NOTICE. */
static int
python_level(gint64 v)
{
  if (v >= 50)
    return LOG_CRIT;
  if (v >= 40)
    return LOG_ERR;
  if (v >= 30)
    return LOG_WARNING;
  if (v > 20)
    return LOG_NOTICE;
  if (v == 20)
    return LOG_INFO;
  if (v >= 1)
    return LOG_DEBUG;
  return -1;
}

static gboolean
node_integer(JsonNode *node, gint64 *out)
{
  GType type = json_node_get_value_type(node);
  if (type == G_TYPE_INT64) {
    *out = json_node_get_int(node);
    return TRUE;
  }
  if (type == G_TYPE_DOUBLE) {
    double d = json_node_get_double(node);
    if (d >= -1e15 && d <= 1e15 && d == (double)(gint64)d) {
      *out = (gint64)d;
      return TRUE;
    }
  }
  return FALSE;
}

/* The level a JSON value under KEY gives, or -1. Numbers read as Python levels, except
 * under "priority" (syslog 0–7) and "severity" ≥ 100 (Google Cloud's 100 DEBUG … 800
 * EMERGENCY, which structured-logging libraries for Cloud Run print). */
static int
json_level(const char *key, JsonNode *node)
{
  if (!JSON_NODE_HOLDS_VALUE(node))
    return -1;
  gboolean is_priority = strcmp(key, "priority") == 0;
  gint64 v;
  if (json_node_get_value_type(node) == G_TYPE_STRING) {
    const char *s = json_node_get_string(node);
    gsize len = strlen(s);
    while (len > 0 && s[len - 1] == ' ')
      len--;
    while (len > 0 && *s == ' ') {
      s++;
      len--;
    }
    if (is_priority && len == 1 && s[0] >= '0' && s[0] <= '7')
      return s[0] - '0';
    return level_word((const guint8 *)s, len, CASE_ANY);
  }
  if (!node_integer(node, &v))
    return -1;
  if (is_priority)
    return v >= 0 && v <= 7 ? (int)v : -1;
  if (strcmp(key, "severity") == 0 && v >= 100) {
    if (v % 100 != 0 || v > 800)
      return -1;
    return (int)(8 - v / 100);
  }
  return python_level(v);
}

static void
append_double(GByteArray *out, double d)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  /* Shortest text that reads back the same: 0.125, not 0.12500000000000000. */
  g_ascii_formatd(buf, sizeof buf, "%.15g", d);
  if (g_ascii_strtod(buf, NULL) != d)
    g_ascii_formatd(buf, sizeof buf, "%.17g", d);
  g_byte_array_append(out, (const guint8 *)buf, (guint)strlen(buf));
}

/* A value as text: strings as they are, everything else as compact JSON. */
static void
append_node_text(GByteArray *out, JsonNode *node)
{
  if (JSON_NODE_HOLDS_VALUE(node)) {
    GType type = json_node_get_value_type(node);
    if (type == G_TYPE_STRING) {
      const char *s = json_node_get_string(node);
      g_byte_array_append(out, (const guint8 *)s, (guint)strlen(s));
      return;
    }
    if (type == G_TYPE_INT64) {
      char buf[32];
      int len = g_snprintf(buf, sizeof buf, "%" G_GINT64_FORMAT, json_node_get_int(node));
      g_byte_array_append(out, (const guint8 *)buf, (guint)len);
      return;
    }
    if (type == G_TYPE_DOUBLE) {
      append_double(out, json_node_get_double(node));
      return;
    }
    if (type == G_TYPE_BOOLEAN) {
      const char *s = json_node_get_boolean(node) ? "true" : "false";
      g_byte_array_append(out, (const guint8 *)s, (guint)strlen(s));
      return;
    }
  }
  /* Objects, arrays, null: depth is bounded by json_candidate(), so the generator's
   * recursion is too. */
  g_autofree char *text = json_to_string(node, FALSE);
  g_byte_array_append(out, (const guint8 *)text, (guint)strlen(text));
}

static gboolean
is_reserved(const char *name, gsize len)
{
  for (gsize i = 0; i < G_N_ELEMENTS(reserved_names); i++)
    if (strlen(reserved_names[i]) == len && memcmp(reserved_names[i], name, len) == 0)
      return TRUE;
  for (gsize i = 0; i < G_N_ELEMENTS(reserved_prefixes); i++) {
    gsize plen = strlen(reserved_prefixes[i]);
    if (len >= plen && memcmp(reserved_prefixes[i], name, plen) == 0)
      return TRUE;
  }
  return FALSE;
}

static inline char
sanitize_byte(guint8 c)
{
  if (c >= 'a' && c <= 'z')
    return (char)(c - 'a' + 'A');
  if ((c >= 'A' && c <= 'Z') || is_digit(c) || c == '_')
    return (char)c;
  return '_';
}

/* Upper-case; anything but A–Z, 0–9, '_' becomes '_'. Returns the bytes written. */
static gsize
sanitize_into(char *out, gsize room, const char *key, gsize key_len)
{
  gsize n = MIN(room, key_len);
  for (gsize i = 0; i < n; i++)
    out[i] = sanitize_byte((guint8)key[i]);
  return n;
}

/* The journal field name for a JSON key: prefix + sanitised key; leading '_' dropped
 * (journald drops such fields from clients); "JSON_" in front when the result is empty,
 * starts with a digit or is a reserved name; at most 64 bytes. */
static gsize
field_name_for_key(const SvLogParser *self, const char *key, char out[SV_LOG_FIELD_NAME_MAX])
{
  const gsize fb = sizeof FALLBACK_PREFIX - 1;
  char buf[sizeof FALLBACK_PREFIX - 1 + SV_LOG_FIELD_NAME_MAX];
  char *name = buf + fb;
  gsize len = 0;
  for (gsize i = 0; i < self->prefix_len && len < SV_LOG_FIELD_NAME_MAX; i++)
    if (len > 0 || self->prefix[i] != '_')
      name[len++] = self->prefix[i];
  for (const char *k = key; *k != '\0' && len < SV_LOG_FIELD_NAME_MAX; k++) {
    char c = sanitize_byte((guint8)*k);
    if (len > 0 || c != '_')
      name[len++] = c;
  }
  if (len == 0 || is_digit((guint8)name[0]) || is_reserved(name, len)) {
    name = buf;
    memcpy(name, FALLBACK_PREFIX, fb);
    len = MIN(len + fb, SV_LOG_FIELD_NAME_MAX);
  }
  memcpy(out, name, len);
  return len;
}

gboolean
sv_log_field_name_is_valid(const char *name, gsize len)
{
  if (len == 0 || len > SV_LOG_FIELD_NAME_MAX || name[0] == '_' || is_digit((guint8)name[0]))
    return FALSE;
  for (gsize i = 0; i < len; i++) {
    guint8 c = (guint8)name[i];
    if (!((c >= 'A' && c <= 'Z') || is_digit(c) || c == '_'))
      return FALSE;
  }
  return TRUE;
}

static const char *const message_keys[] = {"message", "msg", "event"};
/* python-json-logger, structlog/loguru, Google Cloud, python-json-logger's %(levelno)s,
 * journald's own word. */
static const char *const level_keys[] = {"levelname", "level", "severity", "levelno", "priority"};

/* Fills ENTRY from the JSON object in P; FALSE (ENTRY untouched) when it is not one. */
static gboolean
parse_json(SvLogParser *self, const guint8 *p, gsize n, SvLogEntry *entry, int *priority)
{
  if (!json_parser_load_from_data(self->json, (const char *)p, (gssize)n, NULL))
    return FALSE;
  JsonNode *root = json_parser_get_root(self->json);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root))
    return FALSE;
  JsonObject *object = json_node_get_object(root);
  /* Many keys is not a log record; keeping it as text loses nothing. */
  if (json_object_get_size(object) > SV_LOG_JSON_MAX_KEYS)
    return FALSE;

  const char *message_key = NULL;
  for (gsize i = 0; i < G_N_ELEMENTS(message_keys) && message_key == NULL; i++) {
    JsonNode *node = json_object_get_member(object, message_keys[i]);
    if (node != NULL && !JSON_NODE_HOLDS_NULL(node)) {
      message_key = message_keys[i];
      append_node_text(entry->message, node);
    }
  }
  /* No message key: the line itself is the most readable MESSAGE. */
  if (message_key == NULL)
    g_byte_array_append(entry->message, p, (guint)n);

  const char *level_key = NULL;
  for (gsize i = 0; i < G_N_ELEMENTS(level_keys) && level_key == NULL; i++) {
    JsonNode *node = json_object_get_member(object, level_keys[i]);
    int level = node != NULL ? json_level(level_keys[i], node) : -1;
    if (level >= 0) {
      level_key = level_keys[i];
      /* An explicit "<N>" prefix wins; the key is consumed either way. */
      if (*priority < 0)
        *priority = level;
    }
  }

  JsonObjectIter iter;
  const char *key;
  JsonNode *node;
  g_autoptr(GByteArray) value = g_byte_array_new();
  json_object_iter_init_ordered(&iter, object);
  while (json_object_iter_next_ordered(&iter, &key, &node)) {
    if ((message_key != NULL && strcmp(key, message_key) == 0) ||
        (level_key != NULL && strcmp(key, level_key) == 0))
      continue;
    /* null says nothing, and python-json-logger prints many ("exc_info": null). */
    if (JSON_NODE_HOLDS_NULL(node))
      continue;
    char name[SV_LOG_FIELD_NAME_MAX];
    gsize name_len = field_name_for_key(self, key, name);
    g_byte_array_set_size(value, 0);
    append_node_text(value, node);
    sv_log_entry_add_field(entry, name, name_len, value->data, value->len);
  }
  return TRUE;
}

/* ---- the parser ---------------------------------------------------------------- */

void
sv_logparse_config_init(SvLogParseConfig *config)
{
  *config = (SvLogParseConfig){
      .default_priority_stdout = LOG_INFO,
      .default_priority_stderr = LOG_INFO,
      .parse_json = TRUE,
      .detect_levels = TRUE,
      .json_field_prefix = "",
  };
}

SvLogParser *
sv_logparse_new(const SvLogParseConfig *config)
{
  SvLogParser *self = g_new0(SvLogParser, 1);
  self->default_priority[SV_LOG_STREAM_STDOUT] = CLAMP(config->default_priority_stdout, 0, 7);
  self->default_priority[SV_LOG_STREAM_STDERR] = CLAMP(config->default_priority_stderr, 0, 7);
  self->parse_json = config->parse_json;
  self->detect_levels = config->detect_levels;
  if (config->json_field_prefix != NULL) {
    const char *prefix = config->json_field_prefix;
    self->prefix_len = sanitize_into(self->prefix, PREFIX_MAX, prefix, strlen(prefix));
  }
  if (self->parse_json)
    self->json = json_parser_new_immutable();
  return self;
}

void
sv_logparse_free(SvLogParser *parser)
{
  if (parser == NULL)
    return;
  g_clear_object(&parser->json);
  g_free(parser);
}

void
sv_logparse_line(SvLogParser *self, SvLogStream stream, const char *line, gsize len,
                 guint line_flags, SvLogEntry *entry)
{
  const guint8 *p = (const guint8 *)line;
  int priority = -1;

  g_return_if_fail(len <= SV_LOG_LINE_LIMIT);
  sv_log_entry_reset(entry);
  entry->flags = line_flags & (SV_LOG_ENTRY_PARTIAL | SV_LOG_ENTRY_CONTINUED);
  entry->n_lines = 1;

  if (!(line_flags & SV_LOG_ENTRY_CONTINUED)) {
    if (len >= 3 && p[0] == '<' && p[1] >= '0' && p[1] <= '7' && p[2] == '>') {
      priority = p[1] - '0';
      p += 3;
      len -= 3;
    }
    if (self->parse_json && !(line_flags & SV_LOG_ENTRY_PARTIAL) && json_candidate(p, len)) {
      if (parse_json(self, p, len, entry, &priority)) {
        entry->flags |= SV_LOG_ENTRY_JSON;
        goto done;
      }
      /* invalid JSON stays text; nothing was added to ENTRY */
    }
    if (priority < 0 && self->detect_levels)
      priority = detect_text_level(p, len);
  }
  g_byte_array_append(entry->message, p, (guint)len);

done:
  if (priority >= 0) {
    entry->priority = priority;
    entry->flags |= SV_LOG_ENTRY_LEVEL;
  } else {
    entry->priority = self->default_priority[stream == SV_LOG_STREAM_STDERR];
  }
}
