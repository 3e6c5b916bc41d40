/* etcd.c — etcd:// URIs, keys, and the JSON of etcd's v3 gateway for the etcd claim store. */
#include "etcd.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <string.h>

/* ---- URIs ------------------------------------------------------------------------------------ */

void
sv_etcd_uri_free(SvEtcdUri *uri)
{
  if (uri == NULL)
    return;
  g_strfreev(uri->endpoints);
  g_free(uri->prefix);
  g_free(uri);
}

static gboolean
endpoint_valid(const char *s)
{
  const char *colon;
  if (s[0] == '[') {
    const char *close = strchr(s, ']');
    if (close == NULL || close == s + 1 || close[1] != ':')
      return FALSE;
    colon = close + 1;
  } else {
    colon = strrchr(s, ':');
    if (colon == NULL || colon == s || memchr(s, ':', (gsize)(colon - s)) != NULL)
      return FALSE;
  }
  const char *port = colon + 1;
  gsize n = strlen(port);
  if (n == 0 || n > 5 || strspn(port, "0123456789") != n)
    return FALSE;
  guint v = (guint)atoi(port);
  return v >= 1 && v <= 65535;
}

SvEtcdUri *
sv_etcd_uri_parse(const char *uri, GError **error)
{
  const char *rest;
  gboolean tls;
  if (g_str_has_prefix(uri, "etcd://")) {
    rest = uri + strlen("etcd://");
    tls = FALSE;
  } else if (g_str_has_prefix(uri, "etcds://")) {
    rest = uri + strlen("etcds://");
    tls = TRUE;
  } else {
    g_set_error(error, SV_FLEET_ERROR, SV_FLEET_ERROR_URI, _("'%s' is not an etcd:// URI"), uri);
    return NULL;
  }
  for (const char *p = uri; *p != '\0'; p++)
    if ((guchar)*p <= ' ' || *p == 0x7f || *p == '?' || *p == '#' || *p == '@' || *p == '!') {
      g_set_error(error, SV_FLEET_ERROR, SV_FLEET_ERROR_URI,
                  _("'%s': an etcd URI holds no spaces, control characters, '?', '#', '@' or '!'"),
                  uri);
      return NULL;
    }
  gsize auth_len = strcspn(rest, "/");
  if (auth_len == 0) {
    g_set_error(error, SV_FLEET_ERROR, SV_FLEET_ERROR_URI,
                _("'%s': no endpoint (try etcd://127.0.0.1:2379/sdvisor)"), uri);
    return NULL;
  }
  g_autofree char *auth = g_strndup(rest, auth_len);
  g_auto(GStrv) endpoints = g_strsplit(auth, ",", -1);
  for (char **e = endpoints; *e != NULL; e++)
    if (!endpoint_valid(*e)) {
      g_set_error(error, SV_FLEET_ERROR, SV_FLEET_ERROR_URI,
                  _("'%s': '%s' is not host:port (the port is required, 1-65535)"), uri, *e);
      return NULL;
    }
  const char *path = rest + auth_len;
  g_autofree char *prefix = g_strdup(*path != '\0' ? path : "/sdvisor");
  while (strlen(prefix) > 1 && g_str_has_suffix(prefix, "/"))
    prefix[strlen(prefix) - 1] = '\0';
  if (g_str_equal(prefix, "/") || strstr(prefix, "//") != NULL) {
    g_set_error(error, SV_FLEET_ERROR, SV_FLEET_ERROR_URI,
                _("'%s': the key prefix must be a path such as /sdvisor"), uri);
    return NULL;
  }
  SvEtcdUri *u = g_new0(SvEtcdUri, 1);
  u->tls = tls;
  u->endpoints = g_steal_pointer(&endpoints);
  u->prefix = g_steal_pointer(&prefix);
  return u;
}

char *
sv_etcd_uri_base(const SvEtcdUri *uri, guint i)
{
  return g_strconcat(uri->tls ? "https://" : "http://", uri->endpoints[i], NULL);
}

/* ---- keys ------------------------------------------------------------------------------------ */

char *
sv_etcd_live_key(const char *prefix, const char *app, const char *job, gint64 slot)
{
  g_autofree char *s = sv_fleet_slot_key(slot);
  return g_strdup_printf("%s/%s/%s/%s", prefix, app, job, s);
}

