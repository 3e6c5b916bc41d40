/* listen.c — binding, taking over and handing on the app's listening sockets. */
#include "listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <grp.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

G_DEFINE_QUARK(sv - listen - error - quark, sv_listen_error)

/* A TCP address's SO_REUSEPORT group as the kernel keeps it (socket(7),
 * SO_ATTACH_REUSEPORT_CBPF): the sockets numbered in the order they started listening, a
 * closed one's place taken by the last. sdvisor mirrors it to steer new connections: a
 * classic BPF program of one instruction returns the place of the socket that is to get
 * them. Sockets are told apart by inode, since sets hold dup()s of shared ones; a socket
 * leaves the group when the last set holding it lets it go (nothing else may hold it then:
 * the instance that had it is gone and the fd store let it go at the switch). At most two
 * sockets are in a group (sv_listen_set_fork()), so that a socket's leaving can never send
 * a connection to a third one by the kernel's hash. */
typedef struct {
  ino_t ino;
  guint holders; /* sets holding it */
} SvGroupMember;

typedef struct {
  gint refs;
  GArray *members;  /* SvGroupMember, in the kernel's order */
  guint generation; /* for the fd store names of new sockets */
} SvListenGroup;

/* Socket I is FDS[I], named NAMES[I]; parallel arrays, so that the fds can be handed to
 * sv_spawn() as they are. */
struct SvListenSet {
  GArray *fds;            /* int, in listen= order */
  GPtrArray *names;       /* char*: LISTEN_FDNAMES, the app's names */
  GPtrArray *store_names; /* char*: FDNAME= in the fd store, one per socket (not per name) */
  GPtrArray *shown;       /* char*: the address as configured, or the name of a passed socket */
  GArray *inherited;      /* gboolean: from the service manager */
  GPtrArray *groups;      /* SvListenGroup* or NULL: not steerable (unix, not ours) */
  GPtrArray *dropped;     /* char*, NULL-terminated */
};

/* ---- reuseport groups ----------------------------------------------------------------------- */

static ino_t
fd_inode(int fd)
{
  struct stat st;
  return fstat(fd, &st) == 0 ? st.st_ino : 0;
}

static SvListenGroup *
group_new(int fd)
{
  SvListenGroup *group = g_new0(SvListenGroup, 1);
  group->refs = 1;
  group->members = g_array_new(FALSE, FALSE, sizeof(SvGroupMember));
  SvGroupMember first = {fd_inode(fd), 1};
  g_array_append_val(group->members, first);
  return group;
}

static int
group_index(const SvListenGroup *group, ino_t ino)
{
  for (guint i = 0; i < group->members->len; i++)
    if (g_array_index(group->members, SvGroupMember, i).ino == ino)
      return (int)i;
  return -1;
}

/* A set lets go of FD: the socket leaves the group when no set holds it any more, the last
 * member taking its place, as close() does in the kernel. */
static void
group_release(SvListenGroup *group, int fd)
{
  int i = group_index(group, fd_inode(fd));
  if (i >= 0 && --g_array_index(group->members, SvGroupMember, i).holders == 0) {
    guint last = group->members->len - 1;
    g_array_index(group->members, SvGroupMember, i) =
        g_array_index(group->members, SvGroupMember, last);
    g_array_set_size(group->members, last);
  }
  if (g_atomic_int_dec_and_test(&group->refs)) {
    g_array_unref(group->members);
    g_free(group);
  }
}

/* New connections to FD's address go to FD (a member) from now on. */
static int
group_steer(SvListenGroup *group, int fd)
{
  int i = group_index(group, fd_inode(fd));
  if (i < 0)
    return -ENOENT;
  struct sock_filter code[] = {BPF_STMT(BPF_RET | BPF_K, (guint32)i)};
  struct sock_fprog prog = {G_N_ELEMENTS(code), code};
  return setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof prog) < 0 ? -errno : 0;
}

static SvListenSet *
set_new(void)
{
  SvListenSet *set = g_new0(SvListenSet, 1);
  set->fds = g_array_new(FALSE, FALSE, sizeof(int));
  set->names = g_ptr_array_new_with_free_func(g_free);
  set->store_names = g_ptr_array_new_with_free_func(g_free);
  set->groups = g_ptr_array_new();
  set->shown = g_ptr_array_new_with_free_func(g_free);
  set->inherited = g_array_new(FALSE, FALSE, sizeof(gboolean));
  set->dropped = g_ptr_array_new_with_free_func(g_free);
  g_ptr_array_add(set->dropped, NULL);
  return set;
}

