/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "daemon/da-daemon.h"
#include "daemon/libvirt/da-domain.h"
#include "da-methods.h"
#include "protocol/da-limits.h"
#include "protocol/da-rpc-error.h"

static const char *const phase_names[] = { "begin", "confirm", NULL };

static DaDomainOptions
options_for (DaMethodContext *ctx, guint flags)
{
  DaDomainOptions options = { da_daemon_get_config (ctx->daemon)->max_xml, flags, NULL };

  return options;
}

/* vm and xml, both required, the XML within the configured size */
static gboolean
get_vm_and_xml (DaMethodContext *ctx, DaParams *params, const char **vm, const char **xml, GError **error)
{
  return da_methods_get_name (params, "vm", "vm name", DA_PARAMS_REQUIRED, vm, error)
         && da_params_get_string (params, "xml", DA_PARAMS_REQUIRED | DA_PARAMS_NON_EMPTY,
                                  da_daemon_get_config (ctx->daemon)->max_xml, xml, error);
}

static JsonArray *
reservations_array (GPtrArray *reservations)
{
  JsonArray *list = json_array_new ();

  for (guint i = 0; reservations != NULL && i < reservations->len; i++)
    json_array_add_object_element (list, da_methods_reservation_object (g_ptr_array_index (reservations, i)));
  return list;
}

JsonNode *
da_method_domain_assign (DaMethodContext *ctx, DaParams *params, GError **error)
{
  static const char *const members[] = { "vm", "xml", NULL };
  DaDomainOptions options = options_for (ctx, 0);
  g_autoptr (DaDomainResult) result = NULL;
  const char *vm = NULL, *xml = NULL;
  JsonArray *added;
  JsonObject *out;

  if (!da_params_check_members (params, members, error) || !get_vm_and_xml (ctx, params, &vm, &xml, error))
    return NULL;
  result = da_domain_assign (ctx->engine, vm, xml, strlen (xml), &options, ctx->now, ctx->txn, error);
  if (result == NULL)
    return NULL;
  added = json_array_new ();
  for (guint i = 0; i < result->added->len; i++) {
    DaDomainAddition *a = g_ptr_array_index (result->added, i);
    JsonObject *obj = json_object_new ();

    json_object_set_string_member (obj, "element", a->element);
    json_object_set_string_member (obj, "type", a->type);
    if (a->index >= 0)
      json_object_set_int_member (obj, "index", a->index);
    json_object_set_string_member (obj, "alias", a->alias);
    if (a->address != NULL)
      json_object_set_string_member (obj, "address", a->address);
    json_array_add_object_element (added, obj);
  }
  out = json_object_new ();
  json_object_set_string_member (out, "xml", result->xml);
  json_object_set_array_member (out, "reservations", reservations_array (result->reservations));
  json_object_set_array_member (out, "added", added);
  return da_methods_object_node (out);
}

JsonNode *
da_method_domain_import (DaMethodContext *ctx, DaParams *params, GError **error)
{
  static const char *const members[] = { "vm", "xml", "partial", NULL };
  g_autoptr (DaDomainResult) result = NULL;
  const char *vm = NULL, *xml = NULL;
  gboolean partial = FALSE;
  DaDomainOptions options;
  JsonArray *conflicts;
  JsonObject *out;

  if (!da_params_check_members (params, members, error) || !get_vm_and_xml (ctx, params, &vm, &xml, error)
      || !da_params_get_boolean (params, "partial", DA_PARAMS_OPTIONAL, &partial, error))
    return NULL;
  options = options_for (ctx, partial ? DA_DOMAIN_IMPORT_PARTIAL : 0);
  result = da_domain_import (ctx->engine, vm, xml, strlen (xml), &options, ctx->now, ctx->txn, error);
  if (result == NULL)
    return NULL;
  conflicts = json_array_new ();
  for (guint i = 0; result->conflicts != NULL && i < result->conflicts->len; i++)
    json_array_add_string_element (conflicts, g_ptr_array_index (result->conflicts, i));
  out = json_object_new ();
  json_object_set_array_member (out, "reservations", reservations_array (result->reservations));
  json_object_set_array_member (out, "conflicts", conflicts);
  return da_methods_object_node (out);
}

JsonNode *
da_method_device_attach (DaMethodContext *ctx, DaParams *params, GError **error)
{
  static const char *const members[] = { "vm", "xml", NULL };
  DaDomainOptions options = options_for (ctx, 0);
  g_autoptr (DaDomainResult) result = NULL;
  const char *vm = NULL, *xml = NULL;
  JsonObject *out;

  if (!da_params_check_members (params, members, error) || !get_vm_and_xml (ctx, params, &vm, &xml, error))
    return NULL;
  result = da_device_attach (ctx->engine, vm, xml, strlen (xml), &options, ctx->now, ctx->txn, error);
  if (result == NULL)
    return NULL;
  out = json_object_new ();
  json_object_set_string_member (out, "xml", result->xml);
  if (result->reservations->len > 0)
    json_object_set_object_member (out, "reservation", da_methods_reservation_object (g_ptr_array_index (result->reservations, 0)));
  return da_methods_object_node (out);
}

JsonNode *
da_method_device_detach (DaMethodContext *ctx, DaParams *params, GError **error)
{
  static const char *const members[] = { "vm", "xml", "alias", "phase", NULL };
  DaDomainOptions options = options_for (ctx, 0);
  const char *vm = NULL, *xml = NULL, *alias = NULL;
  DaReleasePhase phase = DA_RELEASE_NOW;
  guint index = 0, before;
  JsonObject *out;
  int after = -1;

  if (!da_params_check_members (params, members, error)
      || !da_methods_get_name (params, "vm", "vm name", DA_PARAMS_REQUIRED, &vm, error)
      || !da_params_get_string (params, "xml", DA_PARAMS_NON_EMPTY, da_daemon_get_config (ctx->daemon)->max_xml, &xml, error)
      || !da_methods_get_name (params, "alias", "alias", DA_PARAMS_OPTIONAL, &alias, error))
    return NULL;
  if ((xml == NULL) == (alias == NULL)) {
    da_params_set_error (params, NULL, error, "give either \"xml\" or \"alias\"");
    return NULL;
  }
  if (da_params_has (params, "phase")) {
    if (!da_params_get_enum (params, "phase", DA_PARAMS_REQUIRED, phase_names, &index, error))
      return NULL;
    phase = index == 0 ? DA_RELEASE_BEGIN : DA_RELEASE_CONFIRM;
  }
  before = da_txn_get_changes (ctx->txn)->len;
  if (!da_device_detach (ctx->engine, vm, xml, xml != NULL ? strlen (xml) : 0, alias, &options, phase, ctx->now,
                         ctx->txn, &after, error))
    return NULL;
  /* found by its element: the change made names the device */
  for (guint i = before; alias == NULL && i < da_txn_get_changes (ctx->txn)->len; i++)
    alias = ((DaChange *) g_ptr_array_index (da_txn_get_changes (ctx->txn), i))->alias;
  out = json_object_new ();
  json_object_set_string_member (out, "alias", alias != NULL ? alias : "");
  json_object_set_string_member (out, "state", after < 0 ? "released" : da_state_to_string ((DaState) after));
  return da_methods_object_node (out);
}
