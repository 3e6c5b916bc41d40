/* checkspec.h — the checks of [ready] and [health], parsed.
 *
 * Pure: text in, a parsed check out; no fds, no main loop, no HTTP library, no child.
 * config.c parses every check= value with it at load, so a configuration that loads
 * has checks that run; probe.c runs what it parsed. A check is one thing to look at:
 * `notify`, `tcp://HOST:PORT`, `http://…`, `https://…`, `unix:/PATH`, `unix:@NAME`,
 * `exec:COMMAND`, `file:/PATH`. */
#pragma once
#include <glib.h>

#define SV_CHECKSPEC_ERROR (sv_checkspec_error_quark())
GQuark sv_checkspec_error_quark(void);

typedef enum {
  SV_CHECKSPEC_ERROR_INVALID, /* a check that cannot be used */
} SvCheckSpecError;

typedef enum {
  SV_CHECK_NOTIFY, /* the app's own READY=1 / WATCHDOG=1 */
  SV_CHECK_TCP,    /* tcp://HOST:PORT accepts a connection */
  SV_CHECK_HTTP,   /* http:// or https:// answers GET with 2xx or 3xx: redirects are not
                    * followed, no proxy is used, a new connection is made each time, the
                    * body is not read, and (as Kubernetes does) the certificate is not
                    * verified */
  SV_CHECK_UNIX,   /* unix:/PATH or unix:@ABSTRACT accepts a stream connection */
  SV_CHECK_EXEC,   /* exec:COMMAND exits 0; split into words as a shell would, but run
                    * without one, in its own process group (killed at the timeout), with
                    * stdout and stderr into the journal (sv_probe_set_log_streams) or
                    * shared with sdvisor */
  SV_CHECK_FILE,   /* file:/PATH exists */
} SvCheckKind;

/* One parsed check. Immutable once parsed and shared by reference: the configuration
 * holds it, and a probe running it keeps it alive across a reload that replaces the
 * configuration. The fields are for reading. */
typedef struct {
  SvCheckKind kind;
  char *text;        /* canonical spelling, also the prefix of every detail */
  char *host;        /* tcp: without brackets */
  guint16 port;      /* tcp */
  GUri *uri;         /* http, https */
  char *path;        /* unix (without the '@' of an abstract name), file */
  gboolean abstract; /* unix:@NAME */
  char **argv;       /* exec */
} SvCheckSpec;

/* Parses one check. Surrounding whitespace is ignored, scheme words are
 * case-insensitive, and `unix:///PATH` / `file:///PATH` are accepted as URL spellings
 * of `unix:/PATH` / `file:/PATH`. Errors (SV_CHECKSPEC_ERROR_INVALID) are for people:
 * they quote the check and show the form expected; the caller adds where it stands. */
SvCheckSpec *sv_checkspec_parse(const char *text, GError **error);

/* Parses a check= value: checks separated by spaces, quoted as a shell would quote
 * words (so an exec: check with arguments is one quoted word). Returns a new array of
 * SvCheckSpec* (freeing it releases them), empty for an empty VALUE; NULL and an error
 * at the first check that does not parse. */
GPtrArray *sv_checkspec_parse_list(const char *value, GError **error);

/* The canonical spelling; sv_checkspec_parse() of it gives the same check back. */
char *sv_checkspec_to_string(const SvCheckSpec *check);
SvCheckKind sv_checkspec_get_kind(const SvCheckSpec *check);

/* Whether CHECKS (of SvCheckSpec*, NULL = none) holds a check of KIND. */
gboolean sv_checkspec_list_has(GPtrArray *checks, SvCheckKind kind);

SvCheckSpec *sv_checkspec_ref(SvCheckSpec *check);
void sv_checkspec_unref(SvCheckSpec *check); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvCheckSpec, sv_checkspec_unref)
