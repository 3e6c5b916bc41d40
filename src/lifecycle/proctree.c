/* proctree.c — a delegated cgroup v2 subtree, or the subreaper's view through /proc. */
#include "proctree.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <signal.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "log.h"
#include "message-ids.h"
#include "reaper.h"

/* Subreaper view: how long after signalling the app's group the rest of its tree is
 * looked for. */
#define SV_PROCTREE_SIGNAL_DELAY_MS 20
/* sdvisor's own leaf in its delegated cgroup (the no-internal-processes rule). */
#define SV_PROCTREE_LEAF "supervisor"

static struct {
  SvProcTreeMechanism mechanism;
  char *root; /* the delegated cgroup's directory, cgroup mode only */
  guint serial;
} proctree;

struct SvProcTree {
  char *path;   /* the sub-cgroup; NULL: subreaper view */
  int procs_fd; /* its cgroup.procs, for the child to enter */
  pid_t leader;
  gboolean adopts_orphans;
  GHashTable *seen; /* subreaper view: pid → start time, every member once seen */

  SvProcTreeEmptyFunc empty_func;
  gpointer empty_data;
  int inotify_fd;
  guint empty_source; /* the inotify fd's source or the poll timer */
  guint idle_source;  /* the first look, from the loop */
  guint reaped_id;    /* subreaper view: "a child exited" from the reaper */
  guint signal_idle;  /* subreaper view: the rest of the tree still to be signalled */
  int pending_signal;
};

/* ---- the mechanism ------------------------------------------------------------------- */

static char *
cgroup_line(const char *prefix)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents("/proc/self/cgroup", &text, NULL, NULL))
    return NULL;
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  for (char **l = lines; *l; l++)
    if (g_str_has_prefix(*l, prefix))
      return g_strdup(*l + strlen(prefix));
  return NULL;
}

/* The mount point of the cgroup2 file system (/sys/fs/cgroup, or /sys/fs/cgroup/unified
 * on a hybrid hierarchy) and the cgroup path its root stands for. */
static gboolean
find_cgroup2_mount(char **out_mountpoint, char **out_root)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents("/proc/self/mountinfo", &text, NULL, NULL))
    return FALSE;
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  for (char **l = lines; *l; l++) {
    const char *sep = strstr(*l, " - ");
    if (sep == NULL || !g_str_has_prefix(sep + 3, "cgroup2 "))
      continue;
    g_auto(GStrv) f = g_strsplit(*l, " ", 6);
    if (g_strv_length(f) < 5)
      continue;
    *out_root = g_strcompress(f[3]);
    *out_mountpoint = g_strcompress(f[4]);
    return TRUE;
  }
  return FALSE;
}

static gboolean
xattr_says_delegated(const char *dir)
{
  const char *names[] = {"trusted.delegate", "user.delegate"};
  for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
    char value[8];
    ssize_t n = getxattr(dir, names[i], value, sizeof value);
    if (n == 1 && value[0] == '1')
      return TRUE;
  }
  return FALSE;
}

static gboolean
write_file(const char *path, const char *text)
{
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return FALSE;
  gboolean ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
  int errsv = errno;
  close(fd);
  errno = errsv;
  return ok;
}

/* The delegated cgroup, or NULL with *WHY saying why not. Delegation is what systemd
 * marks with the xattr (trusted.delegate, user.delegate; v251+); a cgroup that is only
 * writable (root in a plain shell) belongs to someone else and is left alone. */
static char *
find_delegated_cgroup(char **why)
{
  g_autofree char *path = cgroup_line("0::");
  g_autofree char *mountpoint = NULL, *mount_root = NULL;
  if (path == NULL || !find_cgroup2_mount(&mountpoint, &mount_root)) {
    *why = g_strdup("no cgroup v2 hierarchy");
    return NULL;
  }
  const char *rel = path;
  if (strcmp(mount_root, "/") != 0) {
    if (!g_str_has_prefix(path, mount_root)) {
      *why = g_strdup_printf("cgroup %s is outside the mounted cgroup2 tree", path);
      return NULL;
    }
    rel = path + strlen(mount_root);
  }
  g_autofree char *dir = g_build_filename(mountpoint, rel, NULL);
  /* systemd hands a delegated cgroup to a service's own user (User=, DynamicUser=):
   * such a user cannot read trusted.* xattrs, but owns the directory. */
  struct stat st;
  gboolean delegated =
      xattr_says_delegated(dir) || (getuid() != 0 && stat(dir, &st) == 0 && st.st_uid == getuid());
  if (!delegated) {
    /* A hybrid hierarchy: systemd keeps its xattrs on the name=systemd v1 tree. */
    g_autofree char *v1 = NULL;
    g_autofree char *text = NULL;
    if (g_file_get_contents("/proc/self/cgroup", &text, NULL, NULL)) {
      const char *m = strstr(text, ":name=systemd:");
      if (m != NULL)
        v1 = g_strndup(m + 14, strcspn(m + 14, "\n"));
    }
    if (v1 != NULL) {
      g_autofree char *v1dir = g_build_filename("/sys/fs/cgroup/systemd", v1, NULL);
      delegated = xattr_says_delegated(v1dir);
    }
  }
  if (!delegated) {
    *why = g_strdup_printf("cgroup %s is not delegated (Delegate=yes)", path);
    return NULL;
  }
  g_autofree char *procs = g_build_filename(dir, "cgroup.procs", NULL);
  if (access(procs, W_OK) < 0) {
    *why = g_strdup_printf("cgroup %s is not writable: %s", dir, g_strerror(errno));
    return NULL;
  }
  return g_steal_pointer(&dir);
}

