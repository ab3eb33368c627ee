/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdarg.h>
#include <string.h>

#include "da-json.h"
#include "da-limits.h"
#include "da-params.h"

struct _DaParams {
  JsonObject *object;
  char *path; /* "params", "params.constraint", "params.requests[2]" */
};

/**
 * da_params_new_for_object:
 * @object: the object to read
 * @path: how messages name it, such as "params"
 *
 * Returns: (transfer full): a reader over @object
 */
DaParams *
da_params_new_for_object (JsonObject *object, const char *path)
{
  DaParams *params = g_new0 (DaParams, 1);

  params->object = json_object_ref (object);
  params->path = g_strdup (path);
  return params;
}

/**
 * da_params_new:
 * @params: (nullable): the "params" of a call; %NULL when it had none
 * @error: set when @params is an array: every devaddr method takes
 *   named parameters
 *
 * Returns: (transfer full): a reader over the parameters, named "params"
 */
DaParams *
da_params_new (JsonNode *params, GError **error)
{
  g_autoptr (JsonObject) empty = NULL;

  if (params == NULL) {
    empty = json_object_new ();
    return da_params_new_for_object (empty, "params");
  }
  if (!JSON_NODE_HOLDS_OBJECT (params)) {
    g_set_error (error, DA_RPC_ERROR, DA_RPC_ERROR_INVALID_PARAMS,
                 "params: expected an object (named parameters), got %s",
                 JSON_NODE_HOLDS_ARRAY (params) ? "an array" : "a scalar");
    return NULL;
  }
  return da_params_new_for_object (json_node_get_object (params), "params");
}

void
da_params_free (DaParams *params)
{
  if (params == NULL)
    return;
  json_object_unref (params->object);
  g_free (params->path);
  g_free (params);
}

const char *
da_params_get_path (DaParams *params)
{
  return params->path;
}

/**
 * da_params_peek_object:
 * @params: a reader
 *
 * Returns: (transfer none): the object it reads
 */
JsonObject *
da_params_peek_object (DaParams *params)
{
  return params->object;
}

static gboolean
is_plain_name (const char *name)
{
  if (!g_ascii_isalpha (*name) && *name != '_')
    return FALSE;
  for (const char *p = name; *p != '\0'; p++) {
    if (!g_ascii_isalnum (*p) && *p != '_' && *p != '-')
      return FALSE;
  }
  return TRUE;
}

static void
append_member_path (GString *out, const char *path, const char *name)
{
  g_string_append (out, path);
  if (name == NULL)
    return;
  /* names from the peer may be anything; only plain ones go unquoted */
  if (is_plain_name (name)) {
    g_string_append_c (out, '.');
    g_string_append (out, name);
  } else {
    g_string_append_c (out, '[');
    da_json_append_excerpt (out, name, 64);
    g_string_append_c (out, ']');
  }
}

/**
 * da_params_dup_member_path:
 * @params: a reader
 * @name: (nullable): a member name, or %NULL for the object itself
 *
 * Returns: (transfer full): the path messages use for @name, such as
 *   "params.constraint.count" or "params[\"odd key\"]"
 */
char *
da_params_dup_member_path (DaParams *params, const char *name)
{
  GString *out = g_string_new (NULL);

  append_member_path (out, params->path, name);
  return g_string_free (out, FALSE);
}

gboolean
da_params_has (DaParams *params, const char *name)
{
  return json_object_has_member (params->object, name);
}

/**
 * da_params_peek:
 * @params: a reader
 * @name: a member name
 *
 * For values no getter fits (an address that is text or an integer):
 * read it yourself and report with da_params_set_error().
 *
 * Returns: (transfer none) (nullable): the member, %NULL if absent
 */
JsonNode *
da_params_peek (DaParams *params, const char *name)
{
  return json_object_get_member (params->object, name);
}

static void
set_error_va (const char *path, const char *name, GError **error, const char *format, va_list args)
{
  g_autoptr (GString) message = g_string_new (NULL);

  append_member_path (message, path, name);
  g_string_append (message, ": ");
  g_string_append_vprintf (message, format, args);
  g_set_error_literal (error, DA_RPC_ERROR, DA_RPC_ERROR_INVALID_PARAMS, message->str);
}

