/* notify-proxy.h — the app's private NOTIFY_SOCKET.
 *
 * sdvisor keeps its own NOTIFY_SOCKET; the app gets this one instead. The proxy reads
 * datagrams on the main loop, keeps only those sent from the app's process tree, parses
 * them (notify-message.h), answers BARRIER=1 itself and hands everything else to the
 * caller, which decides what goes upstream: READY=1 only once the app's READY and all
 * [ready] checks hold; WATCHDOG=1 also feeds the `notify` liveness check.
 *
 * Who may send (SO_PASSCRED gives the sender's pid, as the kernel saw it at send time):
 *
 *  1. the app's own pid — even after it exited, as long as the caller has not moved
 *     the app pid on, so its last words are kept;
 *  2. any process whose session is the app's (spawn.c starts the app in its own
 *     session, so sid == app pid). A session cannot be joined, only inherited, so this
 *     is exactly the app's descendants that never called setsid() — orphans included,
 *     which an ancestry walk would miss once the subreaper (sdvisor) adopted them;
 *  3. otherwise, a process whose chain of parents (/proc/PID/stat ppid, at most
 *     SV_NOTIFY_PROXY_ANCESTRY_MAX steps) reaches the app pid, or a member of its
 *     session: a descendant that did call setsid(), while its ancestors live.
 *
 * Races, documented rather than solved:
 *  - A sender that has exited *and been reaped* before its datagram is read has no
 *    /proc entry left: it cannot be verified and is dropped (SENDER_GONE). A zombie
 *    still has its entry, so only a sender whose parent reaps it at once loses. The
 *    app pid itself never needs /proc (rule 1). systemd has the same problem
 *    (systemd#2737); SO_PASSPIDFD (Linux 6.5) would close it and is not used yet, since
 *    Debian 12 runs 6.1.
 *  - A pid freed and reused between send and check is judged as the new process.
 *  - A process with CAP_SYS_ADMIN may send any pid in SCM_CREDENTIALS; anything that
 *    runs as root next to the app can claim to be the app. Same trust as systemd's.
 *
 * Each datagram costs at most one recvmsg() and SV_NOTIFY_PROXY_ANCESTRY_MAX + 1 small
 * /proc reads; at most SV_NOTIFY_PROXY_BATCH are read per main-loop iteration, so a
 * flood delays, never starves, the rest of the loop. A full queue makes the sender
 * wait (net.unix.max_dgram_qlen datagrams, 1 MiB); nothing is lost to it. */
#pragma once
#include <gio/gio.h>
#include <sys/types.h>

#include "notify-message.h"

/* fds in one datagram (SCM_RIGHTS). An FDSTORE=1 carries a handful of listening
 * sockets; more is refused whole (the kernel's own cap, SCM_MAX_FD, is 253). */
#define SV_NOTIFY_PROXY_FDS_MAX 64
/* Steps of the ppid walk before a sender counts as outside the tree. */
#define SV_NOTIFY_PROXY_ANCESTRY_MAX 32
/* Datagrams handled per main-loop dispatch. */
#define SV_NOTIFY_PROXY_BATCH 32

typedef enum {
  /* The datagram is dropped whole (counted by sv_notify_proxy_get_dropped()). */
  SV_NOTIFY_PROXY_REJECT_NO_APP,         /* no app pid set */
  SV_NOTIFY_PROXY_REJECT_NO_CREDENTIALS, /* no SCM_CREDENTIALS, or a pid not visible here */
  SV_NOTIFY_PROXY_REJECT_OUTSIDE_TREE,   /* sender is not in the app's process tree */
  SV_NOTIFY_PROXY_REJECT_SENDER_GONE,    /* sender exited before it could be verified */
  SV_NOTIFY_PROXY_REJECT_OVERSIZE,       /* payload over SV_NOTIFY_MESSAGE_MAX (MSG_TRUNC) */
  SV_NOTIFY_PROXY_REJECT_TOO_MANY_FDS,   /* over SV_NOTIFY_PROXY_FDS_MAX, or MSG_CTRUNC */
  SV_NOTIFY_PROXY_REJECT_MALFORMED,      /* the parser refused it (detail says why) */
  /* Only part of the datagram is refused; the rest is handled. */
  SV_NOTIFY_PROXY_REJECT_MAINPID,     /* MAINPID= ignored, the rest delivered */
  SV_NOTIFY_PROXY_REJECT_STRAY_FDS,   /* fds without FDSTORE=1 closed, the rest delivered */
  SV_NOTIFY_PROXY_REJECT_BAD_BARRIER, /* BARRIER=1 not alone or not with one fd: answered,
                                            the rest ignored (as systemd does) */
  SV_NOTIFY_PROXY_N_REJECT,
} SvNotifyProxyReject;

