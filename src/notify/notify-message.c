/* notify-message.c — parse and re-serialise one sd_notify datagram (pure). */
#include "notify-message.h"

#include <string.h>

G_DEFINE_QUARK(sv - notify - message - error - quark, sv_notify_message_error)

/* Flags count only as the exact line systemd compares with (strv_contains()). */
static const struct {
  const char *line;
  SvNotifyField field;
} flag_lines[] = {
    {"READY=1", SV_NOTIFY_FIELD_READY},
    {"RELOADING=1", SV_NOTIFY_FIELD_RELOADING},
    {"STOPPING=1", SV_NOTIFY_FIELD_STOPPING},
    {"FDSTORE=1", SV_NOTIFY_FIELD_FDSTORE},
    {"FDSTOREREMOVE=1", SV_NOTIFY_FIELD_FDSTOREREMOVE},
    {"FDPOLL=0", SV_NOTIFY_FIELD_FDPOLL_OFF},
    {"BARRIER=1", SV_NOTIFY_FIELD_BARRIER},
};

typedef enum {
  VALUE_STATUS,
  VALUE_WATCHDOG,
  VALUE_WATCHDOG_USEC,
  VALUE_EXTEND_TIMEOUT_USEC,
  VALUE_MONOTONIC_USEC,
  VALUE_ERRNO,
  VALUE_BUSERROR,
  VALUE_FDNAME,
  VALUE_MAINPID,
} ValueKind;

static const struct {
  const char *name;
  ValueKind kind;
  guint32 seen; /* fields whose presence means an earlier occurrence won */
} valued[] = {
    {"STATUS", VALUE_STATUS, SV_NOTIFY_FIELD_STATUS},
    {"WATCHDOG", VALUE_WATCHDOG, SV_NOTIFY_FIELD_WATCHDOG | SV_NOTIFY_FIELD_WATCHDOG_TRIGGER},
    {"WATCHDOG_USEC", VALUE_WATCHDOG_USEC, SV_NOTIFY_FIELD_WATCHDOG_USEC},
    {"EXTEND_TIMEOUT_USEC", VALUE_EXTEND_TIMEOUT_USEC, SV_NOTIFY_FIELD_EXTEND_TIMEOUT_USEC},
    {"MONOTONIC_USEC", VALUE_MONOTONIC_USEC, SV_NOTIFY_FIELD_MONOTONIC_USEC},
    {"ERRNO", VALUE_ERRNO, SV_NOTIFY_FIELD_ERRNO},
    {"BUSERROR", VALUE_BUSERROR, SV_NOTIFY_FIELD_BUSERROR},
    {"FDNAME", VALUE_FDNAME, SV_NOTIFY_FIELD_FDNAME},
    {"MAINPID", VALUE_MAINPID, SV_NOTIFY_FIELD_MAINPID},
};

/* Decimal digits only, no leading zero, no overflow. */
static gboolean
parse_decimal(const char *s, guint64 max, guint64 *out)
{
  if (*s == '\0' || (s[0] == '0' && s[1] != '\0'))
    return FALSE;

  guint64 v = 0;
  for (const char *p = s; *p; p++) {
    if (!g_ascii_isdigit(*p))
      return FALSE;
    guint d = (guint)(*p - '0');
    if (v > (max - d) / 10)
      return FALSE;
    v = v * 10 + d;
  }
  *out = v;
  return TRUE;
}

/* Printable ASCII; what systemd's fdname_is_valid() and string_is_safe_ascii() allow. */
static gboolean
is_safe_ascii(const char *s, const char *forbidden)
{
  for (const char *p = s; *p; p++)
    if (*p < 0x20 || *p >= 0x7f || (forbidden && strchr(forbidden, *p)))
      return FALSE;
  return TRUE;
}

/* The app's bytes in a log line: short, escaped (valid UTF-8 has been checked, but
 * control characters and escapes must not reach a terminal). */
static char *
quote_value(const char *value)
{
  enum { QUOTE_MAX = 32 };
  gsize len = strlen(value);
  g_autofree char *head = g_strndup(value, MIN(len, (gsize)QUOTE_MAX));
  g_autofree char *escaped = g_strescape(head, NULL);
  return g_strdup_printf("\"%s\"%s", escaped, len > QUOTE_MAX ? "..." : "");
}

static gboolean
invalid_value(GError **error, const char *name, const char *value, const char *expected)
{
  g_autofree char *quoted = quote_value(value);
  g_set_error(error, SV_NOTIFY_MESSAGE_ERROR, SV_NOTIFY_MESSAGE_ERROR_INVALID, "%s=%s: %s", name,
              quoted, expected);
  return FALSE;
}

