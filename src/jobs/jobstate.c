/* jobstate.c — state directory, lock files and state files of scheduled jobs. */
#include "jobstate.h"

#include "jobname.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <linux/magic.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

G_DEFINE_QUARK(sv - jobstate - error - quark, sv_jobstate_error)

#define SV_JOBSTATE_VERSION         "1"
#define SV_JOBSTATE_DEFAULT_DIR     "/var/lib/sdvisor"
#define SV_JOBSTATE_CHECKSUM_PREFIX "checksum=sha256:"

struct SvJobStore {
  gatomicrefcount ref;
  int dir_fd; /* <state-dir>/<app>, opened O_NOFOLLOW */
  char *path;
  char *app;
  gboolean strict; /* opened to write: files must be ours */
};

/* ---- small helpers -------------------------------------------------------------------------- */

/* Turns ERR (an errno) into a GError in the right code, "WHAT PATH: strerror". */
static void set_errno_error(GError **error, int err, const char *format, ...) G_GNUC_PRINTF(3, 4);

static void
set_errno_error(GError **error, int err, const char *format, ...)
{
  va_list ap;
  va_start(ap, format);
  g_autofree char *what = g_strdup_vprintf(format, ap);
  va_end(ap);
  int code = SV_JOBSTATE_ERROR_IO;
  if (err == ENOSPC || err == EDQUOT)
    code = SV_JOBSTATE_ERROR_NO_SPACE;
  else if (err == ELOOP)
    code = SV_JOBSTATE_ERROR_UNSAFE;
  if (err == ELOOP)
    g_set_error(error, SV_JOBSTATE_ERROR, code, _("%s: is a symbolic link, refusing to follow it"),
                what);
  else
    g_set_error(error, SV_JOBSTATE_ERROR, code, "%s: %s", what, g_strerror(err));
}

/* 0 or -errno. */
static int
write_all(int fd, const char *buf, gsize len)
{
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    if (n == 0)
      return -EIO;
    buf += n;
    len -= (gsize)n;
  }
  return 0;
}

static void
close_lock(int *fd)
{
  if (*fd < 0)
    return;
  /* Explicitly: a copy of the fd in a child that has not reached exec() yet would
   * otherwise keep the lock a moment longer. */
  (void)flock(*fd, LOCK_UN);
  (void)close(*fd);
  *fd = -1;
}

/* Values are single lines of bounded length; what a person or the system put in a host
 * name or an app name must not be able to add a line to the file. */
static char *
sanitize_value(const char *value)
{
  if (value == NULL)
    return g_strdup("");
  gsize len = strnlen(value, SV_JOBSTATE_MAX_VALUE);
  char *out = g_strndup(value, len);
  for (char *p = out; *p != '\0'; p++)
    if ((guchar)*p < 0x20 || *p == 0x7f)
      *p = '?';
  return out;
}

const char *
sv_job_result_name(SvJobResult result)
{
  switch (result) {
  case SV_JOB_RESULT_NONE:
    return "none";
  case SV_JOB_RESULT_SUCCESS:
    return "success";
  case SV_JOB_RESULT_FAILED:
    return "failed";
  case SV_JOB_RESULT_TIMEOUT:
    return "timeout";
  case SV_JOB_RESULT_EXEC_FAILED:
    return "exec-failed";
  case SV_JOB_RESULT_STOPPED:
    return "stopped";
  case SV_JOB_RESULT_INTERRUPTED:
    return "interrupted";
  }
  return "unknown";
}

static gboolean
result_from_name(const char *name, SvJobResult *out)
{
  for (int r = SV_JOB_RESULT_SUCCESS; r <= SV_JOB_RESULT_INTERRUPTED; r++)
    if (g_str_equal(name, sv_job_result_name((SvJobResult)r))) {
      *out = (SvJobResult)r;
      return TRUE;
    }
  return FALSE;
}

char *
sv_jobstate_format_time(gint64 usec)
{
  gint64 sec = usec / G_USEC_PER_SEC;
  gint64 frac = usec % G_USEC_PER_SEC;
  if (frac < 0) {
    sec--;
    frac += G_USEC_PER_SEC;
  }
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(sec);
  if (dt == NULL)
    return g_strdup_printf("@%" G_GINT64_FORMAT, usec);
  g_autofree char *base = g_date_time_format(dt, "%Y-%m-%dT%H:%M:%S");
  if (frac == 0)
    return g_strconcat(base, "Z", NULL);
  if (frac % 1000 == 0)
    return g_strdup_printf("%s.%03dZ", base, (int)(frac / 1000));
  return g_strdup_printf("%s.%06dZ", base, (int)frac);
}

