/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "daemon/alloc/da-alloc-error.h"
#include "da-methods.h"
#include "protocol/da-json.h"
#include "protocol/da-limits.h"
#include "protocol/da-rpc-error.h"

/* sorted by name: the table rpc.discover's description is checked against */
static const DaMethod methods[] = {
  { "addr.commit", da_method_addr_commit, DA_METHOD_MUTATES },
  { "addr.lookup", da_method_addr_lookup, 0 },
  { "addr.release", da_method_addr_release, DA_METHOD_MUTATES },
  { "addr.reserve", da_method_addr_reserve, DA_METHOD_MUTATES },
  { "device.attach", da_method_device_attach, DA_METHOD_MUTATES },
  { "device.detach", da_method_device_detach, DA_METHOD_MUTATES },
  { "domain.assign", da_method_domain_assign, DA_METHOD_MUTATES },
  { "domain.import", da_method_domain_import, DA_METHOD_MUTATES },
  { "host.get", da_method_host_get, 0 },
  { "pool.stats", da_method_pool_stats, 0 },
  { "rpc.discover", da_method_rpc_discover, 0 },
  { "server.info", da_method_server_info, 0 },
  { "templates.list", da_method_templates_list, 0 },
  { "types.list", da_method_types_list, 0 },
  { "vm.create", da_method_vm_create, DA_METHOD_MUTATES },
  { "vm.delete", da_method_vm_delete, DA_METHOD_MUTATES },
  { "vm.get", da_method_vm_get, 0 },
  { "vm.list", da_method_vm_list, 0 },
  { "watch", da_method_watch, 0 },
};

const DaMethod *
da_methods_lookup (const char *name)
{
  for (guint i = 0; name != NULL && i < G_N_ELEMENTS (methods); i++)
    if (strcmp (methods[i].name, name) == 0)
      return &methods[i];
  return NULL;
}

const DaMethod *
da_methods_get_all (guint *n_methods)
{
  *n_methods = G_N_ELEMENTS (methods);
  return methods;
}

void
da_methods_map_error (GError **error)
{
  static const struct {
    DaAllocError alloc;
    DaRpcError rpc;
  } map[] = {
    { DA_ALLOC_ERROR_INVALID, DA_RPC_ERROR_INVALID_PARAMS },
    { DA_ALLOC_ERROR_INVALID_ADDRESS, DA_RPC_ERROR_INVALID_ADDRESS },
    { DA_ALLOC_ERROR_NOT_FOUND, DA_RPC_ERROR_NOT_FOUND },
    { DA_ALLOC_ERROR_CONFLICT, DA_RPC_ERROR_CONFLICT },
    { DA_ALLOC_ERROR_EXHAUSTED, DA_RPC_ERROR_EXHAUSTED },
    { DA_ALLOC_ERROR_LIMIT, DA_RPC_ERROR_LIMIT },
  };

  if (error == NULL || *error == NULL || (*error)->domain == DA_RPC_ERROR)
    return;
  if ((*error)->domain == DA_ALLOC_ERROR) {
    for (guint i = 0; i < G_N_ELEMENTS (map); i++) {
      if ((*error)->code == (int) map[i].alloc) {
        (*error)->domain = DA_RPC_ERROR;
        (*error)->code = map[i].rpc;
        return;
      }
    }
  }
  /* anything else is ours to fix, not the caller's */
  g_warning ("unexpected error: %s", (*error)->message);
  (*error)->domain = DA_RPC_ERROR;
  (*error)->code = DA_RPC_ERROR_INTERNAL;
}

static char *
format_time (gint64 usec)
{
  g_autoptr (GDateTime) t = g_date_time_new_from_unix_utc (usec / G_USEC_PER_SEC);

  return t != NULL ? g_date_time_format (t, "%Y-%m-%dT%H:%M:%SZ") : NULL;
}

/* the (first) address's value in each dimension, by name; a dimension
 * wider than 31 bits as hex text, as types.list gives its bounds */
static void
append_fields (GString *out, DaAddressType *type, guint64 key)
{
  guint64 digits[DA_MAX_DIMS];

  da_address_type_decode (type, key, digits);
  g_string_append_c (out, '{');
  for (guint d = 0; d < da_address_type_get_n_dimensions (type); d++) {
    const DaDimension *dim = da_address_type_get_dimension (type, d);

    if (d > 0)
      g_string_append_c (out, ',');
    da_json_append_string (out, dim->name, -1);
    g_string_append_c (out, ':');
    if (dim->max > G_MAXINT32)
      g_string_append_printf (out, "\"0x%" G_GINT64_MODIFIER "x\"", digits[d]);
    else
      da_json_append_uint (out, digits[d]);
  }
  g_string_append_c (out, '}');
}

