/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/*
 * Typed reading of the results the daemon sends.  A result that does not
 * have the shape the protocol describes is DEVADDR_ERROR_PROTOCOL, with the
 * path of the offending value ("result.reservations[2].alias").  Members
 * the library does not know are ignored, so a newer daemon may add some.
 */

gboolean da_result_get_object (JsonNode *node, const char *path, JsonObject **out, GError **error);
gboolean da_result_get_array (JsonNode *node, const char *path, JsonArray **out, GError **error);
gboolean da_result_member_string (JsonObject *object, const char *path, const char *member, gboolean required,
                                  const char **out, GError **error);
gboolean da_result_member_uint (JsonObject *object, const char *path, const char *member, gboolean required,
                                guint64 *out, GError **error);
gboolean da_result_member_boolean (JsonObject *object, const char *path, const char *member, gboolean required,
                                   gboolean *out, GError **error);
gboolean da_result_member_array (JsonObject *object, const char *path, const char *member, gboolean required,
                                 JsonArray **out, GError **error);
gboolean da_result_member_object (JsonObject *object, const char *path, const char *member, gboolean required,
                                  JsonObject **out, GError **error);
gboolean da_result_member_strv (JsonObject *object, const char *path, const char *member, gboolean required,
                                GStrv *out, GError **error);
JsonNode *da_json_deep_copy (JsonNode *node);
JsonObject *da_json_object_deep_copy (JsonObject *object);
char *da_result_path (const char *path, const char *member);
char *da_result_index_path (const char *path, guint index);

G_END_DECLS