const char *
sv_jobstate_remote_fs_name(guint64 f_type)
{
  /* Network file systems: flock() there is either local to one client or emulated with
   * byte-range locks that a server restart forgets, so it cannot promise "once". FUSE is
   * not listed: most FUSE file systems a container sees are local (fuse-overlayfs). */
  static const struct {
    guint32 magic;
    const char *name;
  } remote[] = {
      {NFS_SUPER_MAGIC, "NFS"},   {SMB_SUPER_MAGIC, "SMB"},   {CIFS_SUPER_MAGIC, "CIFS"},
      {SMB2_SUPER_MAGIC, "SMB2"}, {CEPH_SUPER_MAGIC, "Ceph"}, {AFS_SUPER_MAGIC, "AFS"},
      {AFS_FS_MAGIC, "AFS"},      {V9FS_MAGIC, "9p"},         {CODA_SUPER_MAGIC, "Coda"},
      {NCP_SUPER_MAGIC, "NCP"},
  };
  /* f_type is a signed long that some magics overflow on 32-bit: compare 32 bits. */
  guint32 t = (guint32)f_type;
  for (gsize i = 0; i < G_N_ELEMENTS(remote); i++)
    if (remote[i].magic == t)
      return remote[i].name;
  return NULL;
}

char *
sv_jobstate_default_dir(void)
{
  const char *env = g_getenv("STATE_DIRECTORY");
  if (env != NULL) {
    g_auto(GStrv) parts = g_strsplit(env, ":", -1);
    for (char **p = parts; *p != NULL; p++)
      if (**p != '\0')
        return g_strdup(*p);
  }
  return g_strdup(SV_JOBSTATE_DEFAULT_DIR);
}

const char *
sv_jobstate_boot_id(void)
{
  static char *boot_id;
  if (g_once_init_enter(&boot_id)) {
    char *text = NULL;
    if (!g_file_get_contents("/proc/sys/kernel/random/boot_id", &text, NULL, NULL))
      text = g_strdup("");
    g_strstrip(text);
    g_once_init_leave(&boot_id, text);
  }
  return boot_id;
}

/* ---- records -------------------------------------------------------------------------------- */

SvJobRecord *
sv_job_record_new(void)
{
  SvJobRecord *r = g_new0(SvJobRecord, 1);
  r->slot_usec = -1;
  r->exit_code = -1;
  r->duration_usec = -1;
  return r;
}

SvJobRecord *
sv_job_record_copy(const SvJobRecord *record)
{
  SvJobRecord *r = g_memdup2(record, sizeof *record);
  r->app = g_strdup(record->app);
  r->job = g_strdup(record->job);
  r->run_id = g_strdup(record->run_id);
  r->instance_id = g_strdup(record->instance_id);
  r->host = g_strdup(record->host);
  r->boot_id = g_strdup(record->boot_id);
  return r;
}

void
sv_job_record_free(SvJobRecord *record)
{
  if (record == NULL)
    return;
  g_free(record->app);
  g_free(record->job);
  g_free(record->run_id);
  g_free(record->instance_id);
  g_free(record->host);
  g_free(record->boot_id);
  g_free(record);
}

static void
append_value(GString *s, const char *key, const char *value)
{
  g_autofree char *clean = sanitize_value(value);
  g_string_append_printf(s, "%s=%s\n", key, clean);
}

char *
sv_job_record_serialize(const SvJobRecord *r, gsize *out_len)
{
  GString *s = g_string_new("# sdvisor job state, replaced atomically by sdvisor: do not edit\n");
  g_string_append(s, "version=" SV_JOBSTATE_VERSION "\n");
  append_value(s, "app", r->app);
  append_value(s, "job", r->job);
  g_string_append_printf(s, "slot=%" G_GINT64_FORMAT "\n", r->slot_usec);
  g_autofree char *slot_time = sv_jobstate_format_time(r->slot_usec);
  g_string_append_printf(s, "slot-time=%s\n", slot_time);
  g_string_append_printf(s, "state=%s\n", r->running ? "running" : "done");
  if (!r->running)
    g_string_append_printf(s, "result=%s\n", sv_job_result_name(r->result));
  if (r->exit_code >= 0)
    g_string_append_printf(s, "exit-code=%d\n", r->exit_code);
  append_value(s, "run", r->run_id);
  g_string_append_printf(s, "pid=%d\n", (int)r->pid);
  append_value(s, "instance", r->instance_id);
  if (r->job_pid > 0)
    g_string_append_printf(s, "job-pid=%d\n", (int)r->job_pid);
  append_value(s, "host", r->host);
  append_value(s, "boot-id", r->boot_id);
  g_string_append_printf(s, "started=%" G_GINT64_FORMAT "\n", r->started_usec);
  if (r->duration_usec >= 0)
    g_string_append_printf(s, "duration=%" G_GINT64_FORMAT "\n", r->duration_usec);

  g_autofree char *sum =
      g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)s->str, s->len);
  g_string_append_printf(s, SV_JOBSTATE_CHECKSUM_PREFIX "%s\n", sum);
  if (out_len != NULL)
    *out_len = s->len;
  return g_string_free(s, FALSE);
}

/* File contents quoted in a message: ASCII, escaped, short. */
static char *
quote_for_message(const char *text)
{
  g_autofree char *cut = g_strndup(text, 64);
  return g_strescape(cut, NULL);
}

