/* notify-message.h — one sd_notify datagram, parsed and re-serialised.
 *
 * Pure: bytes in, a struct out, no fds, no syscalls. The notify proxy parses what the
 * app sends to its private NOTIFY_SOCKET with it, and re-serialises the allow-listed
 * part for sdvisor's own service manager.
 *
 * The rules follow what systemd's service_notify_message() does with the same bytes,
 * so an app behaves the same behind sdvisor as under systemd directly:
 *
 *  - A datagram is newline-separated VAR=VALUE lines. Empty lines, lines without '='
 *    and assignments nobody defined are ignored (systemd ignores them silently), and
 *    counted in n_ignored. So are flags with another value than the one systemd looks
 *    for (READY=0, FDPOLL=1): systemd matches "READY=1" as a whole line.
 *  - Flags (READY=1, RELOADING=1, STOPPING=1, FDSTORE=1, FDSTOREREMOVE=1, FDPOLL=0,
 *    BARRIER=1) count wherever they appear; for valued assignments the first
 *    occurrence wins and later ones are ignored unread, as with systemd's
 *    strv_find_startswith().
 *  - Where systemd would log "failed to parse" and skip the value (numbers that are not
 *    plain decimal, WATCHDOG= other than 1 or trigger, an invalid FDNAME= or BUSERROR=),
 *    the whole datagram is rejected with a reason instead: relaying half of what the app
 *    meant is harder to debug than one clear rejection the caller logs.
 *  - Rejected outright, as the datagram is not a notify message at all: empty, larger
 *    than SV_NOTIFY_MESSAGE_MAX, a NUL byte (systemd drops these too), invalid UTF-8,
 *    more than SV_NOTIFY_MESSAGE_LINES_MAX lines.
 *  - STATUS= is one line by construction: a newline ends the assignment, and what
 *    follows is the next line (a continuation without '=' is ignored). So a multi-line
 *    STATUS is truncated to its first line — which is exactly what systemd would show.
 *  - Numbers are decimal digits only: no sign, no blanks, no leading zeros (strtoul with
 *    base 0 would read "010" as octal; refusing it avoids relaying a value the app did
 *    not mean), no overflow. */
#pragma once
#include <glib.h>
#include <sys/types.h>

/* systemd's own receive buffer is NOTIFY_BUFFER_MAX = PIPE_BUF = 4096 bytes: a larger
 * datagram would be dropped upstream anyway, and no legitimate message comes close
 * (the longest are a STATUS line or an FDNAME of at most 255 bytes). */
#define SV_NOTIFY_MESSAGE_MAX 4096
/* Non-empty lines in one datagram. Real messages carry one to five; the limit bounds
 * the work a hostile datagram of tiny lines can cause. */
#define SV_NOTIFY_MESSAGE_LINES_MAX 64
/* systemd's FDNAME_MAX; also the D-Bus limit on an error name (BUSERROR=). */
#define SV_NOTIFY_NAME_MAX 255
/* systemd's ERRNO_MAX: errno values are 1…4095 (0 clears). */
#define SV_NOTIFY_ERRNO_MAX 4095

#define SV_NOTIFY_MESSAGE_ERROR (sv_notify_message_error_quark())
GQuark sv_notify_message_error_quark(void);

typedef enum {
  SV_NOTIFY_MESSAGE_ERROR_EMPTY,     /* zero bytes */
  SV_NOTIFY_MESSAGE_ERROR_TOO_LARGE, /* more than SV_NOTIFY_MESSAGE_MAX bytes */
  SV_NOTIFY_MESSAGE_ERROR_NUL,       /* an embedded NUL byte */
  SV_NOTIFY_MESSAGE_ERROR_UTF8,      /* not valid UTF-8 */
  SV_NOTIFY_MESSAGE_ERROR_TOO_MANY,  /* more than SV_NOTIFY_MESSAGE_LINES_MAX lines */
  SV_NOTIFY_MESSAGE_ERROR_INVALID,   /* a known assignment with a value systemd would refuse */
} SvNotifyMessageError;