void
sv_proctree_setup(void)
{
  g_autofree char *why = NULL;
  g_autofree char *dir = find_delegated_cgroup(&why);
  if (dir != NULL) {
    g_autofree char *leaf = g_build_filename(dir, SV_PROCTREE_LEAF, NULL);
    g_autofree char *procs = g_build_filename(leaf, "cgroup.procs", NULL);
    if ((mkdir(leaf, 0755) == 0 || errno == EEXIST) && write_file(procs, "0")) {
      proctree.mechanism = SV_PROCTREE_CGROUP;
      proctree.root = g_steal_pointer(&dir);
      g_autofree char *field = g_strdup_printf("SDVISOR_CGROUP=%s", proctree.root);
      const char *fields[] = {"SDVISOR_PROCESS_TREES=cgroup", field, NULL};
      sv_log_full(LOG_INFO, SV_MESSAGE_PROCESS_TREES, fields,
                  "process trees: cgroup v2 %s (sdvisor in %s/, the app, hooks and jobs in "
                  "sub-cgroups of their own)",
                  proctree.root, SV_PROCTREE_LEAF);
      return;
    }
    why = g_strdup_printf("cannot move into %s: %s", leaf, g_strerror(errno));
  }
  proctree.mechanism = SV_PROCTREE_SUBREAPER;
  const char *fields[] = {"SDVISOR_PROCESS_TREES=subreaper", NULL};
  sv_log_full(LOG_INFO, SV_MESSAGE_PROCESS_TREES, fields,
              "process trees: subreaper view through /proc (process groups, descendants, "
              "orphans re-parented to sdvisor): %s",
              why);
}

SvProcTreeMechanism
sv_proctree_mechanism(void)
{
  return proctree.mechanism;
}

const char *
sv_proctree_cgroup_root(void)
{
  return proctree.root;
}

/* ---- a tree ---------------------------------------------------------------------------- */

static char *
cgroup_name(const char *kind, const char *name)
{
  GString *s = g_string_new(kind);
  if (name != NULL && *name) {
    g_string_append_c(s, '-');
    for (const char *c = name; *c && s->len < 64; c++)
      g_string_append_c(s, g_ascii_isalnum(*c) || *c == '-' || *c == '_' ? *c : '_');
  }
  g_string_append_printf(s, "-%u", ++proctree.serial);
  return g_string_free(s, FALSE);
}

SvProcTree *
sv_proctree_new(const char *kind, const char *name, gboolean adopts_orphans)
{
  SvProcTree *tree = g_new0(SvProcTree, 1);
  tree->procs_fd = -1;
  tree->inotify_fd = -1;
  tree->adopts_orphans = adopts_orphans;
  if (proctree.mechanism == SV_PROCTREE_CGROUP) {
    g_autofree char *base = cgroup_name(kind, name);
    g_autofree char *path = g_build_filename(proctree.root, base, NULL);
    g_autofree char *procs = g_build_filename(path, "cgroup.procs", NULL);
    if (mkdir(path, 0755) < 0 && errno != EEXIST) {
      sv_log(LOG_WARNING, "cannot create cgroup %s: %s; its processes are followed through /proc",
             path, g_strerror(errno));
    } else if ((tree->procs_fd = open(procs, O_WRONLY | O_CLOEXEC)) < 0) {
      sv_log(LOG_WARNING, "cannot open %s: %s", procs, g_strerror(errno));
      (void)rmdir(path);
    } else {
      tree->path = g_steal_pointer(&path);
    }
  }
  if (tree->path == NULL)
    tree->seen = g_hash_table_new(NULL, NULL);
  return tree;
}