static void
append_member (GString *out, const char *name, const char *value)
{
  g_string_append_c (out, ',');
  da_json_append_string (out, name, -1);
  g_string_append_c (out, ':');
  da_json_append_string (out, value, -1);
}

/**
 * da_methods_append_reservation:
 * @out: where to append
 * @res: a reservation
 *
 * Appends the Reservation object of the protocol as compact JSON text:
 * the one place its members are written.  Results that are mostly
 * reservations (addr.lookup, addr.reserve, vm.get) are written as text
 * straight away; building a tree first cost more than the lookup itself.
 */
void
da_methods_append_reservation (GString *out, DaReservation *res)
{
  DaAddressType *type = da_reservation_get_address_type (res);
  guint64 count = da_reservation_get_count (res);
  g_autofree char *address = da_reservation_format_address (res);

  g_string_append (out, "{\"alias\":");
  da_json_append_string (out, da_reservation_get_alias (res), -1);
  append_member (out, "type", da_address_type_get_name (type));
  append_member (out, "address", address);
  g_string_append (out, ",\"fields\":");
  append_fields (out, type, da_reservation_get_start (res));
  g_string_append (out, ",\"count\":");
  da_json_append_uint (out, MIN (count, (guint64) G_MAXINT64));
  if (count > 1) {
    g_autofree char *end = da_address_type_format_key (type, da_reservation_get_start (res) + (count - 1));

    append_member (out, "end", end);
  }
  append_member (out, "mode", da_mode_to_string (da_reservation_get_mode (res)));
  append_member (out, "state", da_state_to_string (da_reservation_get_state (res)));
  if (da_reservation_get_flags (res) & DA_RESERVATION_BUILTIN)
    g_string_append (out, ",\"builtin\":true");
  if (da_reservation_get_state (res) == DA_STATE_HELD) {
    g_autofree char *when = format_time (da_reservation_get_deadline (res));

    if (when != NULL)
      append_member (out, "expires_at", when);
  }
  g_string_append_c (out, '}');
}

/* an array of them */
void
da_methods_append_reservations (GString *out, GPtrArray *reservations)
{
  g_string_append_c (out, '[');
  for (guint i = 0; i < reservations->len; i++) {
    if (i > 0)
      g_string_append_c (out, ',');
    da_methods_append_reservation (out, g_ptr_array_index (reservations, i));
  }
  g_string_append_c (out, ']');
}

/* the same object as a tree, for results that hold a few among other things */
JsonObject *
da_methods_reservation_object (DaReservation *res)
{
  g_autoptr (GString) text = g_string_new (NULL);
  g_autoptr (JsonNode) node = NULL;

  da_methods_append_reservation (text, res);
  node = da_json_parse (text->str, text->len, NULL, NULL, NULL);
  g_assert (node != NULL && JSON_NODE_HOLDS_OBJECT (node));
  return json_object_ref (json_node_get_object (node));
}

/**
 * da_methods_text_result:
 * @ctx: the call
 * @text: (transfer full): the result, written as compact JSON text
 *
 * For a handler that writes its result as text: it returns what this
 * returns, and the text is the answer.
 *
 * Returns: (transfer full): a stand-in node for the handler to return
 */
JsonNode *
da_methods_text_result (DaMethodContext *ctx, GString *text)
{
  g_assert (ctx->result_text == NULL);
  ctx->result_text = text;
  return json_node_new (JSON_NODE_NULL);
}

/**
 * da_methods_take_result_text:
 * @ctx: the call
 * @result: (transfer full): what the handler returned
 *
 * Returns: (transfer full): the result as compact JSON text, whichever
 *   way the handler gave it
 */
GString *
da_methods_take_result_text (DaMethodContext *ctx, JsonNode *result)
{
  GString *text = g_steal_pointer (&ctx->result_text);

  if (text == NULL) {
    text = g_string_new (NULL);
    da_json_append (text, result);
  }
  json_node_unref (result);
  return text;
}

/* a result object as the node a handler returns; takes the object */
JsonNode *
da_methods_object_node (JsonObject *object)
{
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);

  json_node_take_object (node, object);
  return node;
}

JsonNode *
da_methods_reservation_result (DaMethodContext *ctx, DaReservation *res)
{
  GString *text = g_string_sized_new (256);

  da_methods_append_reservation (text, res);
  return da_methods_text_result (ctx, text);
}

