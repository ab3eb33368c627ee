/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "daemon/alloc/da-engine.h"

G_BEGIN_DECLS

/*
 * An engine as text, for comparing two states.  Without check.h, so that
 * the fuzz targets use it too.
 */

/* every change that rebuilds the engine, one per line, as da_engine_dump()
 * gives them at now (cool-downs that ended by now are left out) */
char *da_test_dump_at (DaEngine *engine, gint64 now);
/* the same at time 0, before any cool-down ends */
char *da_test_dump (DaEngine *engine);

G_END_DECLS
