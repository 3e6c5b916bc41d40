/* store-etcd.c — the claim store on etcd, through its v3 JSON gateway (libsoup, json-glib).
 *
 * Every request is a POST to one member; a member that refuses the connection is left
 * for the next one in the list at once (the request never arrived), one that does not
 * answer within half the lease (clamped to 2-10 s: every write is a quorum's fsync)
 * makes the request UNAVAILABLE
 * and the next request goes to the next member: a member cut off from its quorum holds
 * a write until the gateway gives up, and an answer after the lease would be no use.
 * A claim is grant + txn (docs/fleet.md, "etcd"); renew is a lease keepalive; the
 * finish is a txn on the record's mod_revision. Nothing blocks the main loop except
 * sv_etcd_store_last_runs(), which is for the command line.
 *
 * libsoup is opened with dlopen() (soupload.h) when the store is made. */
#include "store-etcd.h"

#include <glib/gi18n.h>
#include <unistd.h>

#include "etcd.h"
#include "log.h"
#include "sdvisor-build-config.h"
#include "soupload.h"
#include "timespan.h"

typedef struct {
  gint64 lease_id;
  gint64 fence;
  int attempts;
} SvEtcdHeld;

typedef struct {
  SvClaimStore parent;
  const SvSoup *soup;
  SvEtcdUri *uri;
  char *app;
  int pid;
  gint64 ttl_sec;
  gint64 timeout_usec;
  SoupSession *session;
  GTlsCertificate *client_certificate;
  char *tls_ca;      /* [fleet] tls-ca=, for the errors that name it */
  guint current;     /* the member requests go to */
  gboolean down;     /* the last request found no member answering: logged once */
  GHashTable *held;  /* "job\nslot" -> SvEtcdHeld: our live claims */
  GHashTable *calls; /* SvEtcdCall* in flight */
} SvEtcdStore;

/* ---- one message ----------------------------------------------------------------------------- */

/* Over TLS, libsoup 3.2 offers HTTP/2 and etcd takes it; a member that then refuses the
 * connection (TLS 1.3 checks the client's certificate only after the client has finished
 * its handshake) leaves libsoup's HTTP/2 message with no I/O ("soup_connection_setup_message_io:
 * code should not be reached"): the request never ends, cancelled or not, and neither
 * would the claim waiting for it. Offering HTTP/1.1 only, as over plain HTTP, the refusal
 * is an error of the request ("Server required TLS certificate"). */
static void
on_network_event(SoupMessage *message, GSocketClientEvent event, GIOStream *connection,
                 gpointer data)
{
  static const char *const http1[] = {"http/1.1", NULL};
  if (event == G_SOCKET_CLIENT_TLS_HANDSHAKING && G_IS_TLS_CONNECTION(connection))
    g_tls_connection_set_advertised_protocols(G_TLS_CONNECTION(connection), http1);
}

/* Keeps what was wrong with a member's certificate, for the error (libsoup says only
 * "Unacceptable TLS certificate"); the certificate is still refused. */
static gboolean
on_accept_certificate(SoupMessage *message, GTlsCertificate *certificate,
                      GTlsCertificateFlags errors, gpointer data)
{
  g_object_set_data(G_OBJECT(message), "sv-peer-errors", GUINT_TO_POINTER(errors));
  return FALSE;
}

/* Notes that the member asked for a client certificate. Without one, the refusal that
 * follows is "certificate required" when the TLS library sees it during the handshake,
 * but a bare "bad certificate" alert when it comes after the client's last handshake
 * message (TLS 1.3): either way the member wants a certificate. FALSE: the handshake goes
 * on without one. */
static gboolean
on_request_certificate(SoupMessage *message, GTlsClientConnection *connection, gpointer data)
{
  g_object_set_data(G_OBJECT(message), "sv-certificate-requested", GINT_TO_POINTER(TRUE));
  return FALSE;
}

/* A POST of BODY (JSON) to URL, with the client certificate, if any. */
static SoupMessage *
etcd_message_new(const SvSoup *soup, const char *url, GBytes *body, GTlsCertificate *certificate)
{
  SoupMessage *message = soup->message_new("POST", url);
  soup->message_set_request_body_from_bytes(message, "application/json", body);
  if (certificate != NULL)
    soup->message_set_tls_client_certificate(message, certificate);
  g_signal_connect(message, "network-event", G_CALLBACK(on_network_event), NULL);
  g_signal_connect(message, "accept-certificate", G_CALLBACK(on_accept_certificate), NULL);
  if (certificate == NULL)
    g_signal_connect(message, "request-certificate", G_CALLBACK(on_request_certificate), NULL);
  return message;
}

