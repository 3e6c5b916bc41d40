/* listen.h — the listening sockets sdvisor holds for the app ([app] listen=).
 *
 * Sockets outlive app instances (docs/deploys.md): sdvisor binds them once, before the
 * app first starts — or takes over the ones its service manager passed it, by socket
 * activation or from its fd store after sdvisor itself was restarted — and hands the same
 * fds to every start of the app the way systemd would: fds 3…, LISTEN_FDS, LISTEN_PID =
 * the app's own pid, LISTEN_FDNAMES; a replacement's new instance gets sockets of its own
 * on the same addresses (below). They also go into systemd's fd store (FDSTORE=1),
 * so that a restart of sdvisor keeps the ports bound and connections wait in the backlog.
 *
 * sdvisor's own copies stay close-on-exec: only a spawn that asks for them
 * (sv_listen_set_prepare_spawn) gives them to a child; hooks, jobs and checks never get
 * them. */
#pragma once
#include <glib.h>

#include "listenspec.h"
#include "spawn.h"

#define SV_LISTEN_ERROR (sv_listen_error_quark())
GQuark sv_listen_error_quark(void);

typedef enum {
  SV_LISTEN_ERROR_BIND,   /* an address cannot be bound: in use, not permitted, not here */
  SV_LISTEN_ERROR_OWNER,  /* listen-user=/listen-group=/listen-mode= cannot be applied */
  SV_LISTEN_ERROR_FAILED, /* anything else (out of fds, moving them into place) */
} SvListenError;

/* How unix sockets are made, and where the settings came from (for messages). */
typedef struct {
  guint mode;              /* file mode of unix socket files; 0 = as bind() made it */
  const char *user;        /* owner of unix socket files, a name or a number; NULL = sdvisor's */
  const char *group;       /* their group; NULL = sdvisor's */
  const char *config_path; /* named in errors about user, group and mode; NULL = none */
} SvListenOptions;

typedef struct SvListenSet SvListenSet;

/* The sockets of SPECS (SvListenSpec*): each one systemd passed sdvisor
 * (sd_listen_fds_with_names(); the environment is left as it is) that is a listening
 * stream socket on a configured address is taken over; the others are bound and listened
 * on here. A passed socket that matches no address is closed (its name is in
 * sv_listen_set_get_dropped()). With SPECS empty, every passed socket is kept as it is,
 * which is socket activation without listen=. Errors (SV_LISTEN_ERROR) name the address's
 * origin (file:line) and key. */
SvListenSet *sv_listen_set_open(GPtrArray *specs, const SvListenOptions *options, GError **error);

/* The same, with the passed sockets given: PASSED[i] named NAMES[i] (NAMES may be NULL).
 * Takes every PASSED fd, on failure too. */
SvListenSet *sv_listen_set_open_with(GPtrArray *specs, const SvListenOptions *options,
                                     const int *passed, char *const *names, guint n_passed,
                                     GError **error);

guint sv_listen_set_get_n(const SvListenSet *set);
/* The fds, in listen= order: fd I becomes the app's fd 3+I. Owned by the set. */
const int *sv_listen_set_get_fds(const SvListenSet *set);
/* Socket I's name (LISTEN_FDNAMES, FDNAME=) and whether it came from the service manager. */
const char *sv_listen_set_get_name(const SvListenSet *set, guint i);
gboolean sv_listen_set_get_inherited(const SvListenSet *set, guint i);
/* Names of the passed sockets that matched nothing and were closed; NULL-terminated. */
const char *const *sv_listen_set_get_dropped(const SvListenSet *set);
/* "127.0.0.1:8000 (bound), unix:/run/shop/http.sock (from the service manager)". */
char *sv_listen_set_describe(const SvListenSet *set);

/* What a spawn needs to hand the sockets to its child as systemd does: OPTIONS' pass_fds
 * and set_listen_pid (spawn.c places the fds at 3… without close-on-exec and writes
 * LISTEN_PID=<the child's own pid> between clone and exec), and ENVP (consumed) returned
 * with LISTEN_FDS and LISTEN_FDNAMES. The fds stay the set's: keep it alive until
 * sv_spawn() returns. An empty set clears them all. */
char **sv_listen_set_prepare_spawn(const SvListenSet *set, SvSpawnOptions *options, char **envp);

/* Hands every socket to the service manager's fd store, one FDSTORE=1 message each with
 * its FDNAME=, after an FDSTOREREMOVE=1 for each dropped name (an address a former
 * configuration had). Needs FileDescriptorStoreMax= of at least the number of sockets in
 * the unit; systemd keeps them until the unit is fully stopped with no job queued
 * (docs/deploys.md). Returns how many were sent (0: no NOTIFY_SOCKET) or -errno. */
int sv_listen_set_store(const SvListenSet *set);

/* ---- replacement (reload-mode=replace; docs/deploys.md) ----
 * The new instance gets sockets of its own where it can: a TCP socket on the same address
 * in the same SO_REUSEPORT group, which gets no connection until the switch steers new
 * connections to it (a classic BPF program attached to the group). The old instance then
 * empties its accept queue and gets its stop signal with nothing new coming its way, so
 * a stopping server never closes a connection it has not read yet. */

/* The sockets for a new instance of the app that is to take over from the one SET serves:
 * a sibling for each TCP socket; the same socket (dup'ed) for the others, listed in
 * *OUT_SHARED with why ("unix:/run/shop.sock (not a TCP socket of sdvisor's user)"; NULL
 * when none). A socket has one sibling at most: with more, one leaving could send a
 * connection to another by the kernel's hash; a socket that has one is shared. Connections keep going to SET's sockets. NULL with ERROR only when out of
 * fds. */
SvListenSet *sv_listen_set_fork(SvListenSet *set, char **out_shared, GError **error);
/* Whether a socket of SET still has a sibling in its group (the instance replaced before
 * still holds its socket): a fork now would share that socket. */
gboolean sv_listen_set_has_siblings(const SvListenSet *set);
/* Sends new connections to SET's own sockets (not those it shares). 0 or -errno. */
int sv_listen_set_steer(const SvListenSet *set);
/* Sockets that are SET's own: no other set holds them. */
guint sv_listen_set_get_n_own(const SvListenSet *set);
/* Connections waiting in the accept queues of SET's own sockets. */
guint sv_listen_set_get_queued(const SvListenSet *set);
/* The fd store after a switch: FROM's own sockets taken out by name (each socket has a
 * name of its own in the store, so that taking one out leaves the other), then TO's
 * stored. Returns what sv_listen_set_store() returns. */
int sv_listen_set_store_switch(const SvListenSet *from, const SvListenSet *to);

void sv_listen_set_free(SvListenSet *set); /* NULL-safe; closes the fds */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvListenSet, sv_listen_set_free)