static void
set_add(SvListenSet *set, int fd, const char *name, const char *store_name, const char *shown,
        gboolean inherited, SvListenGroup *group)
{
  g_array_append_val(set->fds, fd);
  g_ptr_array_add(set->names, g_strdup(name));
  g_ptr_array_add(set->store_names, g_strdup(store_name));
  g_ptr_array_add(set->shown, g_strdup(shown));
  g_array_append_val(set->inherited, inherited);
  g_ptr_array_add(set->groups, group);
}

/* A TCP listening socket of sdvisor's user can have siblings in its SO_REUSEPORT group:
 * sdvisor's own sockets are bound that way (bind_one()); a passed one is made so here, and
 * if another user made it, sv_listen_set_fork() finds out and shares it instead. */
static SvListenGroup *
steerable_group(int fd)
{
  int domain = 0, one = 1;
  socklen_t len = sizeof domain;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 ||
      (domain != AF_INET && domain != AF_INET6))
    return NULL;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
    return NULL;
  return group_new(fd);
}

void
sv_listen_set_free(SvListenSet *set)
{
  if (set == NULL)
    return;
  for (guint i = 0; i < set->fds->len; i++) {
    int fd = g_array_index(set->fds, int, i);
    if (set->groups->pdata[i] != NULL)
      group_release(set->groups->pdata[i], fd);
    close(fd);
  }
  g_array_unref(set->fds);
  g_ptr_array_unref(set->names);
  g_ptr_array_unref(set->store_names);
  g_ptr_array_unref(set->groups);
  g_ptr_array_unref(set->shown);
  g_array_unref(set->inherited);
  g_ptr_array_unref(set->dropped);
  g_free(set);
}

static void
add_dropped(SvListenSet *set, const char *name)
{
  g_ptr_array_insert(set->dropped, (gint)set->dropped->len - 1, g_strdup(name ? name : "unknown"));
}

/* ---- addresses ------------------------------------------------------------------------ */

typedef union {
  struct sockaddr sa;
  struct sockaddr_in in;
  struct sockaddr_in6 in6;
  struct sockaddr_un un;
  struct sockaddr_storage storage;
} SvSockaddr;

static socklen_t
spec_sockaddr(const SvListenSpec *spec, SvSockaddr *out)
{
  memset(out, 0, sizeof *out);
  if (spec->kind == SV_LISTEN_UNIX) {
    out->un.sun_family = AF_UNIX;
    gsize len = strlen(spec->path);
    memcpy(out->un.sun_path + (spec->abstract ? 1 : 0), spec->path, len);
    /* An abstract name is exactly as long as given; a path ends at its NUL. */
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
  }
  if (spec->ipv6) {
    out->in6.sin6_family = AF_INET6;
    out->in6.sin6_port = htons(spec->port);
    (void)inet_pton(AF_INET6, spec->host, &out->in6.sin6_addr);
    return sizeof out->in6;
  }
  out->in.sin_family = AF_INET;
  out->in.sin_port = htons(spec->port);
  (void)inet_pton(AF_INET, spec->host, &out->in.sin_addr);
  return sizeof out->in;
}

/* Whether FD is a listening stream socket bound to SPEC's address. */
static gboolean
fd_matches(int fd, const SvListenSpec *spec)
{
  int type = 0, listening = 0;
  socklen_t len = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_STREAM)
    return FALSE;
  len = sizeof listening;
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 || !listening)
    return FALSE;

  SvSockaddr have, want;
  socklen_t have_len = sizeof have;
  memset(&have, 0, sizeof have);
  if (getsockname(fd, &have.sa, &have_len) < 0)
    return FALSE;
  socklen_t want_len = spec_sockaddr(spec, &want);
  if (have.sa.sa_family != want.sa.sa_family)
    return FALSE;
  switch (want.sa.sa_family) {
  case AF_INET:
    return have.in.sin_port == want.in.sin_port &&
           have.in.sin_addr.s_addr == want.in.sin_addr.s_addr;
  case AF_INET6:
    return have.in6.sin6_port == want.in6.sin6_port &&
           memcmp(&have.in6.sin6_addr, &want.in6.sin6_addr, sizeof want.in6.sin6_addr) == 0;
  case AF_UNIX:
    /* An abstract name is its exact length, NULs and all; a path ends at its NUL. */
    if (spec->abstract)
      return have_len == want_len && memcmp(have.un.sun_path, want.un.sun_path,
                                            want_len - offsetof(struct sockaddr_un, sun_path)) == 0;
    return have.un.sun_path[0] != '\0' && g_strcmp0(have.un.sun_path, want.un.sun_path) == 0;
  default:
    return FALSE;
  }
}