/* the name rules of the engine, with the member's path in front */
static gboolean
check_name (DaParams *params, const char *member, const char *what, const char *name, GError **error)
{
  g_autofree char *path = NULL;

  if (da_name_validate (what, name, error))
    return TRUE;
  path = da_params_dup_member_path (params, member);
  da_methods_map_error (error);
  g_prefix_error (error, "%s: ", path);
  return FALSE;
}

/**
 * da_methods_get_name:
 * @params: a reader
 * @member: the member, such as "vm" or "alias"
 * @what: how the message names it, such as "vm name"
 * @flags: %DA_PARAMS_REQUIRED or not
 * @out: (out) (transfer none): the name; left alone when absent
 * @error: invalid params, the message starting with the member's path
 *
 * Reads a name (a VM, alias, type or template) by the name rules: what can
 * never name anything is an invalid parameter, not something not found.
 *
 * Returns: %FALSE unless the member is absent or a valid name
 */
gboolean
da_methods_get_name (DaParams *params, const char *member, const char *what, DaParamsFlags flags, const char **out,
                     GError **error)
{
  const char *name = NULL;

  if (!da_params_get_string (params, member, flags | DA_PARAMS_NON_EMPTY, DA_LIMIT_NAME_MAX, &name, error))
    return FALSE;
  if (name == NULL)
    return TRUE;
  if (!check_name (params, member, what, name, error))
    return FALSE;
  *out = name;
  return TRUE;
}

/* "vm" or "scope": "host"; a vm that does not exist is not-found */
DaScope *
da_methods_get_scope (DaMethodContext *ctx, DaParams *params, GError **error)
{
  const char *vm = NULL;
  DaScope *scope;

  if (!da_params_get_scope (params, &vm, error))
    return NULL;
  if (vm == NULL)
    return da_engine_get_host (ctx->engine);
  if (!check_name (params, "vm", "vm name", vm, error))
    return NULL;
  scope = da_engine_lookup_vm (ctx->engine, vm);
  if (scope == NULL)
    g_set_error (error, DA_RPC_ERROR, DA_RPC_ERROR_NOT_FOUND, "no vm %s", vm);
  return scope;
}

void
da_methods_notify (DaMethodContext *ctx, DaScope *scope, const char *event, const char *alias,
                   const char *type, const char *address, const char *state)
{
  JsonObject *obj = json_object_new ();
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);

  if (da_scope_is_host (scope))
    json_object_set_string_member (obj, "scope", "host");
  else
    json_object_set_string_member (obj, "vm", da_scope_get_name (scope));
  json_object_set_string_member (obj, "event", event);
  if (alias != NULL)
    json_object_set_string_member (obj, "alias", alias);
  if (type != NULL)
    json_object_set_string_member (obj, "type", type);
  if (address != NULL)
    json_object_set_string_member (obj, "address", address);
  if (state != NULL)
    json_object_set_string_member (obj, "state", state);
  json_node_take_object (node, obj);
  if (ctx->notifications == NULL)
    ctx->notifications = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  g_ptr_array_add (ctx->notifications, node);
}

/* one addr.changed per reservation change the call made; released
 * reservations are described by the change itself, since they are gone */
void
da_methods_notify_changes (DaMethodContext *ctx, GPtrArray *changes, guint from)
{
  for (guint i = from; changes != NULL && i < changes->len; i++) {
    DaChange *c = g_ptr_array_index (changes, i);
    DaScope *scope = da_engine_lookup_scope (ctx->engine, c->scope);
    DaReservation *res = scope != NULL && c->alias != NULL ? da_scope_lookup (scope, c->alias) : NULL;
    g_autofree char *address = NULL;

    if (scope == NULL)
      continue;
    switch (c->kind) {
    case DA_CHANGE_RESERVE:
      if (res == NULL)
        break;
      address = da_reservation_format_address (res);
      da_methods_notify (ctx, scope, "reserved", c->alias, c->type, address, da_state_to_string (c->state));
      break;
    case DA_CHANGE_STATE:
      if (res == NULL)
        break;
      address = da_reservation_format_address (res);
      da_methods_notify (ctx, scope, c->state == DA_STATE_RELEASING ? "releasing" : "committed", c->alias,
                         da_address_type_get_name (da_reservation_get_address_type (res)), address,
                         da_state_to_string (c->state));
      break;
    case DA_CHANGE_RELEASE: {
      DaAddressType *type = c->type != NULL ? da_catalog_get_type (da_engine_get_catalog (ctx->engine), c->type) : NULL;

      if (type != NULL)
        address = da_address_type_format_key (type, c->start);
      da_methods_notify (ctx, scope, c->expired ? "expired" : "released", c->alias, c->type, address, NULL);
      break;
    }
    default:
      break;
    }
  }
}
