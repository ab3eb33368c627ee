/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "da-result.h"
#include "devaddr-private.h"

struct _DevaddrReserveRequest {
  gatomicrefcount ref;
  char *address_type;
  char *alias;
  char *address;
  DevaddrMode mode;
  guint hold_s;
  JsonObject *constraint; /* NULL until something constrains */
};

/**
 * devaddr_reserve_request_get_type:
 *
 * Returns: the #GType of #DevaddrReserveRequest
 */
G_DEFINE_BOXED_TYPE (DevaddrReserveRequest, devaddr_reserve_request, devaddr_reserve_request_ref,
                     devaddr_reserve_request_unref)

/**
 * devaddr_reserve_request_new:
 * @address_type: the address type, such as "pci"
 * @alias: the device alias, unique in its VM, such as "net0"
 *
 * A request for one reservation.  Without more, the daemon chooses a free
 * address of the type's default constraint (for pci: function 0 of a free
 * slot on a bus that fits) and the reservation is active at once.
 *
 * Returns: (transfer full): a new #DevaddrReserveRequest
 */
DevaddrReserveRequest *
devaddr_reserve_request_new (const char *address_type, const char *alias)
{
  DevaddrReserveRequest *request;

  g_return_val_if_fail (address_type != NULL, NULL);
  g_return_val_if_fail (alias != NULL, NULL);
  request = g_new0 (DevaddrReserveRequest, 1);
  g_atomic_ref_count_init (&request->ref);
  request->address_type = g_strdup (address_type);
  request->alias = g_strdup (alias);
  return request;
}

/**
 * devaddr_reserve_request_ref:
 * @request: a #DevaddrReserveRequest
 *
 * Returns: (transfer full): @request
 */
DevaddrReserveRequest *
devaddr_reserve_request_ref (DevaddrReserveRequest *request)
{
  g_return_val_if_fail (request != NULL, NULL);
  g_atomic_ref_count_inc (&request->ref);
  return request;
}

/**
 * devaddr_reserve_request_unref:
 * @request: (transfer full) (nullable): a #DevaddrReserveRequest
 *
 * Drops a reference; the last one frees @request.
 */
void
devaddr_reserve_request_unref (DevaddrReserveRequest *request)
{
  if (request == NULL || !g_atomic_ref_count_dec (&request->ref))
    return;
  g_free (request->address_type);
  g_free (request->alias);
  g_free (request->address);
  g_clear_pointer (&request->constraint, json_object_unref);
  g_free (request);
}

/**
 * devaddr_reserve_request_get_address_type:
 * @request: a #DevaddrReserveRequest
 *
 * Returns: the address type asked for
 */
const char *
devaddr_reserve_request_get_address_type (DevaddrReserveRequest *request)
{
  g_return_val_if_fail (request != NULL, NULL);
  return request->address_type;
}

/**
 * devaddr_reserve_request_get_alias:
 * @request: a #DevaddrReserveRequest
 *
 * Returns: the alias the reservation is for
 */
const char *
devaddr_reserve_request_get_alias (DevaddrReserveRequest *request)
{
  g_return_val_if_fail (request != NULL, NULL);
  return request->alias;
}

/**
 * devaddr_reserve_request_set_address:
 * @request: a #DevaddrReserveRequest
 * @address: (nullable): the exact address wanted, in the text form of the
 *   type; %NULL to let the daemon choose
 *
 * Asks for one exact address.  The reservation is static unless
 * devaddr_reserve_request_set_mode() says otherwise; if another
 * reservation holds the address the call fails with
 * %DEVADDR_ERROR_CONFLICT.
 */
void
devaddr_reserve_request_set_address (DevaddrReserveRequest *request, const char *address)
{
  g_return_if_fail (request != NULL);
  g_free (request->address);
  request->address = g_strdup (address);
}

/**
 * devaddr_reserve_request_set_mode:
 * @request: a #DevaddrReserveRequest
 * @mode: the mode to record, or %DEVADDR_MODE_DEFAULT
 *
 * Overrides the mode: by default static with an address, dynamic without.
 */
void
devaddr_reserve_request_set_mode (DevaddrReserveRequest *request, DevaddrMode mode)
{
  g_return_if_fail (request != NULL);
  request->mode = mode;
}