/* ---- binding ------------------------------------------------------------------------------ */

#define WHERE(spec) ((spec)->origin ? (spec)->origin : "listen")

static gboolean
bind_failed(const SvListenSpec *spec, const char *what, int err, GError **error)
{
  const char *hint = "";
  if (err == EADDRINUSE)
    hint = spec->kind == SV_LISTEN_TCP
               ? _(": another process listens on it (ss -ltnp shows which), or another "
                   "listen= address covers it")
               : _(": another process listens on that socket");
  else if ((err == EACCES || err == EPERM) && spec->kind == SV_LISTEN_TCP && spec->port < 1024)
    hint = _(": ports below 1024 need root or CAP_NET_BIND_SERVICE "
             "(AmbientCapabilities=CAP_NET_BIND_SERVICE in the unit)");
  else if (err == EACCES || err == EPERM)
    hint = _(": sdvisor's user may not create it there (the directory's owner and mode, or "
             "RuntimeDirectory= in the unit)");
  else if (err == ENOENT && spec->kind == SV_LISTEN_UNIX)
    hint = _(": its directory does not exist (RuntimeDirectory= in the unit makes "
             "/run/sdvisor/NAME)");
  else if (err == EADDRNOTAVAIL)
    hint = _(": no network interface of this host has that address");
  else if (err == EAFNOSUPPORT)
    hint = _(": this host has no IPv6");
  g_set_error(error, SV_LISTEN_ERROR, SV_LISTEN_ERROR_BIND, _("%s: [app] listen: %s: %s: %s%s"),
              WHERE(spec), spec->text, what, g_strerror(err), hint);
  return FALSE;
}

/* A socket file left by a former run is removed; a live socket, or anything that is not a
 * socket, is left alone and reported. */
static gboolean
clear_stale_socket_file(const SvListenSpec *spec, GError **error)
{
  struct stat st;
  if (lstat(spec->path, &st) < 0)
    return errno == ENOENT ? TRUE : bind_failed(spec, _("cannot look at the path"), errno, error);
  if (!S_ISSOCK(st.st_mode)) {
    g_set_error(error, SV_LISTEN_ERROR, SV_LISTEN_ERROR_BIND,
                _("%s: [app] listen: %s: the path exists and is not a socket; not removing it"),
                WHERE(spec), spec->text);
    return FALSE;
  }
  int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (probe < 0)
    return bind_failed(spec, "socket()", errno, error);
  SvSockaddr addr;
  socklen_t len = spec_sockaddr(spec, &addr);
  int r = connect(probe, &addr.sa, len);
  int err = errno;
  close(probe);
  /* Refused: nobody listens; a full backlog (EAGAIN) or a connection is a live one. */
  if (r == 0 || err != ECONNREFUSED)
    return bind_failed(spec, _("cannot bind"), EADDRINUSE, error);
  if (unlink(spec->path) < 0 && errno != ENOENT)
    return bind_failed(spec, _("cannot remove the stale socket file"), errno, error);
  return TRUE;
}

/* A user or group, by name or number, for chown(); WHERE (the file) goes in errors. */
static gboolean
lookup_id(const char *name, gboolean group, guint32 *out, const char *where, GError **error)
{
  struct passwd *pw = group ? NULL : getpwnam(name);
  struct group *gr = group ? getgrnam(name) : NULL;
  guint64 n;
  if (pw != NULL || gr != NULL)
    *out = pw != NULL ? pw->pw_uid : gr->gr_gid;
  else if (g_ascii_string_to_unsigned(name, 10, 0, G_MAXUINT32 - 1, &n, NULL))
    *out = (guint32)n;
  else {
    if (group)
      g_set_error(error, SV_LISTEN_ERROR, SV_LISTEN_ERROR_OWNER,
                  _("%s: [app] listen-group: no group '%s' on this host"), where, name);
    else
      g_set_error(error, SV_LISTEN_ERROR, SV_LISTEN_ERROR_OWNER,
                  _("%s: [app] listen-user: no user '%s' on this host"), where, name);
    return FALSE;
  }
  return TRUE;
}