static void set_error (const char *path, const char *name, GError **error, const char *format, ...)
  G_GNUC_PRINTF (4, 5);

static void
set_error (const char *path, const char *name, GError **error, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  set_error_va (path, name, error, format, args);
  va_end (args);
}

/**
 * da_params_set_error:
 * @params: a reader
 * @name: (nullable): the member at fault, or %NULL for the object itself
 * @error: return location
 * @format: what is wrong, printf-style
 *
 * Sets an invalid-params error whose message starts with the path of @name.
 */
void
da_params_set_error (DaParams *params, const char *name, GError **error, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  set_error_va (params->path, name, error, format, args);
  va_end (args);
}

/* "3", "1.5", "true", "null", "\"text\"", "an object": what the peer sent */
static char *
describe_value (JsonNode *node)
{
  GString *out = g_string_new (NULL);

  if (JSON_NODE_HOLDS_OBJECT (node))
    g_string_append (out, "an object");
  else if (JSON_NODE_HOLDS_ARRAY (node))
    g_string_append (out, "an array");
  else if (json_node_get_value_type (node) == G_TYPE_STRING)
    da_json_append_excerpt (out, json_node_get_string (node), 32);
  else
    da_json_append (out, node);
  return g_string_free (out, FALSE);
}

static gboolean
lookup (DaParams *params, const char *name, DaParamsFlags flags, JsonNode **node, GError **error)
{
  *node = json_object_get_member (params->object, name);
  if (*node == NULL && (flags & DA_PARAMS_REQUIRED)) {
    set_error (params->path, name, error, "required member is missing");
    return FALSE;
  }
  return TRUE;
}

/**
 * da_params_check_members:
 * @params: a reader
 * @known: (array zero-terminated=1) (nullable): the member names allowed
 * @error: names the first other member
 *
 * Returns: %FALSE if the object has a member not in @known
 */
gboolean
da_params_check_members (DaParams *params, const char *const *known, GError **error)
{
  JsonObjectIter iter;
  const char *name;
  JsonNode *member;

  json_object_iter_init_ordered (&iter, params->object);
  while (json_object_iter_next_ordered (&iter, &name, &member)) {
    g_autoptr (GString) expected = NULL;

    if (known != NULL && g_strv_contains (known, name))
      continue;
    if (known == NULL || known[0] == NULL) {
      set_error (params->path, name, error, "unknown member (none are expected here)");
      return FALSE;
    }
    expected = g_string_new (NULL);
    for (guint i = 0; known[i] != NULL; i++)
      g_string_append_printf (expected, "%s%s", i > 0 ? ", " : "", known[i]);
    set_error (params->path, name, error, "unknown member (expected: %s)", expected->str);
    return FALSE;
  }
  return TRUE;
}

static gboolean
check_string (const char *path, const char *name, JsonNode *node, DaParamsFlags flags, gsize max_len,
              GError **error)
{
  const char *str;
  gsize len;

  if (json_node_get_value_type (node) != G_TYPE_STRING) {
    g_autofree char *got = describe_value (node);

    set_error (path, name, error, "expected a string, got %s", got);
    return FALSE;
  }
  str = json_node_get_string (node);
  len = strlen (str);
  if ((flags & DA_PARAMS_NON_EMPTY) && len == 0) {
    set_error (path, name, error, "must not be empty");
    return FALSE;
  }
  if (len > max_len) {
    set_error (path, name, error, "expected a string of at most %" G_GSIZE_FORMAT " bytes, got %" G_GSIZE_FORMAT " bytes",
               max_len, len);
    return FALSE;
  }
  return TRUE;
}

/**
 * da_params_get_string:
 * @params: a reader
 * @name: the member
 * @flags: %DA_PARAMS_REQUIRED, %DA_PARAMS_NON_EMPTY
 * @max_len: the longest string accepted, in bytes
 * @out: (out) (transfer none): the string, valid UTF-8 without NUL (the
 *   parser guarantees it); it lives as long as the params
 * @error: return location
 *
 * Returns: %FALSE if the member is not a string of the right length
 */
