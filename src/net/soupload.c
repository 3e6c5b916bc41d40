/* soupload.c — libsoup through dlopen(), shared by checks/probe.c and jobs/store-etcd.c. */
#include "soupload.h"

#include <dlfcn.h>
#include <glib/gi18n.h>

static SvSoup soup;
static char *soup_error; /* why it could not be opened; NULL once it is */

const SvSoup *
sv_soup_open(const char *what, GError **error)
{
  static gsize once = 0;
  if (g_once_init_enter(&once)) {
    void *lib = dlopen(SV_SOUP_LIBRARY, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL)
      soup_error = g_strdup(dlerror());
#define SOUP_SYMBOL(field)                                                                         \
  if (soup_error == NULL && (*(void **)&soup.field = dlsym(lib, "soup_" #field)) == NULL)          \
    soup_error = g_strdup_printf("%s: no soup_%s", SV_SOUP_LIBRARY, #field);
    SOUP_SYMBOL(session_new_with_options)
    SOUP_SYMBOL(session_set_proxy_resolver)
    SOUP_SYMBOL(session_send_async)
    SOUP_SYMBOL(session_send_finish)
    SOUP_SYMBOL(session_send_and_read_async)
    SOUP_SYMBOL(session_send_and_read_finish)
    SOUP_SYMBOL(session_send_and_read)
    SOUP_SYMBOL(message_new)
    SOUP_SYMBOL(message_new_from_uri)
    SOUP_SYMBOL(message_add_flags)
    SOUP_SYMBOL(message_get_request_headers)
    SOUP_SYMBOL(message_headers_replace)
    SOUP_SYMBOL(message_get_status)
    SOUP_SYMBOL(message_get_reason_phrase)
    SOUP_SYMBOL(message_set_request_body_from_bytes)
    SOUP_SYMBOL(message_set_tls_client_certificate)
#undef SOUP_SYMBOL
    g_once_init_leave(&once, 1);
  }
  if (soup_error != NULL) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                _("%s need %s, which cannot be loaded: %s"), what, SV_SOUP_LIBRARY, soup_error);
    return NULL;
  }
  return &soup;
}
