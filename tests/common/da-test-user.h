/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * Tests of what an unprivileged user may do prove nothing as root, who may
 * do anything.  Run as root, a test program can become "nobody" before it
 * starts its daemons, as long as nobody can reach the build tree: a
 * child process that dropped its privileges checks the paths first.
 */
typedef struct {
  const char *path;
  int mode; /* for access(2): R_OK, W_OK, X_OK */
} DaTestAccess;

/* TRUE when the process is unprivileged now (it was, or it became nobody);
 * FALSE and why when it stays root: no such user, or a path nobody cannot
 * use.  Call it before any thread starts; needs[] ends with a NULL path,
 * and the temporary directory is always checked. */
gboolean da_test_become_unprivileged (const DaTestAccess *needs, GError **error);

G_END_DECLS