/* ERROR of MESSAGE, and for a TLS refusal what to look at: the CAs the member's
 * certificate was checked against (TLS_CA; NULL: the system's), or the client certificate
 * the member asked for (HAVE_CERTIFICATE: one was sent). */
static char *
etcd_error_text(SoupMessage *message, const GError *error, const char *tls_ca,
                gboolean have_certificate)
{
  gboolean requested = g_object_get_data(G_OBJECT(message), "sv-certificate-requested") != NULL;
  if (g_error_matches(error, G_TLS_ERROR, G_TLS_ERROR_CERTIFICATE_REQUIRED) ||
      (requested && !have_certificate && error->domain == G_TLS_ERROR))
    return have_certificate
               ? g_strdup_printf(_("%s: the member refused [fleet] tls-certificate="),
                                 error->message)
               : g_strdup_printf(_("%s: the member requires a client certificate ([fleet] "
                                   "tls-certificate=, tls-key=)"),
                                 error->message);
  guint flags = GPOINTER_TO_UINT(g_object_get_data(G_OBJECT(message), "sv-peer-errors"));
  if (!g_error_matches(error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE))
    return g_strdup(error->message);
  if (flags & G_TLS_CERTIFICATE_UNKNOWN_CA)
    return tls_ca != NULL
               ? g_strdup_printf(_("%s: the member's certificate is not signed by a CA of "
                                   "[fleet] tls-ca=%s"),
                                 error->message, tls_ca)
               : g_strdup_printf(_("%s: the member's certificate is not signed by a CA the "
                                   "system trusts ([fleet] tls-ca=)"),
                                 error->message);
  if (flags & G_TLS_CERTIFICATE_BAD_IDENTITY)
    return g_strdup_printf(_("%s: the member's certificate is not for its address"),
                           error->message);
  if (flags & (G_TLS_CERTIFICATE_EXPIRED | G_TLS_CERTIFICATE_NOT_ACTIVATED))
    return g_strdup_printf(_("%s: the member's certificate has expired or is not valid yet"),
                           error->message);
  return g_strdup(error->message);
}

/* ---- one request, with fail-over ------------------------------------------------------------ */

/* An attempt that fails for the cluster's sake (no connection, a connection lost, no
 * answer in time, an HTTP 5xx such as "leader changed" or "request timed out" while a
 * leader is elected) is sent again to the next member after a short pause, until the
 * call's deadline. Every request here can be sent twice: a grant that took effect
 * unanswered leaves a lease that ends by itself, a claim finds its own first attempt by
 * its lease (on_claim_txn), a finish its own result (on_finished), a keepalive or a read
 * changes nothing. */
#define SV_ETCD_PAUSE_USEC (G_USEC_PER_SEC / 5)

typedef void (*SvEtcdReplyFunc)(SvEtcdStore *s, GBytes *body, const GError *error, gpointer data);

typedef struct {
  SvEtcdStore *store; /* NULL once the store is freed: the reply is dropped */
  char *path;
  GBytes *body;
  guint tries;
  guint member;       /* the member of the current attempt */
  gint64 deadline;    /* monotonic µs: no attempt starts after it, none outlasts it */
  GCancellable *user; /* the caller's; cancelled = the reply is dropped */
  gulong user_handler;
  GCancellable *attempt; /* cancelled by the attempt's timeout, the caller's, the store's end */
  guint timeout_source;
  guint pause_source; /* between two attempts: no request in flight */
  gboolean timed_out;
  SoupMessage *message;
  SvEtcdReplyFunc func;
  gpointer data;
  GDestroyNotify drop; /* frees DATA when FUNC is never to run */
} SvEtcdCall;

static void call_send(SvEtcdCall *c);

static void
call_free(SvEtcdCall *c)
{
  if (c->user != NULL) {
    g_cancellable_disconnect(c->user, c->user_handler);
    g_object_unref(c->user);
  }
  g_clear_handle_id(&c->timeout_source, g_source_remove);
  g_clear_handle_id(&c->pause_source, g_source_remove);
  g_clear_object(&c->attempt);
  g_clear_object(&c->message);
  g_bytes_unref(c->body);
  g_free(c->path);
  g_free(c);
}

/* The reply is dropped (the caller cancelled, or the store is gone): FUNC never runs. */
static void
call_drop(SvEtcdCall *c)
{
  if (c->drop != NULL)
    c->drop(c->data);
  call_free(c);
}

static void
on_user_cancelled(GCancellable *user, gpointer data)
{
  SvEtcdCall *c = data;
  /* An attempt in flight ends now; a pause ends at its time and finds the call cancelled. */
  if (c->attempt != NULL)
    g_cancellable_cancel(c->attempt);
}

