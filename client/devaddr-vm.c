/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "da-result.h"
#include "devaddr-private.h"

struct _DevaddrVm {
  gatomicrefcount ref;
  char *name;
  char *template_name;
  guint n_reservations;
  GPtrArray *reservations; /* DevaddrReservation */
};

/**
 * devaddr_vm_get_type:
 *
 * Returns: the #GType of #DevaddrVm
 */
G_DEFINE_BOXED_TYPE (DevaddrVm, devaddr_vm, devaddr_vm_ref, devaddr_vm_unref)

/* vm.get has the reservations, vm.list only their number */
DevaddrVm *
da_vm_new_from_json (JsonNode *node, const char *path, gboolean with_reservations, GError **error)
{
  g_autoptr (DevaddrVm) vm = g_new0 (DevaddrVm, 1);
  const char *name = NULL, *template_name = NULL;
  JsonObject *obj = NULL;

  g_atomic_ref_count_init (&vm->ref);
  if (!da_result_get_object (node, path, &obj, error)
      || !da_result_member_string (obj, path, "vm", TRUE, &name, error)
      || !da_result_member_string (obj, path, "template", TRUE, &template_name, error))
    return NULL;
  vm->name = g_strdup (name);
  vm->template_name = g_strdup (template_name);
  if (with_reservations) {
    JsonArray *list = NULL;
    g_autofree char *list_path = da_result_path (path, "reservations");

    if (!da_result_member_array (obj, path, "reservations", TRUE, &list, error))
      return NULL;
    vm->reservations = da_reservations_new_from_json (list, list_path, error);
    if (vm->reservations == NULL)
      return NULL;
    vm->n_reservations = vm->reservations->len;
  } else {
    guint64 n = 0;

    if (!da_result_member_uint (obj, path, "reservations", TRUE, &n, error))
      return NULL;
    vm->n_reservations = (guint) MIN (n, G_MAXUINT);
    vm->reservations = g_ptr_array_new_with_free_func ((GDestroyNotify) devaddr_reservation_unref);
  }
  return g_steal_pointer (&vm);
}

/**
 * devaddr_vm_ref:
 * @vm: a #DevaddrVm
 *
 * Returns: (transfer full): @vm
 */
DevaddrVm *
devaddr_vm_ref (DevaddrVm *vm)
{
  g_return_val_if_fail (vm != NULL, NULL);
  g_atomic_ref_count_inc (&vm->ref);
  return vm;
}

/**
 * devaddr_vm_unref:
 * @vm: (transfer full) (nullable): a #DevaddrVm
 *
 * Drops a reference; the last one frees @vm.
 */
void
devaddr_vm_unref (DevaddrVm *vm)
{
  if (vm == NULL || !g_atomic_ref_count_dec (&vm->ref))
    return;
  g_free (vm->name);
  g_free (vm->template_name);
  g_clear_pointer (&vm->reservations, g_ptr_array_unref);
  g_free (vm);
}

/**
 * devaddr_vm_get_name:
 * @vm: a #DevaddrVm
 *
 * Returns: the VM's name
 */
const char *
devaddr_vm_get_name (DevaddrVm *vm)
{
  g_return_val_if_fail (vm != NULL, NULL);
  return vm->name;
}

/**
 * devaddr_vm_get_template:
 * @vm: a #DevaddrVm
 *
 * Returns: the name of the machine template, such as "q35"
 */
const char *
devaddr_vm_get_template (DevaddrVm *vm)
{
  g_return_val_if_fail (vm != NULL, NULL);
  return vm->template_name;
}

/**
 * devaddr_vm_get_n_reservations:
 * @vm: a #DevaddrVm
 *
 * Returns: the number of reservations of the VM, builtin ones included
 */
guint
devaddr_vm_get_n_reservations (DevaddrVm *vm)
{
  g_return_val_if_fail (vm != NULL, 0);
  return vm->n_reservations;
}

/**
 * devaddr_vm_get_reservations:
 * @vm: a #DevaddrVm
 *
 * The reservations, in the daemon's order (by type, then address).
 * Empty for a #DevaddrVm from devaddr_client_get_vms().
 *
 * Returns: (transfer none) (element-type DevaddrReservation): the
 *   reservations
 */
GPtrArray *
devaddr_vm_get_reservations (DevaddrVm *vm)
{
  g_return_val_if_fail (vm != NULL, NULL);
  return vm->reservations;
}

/**
 * devaddr_vm_lookup:
 * @vm: a #DevaddrVm
 * @alias: a device alias
 *
 * Returns: (transfer none) (nullable): the reservation of @alias, or %NULL
 */
DevaddrReservation *
devaddr_vm_lookup (DevaddrVm *vm, const char *alias)
{
  g_return_val_if_fail (vm != NULL, NULL);
  g_return_val_if_fail (alias != NULL, NULL);
  for (guint i = 0; i < vm->reservations->len; i++) {
    DevaddrReservation *res = g_ptr_array_index (vm->reservations, i);

    if (strcmp (devaddr_reservation_get_alias (res), alias) == 0)
      return res;
  }
  return NULL;
}
