/* test-fleet.c — the pure half of once-per-fleet jobs: store URIs, their redaction, node
 * names, slot keys, the SQL texts' properties and the `sdvisor jobs` fleet table. */
#include <glib.h>
#include <string.h>

#include "config.h"
#include "fleet.h"
#include "store.h"

#define SEC G_GINT64_CONSTANT(1000000)
#define T0  (G_GINT64_CONSTANT(1763805600) * SEC) /* 2025-11-22T10:00:00Z */

static void
test_validate_good(void)
{
  static const char *const good[] = {
      "postgresql://db.example/app",
      "postgres://db.example/app",
      "postgresql://user@db.example:5432/app",
      "postgresql://user:secret@db.example/app",
      "postgresql://[::1]:5432/app",
      "postgresql://[2001:db8::1]/app",
      "postgresql://h1:5432,h2:5433/app?target_session_attrs=read-write",
      "postgresql:///app?host=/run/postgresql",
      "postgresql://%2Frun%2Fpostgresql/app",
      "postgresql://",
  };
  for (gsize i = 0; i < G_N_ELEMENTS(good); i++) {
    g_autoptr(GError) error = NULL;
    SvFleetStoreKind kind = (SvFleetStoreKind)-1;
    g_test_message("%s", good[i]);
    g_assert_true(sv_fleet_store_validate(good[i], &kind, &error));
    g_assert_no_error(error);
    g_assert_cmpint(kind, ==, SV_FLEET_STORE_POSTGRESQL);
  }
}

static void
test_validate_bad(void)
{
  static const struct {
    const char *uri;
    const char *message;
  } bad[] = {
      {"", "no store URI"},
      {"mysql://db/app", "is not a store URI"},
      {"db.example/app", "is not a store URI"},
      {"postgresql://db:0/app", "is not host[:port]"},
      {"postgresql://db:65536/app", "is not host[:port]"},
      {"postgresql://db:54x2/app", "is not host[:port]"},
      {"postgresql://db:/app", "is not host[:port]"},
      {"postgresql://h1,h2:99999/app", "'h2:99999' is not host[:port]"},
      {"postgresql://[::1/app", "is not host[:port]"},
      {"postgresql://[::1]x/app", "is not host[:port]"},
      {"postgresql://db/my app", "spaces and control characters"},
      {"postgresql://db/app\n", "spaces and control characters"},
      {"postgresql://db/app%2", "percent escape"},
      {"postgresql://db/app%g1", "percent escape"},
      {"postgresql://db/app?sslmode", "name=value"},
      {"postgresql://db/app?=x", "name=value"},
      /* etcd's, refused by its own parser (etcd.c) */
      {"etcd:///x", "no endpoint"},
      {"etcd://e1/x", "'e1' is not host:port"},
      {"etcd://e1:0/x", "not host:port"},
      {"etcd://e1:2379,e2:99999/x", "'e2:99999'"},
      {"etcd://e1:2379/", "key prefix"},
      {"etcd://e1:2379/a//b", "key prefix"},
      {"etcd://u@e1:2379/x", "'@'"},
      {"etcd://e1:2379/x?y=1", "'?'"},
      {"etcd://e1:2379/a b", "spaces"},
      {"etcd://[::1:2379/x", "not host:port"},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
    g_autoptr(GError) error = NULL;
    g_test_message("%s", bad[i].uri);
    g_assert_false(sv_fleet_store_validate(bad[i].uri, NULL, &error));
    g_assert_error(error, SV_FLEET_ERROR, SV_FLEET_ERROR_URI);
    g_assert_nonnull(strstr(error->message, bad[i].message));
  }
}

static void
test_validate_never_shows_password(void)
{
  g_autoptr(GError) error = NULL;
  g_assert_false(sv_fleet_store_validate("postgresql://u:hunter2@db:0/app", NULL, &error));
  g_assert_null(strstr(error->message, "hunter2"));
  g_assert_nonnull(strstr(error->message, "u:***@"));
  g_clear_error(&error);
  g_assert_false(sv_fleet_store_validate("postgresql://db/app?password=hunter2&x", NULL, &error));
  g_assert_null(strstr(error->message, "hunter2"));
}

