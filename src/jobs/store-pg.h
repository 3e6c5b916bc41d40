/* store-pg.h — the PostgreSQL claim store (store.h), for store.c only. */
#pragma once
#include "store.h"

/* Opens libpq (dlopen) and starts connecting; NULL with ERROR if libpq cannot be loaded. */
SvClaimStore *sv_pg_store_new(const SvFleetConfig *config, const char *app, const char *node,
                              GError **error);

/* sv_claim_store_last_runs() for a postgresql:// store. */
GPtrArray *sv_pg_store_last_runs(const SvFleetConfig *config, const char *app, gint64 timeout_usec,
                                 GError **error);