gboolean
da_params_get_string (DaParams *params, const char *name, DaParamsFlags flags, gsize max_len, const char **out,
                      GError **error)
{
  JsonNode *node;

  if (!lookup (params, name, flags, &node, error))
    return FALSE;
  if (node == NULL)
    return TRUE;
  if (!check_string (params->path, name, node, flags, max_len, error))
    return FALSE;
  *out = json_node_get_string (node);
  return TRUE;
}

static gboolean
check_int (const char *path, const char *name, JsonNode *node, gint64 min, gint64 max, gint64 *out, GError **error)
{
  if (json_node_get_value_type (node) == G_TYPE_INT64) {
    gint64 value = json_node_get_int (node);

    if (value >= min && value <= max) {
      *out = value;
      return TRUE;
    }
  }
  {
    g_autofree char *got = describe_value (node);

    set_error (path, name, error, "expected an integer in %" G_GINT64_FORMAT "..%" G_GINT64_FORMAT ", got %s", min,
               max, got);
  }
  return FALSE;
}

/**
 * da_params_get_int:
 * @params: a reader
 * @name: the member
 * @flags: %DA_PARAMS_REQUIRED
 * @min: the smallest value accepted
 * @max: the largest value accepted
 * @out: (out): the value
 * @error: return location
 *
 * Only JSON integers count: 1.0, 1e3 and "1" are refused.
 *
 * Returns: %FALSE if the member is not an integer in [@min, @max]
 */
gboolean
da_params_get_int (DaParams *params, const char *name, DaParamsFlags flags, gint64 min, gint64 max, gint64 *out,
                   GError **error)
{
  JsonNode *node;

  if (!lookup (params, name, flags, &node, error))
    return FALSE;
  if (node == NULL)
    return TRUE;
  return check_int (params->path, name, node, min, max, out, error);
}

/* "0x" and 1..16 hex digits, or decimal digits without a leading zero */
static gboolean
parse_uint64_text (const char *text, guint64 *out)
{
  guint64 value = 0;
  const char *p = text;

  if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
    p += 2;
    if (*p == '\0' || strlen (p) > 16)
      return FALSE;
    for (; *p != '\0'; p++) {
      int d = g_ascii_xdigit_value (*p);

      if (d < 0)
        return FALSE;
      value = (value << 4) | (guint64) d;
    }
    *out = value;
    return TRUE;
  }
  if (*p == '\0' || (p[0] == '0' && p[1] != '\0'))
    return FALSE;
  for (; *p != '\0'; p++) {
    guint d;

    if (!g_ascii_isdigit (*p))
      return FALSE;
    d = (guint) (*p - '0');
    if (value > (G_MAXUINT64 - d) / 10)
      return FALSE;
    value = value * 10 + d;
  }
  *out = value;
  return TRUE;
}

/**
 * da_params_get_uint64:
 * @params: a reader
 * @name: the member
 * @flags: %DA_PARAMS_REQUIRED; %DA_PARAMS_ALLOW_STRING to accept the
 *   value as a string too, "0x" hex (1..16 digits) or decimal, which is
 *   the only way to send values above %G_MAXINT64
 * @min: the smallest value accepted
 * @max: the largest value accepted
 * @out: (out): the value
 * @error: return location
 *
 * Returns: %FALSE if the member is not an unsigned integer in [@min, @max]
 */