static void
test_redact(void)
{
  static const char *const cases[][2] = {
      {"postgresql://u:pw@db/app", "postgresql://u:***@db/app"},
      {"postgresql://u@db/app", "postgresql://u@db/app"},
      {"postgresql://db:5432/app", "postgresql://db:5432/app"},
      {"postgresql://u:p@ss@db/app", "postgresql://u:***@db/app"},
      {"postgresql:///app?user=u&password=pw&host=/run",
       "postgresql:///app?user=u&password=***&host=/run"},
      {"postgresql://u:a@db/app?password=b", "postgresql://u:***@db/app?password=***"},
      {"postgresql://db/a:b@c", "postgresql://db/a:b@c"},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autofree char *r = sv_fleet_store_redact(cases[i][0]);
    g_assert_cmpstr(r, ==, cases[i][1]);
  }
}

static void
test_default_node(void)
{
  g_autofree char *a = sv_fleet_default_node("0123abcd", "shop");
  g_autofree char *b = sv_fleet_default_node("0123abcd", "blog");
  g_autofree char *c = sv_fleet_default_node("ffff0000", "shop");
  g_autofree char *none = sv_fleet_default_node("", "shop");
  g_assert_cmpstr(a, ==, "0123abcd/shop");
  g_assert_cmpstr(b, !=, a);
  g_assert_cmpstr(c, !=, a);
  g_assert_cmpstr(none, ==, "unknown-machine/shop");
}

static void
test_slot_key(void)
{
  g_autofree char *a = sv_fleet_slot_key(T0);
  g_autofree char *b = sv_fleet_slot_key(T0 + 250001);
  g_autofree char *c = sv_fleet_slot_key(T0 - 1);
  g_assert_cmpstr(a, ==, "2025-11-22T10:00:00.000000Z");
  g_assert_cmpstr(b, ==, "2025-11-22T10:00:00.250001Z");
  g_assert_cmpstr(c, ==, "2025-11-22T09:59:59.999999Z");
  /* Every node computes the same text for the same slot: it does not depend on the
   * local time zone. */
  g_setenv("TZ", "Asia/Seoul", TRUE);
  g_autofree char *d = sv_fleet_slot_key(T0);
  g_unsetenv("TZ");
  g_assert_cmpstr(d, ==, a);
}

static void
test_interval_and_int(void)
{
  g_autofree char *i = sv_fleet_interval(30 * SEC);
  g_assert_cmpstr(i, ==, "30000000 microseconds");
  gint64 v = 7;
  g_assert_true(sv_fleet_parse_int64("-1", &v));
  g_assert_cmpint(v, ==, -1);
  g_assert_true(sv_fleet_parse_int64("1763805600000000", &v));
  g_assert_cmpint(v, ==, G_GINT64_CONSTANT(1763805600000000));
  g_assert_false(sv_fleet_parse_int64("12x", &v));
  g_assert_false(sv_fleet_parse_int64("", &v));
  g_assert_false(sv_fleet_parse_int64(NULL, &v));
  g_assert_cmpint(v, ==, G_GINT64_CONSTANT(1763805600000000));
}

