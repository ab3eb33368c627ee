/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "da-result.h"
#include "devaddr-private.h"

struct _DevaddrChange {
  gatomicrefcount ref;
  char *vm;
  DevaddrChangeEvent event;
  char *alias;
  char *address_type;
  char *address;
  DevaddrState state;
};

/**
 * devaddr_change_get_type:
 *
 * Returns: the #GType of #DevaddrChange
 */
G_DEFINE_BOXED_TYPE (DevaddrChange, devaddr_change, devaddr_change_ref, devaddr_change_unref)

DevaddrChange *
da_change_new_from_json (JsonNode *node, const char *path, GError **error)
{
  g_autoptr (DevaddrChange) change = g_new0 (DevaddrChange, 1);
  const char *vm = NULL, *event = NULL, *alias = NULL, *type = NULL, *address = NULL, *state = NULL;
  JsonObject *obj = NULL;

  g_atomic_ref_count_init (&change->ref);
  if (!da_result_get_object (node, path, &obj, error)
      || !da_result_member_string (obj, path, "vm", FALSE, &vm, error)
      || !da_result_member_string (obj, path, "event", TRUE, &event, error)
      || !da_result_member_string (obj, path, "alias", TRUE, &alias, error)
      || !da_result_member_string (obj, path, "type", FALSE, &type, error)
      || !da_result_member_string (obj, path, "address", FALSE, &address, error)
      || !da_result_member_string (obj, path, "state", FALSE, &state, error))
    return NULL;
  change->vm = g_strdup (vm);
  change->event = devaddr_change_event_from_string (event);
  change->alias = g_strdup (alias);
  change->address_type = g_strdup (type);
  change->address = g_strdup (address);
  change->state = devaddr_state_from_string (state);
  /* a reservation that is gone has no state left to tell */
  if (state == NULL
      && (change->event == DEVADDR_CHANGE_EVENT_RELEASED || change->event == DEVADDR_CHANGE_EVENT_EXPIRED))
    change->state = DEVADDR_STATE_RELEASED;
  return g_steal_pointer (&change);
}

/**
 * devaddr_change_ref:
 * @change: a #DevaddrChange
 *
 * Returns: (transfer full): @change
 */
DevaddrChange *
devaddr_change_ref (DevaddrChange *change)
{
  g_return_val_if_fail (change != NULL, NULL);
  g_atomic_ref_count_inc (&change->ref);
  return change;
}

/**
 * devaddr_change_unref:
 * @change: (transfer full) (nullable): a #DevaddrChange
 *
 * Drops a reference; the last one frees @change.
 */
void
devaddr_change_unref (DevaddrChange *change)
{
  if (change == NULL || !g_atomic_ref_count_dec (&change->ref))
    return;
  g_free (change->vm);
  g_free (change->alias);
  g_free (change->address_type);
  g_free (change->address);
  g_free (change);
}

/**
 * devaddr_change_get_vm:
 * @change: a #DevaddrChange
 *
 * Returns: (nullable): the VM of the reservation; %NULL for the host scope
 */
const char *
devaddr_change_get_vm (DevaddrChange *change)
{
  g_return_val_if_fail (change != NULL, NULL);
  return change->vm;
}

/**
 * devaddr_change_get_event:
 * @change: a #DevaddrChange
 *
 * Returns: what happened
 */
DevaddrChangeEvent
devaddr_change_get_event (DevaddrChange *change)
{
  g_return_val_if_fail (change != NULL, DEVADDR_CHANGE_EVENT_UNKNOWN);
  return change->event;
}

/**
 * devaddr_change_get_alias:
 * @change: a #DevaddrChange
 *
 * Returns: the alias of the reservation
 */
const char *
devaddr_change_get_alias (DevaddrChange *change)
{
  g_return_val_if_fail (change != NULL, NULL);
  return change->alias;
}

/**
 * devaddr_change_get_address_type:
 * @change: a #DevaddrChange
 *
 * Returns: (nullable): the address type of the reservation
 */
const char *
devaddr_change_get_address_type (DevaddrChange *change)
{
  g_return_val_if_fail (change != NULL, NULL);
  return change->address_type;
}

/**
 * devaddr_change_get_address:
 * @change: a #DevaddrChange
 *
 * Returns: (nullable): the (first) address of the reservation
 */
const char *
devaddr_change_get_address (DevaddrChange *change)
{
  g_return_val_if_fail (change != NULL, NULL);
  return change->address;
}

/**
 * devaddr_change_get_state:
 * @change: a #DevaddrChange
 *
 * Returns: the state after the change; %DEVADDR_STATE_RELEASED once the
 *   reservation is gone
 */
DevaddrState
devaddr_change_get_state (DevaddrChange *change)
{
  g_return_val_if_fail (change != NULL, DEVADDR_STATE_UNKNOWN);
  return change->state;
}
