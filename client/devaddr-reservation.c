/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "da-result.h"
#include "devaddr-private.h"

struct _DevaddrReservation {
  gatomicrefcount ref;
  char *alias;
  char *address_type;
  char *address;
  GStrv field_names;      /* the type's dimensions, as the daemon sent them */
  guint64 *field_values;
  guint64 count;
  char *end;
  DevaddrMode mode;
  DevaddrState state;
  gboolean builtin;
  GDateTime *expires;
};

/**
 * devaddr_reservation_get_type:
 *
 * Returns: the #GType of #DevaddrReservation
 */
G_DEFINE_BOXED_TYPE (DevaddrReservation, devaddr_reservation, devaddr_reservation_ref, devaddr_reservation_unref)

/* "fields": {"domain":0,"bus":0,...}; a daemon that sends none leaves
 * the reservation without fields */
static gboolean
read_fields (DevaddrReservation *res, JsonObject *obj, const char *path, GError **error)
{
  g_autofree char *fields_path = da_result_path (path, "fields");
  g_autoptr (GList) names = NULL;
  JsonObject *fields = NULL;
  guint n = 0;

  if (!da_result_member_object (obj, path, "fields", FALSE, &fields, error))
    return FALSE;
  if (fields != NULL)
    names = json_object_get_members (fields);
  res->field_names = g_new0 (char *, g_list_length (names) + 1);
  res->field_values = g_new0 (guint64, g_list_length (names) + 1);
  for (GList *l = names; l != NULL; l = l->next, n++) {
    if (!da_result_member_uint (fields, fields_path, l->data, TRUE, &res->field_values[n], error))
      return FALSE;
    res->field_names[n] = g_strdup (l->data);
  }
  return TRUE;
}

DevaddrReservation *
da_reservation_new_from_json (JsonNode *node, const char *path, GError **error)
{
  g_autoptr (DevaddrReservation) res = g_new0 (DevaddrReservation, 1);
  const char *alias = NULL, *type = NULL, *address = NULL, *end = NULL, *mode = NULL, *state = NULL,
             *expires = NULL;
  JsonObject *obj = NULL;

  g_atomic_ref_count_init (&res->ref);
  res->count = 1;
  if (!da_result_get_object (node, path, &obj, error)
      || !da_result_member_string (obj, path, "alias", TRUE, &alias, error)
      || !da_result_member_string (obj, path, "type", TRUE, &type, error)
      || !da_result_member_string (obj, path, "address", TRUE, &address, error)
      || !da_result_member_uint (obj, path, "count", TRUE, &res->count, error)
      || !da_result_member_string (obj, path, "end", FALSE, &end, error)
      || !da_result_member_string (obj, path, "mode", TRUE, &mode, error)
      || !da_result_member_string (obj, path, "state", TRUE, &state, error)
      || !da_result_member_boolean (obj, path, "builtin", FALSE, &res->builtin, error)
      || !da_result_member_string (obj, path, "expires_at", FALSE, &expires, error)
      || !read_fields (res, obj, path, error))
    return NULL;
  res->alias = g_strdup (alias);
  res->address_type = g_strdup (type);
  res->address = g_strdup (address);
  res->end = g_strdup (end);
  res->mode = devaddr_mode_from_string (mode);
  res->state = devaddr_state_from_string (state);
  if (expires != NULL) {
    res->expires = g_date_time_new_from_iso8601 (expires, NULL);
    if (res->expires == NULL) {
      g_set_error (error, DEVADDR_ERROR, DEVADDR_ERROR_PROTOCOL,
                   "malformed reply: %s.expires_at: not an RFC 3339 time: %s", path, expires);
      return NULL;
    }
  }
  return g_steal_pointer (&res);
}

GPtrArray *
da_reservations_new_from_json (JsonArray *array, const char *path, GError **error)
{
  g_autoptr (GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) devaddr_reservation_unref);

  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++) {
    g_autofree char *item_path = da_result_index_path (path, i);
    DevaddrReservation *res = da_reservation_new_from_json (json_array_get_element (array, i), item_path, error);

    if (res == NULL)
      return NULL;
    g_ptr_array_add (list, res);
  }
  return g_steal_pointer (&list);
}

/**
 * devaddr_reservation_ref:
 * @reservation: a #DevaddrReservation
 *
 * Returns: (transfer full): @reservation
 */
DevaddrReservation *
devaddr_reservation_ref (DevaddrReservation *reservation)
{
  g_return_val_if_fail (reservation != NULL, NULL);
  g_atomic_ref_count_inc (&reservation->ref);
  return reservation;
}

/**
 * devaddr_reservation_unref:
 * @reservation: (transfer full) (nullable): a #DevaddrReservation
 *
 * Drops a reference; the last one frees @reservation.
 */
void
devaddr_reservation_unref (DevaddrReservation *reservation)
{
  if (reservation == NULL || !g_atomic_ref_count_dec (&reservation->ref))
    return;
  g_free (reservation->alias);
  g_free (reservation->address_type);
  g_free (reservation->address);
  g_strfreev (reservation->field_names);
  g_free (reservation->field_values);
  g_free (reservation->end);
  g_clear_pointer (&reservation->expires, g_date_time_unref);
  g_free (reservation);
}

