/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "da-result.h"
#include "devaddr-private.h"

struct _DevaddrAssignment {
  gatomicrefcount ref;
  char *xml;
  GPtrArray *reservations;
  guint added;
};

/**
 * devaddr_assignment_get_type:
 *
 * Returns: the #GType of #DevaddrAssignment
 */
G_DEFINE_BOXED_TYPE (DevaddrAssignment, devaddr_assignment, devaddr_assignment_ref, devaddr_assignment_unref)

DevaddrAssignment *
da_assignment_new_from_json (JsonNode *node, const char *path, GError **error)
{
  g_autoptr (DevaddrAssignment) assignment = g_new0 (DevaddrAssignment, 1);
  g_autofree char *list_path = da_result_path (path, "reservations");
  const char *xml = NULL;
  JsonObject *obj = NULL;
  JsonArray *list = NULL;
  guint64 added = 0;

  g_atomic_ref_count_init (&assignment->ref);
  if (!da_result_get_object (node, path, &obj, error)
      || !da_result_member_string (obj, path, "xml", TRUE, &xml, error)
      || !da_result_member_array (obj, path, "reservations", TRUE, &list, error)
      || !da_result_member_uint (obj, path, "added", TRUE, &added, error))
    return NULL;
  assignment->xml = g_strdup (xml);
  assignment->added = (guint) MIN (added, G_MAXUINT);
  assignment->reservations = da_reservations_new_from_json (list, list_path, error);
  if (assignment->reservations == NULL)
    return NULL;
  return g_steal_pointer (&assignment);
}

/**
 * devaddr_assignment_ref:
 * @assignment: a #DevaddrAssignment
 *
 * Returns: (transfer full): @assignment
 */
DevaddrAssignment *
devaddr_assignment_ref (DevaddrAssignment *assignment)
{
  g_return_val_if_fail (assignment != NULL, NULL);
  g_atomic_ref_count_inc (&assignment->ref);
  return assignment;
}

/**
 * devaddr_assignment_unref:
 * @assignment: (transfer full) (nullable): a #DevaddrAssignment
 *
 * Drops a reference; the last one frees @assignment.
 */
void
devaddr_assignment_unref (DevaddrAssignment *assignment)
{
  if (assignment == NULL || !g_atomic_ref_count_dec (&assignment->ref))
    return;
  g_free (assignment->xml);
  g_clear_pointer (&assignment->reservations, g_ptr_array_unref);
  g_free (assignment);
}

/**
 * devaddr_assignment_get_xml:
 * @assignment: a #DevaddrAssignment
 *
 * Returns: the domain XML with every device address filled in
 */
const char *
devaddr_assignment_get_xml (DevaddrAssignment *assignment)
{
  g_return_val_if_fail (assignment != NULL, NULL);
  return assignment->xml;
}

/**
 * devaddr_assignment_get_reservations:
 * @assignment: a #DevaddrAssignment
 *
 * Returns: (transfer none) (element-type DevaddrReservation): the
 *   reservations of the domain's devices
 */
GPtrArray *
devaddr_assignment_get_reservations (DevaddrAssignment *assignment)
{
  g_return_val_if_fail (assignment != NULL, NULL);
  return assignment->reservations;
}

/**
 * devaddr_assignment_get_added:
 * @assignment: a #DevaddrAssignment
 *
 * Returns: how many reservations the call created; 0 when it was a retry
 */
guint
devaddr_assignment_get_added (DevaddrAssignment *assignment)
{
  g_return_val_if_fail (assignment != NULL, 0);
  return assignment->added;
}
