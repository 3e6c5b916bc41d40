/* test-jobstate.c — the state directory, lock and state files of scheduled jobs. */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jobfailure.h"
#include "jobname.h"
#include "jobstate.h"
#include "testutil.h"

#define SEC G_GINT64_CONSTANT(1000000)
#define T0  (G_GINT64_CONSTANT(1763805600) * SEC) /* 2025-11-22T10:00:00Z */

typedef struct {
  char *dir; /* the state directory */
  SvJobRecord *template_record;
} Fixture;

static SvJobRecord *
make_template(const char *instance)
{
  SvJobRecord *t = sv_job_record_new();
  t->app = g_strdup("web");
  t->job = g_strdup("backup");
  t->run_id = g_strdup("0123456789abcdef0123456789abcdef");
  t->instance_id = g_strdup(instance);
  t->pid = getpid();
  t->host = g_strdup("testhost");
  t->boot_id = g_strdup(sv_jobstate_boot_id());
  t->started_usec = T0 + 5000;
  return t;
}

static void
setup(Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp("sv-jobstate-XXXXXX", NULL);
  g_assert_nonnull(f->dir);
  f->template_record = make_template("instance-a");
}

static void
teardown(Fixture *f, gconstpointer data)
{
  sv_test_rm_rf(f->dir);
  g_free(f->dir);
  sv_job_record_free(f->template_record);
}

static char *
app_path(Fixture *f, const char *name)
{
  return g_build_filename(f->dir, "web", name, NULL);
}

/* ---- the record format ------------------------------------------------------------------ */

static SvJobRecord *
sample_record(void)
{
  SvJobRecord *r = make_template("instance-a");
  r->slot_usec = T0;
  r->running = FALSE;
  r->result = SV_JOB_RESULT_FAILED;
  r->exit_code = 3;
  r->job_pid = 4242;
  r->duration_usec = 1234567;
  return r;
}

static void
test_record_round_trip(void)
{
  g_autoptr(SvJobRecord) r = sample_record();
  gsize len = 0;
  g_autofree char *data = sv_job_record_serialize(r, &len);
  g_assert_cmpuint(len, ==, strlen(data));
  g_assert_cmpuint(len, <, SV_JOBSTATE_MAX_SIZE);
  g_assert_nonnull(strstr(data, "slot-time=2025-11-22T10:00:00Z\n"));

  g_autoptr(GError) error = NULL;
  g_autoptr(SvJobRecord) back = sv_job_record_parse(data, len, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(back->app, ==, "web");
  g_assert_cmpstr(back->job, ==, "backup");
  g_assert_cmpint(back->slot_usec, ==, T0);
  g_assert_false(back->running);
  g_assert_cmpint(back->result, ==, SV_JOB_RESULT_FAILED);
  g_assert_cmpint(back->exit_code, ==, 3);
  g_assert_cmpstr(back->run_id, ==, r->run_id);
  g_assert_cmpstr(back->instance_id, ==, "instance-a");
  g_assert_cmpint(back->pid, ==, getpid());
  g_assert_cmpint(back->job_pid, ==, 4242);
  g_assert_cmpstr(back->host, ==, "testhost");
  g_assert_cmpstr(back->boot_id, ==, r->boot_id);
  g_assert_cmpint(back->started_usec, ==, T0 + 5000);
  g_assert_cmpint(back->duration_usec, ==, 1234567);

  /* A running claim: no result, no duration. */
  r->running = TRUE;
  r->result = SV_JOB_RESULT_NONE;
  r->exit_code = -1;
  r->duration_usec = -1;
  r->job_pid = 0;
  g_autofree char *data2 = sv_job_record_serialize(r, &len);
  g_autoptr(SvJobRecord) back2 = sv_job_record_parse(data2, len, &error);
  g_assert_no_error(error);
  g_assert_true(back2->running);
  g_assert_cmpint(back2->exit_code, ==, -1);
  g_assert_cmpint(back2->duration_usec, ==, -1);
  g_assert_cmpint(back2->job_pid, ==, 0);
}

static void
assert_corrupt(const char *data, gsize len)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SvJobRecord) r = sv_job_record_parse(data, len, &error);
  g_assert_null(r);
  g_assert_error(error, SV_JOBSTATE_ERROR, SV_JOBSTATE_ERROR_CORRUPT);
}

static void
test_record_truncated(void)
{
  g_autoptr(SvJobRecord) r = sample_record();
  gsize len = 0;
  g_autofree char *data = sv_job_record_serialize(r, &len);
  /* Every truncation, down to nothing, is detected: the checksum line comes last. */
  for (gsize cut = 0; cut < len; cut++)
    assert_corrupt(data, cut);
}

static void
test_record_garbage(void)
{
  g_autoptr(SvJobRecord) r = sample_record();
  gsize len = 0;
  g_autofree char *data = sv_job_record_serialize(r, &len);

  /* Any single changed byte. */
  for (gsize i = 0; i < len; i++) {
    g_autofree char *copy = g_memdup2(data, len);
    copy[i] ^= 0x20;
    if (memcmp(copy, data, len) != 0 && g_ascii_strncasecmp(copy, data, len) != 0)
      assert_corrupt(copy, len);
  }

  /* Random bytes, a NUL, an oversized file, text that is not ours. */
  GRand *rand = g_rand_new_with_seed(7);
  for (int n = 0; n < 200; n++) {
    gsize glen = (gsize)g_rand_int_range(rand, 1, 600);
    g_autofree char *g = g_malloc(glen);
    for (gsize i = 0; i < glen; i++)
      g[i] = (char)g_rand_int_range(rand, 0, 256);
    assert_corrupt(g, glen);
  }
  g_rand_free(rand);
  assert_corrupt("x\0y\n", 4);
  g_autofree char *big = g_strnfill(SV_JOBSTATE_MAX_SIZE + 1, 'a');
  assert_corrupt(big, strlen(big));
  const char *ini = "[Unit]\nDescription=no\n";
  assert_corrupt(ini, strlen(ini));
}