static gboolean
resolve_owner(const SvListenOptions *options, uid_t *uid, gid_t *gid, GError **error)
{
  const char *where = options->config_path ? options->config_path : "listen";
  guint32 u = (guint32)-1, g = (guint32)-1;
  if (options->user != NULL && !lookup_id(options->user, FALSE, &u, where, error))
    return FALSE;
  if (options->group != NULL && !lookup_id(options->group, TRUE, &g, where, error))
    return FALSE;
  *uid = (uid_t)u;
  *gid = (gid_t)g;
  return TRUE;
}

static int
bind_one(const SvListenSpec *spec, const SvListenOptions *options, GError **error)
{
  int family = spec->kind == SV_LISTEN_UNIX ? AF_UNIX : spec->ipv6 ? AF_INET6 : AF_INET;
  if (spec->kind == SV_LISTEN_UNIX && !spec->abstract && !clear_stale_socket_file(spec, error))
    return -1;
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    bind_failed(spec, "socket()", errno, error);
    return -1;
  }
  /* A restarted sdvisor binds again while connections of the former one are in
   * TIME_WAIT. SO_REUSEPORT comes after bind(), so that the bind still fails where any
   * other socket has the port, and before listen(), which makes the socket a group that a
   * replacement's socket can join (sv_listen_set_fork()). */
  int one = 1;
  if (family != AF_UNIX)
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  SvSockaddr addr;
  socklen_t len = spec_sockaddr(spec, &addr);
  if (bind(fd, &addr.sa, len) < 0) {
    int err = errno;
    close(fd);
    bind_failed(spec, _("cannot bind"), err, error);
    return -1;
  }
  if (spec->kind == SV_LISTEN_UNIX && !spec->abstract) {
    uid_t uid;
    gid_t gid;
    const char *where = options->config_path ? options->config_path : "listen";
    /* bind() made the file with sdvisor's umask; chmod/chown set what was asked before
     * listen(), so no connection is accepted before then. */
    if (!resolve_owner(options, &uid, &gid, error)) {
      (void)unlink(spec->path);
      close(fd);
      return -1;
    }
    if (options->mode != 0 && chmod(spec->path, options->mode) < 0) {
      int err = errno;
      (void)unlink(spec->path);
      close(fd);
      g_set_error(error, SV_LISTEN_ERROR, SV_LISTEN_ERROR_OWNER,
                  _("%s: [app] listen-mode: cannot set %s's mode to %04o: %s"), where, spec->path,
                  options->mode, g_strerror(err));
      return -1;
    }
    if ((uid != (uid_t)-1 || gid != (gid_t)-1) && lchown(spec->path, uid, gid) < 0) {
      int err = errno;
      (void)unlink(spec->path);
      close(fd);
      g_set_error(error, SV_LISTEN_ERROR, SV_LISTEN_ERROR_OWNER,
                  _("%s: [app] listen-user/listen-group: cannot give %s to %s:%s: %s%s"), where,
                  spec->path, options->user ? options->user : "-",
                  options->group ? options->group : "-", g_strerror(err),
                  err == EPERM ? _(" (only root may give a file away; a member of the group "
                                   "may set that group)")
                               : "");
      return -1;
    }
  }
  if (family != AF_UNIX)
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (listen(fd, SOMAXCONN) < 0) {
    int err = errno;
    close(fd);
    bind_failed(spec, _("cannot listen"), err, error);
    return -1;
  }
  return fd;
}

/* ---- the set ------------------------------------------------------------------------------- */