static gboolean
parse_value(SvNotifyMessage *msg, ValueKind kind, const char *name, const char *value,
            GError **error)
{
  guint64 n;

  switch (kind) {
  case VALUE_STATUS:
    /* One line by construction, valid UTF-8 checked for the whole datagram. */
    msg->status = value;
    msg->fields |= SV_NOTIFY_FIELD_STATUS;
    return TRUE;

  case VALUE_WATCHDOG:
    if (strcmp(value, "1") == 0)
      msg->fields |= SV_NOTIFY_FIELD_WATCHDOG;
    else if (strcmp(value, "trigger") == 0)
      msg->fields |= SV_NOTIFY_FIELD_WATCHDOG_TRIGGER;
    else
      return invalid_value(error, name, value, "expected 1 or trigger");
    return TRUE;

  case VALUE_WATCHDOG_USEC:
  case VALUE_EXTEND_TIMEOUT_USEC:
  case VALUE_MONOTONIC_USEC:
    if (!parse_decimal(value, G_MAXUINT64, &n))
      return invalid_value(error, name, value, "not a decimal number of microseconds");
    if (kind == VALUE_WATCHDOG_USEC) {
      msg->watchdog_usec = n;
      msg->fields |= SV_NOTIFY_FIELD_WATCHDOG_USEC;
    } else if (kind == VALUE_EXTEND_TIMEOUT_USEC) {
      msg->extend_timeout_usec = n;
      msg->fields |= SV_NOTIFY_FIELD_EXTEND_TIMEOUT_USEC;
    } else {
      msg->monotonic_usec = n;
      msg->fields |= SV_NOTIFY_FIELD_MONOTONIC_USEC;
    }
    return TRUE;

  case VALUE_ERRNO:
    if (!parse_decimal(value, SV_NOTIFY_ERRNO_MAX, &n))
      return invalid_value(error, name, value, "not a decimal errno value (0-4095)");
    msg->errno_value = (int)n;
    msg->fields |= SV_NOTIFY_FIELD_ERRNO;
    return TRUE;

  case VALUE_BUSERROR:
    if (strlen(value) > SV_NOTIFY_NAME_MAX || !is_safe_ascii(value, NULL))
      return invalid_value(error, name, value, "not a D-Bus error name");
    msg->buserror = value;
    msg->fields |= SV_NOTIFY_FIELD_BUSERROR;
    return TRUE;

  case VALUE_FDNAME:
    if (*value == '\0' || strlen(value) > SV_NOTIFY_NAME_MAX || !is_safe_ascii(value, ":"))
      return invalid_value(error, name, value,
                           "not a file descriptor name (1-255 printable ASCII characters, no ':')");
    msg->fdname = value;
    msg->fields |= SV_NOTIFY_FIELD_FDNAME;
    return TRUE;

  case VALUE_MAINPID:
    /* pid_t is int; a pid is never 0. */
    if (!parse_decimal(value, G_MAXINT, &n) || n == 0)
      return invalid_value(error, name, value, "not a process id");
    msg->mainpid = (pid_t)n;
    msg->fields |= SV_NOTIFY_FIELD_MAINPID;
    return TRUE;
  }
  g_assert_not_reached();
}

/* One line, NUL-terminated in storage. FALSE only for an invalid known value. */
static gboolean
parse_line(SvNotifyMessage *msg, GPtrArray *private_assignments, char *line, GError **error)
{
  for (gsize i = 0; i < G_N_ELEMENTS(flag_lines); i++) {
    if (strcmp(line, flag_lines[i].line) == 0) {
      msg->fields |= flag_lines[i].field;
      return TRUE;
    }
  }

  char *eq = strchr(line, '=');
  if (!eq) {
    msg->n_ignored++;
    return TRUE;
  }
  gsize name_len = (gsize)(eq - line);

  for (gsize i = 0; i < G_N_ELEMENTS(valued); i++) {
    if (strlen(valued[i].name) != name_len || memcmp(line, valued[i].name, name_len) != 0)
      continue;
    if (msg->fields & valued[i].seen) {
      /* systemd reads the first occurrence only; later ones are never looked at. */
      msg->n_ignored++;
      return TRUE;
    }
    return parse_value(msg, valued[i].kind, valued[i].name, eq + 1, error);
  }

  if (name_len > 2 && g_str_has_prefix(line, "X_")) {
    g_ptr_array_add(private_assignments, line);
    return TRUE;
  }

  /* Unknown assignments, and flags with another value (READY=0), which systemd does not
   * match either. */
  msg->n_ignored++;
  return TRUE;
}