/* A body with a valid checksum line: what only a careful forger (or a bug) writes. */
static char *
with_checksum(const char *body)
{
  g_autofree char *sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, body, -1);
  return g_strdup_printf("%schecksum=sha256:%s\n", body, sum);
}

static void
test_record_semantic_checks(void)
{
  const char *good = "version=1\napp=web\njob=backup\nslot=10\nstate=done\nresult=success\n"
                     "run=r\npid=5\ninstance=i\nhost=h\nboot-id=b\nstarted=10\n";
  g_autofree char *ok = with_checksum(good);
  g_autoptr(GError) error = NULL;
  g_autoptr(SvJobRecord) r = sv_job_record_parse(ok, strlen(ok), &error);
  g_assert_no_error(error);
  g_assert_cmpint(r->duration_usec, ==, -1);

  const char *bad[] = {
      "version=2\napp=web\njob=backup\nslot=10\nstate=done\nresult=success\nrun=r\npid=5\ninstance="
      "i\nhost=h\nboot-id=b\nstarted=10\n",
      "version=1\njob=backup\nslot=10\nstate=done\nresult=success\nrun=r\npid=5\ninstance=i\nhost="
      "h\nboot-id=b\nstarted=10\n",
      "version=1\napp=web\njob=backup\nslot=-10\nstate=done\nresult=success\nrun=r\npid="
      "5\ninstance="
      "i\nhost=h\nboot-id=b\nstarted=10\n",
      "version=1\napp=web\njob=backup\nslot=1x\nstate=done\nresult=success\nrun=r\npid=5\ninstance="
      "i\nhost=h\nboot-id=b\nstarted=10\n",
      "version=1\napp=web\njob=backup\nslot= "
      "10\nstate=done\nresult=success\nrun=r\npid=5\ninstance=i\nhost=h\nboot-id=b\nstarted=10\n",
      "version=1\napp=web\njob=backup\nslot=99999999999999999999\nstate=done\nresult=success\nrun="
      "r\npid=5\ninstance=i\nhost=h\nboot-id=b\nstarted=10\n",
      "version=1\napp=web\njob=backup\nslot=10\nstate=maybe\nresult=success\nrun=r\npid="
      "5\ninstance="
      "i\nhost=h\nboot-id=b\nstarted=10\n",
      "version=1\napp=web\njob=backup\nslot=10\nstate=done\nresult=great\nrun=r\npid=5\ninstance="
      "i\nhost=h\nboot-id=b\nstarted=10\n",
      "version=1\napp=web\njob=backup\nslot=10\nstate=done\nrun=r\npid=5\ninstance=i\nhost=h\nboot-"
      "id=b\nstarted=10\n",
      "version=1\napp=web\njob=backup\nslot=10\nstate=running\nresult=success\nrun=r\npid="
      "5\ninstance=i\nhost=h\nboot-id=b\nstarted=10\n",
      "version=1\napp=web\napp=web\njob=backup\nslot=10\nstate=done\nresult=success\nrun=r\npid="
      "5\ninstance=i\nhost=h\nboot-id=b\nstarted=10\n",
      "version=1\napp=web\njob=backup\nslot=10\nstate=done\nresult=success\nrun=r\npid=0\ninstance="
      "i\nhost=h\nboot-id=b\nstarted=10\n",
      "version=1\napp=web\njob=backup\nslot=10\nstate=done\nresult=success\nexit-code=300\nrun="
      "r\npid=5\ninstance=i\nhost=h\nboot-id=b\nstarted=10\n",
      "version=1\napp=web\njob=backup\nslot=10\nstate=done\nresult=success\nrun=r\npid=5\ninstance="
      "i\nhost=h\nboot-id=b\nstarted=10\nno equals sign\n",
  };
  for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
    g_autofree char *text = with_checksum(bad[i]);
    if (g_test_verbose())
      g_test_message("case %zu", i);
    assert_corrupt(text, strlen(text));
  }
}