static gboolean corrupt(GError **error, const char *format, ...) G_GNUC_PRINTF(2, 3);

static gboolean
corrupt(GError **error, const char *format, ...)
{
  va_list ap;
  va_start(ap, format);
  g_autofree char *msg = g_strdup_vprintf(format, ap);
  va_end(ap);
  g_set_error_literal(error, SV_JOBSTATE_ERROR, SV_JOBSTATE_ERROR_CORRUPT, msg);
  return FALSE;
}

static gboolean
parse_int(GHashTable *fields, const char *key, gboolean required, gint64 min, gint64 max,
          gint64 *out, GError **error)
{
  const char *text = g_hash_table_lookup(fields, key);
  if (text == NULL) {
    if (required)
      return corrupt(error, _("'%s' is missing"), key);
    return TRUE;
  }
  guint64 u;
  gint64 v;
  /* Strict: no sign games, no spaces, no trailing bytes. */
  if (text[0] == '-') {
    if (!g_ascii_string_to_unsigned(text + 1, 10, 0, (guint64)G_MAXINT64, &u, NULL))
      return corrupt(error, _("'%s' is not a number"), key);
    v = -(gint64)u;
  } else {
    if (!g_ascii_isdigit(text[0]) ||
        !g_ascii_string_to_unsigned(text, 10, 0, (guint64)G_MAXINT64, &u, NULL))
      return corrupt(error, _("'%s' is not a number"), key);
    v = (gint64)u;
  }
  if (v < min || v > max)
    return corrupt(error, _("'%s' is out of range"), key);
  *out = v;
  return TRUE;
}

SvJobRecord *
sv_job_record_parse(const char *data, gsize len, GError **error)
{
  if (len == 0) {
    corrupt(error, _("the file is empty"));
    return NULL;
  }
  if (len > SV_JOBSTATE_MAX_SIZE) {
    corrupt(error, _("the file is larger than %d bytes"), SV_JOBSTATE_MAX_SIZE);
    return NULL;
  }
  if (memchr(data, '\0', len) != NULL) {
    corrupt(error, _("the file contains NUL bytes"));
    return NULL;
  }
  if (data[len - 1] != '\n') {
    corrupt(error, _("the file is truncated (no final newline)"));
    return NULL;
  }

  /* The last line is the checksum of every byte before it. */
  gsize last = len - 1;
  while (last > 0 && data[last - 1] != '\n')
    last--;
  gsize prefix_len = strlen(SV_JOBSTATE_CHECKSUM_PREFIX);
  if (len - last - 1 != prefix_len + 64 ||
      strncmp(data + last, SV_JOBSTATE_CHECKSUM_PREFIX, prefix_len) != 0) {
    corrupt(error, _("the checksum line is missing (truncated or not a state file)"));
    return NULL;
  }
  g_autofree char *sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)data, last);
  if (g_ascii_strncasecmp(sum, data + last + prefix_len, 64) != 0) {
    corrupt(error, _("the checksum does not match the contents"));
    return NULL;
  }

  g_autofree char *body = g_strndup(data, last);
  g_auto(GStrv) lines = g_strsplit(body, "\n", -1);
  g_autoptr(GHashTable) fields = g_hash_table_new(g_str_hash, g_str_equal);
  for (char **l = lines; *l != NULL; l++) {
    if (**l == '\0' || **l == '#')
      continue;
    char *eq = strchr(*l, '=');
    if (eq == NULL || eq == *l) {
      corrupt(error, _("a line is not key=value"));
      return NULL;
    }
    *eq = '\0';
    if (!g_hash_table_insert(fields, *l, eq + 1)) {
      g_autofree char *key = quote_for_message(*l);
      corrupt(error, _("'%s' appears twice"), key);
      return NULL;
    }
  }

  const char *version = g_hash_table_lookup(fields, "version");
  if (version == NULL || !g_str_equal(version, SV_JOBSTATE_VERSION)) {
    g_autofree char *v = quote_for_message(version ? version : "");
    corrupt(error, _("unknown version '%s' (this sdvisor writes version %s)"), v,
            SV_JOBSTATE_VERSION);
    return NULL;
  }

  g_autoptr(SvJobRecord) r = sv_job_record_new();
  static const char *const required[] = {"app",      "job",  "state",  "run",
                                         "instance", "host", "boot-id"};
  for (gsize i = 0; i < G_N_ELEMENTS(required); i++)
    if (g_hash_table_lookup(fields, required[i]) == NULL) {
      corrupt(error, _("'%s' is missing"), required[i]);
      return NULL;
    }
  r->app = g_strdup(g_hash_table_lookup(fields, "app"));
  r->job = g_strdup(g_hash_table_lookup(fields, "job"));
  r->run_id = g_strdup(g_hash_table_lookup(fields, "run"));
  r->instance_id = g_strdup(g_hash_table_lookup(fields, "instance"));
  r->host = g_strdup(g_hash_table_lookup(fields, "host"));
  r->boot_id = g_strdup(g_hash_table_lookup(fields, "boot-id"));

  const char *state = g_hash_table_lookup(fields, "state");
  if (g_str_equal(state, "running"))
    r->running = TRUE;
  else if (!g_str_equal(state, "done")) {
    corrupt(error, _("'state' is neither running nor done"));
    return NULL;
  }
  const char *result = g_hash_table_lookup(fields, "result");
  if (r->running) {
    if (result != NULL) {
      corrupt(error, _("a running record has a result"));
      return NULL;
    }
  } else if (result == NULL || !result_from_name(result, &r->result)) {
    corrupt(error, _("'result' is missing or unknown"));
    return NULL;
  }

  gint64 v;
  if (!parse_int(fields, "slot", TRUE, 0, G_MAXINT64, &r->slot_usec, error))
    return NULL;
  if (!parse_int(fields, "started", TRUE, 0, G_MAXINT64, &r->started_usec, error))
    return NULL;
  if (!parse_int(fields, "duration", FALSE, 0, G_MAXINT64, &r->duration_usec, error))
    return NULL;
  v = -1;
  if (!parse_int(fields, "exit-code", FALSE, 0, 255, &v, error))
    return NULL;
  r->exit_code = (int)v;
  v = 0;
  if (!parse_int(fields, "pid", TRUE, 1, G_MAXINT32, &v, error))
    return NULL;
  r->pid = (pid_t)v;
  v = 0;
  if (!parse_int(fields, "job-pid", FALSE, 1, G_MAXINT32, &v, error))
    return NULL;
  r->job_pid = (pid_t)v;
  return g_steal_pointer(&r);
}