static gboolean
on_call_timeout(gpointer data)
{
  SvEtcdCall *c = data;
  c->timeout_source = 0;
  c->timed_out = TRUE;
  g_cancellable_cancel(c->attempt);
  return G_SOURCE_REMOVE;
}

static gboolean
on_pause_over(gpointer data)
{
  SvEtcdCall *c = data;
  c->pause_source = 0;
  call_send(c);
  return G_SOURCE_REMOVE;
}

/* The request surely never reached the member: the next one may have it at once. */
static gboolean
not_delivered(const GError *error)
{
  return g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED) ||
         g_error_matches(error, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE) ||
         g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE) ||
         error->domain == G_RESOLVER_ERROR;
}

static void
on_call_done(GObject *source, GAsyncResult *result, gpointer data)
{
  SvEtcdCall *c = data;
  SvEtcdStore *s = c->store;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = NULL;
  g_clear_handle_id(&c->timeout_source, g_source_remove);
  if (s == NULL) {
    call_drop(c);
    return;
  }
  body = s->soup->session_send_and_read_finish((SoupSession *)source, result, &error);
  if (c->user != NULL && g_cancellable_is_cancelled(c->user)) {
    g_hash_table_remove(s->calls, c);
    call_drop(c);
    return;
  }
  guint n = g_strv_length(s->uri->endpoints);
  const char *member = s->uri->endpoints[c->member];
  guint status = body != NULL ? s->soup->message_get_status(c->message) : 0;
  g_autoptr(GError) reported = NULL;
  gboolean again = FALSE;
  if (body == NULL) {
    g_autofree char *text =
        c->timed_out ? g_strdup(_("no answer in time"))
                     : etcd_error_text(c->message, error, s->tls_ca, s->client_certificate != NULL);
    reported = g_error_new(SV_FLEET_ERROR, SV_FLEET_ERROR_UNAVAILABLE, "%s: %s", member, text);
    /* A TLS refusal is the configuration's, and stays: each member is asked once. */
    again = c->timed_out || error->domain != G_TLS_ERROR || c->tries < n;
  } else if (status != 200) {
    gsize len = 0;
    const char *text = g_bytes_get_data(body, &len);
    reported = g_error_new(SV_FLEET_ERROR, SV_FLEET_ERROR_UNAVAILABLE, "%s: HTTP %u: %.*s", member,
                           status, (int)MIN(len, 200), text ? text : "");
    /* 4xx: the request itself is wrong, and would be anywhere. */
    again = status >= 500;
    g_clear_pointer(&body, g_bytes_unref);
  }
  if (reported != NULL) {
    /* Later requests start at the next member: this one may be dead or cut off from its
     * quorum (unless another call moved on already). */
    if (s->current == c->member)
      s->current = (c->member + 1) % n;
    gint64 pause = body == NULL && !c->timed_out &&
                           (not_delivered(error) || error->domain == G_TLS_ERROR) &&
                           c->tries % n != 0
                       ? 0
                       : SV_ETCD_PAUSE_USEC;
    if (again && g_get_monotonic_time() + pause + SV_ETCD_PAUSE_USEC < c->deadline) {
      sv_log(LOG_DEBUG, "fleet store %s: %s; trying %s", s->parent.description, reported->message,
             s->uri->endpoints[s->current]);
      if (pause == 0)
        call_send(c);
      else
        c->pause_source = g_timeout_add((guint)(pause / 1000), on_pause_over, c);
      return;
    }
  }
  g_hash_table_remove(s->calls, c);
  if (reported != NULL && !s->down)
    sv_log(LOG_ERR, "fleet store %s: %s", s->parent.description, reported->message);
  else if (reported == NULL && s->down)
    sv_log(LOG_NOTICE, "fleet store %s: answering again", s->parent.description);
  s->down = reported != NULL;
  c->func(s, body, reported, c->data);
  call_free(c);
}

static void
call_send(SvEtcdCall *c)
{
  SvEtcdStore *s = c->store;
  if (c->user != NULL && g_cancellable_is_cancelled(c->user)) {
    g_hash_table_remove(s->calls, c);
    call_drop(c);
    return;
  }
  guint n = g_strv_length(s->uri->endpoints);
  c->member = s->current;
  c->tries++;
  c->timed_out = FALSE;
  g_autofree char *base = sv_etcd_uri_base(s->uri, c->member);
  g_autofree char *url = g_strconcat(base, c->path, NULL);
  g_clear_object(&c->message);
  c->message = etcd_message_new(s->soup, url, c->body, s->client_certificate);
  /* With several members, one that holds a request (stopped, or cut off from its quorum)
   * gets half the call's time, so another can still answer within it. */
  gint64 left = MAX(c->deadline - g_get_monotonic_time(), SV_ETCD_PAUSE_USEC);
  gint64 wait = n > 1 ? MAX(left / 2, MIN(left, G_USEC_PER_SEC)) : left;
  g_clear_object(&c->attempt);
  c->attempt = g_cancellable_new();
  c->timeout_source = g_timeout_add((guint)(wait / 1000), on_call_timeout, c);
  s->soup->session_send_and_read_async(s->session, c->message, G_PRIORITY_DEFAULT, c->attempt,
                                       on_call_done, c);
}

