/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "daemon/alloc/da-alloc-error.h"
#include "daemon/da-daemon.h"
#include "da-methods.h"
#include "protocol/da-limits.h"
#include "protocol/da-rpc-error.h"

/* the longest hold a client may ask for: a day */
#define MAX_HOLD_S (24 * 3600)

static const char *const policy_names[] = { "first-fit", "next-fit", "last-fit", "random", NULL };
static const char *const mode_names[] = { "dynamic", "static", NULL };
static const char *const phase_names[] = { "begin", "confirm", NULL };
static const char *const constraint_keywords[] = {
  "count", "align", "min", "max", "tags", "not_tags", "policy", "isolate", NULL
};

/* what the requests of one call point into: tag lists and constraint
 * readers, alive until the engine has seen the requests */
typedef struct {
  GPtrArray *tags;        /* GStrv */
  GPtrArray *constraints; /* DaParams */
} RequestStorage;

static void
request_storage_init (RequestStorage *storage)
{
  storage->tags = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  storage->constraints = g_ptr_array_new_with_free_func ((GDestroyNotify) da_params_free);
}

static void
request_storage_clear (RequestStorage *storage)
{
  g_clear_pointer (&storage->tags, g_ptr_array_unref);
  g_clear_pointer (&storage->constraints, g_ptr_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (RequestStorage, request_storage_clear)

static DaAddressType *
get_type (DaMethodContext *ctx, DaParams *params, GError **error)
{
  const char *name = NULL;
  DaAddressType *type;

  if (!da_methods_get_name (params, "type", "type", DA_PARAMS_REQUIRED, &name, error))
    return NULL;
  type = da_catalog_get_type (da_engine_get_catalog (ctx->engine), name);
  if (type == NULL)
    g_set_error (error, DA_RPC_ERROR, DA_RPC_ERROR_NOT_FOUND, "unknown address type \"%s\"", name);
  return type;
}

static gboolean
parse_address (DaParams *params, const char *name, DaAddressType *type, guint64 *key, GError **error)
{
  const char *text = NULL;

  if (!da_params_get_string (params, name, DA_PARAMS_REQUIRED | DA_PARAMS_NON_EMPTY, DA_LIMIT_ADDRESS_MAX, &text, error))
    return FALSE;
  if (!da_address_type_parse (type, text, key, error)) {
    g_autofree char *path = da_params_dup_member_path (params, name);

    da_methods_map_error (error);
    g_prefix_error (error, "%s: ", path);
    return FALSE;
  }
  return TRUE;
}

/* min and max: address text, or the key as a number */
static gboolean
parse_bound (DaParams *params, const char *name, DaAddressType *type, guint64 *key, GError **error)
{
  JsonNode *node = da_params_peek (params, name);

  if (node == NULL)
    return TRUE;
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING
      && !g_str_has_prefix (json_node_get_string (node), "0x") && !g_ascii_isdigit (json_node_get_string (node)[0]))
    return parse_address (params, name, type, key, error);
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING) {
    GError *local = NULL;

    /* text that reads as a number may still be an address (an ipv4 or a
     * mac): try the type's form first */
    if (da_address_type_parse (type, json_node_get_string (node), key, &local))
      return TRUE;
    g_clear_error (&local);
  }
  return da_params_get_uint64 (params, name, DA_PARAMS_REQUIRED | DA_PARAMS_ALLOW_STRING, 0,
                               da_address_type_get_key_max (type), key, error);
}

/* tag names must outlive the request that points at them */
static gboolean
parse_tags (DaParams *params, const char *name, const char **slots, RequestStorage *keep, GError **error)
{
  g_auto (GStrv) tags = NULL;

  if (!da_params_get_strv (params, name, DA_PARAMS_OPTIONAL, DA_MAX_TAGS, DA_LIMIT_NAME_MAX, &tags, error))
    return FALSE;
  if (tags == NULL)
    return TRUE;
  for (guint i = 0; tags[i] != NULL; i++) {
    if (!da_name_validate ("tag", tags[i], error)) {
      g_autofree char *path = da_params_dup_member_path (params, name);

      da_methods_map_error (error);
      g_prefix_error (error, "%s: ", path);
      return FALSE;
    }
  }
  /* given tags replace the type's defaults */
  memset (slots, 0, sizeof (const char *) * (DA_MAX_TAGS + 1));
  for (guint i = 0; tags[i] != NULL; i++)
    slots[i] = tags[i];
  g_ptr_array_add (keep->tags, g_steal_pointer (&tags));
  return TRUE;
}

