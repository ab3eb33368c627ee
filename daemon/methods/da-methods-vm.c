/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "da-methods.h"
#include "protocol/da-json.h"
#include "protocol/da-limits.h"
#include "protocol/da-rpc-error.h"

static DaScope *
get_vm (DaMethodContext *ctx, DaParams *params, GError **error)
{
  const char *vm = NULL;
  DaScope *scope;

  if (!da_methods_get_name (params, "vm", "vm name", DA_PARAMS_REQUIRED, &vm, error))
    return NULL;
  scope = da_engine_lookup_vm (ctx->engine, vm);
  if (scope == NULL)
    g_set_error (error, DA_RPC_ERROR, DA_RPC_ERROR_NOT_FOUND, "no vm %s", vm);
  return scope;
}

JsonNode *
da_method_vm_create (DaMethodContext *ctx, DaParams *params, GError **error)
{
  static const char *const members[] = { "vm", "template", NULL };
  const char *vm = NULL;
  const char *template_name = "pc";
  DaScope *scope;
  JsonObject *out;

  if (!da_params_check_members (params, members, error)
      || !da_methods_get_name (params, "vm", "vm name", DA_PARAMS_REQUIRED, &vm, error)
      || !da_methods_get_name (params, "template", "template", DA_PARAMS_OPTIONAL, &template_name, error))
    return NULL;
  /* a retry of a create that happened changes nothing */
  scope = da_engine_lookup_vm (ctx->engine, vm);
  if (scope != NULL && g_strcmp0 (da_scope_get_template (scope), template_name) == 0) {
    out = json_object_new ();
    json_object_set_string_member (out, "vm", vm);
    json_object_set_string_member (out, "template", template_name);
    return da_methods_object_node (out);
  }
  if (scope != NULL) {
    g_set_error (error, DA_RPC_ERROR, DA_RPC_ERROR_CONFLICT, "vm %s exists with template %s, not %s", vm,
                 da_scope_get_template (scope), template_name);
    return NULL;
  }
  scope = da_engine_create_vm (ctx->engine, vm, template_name, ctx->txn, error);
  if (scope == NULL)
    return NULL;
  out = json_object_new ();
  json_object_set_string_member (out, "vm", vm);
  json_object_set_string_member (out, "template", da_scope_get_template (scope));
  return da_methods_object_node (out);
}

JsonNode *
da_method_vm_delete (DaMethodContext *ctx, DaParams *params, GError **error)
{
  static const char *const members[] = { "vm", NULL };
  g_autoptr (GPtrArray) held = NULL;
  g_autofree char *name = NULL;
  DaScope *scope;
  JsonObject *out;

  if (!da_params_check_members (params, members, error) || (scope = get_vm (ctx, params, error)) == NULL)
    return NULL;
  name = g_strdup (da_scope_get_name (scope));
  /* watchers hear of every reservation that goes with the vm */
  held = da_scope_list_reservations (scope);
  for (guint i = 0; i < held->len; i++) {
    DaReservation *res = g_ptr_array_index (held, i);
    g_autofree char *address = da_reservation_format_address (res);

    da_methods_notify (ctx, scope, "released", da_reservation_get_alias (res),
                       da_address_type_get_name (da_reservation_get_address_type (res)), address, NULL);
  }
  if (!da_engine_delete_vm (ctx->engine, name, ctx->txn, error))
    return NULL;
  out = json_object_new ();
  json_object_set_string_member (out, "vm", name);
  json_object_set_int_member (out, "released", held->len);
  return da_methods_object_node (out);
}

JsonNode *
da_method_vm_list (DaMethodContext *ctx, DaParams *params, GError **error)
{
  static const char *const members[] = { NULL };
  g_autoptr (GPtrArray) vms = NULL;
  JsonArray *out;
  JsonNode *node;

  if (!da_params_check_members (params, members, error))
    return NULL;
  vms = da_engine_list_vms (ctx->engine);
  out = json_array_new ();
  for (guint i = 0; i < vms->len; i++) {
    DaScope *scope = g_ptr_array_index (vms, i);
    JsonObject *obj = json_object_new ();

    json_object_set_string_member (obj, "vm", da_scope_get_name (scope));
    json_object_set_string_member (obj, "template", da_scope_get_template (scope));
    json_object_set_int_member (obj, "reservations", da_scope_get_n_reservations (scope));
    json_array_add_object_element (out, obj);
  }
  node = json_node_new (JSON_NODE_ARRAY);
  json_node_take_array (node, out);
  return node;
}

/* a VM's reservations, or with vm NULL the host's, as text */
static JsonNode *
reservations_result (DaMethodContext *ctx, DaScope *scope, gboolean vm)
{
  g_autoptr (GPtrArray) held = da_scope_list_reservations (scope);
  /* a scope's reservations are most of it: written as text straight away */
  GString *text = g_string_new ("{");

  if (vm) {
    g_string_append (text, "\"vm\":");
    da_json_append_string (text, da_scope_get_name (scope), -1);
    g_string_append (text, ",\"template\":");
    da_json_append_string (text, da_scope_get_template (scope), -1);
    g_string_append_c (text, ',');
  }
  g_string_append (text, "\"reservations\":");
  da_methods_append_reservations (text, held);
  g_string_append_c (text, '}');
  return da_methods_text_result (ctx, text);
}

JsonNode *
da_method_vm_get (DaMethodContext *ctx, DaParams *params, GError **error)
{
  static const char *const members[] = { "vm", NULL };
  DaScope *scope;

  if (!da_params_check_members (params, members, error) || (scope = get_vm (ctx, params, error)) == NULL)
    return NULL;
  return reservations_result (ctx, scope, TRUE);
}

/* the host scope's reservations (MACs, vsock CIDs, VNC ports ...) */
JsonNode *
da_method_host_get (DaMethodContext *ctx, DaParams *params, GError **error)
{
  static const char *const members[] = { NULL };

  if (!da_params_check_members (params, members, error))
    return NULL;
  return reservations_result (ctx, da_engine_get_host (ctx->engine), FALSE);
}