/* ---- the store ------------------------------------------------------------------------------ */

/* "shop (uid 1001)", or "uid 1001" for a uid without a name, in BUF: the store is opened
 * in worker threads, so no static buffer and no getpwuid(). */
static char *
user_label_into(uid_t uid, char *buf, gsize size)
{
  struct passwd pw, *found = NULL;
  char pwbuf[1024];
  if (getpwuid_r(uid, &pw, pwbuf, sizeof pwbuf, &found) == 0 && found != NULL)
    g_snprintf(buf, size, "%s (uid %u)", found->pw_name, (unsigned)uid);
  else
    g_snprintf(buf, size, "uid %u", (unsigned)uid);
  return buf;
}
#define user_label(uid) user_label_into((uid), (char[160]){0}, 160)

/* STRICT: sdvisor will write below it, so nobody else may control it: it must be owned by
 * sdvisor's user (or, with ROOT_MAY_OWN, by root) and not writable by others. */
static gboolean
check_directory(int fd, const char *path, gboolean strict, gboolean root_may_own, GError **error)
{
  struct stat st;
  if (fstat(fd, &st) < 0) {
    set_errno_error(error, errno, "stat %s", path);
    return FALSE;
  }
  if (!S_ISDIR(st.st_mode)) {
    g_set_error(error, SV_JOBSTATE_ERROR, SV_JOBSTATE_ERROR_UNSAFE, _("%s is not a directory"),
                path);
    return FALSE;
  }
  if (!strict)
    return TRUE;
  if (st.st_uid != geteuid() && !(root_may_own && st.st_uid == 0)) {
    g_set_error(error, SV_JOBSTATE_ERROR, SV_JOBSTATE_ERROR_UNSAFE,
                _("state directory %s is owned by %s, not by %s that sdvisor runs as: "
                  "refusing to keep job state where another user controls it (two apps with "
                  "one name under different users?)"),
                path, user_label(st.st_uid), user_label(geteuid()));
    return FALSE;
  }
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    g_set_error(error, SV_JOBSTATE_ERROR, SV_JOBSTATE_ERROR_UNSAFE,
                _("state directory %s is writable by group or others (mode %04o): another "
                  "user could replace job state there; make it 0700 or 0755"),
                path, (unsigned)(st.st_mode & 07777));
    return FALSE;
  }
  struct statfs sfs;
  if (fstatfs(fd, &sfs) < 0) {
    set_errno_error(error, errno, "statfs %s", path);
    return FALSE;
  }
  const char *remote = sv_jobstate_remote_fs_name((guint64)sfs.f_type);
  if (remote != NULL) {
    g_set_error(error, SV_JOBSTATE_ERROR, SV_JOBSTATE_ERROR_REMOTE,
                _("state directory %s is on %s, where file locks cannot guarantee that a job "
                  "runs once per host: put it on a local file system (StateDirectory= in the "
                  "unit, or $STATE_DIRECTORY)"),
                path, remote);
    return FALSE;
  }
  return TRUE;
}

/* Where APP's directory is: DIR is the root holding one directory per app, ESCAPED the
 * app's entry in it. A directory named for the app itself (StateDirectory=sdvisor/shop) is
 * the app's own. An entry of $STATE_DIRECTORY in a directory called "sdvisor"
 * (StateDirectory=sdvisor/%i of sdvisor@.service, for an instance whose config sets
 * another name=) says where the root is: its parent, where the app's directory is a
 * sibling. Any other directory is a root (StateDirectory=sdvisor of older units,
 * --state-directory, /var/lib/sdvisor). Among $STATE_DIRECTORY's entries, the one named
 * for the app wins. */