/* Which assignments a message holds, and which ones to re-serialise. */
typedef enum {
  SV_NOTIFY_FIELD_READY = 1u << 0,               /* READY=1 */
  SV_NOTIFY_FIELD_RELOADING = 1u << 1,           /* RELOADING=1 */
  SV_NOTIFY_FIELD_STOPPING = 1u << 2,            /* STOPPING=1 */
  SV_NOTIFY_FIELD_STATUS = 1u << 3,              /* STATUS=… (may be empty: clears) */
  SV_NOTIFY_FIELD_WATCHDOG = 1u << 4,            /* WATCHDOG=1 */
  SV_NOTIFY_FIELD_WATCHDOG_TRIGGER = 1u << 5,    /* WATCHDOG=trigger */
  SV_NOTIFY_FIELD_WATCHDOG_USEC = 1u << 6,       /* WATCHDOG_USEC=… */
  SV_NOTIFY_FIELD_EXTEND_TIMEOUT_USEC = 1u << 7, /* EXTEND_TIMEOUT_USEC=… */
  SV_NOTIFY_FIELD_ERRNO = 1u << 8,               /* ERRNO=… */
  SV_NOTIFY_FIELD_BUSERROR = 1u << 9,            /* BUSERROR=… (may be empty: clears) */
  SV_NOTIFY_FIELD_MONOTONIC_USEC = 1u << 10,     /* MONOTONIC_USEC=… */
  SV_NOTIFY_FIELD_FDSTORE = 1u << 11,            /* FDSTORE=1 */
  SV_NOTIFY_FIELD_FDSTOREREMOVE = 1u << 12,      /* FDSTOREREMOVE=1 */
  SV_NOTIFY_FIELD_FDNAME = 1u << 13,             /* FDNAME=… */
  SV_NOTIFY_FIELD_FDPOLL_OFF = 1u << 14,         /* FDPOLL=0 */
  /* Recognised, never re-serialised: the proxy answers BARRIER=1 itself, and the app
   * must not move sdvisor's service manager to another main pid. */
  SV_NOTIFY_FIELD_BARRIER = 1u << 15, /* BARRIER=1 */
  SV_NOTIFY_FIELD_MAINPID = 1u << 16, /* MAINPID=… */
} SvNotifyField;

/* Everything sv_notify_message_format() may write. The supervisor masks READY out
 * until its own [ready] checks hold, and may mask more. */
#define SV_NOTIFY_FIELDS_RELAY                                                                     \
  ((guint32)(SV_NOTIFY_FIELD_READY | SV_NOTIFY_FIELD_RELOADING | SV_NOTIFY_FIELD_STOPPING |        \
             SV_NOTIFY_FIELD_STATUS | SV_NOTIFY_FIELD_WATCHDOG |                                   \
             SV_NOTIFY_FIELD_WATCHDOG_TRIGGER | SV_NOTIFY_FIELD_WATCHDOG_USEC |                    \
             SV_NOTIFY_FIELD_EXTEND_TIMEOUT_USEC | SV_NOTIFY_FIELD_ERRNO |                         \
             SV_NOTIFY_FIELD_BUSERROR | SV_NOTIFY_FIELD_MONOTONIC_USEC | SV_NOTIFY_FIELD_FDSTORE | \
             SV_NOTIFY_FIELD_FDSTOREREMOVE | SV_NOTIFY_FIELD_FDNAME | SV_NOTIFY_FIELD_FDPOLL_OFF))

typedef struct {
  guint32 fields;              /* SvNotifyField bits present */
  const char *status;          /* STATUS: one line, valid UTF-8, possibly "" */
  guint64 watchdog_usec;       /* WATCHDOG_USEC */
  guint64 extend_timeout_usec; /* EXTEND_TIMEOUT_USEC */
  guint64 monotonic_usec;      /* MONOTONIC_USEC */
  int errno_value;             /* ERRNO: 0…SV_NOTIFY_ERRNO_MAX */
  const char *buserror;        /* BUSERROR: printable ASCII, possibly "" */
  const char *fdname;          /* FDNAME: printable ASCII without ':', 1…255 bytes */
  pid_t mainpid;               /* MAINPID: > 0; recorded so the caller can say it was refused */
  /* Private "X_NAME=value" assignments, whole lines, in order; NULL-terminated.
   * They are for sdvisor (the app's manager), never relayed. */
  const char *const *private_assignments;
  guint n_ignored; /* lines ignored as systemd would ignore them */
  /* private */
  char *storage;
} SvNotifyMessage;

/* Parses one datagram payload of SIZE bytes (no terminating NUL needed). On error
 * returns NULL and sets ERROR (SV_NOTIFY_MESSAGE_ERROR) to a one-line reason meant for a
 * log; it quotes at most a short, escaped part of the app's bytes. */
SvNotifyMessage *sv_notify_message_parse(const void *data, gsize size, GError **error);
void sv_notify_message_free(SvNotifyMessage *msg); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvNotifyMessage, sv_notify_message_free)

/* The assignments of MSG that are in FIELDS (masked with SV_NOTIFY_FIELDS_RELAY, so
 * MAINPID, BARRIER and X_ ones are never written), newline-separated in a fixed order,
 * ready for sd_notify. NULL when nothing is left. Parsing the result gives the same
 * values back. */
char *sv_notify_message_format(const SvNotifyMessage *msg, guint32 fields);
