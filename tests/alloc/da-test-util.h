/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <check.h>

#include "daemon/alloc/da-engine.h"
#include "tests/alloc/da-test-dump.h"

/* the shipped catalog plus tests/alloc/data */
DaCatalog *da_test_catalog (void);
DaEngine *da_test_engine (void);
/* a request for type and alias; address text or NULL (dynamic), box
 * "dim=v,..." or NULL */
void da_test_request (DaRequest *request, DaEngine *engine, const char *type, const char *alias,
                      const char *address, const char *box);
DaReservation *da_test_reserve (DaScope *scope, const char *type, const char *alias, const char *address,
                                const char *box, GError **error);
char *da_test_address (DaReservation *res);
guint64 da_test_key (DaEngine *engine, const char *type, const char *text);
guint64 da_test_key_of (DaAddressType *type, const char *text);
/* remove a directory and everything in it */
void da_test_remove_tree (const char *path);