char *
sv_etcd_record_key(const char *prefix, const char *app, const char *job, gint64 slot)
{
  g_autofree char *s = sv_fleet_slot_key(slot);
  return g_strdup_printf("%s/%s/%s!/%s", prefix, app, job, s);
}

char *
sv_etcd_prefix_end(const char *key)
{
  char *end = g_strdup(key);
  gsize n = strlen(end);
  g_return_val_if_fail(n > 0 && (guchar)end[n - 1] < 0x7f, end);
  end[n - 1]++;
  return end;
}

/* ---- requests -------------------------------------------------------------------------------- */

static void
add_b64(JsonBuilder *b, const char *name, const char *text)
{
  g_autofree char *v = g_base64_encode((const guchar *)text, strlen(text));
  json_builder_set_member_name(b, name);
  json_builder_add_string_value(b, v);
}

static void
add_int(JsonBuilder *b, const char *name, gint64 v)
{
  /* int64 as a string, as the gateway writes it (JSON numbers lose precision past 2^53). */
  g_autofree char *t = g_strdup_printf("%" G_GINT64_FORMAT, v);
  json_builder_set_member_name(b, name);
  json_builder_add_string_value(b, t);
}

static char *
builder_text(JsonBuilder *b)
{
  g_autoptr(JsonNode) root = json_builder_get_root(b);
  return json_to_string(root, FALSE);
}

char *
sv_etcd_json_grant(gint64 ttl_sec)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  add_int(b, "TTL", ttl_sec);
  json_builder_end_object(b);
  return builder_text(b);
}

char *
sv_etcd_json_lease(gint64 lease_id)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  add_int(b, "ID", lease_id);
  json_builder_end_object(b);
  return builder_text(b);
}

/* A record's or live key's value: {"node", "pid", "attempts"[, "claimed"][, "fence",
 * "result", "exit_code"]}; the fence is written at the finish only (before, it is the
 * key's mod_revision, which the claim's txn gives it). "claimed" (the claimant's clock)
 * tells a node whose claim of a later slot finds this one still running whether it ran
 * already when that slot was due (an overlap) or started only after it (a claim the store
 * kept waiting): it decides nothing about who runs a slot. */
static char *
value_json(const char *node, int pid, int attempts, gint64 claimed_usec, gint64 fence,
           const char *result, int exit_code)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "node");
  json_builder_add_string_value(b, node);
  json_builder_set_member_name(b, "pid");
  json_builder_add_int_value(b, pid);
  json_builder_set_member_name(b, "attempts");
  json_builder_add_int_value(b, attempts);
  if (claimed_usec > 0) {
    json_builder_set_member_name(b, "claimed");
    json_builder_add_int_value(b, claimed_usec);
  }
  if (result != NULL) {
    json_builder_set_member_name(b, "fence");
    json_builder_add_int_value(b, fence);
    json_builder_set_member_name(b, "result");
    json_builder_add_string_value(b, result);
    json_builder_set_member_name(b, "exit_code");
    json_builder_add_int_value(b, exit_code);
  }
  json_builder_end_object(b);
  return builder_text(b);
}

static void
add_compare(JsonBuilder *b, const char *key, const char *range_end, const char *target,
            const char *field, gint64 value)
{
  json_builder_begin_object(b);
  add_b64(b, "key", key);
  if (range_end != NULL)
    add_b64(b, "range_end", range_end);
  json_builder_set_member_name(b, "target");
  json_builder_add_string_value(b, target);
  json_builder_set_member_name(b, "result");
  json_builder_add_string_value(b, "EQUAL");
  add_int(b, field, value);
  json_builder_end_object(b);
}

static void
add_put(JsonBuilder *b, const char *key, const char *value, gint64 lease_id)
{
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "request_put");
  json_builder_begin_object(b);
  add_b64(b, "key", key);
  add_b64(b, "value", value);
  if (lease_id != 0)
    add_int(b, "lease", lease_id);
  json_builder_end_object(b);
  json_builder_end_object(b);
}

static void
add_range(JsonBuilder *b, const char *op, const char *key, const char *range_end, gint64 limit,
          gboolean descending)
{
  json_builder_begin_object(b);
  json_builder_set_member_name(b, op);
  json_builder_begin_object(b);
  add_b64(b, "key", key);
  if (range_end != NULL)
    add_b64(b, "range_end", range_end);
  if (limit > 0)
    add_int(b, "limit", limit);
  if (descending) {
    json_builder_set_member_name(b, "sort_order");
    json_builder_add_string_value(b, "DESCEND");
    json_builder_set_member_name(b, "sort_target");
    json_builder_add_string_value(b, "KEY");
  }
  json_builder_end_object(b);
  json_builder_end_object(b);
}