SvListenSet *
sv_listen_set_open_with(GPtrArray *specs, const SvListenOptions *options, const int *passed,
                        char *const *names, guint n_passed, GError **error)
{
  g_autoptr(SvListenSet) set = set_new();
  static const SvListenOptions no_options = {0};
  if (options == NULL)
    options = &no_options;
  guint n_specs = specs != NULL ? specs->len : 0;
  g_autofree int *taken = g_new(int, n_passed + 1);
  for (guint i = 0; i < n_passed; i++)
    taken[i] = passed[i];

  /* Socket activation without listen=: the sockets as they were passed. */
  if (n_specs == 0) {
    for (guint i = 0; i < n_passed; i++) {
      (void)fcntl(taken[i], F_SETFD, FD_CLOEXEC);
      const char *name = names ? names[i] : "unknown";
      set_add(set, taken[i], name, name, name, TRUE, steerable_group(taken[i]));
    }
    return g_steal_pointer(&set);
  }

  /* Passed sockets first: one on an address no longer configured is closed before its
   * port is bound anew (a former configuration's, from the fd store). */
  g_autofree int *found = g_new(int, n_specs);
  for (guint k = 0; k < n_specs; k++)
    found[k] = -1;
  g_autofree const char **found_names = g_new0(const char *, n_specs);
  for (guint i = 0; i < n_passed; i++) {
    for (guint k = 0; k < n_specs && taken[i] >= 0; k++)
      if (found[k] < 0 && fd_matches(taken[i], specs->pdata[k])) {
        found[k] = taken[i];
        found_names[k] = names ? names[i] : NULL;
        taken[i] = -1;
      }
    if (taken[i] >= 0) {
      add_dropped(set, names ? names[i] : NULL);
      close(taken[i]);
      taken[i] = -1;
    }
  }

  for (guint k = 0; k < n_specs; k++) {
    const SvListenSpec *spec = specs->pdata[k];
    gboolean inherited = found[k] >= 0;
    int fd = found[k];
    found[k] = -1;
    if (inherited)
      (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
    else
      fd = bind_one(spec, options, error);
    if (fd < 0) {
      for (guint j = k + 1; j < n_specs; j++)
        if (found[j] >= 0)
          close(found[j]);
      return NULL;
    }
    g_autofree char *name = sv_listenspec_fdname(spec);
    /* A passed socket keeps the name it has in the fd store (a replacement's socket has
     * one of its own there), so that it can be taken out by it. */
    const char *store_name = inherited && found_names[k] != NULL ? found_names[k] : name;
    SvListenGroup *group =
        spec->kind == SV_LISTEN_TCP ? (inherited ? steerable_group(fd) : group_new(fd)) : NULL;
    set_add(set, fd, name, store_name, spec->text, inherited, group);
  }
  return g_steal_pointer(&set);
}

SvListenSet *
sv_listen_set_open(GPtrArray *specs, const SvListenOptions *options, GError **error)
{
  g_auto(GStrv) names = NULL;
  int n = sd_listen_fds_with_names(0, &names);
  if (n < 0) {
    g_set_error(error, SV_LISTEN_ERROR, SV_LISTEN_ERROR_FAILED,
                "the sockets passed by the service manager (LISTEN_FDS): %s", g_strerror(-n));
    return NULL;
  }
  g_autofree int *passed = g_new(int, n + 1);
  for (int i = 0; i < n; i++)
    passed[i] = SD_LISTEN_FDS_START + i;
  return sv_listen_set_open_with(specs, options, passed, names, (guint)n, error);
}

guint
sv_listen_set_get_n(const SvListenSet *set)
{
  return set != NULL ? set->fds->len : 0;
}

const int *
sv_listen_set_get_fds(const SvListenSet *set)
{
  return set != NULL && set->fds->len > 0 ? (const int *)(gpointer)set->fds->data : NULL;
}

const char *
sv_listen_set_get_name(const SvListenSet *set, guint i)
{
  g_return_val_if_fail(set != NULL && i < set->fds->len, NULL);
  return set->names->pdata[i];
}

gboolean
sv_listen_set_get_inherited(const SvListenSet *set, guint i)
{
  g_return_val_if_fail(set != NULL && i < set->fds->len, FALSE);
  return g_array_index(set->inherited, gboolean, i);
}

const char *const *
sv_listen_set_get_dropped(const SvListenSet *set)
{
  return (const char *const *)set->dropped->pdata;
}

static char *
joined_names(const SvListenSet *set)
{
  GString *s = g_string_new(NULL);
  for (guint i = 0; i < set->names->len; i++)
    g_string_append_printf(s, "%s%s", i > 0 ? ":" : "", (const char *)set->names->pdata[i]);
  return g_string_free(s, FALSE);
}

char *
sv_listen_set_describe(const SvListenSet *set)
{
  GString *s = g_string_new(NULL);
  for (guint i = 0; i < set->fds->len; i++)
    g_string_append_printf(s, "%s%s (fd %u, %s)", i > 0 ? ", " : "",
                           (const char *)set->shown->pdata[i], SD_LISTEN_FDS_START + i,
                           sv_listen_set_get_inherited(set, i) ? "from the service manager"
                                                               : "bound");
  return g_string_free(s, FALSE);
}

char **
sv_listen_set_prepare_spawn(const SvListenSet *set, SvSpawnOptions *options, char **envp)
{
  guint n = sv_listen_set_get_n(set);
  envp = g_environ_unsetenv(envp, "LISTEN_PID");
  if (n == 0) {
    options->pass_fds = NULL;
    options->n_pass_fds = 0;
    options->set_listen_pid = FALSE;
    envp = g_environ_unsetenv(envp, "LISTEN_FDS");
    return g_environ_unsetenv(envp, "LISTEN_FDNAMES");
  }
  options->pass_fds = sv_listen_set_get_fds(set);
  options->n_pass_fds = n;
  options->set_listen_pid = TRUE;
  g_autofree char *count = g_strdup_printf("%u", n);
  g_autofree char *names = joined_names(set);
  envp = g_environ_setenv(envp, "LISTEN_FDS", count, TRUE);
  return g_environ_setenv(envp, "LISTEN_FDNAMES", names, TRUE);
}

int
sv_listen_set_store(const SvListenSet *set)
{
  for (const char *const *d = sv_listen_set_get_dropped(set); *d != NULL; d++) {
    g_autofree char *text = g_strdup_printf("FDSTOREREMOVE=1\nFDNAME=%s", *d);
    int r = sd_pid_notify(0, 0, text);
    if (r <= 0)
      return r;
  }
  int stored = 0;
  for (guint i = 0; i < set->fds->len; i++) {
    g_autofree char *text =
        g_strdup_printf("FDSTORE=1\nFDNAME=%s", (const char *)set->store_names->pdata[i]);
    int r = sd_pid_notify_with_fds(0, 0, text, &g_array_index(set->fds, int, i), 1);
    if (r <= 0)
      return r;
    stored++;
  }
  return stored;
}

/* ---- a replacement's sockets ------------------------------------------------------------- */

/* A socket bound to FD's address in FD's SO_REUSEPORT group, listening; -1 with errno. It
 * joins the group at listen(), so GROUP is steered to FD first: until
 * sv_listen_set_steer(), no connection may wait on a socket whose app is not ready. */
static int
sibling_socket(SvListenGroup *group, int fd)
{
  SvSockaddr addr;
  socklen_t len = sizeof addr;
  memset(&addr, 0, sizeof addr);
  if (getsockname(fd, &addr.sa, &len) < 0)
    return -1;
  int s = socket(addr.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0)
    return -1;
  int one = 1, v6only = 0;
  socklen_t v6len = sizeof v6only;
  (void)setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  /* A [::] socket must take IPv4 or not as the one it joins does. */
  if (addr.sa.sa_family == AF_INET6 &&
      getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &v6len) == 0)
    (void)setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
  /* A passed socket that was listening before it got SO_REUSEPORT has no group until the
   * sibling makes one: then it can only be steered once that is done. */
  int steered = group_steer(group, fd);
  if (setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0 || bind(s, &addr.sa, len) < 0 ||
      listen(s, SOMAXCONN) < 0) {
    int err = errno;
    close(s);
    errno = err;
    return -1;
  }
  SvGroupMember member = {fd_inode(s), 1};
  g_array_append_val(group->members, member);
  if (steered < 0 && group_steer(group, fd) < 0) {
    int err = errno;
    g_array_set_size(group->members, group->members->len - 1);
    close(s);
    errno = err;
    return -1;
  }
  return s;
}