static void
resolve_app_dir(const char *state_dir, const char *app, char **out_root, char **out_escaped)
{
  g_autofree char *escaped = sv_jobname_escape(app);
  g_autofree char *root = NULL;
  g_autofree char *sibling_root = NULL;
  g_auto(GStrv) entries = NULL;
  if (state_dir != NULL) {
    entries = g_new0(char *, 2);
    entries[0] = g_strdup(state_dir);
  } else if (g_getenv("STATE_DIRECTORY") != NULL) {
    entries = g_strsplit(g_getenv("STATE_DIRECTORY"), ":", -1);
  }
  for (char **e = entries; e != NULL && *e != NULL && root == NULL; e++) {
    g_autofree char *trimmed = g_strdup(*e);
    while (strlen(trimmed) > 1 && g_str_has_suffix(trimmed, "/"))
      trimmed[strlen(trimmed) - 1] = '\0';
    if (!g_path_is_absolute(trimmed))
      continue;
    g_autofree char *base = g_path_get_basename(trimmed);
    g_autofree char *parent = g_path_get_dirname(trimmed);
    g_autofree char *parent_base = g_path_get_basename(parent);
    if (g_str_equal(base, escaped))
      root = g_steal_pointer(&parent);
    else if (state_dir == NULL && sibling_root == NULL && g_str_equal(parent_base, "sdvisor"))
      sibling_root = g_steal_pointer(&parent);
  }
  if (root == NULL)
    root = g_steal_pointer(&sibling_root);
  if (root == NULL)
    root = state_dir ? g_strdup(state_dir) : sv_jobstate_default_dir();
  *out_root = g_steal_pointer(&root);
  *out_escaped = g_steal_pointer(&escaped);
}

char *
sv_jobstate_app_dir(const char *state_dir, const char *app)
{
  g_autofree char *root = NULL;
  g_autofree char *escaped = NULL;
  resolve_app_dir(state_dir, app, &root, &escaped);
  return g_build_filename(root, escaped, NULL);
}