static void
test_record_sanitized(void)
{
  g_autoptr(SvJobRecord) r = sample_record();
  g_free(r->host);
  r->host = g_strdup("evil\nstate=running\n");
  g_free(r->app);
  r->app = g_strnfill(1000, 'x');
  gsize len;
  g_autofree char *data = sv_job_record_serialize(r, &len);
  g_autoptr(GError) error = NULL;
  g_autoptr(SvJobRecord) back = sv_job_record_parse(data, len, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(back->host, ==, "evil?state=running?");
  g_assert_false(back->running);
  g_assert_cmpuint(strlen(back->app), ==, SV_JOBSTATE_MAX_VALUE);
}

static void
test_format_time(void)
{
  g_autofree char *a = sv_jobstate_format_time(T0);
  g_assert_cmpstr(a, ==, "2025-11-22T10:00:00Z");
  g_autofree char *b = sv_jobstate_format_time(T0 + 250000);
  g_assert_cmpstr(b, ==, "2025-11-22T10:00:00.250Z");
  g_autofree char *b2 = sv_jobstate_format_time(T0 + 250001);
  g_assert_cmpstr(b2, ==, "2025-11-22T10:00:00.250001Z");
  g_autofree char *c = sv_jobstate_format_time(0);
  g_assert_cmpstr(c, ==, "1970-01-01T00:00:00Z");
}

static void
test_escape(void)
{
  const struct {
    const char *in, *out;
  } cases[] = {
      {"backup", "backup"},
      {"web-app_1@host+x.y", "web-app_1@host+x.y"},
      {"a/b", "a\\x2fb"},
      {"..", "\\x2e."},
      {".hidden", "\\x2ehidden"},
      {"a b", "a\\x20b"},
      {"back\\x2fslash", "back\\x5cx2fslash"},
      {"", "\\x"},
      {"é", "\\xc3\\xa9"},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autofree char *e = sv_jobname_escape(cases[i].in);
    g_assert_cmpstr(e, ==, cases[i].out);
    g_assert_null(strchr(e, '/'));
  }
}

static void
test_remote_fs(void)
{
  g_assert_cmpstr(sv_jobstate_remote_fs_name(0x6969), ==, "NFS");
  g_assert_cmpstr(sv_jobstate_remote_fs_name(0xFF534D42), ==, "CIFS");
  g_assert_cmpstr(sv_jobstate_remote_fs_name(0xFE534D42), ==, "SMB2");
  g_assert_cmpstr(sv_jobstate_remote_fs_name(0x517B), ==, "SMB");
  /* statfs() on a 64-bit long can sign-extend the CIFS magic. */
  g_assert_cmpstr(sv_jobstate_remote_fs_name((guint64)(gint64)(gint32)0xFF534D42), ==, "CIFS");
  g_assert_null(sv_jobstate_remote_fs_name(0xEF53));     /* ext4 */
  g_assert_null(sv_jobstate_remote_fs_name(0x01021994)); /* tmpfs */
  g_assert_null(sv_jobstate_remote_fs_name(0x58465342)); /* xfs */
  g_assert_null(sv_jobstate_remote_fs_name(0x9123683E)); /* btrfs */
  g_assert_null(sv_jobstate_remote_fs_name(0x794c7630)); /* overlayfs */
}

static void
test_default_dir(void)
{
  g_autofree char *saved = g_strdup(g_getenv("STATE_DIRECTORY"));
  g_setenv("STATE_DIRECTORY", "/var/lib/a:/var/lib/b", TRUE);
  g_autofree char *a = sv_jobstate_default_dir();
  g_assert_cmpstr(a, ==, "/var/lib/a");
  g_unsetenv("STATE_DIRECTORY");
  g_autofree char *b = sv_jobstate_default_dir();
  g_assert_cmpstr(b, ==, "/var/lib/sdvisor");
  if (saved)
    g_setenv("STATE_DIRECTORY", saved, TRUE);
}

/* ---- the store ---------------------------------------------------------------------------- */

static mode_t
mode_of(const char *path)
{
  struct stat st;
  g_assert_cmpint(lstat(path, &st), ==, 0);
  return st.st_mode & 07777;
}

static void
test_store_permissions(Fixture *f, gconstpointer data)
{
  /* Even with a careless umask, what sdvisor creates is private. */
  mode_t old = umask(0);
  g_autofree char *state = g_build_filename(f->dir, "state", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(SvJobStore) store = sv_job_store_open(state, "web", TRUE, &error);
  g_assert_no_error(error);
  g_autoptr(SvJobClaim) c = sv_job_store_claim(store, "backup", T0, f->template_record);
  umask(old);
  g_assert_cmpint(c->status, ==, SV_JOB_CLAIM_OK);

  g_autofree char *app = g_build_filename(state, "web", NULL);
  g_autofree char *lock = g_build_filename(app, "backup.lock", NULL);
  g_autofree char *st = g_build_filename(app, "backup.state", NULL);
  g_assert_cmpint(mode_of(state), ==, 0700);
  g_assert_cmpint(mode_of(app), ==, 0700);
  g_assert_cmpint(mode_of(lock), ==, 0600);
  g_assert_cmpint(mode_of(st), ==, 0600);
  g_assert_cmpstr(sv_job_store_get_path(store), ==, app);

  /* An existing app directory that is too open is tightened. */
  g_assert_cmpint(chmod(app, 0755), ==, 0);
  g_autoptr(SvJobStore) again = sv_job_store_open(state, "web", TRUE, &error);
  g_assert_no_error(error);
  g_assert_cmpint(mode_of(app), ==, 0700);
}

/* What a running sdvisor publishes about jobs that cannot run, read back as `sdvisor jobs`
 * reads it: only a live sdvisor's, only the app asked about. */
static void
test_failures_published(Fixture *f, gconstpointer data)
{
  g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func((GDestroyNotify)sv_job_failure_free);
  g_ptr_array_add(list,
                  sv_job_failure_new("tick", T0, "cannot open lock file x:\tPermission\ndenied"));
  g_autofree char *text = sv_job_failures_serialize("shop", 42, list);
  g_autofree char *app = NULL;
  pid_t pid = 0;
  g_autoptr(GPtrArray) back = sv_job_failures_parse(text, &app, &pid);
  g_assert_nonnull(back);
  g_assert_cmpstr(app, ==, "shop");
  g_assert_cmpint(pid, ==, 42);
  g_assert_cmpuint(back->len, ==, 1);
  const SvJobFailure *b = back->pdata[0];
  g_assert_cmpstr(b->job, ==, "tick");
  g_assert_cmpint(b->since_usec, ==, T0);
  g_assert_cmpstr(b->reason, ==, "cannot open lock file x: Permission denied");
  g_assert_null(sv_job_failures_parse("app=shop\n", NULL, NULL));
  g_assert_null(sv_job_failures_parse("app=shop\npid=1\nfailing\tx\n", NULL, NULL));

  g_autoptr(GError) error = NULL;
  g_assert_true(sv_job_failures_publish(f->dir, "one", "shop", list, &error));
  g_assert_no_error(error);
  g_autoptr(GPtrArray) found = sv_job_failures_find(f->dir, "shop");
  g_assert_cmpuint(found->len, ==, 1);
  g_assert_cmpint(((SvJobFailure *)found->pdata[0])->pid, ==, getpid());
  g_autoptr(GPtrArray) other = sv_job_failures_find(f->dir, "api");
  g_assert_cmpuint(other->len, ==, 0);
  /* A dead sdvisor's file says nothing. */
  g_autofree char *dead_text = sv_job_failures_serialize("shop", G_MAXINT32 - 1, list);
  g_autofree char *dead = g_build_filename(f->dir, "jobs-failing.dead", NULL);
  g_assert_true(g_file_set_contents(dead, dead_text, -1, NULL));
  g_assert_true(sv_job_failures_publish(f->dir, "one", "shop", NULL, &error));
  g_autoptr(GPtrArray) none = sv_job_failures_find(f->dir, "shop");
  g_assert_cmpuint(none->len, ==, 0);
  g_unlink(dead);
}

/* sdvisor@.service has StateDirectory=sdvisor/NAME: that directory is the app's own, and
 * its parent the root. Any other directory is a root with one directory per app. */
static void
test_app_dir_resolution(Fixture *f, gconstpointer data)
{
  g_autofree char *saved = g_strdup(g_getenv("STATE_DIRECTORY"));
  g_unsetenv("STATE_DIRECTORY");
  g_autofree char *plain = sv_jobstate_app_dir(NULL, "shop");
  g_assert_cmpstr(plain, ==, "/var/lib/sdvisor/shop");
  g_autofree char *given_root = sv_jobstate_app_dir("/srv/state", "shop");
  g_assert_cmpstr(given_root, ==, "/srv/state/shop");
  g_autofree char *given_own = sv_jobstate_app_dir("/var/lib/sdvisor/shop/", "shop");
  g_assert_cmpstr(given_own, ==, "/var/lib/sdvisor/shop");
  g_setenv("STATE_DIRECTORY", "/var/lib/sdvisor/shop-2:/var/lib/sdvisor/shop", TRUE);
  g_autofree char *second = sv_jobstate_app_dir(NULL, "shop");
  g_assert_cmpstr(second, ==, "/var/lib/sdvisor/shop");
  g_setenv("STATE_DIRECTORY", "/var/lib/sdvisor", TRUE);
  g_autofree char *legacy = sv_jobstate_app_dir(NULL, "shop");
  g_assert_cmpstr(legacy, ==, "/var/lib/sdvisor/shop");
  /* sdvisor@shop-2.service whose file says name=shop: the app's directory is a sibling. */
  g_setenv("STATE_DIRECTORY", "/var/lib/sdvisor/shop-2", TRUE);
  g_autofree char *sibling = sv_jobstate_app_dir(NULL, "shop");
  g_assert_cmpstr(sibling, ==, "/var/lib/sdvisor/shop");
  g_autofree char *escaped = sv_jobstate_app_dir(NULL, "a/b");
  g_assert_cmpstr(escaped, ==, "/var/lib/sdvisor/a\\x2fb");
  g_setenv("STATE_DIRECTORY", "/srv/state", TRUE);
  g_autofree char *other = sv_jobstate_app_dir(NULL, "shop");
  g_assert_cmpstr(other, ==, "/srv/state/shop");
  if (saved != NULL)
    g_setenv("STATE_DIRECTORY", saved, TRUE);
  else
    g_unsetenv("STATE_DIRECTORY");

  /* Opened: the app's own directory is used as it is, nothing is made below it. */
  g_autofree char *own = g_build_filename(f->dir, "web", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(SvJobStore) store = sv_job_store_open(own, "web", TRUE, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(sv_job_store_get_path(store), ==, own);
  g_autofree char *nested = g_build_filename(own, "web", NULL);
  g_assert_false(g_file_test(nested, G_FILE_TEST_EXISTS));
}

static void
test_store_foreign_owner(Fixture *f, gconstpointer data)
{
  if (geteuid() != 0) {
    g_test_skip("needs root to chown a directory to another user");
    return;
  }
  g_autofree char *state = g_build_filename(f->dir, "foreign", NULL);
  g_assert_cmpint(g_mkdir(state, 0700), ==, 0);
  g_assert_cmpint(chown(state, 65534, 65534), ==, 0);
  g_autoptr(GError) error = NULL;
  g_autoptr(SvJobStore) store = sv_job_store_open(state, "web", TRUE, &error);
  g_assert_null(store);
  g_assert_error(error, SV_JOBSTATE_ERROR, SV_JOBSTATE_ERROR_UNSAFE);
  g_assert_nonnull(strstr(error->message, "(uid 65534)"));
  g_clear_error(&error);

  /* The app directory inside a good state directory, too. */
  g_assert_cmpint(chown(state, 0, 0), ==, 0);
  g_autofree char *app = g_build_filename(state, "web", NULL);
  g_assert_cmpint(g_mkdir(app, 0700), ==, 0);
  g_assert_cmpint(chown(app, 65534, 65534), ==, 0);
  store = sv_job_store_open(state, "web", TRUE, &error);
  g_assert_null(store);
  g_assert_error(error, SV_JOBSTATE_ERROR, SV_JOBSTATE_ERROR_UNSAFE);
  g_clear_error(&error);

  /* And a lock file someone else owns. */
  g_assert_cmpint(chown(app, 0, 0), ==, 0);
  g_autofree char *lock = g_build_filename(app, "backup.lock", NULL);
  g_assert_true(g_file_set_contents(lock, "", 0, NULL));
  g_assert_cmpint(chown(lock, 65534, 65534), ==, 0);
  store = sv_job_store_open(state, "web", TRUE, &error);
  g_assert_no_error(error);
  g_autoptr(SvJobClaim) c = sv_job_store_claim(store, "backup", T0, f->template_record);
  g_assert_cmpint(c->status, ==, SV_JOB_CLAIM_ERROR);
  g_assert_error(c->error, SV_JOBSTATE_ERROR, SV_JOBSTATE_ERROR_UNSAFE);
}

static void
test_store_writable_by_others(Fixture *f, gconstpointer data)
{
  g_assert_cmpint(chmod(f->dir, 0777), ==, 0);
  g_autoptr(GError) error = NULL;
  g_autoptr(SvJobStore) store = sv_job_store_open(f->dir, "web", TRUE, &error);
  g_assert_null(store);
  g_assert_error(error, SV_JOBSTATE_ERROR, SV_JOBSTATE_ERROR_UNSAFE);
  g_assert_nonnull(strstr(error->message, "writable by group or others"));
  g_clear_error(&error);
  g_assert_cmpint(chmod(f->dir, 0755), ==, 0);
  store = sv_job_store_open(f->dir, "web", TRUE, &error);
  g_assert_no_error(error);
}

static void
test_store_relative_and_missing(Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SvJobStore) store = sv_job_store_open("relative/dir", "web", TRUE, &error);
  g_assert_null(store);
  g_assert_error(error, SV_JOBSTATE_ERROR, SV_JOBSTATE_ERROR_UNSAFE);
  g_clear_error(&error);

  /* Read-only opening creates nothing. */
  g_autofree char *missing = g_build_filename(f->dir, "missing", NULL);
  store = sv_job_store_open(missing, "web", FALSE, &error);
  g_assert_null(store);
  g_assert_error(error, SV_JOBSTATE_ERROR, SV_JOBSTATE_ERROR_NOT_FOUND);
  g_assert_false(g_file_test(missing, G_FILE_TEST_EXISTS));
  g_clear_error(&error);
  store = sv_job_store_open(f->dir, "web", FALSE, &error);
  g_assert_error(error, SV_JOBSTATE_ERROR, SV_JOBSTATE_ERROR_NOT_FOUND);
  g_autofree char *app = app_path(f, "");
  g_assert_false(g_file_test(app, G_FILE_TEST_EXISTS));
}

static void
test_store_symlinks(Fixture *f, gconstpointer data)
{
  g_autofree char *elsewhere = g_build_filename(f->dir, "elsewhere", NULL);
  g_assert_cmpint(g_mkdir(elsewhere, 0700), ==, 0);
  g_autofree char *app = g_build_filename(f->dir, "web", NULL);
  g_assert_cmpint(symlink(elsewhere, app), ==, 0);

  /* The app directory. */
  g_autoptr(GError) error = NULL;
  g_autoptr(SvJobStore) store = sv_job_store_open(f->dir, "web", TRUE, &error);
  g_assert_null(store);
  g_assert_error(error, SV_JOBSTATE_ERROR, SV_JOBSTATE_ERROR_UNSAFE);
  g_assert_nonnull(strstr(error->message, "symbolic link"));
  g_clear_error(&error);
  g_unlink(app);

  store = sv_job_store_open(f->dir, "web", TRUE, &error);
  g_assert_no_error(error);

  /* The lock file: a symlink to a file sdvisor must not create or touch. */
  g_autofree char *victim = g_build_filename(f->dir, "victim", NULL);
  g_autofree char *lock = app_path(f, "backup.lock");
  g_assert_cmpint(symlink(victim, lock), ==, 0);
  {
    g_autoptr(SvJobClaim) c = sv_job_store_claim(store, "backup", T0, f->template_record);
    g_assert_cmpint(c->status, ==, SV_JOB_CLAIM_ERROR);
    g_assert_error(c->error, SV_JOBSTATE_ERROR, SV_JOBSTATE_ERROR_UNSAFE);
    g_assert_false(g_file_test(victim, G_FILE_TEST_EXISTS));
  }
  g_unlink(lock);

  /* The state file: never read through, never written through. */
  g_assert_true(g_file_set_contents(victim, "precious\n", -1, NULL));
  g_autofree char *st = app_path(f, "backup.state");
  g_assert_cmpint(symlink(victim, st), ==, 0);
  {
    g_autoptr(SvJobClaim) c = sv_job_store_claim(store, "backup", T0, f->template_record);
    g_assert_cmpint(c->status, ==, SV_JOB_CLAIM_ERROR);
    g_assert_error(c->error, SV_JOBSTATE_ERROR, SV_JOBSTATE_ERROR_UNSAFE);
  }
  g_autofree char *text = NULL;
  g_assert_true(g_file_get_contents(victim, &text, NULL, NULL));
  g_assert_cmpstr(text, ==, "precious\n");
  g_assert_true(g_file_test(st, G_FILE_TEST_IS_SYMLINK));

  /* A FIFO in place of the state file is refused without hanging. */
  g_unlink(st);
  g_assert_cmpint(mkfifo(st, 0600), ==, 0);
  {
    g_autoptr(SvJobClaim) c = sv_job_store_claim(store, "backup", T0, f->template_record);
    g_assert_cmpint(c->status, ==, SV_JOB_CLAIM_ERROR);
    g_assert_error(c->error, SV_JOBSTATE_ERROR, SV_JOBSTATE_ERROR_UNSAFE);
  }
}

/* ---- claims ---------------------------------------------------------------------------------- */

static void
test_claim_two_instances(Fixture *f, gconstpointer data)
{
  /* Two instances = two stores (two opens of every lock file) in one process. */
  g_autoptr(GError) error = NULL;
  g_autoptr(SvJobStore) a = sv_job_store_open(f->dir, "web", TRUE, &error);
  g_assert_no_error(error);
  g_autoptr(SvJobStore) b = sv_job_store_open(f->dir, "web", TRUE, &error);
  g_assert_no_error(error);
  g_autoptr(SvJobRecord) tb = make_template("instance-b");

  g_autoptr(SvJobClaim) ca = sv_job_store_claim(a, "backup", T0, f->template_record);
  g_assert_cmpint(ca->status, ==, SV_JOB_CLAIM_OK);
  g_assert_null(ca->previous);
  g_assert_false(ca->interrupted);
  g_assert_cmpint(ca->lock_fd, >=, 0);

  /* B while A runs: busy. */
  {
    g_autoptr(SvJobClaim) cb = sv_job_store_claim(b, "backup", T0, tb);
    g_assert_cmpint(cb->status, ==, SV_JOB_CLAIM_BUSY);
    g_assert_cmpint(cb->lock_fd, ==, -1);
  }
  /* Another job is independent. */
  {
    g_autoptr(SvJobClaim) other = sv_job_store_claim(b, "report", T0, tb);
    g_assert_cmpint(other->status, ==, SV_JOB_CLAIM_OK);
    g_assert_true(sv_job_claim_finish(other, SV_JOB_RESULT_SUCCESS, 0, 99, 10, &error));
    g_assert_no_error(error);
  }

  /* The claim says running, with A's identity. */
  g_autoptr(SvJobRecord) mid = sv_job_store_read(b, "backup", &error);
  g_assert_no_error(error);
  g_assert_true(mid->running);
  g_assert_cmpint(mid->slot_usec, ==, T0);
  g_assert_cmpstr(mid->instance_id, ==, "instance-a");

  g_assert_true(sv_job_claim_finish(ca, SV_JOB_RESULT_SUCCESS, 0, 1234, 5 * SEC, &error));
  g_assert_no_error(error);
  g_assert_cmpint(ca->lock_fd, ==, -1);

  /* B late for the same slot: done already, by A. */
  {
    g_autoptr(SvJobClaim) cb = sv_job_store_claim(b, "backup", T0, tb);
    g_assert_cmpint(cb->status, ==, SV_JOB_CLAIM_DONE);
    g_assert_nonnull(cb->previous);
    g_assert_cmpstr(cb->previous->instance_id, ==, "instance-a");
    g_assert_false(cb->interrupted);
    /* And for an earlier slot (the clock went back). */
    g_autoptr(SvJobClaim) cb2 = sv_job_store_claim(b, "backup", T0 - SEC, tb);
    g_assert_cmpint(cb2->status, ==, SV_JOB_CLAIM_DONE);
  }
  /* The next slot is B's if B comes first. */
  g_autoptr(SvJobClaim) cb = sv_job_store_claim(b, "backup", T0 + SEC, tb);
  g_assert_cmpint(cb->status, ==, SV_JOB_CLAIM_OK);
  g_assert_cmpint(cb->previous->result, ==, SV_JOB_RESULT_SUCCESS);
  g_assert_true(sv_job_claim_finish(cb, SV_JOB_RESULT_TIMEOUT, 143, 77, 2 * SEC, &error));

  g_autoptr(SvJobRecord) last = sv_job_store_read(a, "backup", &error);
  g_assert_no_error(error);
  g_assert_false(last->running);
  g_assert_cmpint(last->slot_usec, ==, T0 + SEC);
  g_assert_cmpint(last->result, ==, SV_JOB_RESULT_TIMEOUT);
  g_assert_cmpint(last->exit_code, ==, 143);
  g_assert_cmpint(last->job_pid, ==, 77);
  g_assert_cmpint(last->duration_usec, ==, 2 * SEC);
  g_assert_cmpstr(last->instance_id, ==, "instance-b");
}

static void
test_claim_interrupted(Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SvJobStore) store = sv_job_store_open(f->dir, "web", TRUE, &error);
  g_assert_no_error(error);

  /* A claims and "dies": its lock goes with its fds, the state keeps saying running. */
  SvJobClaim *dead = sv_job_store_claim(store, "backup", T0, f->template_record);
  g_assert_cmpint(dead->status, ==, SV_JOB_CLAIM_OK);
  sv_job_claim_free(dead);

  /* Another instance at a slot ≤ T0: not repeated, but reported. */
  g_autoptr(SvJobRecord) tb = make_template("instance-b");
  {
    g_autoptr(SvJobClaim) c = sv_job_store_claim(store, "backup", T0, tb);
    g_assert_cmpint(c->status, ==, SV_JOB_CLAIM_DONE);
    g_assert_true(c->interrupted);
    g_assert_cmpint(c->previous->slot_usec, ==, T0);
  }
  /* …once: the state now records it as interrupted. */
  g_autoptr(SvJobRecord) r = sv_job_store_read(store, "backup", &error);
  g_assert_no_error(error);
  g_assert_false(r->running);
  g_assert_cmpint(r->result, ==, SV_JOB_RESULT_INTERRUPTED);
  g_assert_cmpint(r->slot_usec, ==, T0);

  /* Start checks: running-while-unlocked is reported at start and recorded. */
  dead = sv_job_store_claim(store, "backup", T0 + SEC, f->template_record);
  g_assert_cmpint(dead->status, ==, SV_JOB_CLAIM_OK);
  sv_job_claim_free(dead);
  {
    g_autoptr(SvJobClaim) c = sv_job_store_claim_at_start(store, "backup", -1, FALSE, tb);
    g_assert_cmpint(c->status, ==, SV_JOB_CLAIM_NOTHING);
    g_assert_true(c->interrupted);
    g_assert_cmpint(c->previous->slot_usec, ==, T0 + SEC);
    g_assert_cmpint(c->lock_fd, ==, -1);
    g_assert_no_error(c->error);
  }
  {
    g_autoptr(SvJobClaim) c = sv_job_store_claim_at_start(store, "backup", -1, TRUE, tb);
    g_assert_cmpint(c->status, ==, SV_JOB_CLAIM_NOTHING);
    g_assert_false(c->interrupted); /* already reported */
  }

  /* retry-interrupted: the same slot is claimed again. */
  dead = sv_job_store_claim(store, "backup", T0 + 2 * SEC, f->template_record);
  sv_job_claim_free(dead);
  g_autoptr(SvJobClaim) retry = sv_job_store_claim_at_start(store, "backup", -1, TRUE, tb);
  g_assert_cmpint(retry->status, ==, SV_JOB_CLAIM_OK);
  g_assert_true(retry->interrupted);
  g_assert_cmpint(retry->record->slot_usec, ==, T0 + 2 * SEC);
  g_assert_true(retry->record->running);

  /* While the retry runs, a start check elsewhere sees a busy lock. */
  g_autoptr(SvJobStore) other = sv_job_store_open(f->dir, "web", TRUE, &error);
  g_autoptr(SvJobClaim) busy = sv_job_store_claim_at_start(other, "backup", -1, TRUE, tb);
  g_assert_cmpint(busy->status, ==, SV_JOB_CLAIM_BUSY);
  g_assert_false(busy->interrupted);
}

static void
test_claim_catch_up(Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SvJobStore) store = sv_job_store_open(f->dir, "web", TRUE, &error);
  g_assert_no_error(error);

  /* Never ran: nothing to catch up (systemd's Persistent= does the same). */
  {
    g_autoptr(SvJobClaim) c =
        sv_job_store_claim_at_start(store, "backup", T0, FALSE, f->template_record);
    g_assert_cmpint(c->status, ==, SV_JOB_CLAIM_NOTHING);
  }
  g_autoptr(SvJobClaim) first = sv_job_store_claim(store, "backup", T0, f->template_record);
  g_assert_true(sv_job_claim_finish(first, SV_JOB_RESULT_SUCCESS, 0, 1, 1, &error));

  /* Up to date: nothing. */
  {
    g_autoptr(SvJobClaim) c =
        sv_job_store_claim_at_start(store, "backup", T0, FALSE, f->template_record);
    g_assert_cmpint(c->status, ==, SV_JOB_CLAIM_NOTHING);
  }
  /* Slots T0+1h and T0+2h were missed: one catch-up, for the latest. */
  g_autoptr(SvJobClaim) c =
      sv_job_store_claim_at_start(store, "backup", T0 + 7200 * SEC, FALSE, f->template_record);
  g_assert_cmpint(c->status, ==, SV_JOB_CLAIM_OK);
  g_assert_cmpint(c->record->slot_usec, ==, T0 + 7200 * SEC);
  /* A second instance starting at the same time does not catch up too. */
  g_autoptr(SvJobStore) other = sv_job_store_open(f->dir, "web", TRUE, &error);
  {
    g_autoptr(SvJobClaim) c2 =
        sv_job_store_claim_at_start(other, "backup", T0 + 7200 * SEC, FALSE, f->template_record);
    g_assert_cmpint(c2->status, ==, SV_JOB_CLAIM_BUSY);
  }
  g_assert_true(sv_job_claim_finish(c, SV_JOB_RESULT_SUCCESS, 0, 1, 1, &error));
  {
    g_autoptr(SvJobClaim) c2 =
        sv_job_store_claim_at_start(other, "backup", T0 + 7200 * SEC, FALSE, f->template_record);
    g_assert_cmpint(c2->status, ==, SV_JOB_CLAIM_NOTHING);
  }
}

static void
test_claim_corrupt_recovered(Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SvJobStore) store = sv_job_store_open(f->dir, "web", TRUE, &error);
  g_assert_no_error(error);
  g_autofree char *st = app_path(f, "backup.state");
  g_autofree char *aside = app_path(f, "backup.state.corrupt");

  /* A truncated state file (as a full disk without atomic replace would leave). */
  g_autoptr(SvJobRecord) r = sample_record();
  gsize len;
  g_autofree char *good = sv_job_record_serialize(r, &len);
  g_assert_true(g_file_set_contents(st, good, (gssize)(len / 2), NULL));

  g_autoptr(SvJobRecord) none = sv_job_store_read(store, "backup", &error);
  g_assert_null(none);
  g_assert_error(error, SV_JOBSTATE_ERROR, SV_JOBSTATE_ERROR_CORRUPT);
  g_assert_nonnull(strstr(error->message, "backup.state"));
  g_clear_error(&error);

  g_autoptr(SvJobClaim) c = sv_job_store_claim(store, "backup", T0, f->template_record);
  g_assert_cmpint(c->status, ==, SV_JOB_CLAIM_OK);
  g_assert_error(c->corrupt, SV_JOBSTATE_ERROR, SV_JOBSTATE_ERROR_CORRUPT);
  g_assert_null(c->previous);
  g_assert_true(g_file_test(aside, G_FILE_TEST_IS_REGULAR));
  g_assert_true(sv_job_claim_finish(c, SV_JOB_RESULT_SUCCESS, 0, 1, 1, &error));
  g_autoptr(SvJobRecord) fresh = sv_job_store_read(store, "backup", &error);
  g_assert_no_error(error);
  g_assert_cmpint(fresh->slot_usec, ==, T0);

  /* Another app's or job's file in our place is not ours. */
  g_autoptr(SvJobRecord) foreign = sample_record();
  g_free(foreign->job);
  foreign->job = g_strdup("other");
  g_autofree char *ftext = sv_job_record_serialize(foreign, &len);
  g_assert_true(g_file_set_contents(st, ftext, (gssize)len, NULL));
  g_autoptr(SvJobRecord) no = sv_job_store_read(store, "backup", &error);
  g_assert_null(no);
  g_assert_error(error, SV_JOBSTATE_ERROR, SV_JOBSTATE_ERROR_CORRUPT);
  g_clear_error(&error);

  /* At start: reported, moved aside, nothing to catch up. */
  g_autoptr(SvJobClaim) s =
      sv_job_store_claim_at_start(store, "backup", T0 + SEC, TRUE, f->template_record);
  g_assert_cmpint(s->status, ==, SV_JOB_CLAIM_NOTHING);
  g_assert_nonnull(s->corrupt);
  g_assert_false(g_file_test(st, G_FILE_TEST_EXISTS));
}