SvNotifyMessage *
sv_notify_message_parse(const void *data, gsize size, GError **error)
{
  g_return_val_if_fail(data != NULL || size == 0, NULL);

  if (size == 0) {
    g_set_error_literal(error, SV_NOTIFY_MESSAGE_ERROR, SV_NOTIFY_MESSAGE_ERROR_EMPTY,
                        "empty datagram");
    return NULL;
  }
  if (size > SV_NOTIFY_MESSAGE_MAX) {
    g_set_error(error, SV_NOTIFY_MESSAGE_ERROR, SV_NOTIFY_MESSAGE_ERROR_TOO_LARGE,
                "datagram of %" G_GSIZE_FORMAT " bytes, more than %d", size, SV_NOTIFY_MESSAGE_MAX);
    return NULL;
  }
  const char *nul = memchr(data, '\0', size);
  if (nul) {
    g_set_error(error, SV_NOTIFY_MESSAGE_ERROR, SV_NOTIFY_MESSAGE_ERROR_NUL,
                "NUL byte at offset %td", nul - (const char *)data);
    return NULL;
  }
  const char *end = NULL;
  if (!g_utf8_validate_len(data, size, &end)) {
    g_set_error(error, SV_NOTIFY_MESSAGE_ERROR, SV_NOTIFY_MESSAGE_ERROR_UTF8,
                "invalid UTF-8 at offset %td", end - (const char *)data);
    return NULL;
  }

  g_autoptr(SvNotifyMessage) msg = g_new0(SvNotifyMessage, 1);
  msg->storage = g_strndup(data, size);
  g_autoptr(GPtrArray) private_assignments = g_ptr_array_new();

  guint n_lines = 0;
  char *line = msg->storage;
  while (line) {
    char *nl = strchr(line, '\n');
    if (nl)
      *nl = '\0';

    if (*line != '\0') {
      if (++n_lines > SV_NOTIFY_MESSAGE_LINES_MAX) {
        g_set_error(error, SV_NOTIFY_MESSAGE_ERROR, SV_NOTIFY_MESSAGE_ERROR_TOO_MANY,
                    "more than %d lines", SV_NOTIFY_MESSAGE_LINES_MAX);
        return NULL;
      }
      if (!parse_line(msg, private_assignments, line, error))
        return NULL;
    }
    line = nl ? nl + 1 : NULL;
  }

  g_ptr_array_add(private_assignments, NULL);
  msg->private_assignments =
      (const char *const *)g_ptr_array_free(g_steal_pointer(&private_assignments), FALSE);
  return g_steal_pointer(&msg);
}

void
sv_notify_message_free(SvNotifyMessage *msg)
{
  if (!msg)
    return;
  g_free((gpointer)msg->private_assignments);
  g_free(msg->storage);
  g_free(msg);
}

char *
sv_notify_message_format(const SvNotifyMessage *msg, guint32 fields)
{
  g_return_val_if_fail(msg != NULL, NULL);

  guint32 f = msg->fields & fields & SV_NOTIFY_FIELDS_RELAY;
  if (f == 0)
    return NULL;

  g_autoptr(GString) s = g_string_new(NULL);
#define LINE(...)                                                                                  \
  do {                                                                                             \
    if (s->len > 0)                                                                                \
      g_string_append_c(s, '\n');                                                                  \
    g_string_append_printf(s, __VA_ARGS__);                                                        \
  } while (0)

  /* RELOADING before READY and MONOTONIC_USEC next to RELOADING, as sd_notify(3) shows
   * them; the order has no meaning to systemd. */
  if (f & SV_NOTIFY_FIELD_RELOADING)
    LINE("RELOADING=1");
  if (f & SV_NOTIFY_FIELD_MONOTONIC_USEC)
    LINE("MONOTONIC_USEC=%" G_GUINT64_FORMAT, msg->monotonic_usec);
  if (f & SV_NOTIFY_FIELD_READY)
    LINE("READY=1");
  if (f & SV_NOTIFY_FIELD_STOPPING)
    LINE("STOPPING=1");
  if (f & SV_NOTIFY_FIELD_STATUS)
    LINE("STATUS=%s", msg->status);
  if (f & SV_NOTIFY_FIELD_ERRNO)
    LINE("ERRNO=%d", msg->errno_value);
  if (f & SV_NOTIFY_FIELD_BUSERROR)
    LINE("BUSERROR=%s", msg->buserror);
  /* systemd reads the first WATCHDOG= only; parsing never sets both. */
  if (f & SV_NOTIFY_FIELD_WATCHDOG)
    LINE("WATCHDOG=1");
  else if (f & SV_NOTIFY_FIELD_WATCHDOG_TRIGGER)
    LINE("WATCHDOG=trigger");
  if (f & SV_NOTIFY_FIELD_WATCHDOG_USEC)
    LINE("WATCHDOG_USEC=%" G_GUINT64_FORMAT, msg->watchdog_usec);
  if (f & SV_NOTIFY_FIELD_EXTEND_TIMEOUT_USEC)
    LINE("EXTEND_TIMEOUT_USEC=%" G_GUINT64_FORMAT, msg->extend_timeout_usec);
  if (f & SV_NOTIFY_FIELD_FDSTORE)
    LINE("FDSTORE=1");
  if (f & SV_NOTIFY_FIELD_FDSTOREREMOVE)
    LINE("FDSTOREREMOVE=1");
  if (f & SV_NOTIFY_FIELD_FDNAME)
    LINE("FDNAME=%s", msg->fdname);
  if (f & SV_NOTIFY_FIELD_FDPOLL_OFF)
    LINE("FDPOLL=0");
#undef LINE

  return g_string_free(g_steal_pointer(&s), FALSE);
}