gboolean
da_params_get_uint64 (DaParams *params, const char *name, DaParamsFlags flags, guint64 min, guint64 max,
                      guint64 *out, GError **error)
{
  JsonNode *node;
  GType type;
  guint64 value;
  gboolean ok = FALSE;

  if (!lookup (params, name, flags, &node, error))
    return FALSE;
  if (node == NULL)
    return TRUE;
  type = json_node_get_value_type (node);
  if (type == G_TYPE_INT64 && json_node_get_int (node) >= 0) {
    value = (guint64) json_node_get_int (node);
    ok = TRUE;
  } else if (type == G_TYPE_STRING && (flags & DA_PARAMS_ALLOW_STRING)) {
    ok = parse_uint64_text (json_node_get_string (node), &value);
  }
  if (ok && value >= min && value <= max) {
    *out = value;
    return TRUE;
  }
  {
    g_autofree char *got = describe_value (node);

    set_error (params->path, name, error, "expected an integer in %" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT "%s, got %s",
               min, max, (flags & DA_PARAMS_ALLOW_STRING) ? " (a number, or a decimal or 0x string)" : "", got);
  }
  return FALSE;
}

/**
 * da_params_get_boolean:
 * @params: a reader
 * @name: the member
 * @flags: %DA_PARAMS_REQUIRED
 * @out: (out): the value
 * @error: return location
 *
 * Returns: %FALSE unless the member is true or false
 */
gboolean
da_params_get_boolean (DaParams *params, const char *name, DaParamsFlags flags, gboolean *out, GError **error)
{
  JsonNode *node;

  if (!lookup (params, name, flags, &node, error))
    return FALSE;
  if (node == NULL)
    return TRUE;
  if (json_node_get_value_type (node) != G_TYPE_BOOLEAN) {
    g_autofree char *got = describe_value (node);

    set_error (params->path, name, error, "expected true or false, got %s", got);
    return FALSE;
  }
  *out = json_node_get_boolean (node);
  return TRUE;
}

/**
 * da_params_get_enum:
 * @params: a reader
 * @name: the member
 * @flags: %DA_PARAMS_REQUIRED
 * @choices: (array zero-terminated=1): the strings accepted
 * @out: (out): the index of the one given in @choices
 * @error: return location
 *
 * Returns: %FALSE unless the member is one of @choices
 */
gboolean
da_params_get_enum (DaParams *params, const char *name, DaParamsFlags flags, const char *const *choices, guint *out,
                    GError **error)
{
  JsonNode *node;
  g_autoptr (GString) expected = g_string_new (NULL);
  g_autofree char *got = NULL;

  if (!lookup (params, name, flags, &node, error))
    return FALSE;
  if (node == NULL)
    return TRUE;
  if (json_node_get_value_type (node) == G_TYPE_STRING) {
    const char *value = json_node_get_string (node);

    for (guint i = 0; choices[i] != NULL; i++) {
      if (strcmp (choices[i], value) == 0) {
        *out = i;
        return TRUE;
      }
    }
  }
  for (guint i = 0; choices[i] != NULL; i++) {
    if (i > 0)
      g_string_append (expected, ", ");
    da_json_append_string (expected, choices[i], -1);
  }
  got = describe_value (node);
  set_error (params->path, name, error, "expected one of %s, got %s", expected->str, got);
  return FALSE;
}

static gboolean
get_array (DaParams *params, const char *name, DaParamsFlags flags, guint max_items, const char *what,
           JsonArray **out, GError **error)
{
  JsonNode *node;
  guint n;

  *out = NULL;
  if (!lookup (params, name, flags, &node, error))
    return FALSE;
  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (node)) {
    g_autofree char *got = describe_value (node);

    set_error (params->path, name, error, "expected an array of %s, got %s", what, got);
    return FALSE;
  }
  n = json_array_get_length (json_node_get_array (node));
  if (n > max_items) {
    set_error (params->path, name, error, "expected at most %u items, got %u", max_items, n);
    return FALSE;
  }
  if (n == 0 && (flags & DA_PARAMS_NON_EMPTY)) {
    set_error (params->path, name, error, "must not be empty");
    return FALSE;
  }
  *out = json_node_get_array (node);
  return TRUE;
}

static char *
item_path (DaParams *params, const char *name, guint index)
{
  GString *out = g_string_new (NULL);

  append_member_path (out, params->path, name);
  g_string_append_printf (out, "[%u]", index);
  return g_string_free (out, FALSE);
}