typedef struct SvNotifyProxy SvNotifyProxy;

/* A datagram from the app's tree, parsed. FDS (N_FDS of them) are only ever passed with
 * FDSTORE=1; they belong to the proxy and are closed when FUNC returns: dup them
 * (F_DUPFD_CLOEXEC) to keep them. sv_notify_proxy_relay() sends copies upstream. */
typedef void (*SvNotifyProxyFunc)(SvNotifyProxy *proxy, const SvNotifyMessage *msg, pid_t sender,
                                  const int *fds, guint n_fds, gpointer user_data);
/* Something was refused. SENDER is 0 if unknown. DETAIL is one line for a log (it quotes
 * at most a short, escaped part of the app's bytes). COUNT is how many times REASON has
 * happened so far, this one included: log when it is 1 and sparingly after, so a
 * looping app cannot flood the journal. */
typedef void (*SvNotifyProxyRejectFunc)(SvNotifyProxy *proxy, pid_t sender,
                                        SvNotifyProxyReject reason, const char *detail,
                                        guint64 count, gpointer user_data);

/* Creates the socket in RUNTIME_DIR (e.g. $RUNTIME_DIRECTORY), under a random name, or
 * in a private 0700 directory of its own under g_get_tmp_dir() when RUNTIME_DIR is NULL
 * (removed again by sv_notify_proxy_free()). The socket file is mode 0666: who may send
 * is decided by credentials, as with systemd's own notify socket, and who may reach it
 * by RUNTIME_DIR's permissions. The source is attached to the thread-default main
 * context. REJECT may be NULL. */
SvNotifyProxy *sv_notify_proxy_new(const char *runtime_dir, SvNotifyProxyFunc func,
                                   SvNotifyProxyRejectFunc reject, gpointer user_data,
                                   GError **error);

/* The value for the app's NOTIFY_SOCKET. */
const char *sv_notify_proxy_get_socket_path(SvNotifyProxy *proxy);

/* The app whose tree may send; 0 = no app, everything is dropped. Set it right after
 * spawning (nothing is read before the main loop runs again). When the app has been
 * reaped, call sv_notify_proxy_flush() before setting 0, so what it sent last is not
 * lost. */
void sv_notify_proxy_set_app_pid(SvNotifyProxy *proxy, pid_t pid);
pid_t sv_notify_proxy_get_app_pid(SvNotifyProxy *proxy);

/* Handles every datagram queued right now, without waiting for the main loop. */
void sv_notify_proxy_flush(SvNotifyProxy *proxy);

guint64 sv_notify_proxy_get_accepted(SvNotifyProxy *proxy); /* delivered to FUNC */
guint64 sv_notify_proxy_get_barriers(SvNotifyProxy *proxy); /* BARRIER=1 answered */
guint64 sv_notify_proxy_get_dropped(SvNotifyProxy *proxy);  /* dropped whole */
guint64 sv_notify_proxy_get_rejected(SvNotifyProxy *proxy, SvNotifyProxyReject reason);
const char *sv_notify_proxy_reject_to_string(SvNotifyProxyReject reason);

/* Closes the socket and removes its file (and the private directory, if the proxy made
 * one). NULL-safe; may be called from the proxy's own callbacks. */
void sv_notify_proxy_free(SvNotifyProxy *proxy);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvNotifyProxy, sv_notify_proxy_free)

/* Sends the assignments of MSG in FIELDS (see sv_notify_message_format(); never MAINPID,
 * BARRIER or X_ ones) to sdvisor's own service manager with sd_pid_notify_with_fds().
 * FDS go along only if FDSTORE is among them. Returns > 0 if sent, 0 if there was
 * nothing to send or no NOTIFY_SOCKET in sdvisor's environment, -errno on failure. */
int sv_notify_proxy_relay(const SvNotifyMessage *msg, guint32 fields, const int *fds, guint n_fds);

/* Reads ppid and session from the text of /proc/PID/stat (the command name may hold
 * spaces and parentheses). 0, or -EINVAL with the out-parameters untouched. Exposed
 * for tests and the fuzzer. */
int sv_notify_proxy_parse_proc_stat(const char *text, gsize size, pid_t *out_ppid,
                                    pid_t *out_session);
