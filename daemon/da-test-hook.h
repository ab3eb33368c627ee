/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "daemon/store/da-store.h"

G_BEGIN_DECLS

/*
 * A test hook, never for production: with DEVADDRD_TEST_SYNC_HOOK=FILE in
 * the environment, the writer thread reads FILE before each journal
 * fdatasync, if it exists, and obeys its lines:
 *
 *   delay-ms=N   wait N milliseconds first (a slow disk)
 *   fail=1       then fail the sync with EIO (a failing disk)
 *
 * Whenever the file exists at that point it also sends
 * X_DEVADDRD_SYNC_HOOK=1 on the NOTIFY_SOCKET, so that a test knows a record
 * has reached the writer.  Without the variable nothing is installed.
 */
typedef struct _DaTestHook DaTestHook;

/* NULL when the variable is not set; free after the store */
DaTestHook *da_test_hook_install (DaStore *store);
void da_test_hook_free (DaTestHook *hook);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DaTestHook, da_test_hook_free)

G_END_DECLS