/* POSTs JSON (taken) to PATH, trying members until DEADLINE (monotonic µs); FUNC runs
 * from the loop with the body of a 200 answer or an UNAVAILABLE error, and frees DATA;
 * if CANCELLABLE is cancelled or the store freed first, DROP frees it instead. */
static void
etcd_call_until(SvEtcdStore *s, const char *path, char *json, GCancellable *cancellable,
                gint64 deadline, SvEtcdReplyFunc func, gpointer data, GDestroyNotify drop)
{
  SvEtcdCall *c = g_new0(SvEtcdCall, 1);
  c->store = s;
  c->path = g_strdup(path);
  c->body = g_bytes_new_take(json, strlen(json));
  c->deadline = deadline;
  c->func = func;
  c->data = data;
  c->drop = drop;
  g_hash_table_add(s->calls, c);
  if (cancellable != NULL) {
    c->user = g_object_ref(cancellable);
    c->user_handler = g_cancellable_connect(cancellable, G_CALLBACK(on_user_cancelled), c, NULL);
  }
  call_send(c);
}

/* The same, with the store's time for one request. */
static void
etcd_call(SvEtcdStore *s, const char *path, char *json, GCancellable *cancellable,
          SvEtcdReplyFunc func, gpointer data, GDestroyNotify drop)
{
  etcd_call_until(s, path, json, cancellable, g_get_monotonic_time() + s->timeout_usec, func, data,
                  drop);
}

static void
on_revoked(SvEtcdStore *s, GBytes *body, const GError *error, gpointer data)
{
}

/* Drops a lease we no longer need; if it fails, the lease ends by itself. */
static void
lease_revoke(SvEtcdStore *s, gint64 lease_id)
{
  etcd_call(s, "/v3/lease/revoke", sv_etcd_json_lease(lease_id), NULL, on_revoked, NULL, NULL);
}

static char *
held_key(const char *job, gint64 slot)
{
  return g_strdup_printf("%s\n%" G_GINT64_FORMAT, job, slot);
}

/* ---- claim: grant, txn (and a retry txn over an interrupted record) ------------------------- */

#define SV_ETCD_CLAIM_TRIES 3

typedef struct {
  char *job;
  gint64 slot;
  gboolean retry;
  gboolean skip_if_running;
  GCancellable *cancellable;
  SvClaimFunc func;
  gpointer data;
  gint64 lease_id;
  gint64 retry_mod_revision;
  int tries;
  gint64 deadline; /* monotonic µs: grant, txn and their resends, all within one request's time */
} SvEtcdClaim;

static void
claim_free(SvEtcdClaim *c)
{
  g_free(c->job);
  g_clear_object(&c->cancellable);
  g_free(c);
}

static void
claim_reply(SvEtcdStore *s, SvEtcdClaim *c, const SvClaimReply *reply)
{
  if (c->lease_id != 0 && reply->outcome != SV_CLAIM_GRANTED)
    lease_revoke(s, c->lease_id);
  c->func(reply, c->data);
  claim_free(c);
}

static void claim_txn(SvEtcdStore *s, SvEtcdClaim *c);

