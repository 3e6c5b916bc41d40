/* notify.h — sdvisor's own notifications to its service manager (sd_notify).
 *
 * A thin layer over libsystemd: it remembers whether a manager listens at all
 * (NOTIFY_SOCKET), the watchdog interval given to sdvisor, and never lets the
 * variables meant for sdvisor reach a child (spawn.c builds children's environments
 * without them). Every call is a no-op when nobody listens. */
#pragma once
#include <glib.h>

void sv_notify_init(void);
gboolean sv_notify_enabled(void);
/* The watchdog interval systemd gave sdvisor, or 0. */
gint64 sv_notify_watchdog_usec(void);

void sv_notify_ready(const char *status);
void sv_notify_reloading(void); /* RELOADING=1 + MONOTONIC_USEC */
void sv_notify_stopping(const char *status);
void sv_notify_status(const char *format, ...) G_GNUC_PRINTF(1, 2);
/* STATUS= text made safe to send: one line, and no "READY=" or "WATCHDOG=" that a
 * relay like conmon would take for the real thing. */
char *sv_notify_status_text(const char *status);
void sv_notify_watchdog(void);
void sv_notify_watchdog_trigger(void);
void sv_notify_extend_timeout(gint64 usec);
/* Sends TEXT as is (a set of newline-separated assignments), with FDS if any. */
int sv_notify_raw(const char *text, const int *fds, guint n_fds);