/**
 * devaddr_reserve_request_set_hold:
 * @request: a #DevaddrReserveRequest
 * @seconds: how long the reservation is held, 1 to 86400; 0 for an active
 *   reservation
 *
 * Creates the reservation held: it expires after @seconds unless
 * devaddr_client_commit() makes it active, e.g. once a hotplug succeeded.
 */
void
devaddr_reserve_request_set_hold (DevaddrReserveRequest *request, guint seconds)
{
  g_return_if_fail (request != NULL);
  request->hold_s = seconds;
}

static JsonObject *
constraint (DevaddrReserveRequest *request)
{
  if (request->constraint == NULL)
    request->constraint = json_object_new ();
  return request->constraint;
}

/**
 * devaddr_reserve_request_set_range:
 * @request: a #DevaddrReserveRequest
 * @dimension: a dimension of the type, such as "bus" or "slot"
 * @min: the lowest value allowed
 * @max: the highest value allowed; equal to @min for one value
 *
 * Limits one dimension of the address, e.g. bus 0 and slots 4 to 8 for
 * pci.  Values above %G_MAXINT64 are sent as text.
 */
void
devaddr_reserve_request_set_range (DevaddrReserveRequest *request, const char *dimension, guint64 min, guint64 max)
{
  g_return_if_fail (request != NULL);
  g_return_if_fail (dimension != NULL);
  g_return_if_fail (min <= max);
  if (min == max && min <= G_MAXINT64) {
    json_object_set_int_member (constraint (request), dimension, (gint64) min);
  } else {
    JsonObject *range = json_object_new ();

    json_object_set_int_member (range, "min", (gint64) MIN (min, (guint64) G_MAXINT64));
    json_object_set_int_member (range, "max", (gint64) MIN (max, (guint64) G_MAXINT64));
    json_object_set_object_member (constraint (request), dimension, range);
  }
}

static void
set_uint (DevaddrReserveRequest *request, const char *member, guint64 value)
{
  if (value <= G_MAXINT64) {
    json_object_set_int_member (constraint (request), member, (gint64) value);
  } else {
    g_autofree char *text = g_strdup_printf ("%" G_GUINT64_FORMAT, value);

    json_object_set_string_member (constraint (request), member, text);
  }
}

/**
 * devaddr_reserve_request_set_count:
 * @request: a #DevaddrReserveRequest
 * @count: the number of consecutive addresses, at least 1
 *
 * Reserves a run of addresses, e.g. all eight functions of a PCI slot.
 */
void
devaddr_reserve_request_set_count (DevaddrReserveRequest *request, guint64 count)
{
  g_return_if_fail (request != NULL);
  g_return_if_fail (count >= 1);
  set_uint (request, "count", count);
}

/**
 * devaddr_reserve_request_set_align:
 * @request: a #DevaddrReserveRequest
 * @align: the first address (as an integer) is a multiple of this
 *
 * Aligns the address, for MMIO or MSI ranges.
 */
void
devaddr_reserve_request_set_align (DevaddrReserveRequest *request, guint64 align)
{
  g_return_if_fail (request != NULL);
  g_return_if_fail (align >= 1);
  set_uint (request, "align", align);
}

/**
 * devaddr_reserve_request_set_min:
 * @request: a #DevaddrReserveRequest
 * @address: the lowest address allowed, in the text form of the type
 *
 * Limits the address from below.
 */
void
devaddr_reserve_request_set_min (DevaddrReserveRequest *request, const char *address)
{
  g_return_if_fail (request != NULL);
  g_return_if_fail (address != NULL);
  json_object_set_string_member (constraint (request), "min", address);
}

/**
 * devaddr_reserve_request_set_max:
 * @request: a #DevaddrReserveRequest
 * @address: the highest address allowed, in the text form of the type
 *
 * Limits the address from above.
 */
void
devaddr_reserve_request_set_max (DevaddrReserveRequest *request, const char *address)
{
  g_return_if_fail (request != NULL);
  g_return_if_fail (address != NULL);
  json_object_set_string_member (constraint (request), "max", address);
}

