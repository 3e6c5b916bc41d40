/* fleet.c — store URIs, node names, slot keys and SQL texts for once-per-fleet jobs. */
#include "fleet.h"

#include <glib/gi18n.h>
#include <string.h>

#include "config.h"
#include "etcd.h"

G_DEFINE_QUARK(sv - fleet - error - quark, sv_fleet_error)

/* ---- URIs ---------------------------------------------------------------------------------- */

static gboolean
has_scheme(const char *uri, const char **out_rest)
{
  static const char *const schemes[] = {"postgresql://", "postgres://"};
  for (gsize i = 0; i < G_N_ELEMENTS(schemes); i++)
    if (g_str_has_prefix(uri, schemes[i])) {
      *out_rest = uri + strlen(schemes[i]);
      return TRUE;
    }
  return FALSE;
}

static gboolean
valid_escapes(const char *s, gsize len)
{
  for (gsize i = 0; i < len; i++)
    if (s[i] == '%' && (i + 2 >= len || !g_ascii_isxdigit(s[i + 1]) || !g_ascii_isxdigit(s[i + 2])))
      return FALSE;
  return TRUE;
}

static gboolean
valid_port(const char *s, gsize len)
{
  if (len == 0 || len > 5)
    return FALSE;
  guint v = 0;
  for (gsize i = 0; i < len; i++) {
    if (!g_ascii_isdigit(s[i]))
      return FALSE;
    v = v * 10 + (guint)(s[i] - '0');
  }
  return v >= 1 && v <= 65535;
}

/* One "host[:port]" of the comma-separated host list; an empty host means the default
 * (the unix socket directory). */
static gboolean
valid_host(const char *s, gsize len)
{
  const char *end = s + len;
  const char *colon = NULL;
  if (len > 0 && s[0] == '[') {
    const char *close = memchr(s, ']', len);
    if (close == NULL || close == s + 1)
      return FALSE;
    if (close + 1 == end)
      return TRUE;
    if (close[1] != ':')
      return FALSE;
    colon = close + 1;
  } else {
    colon = memchr(s, ':', len);
  }
  if (colon == NULL)
    return TRUE;
  return valid_port(colon + 1, (gsize)(end - colon - 1));
}

gboolean
sv_fleet_store_validate(const char *uri, SvFleetStoreKind *out_kind, GError **error)
{
  const char *rest = NULL;
  if (uri == NULL || *uri == '\0') {
    g_set_error(error, SV_FLEET_ERROR, SV_FLEET_ERROR_URI, _("no store URI given"));
    return FALSE;
  }
  if (g_str_has_prefix(uri, "etcd://") || g_str_has_prefix(uri, "etcds://")) {
    g_autoptr(SvEtcdUri) parsed = sv_etcd_uri_parse(uri, error);
    if (parsed != NULL && out_kind != NULL)
      *out_kind = SV_FLEET_STORE_ETCD;
    return parsed != NULL;
  }
  g_autofree char *shown = sv_fleet_store_redact(uri);
  if (!has_scheme(uri, &rest)) {
    g_set_error(error, SV_FLEET_ERROR, SV_FLEET_ERROR_URI,
                _("'%s' is not a store URI (try postgresql://user@host/dbname or "
                  "etcd://host:2379/prefix)"),
                shown);
    return FALSE;
  }
  for (const char *p = uri; *p != '\0'; p++)
    if ((guchar)*p <= ' ' || *p == 0x7f) {
      g_set_error(error, SV_FLEET_ERROR, SV_FLEET_ERROR_URI,
                  _("'%s': spaces and control characters must be percent-encoded"), shown);
      return FALSE;
    }
  if (!valid_escapes(uri, strlen(uri))) {
    g_set_error(error, SV_FLEET_ERROR, SV_FLEET_ERROR_URI,
                _("'%s': '%%' must start a percent escape such as %%2F"), shown);
    return FALSE;
  }
  gsize auth_len = strcspn(rest, "/?");
  const char *at = g_strrstr_len(rest, (gssize)auth_len, "@");
  const char *hosts = at ? at + 1 : rest;
  gsize hosts_len = auth_len - (gsize)(hosts - rest);
  for (gsize start = 0; start <= hosts_len;) {
    gsize n = 0;
    while (start + n < hosts_len && hosts[start + n] != ',')
      n++;
    if (!valid_host(hosts + start, n)) {
      g_set_error(error, SV_FLEET_ERROR, SV_FLEET_ERROR_URI,
                  _("'%s': '%.*s' is not host[:port] (a port is 1-65535)"), shown, (int)n,
                  hosts + start);
      return FALSE;
    }
    start += n + 1;
  }
  const char *query = strchr(rest + auth_len, '?');
  if (query != NULL) {
    g_auto(GStrv) params = g_strsplit(query + 1, "&", -1);
    for (char **p = params; *p != NULL; p++) {
      const char *eq = strchr(*p, '=');
      if (eq == NULL || eq == *p) {
        g_set_error(error, SV_FLEET_ERROR, SV_FLEET_ERROR_URI,
                    _("'%s': the parameters after '?' must be name=value joined by '&'"), shown);
        return FALSE;
      }
    }
  }
  if (out_kind != NULL)
    *out_kind = SV_FLEET_STORE_POSTGRESQL;
  return TRUE;
}