SvListenSet *
sv_listen_set_fork(SvListenSet *set, char **out_shared, GError **error)
{
  SvListenSet *next = set_new();
  g_autoptr(GString) shared = g_string_new(NULL);
  for (guint i = 0; i < set->fds->len; i++) {
    int fd = g_array_index(set->fds, int, i);
    SvListenGroup *group = set->groups->pdata[i];
    const char *name = set->names->pdata[i];
    const char *why = NULL;
    int own = -1;
    if (group == NULL)
      why = _("not a TCP socket of sdvisor's user");
    else if (group->members->len > 1)
      why = _("the socket of the instance replaced before is still open");
    else if ((own = sibling_socket(group, fd)) < 0)
      why = g_strerror(errno);
    if (own >= 0) {
      g_autofree char *store_name = g_strdup_printf("%s+%u", name, ++group->generation);
      g_atomic_int_inc(&group->refs);
      set_add(next, own, name, store_name, set->shown->pdata[i], FALSE, group);
      continue;
    }
    /* Shared: the same socket; both instances accept from it until the old one stops. */
    int copy = fcntl(fd, F_DUPFD_CLOEXEC, SD_LISTEN_FDS_START);
    if (copy < 0) {
      int err = errno;
      g_set_error(error, SV_LISTEN_ERROR, SV_LISTEN_ERROR_FAILED, "socket %s: %s",
                  (const char *)set->shown->pdata[i], g_strerror(err));
      sv_listen_set_free(next);
      return NULL;
    }
    if (group != NULL) {
      g_atomic_int_inc(&group->refs);
      g_array_index(group->members, SvGroupMember, group_index(group, fd_inode(fd))).holders++;
    }
    set_add(next, copy, name, set->store_names->pdata[i], set->shown->pdata[i],
            g_array_index(set->inherited, gboolean, i), group);
    g_string_append_printf(shared, "%s%s (%s)", shared->len > 0 ? ", " : "",
                           (const char *)set->shown->pdata[i], why);
  }
  if (out_shared != NULL)
    *out_shared = shared->len > 0 ? g_strdup(shared->str) : NULL;
  return next;
}