/* The failure branch of the claim and the finish: the record, the live key and the
 * latest earlier live key, in this order (sv_etcd_parse_txn). */
static void
add_slot_reads(JsonBuilder *b, const char *record, const char *live, const char *job_dir)
{
  json_builder_set_member_name(b, "failure");
  json_builder_begin_array(b);
  add_range(b, "request_range", record, NULL, 0, FALSE);
  add_range(b, "request_range", live, NULL, 0, FALSE);
  add_range(b, "request_range", job_dir, live, 1, TRUE);
  json_builder_end_array(b);
}

char *
sv_etcd_json_claim(const SvEtcdClaimSpec *spec)
{
  g_autofree char *record = sv_etcd_record_key(spec->prefix, spec->app, spec->job, spec->slot);
  g_autofree char *live = sv_etcd_live_key(spec->prefix, spec->app, spec->job, spec->slot);
  g_autofree char *job_dir = g_strdup_printf("%s/%s/%s/", spec->prefix, spec->app, spec->job);
  gboolean retry = spec->retry_mod_revision > 0;
  g_autofree char *value =
      value_json(spec->node, spec->pid, retry ? 2 : 1, spec->claimed_usec, 0, NULL, -1);
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "compare");
  json_builder_begin_array(b);
  if (retry)
    add_compare(b, record, NULL, "MOD", "mod_revision", spec->retry_mod_revision);
  else
    add_compare(b, record, NULL, "CREATE", "create_revision", 0);
  add_compare(b, live, NULL, "CREATE", "create_revision", 0);
  if (spec->skip_if_running)
    /* Over a range, every key in it must compare: no earlier slot's live key at all. */
    add_compare(b, job_dir, live, "CREATE", "create_revision", 0);
  json_builder_end_array(b);
  json_builder_set_member_name(b, "success");
  json_builder_begin_array(b);
  add_put(b, live, value, spec->lease_id);
  add_put(b, record, value, 0);
  json_builder_end_array(b);
  add_slot_reads(b, record, live, job_dir);
  json_builder_end_object(b);
  return builder_text(b);
}

char *
sv_etcd_json_finish(const char *prefix, const char *app, const char *job, gint64 slot, gint64 fence,
                    const char *node, int pid, int attempts, const char *result, int exit_code)
{
  g_autofree char *record = sv_etcd_record_key(prefix, app, job, slot);
  g_autofree char *live = sv_etcd_live_key(prefix, app, job, slot);
  g_autofree char *job_dir = g_strdup_printf("%s/%s/%s/", prefix, app, job);
  g_autofree char *records_dir = g_strdup_printf("%s/%s/%s!/", prefix, app, job);
  g_autofree char *week_ago =
      sv_etcd_record_key(prefix, app, job, slot - 7 * G_GINT64_CONSTANT(86400000000));
  g_autofree char *value = value_json(node, pid, attempts, 0, fence, result, exit_code);
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "compare");
  json_builder_begin_array(b);
  add_compare(b, record, NULL, "MOD", "mod_revision", fence);
  json_builder_end_array(b);
  json_builder_set_member_name(b, "success");
  json_builder_begin_array(b);
  add_put(b, record, value, 0);
  add_range(b, "request_delete_range", live, NULL, 0, FALSE);
  add_range(b, "request_delete_range", records_dir, week_ago, 0, FALSE);
  json_builder_end_array(b);
  add_slot_reads(b, record, live, job_dir);
  json_builder_end_object(b);
  return builder_text(b);
}

char *
sv_etcd_json_read_job(const char *prefix, const char *app, const char *job)
{
  g_autofree char *job_dir = g_strdup_printf("%s/%s/%s/", prefix, app, job);
  g_autofree char *records_dir = g_strdup_printf("%s/%s/%s!/", prefix, app, job);
  g_autofree char *job_end = sv_etcd_prefix_end(job_dir);
  g_autofree char *records_end = sv_etcd_prefix_end(records_dir);
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "success");
  json_builder_begin_array(b);
  add_range(b, "request_range", records_dir, records_end, 64, TRUE);
  add_range(b, "request_range", job_dir, job_end, 0, FALSE);
  json_builder_end_array(b);
  json_builder_end_object(b);
  return builder_text(b);
}

