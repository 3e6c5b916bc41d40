/* lifecycle.h — the supervisor's states and the transitions between them. Pure.
 *
 *   STARTING ──ready──▶ RUNNING ──SIGHUP──▶ RELOADING ──ready (or its deadline)──▶ RUNNING
 *      │                  │ └─unhealthy, on-unhealthy=restart─▶ RESTARTING ──old tree gone──▶ STARTING
 *      │                  │
 *      ├──────────────────┴──app exits on its own / never ready──▶ FAILED (on-failure hooks)
 *      │                                                              │ app still there
 *      ├──SIGTERM (from STARTING, RUNNING, RELOADING, RESTARTING)──▶ STOPPING ◀┘
 *      │       (pre-stop hooks, stop-delay, stop signal to the tree, deadline, SIGKILL)
 *      └──nothing to stop──▶ POST_STOP ◀── FAILED / STOPPING once the app's tree is gone
 *                              │ (post-stop hooks; jobs finish)
 *                              ▼
 *                             DONE
 *
 * The supervisor moves only through sv_lifecycle_can_move(); a move not in the table is a
 * bug it refuses. Facts that are not the lifecycle (the app's exit status, whether
 * sdvisor had to SIGKILL it) belong to the instance (instance.h). */
#pragma once
#include <glib.h>

typedef enum {
  SV_STATE_STARTING,   /* pre-start hooks, spawn, readiness checks */
  SV_STATE_RUNNING,    /* READY=1 said; post-start hooks, health, jobs */
  SV_STATE_RELOADING,  /* RELOADING=1 said; reload hooks, reload signal, checks again */
  SV_STATE_RESTARTING, /* on-unhealthy=restart: the old instance's tree is stopping */
  SV_STATE_FAILED,     /* the app exited on its own or was never ready: on-failure hooks */
  SV_STATE_STOPPING,   /* STOPPING=1 said: pre-stop hooks, drain, stop signal, deadline */
  SV_STATE_POST_STOP,  /* the app's tree is gone: post-stop hooks, jobs finishing */
  SV_STATE_DONE,       /* the main loop ends */
  SV_N_STATES,
} SvState;

/* Whether the lifecycle may go from FROM to TO (TO == FROM is no move and allowed). */
gboolean sv_lifecycle_can_move(SvState from, SvState to);
const char *sv_lifecycle_state_name(SvState state);
/* The states in which a stop was asked for or is under way: a SIGTERM then means "now". */
gboolean sv_lifecycle_is_ending(SvState state);
