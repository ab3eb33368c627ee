/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* make check-e2e: the libvirt + QEMU proof (run-e2e.sh) with devaddr itself
 * answering: a devaddrd of the build tree in a temporary directory, and
 * devaddrctl calling domain.assign, device.attach and device.detach on it,
 * and asking it what it holds.  With CI=true (CI sets it) a skip is a
 * failure: the proof must have run. */
#include "config.h"

#include <stdio.h>
#include <unistd.h>

#include "tests/common/da-test-daemon.h"

int
main (int argc, char **argv)
{
  const char *srcdir = g_getenv ("DA_SRCDIR") != NULL ? g_getenv ("DA_SRCDIR") : ".";
  const char *builddir = g_getenv ("DA_BUILDDIR") != NULL ? g_getenv ("DA_BUILDDIR") : ".";
  g_autoptr (DaTestDaemon) devaddrd = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) harness = NULL;
  g_autoptr (GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *ctl = NULL;
  g_autofree char *script = g_build_filename (srcdir, "tests", "e2e", "run-e2e.sh", NULL);
  int status;

  /* minutes of libvirt and QEMU: only when asked for */
  if (g_strcmp0 (g_getenv ("DA_E2E"), "1") != 0) {
    printf ("check-e2e: SKIP: run with make check-e2e\n");
    return 77;
  }
  if (geteuid () != 0) {
    if (g_strcmp0 (g_getenv ("CI"), "true") == 0) {
      printf ("check-e2e: FAIL: needs root to run libvirtd and QEMU, and CI=true may not skip it\n");
      return 1;
    }
    printf ("check-e2e: SKIP: needs root to run libvirtd and QEMU\n");
    return 77;
  }
  devaddrd = da_test_daemon_new (NULL);
  if (!da_test_daemon_start (devaddrd, &error)) {
    printf ("check-e2e: %s\n", error->message);
    return 1;
  }
  ctl = g_strdup_printf ("'%s/client/devaddrctl' --socket '%s'", builddir, devaddrd->socket_path);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  {
    g_autofree char *assign = g_strdup_printf ("%s assign {vm} {in}", ctl);
    g_autofree char *attach = g_strdup_printf ("%s attach {vm} {dev}", ctl);
    g_autofree char *detach = g_strdup_printf ("%s detach {vm} {dev}", ctl);

    g_subprocess_launcher_setenv (launcher, "DEVADDR_ASSIGN", assign, TRUE);
    g_subprocess_launcher_setenv (launcher, "DEVADDR_ATTACH", attach, TRUE);
    g_subprocess_launcher_setenv (launcher, "DEVADDR_DETACH", detach, TRUE);
    g_subprocess_launcher_setenv (launcher, "DEVADDRCTL", ctl, TRUE);
  }
  g_ptr_array_add (args, g_strdup ("sh"));
  g_ptr_array_add (args, g_strdup (script));
  for (int i = 1; i < argc; i++)
    g_ptr_array_add (args, g_strdup (argv[i]));
  g_ptr_array_add (args, NULL);
  harness = g_subprocess_launcher_spawnv (launcher, (const char *const *) args->pdata, &error);
  if (harness == NULL || !g_subprocess_wait (harness, NULL, &error)) {
    printf ("check-e2e: %s\n", error->message);
    return 1;
  }
  status = g_subprocess_get_if_exited (harness) ? g_subprocess_get_exit_status (harness) : 1;
  {
    g_autofree char *log = da_test_daemon_log (devaddrd);

    if (status != 0 && status != 77)
      printf ("== devaddrd's log\n%s\n", log);
  }
  return status;
}
