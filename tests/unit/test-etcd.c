/* test-etcd.c — the pure half of the etcd fleet store: etcd:// URIs, the key layout, the
 * JSON requests and the parsing of etcd 3.4 gateway answers (as etcd writes them: int64
 * as strings, zero values left out). */
#include <glib.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "etcd.h"

#define SEC G_GINT64_CONSTANT(1000000)
#define T0  (G_GINT64_CONSTANT(1763805600) * SEC) /* 2025-11-22T10:00:00Z */

static void
test_uri(void)
{
  g_autoptr(SvEtcdUri) u = sv_etcd_uri_parse("etcd://10.0.0.1:2379,[::1]:2380/jobs/prod/", NULL);
  g_assert_nonnull(u);
  g_assert_false(u->tls);
  g_assert_cmpuint(g_strv_length(u->endpoints), ==, 2);
  g_assert_cmpstr(u->endpoints[1], ==, "[::1]:2380");
  g_assert_cmpstr(u->prefix, ==, "/jobs/prod");
  g_autofree char *base = sv_etcd_uri_base(u, 1);
  g_assert_cmpstr(base, ==, "http://[::1]:2380");
  g_autoptr(SvEtcdUri) t = sv_etcd_uri_parse("etcds://e1:2379", NULL);
  g_assert_true(t->tls);
  g_assert_cmpstr(t->prefix, ==, "/sdvisor");
  SvFleetStoreKind kind = SV_FLEET_STORE_POSTGRESQL;
  g_assert_true(sv_fleet_store_validate("etcd://e1:2379/x", &kind, NULL));
  g_assert_cmpint(kind, ==, SV_FLEET_STORE_ETCD);
  /* The etcd:// URIs it refuses are in test-fleet.c's table, with PostgreSQL's. */
}

static void
test_keys(void)
{
  g_autofree char *live = sv_etcd_live_key("/p", "app", "tick", T0);
  g_autofree char *record = sv_etcd_record_key("/p", "app", "tick", T0);
  g_assert_cmpstr(live, ==, "/p/app/tick/2025-11-22T10:00:00.000000Z");
  g_assert_cmpstr(record, ==, "/p/app/tick!/2025-11-22T10:00:00.000000Z");
  /* Records are outside the range of live keys (of this job and of "tick.x"). */
  g_autofree char *end = sv_etcd_prefix_end("/p/app/tick/");
  g_assert_cmpstr(end, ==, "/p/app/tick0");
  g_assert_true(strcmp(record, "/p/app/tick/") < 0);
  g_autofree char *other = sv_etcd_live_key("/p", "app", "tick.x", T0);
  g_assert_true(strcmp(other, "/p/app/tick/") < 0);
  /* Slot keys sort as time does. */
  g_autofree char *later = sv_etcd_live_key("/p", "app", "tick", T0 + 9 * SEC);
  g_autofree char *much_later = sv_etcd_live_key("/p", "app", "tick", T0 + 10 * SEC);
  g_assert_true(strcmp(live, later) < 0 && strcmp(later, much_later) < 0);
}

static JsonObject *
parse(JsonParser *p, const char *json)
{
  g_assert_true(json_parser_load_from_data(p, json, -1, NULL));
  return json_node_get_object(json_parser_get_root(p));
}

static char *
b64(const char *s)
{
  return g_base64_encode((const guchar *)s, strlen(s));
}