/**
 * da_params_get_strv:
 * @params: a reader
 * @name: the member
 * @flags: %DA_PARAMS_REQUIRED; %DA_PARAMS_NON_EMPTY for at least one item
 * @max_items: the most items accepted
 * @max_len: the longest item accepted, in bytes; items are never empty
 * @out: (out) (transfer full): the strings, left alone when absent
 * @error: return location; an item's error names it, "params.tags[2]"
 *
 * Returns: %FALSE unless the member is an array of fitting strings
 */
gboolean
da_params_get_strv (DaParams *params, const char *name, DaParamsFlags flags, guint max_items, gsize max_len,
                    GStrv *out, GError **error)
{
  JsonArray *array;
  g_autoptr (GStrvBuilder) builder = NULL;
  guint n;

  if (!get_array (params, name, flags, max_items, "strings", &array, error))
    return FALSE;
  if (array == NULL)
    return TRUE;
  builder = g_strv_builder_new ();
  n = json_array_get_length (array);
  for (guint i = 0; i < n; i++) {
    JsonNode *item = json_array_get_element (array, i);
    g_autofree char *path = item_path (params, name, i);

    if (!check_string (path, NULL, item, DA_PARAMS_NON_EMPTY, max_len, error))
      return FALSE;
    g_strv_builder_add (builder, json_node_get_string (item));
  }
  *out = g_strv_builder_end (builder);
  return TRUE;
}

/**
 * da_params_get_object:
 * @params: a reader
 * @name: the member
 * @flags: %DA_PARAMS_REQUIRED
 * @out: (out) (transfer full): a reader over the member, whose messages
 *   name it as "params.name"; left alone when absent
 * @error: return location
 *
 * Returns: %FALSE unless the member is an object
 */
gboolean
da_params_get_object (DaParams *params, const char *name, DaParamsFlags flags, DaParams **out, GError **error)
{
  JsonNode *node;
  g_autofree char *path = NULL;

  if (!lookup (params, name, flags, &node, error))
    return FALSE;
  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    g_autofree char *got = describe_value (node);

    set_error (params->path, name, error, "expected an object, got %s", got);
    return FALSE;
  }
  path = da_params_dup_member_path (params, name);
  *out = da_params_new_for_object (json_node_get_object (node), path);
  return TRUE;
}

/**
 * da_params_get_object_array:
 * @params: a reader
 * @name: the member
 * @flags: %DA_PARAMS_REQUIRED; %DA_PARAMS_NON_EMPTY for at least one item
 * @max_items: the most items accepted
 * @out: (out) (transfer full) (element-type DaParams): a reader per item,
 *   named "params.name[i]"; left alone when absent
 * @error: return location
 *
 * Returns: %FALSE unless the member is an array of objects
 */
gboolean
da_params_get_object_array (DaParams *params, const char *name, DaParamsFlags flags, guint max_items,
                            GPtrArray **out, GError **error)
{
  JsonArray *array;
  g_autoptr (GPtrArray) items = NULL;
  guint n;

  if (!get_array (params, name, flags, max_items, "objects", &array, error))
    return FALSE;
  if (array == NULL)
    return TRUE;
  n = json_array_get_length (array);
  items = g_ptr_array_new_full (n, (GDestroyNotify) da_params_free);
  for (guint i = 0; i < n; i++) {
    JsonNode *item = json_array_get_element (array, i);
    g_autofree char *path = item_path (params, name, i);

    if (!JSON_NODE_HOLDS_OBJECT (item)) {
      g_autofree char *got = describe_value (item);

      set_error (path, NULL, error, "expected an object, got %s", got);
      return FALSE;
    }
    g_ptr_array_add (items, da_params_new_for_object (json_node_get_object (item), path));
  }
  *out = g_steal_pointer (&items);
  return TRUE;
}