char *
sv_fleet_store_redact(const char *uri)
{
  if (uri == NULL)
    return g_strdup("");
  GString *out = g_string_new(NULL);
  const char *rest = uri;
  const char *scheme_end = strstr(uri, "://");
  if (scheme_end != NULL) {
    rest = scheme_end + 3;
    g_string_append_len(out, uri, rest - uri);
    gsize auth_len = strcspn(rest, "/?");
    const char *at = g_strrstr_len(rest, (gssize)auth_len, "@");
    if (at != NULL) {
      const char *colon = memchr(rest, ':', (gsize)(at - rest));
      if (colon != NULL) {
        g_string_append_len(out, rest, colon - rest);
        g_string_append(out, ":***");
        rest = at;
      }
    }
  }
  /* A password= parameter, wherever it stands. */
  const char *query = strchr(rest, '?');
  if (query == NULL) {
    g_string_append(out, rest);
    return g_string_free(out, FALSE);
  }
  g_string_append_len(out, rest, query + 1 - rest);
  g_auto(GStrv) params = g_strsplit(query + 1, "&", -1);
  for (char **p = params; *p != NULL; p++) {
    if (p != params)
      g_string_append_c(out, '&');
    if (g_str_has_prefix(*p, "password="))
      g_string_append(out, "password=***");
    else
      g_string_append(out, *p);
  }
  return g_string_free(out, FALSE);
}

char *
sv_fleet_default_node(const char *machine_id, const char *app)
{
  return g_strdup_printf("%s/%s", machine_id && *machine_id ? machine_id : "unknown-machine", app);
}

char *
sv_fleet_slot_key(gint64 slot_usec)
{
  g_autoptr(GDateTime) t = g_date_time_new_from_unix_utc(slot_usec / G_USEC_PER_SEC);
  gint64 frac = slot_usec % G_USEC_PER_SEC;
  if (frac < 0) {
    frac += G_USEC_PER_SEC;
    g_date_time_unref(t);
    t = g_date_time_new_from_unix_utc(slot_usec / G_USEC_PER_SEC - 1);
  }
  if (t == NULL)
    return g_strdup("1970-01-01T00:00:00.000000Z");
  g_autofree char *base = g_date_time_format(t, "%Y-%m-%dT%H:%M:%S");
  return g_strdup_printf("%s.%06dZ", base, (int)frac);
}

char *
sv_fleet_interval(gint64 usec)
{
  return g_strdup_printf("%" G_GINT64_FORMAT " microseconds", usec);
}

gboolean
sv_fleet_parse_int64(const char *text, gint64 *out)
{
  if (text == NULL || *text == '\0')
    return FALSE;
  char *end = NULL;
  gint64 v = g_ascii_strtoll(text, &end, 10);
  if (end == NULL || *end != '\0')
    return FALSE;
  *out = v;
  return TRUE;
}

/* ---- SQL ----------------------------------------------------------------------------------- */

/* Every time column is timestamptz and every lease is computed by the server's now():
 * no node's clock takes part in who holds a slot. */
const char sv_fleet_sql_schema[] =
    "-- sdvisor fleet schema, version 1 (sdvisor fleet schema)\n"
    "CREATE SEQUENCE IF NOT EXISTS sdvisor_fence;\n"
    "CREATE TABLE IF NOT EXISTS sdvisor_slots (\n"
    "  app         text        NOT NULL,\n"
    "  job         text        NOT NULL,\n"
    "  slot        timestamptz NOT NULL,  -- the scheduled instant, UTC\n"
    "  fence       bigint      NOT NULL,  -- from sdvisor_fence: grows with every claim\n"
    "  node        text        NOT NULL,  -- [fleet] node= of the claimant\n"
    "  pid         integer     NOT NULL,  -- its sdvisor's pid\n"
    "  claimed_at  timestamptz NOT NULL,\n"
    "  lease_until timestamptz NOT NULL,  -- the server's now() + lease at the last renewal\n"
    "  attempts    integer     NOT NULL DEFAULT 1,  -- 2 = retried once after an interruption\n"
    "  finished_at timestamptz,\n"
    "  result      text,                  -- success, failed, timeout, exec-failed, stopped\n"
    "  exit_code   integer,\n"
    "  PRIMARY KEY (app, job, slot)\n"
    ");\n"
    "CREATE TABLE IF NOT EXISTS sdvisor_schema_version (version integer PRIMARY KEY);\n"
    "INSERT INTO sdvisor_schema_version (version)\n"
    "  SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM sdvisor_schema_version);\n"
    "-- A role that may only use these tables needs:\n"
    "--   GRANT SELECT, INSERT, UPDATE, DELETE ON sdvisor_slots TO ROLE;\n"
    "--   GRANT SELECT ON sdvisor_schema_version TO ROLE;\n"
    "--   GRANT USAGE ON SEQUENCE sdvisor_fence TO ROLE;\n";

/* The advisory lock key: "sdvisor" in ASCII, so it says whose it is in pg_locks. */
#define SV_FLEET_LOCK_KEY "126943011776370"