static void
add_to_list (DevaddrReserveRequest *request, const char *member, const char *tag)
{
  JsonObject *c = constraint (request);

  if (!json_object_has_member (c, member) || !JSON_NODE_HOLDS_ARRAY (json_object_get_member (c, member)))
    json_object_set_array_member (c, member, json_array_new ());
  json_array_add_string_element (json_object_get_array_member (c, member), tag);
}

/**
 * devaddr_reserve_request_add_tag:
 * @request: a #DevaddrReserveRequest
 * @tag: a tag of the pool, such as "hotplug" or "pcie"
 *
 * The address must carry this tag (and any others added).  Tags given
 * replace the type's default tags.
 */
void
devaddr_reserve_request_add_tag (DevaddrReserveRequest *request, const char *tag)
{
  g_return_if_fail (request != NULL);
  g_return_if_fail (tag != NULL);
  add_to_list (request, "tags", tag);
}

/**
 * devaddr_reserve_request_add_not_tag:
 * @request: a #DevaddrReserveRequest
 * @tag: a tag of the pool
 *
 * The address must not carry this tag.
 */
void
devaddr_reserve_request_add_not_tag (DevaddrReserveRequest *request, const char *tag)
{
  g_return_if_fail (request != NULL);
  g_return_if_fail (tag != NULL);
  add_to_list (request, "not_tags", tag);
}

/**
 * devaddr_reserve_request_set_policy:
 * @request: a #DevaddrReserveRequest
 * @policy: how to choose among the free addresses
 *
 * Sets the allocation policy; %DEVADDR_POLICY_DEFAULT removes it.
 */
void
devaddr_reserve_request_set_policy (DevaddrReserveRequest *request, DevaddrPolicy policy)
{
  const char *name = devaddr_policy_to_string (policy);

  g_return_if_fail (request != NULL);
  if (name != NULL)
    json_object_set_string_member (constraint (request), "policy", name);
  else if (request->constraint != NULL)
    json_object_remove_member (request->constraint, "policy");
}

/**
 * devaddr_reserve_request_set_isolate:
 * @request: a #DevaddrReserveRequest
 * @dimension: a dimension of the type, or "none"
 *
 * The block of addresses at @dimension must be entirely free, e.g. "slot"
 * for a device that must have a PCI slot of its own (pci's default).
 */
void
devaddr_reserve_request_set_isolate (DevaddrReserveRequest *request, const char *dimension)
{
  g_return_if_fail (request != NULL);
  g_return_if_fail (dimension != NULL);
  json_object_set_string_member (constraint (request), "isolate", dimension);
}

/**
 * devaddr_reserve_request_set_constraint:
 * @request: a #DevaddrReserveRequest
 * @constraint: (nullable): a constraint object as devaddr-protocol(7)
 *   describes it, or %NULL for none
 *
 * Replaces the whole constraint with a copy of @constraint; the other
 * setters change the copy afterwards.
 */
void
devaddr_reserve_request_set_constraint (DevaddrReserveRequest *request, JsonObject *constraint)
{
  g_return_if_fail (request != NULL);
  g_clear_pointer (&request->constraint, json_object_unref);
  if (constraint != NULL)
    request->constraint = da_json_object_deep_copy (constraint);
}

/**
 * devaddr_reserve_request_to_json:
 * @request: a #DevaddrReserveRequest
 *
 * The request as an entry of the `requests` list of `addr.reserve`.
 *
 * Returns: (transfer full): a new #JsonObject
 */
JsonObject *
devaddr_reserve_request_to_json (DevaddrReserveRequest *request)
{
  JsonObject *obj;

  g_return_val_if_fail (request != NULL, NULL);
  obj = json_object_new ();
  json_object_set_string_member (obj, "type", request->address_type);
  json_object_set_string_member (obj, "alias", request->alias);
  if (request->address != NULL)
    json_object_set_string_member (obj, "address", request->address);
  if (request->constraint != NULL)
    json_object_set_object_member (obj, "constraint", da_json_object_deep_copy (request->constraint));
  if (devaddr_mode_to_string (request->mode) != NULL)
    json_object_set_string_member (obj, "mode", devaddr_mode_to_string (request->mode));
  if (request->hold_s > 0)
    json_object_set_int_member (obj, "hold_s", request->hold_s);
  return obj;
}