/**
 * da_params_get_int_range:
 * @params: a reader
 * @name: the member
 * @flags: %DA_PARAMS_REQUIRED
 * @min: the smallest value accepted
 * @max: the largest value accepted
 * @lo: (out): the first value of the range
 * @hi: (out): the last value of the range (inclusive)
 * @error: return location
 *
 * Reads an inclusive range written as an integer v (the range v..v),
 * as [lo, hi], or as {"min": lo, "max": hi} where either bound may be
 * left out and then defaults to @min or @max.
 *
 * Returns: %FALSE unless the member is such a range within [@min, @max]
 */
gboolean
da_params_get_int_range (DaParams *params, const char *name, DaParamsFlags flags, gint64 min, gint64 max,
                         gint64 *lo, gint64 *hi, GError **error)
{
  JsonNode *node;
  g_autofree char *path = NULL;
  gint64 first = min;
  gint64 last = max;

  if (!lookup (params, name, flags, &node, error))
    return FALSE;
  if (node == NULL)
    return TRUE;
  path = da_params_dup_member_path (params, name);
  if (json_node_get_value_type (node) == G_TYPE_INT64) {
    if (!check_int (path, NULL, node, min, max, &first, error))
      return FALSE;
    last = first;
  } else if (JSON_NODE_HOLDS_ARRAY (node) && json_array_get_length (json_node_get_array (node)) == 2) {
    JsonArray *array = json_node_get_array (node);
    g_autofree char *path0 = g_strdup_printf ("%s[0]", path);
    g_autofree char *path1 = g_strdup_printf ("%s[1]", path);

    if (!check_int (path0, NULL, json_array_get_element (array, 0), min, max, &first, error) ||
        !check_int (path1, NULL, json_array_get_element (array, 1), min, max, &last, error))
      return FALSE;
  } else if (JSON_NODE_HOLDS_OBJECT (node)) {
    static const char *const bounds[] = { "min", "max", NULL };
    g_autoptr (DaParams) range = da_params_new_for_object (json_node_get_object (node), path);

    if (!da_params_check_members (range, bounds, error) ||
        !da_params_get_int (range, "min", DA_PARAMS_OPTIONAL, min, max, &first, error) ||
        !da_params_get_int (range, "max", DA_PARAMS_OPTIONAL, min, max, &last, error))
      return FALSE;
  } else {
    g_autofree char *got = describe_value (node);

    set_error (path, NULL, error,
               "expected an integer in %" G_GINT64_FORMAT "..%" G_GINT64_FORMAT
               ", [lo, hi] or {\"min\": lo, \"max\": hi}, got %s",
               min, max, got);
    return FALSE;
  }
  if (first > last) {
    set_error (path, NULL, error, "the range is empty: %" G_GINT64_FORMAT " is greater than %" G_GINT64_FORMAT, first,
               last);
    return FALSE;
  }
  *lo = first;
  *hi = last;
  return TRUE;
}

/**
 * da_params_get_scope:
 * @params: the parameters of an addr.* or pool.* call
 * @vm: (out) (transfer none): the VM name, or %NULL for "scope": "host"
 * @error: return location
 *
 * Reads where a reservation lives: "vm" (a name) or "scope": "host",
 * exactly one of them.
 *
 * Returns: %FALSE unless exactly one of them is given and valid
 */
gboolean
da_params_get_scope (DaParams *params, const char **vm, GError **error)
{
  static const char *const scopes[] = { "host", NULL };
  gboolean has_vm = da_params_has (params, "vm");
  gboolean has_scope = da_params_has (params, "scope");
  guint scope = 0;

  if (has_vm && has_scope) {
    set_error (params->path, NULL, error, "give either \"vm\" or \"scope\", not both");
    return FALSE;
  }
  if (has_scope) {
    if (!da_params_get_enum (params, "scope", DA_PARAMS_REQUIRED, scopes, &scope, error))
      return FALSE;
    *vm = NULL;
    return TRUE;
  }
  if (!has_vm) {
    set_error (params->path, "vm", error, "required member is missing (or give \"scope\": \"host\")");
    return FALSE;
  }
  return da_params_get_string (params, "vm", DA_PARAMS_REQUIRED | DA_PARAMS_NON_EMPTY, DA_LIMIT_NAME_MAX, vm, error);
}
