/* exit-codes.h — every exit status sdvisor itself chooses.
 *
 * Apart from these, sdvisor exits with the app's own status (128+N if signal N killed
 * it). main.c is the only place that turns errors into these codes. */
#pragma once

enum {
  SV_EXIT_OK = 0,
  SV_EXIT_FAILURE = 1,   /* sdvisor itself failed to set up (message says why) */
  SV_EXIT_USAGE = 64,    /* EX_USAGE: bad command line */
  SV_EXIT_NO_INPUT = 66, /* EX_NOINPUT: a file named on the command line (check --unit) that
                          cannot be read: not a configuration error */
  /* The control commands (status, reload, run-job): */
  SV_EXIT_UNAVAILABLE = 69, /* EX_UNAVAILABLE: no sdvisor answers on the control socket */
  SV_EXIT_TEMPFAIL = 75,    /* EX_TEMPFAIL: busy (starting, stopping), or the job runs elsewhere */
  SV_EXIT_NOPERM = 77,      /* EX_NOPERM: neither root nor the instance's user */
  SV_EXIT_CONFIG = 78,      /* EX_CONFIG: bad configuration file or environment override */
  SV_EXIT_START_TIMEOUT =
      124, /* the app did not become ready within [ready] timeout (as timeout(1)) */
  SV_EXIT_HOOK_FAILED = 125, /* a pre-start hook with on-error=fail failed */
  SV_EXIT_CANNOT_EXEC = 126, /* the app's executable exists but could not be executed */
  SV_EXIT_NOT_FOUND = 127,   /* the app's executable was not found */
};