static void
on_claim_txn(SvEtcdStore *s, GBytes *body, const GError *error, gpointer data)
{
  SvEtcdClaim *c = data;
  SvEtcdTxn txn = {0};
  g_autoptr(GError) local = NULL;
  gsize len = 0;
  const char *text = body ? g_bytes_get_data(body, &len) : NULL;
  if (error == NULL && !sv_etcd_parse_txn(text, len, s->uri->prefix, s->app, c->job, &txn, &local))
    error = local;
  if (error != NULL) {
    SvClaimReply reply = {.outcome = SV_CLAIM_UNAVAILABLE, .error = error};
    claim_reply(s, c, &reply);
    return;
  }
  /* Our own claim, when an attempt whose answer never came took effect and the txn was
   * sent again: the live key holds our lease (lease IDs are never reused), and its
   * creating revision is the fence. */
  gboolean ours = !txn.succeeded && txn.live && c->lease_id != 0 && txn.live_lease == c->lease_id;
  if (ours)
    sv_log(LOG_DEBUG, "fleet store %s: job %s: the claim sent again found its own first attempt",
           s->parent.description, c->job);
  if (txn.succeeded || ours) {
    SvEtcdHeld *h = g_new0(SvEtcdHeld, 1);
    h->lease_id = c->lease_id;
    h->fence = ours ? txn.live_create_revision : txn.revision;
    h->attempts = c->retry_mod_revision > 0 ? 2 : 1;
    g_hash_table_replace(s->held, held_key(c->job, c->slot), h);
    SvClaimReply reply = {
        .outcome = SV_CLAIM_GRANTED, .fence = h->fence, .retried = c->retry_mod_revision > 0};
    claim_reply(s, c, &reply);
    sv_etcd_txn_clear(&txn);
    return;
  }
  SvEtcdRecord *r = &txn.record;
  if (r->exists && c->retry && r->result == NULL && !txn.live && r->attempts < 2 &&
      ++c->tries < SV_ETCD_CLAIM_TRIES) {
    /* Interrupted: its lease ended unfinished. Take it over once, if nobody changed the
     * record since we read it. */
    c->retry_mod_revision = r->mod_revision;
    sv_etcd_txn_clear(&txn);
    claim_txn(s, c);
    return;
  }
  if (r->exists) {
    SvClaimReply reply = {
        .outcome = SV_CLAIM_TAKEN,
        .fence = r->fence,
        .node = r->node,
        .result = r->result,
        /* A live key's lease lasts at most its TTL from the last keepalive. */
        .lease_left_usec = r->result != NULL ? 0
                           : txn.live        ? s->parent.lease_usec
                                             : -1,
        .retried = r->attempts >= 2,
    };
    claim_reply(s, c, &reply);
  } else if (txn.busy.exists) {
    SvClaimReply reply = {.outcome = SV_CLAIM_BUSY,
                          .fence = txn.busy.fence,
                          .node = txn.busy.node,
                          .busy_slot = txn.busy_slot,
                          .busy_since_usec = txn.busy.claimed_usec};
    claim_reply(s, c, &reply);
  } else if (++c->tries < SV_ETCD_CLAIM_TRIES) {
    /* What failed the compare was gone when the failure branch read (a lease ended in
     * between, or an earlier slot finished): ask again. */
    c->retry_mod_revision = 0;
    claim_txn(s, c);
  } else {
    g_autoptr(GError) e = g_error_new(SV_FLEET_ERROR, SV_FLEET_ERROR_UNAVAILABLE,
                                      _("the claim did not settle after %d attempts"), c->tries);
    SvClaimReply reply = {.outcome = SV_CLAIM_UNAVAILABLE, .error = e};
    claim_reply(s, c, &reply);
  }
  sv_etcd_txn_clear(&txn);
}

static void
claim_txn(SvEtcdStore *s, SvEtcdClaim *c)
{
  SvEtcdClaimSpec spec = {
      .prefix = s->uri->prefix,
      .app = s->app,
      .job = c->job,
      .node = s->parent.node,
      .slot = c->slot,
      .pid = s->pid,
      .lease_id = c->lease_id,
      .skip_if_running = c->skip_if_running,
      .retry_mod_revision = c->retry_mod_revision,
      .claimed_usec = g_get_real_time(),
  };
  etcd_call_until(s, "/v3/kv/txn", sv_etcd_json_claim(&spec), c->cancellable, c->deadline,
                  on_claim_txn, c, (GDestroyNotify)claim_free);
}

static void
on_claim_granted(SvEtcdStore *s, GBytes *body, const GError *error, gpointer data)
{
  SvEtcdClaim *c = data;
  g_autoptr(GError) local = NULL;
  gsize len = 0;
  const char *text = body ? g_bytes_get_data(body, &len) : NULL;
  if (error == NULL && !sv_etcd_parse_grant(text, len, &c->lease_id, &local))
    error = local;
  if (error != NULL) {
    c->lease_id = 0;
    SvClaimReply reply = {.outcome = SV_CLAIM_UNAVAILABLE, .error = error};
    claim_reply(s, c, &reply);
    return;
  }
  claim_txn(s, c);
}

static void
etcd_claim(SvClaimStore *store, const SvClaimRequest *request, GCancellable *cancellable,
           SvClaimFunc func, gpointer user_data)
{
  SvEtcdStore *s = (SvEtcdStore *)store;
  SvEtcdClaim *c = g_new0(SvEtcdClaim, 1);
  c->job = g_strdup(request->job);
  c->slot = request->slot;
  c->retry = request->retry;
  c->skip_if_running = request->skip_if_running;
  c->cancellable = cancellable ? g_object_ref(cancellable) : NULL;
  c->func = func;
  c->data = user_data;
  /* A claim answers within one request's time (half the lease, 2-10 s), resends and
   * all: a slot runs that late at most, or is skipped. */
  c->deadline = g_get_monotonic_time() + s->timeout_usec;
  etcd_call_until(s, "/v3/lease/grant", sv_etcd_json_grant(s->ttl_sec), cancellable, c->deadline,
                  on_claim_granted, c, (GDestroyNotify)claim_free);
}