char *
sv_etcd_json_read_app(const char *prefix, const char *app)
{
  g_autofree char *dir = g_strdup_printf("%s/%s/", prefix, app);
  g_autofree char *end = sv_etcd_prefix_end(dir);
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  add_b64(b, "key", dir);
  add_b64(b, "range_end", end);
  json_builder_end_object(b);
  return builder_text(b);
}

/* ---- answers --------------------------------------------------------------------------------- */

static JsonObject *
parse_object(JsonParser *parser, const char *body, gsize len, GError **error)
{
  g_autoptr(GError) local = NULL;
  if (!json_parser_load_from_data(parser, body, (gssize)len, &local)) {
    g_set_error(error, SV_FLEET_ERROR, SV_FLEET_ERROR_UNAVAILABLE,
                _("etcd answered something that is not JSON: %s"), local->message);
    return NULL;
  }
  JsonNode *root = json_parser_get_root(parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
    g_set_error(error, SV_FLEET_ERROR, SV_FLEET_ERROR_UNAVAILABLE,
                _("etcd answered JSON that is not an object"));
    return NULL;
  }
  JsonObject *o = json_node_get_object(root);
  /* {"error": "...", "code": 14, "message": "..."}: the gateway's form of a gRPC error. */
  if (json_object_has_member(o, "error") || json_object_has_member(o, "code")) {
    const char *m = json_object_get_string_member_with_default(o, "message", NULL);
    if (m == NULL)
      m = json_object_get_string_member_with_default(o, "error", "?");
    g_set_error(error, SV_FLEET_ERROR, SV_FLEET_ERROR_UNAVAILABLE, _("etcd: %s"), m);
    return NULL;
  }
  return o;
}

/* An int64 member, written as a string by the gateway (or as a number); 0 when absent
 * (proto3 leaves zero values out). */
static gint64
get_int(JsonObject *o, const char *name)
{
  JsonNode *n = o ? json_object_get_member(o, name) : NULL;
  if (n == NULL || !JSON_NODE_HOLDS_VALUE(n))
    return 0;
  if (json_node_get_value_type(n) == G_TYPE_STRING) {
    gint64 v = 0;
    return sv_fleet_parse_int64(json_node_get_string(n), &v) ? v : 0;
  }
  return json_node_get_int(n);
}

static JsonObject *
get_object(JsonObject *o, const char *name)
{
  JsonNode *n = o ? json_object_get_member(o, name) : NULL;
  return n != NULL && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

static JsonArray *
get_array(JsonObject *o, const char *name)
{
  JsonNode *n = o ? json_object_get_member(o, name) : NULL;
  return n != NULL && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
}

static char *
get_b64(JsonObject *o, const char *name)
{
  const char *t = json_object_get_string_member_with_default(o, name, "");
  gsize n = 0;
  guchar *raw = g_base64_decode(t, &n);
  char *s = g_strndup((const char *)raw, n);
  g_free(raw);
  return s;
}

gboolean
sv_etcd_parse_grant(const char *body, gsize len, gint64 *out_id, GError **error)
{
  g_autoptr(JsonParser) p = json_parser_new();
  JsonObject *o = parse_object(p, body, len, error);
  if (o == NULL)
    return FALSE;
  *out_id = get_int(o, "ID");
  if (*out_id == 0 || get_int(o, "TTL") <= 0) {
    g_set_error(error, SV_FLEET_ERROR, SV_FLEET_ERROR_UNAVAILABLE, _("etcd granted no lease: %s"),
                json_object_get_string_member_with_default(o, "error", "no ID or TTL"));
    return FALSE;
  }
  return TRUE;
}

gboolean
sv_etcd_parse_keepalive(const char *body, gsize len, gint64 *out_ttl, GError **error)
{
  /* The gateway streams: {"result": {...}} per answer, one answer here. */
  g_autoptr(JsonParser) p = json_parser_new();
  JsonObject *o = parse_object(p, body, len, error);
  if (o == NULL)
    return FALSE;
  JsonObject *r = get_object(o, "result");
  if (r == NULL) {
    JsonObject *e = get_object(o, "error");
    g_set_error(error, SV_FLEET_ERROR, SV_FLEET_ERROR_UNAVAILABLE, _("etcd: %s"),
                e ? json_object_get_string_member_with_default(e, "message", "?")
                  : _("a keepalive without a result"));
    return FALSE;
  }
  *out_ttl = get_int(r, "TTL");
  return TRUE;
}

/* A key-value of a range answer: its value's fields, with the fence from the value (a
 * finished record) or else from mod_revision (the claim's txn wrote it). */
static void
record_from_kv(JsonObject *kv, SvEtcdRecord *out)
{
  out->exists = TRUE;
  out->mod_revision = get_int(kv, "mod_revision");
  out->fence = out->mod_revision;
  out->exit_code = -1;
  out->attempts = 1;
  g_autofree char *value = get_b64(kv, "value");
  g_autoptr(JsonParser) p = json_parser_new();
  if (!json_parser_load_from_data(p, value, -1, NULL))
    return;
  JsonNode *root = json_parser_get_root(p);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root))
    return;
  JsonObject *v = json_node_get_object(root);
  out->node = g_strdup(json_object_get_string_member_with_default(v, "node", "?"));
  out->pid = (int)get_int(v, "pid");
  out->attempts = (int)MAX(get_int(v, "attempts"), 1);
  out->claimed_usec = get_int(v, "claimed");
  if (json_object_has_member(v, "result")) {
    out->result = g_strdup(json_object_get_string_member_with_default(v, "result", "?"));
    out->fence = get_int(v, "fence");
    out->exit_code = (int)get_int(v, "exit_code");
  }
}

