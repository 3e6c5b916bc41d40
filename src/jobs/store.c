/* store.c — picks the claim store that [fleet] store= names. */
#include "store.h"

#include "fleet.h"
#include "store-etcd.h"
#include "store-pg.h"

static char *
default_node(const char *app)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents("/etc/machine-id", &text, NULL, NULL))
    text = g_strdup("");
  g_strstrip(text);
  return sv_fleet_default_node(text, app);
}

SvClaimStore *
sv_claim_store_new(const SvFleetConfig *config, const char *app, GError **error)
{
  SvFleetStoreKind kind;
  if (!sv_fleet_store_validate(config->store, &kind, error))
    return NULL;
  g_autofree char *node = config->node ? g_strdup(config->node) : default_node(app);
  switch (kind) {
  case SV_FLEET_STORE_POSTGRESQL:
    return sv_pg_store_new(config, app, node, error);
  case SV_FLEET_STORE_ETCD:
    return sv_etcd_store_new(config, app, node, error);
  }
  return NULL;
}

void
sv_claim_store_free(SvClaimStore *store)
{
  if (store == NULL)
    return;
  store->klass->free(store);
  g_free(store->node);
  g_free(store->description);
  g_free(store);
}

GPtrArray *
sv_claim_store_last_runs(const SvFleetConfig *config, const char *app, gint64 timeout_usec,
                         GError **error)
{
  SvFleetStoreKind kind;
  if (!sv_fleet_store_validate(config->store, &kind, error))
    return NULL;
  switch (kind) {
  case SV_FLEET_STORE_POSTGRESQL:
    return sv_pg_store_last_runs(config, app, timeout_usec, error);
  case SV_FLEET_STORE_ETCD:
    return sv_etcd_store_last_runs(config, app, timeout_usec, error);
  }
  return NULL;
}
