/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "daemon/da-daemon.h"
#include "da-methods.h"
#include "protocol/da-openrpc.h"

static const char *const no_members[] = { NULL };

JsonNode *
da_method_server_info (DaMethodContext *ctx, DaParams *params, GError **error)
{
  if (!da_params_check_members (params, no_members, error))
    return NULL;
  return da_methods_object_node (da_daemon_describe (ctx->daemon));
}

JsonNode *
da_method_rpc_discover (DaMethodContext *ctx, DaParams *params, GError **error)
{
  if (!da_params_check_members (params, no_members, error))
    return NULL;
  return da_openrpc_get ();
}

static JsonNode *
strv_to_json (const char *const *strv)
{
  JsonArray *array = json_array_new ();
  JsonNode *node = json_node_new (JSON_NODE_ARRAY);

  for (guint i = 0; strv != NULL && strv[i] != NULL; i++)
    json_array_add_string_element (array, strv[i]);
  json_node_take_array (node, array);
  return node;
}

static char *
describe_pool (DaAddressType *type)
{
  GString *out = g_string_new (NULL);
  DaRangeMapIter iter;
  DaRange range;

  da_range_map_iter_init (&iter, da_address_type_get_default_pool (type), 0);
  while (da_range_map_iter_next (&iter, &range, NULL)) {
    g_autofree char *a = da_address_type_format_key (type, range.start);
    g_autofree char *b = da_address_type_format_key (type, range.end);

    g_string_append_printf (out, "%s%s-%s", out->len > 0 ? ";" : "", a, b);
  }
  return g_string_free (out, FALSE);
}

JsonNode *
da_method_types_list (DaMethodContext *ctx, DaParams *params, GError **error)
{
  GPtrArray *types;
  JsonArray *out;
  JsonNode *node;

  if (!da_params_check_members (params, no_members, error))
    return NULL;
  types = da_catalog_get_types (da_engine_get_catalog (ctx->engine));
  out = json_array_new ();
  for (guint i = 0; i < types->len; i++) {
    DaAddressType *type = g_ptr_array_index (types, i);
    JsonObject *obj = json_object_new ();
    JsonArray *dims = json_array_new ();
    g_autofree char *pool = describe_pool (type);

    for (guint d = 0; d < da_address_type_get_n_dimensions (type); d++) {
      const DaDimension *dim = da_address_type_get_dimension (type, d);
      JsonObject *dobj = json_object_new ();

      json_object_set_string_member (dobj, "name", dim->name);
      /* JSON numbers beyond 2^53 lose precision in many clients: text then */
      if (dim->max > G_MAXINT32) {
        g_autofree char *lo = g_strdup_printf ("0x%" G_GINT64_MODIFIER "x", dim->min);
        g_autofree char *hi = g_strdup_printf ("0x%" G_GINT64_MODIFIER "x", dim->max);

        json_object_set_string_member (dobj, "min", lo);
        json_object_set_string_member (dobj, "max", hi);
      } else {
        json_object_set_int_member (dobj, "min", (gint64) dim->min);
        json_object_set_int_member (dobj, "max", (gint64) dim->max);
      }
      json_array_add_object_element (dims, dobj);
    }
    json_object_set_string_member (obj, "name", da_address_type_get_name (type));
    json_object_set_string_member (obj, "description", da_address_type_get_description (type));
    json_object_set_array_member (obj, "dimensions", dims);
    json_object_set_string_member (obj, "format", da_address_type_get_format (type));
    json_object_set_string_member (obj, "scope", da_type_scope_to_string (da_address_type_get_scope (type)));
    json_object_set_string_member (obj, "pool", pool);
    json_array_add_object_element (out, obj);
  }
  node = json_node_new (JSON_NODE_ARRAY);
  json_node_take_array (node, out);
  return node;
}

JsonNode *
da_method_templates_list (DaMethodContext *ctx, DaParams *params, GError **error)
{
  GPtrArray *templates;
  JsonArray *out;
  JsonNode *node;

  if (!da_params_check_members (params, no_members, error))
    return NULL;
  templates = da_catalog_get_templates (da_engine_get_catalog (ctx->engine));
  out = json_array_new ();
  for (guint i = 0; i < templates->len; i++) {
    const DaTemplate *tmpl = g_ptr_array_index (templates, i);
    JsonObject *obj = json_object_new ();

    json_object_set_string_member (obj, "name", tmpl->name);
    json_object_set_string_member (obj, "description", tmpl->description != NULL ? tmpl->description : tmpl->name);
    json_object_set_member (obj, "machines", strv_to_json ((const char *const *) tmpl->machines));
    json_array_add_object_element (out, obj);
  }
  node = json_node_new (JSON_NODE_ARRAY);
  json_node_take_array (node, out);
  return node;
}