static gboolean
parse_constraint (DaParams *params, DaAddressType *type, DaConstraint *c, RequestStorage *keep, GError **error)
{
  JsonObject *obj = da_params_peek_object (params);
  g_autoptr (GList) members = json_object_get_members (obj);
  guint policy = c->policy;

  /* every member is a dimension of the type or a keyword */
  for (GList *l = members; l != NULL; l = l->next) {
    const char *name = l->data;
    int dim;
    gint64 lo, hi;
    const DaDimension *d;
    g_autoptr (GError) local = NULL;

    if (g_strv_contains (constraint_keywords, name))
      continue;
    dim = da_address_type_find_dimension (type, name);
    if (dim < 0) {
      g_autoptr (GString) known = g_string_new (NULL);

      for (guint i = 0; i < da_address_type_get_n_dimensions (type); i++)
        g_string_append_printf (known, "%s%s", i > 0 ? ", " : "", da_address_type_get_dimension (type, i)->name);
      da_params_set_error (params, name, error, "%s has no dimension \"%s\" (dimensions: %s)",
                           da_address_type_get_name (type), name, known->str);
      return FALSE;
    }
    d = da_address_type_get_dimension (type, (guint) dim);
    if (!da_params_get_int_range (params, name, DA_PARAMS_REQUIRED, (gint64) d->min,
                                  d->max > G_MAXINT64 ? G_MAXINT64 : (gint64) d->max, &lo, &hi, error))
      return FALSE;
    if (!da_constraint_set_dimension (c, type, name, (guint64) lo, (guint64) hi, &local)) {
      da_params_set_error (params, name, error, "%s", local->message);
      return FALSE;
    }
  }

  if (!da_params_get_uint64 (params, "count", DA_PARAMS_ALLOW_STRING, 1, G_MAXUINT64, &c->count, error)
      || !da_params_get_uint64 (params, "align", DA_PARAMS_ALLOW_STRING, 1, G_MAXUINT64, &c->align, error)
      || !parse_bound (params, "min", type, &c->min, error)
      || !parse_bound (params, "max", type, &c->max, error)
      || !parse_tags (params, "tags", c->tags, keep, error)
      || !parse_tags (params, "not_tags", c->not_tags, keep, error)
      || !da_params_get_enum (params, "policy", DA_PARAMS_OPTIONAL, policy_names, &policy, error))
    return FALSE;
  c->policy = (DaPolicy) policy;
  if (da_params_has (params, "isolate")) {
    const char *isolate = NULL;

    if (!da_params_get_string (params, "isolate", DA_PARAMS_REQUIRED | DA_PARAMS_NON_EMPTY, DA_LIMIT_NAME_MAX, &isolate, error))
      return FALSE;
    if (strcmp (isolate, "none") == 0) {
      c->isolate = -1;
    } else if ((c->isolate = da_address_type_find_dimension (type, isolate)) < 0) {
      da_params_set_error (params, "isolate", error, "%s has no dimension \"%s\"", da_address_type_get_name (type), isolate);
      return FALSE;
    }
  }
  if (c->min > c->max) {
    da_params_set_error (params, "min", error, "min is above max");
    return FALSE;
  }
  return TRUE;
}

/* one reservation request: type, alias, address?, constraint?, mode?, hold_s? */
static gboolean
parse_request (DaMethodContext *ctx, DaParams *params, const char *const *extra_members, DaRequest *request,
               RequestStorage *keep, GError **error)
{
  static const char *const members[] = { "type", "alias", "address", "constraint", "mode", "hold_s", NULL };
  g_autoptr (GPtrArray) known = g_ptr_array_new ();
  DaAddressType *type;
  gint64 hold_s = 0;
  guint mode = 0;

  for (guint i = 0; members[i] != NULL; i++)
    g_ptr_array_add (known, (gpointer) members[i]);
  for (guint i = 0; extra_members != NULL && extra_members[i] != NULL; i++)
    g_ptr_array_add (known, (gpointer) extra_members[i]);
  g_ptr_array_add (known, NULL);
  memset (request, 0, sizeof (*request));
  if (!da_params_check_members (params, (const char *const *) known->pdata, error)
      || (type = get_type (ctx, params, error)) == NULL
      || !da_methods_get_name (params, "alias", "alias", DA_PARAMS_REQUIRED, &request->alias, error)
      || !da_params_get_int (params, "hold_s", DA_PARAMS_OPTIONAL, 1, MAX_HOLD_S, &hold_s, error))
    return FALSE;
  request->type = da_address_type_get_name (type);
  request->has_address = da_params_has (params, "address");
  da_constraint_init (&request->constraint, type, !request->has_address);
  if (request->has_address && !parse_address (params, "address", type, &request->address, error))
    return FALSE;
  if (da_params_has (params, "mode")) {
    if (!da_params_get_enum (params, "mode", DA_PARAMS_REQUIRED, mode_names, &mode, error))
      return FALSE;
    request->has_mode = TRUE;
    request->mode = (DaMode) mode;
  }
  if (da_params_has (params, "constraint")) {
    DaParams *constraint = NULL;

    if (!da_params_get_object (params, "constraint", DA_PARAMS_REQUIRED, &constraint, error))
      return FALSE;
    g_ptr_array_add (keep->constraints, constraint);
    if (!parse_constraint (constraint, type, &request->constraint, keep, error))
      return FALSE;
  }
  request->hold_until = hold_s > 0 ? ctx->now + hold_s * G_USEC_PER_SEC : 0;
  return TRUE;
}

