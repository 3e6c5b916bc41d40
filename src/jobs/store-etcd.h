/* store-etcd.h — the etcd claim store (store.h), for store.c only. */
#pragma once
#include "store.h"

/* Opens libsoup (dlopen) and the TLS files; NULL with ERROR if either fails. */
SvClaimStore *sv_etcd_store_new(const SvFleetConfig *config, const char *app, const char *node,
                                GError **error);

/* sv_claim_store_last_runs() for an etcd:// store. */
GPtrArray *sv_etcd_store_last_runs(const SvFleetConfig *config, const char *app,
                                   gint64 timeout_usec, GError **error);