/* What the algorithm relies on, read off the statements (docs/fleet.md). */
static void
test_sql_properties(void)
{
  /* One statement: a unique key decides, the fence comes from the sequence, the lease
   * from the server's clock. */
  g_assert_nonnull(strstr(sv_fleet_sql_schema, "PRIMARY KEY (app, job, slot)"));
  g_assert_nonnull(strstr(sv_fleet_sql_claim, "ON CONFLICT (app, job, slot) DO UPDATE"));
  g_assert_nonnull(strstr(sv_fleet_sql_claim, "nextval('sdvisor_fence')"));
  g_assert_nonnull(strstr(sv_fleet_sql_claim, "now() + $6::interval"));
  g_assert_null(strchr(sv_fleet_sql_claim, ';'));
  /* A takeover only of an unfinished claim whose lease ended, when asked, and once. */
  g_assert_nonnull(strstr(sv_fleet_sql_claim, "WHERE $7::boolean AND s.finished_at IS NULL AND "
                                              "s.lease_until <= now()"));
  g_assert_nonnull(strstr(sv_fleet_sql_claim, "s.attempts < 2"));
  /* Renewal and finish only with the holder's fence; a renewal never revives an ended
   * lease. */
  g_assert_nonnull(strstr(sv_fleet_sql_renew, "fence = $4::bigint"));
  g_assert_nonnull(strstr(sv_fleet_sql_renew, "lease_until > now()"));
  g_assert_nonnull(strstr(sv_fleet_sql_finish, "fence = $4::bigint"));
  g_assert_nonnull(strstr(sv_fleet_sql_finish, "finished_at IS NULL"));
  /* No statement takes a time from the client but the slot itself. */
  g_assert_null(strstr(sv_fleet_sql_renew, "timestamptz, $"));
  /* The schema is versioned and created under an advisory lock, in one transaction. */
  g_autofree char *create = sv_fleet_sql_create();
  g_assert_true(g_str_has_prefix(create, "BEGIN;\nSELECT pg_advisory_xact_lock("));
  g_assert_true(g_str_has_suffix(create, "COMMIT;\n"));
  g_assert_nonnull(strstr(create, "sdvisor_schema_version"));
  g_assert_nonnull(strstr(sv_fleet_sql_schema, "SELECT 1 WHERE NOT EXISTS"));
  g_assert_nonnull(strstr(sv_fleet_sql_schema, "GRANT USAGE ON SEQUENCE sdvisor_fence"));
}

static void
test_describe(void)
{
  g_autoptr(GPtrArray) configs = g_ptr_array_new();
  SvJobConfig fleet_job = {.name = "report", .once_per = SV_ONCE_PER_FLEET};
  SvJobConfig other_fleet = {.name = "never", .once_per = SV_ONCE_PER_FLEET};
  SvJobConfig host_job = {.name = "local", .once_per = SV_ONCE_PER_HOST};
  g_ptr_array_add(configs, &fleet_job);
  g_ptr_array_add(configs, &host_job);
  g_ptr_array_add(configs, &other_fleet);
  g_autoptr(GPtrArray) runs = g_ptr_array_new_with_free_func((GDestroyNotify)sv_fleet_run_free);
  SvFleetRun *r = g_new0(SvFleetRun, 1);
  r->job = g_strdup("report");
  r->slot = T0;
  r->node = g_strdup("m1/shop");
  r->fence = 42;
  r->pid = 1234;
  r->result = g_strdup("failed");
  r->exit_code = 3;
  r->state = g_strdup("finished");
  g_ptr_array_add(runs, r);
  g_autofree char *text = sv_claim_store_describe_runs(configs, runs);
  g_assert_cmpstr(text, ==,
                  "JOB     LAST SLOT             NODE                FENCE  RESULT\n"
                  "report  2025-11-22T10:00:00Z  m1/shop (pid 1234)  42     failed (3)\n"
                  "never   -                     -                   -      -\n");
  g_free(r->result);
  r->result = NULL;
  g_free(r->state);
  r->state = g_strdup("interrupted");
  g_autofree char *text2 = sv_claim_store_describe_runs(configs, runs);
  g_assert_nonnull(strstr(text2, "42     interrupted\n"));
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/fleet/uri/valid", test_validate_good);
  g_test_add_func("/fleet/uri/invalid-says-why", test_validate_bad);
  g_test_add_func("/fleet/uri/errors-never-show-the-password", test_validate_never_shows_password);
  g_test_add_func("/fleet/uri/redact", test_redact);
  g_test_add_func("/fleet/node/default-is-machine-and-app", test_default_node);
  g_test_add_func("/fleet/slot-key/utc-microseconds", test_slot_key);
  g_test_add_func("/fleet/interval-and-integers", test_interval_and_int);
  g_test_add_func("/fleet/sql/properties", test_sql_properties);
  g_test_add_func("/fleet/describe/table", test_describe);
  return g_test_run();
}
