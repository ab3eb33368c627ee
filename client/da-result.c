/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#define DEVADDR_COMPILATION
#include "devaddr/devaddr-error.h"
#include "da-result.h"

char *
da_result_path (const char *path, const char *member)
{
  return g_strdup_printf ("%s.%s", path, member);
}

char *
da_result_index_path (const char *path, guint index)
{
  return g_strdup_printf ("%s[%u]", path, index);
}

static gboolean
malformed (GError **error, const char *path, const char *member, const char *expected)
{
  if (member != NULL)
    g_set_error (error, DEVADDR_ERROR, DEVADDR_ERROR_PROTOCOL, "malformed reply: %s.%s: expected %s", path, member,
                 expected);
  else
    g_set_error (error, DEVADDR_ERROR, DEVADDR_ERROR_PROTOCOL, "malformed reply: %s: expected %s", path, expected);
  return FALSE;
}

gboolean
da_result_get_object (JsonNode *node, const char *path, JsonObject **out, GError **error)
{
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return malformed (error, path, NULL, "an object");
  *out = json_node_get_object (node);
  return TRUE;
}

gboolean
da_result_get_array (JsonNode *node, const char *path, JsonArray **out, GError **error)
{
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return malformed (error, path, NULL, "an array");
  *out = json_node_get_array (node);
  return TRUE;
}

/* NULL when absent; an error when absent and required */
static gboolean
peek (JsonObject *object, const char *path, const char *member, gboolean required, JsonNode **node, GError **error)
{
  *node = json_object_get_member (object, member);
  if (*node == NULL && required) {
    g_set_error (error, DEVADDR_ERROR, DEVADDR_ERROR_PROTOCOL, "malformed reply: %s: no member \"%s\"", path, member);
    return FALSE;
  }
  return TRUE;
}

gboolean
da_result_member_string (JsonObject *object, const char *path, const char *member, gboolean required,
                         const char **out, GError **error)
{
  JsonNode *node;

  if (!peek (object, path, member, required, &node, error))
    return FALSE;
  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return malformed (error, path, member, "a string");
  *out = json_node_get_string (node);
  return TRUE;
}

/* a count or a dimension bound: an integer, or text ("0xffffffff") for
 * values a double cannot hold exactly */
gboolean
da_result_member_uint (JsonObject *object, const char *path, const char *member, gboolean required,
                       guint64 *out, GError **error)
{
  JsonNode *node;

  if (!peek (object, path, member, required, &node, error))
    return FALSE;
  if (node == NULL)
    return TRUE;
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_INT64) {
    gint64 v = json_node_get_int (node);

    if (v < 0)
      return malformed (error, path, member, "an integer of at least 0");
    *out = (guint64) v;
    return TRUE;
  }
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING) {
    const char *text = json_node_get_string (node);
    guint base = 10;

    if (g_str_has_prefix (text, "0x") || g_str_has_prefix (text, "0X")) {
      text += 2;
      base = 16;
    }
    if (g_ascii_string_to_unsigned (text, base, 0, G_MAXUINT64, out, NULL))
      return TRUE;
  }
  return malformed (error, path, member, "an integer of at least 0");
}

gboolean
da_result_member_boolean (JsonObject *object, const char *path, const char *member, gboolean required,
                          gboolean *out, GError **error)
{
  JsonNode *node;

  if (!peek (object, path, member, required, &node, error))
    return FALSE;
  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return malformed (error, path, member, "true or false");
  *out = json_node_get_boolean (node);
  return TRUE;
}

gboolean
da_result_member_array (JsonObject *object, const char *path, const char *member, gboolean required,
                        JsonArray **out, GError **error)
{
  JsonNode *node;

  if (!peek (object, path, member, required, &node, error))
    return FALSE;
  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return malformed (error, path, member, "an array");
  *out = json_node_get_array (node);
  return TRUE;
}

gboolean
da_result_member_object (JsonObject *object, const char *path, const char *member, gboolean required,
                         JsonObject **out, GError **error)
{
  JsonNode *node;

  if (!peek (object, path, member, required, &node, error))
    return FALSE;
  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return malformed (error, path, member, "an object");
  *out = json_node_get_object (node);
  return TRUE;
}

gboolean
da_result_member_strv (JsonObject *object, const char *path, const char *member, gboolean required, GStrv *out,
                       GError **error)
{
  JsonArray *array = NULL;
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();

  if (!da_result_member_array (object, path, member, required, &array, error))
    return FALSE;
  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++) {
    JsonNode *node = json_array_get_element (array, i);

    if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
      return malformed (error, path, member, "an array of strings");
    g_strv_builder_add (builder, json_node_get_string (node));
  }
  *out = g_strv_builder_end (builder);
  return TRUE;
}

/* json_node_copy() shares objects and arrays; requests handed to the I/O
 * thread must share nothing with what the caller keeps */
JsonNode *
da_json_deep_copy (JsonNode *node)
{
  JsonNode *copy;

  if (node == NULL)
    return NULL;
  switch (JSON_NODE_TYPE (node)) {
  case JSON_NODE_OBJECT:
    copy = json_node_new (JSON_NODE_OBJECT);
    json_node_take_object (copy, da_json_object_deep_copy (json_node_get_object (node)));
    return copy;
  case JSON_NODE_ARRAY: {
    JsonArray *src = json_node_get_array (node);
    JsonArray *dst = json_array_sized_new (json_array_get_length (src));

    for (guint i = 0; i < json_array_get_length (src); i++)
      json_array_add_element (dst, da_json_deep_copy (json_array_get_element (src, i)));
    copy = json_node_new (JSON_NODE_ARRAY);
    json_node_take_array (copy, dst);
    return copy;
  }
  default:
    return json_node_copy (node);
  }
}

JsonObject *
da_json_object_deep_copy (JsonObject *object)
{
  JsonObject *copy = json_object_new ();
  g_autoptr (GList) members = json_object_get_members (object);

  for (GList *l = members; l != NULL; l = l->next)
    json_object_set_member (copy, l->data, da_json_deep_copy (json_object_get_member (object, l->data)));
  return copy;
}