static void
test_claim_request(void)
{
  SvEtcdClaimSpec spec = {.prefix = "/p",
                          .app = "a",
                          .job = "j",
                          .node = "n\"1",
                          .slot = T0,
                          .pid = 7,
                          .lease_id = 42,
                          .skip_if_running = TRUE,
                          .claimed_usec = T0 + 1500000};
  g_autofree char *json = sv_etcd_json_claim(&spec);
  g_autoptr(JsonParser) p = json_parser_new();
  JsonObject *o = parse(p, json);
  JsonArray *compare = json_object_get_array_member(o, "compare");
  g_assert_cmpuint(json_array_get_length(compare), ==, 3);
  g_autofree char *record = b64("/p/a/j!/2025-11-22T10:00:00.000000Z");
  g_autofree char *live = b64("/p/a/j/2025-11-22T10:00:00.000000Z");
  JsonObject *c0 = json_array_get_object_element(compare, 0);
  g_assert_cmpstr(json_object_get_string_member(c0, "key"), ==, record);
  g_assert_cmpstr(json_object_get_string_member(c0, "target"), ==, "CREATE");
  g_assert_cmpstr(json_object_get_string_member(c0, "create_revision"), ==, "0");
  JsonObject *c2 = json_array_get_object_element(compare, 2);
  g_assert_cmpstr(json_object_get_string_member(c2, "range_end"), ==, live);
  JsonArray *success = json_object_get_array_member(o, "success");
  JsonObject *put =
      json_object_get_object_member(json_array_get_object_element(success, 0), "request_put");
  g_assert_cmpstr(json_object_get_string_member(put, "key"), ==, live);
  g_assert_cmpstr(json_object_get_string_member(put, "lease"), ==, "42");
  put = json_object_get_object_member(json_array_get_object_element(success, 1), "request_put");
  g_assert_cmpstr(json_object_get_string_member(put, "key"), ==, record);
  g_assert_false(json_object_has_member(put, "lease")); /* the record outlives the lease */
  gsize n = 0;
  g_autofree guchar *value = g_base64_decode(json_object_get_string_member(put, "value"), &n);
  g_assert_cmpstr((char *)value, ==,
                  "{\"node\":\"n\\\"1\",\"pid\":7,\"attempts\":1,\"claimed\":1763805601500000}");

  /* A retry compares the record's mod_revision instead, and is attempt 2. */
  spec.retry_mod_revision = 99;
  spec.skip_if_running = FALSE;
  g_autofree char *retry = sv_etcd_json_claim(&spec);
  g_autoptr(JsonParser) q = json_parser_new();
  o = parse(q, retry);
  compare = json_object_get_array_member(o, "compare");
  g_assert_cmpuint(json_array_get_length(compare), ==, 2);
  c0 = json_array_get_object_element(compare, 0);
  g_assert_cmpstr(json_object_get_string_member(c0, "target"), ==, "MOD");
  g_assert_cmpstr(json_object_get_string_member(c0, "mod_revision"), ==, "99");
  g_assert_nonnull(strstr(retry, "\"request_put\""));
}

static void
test_finish_request(void)
{
  g_autofree char *json = sv_etcd_json_finish("/p", "a", "j", T0, 17, "n", 7, 2, "failed", 3);
  g_autoptr(JsonParser) p = json_parser_new();
  JsonObject *o = parse(p, json);
  JsonObject *c0 = json_array_get_object_element(json_object_get_array_member(o, "compare"), 0);
  g_assert_cmpstr(json_object_get_string_member(c0, "target"), ==, "MOD");
  g_assert_cmpstr(json_object_get_string_member(c0, "mod_revision"), ==, "17");
  JsonArray *success = json_object_get_array_member(o, "success");
  g_assert_cmpuint(json_array_get_length(success), ==, 3);
  JsonObject *old = json_object_get_object_member(json_array_get_object_element(success, 2),
                                                  "request_delete_range");
  g_autofree char *dir = b64("/p/a/j!/");
  g_autofree char *week = b64("/p/a/j!/2025-11-15T10:00:00.000000Z");
  g_assert_cmpstr(json_object_get_string_member(old, "key"), ==, dir);
  g_assert_cmpstr(json_object_get_string_member(old, "range_end"), ==, week);
}

/* A kv as etcd answers it. */
static char *
kv(const char *key, const char *value, int mod)
{
  g_autofree char *k = b64(key);
  g_autofree char *v = b64(value);
  return g_strdup_printf("{\"key\":\"%s\",\"create_revision\":\"%d\",\"mod_revision\":\"%d\","
                         "\"version\":\"1\",\"value\":\"%s\"}",
                         k, mod, mod, v);
}