SvJobStore *
sv_job_store_open(const char *state_dir, const char *app, gboolean create, GError **error)
{
  g_return_val_if_fail(app != NULL, NULL);

  g_autofree char *dir = NULL;
  g_autofree char *escaped = NULL;
  resolve_app_dir(state_dir, app, &dir, &escaped);
  if (!g_path_is_absolute(dir)) {
    g_set_error(error, SV_JOBSTATE_ERROR, SV_JOBSTATE_ERROR_UNSAFE,
                _("state directory '%s' is not an absolute path"), dir);
    return NULL;
  }

  /* The top directory may be a symlink: with DynamicUser=, systemd makes
   * /var/lib/NAME a link into /var/lib/private. Below it, nothing is followed. */
  int top = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (top < 0 && errno == ENOENT && create) {
    if (g_mkdir_with_parents(dir, 0700) < 0) {
      set_errno_error(error, errno, _("cannot create state directory %s"), dir);
      return NULL;
    }
    top = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  }
  if (top < 0) {
    int errsv = errno;
    if (errsv == ENOENT && !create)
      g_set_error(error, SV_JOBSTATE_ERROR, SV_JOBSTATE_ERROR_NOT_FOUND,
                  _("state directory %s does not exist"), dir);
    else
      set_errno_error(error, errsv, _("cannot open state directory %s"), dir);
    return NULL;
  }
  /* The root may be root's (systemd makes /var/lib/sdvisor so for StateDirectory=sdvisor/NAME):
   * it only holds the apps' directories, each owned by its app's user. */
  if (!check_directory(top, dir, create, TRUE, error)) {
    close(top);
    return NULL;
  }

  g_autofree char *path = g_build_filename(dir, escaped, NULL);
  if (create && mkdirat(top, escaped, 0700) < 0 && errno != EEXIST) {
    int errsv = errno;
    close(top);
    if (errsv == EACCES)
      /* A user that is not root cannot make its app's directory in a root-owned root:
       * systemd makes it, owned by the unit's User=, from StateDirectory=. */
      g_set_error(error, SV_JOBSTATE_ERROR, SV_JOBSTATE_ERROR_UNSAFE,
                  _("cannot create %s: %s; let systemd make it for this unit's user: "
                    "StateDirectory=sdvisor/%s"),
                  path, g_strerror(errsv), escaped);
    else
      set_errno_error(error, errsv, _("cannot create %s"), path);
    return NULL;
  }
  int fd = openat(top, escaped, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  int errsv = errno;
  struct stat lst;
  gboolean is_link =
      fd < 0 && fstatat(top, escaped, &lst, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(lst.st_mode);
  close(top);
  if (fd < 0) {
    if (is_link)
      errsv = ELOOP;
    if (errsv == ENOENT && !create)
      g_set_error(error, SV_JOBSTATE_ERROR, SV_JOBSTATE_ERROR_NOT_FOUND,
                  _("%s does not exist (no job has run yet)"), path);
    else
      set_errno_error(error, errsv, _("cannot open %s"), path);
    return NULL;
  }
  if (!check_directory(fd, path, create, FALSE, error)) {
    close(fd);
    return NULL;
  }
  if (create) {
    struct stat st;
    /* Ours (checked above), so tightening it takes nothing from anyone. */
    if (fstat(fd, &st) == 0 && (st.st_mode & 077) != 0)
      (void)fchmod(fd, 0700);
  }

  SvJobStore *store = g_new0(SvJobStore, 1);
  g_atomic_ref_count_init(&store->ref);
  store->dir_fd = fd;
  store->path = g_steal_pointer(&path);
  store->app = g_strdup(app);
  store->strict = create;
  return store;
}

SvJobStore *
sv_job_store_ref(SvJobStore *store)
{
  g_atomic_ref_count_inc(&store->ref);
  return store;
}

void
sv_job_store_unref(SvJobStore *store)
{
  if (store == NULL || !g_atomic_ref_count_dec(&store->ref))
    return;
  close(store->dir_fd);
  g_free(store->path);
  g_free(store->app);
  g_free(store);
}

const char *
sv_job_store_get_path(SvJobStore *store)
{
  return store->path;
}

const char *
sv_job_store_get_app(SvJobStore *store)
{
  return store->app;
}

static char *
file_name(const char *job, const char *suffix)
{
  g_autofree char *escaped = sv_jobname_escape(job);
  return g_strconcat(escaped, suffix, NULL);
}

/* A file we are about to trust: a regular file, and ours when we write. */
static gboolean
check_file(SvJobStore *store, int fd, const char *name, GError **error)
{
  struct stat st;
  if (fstat(fd, &st) < 0) {
    set_errno_error(error, errno, "stat %s/%s", store->path, name);
    return FALSE;
  }
  if (!S_ISREG(st.st_mode)) {
    g_set_error(error, SV_JOBSTATE_ERROR, SV_JOBSTATE_ERROR_UNSAFE,
                _("%s/%s is not a regular file"), store->path, name);
    return FALSE;
  }
  if (store->strict && st.st_uid != geteuid()) {
    g_set_error(error, SV_JOBSTATE_ERROR, SV_JOBSTATE_ERROR_UNSAFE,
                _("%s/%s is owned by uid %u, not by uid %u that sdvisor runs as"), store->path,
                name, (unsigned)st.st_uid, (unsigned)geteuid());
    return FALSE;
  }
  return TRUE;
}

SvJobRecord *
sv_job_store_read(SvJobStore *store, const char *job, GError **error)
{
  g_autofree char *name = file_name(job, ".state");
  /* O_NONBLOCK: a FIFO planted there must not hang the reader. */
  int fd = openat(store->dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT)
      return NULL;
    set_errno_error(error, errno, _("cannot open %s/%s"), store->path, name);
    return NULL;
  }
  if (!check_file(store, fd, name, error)) {
    close(fd);
    return NULL;
  }
  char buf[SV_JOBSTATE_MAX_SIZE + 1];
  gsize len = 0;
  while (len < sizeof buf) {
    ssize_t n = read(fd, buf + len, sizeof buf - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int errsv = errno;
      close(fd);
      set_errno_error(error, errsv, _("cannot read %s/%s"), store->path, name);
      return NULL;
    }
    if (n == 0)
      break;
    len += (gsize)n;
  }
  close(fd);

  g_autoptr(GError) local = NULL;
  g_autoptr(SvJobRecord) r = sv_job_record_parse(buf, len, &local);
  if (r == NULL) {
    g_set_error(error, SV_JOBSTATE_ERROR, SV_JOBSTATE_ERROR_CORRUPT, "%s/%s: %s", store->path, name,
                local->message);
    return NULL;
  }
  g_autofree char *app = sanitize_value(store->app);
  g_autofree char *jobname = sanitize_value(job);
  if (!g_str_equal(r->app, app) || !g_str_equal(r->job, jobname)) {
    g_autofree char *qapp = quote_for_message(r->app);
    g_autofree char *qjob = quote_for_message(r->job);
    g_set_error(error, SV_JOBSTATE_ERROR, SV_JOBSTATE_ERROR_CORRUPT,
                _("%s/%s: records app '%s', job '%s', not this one"), store->path, name, qapp,
                qjob);
    return NULL;
  }
  return g_steal_pointer(&r);
}

gboolean
sv_job_store_write(SvJobStore *store, const char *job, const SvJobRecord *record, GError **error)
{
  g_autofree char *name = file_name(job, ".state");
  gsize len = 0;
  g_autofree char *data = sv_job_record_serialize(record, &len);

  g_autofree char *tmp = NULL;
  int fd = -1;
  for (int attempt = 0; attempt < 16 && fd < 0; attempt++) {
    g_free(tmp);
    tmp = g_strdup_printf(".%s.%08x%08x", name, g_random_int(), g_random_int());
    fd = openat(store->dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
                0600);
    if (fd < 0 && errno != EEXIST)
      break;
  }
  if (fd < 0) {
    set_errno_error(error, errno, _("cannot create a temporary file in %s"), store->path);
    return FALSE;
  }

  int r = write_all(fd, data, len);
  const char *step = "write";
  if (r == 0 && fsync(fd) < 0) {
    r = -errno;
    step = "fsync";
  }
  /* close() can report a delayed write error: a claim that did not reach the disk is
   * not a claim. */
  if (close(fd) < 0 && r == 0) {
    r = -errno;
    step = "close";
  }
  if (r == 0 && renameat(store->dir_fd, tmp, store->dir_fd, name) < 0) {
    r = -errno;
    step = "rename";
  }
  if (r < 0) {
    (void)unlinkat(store->dir_fd, tmp, 0);
    set_errno_error(error, -r, _("cannot write %s/%s (%s)"), store->path, name, step);
    return FALSE;
  }
  /* The rename is done and every instance already sees it; a failed directory fsync only
   * leaves its survival of a power cut in doubt, and failing now would leave a claim
   * nobody runs. */
  (void)fsync(store->dir_fd);
  return TRUE;
}

gboolean
sv_job_store_quarantine(SvJobStore *store, const char *job, GError **error)
{
  g_autofree char *name = file_name(job, ".state");
  g_autofree char *aside = file_name(job, ".state.corrupt");
  if (renameat(store->dir_fd, name, store->dir_fd, aside) < 0 && errno != ENOENT) {
    set_errno_error(error, errno, _("cannot move %s/%s aside"), store->path, name);
    return FALSE;
  }
  return TRUE;
}

int
sv_job_store_lock(SvJobStore *store, const char *job, gboolean *out_busy, GError **error)
{
  *out_busy = FALSE;
  g_autofree char *name = file_name(job, ".lock");
  int fd = openat(store->dir_fd, name,
                  O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600);
  if (fd < 0) {
    set_errno_error(error, errno, _("cannot open lock file %s/%s"), store->path, name);
    return -1;
  }
  if (!check_file(store, fd, name, error)) {
    close(fd);
    return -1;
  }
  int r;
  do
    r = flock(fd, LOCK_EX | LOCK_NB);
  while (r < 0 && errno == EINTR);
  if (r < 0) {
    int errsv = errno;
    close(fd);
    if (errsv == EWOULDBLOCK) {
      *out_busy = TRUE;
      return -1;
    }
    set_errno_error(error, errsv, _("cannot lock %s/%s"), store->path, name);
    return -1;
  }
  return fd;
}

void
sv_job_store_clean_temporaries(SvJobStore *store, gint64 min_age_usec)
{
  int fd = openat(store->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return;
  DIR *d = fdopendir(fd);
  if (d == NULL) {
    close(fd);
    return;
  }
  gint64 now = g_get_real_time();
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (de->d_name[0] != '.' || strstr(de->d_name, ".state.") == NULL)
      continue;
    struct stat st;
    if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
      continue;
    gint64 mtime = (gint64)st.st_mtim.tv_sec * G_USEC_PER_SEC + st.st_mtim.tv_nsec / 1000;
    if (now - mtime >= min_age_usec)
      (void)unlinkat(dirfd(d), de->d_name, 0);
  }
  closedir(d);
}

/* ---- claims --------------------------------------------------------------------------------- */

static SvJobClaim *
claim_new(SvJobStore *store, const char *job)
{
  SvJobClaim *c = g_new0(SvJobClaim, 1);
  c->status = SV_JOB_CLAIM_ERROR;
  c->store = sv_job_store_ref(store);
  c->job = g_strdup(job);
  c->lock_fd = -1;
  return c;
}

void
sv_job_claim_free(SvJobClaim *c)
{
  if (c == NULL)
    return;
  close_lock(&c->lock_fd);
  sv_job_store_unref(c->store);
  g_free(c->job);
  sv_job_record_free(c->record);
  sv_job_record_free(c->previous);
  g_clear_error(&c->corrupt);
  g_clear_error(&c->error);
  g_free(c);
}

/* Locks and reads; FALSE (status BUSY or ERROR, lock released) when the claim ends here. */
static gboolean
lock_and_read(SvJobClaim *c)
{
  gboolean busy = FALSE;
  c->lock_fd = sv_job_store_lock(c->store, c->job, &busy, &c->error);
  if (c->lock_fd < 0) {
    c->status = busy ? SV_JOB_CLAIM_BUSY : SV_JOB_CLAIM_ERROR;
    return FALSE;
  }
  GError *local = NULL;
  c->previous = sv_job_store_read(c->store, c->job, &local);
  if (local != NULL && g_error_matches(local, SV_JOBSTATE_ERROR, SV_JOBSTATE_ERROR_CORRUPT)) {
    /* Recover: keep the bad file for a person to look at, go on as if there were no
     * state. The lock still keeps two instances from running at once. */
    c->corrupt = local;
    (void)sv_job_store_quarantine(c->store, c->job, NULL);
  } else if (local != NULL) {
    c->error = local;
    c->status = SV_JOB_CLAIM_ERROR;
    close_lock(&c->lock_fd);
    return FALSE;
  }
  /* We hold the lock, so whoever wrote "running" no longer does: it died mid-run. */
  c->interrupted = c->previous != NULL && c->previous->running;
  return TRUE;
}

/* Records an interrupted run as such, so it is reported once, not at every start. */
static void
record_interrupted(SvJobClaim *c)
{
  g_autoptr(SvJobRecord) r = sv_job_record_copy(c->previous);
  r->running = FALSE;
  r->result = SV_JOB_RESULT_INTERRUPTED;
  (void)sv_job_store_write(c->store, c->job, r, c->error ? NULL : &c->error);
}

static void
write_claim(SvJobClaim *c, gint64 slot, const SvJobRecord *template_record)
{
  SvJobRecord *r = sv_job_record_copy(template_record);
  g_free(r->app);
  r->app = g_strdup(c->store->app);
  g_free(r->job);
  r->job = g_strdup(c->job);
  r->slot_usec = slot;
  r->running = TRUE;
  r->result = SV_JOB_RESULT_NONE;
  r->exit_code = -1;
  r->job_pid = 0;
  r->duration_usec = -1;
  if (!sv_job_store_write(c->store, c->job, r, &c->error)) {
    sv_job_record_free(r);
    c->status = SV_JOB_CLAIM_ERROR;
    close_lock(&c->lock_fd);
    return;
  }
  c->record = r;
  c->status = SV_JOB_CLAIM_OK;
}

SvJobClaim *
sv_job_store_claim(SvJobStore *store, const char *job, gint64 slot,
                   const SvJobRecord *template_record)
{
  SvJobClaim *c = claim_new(store, job);
  if (!lock_and_read(c))
    return c;
  if (c->previous != NULL && c->previous->slot_usec >= slot) {
    if (c->interrupted)
      record_interrupted(c);
    g_clear_error(&c->error);
    c->status = SV_JOB_CLAIM_DONE;
    close_lock(&c->lock_fd);
    return c;
  }
  write_claim(c, slot, template_record);
  return c;
}

SvJobClaim *
sv_job_store_claim_manual(SvJobStore *store, const char *job, gint64 slot,
                          const SvJobRecord *template_record)
{
  SvJobClaim *c = claim_new(store, job);
  if (!lock_and_read(c))
    return c;
  /* An interrupted run's record is replaced by the claim; c->interrupted reports it. */
  if (c->previous != NULL)
    slot = MAX(slot, c->previous->slot_usec);
  write_claim(c, slot, template_record);
  return c;
}

SvJobClaim *
sv_job_store_claim_at_start(SvJobStore *store, const char *job, gint64 catch_up_slot,
                            gboolean retry_interrupted, const SvJobRecord *template_record)
{
  SvJobClaim *c = claim_new(store, job);
  if (!lock_and_read(c))
    return c;

  gint64 target = -1;
  /* A job that never ran has nothing to catch up, as with systemd's Persistent=. */
  if (catch_up_slot >= 0 && c->previous != NULL && c->previous->slot_usec < catch_up_slot)
    target = catch_up_slot;
  else if (c->interrupted && retry_interrupted)
    target = c->previous->slot_usec;

  if (target >= 0) {
    write_claim(c, target, template_record);
    return c;
  }
  if (c->interrupted)
    record_interrupted(c); /* a failure is left in c->error for the caller to report */
  c->status = SV_JOB_CLAIM_NOTHING;
  close_lock(&c->lock_fd);
  return c;
}

gboolean
sv_job_claim_finish(SvJobClaim *c, SvJobResult result, int exit_code, pid_t job_pid,
                    gint64 duration_usec, GError **error)
{
  g_return_val_if_fail(c->status == SV_JOB_CLAIM_OK && c->lock_fd >= 0, FALSE);
  c->record->running = FALSE;
  c->record->result = result;
  c->record->exit_code = exit_code;
  c->record->job_pid = job_pid;
  c->record->duration_usec = MAX(duration_usec, 0);
  gboolean ok = sv_job_store_write(c->store, c->job, c->record, error);
  close_lock(&c->lock_fd);
  return ok;
}

gboolean
sv_job_claim_abandon(SvJobClaim *c, GError **error)
{
  g_return_val_if_fail(c->status == SV_JOB_CLAIM_OK && c->lock_fd >= 0, FALSE);
  gboolean ok = TRUE;
  if (c->previous != NULL) {
    ok = sv_job_store_write(c->store, c->job, c->previous, error);
  } else {
    g_autofree char *name = file_name(c->job, ".state");
    if (unlinkat(c->store->dir_fd, name, 0) < 0 && errno != ENOENT) {
      set_errno_error(error, errno, _("cannot remove %s/%s"), c->store->path, name);
      ok = FALSE;
    }
  }
  close_lock(&c->lock_fd);
  return ok;
}