static void
record_clear(SvEtcdRecord *r)
{
  g_free(r->node);
  g_free(r->result);
  memset(r, 0, sizeof(*r));
}

void
sv_etcd_txn_clear(SvEtcdTxn *txn)
{
  record_clear(&txn->record);
  record_clear(&txn->busy);
}

static JsonArray *
response_kvs(JsonArray *responses, guint i)
{
  if (responses == NULL || i >= json_array_get_length(responses))
    return NULL;
  JsonObject *r = json_array_get_object_element(responses, i);
  return get_array(get_object(r, "response_range"), "kvs");
}

/* The slot of a key PREFIX/APP/JOB/SLOT or PREFIX/APP/JOB!/SLOT; -1 if it is neither. */
static gint64
key_slot(const char *key, const char *dir, char **out_job, gboolean *out_record)
{
  if (!g_str_has_prefix(key, dir))
    return -1;
  const char *rest = key + strlen(dir);
  const char *slash = strchr(rest, '/');
  if (slash == NULL || slash == rest)
    return -1;
  gboolean record = slash[-1] == '!';
  g_autoptr(GDateTime) t = g_date_time_new_from_iso8601(slash + 1, NULL);
  if (t == NULL)
    return -1;
  if (out_job != NULL)
    *out_job = g_strndup(rest, (gsize)(slash - rest) - (record ? 1 : 0));
  if (out_record != NULL)
    *out_record = record;
  return g_date_time_to_unix(t) * G_USEC_PER_SEC + g_date_time_get_microsecond(t);
}

gboolean
sv_etcd_parse_txn(const char *body, gsize len, const char *prefix, const char *app, const char *job,
                  SvEtcdTxn *out, GError **error)
{
  memset(out, 0, sizeof(*out));
  g_autoptr(JsonParser) p = json_parser_new();
  JsonObject *o = parse_object(p, body, len, error);
  if (o == NULL)
    return FALSE;
  out->revision = get_int(get_object(o, "header"), "revision");
  out->succeeded = json_object_get_boolean_member_with_default(o, "succeeded", FALSE);
  out->busy_slot = -1;
  if (out->succeeded)
    return TRUE;
  JsonArray *responses = get_array(o, "responses");
  JsonArray *kvs = response_kvs(responses, 0);
  if (kvs != NULL && json_array_get_length(kvs) > 0)
    record_from_kv(json_array_get_object_element(kvs, 0), &out->record);
  kvs = response_kvs(responses, 1);
  out->live = kvs != NULL && json_array_get_length(kvs) > 0;
  if (out->live) {
    JsonObject *kv = json_array_get_object_element(kvs, 0);
    out->live_lease = get_int(kv, "lease");
    out->live_create_revision = get_int(kv, "create_revision");
  }
  kvs = response_kvs(responses, 2);
  if (kvs != NULL && json_array_get_length(kvs) > 0) {
    JsonObject *kv = json_array_get_object_element(kvs, 0);
    g_autofree char *key = get_b64(kv, "key");
    g_autofree char *dir = g_strdup_printf("%s/%s/", prefix, app);
    record_from_kv(kv, &out->busy);
    out->busy_slot = key_slot(key, dir, NULL, NULL);
  }
  (void)job;
  return TRUE;
}