/* Whether socket I of SET is its own: in a group, and held by no other set. */
static gboolean
is_own(const SvListenSet *set, guint i)
{
  SvListenGroup *group = set->groups->pdata[i];
  if (group == NULL)
    return FALSE;
  int k = group_index(group, fd_inode(g_array_index(set->fds, int, i)));
  return k >= 0 && g_array_index(group->members, SvGroupMember, k).holders == 1;
}

gboolean
sv_listen_set_has_siblings(const SvListenSet *set)
{
  for (guint i = 0; set != NULL && i < set->fds->len; i++) {
    SvListenGroup *group = set->groups->pdata[i];
    if (group != NULL && group->members->len > 1)
      return TRUE;
  }
  return FALSE;
}

guint
sv_listen_set_get_n_own(const SvListenSet *set)
{
  guint n = 0;
  for (guint i = 0; set != NULL && i < set->fds->len; i++)
    n += is_own(set, i);
  return n;
}

int
sv_listen_set_steer(const SvListenSet *set)
{
  for (guint i = 0; i < set->fds->len; i++)
    if (is_own(set, i)) {
      int r = group_steer(set->groups->pdata[i], g_array_index(set->fds, int, i));
      if (r < 0)
        return r;
    }
  return 0;
}

guint
sv_listen_set_get_queued(const SvListenSet *set)
{
  guint queued = 0;
  for (guint i = 0; set != NULL && i < set->fds->len; i++) {
    struct tcp_info info;
    socklen_t len = sizeof info;
    memset(&info, 0, sizeof info);
    /* For a listening socket, tcpi_unacked is its accept queue's length. */
    if (is_own(set, i) &&
        getsockopt(g_array_index(set->fds, int, i), IPPROTO_TCP, TCP_INFO, &info, &len) == 0)
      queued += info.tcpi_unacked;
  }
  return queued;
}

int
sv_listen_set_store_switch(const SvListenSet *from, const SvListenSet *to)
{
  /* Out first: FileDescriptorStoreMax= need only be the number of addresses. */
  for (guint i = 0; i < from->fds->len; i++) {
    const char *name = from->store_names->pdata[i];
    gboolean kept = FALSE;
    for (guint k = 0; k < to->fds->len && !kept; k++)
      kept = g_strcmp0(name, to->store_names->pdata[k]) == 0;
    if (kept)
      continue;
    g_autofree char *text = g_strdup_printf("FDSTOREREMOVE=1\nFDNAME=%s", name);
    int r = sd_pid_notify(0, 0, text);
    if (r <= 0)
      return r;
  }
  return sv_listen_set_store(to);
}
