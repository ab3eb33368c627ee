/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "da-test-program.h"

GSubprocessLauncher *
da_test_launcher_new (GSubprocessFlags flags)
{
  GSubprocessLauncher *launcher = g_subprocess_launcher_new (flags | G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                                             | G_SUBPROCESS_FLAGS_STDERR_PIPE);

  g_subprocess_launcher_unsetenv (launcher, "NO_COLOR");
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  g_subprocess_launcher_setenv (launcher, "TZ", "UTC", TRUE);
  return launcher;
}

DaTestRun *
da_test_run_program (GSubprocessLauncher *launcher, const char *const *argv, const char *input)
{
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GError) error = NULL;
  DaTestRun *run = g_new0 (DaTestRun, 1);

  process = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, input, NULL, &run->out, &run->err, &error);
  g_assert_no_error (error);
  run->status = g_subprocess_get_if_exited (process) ? g_subprocess_get_exit_status (process) : -1;
  return run;
}

void
da_test_run_free (DaTestRun *run)
{
  g_free (run->out);
  g_free (run->err);
  g_free (run);
}
