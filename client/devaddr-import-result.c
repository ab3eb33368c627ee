/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "da-result.h"
#include "devaddr-private.h"

typedef struct {
  char *alias;
  char *address_type;
  char *address;
  char *holder;
} Conflict;

struct _DevaddrImportResult {
  gatomicrefcount ref;
  GPtrArray *reservations;
  GArray *conflicts; /* Conflict */
};

/**
 * devaddr_import_result_get_type:
 *
 * Returns: the #GType of #DevaddrImportResult
 */
G_DEFINE_BOXED_TYPE (DevaddrImportResult, devaddr_import_result, devaddr_import_result_ref,
                     devaddr_import_result_unref)

static void
conflict_clear (Conflict *c)
{
  g_free (c->alias);
  g_free (c->address_type);
  g_free (c->address);
  g_free (c->holder);
}

DevaddrImportResult *
da_import_result_new_from_json (JsonNode *node, const char *path, GError **error)
{
  g_autoptr (DevaddrImportResult) result = g_new0 (DevaddrImportResult, 1);
  g_autofree char *list_path = da_result_path (path, "reservations");
  JsonObject *obj = NULL;
  JsonArray *list = NULL, *conflicts = NULL;

  g_atomic_ref_count_init (&result->ref);
  result->conflicts = g_array_new (FALSE, TRUE, sizeof (Conflict));
  g_array_set_clear_func (result->conflicts, (GDestroyNotify) conflict_clear);
  if (!da_result_get_object (node, path, &obj, error)
      || !da_result_member_array (obj, path, "reservations", TRUE, &list, error)
      || !da_result_member_array (obj, path, "conflicts", TRUE, &conflicts, error))
    return NULL;
  result->reservations = da_reservations_new_from_json (list, list_path, error);
  if (result->reservations == NULL)
    return NULL;
  for (guint i = 0; i < json_array_get_length (conflicts); i++) {
    g_autofree char *item_path = g_strdup_printf ("%s.conflicts[%u]", path, i);
    const char *alias = NULL, *type = NULL, *address = NULL, *holder = NULL;
    JsonObject *item = NULL;
    Conflict c;

    if (!da_result_get_object (json_array_get_element (conflicts, i), item_path, &item, error)
        || !da_result_member_string (item, item_path, "alias", TRUE, &alias, error)
        || !da_result_member_string (item, item_path, "type", TRUE, &type, error)
        || !da_result_member_string (item, item_path, "address", TRUE, &address, error)
        || !da_result_member_string (item, item_path, "holder", TRUE, &holder, error))
      return NULL;
    c.alias = g_strdup (alias);
    c.address_type = g_strdup (type);
    c.address = g_strdup (address);
    c.holder = g_strdup (holder);
    g_array_append_val (result->conflicts, c);
  }
  return g_steal_pointer (&result);
}

/**
 * devaddr_import_result_ref:
 * @result: a #DevaddrImportResult
 *
 * Returns: (transfer full): @result
 */
DevaddrImportResult *
devaddr_import_result_ref (DevaddrImportResult *result)
{
  g_return_val_if_fail (result != NULL, NULL);
  g_atomic_ref_count_inc (&result->ref);
  return result;
}

/**
 * devaddr_import_result_unref:
 * @result: (transfer full) (nullable): a #DevaddrImportResult
 *
 * Drops a reference; the last one frees @result.
 */
void
devaddr_import_result_unref (DevaddrImportResult *result)
{
  if (result == NULL || !g_atomic_ref_count_dec (&result->ref))
    return;
  g_clear_pointer (&result->reservations, g_ptr_array_unref);
  g_array_unref (result->conflicts);
  g_free (result);
}

/**
 * devaddr_import_result_get_reservations:
 * @result: a #DevaddrImportResult
 *
 * Returns: (transfer none) (element-type DevaddrReservation): the
 *   reservations adopted from the domain XML
 */
GPtrArray *
devaddr_import_result_get_reservations (DevaddrImportResult *result)
{
  g_return_val_if_fail (result != NULL, NULL);
  return result->reservations;
}

/**
 * devaddr_import_result_get_n_conflicts:
 * @result: a #DevaddrImportResult
 *
 * Returns: the number of addresses that could not be adopted
 */
guint
devaddr_import_result_get_n_conflicts (DevaddrImportResult *result)
{
  g_return_val_if_fail (result != NULL, 0);
  return result->conflicts->len;
}

/**
 * devaddr_import_result_get_conflict:
 * @result: a #DevaddrImportResult
 * @index: a conflict, from 0 to devaddr_import_result_get_n_conflicts() - 1
 * @address_type: (out) (optional) (transfer none): its address type
 * @address: (out) (optional) (transfer none): the address in the XML
 * @holder: (out) (optional) (transfer none): the alias of the reservation
 *   that holds the address
 *
 * Returns: the alias of the device that could not be adopted
 */
const char *
devaddr_import_result_get_conflict (DevaddrImportResult *result, guint index, const char **address_type,
                                    const char **address, const char **holder)
{
  Conflict *c;

  g_return_val_if_fail (result != NULL, NULL);
  g_return_val_if_fail (index < result->conflicts->len, NULL);
  c = &g_array_index (result->conflicts, Conflict, index);
  if (address_type != NULL)
    *address_type = c->address_type;
  if (address != NULL)
    *address = c->address;
  if (holder != NULL)
    *holder = c->holder;
  return c->alias;
}