/* ---- renew (keepalive) and finish (txn on the fence) ---------------------------------------- */

typedef struct {
  char *key;
  SvStoreDoneFunc func;
  gpointer data;
  gint64 lease_id;
  gint64 fence; /* finish: ours */
} SvEtcdDone;

static SvEtcdDone *
done_new(const char *job, gint64 slot, SvStoreDoneFunc func, gpointer data)
{
  SvEtcdDone *d = g_new0(SvEtcdDone, 1);
  d->key = held_key(job, slot);
  d->func = func;
  d->data = data;
  return d;
}

static void
done_free(SvEtcdDone *d)
{
  g_free(d->key);
  g_free(d);
}

static void
on_keepalive(SvEtcdStore *s, GBytes *body, const GError *error, gpointer data)
{
  SvEtcdDone *d = data;
  g_autoptr(GError) local = NULL;
  gint64 ttl = 0;
  gsize len = 0;
  const char *text = body ? g_bytes_get_data(body, &len) : NULL;
  if (error == NULL && !sv_etcd_parse_keepalive(text, len, &ttl, &local))
    error = local;
  if (error == NULL && ttl <= 0)
    g_hash_table_remove(s->held, d->key); /* the lease is gone, and the claim with it */
  d->func(error == NULL && ttl > 0, error, d->data);
  done_free(d);
}

static gboolean
on_not_held(gpointer data)
{
  SvEtcdDone *d = data;
  d->func(FALSE, NULL, d->data);
  done_free(d);
  return G_SOURCE_REMOVE;
}

static void
etcd_renew(SvClaimStore *store, const char *job, gint64 slot, gint64 fence,
           GCancellable *cancellable, SvStoreDoneFunc func, gpointer user_data)
{
  SvEtcdStore *s = (SvEtcdStore *)store;
  SvEtcdDone *d = done_new(job, slot, func, user_data);
  SvEtcdHeld *h = g_hash_table_lookup(s->held, d->key);
  if (h == NULL || h->fence != fence) {
    /* Not ours (any more): lost, said from the loop as every answer is. */
    g_idle_add(on_not_held, d);
    return;
  }
  etcd_call(s, "/v3/lease/keepalive", sv_etcd_json_lease(h->lease_id), cancellable, on_keepalive, d,
            (GDestroyNotify)done_free);
}

static void
on_finished(SvEtcdStore *s, GBytes *body, const GError *error, gpointer data)
{
  SvEtcdDone *d = data;
  g_autoptr(GError) local = NULL;
  SvEtcdTxn txn = {0};
  gsize len = 0;
  const char *text = body ? g_bytes_get_data(body, &len) : NULL;
  if (error == NULL && !sv_etcd_parse_txn(text, len, s->uri->prefix, s->app, "", &txn, &local))
    error = local;
  /* Recorded already by an attempt whose answer never came: the record holds our fence,
   * our node and a result. */
  gboolean ours = error == NULL && !txn.succeeded && txn.record.result != NULL &&
                  txn.record.fence == d->fence && g_strcmp0(txn.record.node, s->parent.node) == 0;
  if (error == NULL) {
    g_hash_table_remove(s->held, d->key);
    if (d->lease_id != 0)
      lease_revoke(s, d->lease_id);
  }
  d->func(error == NULL && (txn.succeeded || ours), error, d->data);
  sv_etcd_txn_clear(&txn);
  done_free(d);
}

static void
etcd_finish(SvClaimStore *store, const char *job, gint64 slot, gint64 fence, const char *result,
            int exit_code, GCancellable *cancellable, SvStoreDoneFunc func, gpointer user_data)
{
  SvEtcdStore *s = (SvEtcdStore *)store;
  SvEtcdDone *d = done_new(job, slot, func, user_data);
  SvEtcdHeld *h = g_hash_table_lookup(s->held, d->key);
  int attempts = h != NULL && h->fence == fence ? h->attempts : 1;
  d->lease_id = h != NULL && h->fence == fence ? h->lease_id : 0;
  d->fence = fence;
  etcd_call(s, "/v3/kv/txn",
            sv_etcd_json_finish(s->uri->prefix, s->app, job, slot, fence, store->node, s->pid,
                                attempts, result, exit_code),
            cancellable, on_finished, d, (GDestroyNotify)done_free);
}

/* ---- find_interrupted ----------------------------------------------------------------------- */

typedef struct {
  char *job;
  void (*func)(gint64 slot, gpointer data);
  gpointer data;
} SvEtcdFind;