static void
test_parse_answers(void)
{
  gint64 v = 0;
  const char *grant =
      "{\"header\":{\"revision\":\"5\"},\"ID\":\"7587899405671362309\",\"TTL\":\"6\"}";
  g_assert_true(sv_etcd_parse_grant(grant, strlen(grant), &v, NULL));
  g_assert_cmpint(v, ==, G_GINT64_CONSTANT(7587899405671362309));
  const char *alive = "{\"result\":{\"header\":{},\"ID\":\"1\",\"TTL\":\"6\"}}\n";
  g_assert_true(sv_etcd_parse_keepalive(alive, strlen(alive), &v, NULL));
  g_assert_cmpint(v, ==, 6);
  const char *gone = "{\"result\":{\"header\":{\"revision\":\"1\"},\"ID\":\"123\"}}";
  g_assert_true(sv_etcd_parse_keepalive(gone, strlen(gone), &v, NULL));
  g_assert_cmpint(v, ==, 0); /* TTL left out: the lease is gone */
  g_autoptr(GError) error = NULL;
  const char *err = "{\"error\":\"etcdserver: request timed out\",\"code\":14,"
                    "\"message\":\"etcdserver: request timed out\"}";
  g_assert_false(sv_etcd_parse_keepalive(err, strlen(err), &v, &error));
  g_assert_error(error, SV_FLEET_ERROR, SV_FLEET_ERROR_UNAVAILABLE);
  g_assert_nonnull(strstr(error->message, "timed out"));

  SvEtcdTxn txn;
  const char *won = "{\"header\":{\"revision\":\"31\"},\"succeeded\":true,\"responses\":[]}";
  g_assert_true(sv_etcd_parse_txn(won, strlen(won), "/p", "a", "j", &txn, NULL));
  g_assert_true(txn.succeeded);
  g_assert_cmpint(txn.revision, ==, 31);
  sv_etcd_txn_clear(&txn);

  /* Lost: a finished record, no live key, and an earlier live slot. */
  g_autofree char *rec = kv("/p/a/j!/2025-11-22T10:00:00.000000Z",
                            "{\"node\":\"b\",\"pid\":9,\"attempts\":2,\"fence\":30,"
                            "\"result\":\"success\",\"exit_code\":0}",
                            33);
  g_autofree char *busy =
      kv("/p/a/j/2025-11-22T09:59:59.000000Z", "{\"node\":\"c\",\"pid\":3,\"attempts\":1}", 28);
  g_autofree char *lost =
      g_strdup_printf("{\"header\":{\"revision\":\"33\"},\"responses\":["
                      "{\"response_range\":{\"header\":{},\"kvs\":[%s],\"count\":\"1\"}},"
                      "{\"response_range\":{\"header\":{}}},"
                      "{\"response_range\":{\"header\":{},\"kvs\":[%s],\"count\":\"1\"}}]}",
                      rec, busy);
  g_assert_true(sv_etcd_parse_txn(lost, strlen(lost), "/p", "a", "j", &txn, NULL));
  g_assert_false(txn.succeeded); /* left out = false */
  g_assert_true(txn.record.exists);
  g_assert_cmpstr(txn.record.node, ==, "b");
  g_assert_cmpint(txn.record.fence, ==, 30); /* the finish wrote it; mod_revision is 33 */
  g_assert_cmpint(txn.record.mod_revision, ==, 33);
  g_assert_cmpstr(txn.record.result, ==, "success");
  g_assert_cmpint(txn.record.attempts, ==, 2);
  g_assert_false(txn.live);
  g_assert_true(txn.busy.exists);
  g_assert_cmpint(txn.busy.fence, ==, 28);
  g_assert_cmpint(txn.busy.claimed_usec, ==, 0); /* not said: an older sdvisor's claim */
  g_assert_cmpint(txn.busy_slot, ==, T0 - SEC);
  sv_etcd_txn_clear(&txn);

  /* Lost to a live claim: its lease and creating revision are read, so a claim sent
   * again after an answer that never came finds its own first attempt. */
  g_autofree char *rec2 =
      kv("/p/a/j!/2025-11-22T10:00:00.000000Z", "{\"node\":\"a\",\"pid\":5,\"attempts\":1}", 40);
  g_autofree char *live_key = b64("/p/a/j/2025-11-22T10:00:00.000000Z");
  g_autofree char *held =
      g_strdup_printf("{\"header\":{\"revision\":\"41\"},\"responses\":["
                      "{\"response_range\":{\"header\":{},\"kvs\":[%s],\"count\":\"1\"}},"
                      "{\"response_range\":{\"header\":{},\"kvs\":[{\"key\":\"%s\","
                      "\"create_revision\":\"40\",\"mod_revision\":\"40\",\"version\":\"1\","
                      "\"value\":\"e30=\",\"lease\":\"7587899405671362309\"}],\"count\":\"1\"}},"
                      "{\"response_range\":{\"header\":{}}}]}",
                      rec2, live_key);
  g_assert_true(sv_etcd_parse_txn(held, strlen(held), "/p", "a", "j", &txn, NULL));
  g_assert_false(txn.succeeded);
  g_assert_true(txn.live);
  g_assert_cmpint(txn.live_lease, ==, G_GINT64_CONSTANT(7587899405671362309));
  g_assert_cmpint(txn.live_create_revision, ==, 40);
  g_assert_cmpint(txn.record.fence, ==, 40);
  g_assert_false(txn.busy.exists);
  sv_etcd_txn_clear(&txn);

  g_assert_false(sv_etcd_parse_txn("<html>", 6, "/p", "a", "j", &txn, NULL));
}