char *
sv_fleet_sql_create(void)
{
  return g_strconcat("BEGIN;\nSELECT pg_advisory_xact_lock(" SV_FLEET_LOCK_KEY ");\n",
                     sv_fleet_sql_schema, "COMMIT;\n", NULL);
}

const char sv_fleet_sql_version[] = "SELECT max(version) FROM sdvisor_schema_version";

const char sv_fleet_sql_privileges[] =
    "SELECT has_table_privilege('sdvisor_slots', 'SELECT, INSERT, UPDATE, DELETE'),"
    " has_table_privilege('sdvisor_schema_version', 'SELECT'),"
    " has_sequence_privilege('sdvisor_fence', 'USAGE')";

const char sv_fleet_sql_claim[] =
    "WITH busy AS (\n"
    "  SELECT node, fence, slot FROM sdvisor_slots\n"
    "   WHERE $8::boolean AND app = $1 AND job = $2 AND slot < $3::timestamptz\n"
    "     AND finished_at IS NULL AND lease_until > now()\n"
    "   ORDER BY slot DESC LIMIT 1),\n"
    "claimed AS (\n"
    "  INSERT INTO sdvisor_slots AS s (app, job, slot, fence, node, pid, claimed_at, lease_until)\n"
    "  SELECT $1, $2, $3::timestamptz, nextval('sdvisor_fence'), $4, $5::integer, now(),\n"
    "         now() + $6::interval\n"
    "   WHERE NOT EXISTS (SELECT 1 FROM busy)\n"
    "  ON CONFLICT (app, job, slot) DO UPDATE\n"
    "     SET fence = EXCLUDED.fence, node = EXCLUDED.node, pid = EXCLUDED.pid,\n"
    "         claimed_at = EXCLUDED.claimed_at, lease_until = EXCLUDED.lease_until,\n"
    "         attempts = s.attempts + 1\n"
    "   WHERE $7::boolean AND s.finished_at IS NULL AND s.lease_until <= now()\n"
    "     AND s.attempts < 2\n"
    "  RETURNING fence, attempts)\n"
    "SELECT 'granted', fence, $4::text, NULL::text, 0::bigint, attempts, 0::bigint FROM claimed\n"
    "UNION ALL\n"
    "SELECT 'busy', fence, node, NULL, 0, 0,\n"
    "       (extract(epoch FROM slot) * 1000000)::bigint FROM busy\n"
    "UNION ALL\n"
    "SELECT 'taken', t.fence, t.node, t.result,\n"
    "       greatest((extract(epoch FROM t.lease_until - now()) * 1000000)::bigint, -1),\n"
    "       t.attempts, 0\n"
    "  FROM sdvisor_slots t\n"
    " WHERE t.app = $1 AND t.job = $2 AND t.slot = $3::timestamptz\n"
    "   AND NOT EXISTS (SELECT 1 FROM claimed) AND NOT EXISTS (SELECT 1 FROM busy)";

const char sv_fleet_sql_renew[] =
    "UPDATE sdvisor_slots SET lease_until = now() + $5::interval\n"
    " WHERE app = $1 AND job = $2 AND slot = $3::timestamptz AND fence = $4::bigint\n"
    "   AND finished_at IS NULL AND lease_until > now()\n"
    "RETURNING fence";

const char sv_fleet_sql_finish[] =
    "WITH old AS (\n"
    "  DELETE FROM sdvisor_slots\n"
    "   WHERE app = $1 AND job = $2 AND slot < $3::timestamptz - interval '7 days'\n"
    "     AND finished_at IS NOT NULL)\n"
    "UPDATE sdvisor_slots SET finished_at = now(), result = $5, exit_code = $6::integer,\n"
    "       lease_until = least(lease_until, now())\n"
    " WHERE app = $1 AND job = $2 AND slot = $3::timestamptz AND fence = $4::bigint\n"
    "   AND finished_at IS NULL\n"
    "RETURNING fence";

const char sv_fleet_sql_last_runs[] =
    "SELECT DISTINCT ON (job) job, (extract(epoch FROM slot) * 1000000)::bigint, node, fence,\n"
    "       pid, result, exit_code,\n"
    "       CASE WHEN finished_at IS NOT NULL THEN 'finished'\n"
    "            WHEN lease_until > now() THEN 'running' ELSE 'interrupted' END\n"
    "  FROM sdvisor_slots WHERE app = $1 ORDER BY job, slot DESC";

const char sv_fleet_sql_interrupted[] =
    "SELECT (extract(epoch FROM slot) * 1000000)::bigint FROM sdvisor_slots\n"
    " WHERE app = $1 AND job = $2 AND finished_at IS NULL AND lease_until <= now()\n"
    "   AND attempts < 2\n"
    " ORDER BY slot DESC LIMIT 1";

/* ---- `sdvisor jobs` ------------------------------------------------------------------------ */

void
sv_fleet_run_free(SvFleetRun *run)
{
  if (run == NULL)
    return;
  g_free(run->job);
  g_free(run->node);
  g_free(run->result);
  g_free(run->state);
  g_free(run);
}