/**
 * devaddr_reservation_get_alias:
 * @reservation: a #DevaddrReservation
 *
 * Returns: the device alias, unique in its VM (or in the host scope)
 */
const char *
devaddr_reservation_get_alias (DevaddrReservation *reservation)
{
  g_return_val_if_fail (reservation != NULL, NULL);
  return reservation->alias;
}

/**
 * devaddr_reservation_get_address_type:
 * @reservation: a #DevaddrReservation
 *
 * Returns: the name of the address type, such as "pci" or "drive-sata"
 */
const char *
devaddr_reservation_get_address_type (DevaddrReservation *reservation)
{
  g_return_val_if_fail (reservation != NULL, NULL);
  return reservation->address_type;
}

/**
 * devaddr_reservation_get_address:
 * @reservation: a #DevaddrReservation
 *
 * Returns: the (first) address in the text form of its type, such as
 *   "0000:00:03.0"
 */
const char *
devaddr_reservation_get_address (DevaddrReservation *reservation)
{
  g_return_val_if_fail (reservation != NULL, NULL);
  return reservation->address;
}

/**
 * devaddr_reservation_get_field_names:
 * @reservation: a #DevaddrReservation
 *
 * The dimensions of the address's type that the daemon gave values for,
 * most significant first: "domain", "bus", "slot", "function" for pci;
 * "controller", "bus", "target", "unit" for the drive types.  The names
 * are those of devaddr_type_info_get_dimension().
 *
 * Returns: (transfer none) (array zero-terminated=1): the names; empty
 *   when the daemon sent no fields (an older daemon)
 */
const char *const *
devaddr_reservation_get_field_names (DevaddrReservation *reservation)
{
  static const char *const none[] = { NULL };

  g_return_val_if_fail (reservation != NULL, none);
  return reservation->field_names != NULL ? (const char *const *) reservation->field_names : none;
}

/**
 * devaddr_reservation_get_field:
 * @reservation: a #DevaddrReservation
 * @name: a dimension of the address's type, such as "slot"
 * @value: (out) (optional): where to store its value
 *
 * One dimension of the (first) address as a number, so that nobody has to
 * parse the text form: the slot of a PCI address, the unit of a drive
 * address.
 *
 * Returns: %TRUE and the value in @value; %FALSE when the type has no
 *   dimension @name (or the daemon sent no fields)
 */
