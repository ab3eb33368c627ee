/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * A program run to its end from a test, for what it printed and how it
 * ended.
 */
typedef struct {
  int status; /* the exit status, -1 when a signal ended it */
  char *out;
  char *err;
} DaTestRun;

/* a launcher that pipes stdout and stderr (plus what flags add) and gives
 * the environment outputs are compared in: LC_ALL=C.UTF-8, TZ=UTC and no
 * NO_COLOR */
GSubprocessLauncher *da_test_launcher_new (GSubprocessFlags flags);
/* argv from launcher, input on its stdin when that is a pipe, until it
 * exits; failing to start or to read it is a failed test */
DaTestRun *da_test_run_program (GSubprocessLauncher *launcher, const char *const *argv, const char *input);
void da_test_run_free (DaTestRun *run);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DaTestRun, da_test_run_free)

G_END_DECLS
