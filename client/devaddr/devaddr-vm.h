/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__DEVADDR_H_INSIDE__) && !defined(DEVADDR_COMPILATION)
#error "Only <devaddr/devaddr.h> can be included directly."
#endif

#include <glib-object.h>

#include <devaddr/devaddr-reservation.h>

G_BEGIN_DECLS

/**
 * DevaddrVm:
 *
 * A VM known to the daemon: its name, the machine template its pools were
 * laid out by, and its reservations.  devaddr_client_get_vms() fills in
 * only the number of reservations; devaddr_client_get_vm() fills in the
 * reservations too.  Immutable, reference counted.
 */
typedef struct _DevaddrVm DevaddrVm;

/**
 * DEVADDR_TYPE_VM:
 *
 * The #GType of #DevaddrVm, a boxed type.
 */
#define DEVADDR_TYPE_VM (devaddr_vm_get_type ())

GType devaddr_vm_get_type (void);
DevaddrVm *devaddr_vm_ref (DevaddrVm *vm);
void devaddr_vm_unref (DevaddrVm *vm);

const char *devaddr_vm_get_name (DevaddrVm *vm);
const char *devaddr_vm_get_template (DevaddrVm *vm);
guint devaddr_vm_get_n_reservations (DevaddrVm *vm);
GPtrArray *devaddr_vm_get_reservations (DevaddrVm *vm);
DevaddrReservation *devaddr_vm_lookup (DevaddrVm *vm, const char *alias);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DevaddrVm, devaddr_vm_unref)

G_END_DECLS
