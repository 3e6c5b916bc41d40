/* log.h — the one writer for sdvisor's own messages.
 *
 * main.c picks the target once: the journal (native protocol, with MESSAGE_ID and
 * SDVISOR_SOURCE=sdvisor) when stderr is connected to the journal or the journal
 * socket is reachable, otherwise stderr — with a "<N>" priority prefix when stderr is
 * not a terminal, so systemd and conmon still see the level. GLib's own g_warning()
 * and friends are routed through it too. */
#pragma once
#include <glib.h>
#include <syslog.h>

typedef enum {
  SV_LOG_TARGET_AUTO,
  SV_LOG_TARGET_JOURNAL,
  SV_LOG_TARGET_CONSOLE,
} SvLogTarget;

void sv_log_init(SvLogTarget target, const char *identifier);
/* Whether journald's native socket accepts a connection right now. */
gboolean sv_log_journal_reachable(void);
SvLogTarget sv_log_get_target(void); /* the resolved target: JOURNAL or CONSOLE */
/* Messages below this priority (numerically greater) are dropped; default LOG_INFO,
 * LOG_DEBUG with SDVISOR_DEBUG=1 in the environment. */
void sv_log_set_max_priority(int priority);

/* Routes every message that passes the priority filter to FUNC instead of writing it
 * here: the supervisor points it at its journal sink (journal.h), so sdvisor's own
 * messages are queued in order with the app's output, never block the main loop on a
 * stalled journald, and follow the sink's target. NULL restores direct writing. FUNC
 * may be called from any thread. */
typedef void (*SvLogWriteFunc)(int priority, const char *message_id, const char *const *fields,
                               const char *message, gpointer user_data);
void sv_log_set_write_func(SvLogWriteFunc func, gpointer user_data);

/* PRIORITY is a syslog level (LOG_ERR…); MESSAGE_ID a 32-hex id from message-ids.h or
 * NULL. FIELDS is NULL or a NULL-terminated list of "KEY=VALUE" journal fields. */
void sv_log_full(int priority, const char *message_id, const char *const *fields,
                 const char *format, ...) G_GNUC_PRINTF(4, 5);
#define sv_log(priority, ...)        sv_log_full((priority), NULL, NULL, __VA_ARGS__)
#define sv_log_id(priority, id, ...) sv_log_full((priority), (id), NULL, __VA_ARGS__)
