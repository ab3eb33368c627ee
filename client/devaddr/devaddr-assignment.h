/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__DEVADDR_H_INSIDE__) && !defined(DEVADDR_COMPILATION)
#error "Only <devaddr/devaddr.h> can be included directly."
#endif

#include <glib-object.h>

#include <devaddr/devaddr-reservation.h>

G_BEGIN_DECLS

/**
 * DevaddrAssignment:
 *
 * The answer of devaddr_client_assign_domain(): the domain XML with every
 * device address filled in, the VM's reservations, and the elements
 * devaddr added to it.  Immutable, reference counted.
 */
typedef struct _DevaddrAssignment DevaddrAssignment;

/**
 * DEVADDR_TYPE_ASSIGNMENT:
 *
 * The #GType of #DevaddrAssignment, a boxed type.
 */
#define DEVADDR_TYPE_ASSIGNMENT (devaddr_assignment_get_type ())

GType devaddr_assignment_get_type (void);
DevaddrAssignment *devaddr_assignment_ref (DevaddrAssignment *assignment);
void devaddr_assignment_unref (DevaddrAssignment *assignment);

const char *devaddr_assignment_get_xml (DevaddrAssignment *assignment);
GPtrArray *devaddr_assignment_get_reservations (DevaddrAssignment *assignment);
guint devaddr_assignment_get_added (DevaddrAssignment *assignment);
const char *const *devaddr_assignment_get_additions (DevaddrAssignment *assignment);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DevaddrAssignment, devaddr_assignment_unref)

G_END_DECLS
