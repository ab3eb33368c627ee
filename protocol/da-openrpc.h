/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

JsonNode *da_openrpc_get (void);
GStrv da_openrpc_method_names (void);

G_END_DECLS
