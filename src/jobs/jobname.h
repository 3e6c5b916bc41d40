/* jobname.h — the file-system form of an app's or a job's name.
 *
 * Pure: the state directory's layout (jobstate.c) and the StateDirectory= a generated unit
 * gives an app (unitgen.c) must escape a name the same way. */
#pragma once
#include <glib.h>

/* A name as a file name: bytes outside [A-Za-z0-9_@+-.] and a leading '.' become \xNN,
 * as systemd-escape writes them; "" becomes "\x". Two different names never give the
 * same file name ('\' is always escaped). */
char *sv_jobname_escape(const char *name);