static void
test_interrupted_and_last_runs(void)
{
  /* Newest first: 10:00:02 running (live key), 10:00:01 interrupted, 10:00:00 finished. */
  g_autofree char *r2 =
      kv("/p/a/j!/2025-11-22T10:00:02.000000Z", "{\"node\":\"x\",\"pid\":1,\"attempts\":1}", 40);
  g_autofree char *r1 =
      kv("/p/a/j!/2025-11-22T10:00:01.000000Z", "{\"node\":\"y\",\"pid\":2,\"attempts\":1}", 35);
  g_autofree char *r0 =
      kv("/p/a/j!/2025-11-22T10:00:00.000000Z",
         "{\"node\":\"z\",\"pid\":3,\"attempts\":1,\"fence\":20,\"result\":\"failed\","
         "\"exit_code\":4}",
         25);
  g_autofree char *l2 =
      kv("/p/a/j/2025-11-22T10:00:02.000000Z", "{\"node\":\"x\",\"pid\":1,\"attempts\":1}", 40);
  g_autofree char *read = g_strdup_printf(
      "{\"header\":{},\"succeeded\":true,\"responses\":["
      "{\"response_range\":{\"kvs\":[%s,%s,%s]}},{\"response_range\":{\"kvs\":[%s]}}]}",
      r2, r1, r0, l2);
  g_assert_cmpint(sv_etcd_find_interrupted(read, strlen(read), "/p", "a", "j", NULL), ==, T0 + SEC);
  /* Once retried (attempt 2), it is not taken over again. */
  g_autofree char *r1b =
      kv("/p/a/j!/2025-11-22T10:00:01.000000Z", "{\"node\":\"y\",\"pid\":2,\"attempts\":2}", 36);
  g_autofree char *read2 = g_strdup_printf("{\"responses\":[{\"response_range\":{\"kvs\":[%s,%s]}},"
                                           "{\"response_range\":{\"kvs\":[%s]}}]}",
                                           r2, r1b, l2);
  g_assert_cmpint(sv_etcd_find_interrupted(read2, strlen(read2), "/p", "a", "j", NULL), ==, -1);

  g_autofree char *other =
      kv("/p/a/k!/2025-11-22T09:00:00.000000Z", "{\"node\":\"w\",\"pid\":5,\"attempts\":1}", 10);
  g_autofree char *range = g_strdup_printf(
      "{\"header\":{},\"kvs\":[%s,%s,%s,%s,%s],\"count\":\"5\"}", r0, r1, r2, l2, other);
  g_autoptr(GPtrArray) runs = sv_etcd_last_runs(range, strlen(range), "/p", "a", NULL);
  g_assert_cmpuint(runs->len, ==, 2);
  for (guint i = 0; i < runs->len; i++) {
    SvFleetRun *run = runs->pdata[i];
    if (g_str_equal(run->job, "j")) {
      g_assert_cmpint(run->slot, ==, T0 + 2 * SEC);
      g_assert_cmpstr(run->state, ==, "running");
      g_assert_cmpint(run->fence, ==, 40);
      g_assert_cmpstr(run->node, ==, "x");
    } else {
      g_assert_cmpstr(run->job, ==, "k");
      g_assert_cmpstr(run->state, ==, "interrupted");
    }
  }
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/etcd/uri", test_uri);
  g_test_add_func("/etcd/keys/layout-and-order", test_keys);
  g_test_add_func("/etcd/json/claim", test_claim_request);
  g_test_add_func("/etcd/json/finish-on-own-fence", test_finish_request);
  g_test_add_func("/etcd/parse/answers", test_parse_answers);
  g_test_add_func("/etcd/parse/interrupted-and-last-runs", test_interrupted_and_last_runs);
  return g_test_run();
}