int
sv_proctree_procs_fd(SvProcTree *tree)
{
  return tree->procs_fd;
}

void
sv_proctree_set_leader(SvProcTree *tree, pid_t pid)
{
  tree->leader = pid;
}

const char *
sv_proctree_path(SvProcTree *tree)
{
  return tree->path;
}

/* ---- cgroup view ------------------------------------------------------------------------ */

static void
cgroup_pids(const char *dir, GArray *out)
{
  g_autofree char *procs = g_build_filename(dir, "cgroup.procs", NULL);
  g_autofree char *text = NULL;
  if (g_file_get_contents(procs, &text, NULL, NULL)) {
    for (char *p = text; *p;) {
      char *end;
      long pid = strtol(p, &end, 10);
      if (end == p)
        break;
      if (pid > 0)
        g_array_append_val(out, (pid_t){(pid_t)pid});
      p = end + (*end == '\n');
    }
  }
  /* The app may have made sub-cgroups of its own in the one it was given. */
  g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
  for (const char *e; d && (e = g_dir_read_name(d));) {
    g_autofree char *sub = g_build_filename(dir, e, NULL);
    if (g_file_test(sub, G_FILE_TEST_IS_DIR))
      cgroup_pids(sub, out);
  }
}

static gboolean
cgroup_populated(const char *dir)
{
  g_autofree char *events = g_build_filename(dir, "cgroup.events", NULL);
  g_autofree char *text = NULL;
  if (!g_file_get_contents(events, &text, NULL, NULL))
    return FALSE; /* gone: nothing can be in it */
  return strstr(text, "populated 1") != NULL;
}

/* ---- subreaper view ---------------------------------------------------------------------- */

typedef struct {
  pid_t pid, ppid, pgrp, session;
  guint64 start;
  gboolean zombie;
} SvProcInfo;

static gboolean
read_stat(pid_t pid, SvProcInfo *info)
{
  char path[64], buf[1024];
  g_snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return FALSE;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return FALSE;
  buf[n] = '\0';
  /* comm may hold spaces and parentheses: the fields start after the last ')'. */
  char *p = strrchr(buf, ')');
  if (p == NULL)
    return FALSE;
  char state;
  int ppid, pgrp, session;
  unsigned long long start;
  if (sscanf(p + 2, "%c %d %d %d %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu",
             &state, &ppid, &pgrp, &session, &start) != 5)
    return FALSE;
  info->pid = pid;
  info->ppid = ppid;
  info->pgrp = pgrp;
  info->session = session;
  info->start = start;
  info->zombie = state == 'Z' || state == 'X';
  return TRUE;
}

/* The live members: seeds (the leader, its group and session, what was seen before and,
 * for the app, sdvisor's unclaimed children), then everything whose parent is a member. */
static void
subreaper_pids(SvProcTree *tree, GArray *out)
{
  pid_t self = getpid();
  g_autoptr(GArray) all = g_array_new(FALSE, FALSE, sizeof(SvProcInfo));
  g_autoptr(GDir) d = g_dir_open("/proc", 0, NULL);
  for (const char *e; d && (e = g_dir_read_name(d));) {
    if (!g_ascii_isdigit(*e))
      continue;
    SvProcInfo info;
    pid_t pid = (pid_t)atoi(e);
    if (pid != self && read_stat(pid, &info))
      g_array_append_val(all, info);
  }
  g_autoptr(GHashTable) members = g_hash_table_new(NULL, NULL);
  for (guint i = 0; i < all->len; i++) {
    SvProcInfo *p = &g_array_index(all, SvProcInfo, i);
    gpointer start;
    gboolean seed =
        (tree->leader > 0 &&
         (p->pid == tree->leader || p->pgrp == tree->leader || p->session == tree->leader)) ||
        (g_hash_table_lookup_extended(tree->seen, GINT_TO_POINTER(p->pid), NULL, &start) &&
         (guint64)GPOINTER_TO_SIZE(start) == p->start) ||
        (tree->adopts_orphans && p->ppid == self && !sv_reaper_is_watched(p->pid));
    if (seed)
      g_hash_table_add(members, GINT_TO_POINTER(p->pid));
  }
  for (gboolean grew = TRUE; grew;) {
    grew = FALSE;
    for (guint i = 0; i < all->len; i++) {
      SvProcInfo *p = &g_array_index(all, SvProcInfo, i);
      if (!g_hash_table_contains(members, GINT_TO_POINTER(p->pid)) &&
          g_hash_table_contains(members, GINT_TO_POINTER(p->ppid))) {
        g_hash_table_add(members, GINT_TO_POINTER(p->pid));
        grew = TRUE;
      }
    }
  }
  for (guint i = 0; i < all->len; i++) {
    SvProcInfo *p = &g_array_index(all, SvProcInfo, i);
    if (!g_hash_table_contains(members, GINT_TO_POINTER(p->pid)))
      continue;
    g_hash_table_insert(tree->seen, GINT_TO_POINTER(p->pid), GSIZE_TO_POINTER((gsize)p->start));
    if (!p->zombie)
      g_array_append_val(out, p->pid);
  }
}

