/* listenspec.h — the addresses of [app] listen=, parsed.
 *
 * Pure: text in, a parsed address out; no socket, no name lookup. config.c parses every
 * listen= value with it at load, so a configuration that loads has addresses that can
 * be bound (whether the port is free is listen.c's to find out). An address is
 * `IPV4:PORT`, `[IPV6]:PORT`, `unix:/PATH` or `unix:@NAME` (abstract). Hosts are
 * numeric, as in systemd's ListenStream=: a name would make the socket depend on a
 * resolver at start. */
#pragma once
#include <glib.h>

#define SV_LISTENSPEC_ERROR (sv_listenspec_error_quark())
GQuark sv_listenspec_error_quark(void);

typedef enum {
  SV_LISTENSPEC_ERROR_INVALID, /* an address that cannot be used */
} SvListenSpecError;

typedef enum {
  SV_LISTEN_TCP,
  SV_LISTEN_UNIX,
} SvListenKind;

/* Longest unix socket path (or abstract name): sun_path less its NUL. */
#define SV_LISTENSPEC_UNIX_PATH_MAX 107

/* One parsed address. The fields are for reading. */
typedef struct {
  SvListenKind kind;
  char *text;        /* canonical spelling: "127.0.0.1:8000", "[::]:8000", "unix:/run/x.sock" */
  char *host;        /* tcp: the numeric address, without brackets */
  gboolean ipv6;     /* tcp: host is an IPv6 address */
  guint16 port;      /* tcp: 1…65535 */
  char *path;        /* unix: the path, or the abstract name without its '@' */
  gboolean abstract; /* unix:@NAME */
  char *origin;      /* where it was configured ("shop.conf:7"), for messages; NULL if unknown */
} SvListenSpec;

/* Parses one address. Surrounding whitespace is ignored. Errors
 * (SV_LISTENSPEC_ERROR_INVALID) quote the address and show the forms expected; the
 * caller adds where it stands. */
SvListenSpec *sv_listenspec_parse(const char *text, GError **error);

/* Parses a listen= value: addresses separated by spaces (quoted as a shell would quote
 * words). Returns a new array of SvListenSpec* (freeing it frees them), empty for an
 * empty VALUE; NULL and an error at the first address that does not parse, or at one
 * that is listed twice. ORIGIN (may be NULL) is copied into every address. */
GPtrArray *sv_listenspec_parse_list(const char *value, const char *origin, GError **error);

/* The name the socket of SPEC carries in LISTEN_FDNAMES and in systemd's fd store
 * (FDNAME=): the canonical text with every ':' (LISTEN_FDNAMES' separator) and every byte
 * outside ASCII made '_'.
 * Always a valid fd name: printable ASCII, at most 255 characters. */
char *sv_listenspec_fdname(const SvListenSpec *spec);

void sv_listenspec_free(SvListenSpec *spec); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvListenSpec, sv_listenspec_free)