static void
set_holder (DaMethodContext *ctx, DaReservation *holder)
{
  g_autofree char *address = NULL;

  if (holder == NULL)
    return;
  address = da_reservation_format_address (holder);
  if (ctx->error_data == NULL)
    ctx->error_data = json_object_new ();
  json_object_set_string_member (ctx->error_data, "holder", da_reservation_get_alias (holder));
  json_object_set_string_member (ctx->error_data, "holder_address", address);
}

JsonNode *
da_method_addr_reserve (DaMethodContext *ctx, DaParams *params, GError **error)
{
  static const char *const scope_members[] = { "vm", "scope", NULL };
  g_auto (RequestStorage) keep = { 0 };
  DaReservation *holder = NULL;
  DaScope *scope;

  request_storage_init (&keep);
  if ((scope = da_methods_get_scope (ctx, params, error)) == NULL)
    return NULL;

  if (da_params_has (params, "requests")) {
    static const char *const members[] = { "vm", "scope", "requests", NULL };
    g_autoptr (GPtrArray) items = NULL;
    g_autoptr (GPtrArray) held = g_ptr_array_new ();
    g_autofree DaRequest *requests = NULL;
    GString *text;
    guint failed = 0;

    if (!da_params_check_members (params, members, error)
        || !da_params_get_object_array (params, "requests", DA_PARAMS_REQUIRED | DA_PARAMS_NON_EMPTY,
                                        DA_LIMIT_RESERVE_REQUESTS_MAX, &items, error))
      return NULL;
    requests = g_new0 (DaRequest, items->len);
    for (guint i = 0; i < items->len; i++)
      if (!parse_request (ctx, g_ptr_array_index (items, i), NULL, &requests[i], &keep, error))
        return NULL;
    if (!da_scope_reserve_batch (scope, requests, items->len, ctx->now, ctx->txn, held, &failed, &holder, error)) {
      set_holder (ctx, holder);
      if (ctx->error_data == NULL)
        ctx->error_data = json_object_new ();
      json_object_set_int_member (ctx->error_data, "index", failed);
      return NULL;
    }
    text = g_string_new ("{\"reservations\":");
    da_methods_append_reservations (text, held);
    g_string_append_c (text, '}');
    return da_methods_text_result (ctx, text);
  } else {
    DaRequest request;
    DaReservation *res;

    if (!parse_request (ctx, params, scope_members, &request, &keep, error))
      return NULL;
    res = da_scope_reserve (scope, &request, ctx->now, ctx->txn, &holder, error);
    if (res == NULL) {
      set_holder (ctx, holder);
      return NULL;
    }
    return da_methods_reservation_result (ctx, res);
  }
}

static gboolean
get_alias (DaParams *params, const char **alias, GError **error)
{
  return da_methods_get_name (params, "alias", "alias", DA_PARAMS_REQUIRED, alias, error);
}

JsonNode *
da_method_addr_commit (DaMethodContext *ctx, DaParams *params, GError **error)
{
  static const char *const members[] = { "vm", "scope", "alias", NULL };
  const char *alias = NULL;
  DaReservation *res;
  DaScope *scope;

  if (!da_params_check_members (params, members, error) || (scope = da_methods_get_scope (ctx, params, error)) == NULL
      || !get_alias (params, &alias, error))
    return NULL;
  res = da_scope_commit (scope, alias, ctx->txn, error);
  return res != NULL ? da_methods_reservation_result (ctx, res) : NULL;
}