/* Every process of a tree descends from sdvisor (orphans come back to it as child
 * subreaper): without any child at all there is nothing to look for, and while a child
 * waits to be reaped the reaper's news comes next. Both spare a pass over /proc. */
typedef enum {
  SV_CHILDREN_NONE,
  SV_CHILDREN_ZOMBIE, /* one at least has exited and is not reaped yet */
  SV_CHILDREN_LIVE,
} SvChildren;

static SvChildren
own_children(void)
{
  siginfo_t info;
  memset(&info, 0, sizeof info);
  if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) < 0)
    return errno == ECHILD ? SV_CHILDREN_NONE : SV_CHILDREN_LIVE;
  return info.si_pid != 0 ? SV_CHILDREN_ZOMBIE : SV_CHILDREN_LIVE;
}

/* ---- both ------------------------------------------------------------------------------- */

static GArray *
tree_pids(SvProcTree *tree)
{
  GArray *pids = g_array_new(FALSE, FALSE, sizeof(pid_t));
  if (tree->path != NULL)
    cgroup_pids(tree->path, pids);
  else
    subreaper_pids(tree, pids);
  return pids;
}

/* SIG to every process of the tree. In the subreaper view the main process's group gets
 * it as a group (GROUP_DONE: it already has) and every other member one by one: nobody
 * gets it twice (a shell's trap would run twice). */
static guint
signal_now(SvProcTree *tree, int sig, gboolean group_done)
{
  if (tree->path != NULL && sig == SIGKILL) {
    g_autofree char *kill_file = g_build_filename(tree->path, "cgroup.kill", NULL);
    if (cgroup_populated(tree->path) && write_file(kill_file, "1"))
      return 1;
  }
  gboolean by_group = tree->leader > 1 && tree->path == NULL;
  /* The look comes before the group's signal: a member whose parent dies of it (a shell
   * on SIGTERM) is re-parented to sdvisor and, in a tree that adopts no orphans, could
   * no longer be told apart; seen now, it stays a member while it lives. */
  g_autoptr(GArray) pids = tree_pids(tree);
  if (by_group && !group_done) {
    (void)kill(-tree->leader, sig);
    if (sig != SIGKILL && sig != SIGCONT)
      (void)kill(-tree->leader, SIGCONT);
  }
  for (guint i = 0; i < pids->len; i++) {
    pid_t pid = g_array_index(pids, pid_t, i);
    if (by_group && getpgid(pid) == tree->leader)
      continue;
    (void)kill(pid, sig);
    /* A stopped process acts on SIGTERM only once continued (systemd does the same). */
    if (sig != SIGKILL && sig != SIGCONT)
      (void)kill(pid, SIGCONT);
  }
  return pids->len;
}

static gboolean
on_deferred_signal(gpointer user_data)
{
  SvProcTree *tree = user_data;
  tree->signal_idle = 0;
  if (own_children() != SV_CHILDREN_NONE)
    (void)signal_now(tree, tree->pending_signal, TRUE);
  return G_SOURCE_REMOVE;
}

guint
sv_proctree_signal(SvProcTree *tree, int sig)
{
  if (tree == NULL)
    return 0;
  /* A tree that does not adopt orphans must be looked at now: a descendant whose
   * parent dies before the look would not be found later. */
  if (tree->path != NULL || tree->leader <= 1 || !tree->adopts_orphans)
    return signal_now(tree, sig, FALSE);
  /* The app, in the subreaper view: its group at once; the pass over /proc for the rest
   * a moment later, after the reaper: an app that exits at once on the signal leaves
   * nothing to look for (no child at all: no pass), and its orphans stay findable. */
  (void)kill(-tree->leader, sig);
  if (sig != SIGKILL && sig != SIGCONT)
    (void)kill(-tree->leader, SIGCONT);
  if (tree->signal_idle == 0 || sig == SIGKILL)
    tree->pending_signal = sig;
  if (tree->signal_idle == 0)
    tree->signal_idle = g_timeout_add_full(G_PRIORITY_DEFAULT, SV_PROCTREE_SIGNAL_DELAY_MS,
                                           on_deferred_signal, tree, NULL);
  return 1;
}