static void
find_free(SvEtcdFind *f)
{
  g_free(f->job);
  g_free(f);
}

static void
on_job_read(SvEtcdStore *s, GBytes *body, const GError *error, gpointer data)
{
  SvEtcdFind *f = data;
  gint64 slot = -1;
  if (error == NULL) {
    gsize len = 0;
    const char *text = g_bytes_get_data(body, &len);
    g_autoptr(GError) local = NULL;
    slot = sv_etcd_find_interrupted(text, len, s->uri->prefix, s->app, f->job, &local);
    if (local != NULL)
      sv_log(LOG_WARNING, "job %s: cannot look for an interrupted slot in %s: %s", f->job,
             s->parent.description, local->message);
  } else {
    sv_log(LOG_WARNING, "job %s: cannot look for an interrupted slot in %s: %s", f->job,
           s->parent.description, error->message);
  }
  f->func(slot, f->data);
  find_free(f);
}

static void
etcd_find_interrupted(SvClaimStore *store, const char *job, GCancellable *cancellable,
                      void (*func)(gint64 slot, gpointer user_data), gpointer user_data)
{
  SvEtcdStore *s = (SvEtcdStore *)store;
  SvEtcdFind *f = g_new0(SvEtcdFind, 1);
  f->job = g_strdup(job);
  f->func = func;
  f->data = user_data;
  etcd_call(s, "/v3/kv/txn", sv_etcd_json_read_job(s->uri->prefix, s->app, job), cancellable,
            on_job_read, f, (GDestroyNotify)find_free);
}

/* ---- last_runs (sdvisor status) ------------------------------------------------------------- */

typedef struct {
  SvStoreRunsFunc func;
  gpointer data;
} SvEtcdRuns;

static void
on_app_read(SvEtcdStore *s, GBytes *body, const GError *error, gpointer data)
{
  SvEtcdRuns *r = data;
  g_autoptr(GError) local = NULL;
  g_autoptr(GPtrArray) runs = NULL;
  if (error == NULL) {
    gsize len = 0;
    const char *text = g_bytes_get_data(body, &len);
    runs = sv_etcd_last_runs(text, len, s->uri->prefix, s->app, &local);
    error = local;
  }
  r->func(error == NULL ? runs : NULL, error, r->data);
  g_free(r);
}

static void
etcd_last_runs(SvClaimStore *store, GCancellable *cancellable, SvStoreRunsFunc func,
               gpointer user_data)
{
  SvEtcdStore *s = (SvEtcdStore *)store;
  SvEtcdRuns *r = g_new0(SvEtcdRuns, 1);
  r->func = func;
  r->data = user_data;
  etcd_call(s, "/v3/kv/range", sv_etcd_json_read_app(s->uri->prefix, s->app), cancellable,
            on_app_read, r, g_free);
}

/* ---- the store ------------------------------------------------------------------------------ */

static void
etcd_free(SvClaimStore *store)
{
  SvEtcdStore *s = (SvEtcdStore *)store;
  /* Calls in flight finish inside libsoup later: they find no store and drop their reply
   * (and whatever it carried is the caller's, who freed the store). */
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init(&it, s->calls);
  while (g_hash_table_iter_next(&it, &key, NULL)) {
    SvEtcdCall *c = key;
    if (c->pause_source != 0) {
      call_drop(c); /* between attempts: nothing of libsoup's refers to it */
      continue;
    }
    c->store = NULL;
    g_clear_handle_id(&c->timeout_source, g_source_remove);
    g_cancellable_cancel(c->attempt);
  }
  g_hash_table_unref(s->calls);
  g_hash_table_unref(s->held);
  g_clear_object(&s->session);
  g_clear_object(&s->client_certificate);
  g_free(s->tls_ca);
  sv_etcd_uri_free(s->uri);
  g_free(s->app);
}

static const SvClaimStoreClass etcd_class = {
    .claim = etcd_claim,
    .renew = etcd_renew,
    .finish = etcd_finish,
    .find_interrupted = etcd_find_interrupted,
    .last_runs = etcd_last_runs,
    .free = etcd_free,
};