static void
test_claim_abandon(Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SvJobStore) store = sv_job_store_open(f->dir, "web", TRUE, &error);
  g_autofree char *st = app_path(f, "backup.state");

  g_autoptr(SvJobClaim) c = sv_job_store_claim(store, "backup", T0, f->template_record);
  g_assert_true(sv_job_claim_abandon(c, &error));
  g_assert_no_error(error);
  g_assert_false(g_file_test(st, G_FILE_TEST_EXISTS));

  g_autoptr(SvJobClaim) c2 = sv_job_store_claim(store, "backup", T0, f->template_record);
  g_assert_true(sv_job_claim_finish(c2, SV_JOB_RESULT_SUCCESS, 0, 1, 1, &error));
  g_autoptr(SvJobClaim) c3 = sv_job_store_claim(store, "backup", T0 + SEC, f->template_record);
  g_assert_cmpint(c3->status, ==, SV_JOB_CLAIM_OK);
  g_assert_true(sv_job_claim_abandon(c3, &error));
  g_autoptr(SvJobRecord) r = sv_job_store_read(store, "backup", &error);
  g_assert_no_error(error);
  g_assert_cmpint(r->slot_usec, ==, T0);
  g_assert_false(r->running);
  /* The lock is free again. */
  g_autoptr(SvJobClaim) c4 = sv_job_store_claim(store, "backup", T0 + SEC, f->template_record);
  g_assert_cmpint(c4->status, ==, SV_JOB_CLAIM_OK);
}