gboolean
devaddr_reservation_get_field (DevaddrReservation *reservation, const char *name, guint64 *value)
{
  g_return_val_if_fail (reservation != NULL, FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  for (guint i = 0; reservation->field_names != NULL && reservation->field_names[i] != NULL; i++) {
    if (strcmp (reservation->field_names[i], name) == 0) {
      if (value != NULL)
        *value = reservation->field_values[i];
      return TRUE;
    }
  }
  return FALSE;
}

/**
 * devaddr_reservation_get_count:
 * @reservation: a #DevaddrReservation
 *
 * Returns: the number of consecutive addresses held, at least 1
 */
guint64
devaddr_reservation_get_count (DevaddrReservation *reservation)
{
  g_return_val_if_fail (reservation != NULL, 0);
  return reservation->count;
}

/**
 * devaddr_reservation_get_end:
 * @reservation: a #DevaddrReservation
 *
 * Returns: (nullable): the last address when more than one is held, else
 *   %NULL
 */
const char *
devaddr_reservation_get_end (DevaddrReservation *reservation)
{
  g_return_val_if_fail (reservation != NULL, NULL);
  return reservation->end;
}

/**
 * devaddr_reservation_get_mode:
 * @reservation: a #DevaddrReservation
 *
 * Returns: %DEVADDR_MODE_STATIC when the user chose the address,
 *   %DEVADDR_MODE_DYNAMIC when the daemon did
 */
DevaddrMode
devaddr_reservation_get_mode (DevaddrReservation *reservation)
{
  g_return_val_if_fail (reservation != NULL, DEVADDR_MODE_DEFAULT);
  return reservation->mode;
}

/**
 * devaddr_reservation_get_state:
 * @reservation: a #DevaddrReservation
 *
 * Returns: held, active or releasing
 */
DevaddrState
devaddr_reservation_get_state (DevaddrReservation *reservation)
{
  g_return_val_if_fail (reservation != NULL, DEVADDR_STATE_UNKNOWN);
  return reservation->state;
}

/**
 * devaddr_reservation_get_builtin:
 * @reservation: a #DevaddrReservation
 *
 * Returns: %TRUE if the machine template fixed this reservation (the host
 *   bridge, the ISA bridge ...)
 */
gboolean
devaddr_reservation_get_builtin (DevaddrReservation *reservation)
{
  g_return_val_if_fail (reservation != NULL, FALSE);
  return reservation->builtin;
}

/**
 * devaddr_reservation_get_expires:
 * @reservation: a #DevaddrReservation
 *
 * Returns: (transfer none) (nullable): when a held reservation expires
 *   unless committed (UTC); %NULL for the other states
 */
GDateTime *
devaddr_reservation_get_expires (DevaddrReservation *reservation)
{
  g_return_val_if_fail (reservation != NULL, NULL);
  return reservation->expires;
}

/* parse "a<sep>b<sep>..." into exactly n numbers of the given base */
static gboolean
split_numbers (const char *text, const char *separators, guint base, guint n, guint64 *out)
{
  const char *p = text;

  for (guint i = 0; i < n; i++) {
    char *end = NULL;

    if (!g_ascii_isxdigit (*p))
      return FALSE;
    out[i] = g_ascii_strtoull (p, &end, base);
    if (end == p)
      return FALSE;
    p = end;
    if (i + 1 < n) {
      if (*p == '\0' || strchr (separators, *p) == NULL)
        return FALSE;
      p++;
    }
  }
  return *p == '\0';
}

static gboolean
is_drive_type (const char *type)
{
  return strcmp (type, "drive") == 0 || g_str_has_prefix (type, "drive-");
}

/**
 * devaddr_reservation_to_libvirt_address:
 * @reservation: a #DevaddrReservation
 * @error: return location for a #GError
 *
 * The libvirt `<address/>` element of the reservation's (first) address,
 * for a device XML given to `virsh attach-device`, e.g.
 * `<address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/>`.
 * Types libvirt has an address element for: pci, drive (and drive-ide,
 * drive-sata, drive-scsi, drive-fdc), virtio-serial, usb, ccw and isa.
 *
 * Returns: (transfer full): the element, or %NULL with
 *   %DEVADDR_ERROR_INVALID_ADDRESS for another type or an address that
 *   does not read as its type
 */
char *
devaddr_reservation_to_libvirt_address (DevaddrReservation *reservation, GError **error)
{
  const char *type, *address;
  guint64 v[4];

  g_return_val_if_fail (reservation != NULL, NULL);
  type = reservation->address_type;
  address = reservation->address;
  if (strcmp (type, "pci") == 0) {
    if (split_numbers (address, ":.", 16, 4, v) && v[0] <= 0xffff && v[1] <= 0xff && v[2] <= 0x1f && v[3] <= 7)
      return g_strdup_printf ("<address type='pci' domain='0x%04x' bus='0x%02x' slot='0x%02x' function='0x%x'/>",
                              (guint) v[0], (guint) v[1], (guint) v[2], (guint) v[3]);
  } else if (is_drive_type (type)) {
    if (split_numbers (address, ":", 10, 4, v))
      return g_strdup_printf ("<address type='drive' controller='%" G_GUINT64_FORMAT "' bus='%" G_GUINT64_FORMAT
                              "' target='%" G_GUINT64_FORMAT "' unit='%" G_GUINT64_FORMAT "'/>",
                              v[0], v[1], v[2], v[3]);
  } else if (strcmp (type, "virtio-serial") == 0) {
    if (split_numbers (address, ":", 10, 3, v))
      return g_strdup_printf ("<address type='virtio-serial' controller='%" G_GUINT64_FORMAT "' bus='%" G_GUINT64_FORMAT
                              "' port='%" G_GUINT64_FORMAT "'/>",
                              v[0], v[1], v[2]);
  } else if (strcmp (type, "usb") == 0) {
    /* bus:port1[.port2...]; libvirt writes the port path dotted */
    const char *colon = strchr (address, ':');
    guint64 bus;

    if (colon != NULL && colon[1] != '\0' && strspn (colon + 1, "0123456789.") == strlen (colon + 1)
        && colon[1] != '.' && !g_str_has_suffix (address, ".") && strstr (address, "..") == NULL) {
      g_autofree char *bus_text = g_strndup (address, (gsize) (colon - address));

      if (g_ascii_string_to_unsigned (bus_text, 10, 0, G_MAXUINT32, &bus, NULL))
        return g_strdup_printf ("<address type='usb' bus='%" G_GUINT64_FORMAT "' port='%s'/>", bus, colon + 1);
    }
  } else if (strcmp (type, "ccw") == 0) {
    if (split_numbers (address, ".", 16, 3, v) && v[0] <= 0xfe && v[1] <= 3 && v[2] <= 0xffff)
      return g_strdup_printf ("<address type='ccw' cssid='0x%x' ssid='0x%x' devno='0x%04x'/>", (guint) v[0],
                              (guint) v[1], (guint) v[2]);
  } else if (strcmp (type, "isa") == 0) {
    guint64 iobase;
    const char *text = g_str_has_prefix (address, "0x") ? address + 2 : address;

    if (g_ascii_string_to_unsigned (text, 16, 0, 0xffff, &iobase, NULL))
      return g_strdup_printf ("<address type='isa' iobase='0x%" G_GINT64_MODIFIER "x'/>", iobase);
  } else {
    g_set_error (error, DEVADDR_ERROR, DEVADDR_ERROR_INVALID_ADDRESS,
                 "libvirt has no <address> element for %s addresses", type);
    return NULL;
  }
  g_set_error (error, DEVADDR_ERROR, DEVADDR_ERROR_INVALID_ADDRESS, "%s is not a %s address", address, type);
  return NULL;
}