/* libsoup, the parsed URI, a session and the client certificate (etcds://) of CONFIG. */
static SoupSession *
session_new(const SvFleetConfig *config, gint64 timeout_usec, const SvSoup **out_soup,
            SvEtcdUri **out_uri, GTlsCertificate **out_certificate, GError **error)
{
  g_autoptr(GError) local = NULL;
  const SvSoup *soup = sv_soup_open(_("an etcd fleet store"), &local);
  if (soup == NULL) {
    g_set_error(error, SV_FLEET_ERROR, SV_FLEET_ERROR_LIBRARY, "%s", local->message);
    return NULL;
  }
  *out_soup = soup;
  *out_uri = sv_etcd_uri_parse(config->store, error);
  if (*out_uri == NULL)
    return NULL;
  g_autoptr(GTlsDatabase) database = NULL;
  if (config->tls_ca != NULL) {
    database = g_tls_file_database_new(config->tls_ca, error);
    if (database == NULL) {
      g_prefix_error(error, _("[fleet] tls-ca: %s: "), config->tls_ca);
      return NULL;
    }
  }
  if (config->tls_certificate != NULL) {
    *out_certificate =
        g_tls_certificate_new_from_files(config->tls_certificate, config->tls_key, error);
    if (*out_certificate == NULL) {
      g_prefix_error(error, _("[fleet] tls-certificate, tls-key: "));
      return NULL;
    }
  }
  SoupSession *session = soup->session_new_with_options(
      "user-agent", "sdvisor/" PACKAGE_VERSION, "max-conns-per-host", 4, "timeout",
      (guint)MAX(1, timeout_usec / SV_USEC_PER_SEC), NULL);
  if (database != NULL)
    g_object_set(session, "tls-database", database, NULL);
  /* The cluster, never through a proxy from the environment. */
  soup->session_set_proxy_resolver(session, NULL);
  return session;
}

SvClaimStore *
sv_etcd_store_new(const SvFleetConfig *config, const char *app, const char *node, GError **error)
{
  gint64 timeout = CLAMP(config->lease_usec / 2, 2 * SV_USEC_PER_SEC, 10 * SV_USEC_PER_SEC);
  g_autoptr(GTlsCertificate) certificate = NULL;
  const SvSoup *soup = NULL;
  g_autoptr(SvEtcdUri) uri = NULL;
  SoupSession *session = session_new(config, timeout, &soup, &uri, &certificate, error);
  if (session == NULL)
    return NULL;
  SvEtcdStore *s = g_new0(SvEtcdStore, 1);
  s->parent.klass = &etcd_class;
  s->parent.node = g_strdup(node);
  s->parent.lease_usec = config->lease_usec;
  s->parent.description = sv_fleet_store_redact(config->store);
  s->soup = soup;
  s->uri = g_steal_pointer(&uri);
  s->app = g_strdup(app);
  s->pid = (int)getpid();
  /* etcd counts whole seconds; rounding up never ends the lease before sdvisor's own
   * deadline (jobs.c fences at five sixths of the lease). */
  s->ttl_sec = (config->lease_usec + SV_USEC_PER_SEC - 1) / SV_USEC_PER_SEC;
  s->timeout_usec = timeout;
  s->session = session;
  s->client_certificate = g_steal_pointer(&certificate);
  s->tls_ca = g_strdup(config->tls_ca);
  s->held = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  s->calls = g_hash_table_new(NULL, NULL);
  return &s->parent;
}

/* ---- blocking, for the command line --------------------------------------------------------- */

GPtrArray *
sv_etcd_store_last_runs(const SvFleetConfig *config, const char *app, gint64 timeout_usec,
                        GError **error)
{
  g_autoptr(GTlsCertificate) certificate = NULL;
  const SvSoup *soup = NULL;
  g_autoptr(SvEtcdUri) uri = NULL;
  g_autoptr(SoupSession) session =
      session_new(config, timeout_usec, &soup, &uri, &certificate, error);
  if (session == NULL)
    return NULL;
  g_autofree char *json = sv_etcd_json_read_app(uri->prefix, app);
  g_autoptr(GBytes) request = g_bytes_new(json, strlen(json));
  g_autoptr(GString) why = g_string_new(NULL);
  for (guint i = 0; uri->endpoints[i] != NULL; i++) {
    g_autofree char *base = sv_etcd_uri_base(uri, i);
    g_autofree char *url = g_strconcat(base, "/v3/kv/range", NULL);
    g_autoptr(SoupMessage) message = etcd_message_new(soup, url, request, certificate);
    g_autoptr(GError) e = NULL;
    g_autoptr(GBytes) body = soup->session_send_and_read(session, message, NULL, &e);
    if (body != NULL && soup->message_get_status(message) == 200) {
      gsize len = 0;
      const char *text = g_bytes_get_data(body, &len);
      return sv_etcd_last_runs(text, len, uri->prefix, app, error);
    }
    g_autofree char *text = e ? etcd_error_text(message, e, config->tls_ca, certificate != NULL)
                              : g_strdup(soup->message_get_reason_phrase(message));
    g_string_append_printf(why, "%s%s: %s", why->len ? "; " : "", uri->endpoints[i], text);
  }
  g_set_error(error, SV_FLEET_ERROR, SV_FLEET_ERROR_UNAVAILABLE, _("cannot reach etcd: %s"),
              why->str);
  return NULL;
}