JsonNode *
da_method_addr_release (DaMethodContext *ctx, DaParams *params, GError **error)
{
  static const char *const members[] = { "vm", "scope", "alias", "phase", NULL };
  DaReleasePhase phase = DA_RELEASE_NOW;
  const char *alias = NULL;
  JsonObject *out;
  DaScope *scope;
  guint index = 0;
  int after;

  if (!da_params_check_members (params, members, error) || (scope = da_methods_get_scope (ctx, params, error)) == NULL
      || !get_alias (params, &alias, error))
    return NULL;
  if (da_params_has (params, "phase")) {
    if (!da_params_get_enum (params, "phase", DA_PARAMS_REQUIRED, phase_names, &index, error))
      return NULL;
    phase = index == 0 ? DA_RELEASE_BEGIN : DA_RELEASE_CONFIRM;
  }
  if (!da_scope_release (scope, alias, phase, ctx->now, ctx->txn, &after, error))
    return NULL;
  out = json_object_new ();
  json_object_set_string_member (out, "alias", alias);
  json_object_set_string_member (out, "state", after < 0 ? "released" : da_state_to_string ((DaState) after));
  return da_methods_object_node (out);
}

JsonNode *
da_method_addr_lookup (DaMethodContext *ctx, DaParams *params, GError **error)
{
  static const char *const members[] = { "vm", "scope", "alias", "type", "address", NULL };
  DaReservation *res;
  DaScope *scope;

  if (!da_params_check_members (params, members, error) || (scope = da_methods_get_scope (ctx, params, error)) == NULL)
    return NULL;
  if (da_params_has (params, "alias") == da_params_has (params, "address")) {
    da_params_set_error (params, NULL, error, "give either \"alias\" or \"type\" and \"address\"");
    return NULL;
  }
  if (da_params_has (params, "alias")) {
    const char *alias = NULL;

    if (da_params_has (params, "type")) {
      da_params_set_error (params, "type", error, "\"type\" goes with \"address\", not with \"alias\"");
      return NULL;
    }
    if (!get_alias (params, &alias, error))
      return NULL;
    res = da_scope_lookup (scope, alias);
    if (res == NULL) {
      g_set_error (error, DA_RPC_ERROR, DA_RPC_ERROR_NOT_FOUND, "%s has no reservation %s",
                   da_scope_is_host (scope) ? "the host scope" : da_scope_get_name (scope), alias);
      return NULL;
    }
  } else {
    DaAddressType *type = get_type (ctx, params, error);
    guint64 key;

    if (type == NULL || !parse_address (params, "address", type, &key, error))
      return NULL;
    res = da_scope_lookup_address (scope, da_address_type_get_name (type), key);
    if (res == NULL) {
      const char *text = NULL;

      da_params_get_string (params, "address", DA_PARAMS_REQUIRED, DA_LIMIT_ADDRESS_MAX, &text, NULL);
      g_set_error (error, DA_RPC_ERROR, DA_RPC_ERROR_NOT_FOUND, "nothing holds %s address %s in %s",
                   da_address_type_get_name (type), text,
                   da_scope_is_host (scope) ? "the host scope" : da_scope_get_name (scope));
      return NULL;
    }
  }
  return da_methods_reservation_result (ctx, res);
}

static JsonObject *
counts_object (const DaPoolCounts *counts)
{
  JsonObject *obj = json_object_new ();

#define CLAMP_INT(v) ((v) > G_MAXINT64 ? G_MAXINT64 : (gint64) (v))
  json_object_set_int_member (obj, "capacity", CLAMP_INT (counts->capacity));
  json_object_set_int_member (obj, "used", CLAMP_INT (counts->used));
  json_object_set_int_member (obj, "free", CLAMP_INT (counts->free));
  json_object_set_int_member (obj, "largest_free_run", CLAMP_INT (counts->largest_free_run));
#undef CLAMP_INT
  return obj;
}