gboolean
sv_proctree_is_empty(SvProcTree *tree)
{
  if (tree == NULL)
    return TRUE;
  if (tree->path != NULL)
    return !cgroup_populated(tree->path);
  if (own_children() == SV_CHILDREN_NONE)
    return TRUE;
  g_autoptr(GArray) pids = tree_pids(tree);
  return pids->len == 0;
}

static void
stop_watching(SvProcTree *tree)
{
  g_clear_handle_id(&tree->empty_source, g_source_remove);
  g_clear_handle_id(&tree->idle_source, g_source_remove);
  if (tree->reaped_id != 0) {
    sv_reaper_remove_reaped_func(tree->reaped_id);
    tree->reaped_id = 0;
  }
  if (tree->inotify_fd >= 0) {
    close(tree->inotify_fd);
    tree->inotify_fd = -1;
  }
}

static gboolean
check_empty(gpointer user_data)
{
  SvProcTree *tree = user_data;
  /* A child not yet reaped: the reaper's news comes next (subreaper view). */
  if (tree->path == NULL && own_children() == SV_CHILDREN_ZOMBIE)
    return G_SOURCE_CONTINUE;
  if (!sv_proctree_is_empty(tree))
    return G_SOURCE_CONTINUE;
  SvProcTreeEmptyFunc func = tree->empty_func;
  gpointer data = tree->empty_data;
  tree->empty_func = NULL;
  /* The source is removed here, not by the return value: FUNC may free the tree. */
  stop_watching(tree);
  func(tree, data);
  return G_SOURCE_REMOVE;
}

static gboolean
check_empty_once(gpointer user_data)
{
  SvProcTree *tree = user_data;
  tree->idle_source = 0;
  (void)check_empty(tree);
  return G_SOURCE_REMOVE;
}

static void
on_child_reaped(gpointer user_data)
{
  (void)check_empty(user_data);
}

static gboolean
on_events_changed(int fd, GIOCondition condition, gpointer user_data)
{
  char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
  while (read(fd, buf, sizeof buf) > 0)
    ;
  return check_empty(user_data);
}

void
sv_proctree_watch_empty(SvProcTree *tree, SvProcTreeEmptyFunc func, gpointer user_data)
{
  stop_watching(tree);
  tree->empty_func = func;
  tree->empty_data = user_data;
  if (func == NULL)
    return;
  if (tree->path != NULL) {
    g_autofree char *events = g_build_filename(tree->path, "cgroup.events", NULL);
    tree->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (tree->inotify_fd >= 0 && inotify_add_watch(tree->inotify_fd, events, IN_MODIFY) >= 0) {
      tree->empty_source = g_unix_fd_add(tree->inotify_fd, G_IO_IN, on_events_changed, tree);
    } else {
      stop_watching(tree);
    }
  }
  /* The subreaper view needs no timer: a tree's last process to exit is a child of
   * sdvisor by then (its parent, in the tree, went first and it was re-parented), so
   * the reaper's news is when to look. */
  if (tree->empty_source == 0 && tree->inotify_fd < 0)
    tree->reaped_id = sv_reaper_add_reaped_func(on_child_reaped, tree);
  /* It may be empty already: look once, from the loop. */
  tree->idle_source = g_idle_add_full(G_PRIORITY_DEFAULT, check_empty_once, tree, NULL);
}

static void
remove_when_empty(SvProcTree *tree, gpointer user_data)
{
  if (rmdir(tree->path) < 0 && errno != ENOENT)
    sv_log(LOG_DEBUG, "cannot remove cgroup %s: %s", tree->path, g_strerror(errno));
  g_free(tree->path);
  g_free(tree);
}

void
sv_proctree_free(SvProcTree *tree)
{
  if (tree == NULL)
    return;
  stop_watching(tree);
  tree->empty_func = NULL;
  g_clear_handle_id(&tree->signal_idle, g_source_remove);
  if (!sv_proctree_is_empty(tree))
    (void)signal_now(tree, SIGKILL, FALSE);
  g_clear_pointer(&tree->seen, g_hash_table_unref);
  if (tree->procs_fd >= 0)
    close(tree->procs_fd);
  tree->procs_fd = -1;
  if (tree->path != NULL && rmdir(tree->path) < 0 && errno == EBUSY) {
    /* Killed, not yet gone: removed once the kernel says it is empty. */
    sv_proctree_watch_empty(tree, remove_when_empty, NULL);
    return;
  }
  g_free(tree->path);
  g_free(tree);
}