gint64
sv_etcd_find_interrupted(const char *body, gsize len, const char *prefix, const char *app,
                         const char *job, GError **error)
{
  g_autoptr(JsonParser) p = json_parser_new();
  JsonObject *o = parse_object(p, body, len, error);
  if (o == NULL)
    return -1;
  JsonArray *responses = get_array(o, "responses");
  JsonArray *records = response_kvs(responses, 0);
  JsonArray *lives = response_kvs(responses, 1);
  g_autofree char *dir = g_strdup_printf("%s/%s/", prefix, app);
  g_autoptr(GHashTable) live = g_hash_table_new(g_int64_hash, g_int64_equal);
  g_autoptr(GArray) slots = g_array_new(FALSE, FALSE, sizeof(gint64));
  for (guint i = 0; lives != NULL && i < json_array_get_length(lives); i++) {
    g_autofree char *key = get_b64(json_array_get_object_element(lives, i), "key");
    gint64 slot = key_slot(key, dir, NULL, NULL);
    g_array_append_val(slots, slot);
  }
  for (guint i = 0; i < slots->len; i++)
    g_hash_table_add(live, &g_array_index(slots, gint64, i));
  /* Newest first (DESCEND by key, and the slot keys sort as time does). */
  for (guint i = 0; records != NULL && i < json_array_get_length(records); i++) {
    JsonObject *kv = json_array_get_object_element(records, i);
    g_autofree char *key = get_b64(kv, "key");
    gint64 slot = key_slot(key, dir, NULL, NULL);
    SvEtcdRecord r = {0};
    record_from_kv(kv, &r);
    gboolean interrupted =
        slot >= 0 && r.result == NULL && r.attempts < 2 && !g_hash_table_contains(live, &slot);
    record_clear(&r);
    if (interrupted)
      return slot;
  }
  (void)job;
  return -1;
}

GPtrArray *
sv_etcd_last_runs(const char *body, gsize len, const char *prefix, const char *app, GError **error)
{
  g_autoptr(JsonParser) p = json_parser_new();
  JsonObject *o = parse_object(p, body, len, error);
  if (o == NULL)
    return NULL;
  g_autofree char *dir = g_strdup_printf("%s/%s/", prefix, app);
  JsonArray *kvs = get_array(o, "kvs");
  /* job -> SvFleetRun of its latest record; "job\nslot" of every live key. */
  g_autoptr(GHashTable) latest =
      g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)sv_fleet_run_free);
  g_autoptr(GHashTable) live = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; kvs != NULL && i < json_array_get_length(kvs); i++) {
    JsonObject *kv = json_array_get_object_element(kvs, i);
    g_autofree char *key = get_b64(kv, "key");
    g_autofree char *job = NULL;
    gboolean is_record = FALSE;
    gint64 slot = key_slot(key, dir, &job, &is_record);
    if (slot < 0)
      continue;
    if (!is_record) {
      g_hash_table_add(live, g_strdup_printf("%s\n%" G_GINT64_FORMAT, job, slot));
      continue;
    }
    SvFleetRun *old = g_hash_table_lookup(latest, job);
    if (old != NULL && old->slot >= slot)
      continue;
    SvEtcdRecord r = {0};
    record_from_kv(kv, &r);
    SvFleetRun *run = g_new0(SvFleetRun, 1);
    run->job = g_steal_pointer(&job);
    run->slot = slot;
    run->node = g_strdup(r.node ? r.node : "?");
    run->fence = r.fence;
    run->pid = r.pid;
    run->result = g_strdup(r.result);
    run->exit_code = r.exit_code;
    record_clear(&r);
    g_hash_table_replace(latest, run->job, run);
  }
  GPtrArray *runs = g_ptr_array_new_with_free_func((GDestroyNotify)sv_fleet_run_free);
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init(&it, latest);
  while (g_hash_table_iter_next(&it, NULL, &value)) {
    SvFleetRun *run = value;
    g_autofree char *k = g_strdup_printf("%s\n%" G_GINT64_FORMAT, run->job, run->slot);
    run->state = g_strdup(run->result != NULL              ? "finished"
                          : g_hash_table_contains(live, k) ? "running"
                                                           : "interrupted");
    g_hash_table_iter_steal(&it);
    g_ptr_array_add(runs, run);
  }
  return runs;
}
