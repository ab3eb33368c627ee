/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "da-result.h"
#include "devaddr-private.h"

struct _DevaddrImportResult {
  gatomicrefcount ref;
  GPtrArray *reservations;
  char **conflicts;
};

/**
 * devaddr_import_result_get_type:
 *
 * Returns: the #GType of #DevaddrImportResult
 */
G_DEFINE_BOXED_TYPE (DevaddrImportResult, devaddr_import_result, devaddr_import_result_ref,
                     devaddr_import_result_unref)

DevaddrImportResult *
da_import_result_new_from_json (JsonNode *node, const char *path, GError **error)
{
  g_autoptr (DevaddrImportResult) result = g_new0 (DevaddrImportResult, 1);
  g_autofree char *list_path = da_result_path (path, "reservations");
  JsonObject *obj = NULL;
  JsonArray *list = NULL;

  g_atomic_ref_count_init (&result->ref);
  if (!da_result_get_object (node, path, &obj, error)
      || !da_result_member_array (obj, path, "reservations", TRUE, &list, error)
      || !da_result_member_strv (obj, path, "conflicts", TRUE, &result->conflicts, error))
    return NULL;
  result->reservations = da_reservations_new_from_json (list, list_path, error);
  if (result->reservations == NULL)
    return NULL;
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
  g_strfreev (result->conflicts);
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
  return result->conflicts != NULL ? g_strv_length (result->conflicts) : 0;
}

/**
 * devaddr_import_result_get_conflict:
 * @result: a #DevaddrImportResult
 * @index: a conflict, from 0 to devaddr_import_result_get_n_conflicts() - 1
 *
 * Returns: what could not be adopted, naming both devices of the clash,
 *   e.g. "interface[1] (net0) at pci 0000:00:03.0 clashes with ..."
 */
const char *
devaddr_import_result_get_conflict (DevaddrImportResult *result, guint index)
{
  g_return_val_if_fail (result != NULL, NULL);
  g_return_val_if_fail (index < devaddr_import_result_get_n_conflicts (result), NULL);
  return result->conflicts[index];
}
