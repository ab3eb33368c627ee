/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__DEVADDR_H_INSIDE__) && !defined(DEVADDR_COMPILATION)
#error "Only <devaddr/devaddr.h> can be included directly."
#endif

#include <glib-object.h>

#include <devaddr/devaddr-enums.h>

G_BEGIN_DECLS

/**
 * DevaddrChange:
 *
 * One `addr.changed` notification: a reservation that was made, committed,
 * released or that expired.  Delivered by #DevaddrClient::changed after
 * devaddr_client_watch().  Immutable, reference counted.
 */
typedef struct _DevaddrChange DevaddrChange;

/**
 * DEVADDR_TYPE_CHANGE:
 *
 * The #GType of #DevaddrChange, a boxed type.
 */
#define DEVADDR_TYPE_CHANGE (devaddr_change_get_type ())

GType devaddr_change_get_type (void);
DevaddrChange *devaddr_change_ref (DevaddrChange *change);
void devaddr_change_unref (DevaddrChange *change);

const char *devaddr_change_get_vm (DevaddrChange *change);
DevaddrChangeEvent devaddr_change_get_event (DevaddrChange *change);
const char *devaddr_change_get_alias (DevaddrChange *change);
const char *devaddr_change_get_address_type (DevaddrChange *change);
const char *devaddr_change_get_address (DevaddrChange *change);
DevaddrState devaddr_change_get_state (DevaddrChange *change);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DevaddrChange, devaddr_change_unref)

G_END_DECLS
