/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/common/da-test-user.h"

#define UNPRIVILEGED_USER "nobody"

static gboolean
drop_to (uid_t uid, gid_t gid)
{
  return setgroups (0, NULL) == 0 && setgid (gid) == 0 && setuid (uid) == 0 && geteuid () == uid;
}

gboolean
da_test_become_unprivileged (const DaTestAccess *needs, GError **error)
{
  const char *tmp = g_get_tmp_dir ();
  struct passwd *pw;
  uid_t uid;
  gid_t gid;
  guint n = 0;
  int status;
  pid_t pid;

  if (geteuid () != 0)
    return TRUE;
  pw = getpwnam (UNPRIVILEGED_USER);
  if (pw == NULL || pw->pw_uid == 0) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no unprivileged user " UNPRIVILEGED_USER);
    return FALSE;
  }
  uid = pw->pw_uid;
  gid = pw->pw_gid;
  while (needs != NULL && needs[n].path != NULL)
    n++;

  /* find out in a child first: a process that dropped its privileges
   * cannot take them back */
  pid = fork ();
  if (pid < 0) {
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "fork: %s", g_strerror (errno));
    return FALSE;
  }
  if (pid == 0) {
    if (!drop_to (uid, gid))
      _exit (100);
    if (access (tmp, W_OK | X_OK) != 0)
      _exit (101);
    for (guint i = 0; i < n; i++)
      if (access (needs[i].path, needs[i].mode) != 0)
        _exit ((int) MIN (i + 1, 99));
    _exit (0);
  }
  if (waitpid (pid, &status, 0) != pid || !WIFEXITED (status)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the probe as " UNPRIVILEGED_USER " failed");
    return FALSE;
  }
  switch (WEXITSTATUS (status)) {
  case 0:
    break;
  case 100:
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED, "cannot become " UNPRIVILEGED_USER);
    return FALSE;
  case 101:
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED, UNPRIVILEGED_USER " cannot write to %s", tmp);
    return FALSE;
  default:
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED, UNPRIVILEGED_USER " cannot use %s",
                 needs[MIN ((guint) WEXITSTATUS (status), n) - 1].path);
    return FALSE;
  }
  if (!drop_to (uid, gid)) {
    /* half-dropped privileges would make every later result a lie */
    g_printerr ("cannot become " UNPRIVILEGED_USER ": %s\n", g_strerror (errno));
    _exit (99);
  }
  return TRUE;
}
