/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "da-result.h"
#include "devaddr-private.h"

struct _DevaddrAssignment {
  gatomicrefcount ref;
  char *xml;
  GPtrArray *reservations;
  char **additions;
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
  g_autofree char *added_path = da_result_path (path, "added");
  g_autoptr (GPtrArray) additions = g_ptr_array_new_with_free_func (g_free);
  JsonObject *obj = NULL;
  JsonArray *list = NULL;
  JsonArray *added = NULL;

  g_atomic_ref_count_init (&assignment->ref);
  if (!da_result_get_object (node, path, &obj, error)
      || !da_result_member_string (obj, path, "xml", TRUE, &xml, error)
      || !da_result_member_array (obj, path, "reservations", TRUE, &list, error)
      || !da_result_member_array (obj, path, "added", TRUE, &added, error))
    return NULL;
  for (guint i = 0; i < json_array_get_length (added); i++) {
    g_autofree char *item_path = g_strdup_printf ("%s[%u]", added_path, i);
    JsonObject *item = NULL;
    const char *element = NULL, *type = NULL, *alias = NULL, *address = NULL;
    guint64 index = G_MAXUINT64;
    GString *line;

    if (!da_result_get_object (json_array_get_element (added, i), item_path, &item, error)
        || !da_result_member_string (item, item_path, "element", TRUE, &element, error)
        || !da_result_member_string (item, item_path, "type", TRUE, &type, error)
        || !da_result_member_string (item, item_path, "alias", TRUE, &alias, error)
        || !da_result_member_string (item, item_path, "address", FALSE, &address, error)
        || !da_result_member_uint (item, item_path, "index", FALSE, &index, error))
      return NULL;
    /* "controller pcie-root-port 1 (pci.1) at pci 0000:00:02.0" */
    line = g_string_new (element);
    g_string_append_printf (line, " %s", type);
    if (index != G_MAXUINT64)
      g_string_append_printf (line, " %" G_GUINT64_FORMAT, index);
    g_string_append_printf (line, " (%s)", alias);
    if (address != NULL)
      g_string_append_printf (line, " at %s", address);
    g_ptr_array_add (additions, g_string_free (line, FALSE));
  }
  g_ptr_array_add (additions, NULL);
  assignment->xml = g_strdup (xml);
  assignment->additions = (char **) g_ptr_array_free (g_steal_pointer (&additions), FALSE);
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
  g_strfreev (assignment->additions);
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
 * Returns: how many elements devaddr added to the domain XML: the
 *   controllers libvirt would add and its implicit devices
 */
guint
devaddr_assignment_get_added (DevaddrAssignment *assignment)
{
  g_return_val_if_fail (assignment != NULL, 0);
  return g_strv_length (assignment->additions);
}

/**
 * devaddr_assignment_get_additions:
 * @assignment: a #DevaddrAssignment
 *
 * Returns: (transfer none) (array zero-terminated=1): one line for each
 *   element devaddr added, e.g. "controller pcie-root-port 1 (pci.1) at
 *   pci 0000:00:02.0"
 */
const char *const *
devaddr_assignment_get_additions (DevaddrAssignment *assignment)
{
  g_return_val_if_fail (assignment != NULL, NULL);
  return (const char *const *) assignment->additions;
}