/* per bus: every key that shares the dimensions up to "bus" */
static JsonArray *
bus_counts (DaPool *pool)
{
  DaAddressType *type = da_pool_get_address_type (pool);
  int bus_dim = da_address_type_find_dimension (type, "bus");
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  JsonArray *buses = json_array_new ();
  DaRangeMapIter iter;
  DaRange range;

  if (bus_dim < 0)
    return buses;
  da_range_map_iter_init (&iter, da_pool_get_ranges (pool), 0);
  while (da_range_map_iter_next (&iter, &range, NULL) && g_hash_table_size (seen) < 1024) {
    guint64 block = da_address_type_get_dimension (type, (guint) bus_dim)->weight;

    for (guint64 k = range.start - range.start % block; k <= range.end && g_hash_table_size (seen) < 1024; k += block) {
      g_autoptr (DaRangeMap) set = da_range_map_new_set ();
      guint64 digits[DA_MAX_DIMS];
      DaPoolCounts counts;
      JsonObject *obj;
      DaBox box;

      if (!g_hash_table_add (seen, g_memdup2 (&k, sizeof k)))
        continue;
      da_address_type_decode (type, k, digits);
      da_address_type_full_box (type, &box);
      for (int d = 0; d <= bus_dim; d++)
        box.lo[d] = box.hi[d] = digits[d];
      if (!da_address_type_add_box (type, &box, set, 4096, NULL))
        continue;
      da_pool_get_counts_within (pool, set, &counts);
      obj = counts_object (&counts);
      for (int d = 0; d <= bus_dim; d++)
        json_object_set_int_member (obj, da_address_type_get_dimension (type, (guint) d)->name, (gint64) digits[d]);
      json_array_add_object_element (buses, obj);
      if (k > G_MAXUINT64 - block)
        break;
    }
  }
  return buses;
}

JsonNode *
da_method_pool_stats (DaMethodContext *ctx, DaParams *params, GError **error)
{
  static const char *const members[] = { "vm", "scope", "type", NULL };
  g_auto (GStrv) tags = NULL;
  DaTxn *trial = NULL;
  DaAddressType *type;
  DaPoolCounts counts;
  JsonObject *out, *tag_counts;
  DaScope *scope;
  DaPool *pool;

  if (!da_params_check_members (params, members, error) || (scope = da_methods_get_scope (ctx, params, error)) == NULL
      || (type = get_type (ctx, params, error)) == NULL)
    return NULL;
  pool = da_scope_get_pool (scope, da_address_type_get_name (type));
  /* as addr.reserve says: such a pool never exists */
  if (pool == NULL && ((da_address_type_get_scope (type) == DA_TYPE_SCOPE_HOST && !da_scope_is_host (scope))
                       || (da_address_type_get_scope (type) == DA_TYPE_SCOPE_VM && da_scope_is_host (scope)))) {
    g_set_error (error, DA_RPC_ERROR, DA_RPC_ERROR_INVALID_PARAMS, "%s addresses belong to %s: ask %s",
                 da_address_type_get_name (type), da_scope_is_host (scope) ? "a vm" : "the host",
                 da_scope_is_host (scope) ? "for a vm" : "with scope \"host\"");
    return NULL;
  }
  if (pool == NULL) {
    /* nothing reserved yet: the pool the first reservation would create,
     * with its tags and buses, made for the answer and taken back */
    trial = da_txn_new (ctx->engine);
    pool = da_scope_ensure_pool (scope, da_address_type_get_name (type), trial, error);
    if (pool == NULL) {
      da_txn_rollback (trial);
      da_methods_map_error (error);
      return NULL;
    }
  }
  da_pool_get_counts (pool, &counts);
  out = counts_object (&counts);
  tag_counts = json_object_new ();
  tags = da_pool_list_tags (pool);
  for (guint i = 0; tags[i] != NULL; i++) {
    DaPoolCounts within;

    da_pool_get_counts_within (pool, da_pool_get_tag (pool, tags[i]), &within);
    json_object_set_object_member (tag_counts, tags[i], counts_object (&within));
  }
  json_object_set_array_member (out, "buses", bus_counts (pool));
  json_object_set_int_member (out, "reservations", counts.n_reservations);
  json_object_set_boolean_member (out, "exists", trial == NULL);
  json_object_set_string_member (out, "type", da_address_type_get_name (type));
  json_object_set_object_member (out, "tags", tag_counts);
  if (trial != NULL)
    da_txn_rollback (trial);
  return da_methods_object_node (out);
}

JsonNode *
da_method_watch (DaMethodContext *ctx, DaParams *params, GError **error)
{
  static const char *const members[] = { "vm", NULL };
  const char *vm = NULL;
  JsonObject *out;

  if (!da_params_check_members (params, members, error)
      || !da_methods_get_name (params, "vm", "vm name", DA_PARAMS_OPTIONAL, &vm, error))
    return NULL;
  /* an internal call has no connection to send notifications to */
  if (ctx->connection == NULL) {
    g_set_error_literal (error, DA_RPC_ERROR, DA_RPC_ERROR_INVALID_REQUEST, "watch needs a connection");
    return NULL;
  }
  if (!da_daemon_watch (ctx->daemon, ctx->connection, vm, error))
    return NULL;
  out = json_object_new ();
  json_object_set_boolean_member (out, "watching", TRUE);
  if (vm != NULL)
    json_object_set_string_member (out, "vm", vm);
  return da_methods_object_node (out);
}
