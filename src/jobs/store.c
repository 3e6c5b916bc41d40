/* store.c — picks the claim store that [fleet] store= names. */
#include "store.h"

#include <glib/gi18n.h>

#include "fleet.h"
#include "jobstate.h"
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

char *
sv_claim_store_describe_runs(GPtrArray *job_configs, GPtrArray *runs)
{
  enum { COLS = 5 };
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
  char **h = g_new0(char *, COLS + 1);
  h[0] = g_strdup(_("JOB"));
  h[1] = g_strdup(_("LAST SLOT"));
  h[2] = g_strdup(_("NODE"));
  h[3] = g_strdup(_("FENCE"));
  h[4] = g_strdup(_("RESULT"));
  g_ptr_array_add(rows, h);
  for (guint i = 0; job_configs != NULL && i < job_configs->len; i++) {
    const SvJobConfig *job = job_configs->pdata[i];
    if (job->once_per != SV_ONCE_PER_FLEET)
      continue;
    const SvFleetRun *run = NULL;
    for (guint k = 0; runs != NULL && k < runs->len; k++)
      if (g_str_equal(((SvFleetRun *)runs->pdata[k])->job, job->name))
        run = runs->pdata[k];
    char **row = g_new0(char *, COLS + 1);
    row[0] = g_strdup(job->name);
    if (run == NULL) {
      for (int c = 1; c < COLS; c++)
        row[c] = g_strdup("-");
    } else {
      row[1] = sv_jobstate_format_time(run->slot);
      row[2] = g_strdup_printf("%s (pid %d)", run->node, run->pid);
      row[3] = g_strdup_printf("%" G_GINT64_FORMAT, run->fence);
      if (run->result != NULL && g_str_equal(run->result, "failed") && run->exit_code >= 0)
        row[4] = g_strdup_printf("failed (%d)", run->exit_code);
      else
        row[4] = g_strdup(run->result ? run->result : run->state);
    }
    g_ptr_array_add(rows, row);
  }
  glong width[COLS] = {0};
  for (guint i = 0; i < rows->len; i++)
    for (int c = 0; c < COLS; c++)
      width[c] = MAX(width[c], g_utf8_strlen(((char **)rows->pdata[i])[c], -1));
  GString *out = g_string_new(NULL);
  for (guint i = 0; i < rows->len; i++) {
    char **row = rows->pdata[i];
    for (int c = 0; c < COLS; c++) {
      g_string_append(out, row[c]);
      if (c < COLS - 1)
        for (glong pad = g_utf8_strlen(row[c], -1); pad < width[c] + 2; pad++)
          g_string_append_c(out, ' ');
    }
    g_string_append_c(out, '\n');
  }
  return g_string_free(out, FALSE);
}
