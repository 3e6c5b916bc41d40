/* soupload.h — libsoup, opened on first use (dlopen), for every module that speaks HTTP.
 *
 * libsoup is not linked: mapped into every sdvisor it cost 1.7 MB of RSS, 280 kB of
 * private dirty memory and 15 more shared libraries to load at start and tear down at
 * exit (BENCHMARKS.md), for what most configurations never use (http checks, an etcd
 * fleet store). The calls go through this table, filled by sv_soup_open(). */
#pragma once
#include <gio/gio.h>
#include <libsoup/soup.h>

#define SV_SOUP_LIBRARY "libsoup-3.0.so.0"

typedef struct {
  __typeof__(soup_session_new_with_options) *session_new_with_options;
  __typeof__(soup_session_set_proxy_resolver) *session_set_proxy_resolver;
  __typeof__(soup_session_send_async) *session_send_async;
  __typeof__(soup_session_send_finish) *session_send_finish;
  __typeof__(soup_session_send_and_read_async) *session_send_and_read_async;
  __typeof__(soup_session_send_and_read_finish) *session_send_and_read_finish;
  __typeof__(soup_session_send_and_read) *session_send_and_read;
  __typeof__(soup_message_new) *message_new;
  __typeof__(soup_message_new_from_uri) *message_new_from_uri;
  __typeof__(soup_message_add_flags) *message_add_flags;
  __typeof__(soup_message_get_request_headers) *message_get_request_headers;
  __typeof__(soup_message_headers_replace) *message_headers_replace;
  __typeof__(soup_message_get_status) *message_get_status;
  __typeof__(soup_message_get_reason_phrase) *message_get_reason_phrase;
  __typeof__(soup_message_set_request_body_from_bytes) *message_set_request_body_from_bytes;
  __typeof__(soup_message_set_tls_client_certificate) *message_set_tls_client_certificate;
} SvSoup;

/* The table, or NULL with ERROR saying that WHAT ("http and https checks", "an etcd
 * fleet store") needs libsoup and why it cannot be loaded. Thread-safe; opened once. */
const SvSoup *sv_soup_open(const char *what, GError **error);
