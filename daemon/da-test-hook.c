/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "daemon/da-notify.h"
#include "daemon/da-test-hook.h"

#define ENV_NAME "DEVADDRD_TEST_SYNC_HOOK"

struct _DaTestHook {
  char *path;
};

/* on the writer thread: the file is read anew each time, so that a test
 * can change it while the daemon runs */
static int
on_fault_point (DaStoreFaultPoint point, gpointer user_data)
{
  DaTestHook *hook = user_data;
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;
  guint64 delay_ms = 0;
  gboolean fail = FALSE;

  if (point != DA_STORE_FAULT_JOURNAL_SYNC || !g_file_get_contents (hook->path, &text, NULL, NULL))
    return 0;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++) {
    const char *line = g_strstrip (lines[i]);

    if (g_str_has_prefix (line, "delay-ms="))
      delay_ms = g_ascii_strtoull (line + strlen ("delay-ms="), NULL, 10);
    else if (strcmp (line, "fail=1") == 0)
      fail = TRUE;
  }
  da_notify (DA_NOTIFY_NEEDED, "X_DEVADDRD_SYNC_HOOK=1");
  if (delay_ms > 0)
    g_usleep (MIN (delay_ms, 600000) * 1000);
  return fail ? EIO : 0;
}

DaTestHook *
da_test_hook_install (DaStore *store)
{
  const char *path = g_getenv (ENV_NAME);
  DaTestHook *hook;

  if (path == NULL || *path == '\0')
    return NULL;
  hook = g_new0 (DaTestHook, 1);
  hook->path = g_strdup (path);
  g_warning ("test hook " ENV_NAME "=%s is active: journal syncs may be delayed or fail on purpose", path);
  da_store_set_fault_hook (store, on_fault_point, hook);
  return hook;
}

void
da_test_hook_free (DaTestHook *hook)
{
  if (hook == NULL)
    return;
  g_free (hook->path);
  g_free (hook);
}