static void
test_clean_temporaries(Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SvJobStore) store = sv_job_store_open(f->dir, "web", TRUE, &error);
  g_autofree char *old = app_path(f, ".backup.state.0000000000000001");
  g_autofree char *young = app_path(f, ".backup.state.0000000000000002");
  g_assert_true(g_file_set_contents(old, "x", -1, NULL));
  g_assert_true(g_file_set_contents(young, "x", -1, NULL));
  struct timespec times[2] = {{.tv_sec = 1000}, {.tv_sec = 1000}};
  g_assert_cmpint(utimensat(AT_FDCWD, old, times, 0), ==, 0);
  sv_job_store_clean_temporaries(store, 600 * SEC);
  g_assert_false(g_file_test(old, G_FILE_TEST_EXISTS));
  g_assert_true(g_file_test(young, G_FILE_TEST_EXISTS));
}

/* A size-limited tmpfs, as the issue asks: a full state directory skips the job with a
 * clear error and leaves the previous state intact and no temporary file behind. */
static void
test_store_full(Fixture *f, gconstpointer data)
{
  g_autofree char *mnt = sv_test_mount_small_tmpfs(f->dir);
  if (mnt == NULL)
    return;
  g_autoptr(GError) error = NULL;
  SvJobStore *store = sv_job_store_open(mnt, "web", TRUE, &error);
  g_assert_no_error(error);
  SvJobClaim *c = sv_job_store_claim(store, "backup", T0, f->template_record);
  g_assert_cmpint(c->status, ==, SV_JOB_CLAIM_OK);
  g_assert_true(sv_job_claim_finish(c, SV_JOB_RESULT_SUCCESS, 0, 1, 1, &error));
  sv_job_claim_free(c);

  /* Fill it. */
  g_autofree char *filler = sv_test_fill_up(mnt);

  c = sv_job_store_claim(store, "backup", T0 + SEC, f->template_record);
  g_assert_cmpint(c->status, ==, SV_JOB_CLAIM_ERROR);
  g_assert_error(c->error, SV_JOBSTATE_ERROR, SV_JOBSTATE_ERROR_NO_SPACE);
  g_assert_nonnull(strstr(c->error->message, "No space left on device"));
  g_assert_cmpint(c->lock_fd, ==, -1);
  sv_job_claim_free(c);

  g_autoptr(SvJobRecord) r = sv_job_store_read(store, "backup", &error);
  g_assert_no_error(error);
  g_assert_cmpint(r->slot_usec, ==, T0);
  g_assert_false(r->running);
  g_autofree char *app = g_build_filename(mnt, "web", NULL);
  g_assert_cmpuint(sv_test_count_hidden(app), ==, 0);

  /* Room again: it works again. */
  g_unlink(filler);
  c = sv_job_store_claim(store, "backup", T0 + SEC, f->template_record);
  g_assert_cmpint(c->status, ==, SV_JOB_CLAIM_OK);
  sv_job_claim_free(c);
  sv_job_store_unref(store);
  g_assert_cmpint(umount(mnt), ==, 0);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/jobstate/record/round-trip", test_record_round_trip);
  g_test_add_func("/jobstate/record/truncated-detected", test_record_truncated);
  g_test_add_func("/jobstate/record/garbage-detected", test_record_garbage);
  g_test_add_func("/jobstate/record/semantic-checks", test_record_semantic_checks);
  g_test_add_func("/jobstate/record/values-sanitized", test_record_sanitized);
  g_test_add_func("/jobstate/format-time", test_format_time);
  g_test_add_func("/jobstate/escape-name", test_escape);
  g_test_add_func("/jobstate/remote-fs-refused", test_remote_fs);
  g_test_add_func("/jobstate/default-dir", test_default_dir);
#define ADD(path, func) g_test_add(path, Fixture, NULL, setup, func, teardown)
  ADD("/jobstate/store/private-permissions", test_store_permissions);
  ADD("/jobstate/failures/published-and-found", test_failures_published);
  ADD("/jobstate/store/app-directory-or-root", test_app_dir_resolution);
  ADD("/jobstate/store/foreign-owner-refused", test_store_foreign_owner);
  ADD("/jobstate/store/writable-by-others-refused", test_store_writable_by_others);
  ADD("/jobstate/store/relative-and-missing", test_store_relative_and_missing);
  ADD("/jobstate/store/symlinks-never-followed", test_store_symlinks);
  ADD("/jobstate/store/full-file-system", test_store_full);
  ADD("/jobstate/store/clean-temporaries", test_clean_temporaries);
  ADD("/jobstate/claim/two-instances", test_claim_two_instances);
  ADD("/jobstate/claim/interrupted", test_claim_interrupted);
  ADD("/jobstate/claim/catch-up", test_claim_catch_up);
  ADD("/jobstate/claim/corrupt-recovered", test_claim_corrupt_recovered);
  ADD("/jobstate/claim/abandon", test_claim_abandon);
  return g_test_run();
}
