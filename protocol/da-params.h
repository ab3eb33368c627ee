/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "protocol/da-rpc-error.h"

G_BEGIN_DECLS

/*
 * Strict, typed access to the named parameters of a call.  Every failure
 * is DA_RPC_ERROR_INVALID_PARAMS with a message that starts with the path
 * of the offending value, e.g.
 *   params.constraint.count: expected an integer in 1..4294967296, got 1.5
 *
 * A getter of an absent optional member returns TRUE and leaves *out as
 * it was, so callers set defaults first.  A member that is present with
 * the value null is not absent: it is of the wrong type.
 */

typedef enum {
  DA_PARAMS_OPTIONAL = 0,
  DA_PARAMS_REQUIRED = 1 << 0,     /* absent is an error */
  DA_PARAMS_NON_EMPTY = 1 << 1,    /* strings: not ""; arrays: at least one item */
  DA_PARAMS_ALLOW_STRING = 1 << 2, /* da_params_get_uint64: also "0x1f" or "31" */
} DaParamsFlags;

typedef struct _DaParams DaParams;

DaParams *da_params_new (JsonNode *params, GError **error);
DaParams *da_params_new_for_object (JsonObject *object, const char *path);
void da_params_free (DaParams *params);

const char *da_params_get_path (DaParams *params);
JsonObject *da_params_peek_object (DaParams *params);
char *da_params_dup_member_path (DaParams *params, const char *name);
gboolean da_params_has (DaParams *params, const char *name);
JsonNode *da_params_peek (DaParams *params, const char *name);
void da_params_set_error (DaParams *params, const char *name, GError **error, const char *format, ...)
  G_GNUC_PRINTF (4, 5);

gboolean da_params_check_members (DaParams *params, const char *const *known, GError **error);

gboolean da_params_get_string (DaParams *params, const char *name, DaParamsFlags flags, gsize max_len,
                               const char **out, GError **error);
gboolean da_params_get_int (DaParams *params, const char *name, DaParamsFlags flags, gint64 min, gint64 max,
                            gint64 *out, GError **error);
gboolean da_params_get_uint64 (DaParams *params, const char *name, DaParamsFlags flags, guint64 min, guint64 max,
                               guint64 *out, GError **error);
gboolean da_params_get_boolean (DaParams *params, const char *name, DaParamsFlags flags, gboolean *out,
                                GError **error);
gboolean da_params_get_enum (DaParams *params, const char *name, DaParamsFlags flags, const char *const *choices,
                             guint *out, GError **error);
gboolean da_params_get_strv (DaParams *params, const char *name, DaParamsFlags flags, guint max_items,
                             gsize max_len, GStrv *out, GError **error);
gboolean da_params_get_object (DaParams *params, const char *name, DaParamsFlags flags, DaParams **out,
                               GError **error);
gboolean da_params_get_object_array (DaParams *params, const char *name, DaParamsFlags flags, guint max_items,
                                     GPtrArray **out, GError **error);
gboolean da_params_get_int_range (DaParams *params, const char *name, DaParamsFlags flags, gint64 min, gint64 max,
                                  gint64 *lo, gint64 *hi, GError **error);
gboolean da_params_get_scope (DaParams *params, const char **vm, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DaParams, da_params_free)

G_END_DECLS
