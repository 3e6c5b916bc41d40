/* unitgen.h — systemd units and quadlet files that agree with a configuration.
 *
 * Pure: configuration in, text out. The timeouts a unit needs follow from the config:
 * systemd must not give up on a start before pre-start hooks and the [ready] timeout
 * have run, nor on a stop before pre-stop hooks, stop-delay, stop-timeout and post-stop
 * hooks have. sdvisor also sends EXTEND_TIMEOUT_USEC, but conmon drops it (quadlet), and
 * a unit whose numbers are right needs no extension. `sdvisor check --unit` compares an
 * existing unit with the same numbers. */
#pragma once
#include <glib.h>

#include "config.h"
#include "timespan.h"

/* Room for sdvisor's own work around the configured waits (spawning, the app's last
 * output, exiting): part of what a unit needs, not of what check --unit insists on. */
#define SV_UNIT_MARGIN_USEC (10 * SV_USEC_PER_SEC)

/* What a unit needs, in microseconds (G_MAXINT64 = no bound: "infinity"). */
typedef struct {
  gint64 start_usec;    /* TimeoutStartSec */
  gint64 stop_usec;     /* TimeoutStopSec */
  gint64 watchdog_usec; /* WatchdogSec; 0 = none (no [health] checks) */
} SvUnitTimeouts;

void sv_unitgen_timeouts(const SvConfig *config, SvUnitTimeouts *out);

/* A service unit running BINARY with CONFIG_PATH (both absolute). */
char *sv_unitgen_service(const SvConfig *config, const char *binary, const char *config_path);

/* A quadlet .container file for IMAGE; the config is bind-mounted at CONFIG_PATH inside. */
char *sv_unitgen_quadlet(const SvConfig *config, const char *image, const char *config_path);

/* The [Service] timeouts UNIT_TEXT (a .service or .container file) sets, read as systemd
 * reads them: in order, TimeoutSec= setting both start and stop, an assignment whose value
 * does not parse ignored, backslash-continued lines joined. -1 for each the unit leaves to
 * systemd's default. Start and stop "0" and "infinity" are G_MAXINT64; WatchdogSec=0 is 0
 * (none). */
void sv_unitgen_read_unit(const char *unit_text, SvUnitTimeouts *out);

/* Compares the [Service] timeouts of UNIT_TEXT (a .service or .container file) with what
 * CONFIG needs. Returns one person-readable warning per disagreement (empty: none). */
GPtrArray *sv_unitgen_check(const SvConfig *config, const char *unit_text);
